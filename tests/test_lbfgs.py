"""helpers.lbfgs: the two-loop recursion, convergence on a convex quadratic in a box, non-finite losses, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import lbfgs
from tests.refusals import refused


def _quadratic(n: int = 120, seed: int = 0):
    """f(x) = 1/2 (x - t)' A (x - t) with A symmetric positive definite (condition number 100) and t partly outside [0, 1]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = (q * np.geomspace(0.1, 10.0, n)) @ q.T
    t = rng.uniform(-0.5, 1.5, n)
    a32, t32 = tf.constant(a, tf.float32), tf.constant(t, tf.float32)

    def fn(x):
        d = x - t32
        ad = tf.linalg.matvec(a32, d)
        return 0.5 * tf.tensordot(d, ad, 1), {"half": 0.25 * tf.tensordot(d, ad, 1)}, ad

    return fn, a, t


def _box_minimum(a, t):
    """The minimiser of the quadratic in [0, 1]^n, from scipy's L-BFGS-B run to a tight tolerance in float64."""
    from scipy.optimize import Bounds, minimize

    n = len(t)
    result = minimize(lambda x: (0.5 * (x - t) @ a @ (x - t), a @ (x - t)), np.full(n, 0.5), jac=True, method="L-BFGS-B",
                      bounds=Bounds(np.zeros(n), np.ones(n)), options={"maxiter": 5000, "ftol": 0.0, "gtol": 1e-12})
    return result.x


@pytest.mark.parametrize("line_search", lbfgs.LINE_SEARCHES)
def test_a_convex_quadratic_in_a_box_is_solved_in_bounded_steps(line_search):
    fn, a, t = _quadratic()
    want = _box_minimum(a, t)
    assert 10 < np.sum((want <= 0) | (want >= 1)) < len(t) - 10, "the test needs bounds that are active and inactive"
    x, history = lbfgs.minimize(fn, tf.fill([len(t)], 0.5), 150, memory=10, line_search=line_search, bounds="active")
    x = x.numpy()
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_allclose(x, want, atol=2e-3)
    best = 0.5 * (want - t) @ a @ (want - t)
    assert history[-1] <= best * (1 + 1e-4), (history[-1], best)


@pytest.mark.parametrize("line_search", lbfgs.LINE_SEARCHES)
def test_projection_alone_keeps_the_box_but_need_not_find_its_minimum(line_search):
    """Clipping a quasi-Newton step that ignores the bounds keeps x in the box and lowers the loss, but may stall short
    of the constrained minimum when the Hessian couples variables (why bounds="active" exists)."""
    fn, a, t = _quadratic()
    x, history = lbfgs.minimize(fn, tf.fill([len(t)], 0.5), 150, memory=10, line_search=line_search, bounds="project")
    assert x.numpy().min() >= 0.0 and x.numpy().max() <= 1.0
    best = 0.5 * (_box_minimum(a, t) - t) @ a @ (_box_minimum(a, t) - t)
    assert history[-1] < 0.5 * history[0] and history[-1] >= best * (1 - 1e-6)


def test_unbounded_quadratic_converges_fast():
    fn, a, t = _quadratic(60, seed=1)
    x, history = lbfgs.minimize(fn, tf.zeros([60]), 80, memory=20, lower=-np.inf, upper=np.inf)
    np.testing.assert_allclose(x.numpy(), t, atol=1e-3)
    assert history[-1] < 1e-5 * history[0]


def _dense_inverse_hessian(pairs, gamma):
    """The L-BFGS inverse Hessian H built by the BFGS update from H_0 = gamma I, pairs oldest first (float64)."""
    n = len(pairs[0][0])
    h = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        v = np.eye(n) - rho * np.outer(y, s)
        h = v.T @ h @ v + rho * np.outer(s, s)
    return h


@pytest.mark.parametrize("count, newest", [(0, -1), (3, 2), (5, 4), (5, 1)])
def test_two_loop_is_the_bfgs_inverse_hessian(count, newest):
    rng = np.random.default_rng(count + newest + 1)
    m, n = 5, 8
    S = rng.normal(size=(m, n))
    Y = S @ np.diag(rng.uniform(0.5, 2.0, n)) + 0.05 * rng.normal(size=(m, n))  # positive curvature: s'y > 0
    rho = 1.0 / np.sum(S * Y, axis=1)
    g = rng.normal(size=n)
    gamma = 0.7
    order = [(newest - count + 1 + j) % m for j in range(count)]  # oldest to newest in the ring buffer
    want = -_dense_inverse_hessian([(S[i], Y[i]) for i in order], gamma) @ g if count else -gamma * g
    got = lbfgs.two_loop(tf.constant(g, tf.float32), tf.Variable(S, dtype=tf.float32), tf.Variable(Y, dtype=tf.float32),
                         tf.constant(rho, tf.float32), tf.constant(newest), tf.constant(count), tf.constant(gamma))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


def test_several_iterations_per_call_match_one_per_call():
    fn, _, t = _quadratic(50, seed=2)
    one = lbfgs.LBFGS(fn, tf.fill([50], 0.5), 5)
    many = lbfgs.LBFGS(fn, tf.fill([50], 0.5), 5)
    one.start(), many.start()
    singles = [one.run(1)["total"][0] for _ in range(12)]
    batch = many.run(12)
    assert batch["done"] == 12 and batch["status"] == lbfgs.RUNNING
    np.testing.assert_allclose(batch["total"], singles, rtol=1e-5)
    np.testing.assert_allclose(many.x.numpy(), one.x.numpy(), atol=1e-6)
    assert set(batch["parts"]) == {"half"} and len(batch["parts"]["half"]) == 12
    np.testing.assert_allclose(batch["parts"]["half"], np.array(batch["total"]) / 2, rtol=1e-5)
    best_loss, best_x = many.best
    assert best_loss == min(batch["total"]) and best_x.shape == (50,)
    assert many.evaluations >= 13


def test_a_non_finite_loss_stops_at_the_last_finite_iterate():
    fn, _, _ = _quadratic(30, seed=3)
    calls = tf.Variable(0)

    def poisoned(x):
        calls.assign_add(1)
        loss, parts, grad = fn(x)
        bad = calls > 4
        return tf.where(bad, np.float32(np.nan), loss), {k: tf.where(bad, np.float32(np.nan), v) for k, v in parts.items()}, grad

    engine = lbfgs.LBFGS(poisoned, tf.fill([30], 0.5), 5, line_search="none")
    engine.start()
    out = engine.run(10)
    assert out["status"] == lbfgs.NON_FINITE and out["done"] == 3, out  # start + 3 iterations, the 5th evaluation is NaN
    assert np.isnan(out["bad_total"]) and all(np.isfinite(out["total"]))
    assert np.isnan(out["bad_parts"]["half"]) and all(np.isfinite(out["parts"]["half"])), "the parts at the bad point are reported"
    assert np.all(np.isfinite(engine.x.numpy()))
    assert engine.run(5)["done"] == 0, "a stopped engine takes no more steps"


def test_a_zero_gradient_is_convergence():
    engine = lbfgs.LBFGS(lambda x: (tf.reduce_sum(0.0 * x), {}, tf.zeros_like(x)), tf.fill([4, 4], 0.5), 3)
    engine.start()
    out = engine.run(5)
    assert out["done"] == 0 and out["status"] == lbfgs.CONVERGED and "CONVERGENCE" in out["message"]
    again = engine.run(3)  # a stopped engine answers at once, with nothing done
    assert again == {"total": [], "parts": {}, "done": 0, "status": lbfgs.CONVERGED, "message": out["message"]}


def test_bad_settings_fail_clearly():
    fn, _, _ = _quadratic(10)
    with pytest.raises(lbfgs.LBFGSError, match="line_search = 'wolfe': unknown line_search; use one of armijo, none"):
        lbfgs.LBFGS(fn, tf.zeros([10]), line_search="wolfe")
    with pytest.raises(lbfgs.LBFGSError, match="bounds = 'clip': unknown bounds; use one of active, project"):
        lbfgs.LBFGS(fn, tf.zeros([10]), bounds="clip")
    with pytest.raises(lbfgs.LBFGSError, match="memory = 0: must be >= 1"):
        lbfgs.LBFGS(fn, tf.zeros([10]), memory=0)
    with pytest.raises(RuntimeError, match=r"^call start\(\) before run\(\)$"):
        lbfgs.LBFGS(fn, tf.zeros([10])).run(1)
    started = lbfgs.LBFGS(fn, tf.zeros([10]))
    started.start()
    for bad in (2.5, -1, "3"):
        _refused("iterations", lambda bad=bad: started.run(bad))
    assert issubclass(lbfgs.LBFGSError, ValueError)


def _refused(name: str, call, *also: str) -> str:
    """`call` raises LBFGSError naming `name` (see tests/refusals.py)."""
    return refused(lbfgs.LBFGSError, name, call, *also)


def test_every_argument_is_refused_by_name_before_anything_is_traced():
    fn, _, _ = _quadratic(10)
    x0 = tf.fill([10], 0.5)
    _refused("memory", lambda: lbfgs.LBFGS(fn, x0, memory=5.0), "a float, not a whole number", "memory=5")
    _refused("memory", lambda: lbfgs.LBFGS(fn, x0, memory=True), "a bool")
    message = _refused("fn", lambda: lbfgs.LBFGS("quadratic", x0), "not callable")
    assert message == "fn = 'quadratic': not callable; pass a function x -> (loss, {name: part}, gradient)", message
    _refused("x0", lambda: lbfgs.LBFGS(fn, "content"), "not an array of numbers")
    _refused("x0", lambda: lbfgs.LBFGS(fn, np.array([0.5, np.nan])), "1 of its 2 values are NaN")
    message = _refused("x0", lambda: lbfgs.LBFGS(fn, tf.constant([0.5, np.inf])), "NaN or infinite entries")
    assert message == "x0 = <tensor float32 of shape [2]>: NaN or infinite entries; start from finite values", message
    message = _refused("x0", lambda: lbfgs.LBFGS(fn, tf.zeros([0])), "no entries")
    assert message == "x0 = <tensor float32 of shape [0]>: no entries; pass the starting point, e.g. the content image", message
    message = _refused("lower", lambda: lbfgs.LBFGS(fn, x0, lower=float("nan")), "not a bound")
    assert message == "lower = nan: not a bound; pass a number (lower=-np.inf or np.inf for none)", message
    _refused("upper", lambda: lbfgs.LBFGS(fn, x0, upper="1"), "not a bound")
    _refused("lower", lambda: lbfgs.LBFGS(fn, x0, lower=None), "lower = None: not a bound")  # neither a number nor text
    _refused("upper", lambda: lbfgs.LBFGS(fn, x0, upper=[1.0]), "upper = [1.0]: not a bound")
    message = _refused("upper", lambda: lbfgs.LBFGS(fn, x0, lower=1.0, upper=0.5), "not above lower = 1")
    assert message == "upper = 0.5: not above lower = 1; pass lower < upper", message
    _refused("upper", lambda: lbfgs.LBFGS(fn, x0, lower=1.0, upper=1.0), "not above lower = 1")
    _refused("iterations", lambda: lbfgs.minimize(fn, x0, 2.5), "not a whole number")
    engine = lbfgs.LBFGS(fn, x0)
    engine.start()
    _refused("iterations", lambda: engine.run(-1), "must be >= 0")
    assert engine.run(0)["done"] == 0


def test_a_function_that_does_not_answer_loss_parts_gradient_is_refused_at_start():
    message = _refused("fn", lambda: lbfgs.LBFGS(lambda x: tf.reduce_sum(x), tf.zeros([4])).start(),
                       "does not return (loss, {name: part}, gradient)")
    assert message.endswith(": does not return (loss, {name: part}, gradient); return the loss, a dict of its named parts "
                            "({} for none) and the gradient"), message
    assert "<function" in message, "the value shown is the function"
    _refused("fn", lambda: lbfgs.LBFGS(lambda x: (tf.reduce_sum(x), [], x), tf.zeros([4])).start(), "does not return")  # parts not a dict
    message = _refused("fn", lambda: lbfgs.LBFGS(lambda x: (x, {}, x), tf.zeros([4])).start(), "a loss of shape (4,)")
    assert "<function" in message and message.endswith("; return a scalar loss and the gradient of the loss with respect to x"), message
    _refused("fn", lambda: lbfgs.LBFGS(lambda x: (tf.reduce_sum(x), {}, x[:2]), tf.zeros([4])).start(), "a gradient of shape (2,)")
    engine = lbfgs.LBFGS(lambda x: (tf.reduce_sum(x), {}, tf.ones_like(x)), tf.zeros([4]), lower=-1.0)
    assert engine.start() == (0.0, {}) and engine.evaluations == 1  # fn is called once at the start, checked and used


def _teaching_two_loop(g, pairs):
    """Notebook 03's version: the direction -H g from pairs (s, y), oldest first (Nocedal & Wright, Algorithm 7.4)."""
    q, alphas = g, []
    for s, y in reversed(pairs):  # newest to oldest
        alpha = tf.reduce_sum(s * q) / tf.reduce_sum(y * s)
        q = q - alpha * y
        alphas.append(alpha)
    s, y = pairs[-1]
    r = tf.reduce_sum(s * y) / tf.reduce_sum(y * y) * q  # H_0 = gamma I, gamma from the newest pair
    for (s, y), alpha in zip(pairs, reversed(alphas)):  # oldest to newest
        beta = tf.reduce_sum(y * r) / tf.reduce_sum(y * s)
        r = r + (alpha - beta) * s
    return -r


def test_the_teaching_two_loop_agrees_with_the_engine():
    rng = np.random.default_rng(7)
    S = rng.normal(size=(4, 6)).astype(np.float32)
    Y = (S * rng.uniform(0.5, 2.0, 6) + 0.05 * rng.normal(size=(4, 6))).astype(np.float32)
    g = tf.constant(rng.normal(size=6), tf.float32)
    gamma = float(S[-1] @ Y[-1] / (Y[-1] @ Y[-1]))
    want = lbfgs.two_loop(g, tf.Variable(S), tf.Variable(Y), tf.constant(1.0 / np.sum(S * Y, axis=1), tf.float32), tf.constant(3),
                          tf.constant(4), tf.constant(gamma, tf.float32))
    got = _teaching_two_loop(g, [(tf.constant(s), tf.constant(y)) for s, y in zip(S, Y)])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def _bowl(centre):
    """f(x) = 1/2 |x - c|^2: gradient x - c and Hessian I, so every step of the engine can be written down."""
    c = tf.constant(centre, tf.float32)

    def fn(x):
        d = x - c
        return 0.5 * tf.reduce_sum(d * d), {}, d

    return fn


def test_the_first_step_has_length_one_and_the_second_is_the_full_quasi_newton_step():
    """With no memory the step is t = min(1, 1/|g|) along -g; with one pair on f = 1/2 |x - c|^2 the two-loop direction
    is -g itself (H = I) and the full step t = 1 lands on c. Each step here is accepted at its first try."""
    x0, c = np.zeros(16, np.float32), np.ones(16, np.float32)  # |g| = 4 at x0
    engine = lbfgs.LBFGS(_bowl(c), x0, 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    assert engine.start()[0] == 8.0 and engine.evaluations == 1
    out = engine.run(1)
    np.testing.assert_allclose(engine.x.numpy(), 0.25, rtol=0, atol=1e-7)  # x0 - g / |g|: a step of length one
    assert out["total"] == [4.5] and engine.evaluations == 2
    engine.run(1)
    np.testing.assert_allclose(engine.x.numpy(), c, rtol=0, atol=1e-6)
    assert engine.evaluations == 3
    # A gradient shorter than one: the first step is the plain gradient step (t = 1, not 1/|g| > 1), here onto c at once.
    near = np.full(16, 0.125, np.float32)  # |g| = 0.5
    engine = lbfgs.LBFGS(_bowl(near), x0, 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    engine.run(1)
    np.testing.assert_allclose(engine.x.numpy(), near, rtol=0, atol=1e-7)
    assert engine.evaluations == 2, "the unit step was accepted at once: no halving, one evaluation"


@pytest.mark.parametrize("x0, accepted", [(1 / 1500, True), (1 / 3000, False)])
def test_the_armijo_search_halves_the_step_ten_times_at_most(x0, accepted):
    """f(x) = 1/2 a x^2 in one dimension, first step t0 = 1/|g|: a trial t is accepted when t a < 2 (1 - c1), so with
    t0 a = 1/x0 the step 1/1500 is accepted on the 11th try (t0 / 2^10) and 1/3000 would need a 12th: the search fails."""
    assert lbfgs.MAX_BACKTRACKS == 10
    a = 1e6

    def fn(x):
        return 0.5 * a * tf.reduce_sum(x * x), {}, a * x

    engine = lbfgs.LBFGS(fn, [x0], 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    out = engine.run(1)
    assert engine.evaluations == 1 + 11, "start, then the full step and ten halvings"
    if accepted:
        assert out["done"] == 1 and out["status"] == lbfgs.RUNNING
        np.testing.assert_allclose(engine.x.numpy(), [x0 * (1 - 1500 / 1024)], rtol=1e-5)  # x0 - t0 / 2^10 * g
    else:
        assert out["done"] == 0 and out["status"] == lbfgs.LINE_SEARCH_FAILED and "ABNORMAL" in out["message"]
        assert engine.x.numpy()[0] == np.float32(x0), "a failed search leaves x where it was"


@pytest.mark.parametrize("far", [False, True])
def test_a_direction_that_is_not_downhill_is_replaced_by_the_steepest_descent_step(far):
    """The engine keeps only pairs of positive curvature, so its direction is downhill; float32 rounding can still turn
    it. Here H_0 = -I is written into the memory: the direction -H g = g points uphill (g'd = |g|^2 > 0, below one when
    |g| = 0.5), so the engine forgets its memory and takes the first step of an empty memory, -g with t = min(1, 1/|g|)."""
    x0 = np.zeros(16, np.float32)
    c = np.full(16, 1.0 if far else 0.125, np.float32)  # |g| = 4 or 0.5
    engine = lbfgs.LBFGS(_bowl(c), x0, 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    engine._gamma.assign(-1.0)
    out = engine.run(1)
    assert out["done"] == 1 and out["status"] == lbfgs.RUNNING, out
    np.testing.assert_allclose(engine.x.numpy(), c / 4 if far else c, rtol=0, atol=1e-7)
    assert engine.evaluations == 2


def test_an_empty_memory_steps_along_the_gradient_whatever_gamma_an_earlier_memory_left():
    """After a restart the memory is empty but gamma keeps the last pair's s'y / y'y; the first step must still be -g
    with t = min(1, 1/|g|), not -gamma g: here gamma = 4 would overshoot the bowl's centre fourfold and need two halvings."""
    x0, c = np.zeros(16, np.float32), np.full(16, 0.125, np.float32)   # |g| = 0.5: t = 1, the step lands on c
    engine = lbfgs.LBFGS(_bowl(c), x0, 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    engine._gamma.assign(4.0)   # as a restart after a failed search leaves it
    assert engine.run(1)["done"] == 1
    np.testing.assert_allclose(engine.x.numpy(), c, rtol=0, atol=1e-7)
    assert engine.evaluations == 2, "the start and one accepted step, no halving"


@pytest.mark.parametrize("line_search", lbfgs.LINE_SEARCHES)
def test_a_trial_step_that_raises_the_loss_is_halved_by_armijo_and_taken_by_none(line_search):
    """Armijo's test asks the loss to fall by c1 * t * |g'd|, not only not to rise by that much: on f = a x^2 / 2 with
    t a = 2.0001 the unit step lands a hair beyond the mirror image of the start (the loss grows by a share 2e-4 of it,
    less than c1 t |g'd|), so "armijo" halves it once, to t a = 1.00005, next to the minimum; "none" takes it unchecked."""
    a, x0 = 2.0001, 0.25                                        # g = a x0 = 0.5: the first step is t = 1

    def fn(x):
        return 0.5 * a * tf.reduce_sum(x * x), {}, a * x

    engine = lbfgs.LBFGS(fn, [x0], 5, lower=-np.inf, upper=np.inf, line_search=line_search)
    engine.start()
    assert engine.run(1)["done"] == 1
    if line_search == "armijo":
        assert engine.evaluations == 3, "the unit step, refused, then half of it"
        np.testing.assert_allclose(engine.x.numpy(), [x0 * (1 - 0.5 * a)], rtol=0, atol=1e-7)  # -1.25e-5
    else:
        assert engine.evaluations == 2
        np.testing.assert_allclose(engine.x.numpy(), [x0 * (1 - a)], rtol=1e-6)  # -0.250025: the loss rose


def test_a_failed_search_with_a_memory_empties_it_and_retries_from_the_gradient():
    """A memory whose direction is downhill but far too long (here one pair written in by hand, with curvature 1e-6
    along the all-ones vector: the step is about 1e6 times too long) fails all 11 tries; the engine then empties its
    memory, counts a restart, and in the same iteration takes the first step of an empty memory, t = 1/|g| along -g.
    The next iteration reads only the pair that step made (the old pair stays in its slot but is no longer counted)."""
    curvature = np.linspace(1.0, 2.0, 16)
    a, c = tf.constant(curvature, tf.float32), tf.ones([16])

    def fn(x):
        d = x - c
        return 0.5 * tf.reduce_sum(a * d * d), {}, a * d

    x0 = np.zeros(16, np.float32)
    g0 = curvature * (x0 - 1.0)
    engine = lbfgs.LBFGS(fn, x0, 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    s = np.ones(16, np.float32)
    engine._S[0].assign(s)
    engine._Y[0].assign(1e-6 * s)
    engine._rho[0].assign(1.0 / float(s @ (1e-6 * s)))
    engine._newest.assign(0)
    engine._count.assign(1)
    out = engine.run(1)
    assert out["done"] == 1 and out["status"] == lbfgs.RUNNING, out
    assert engine.restarts == 1 and engine.evaluations == 1 + 11 + 1
    np.testing.assert_allclose(engine.x.numpy(), x0 - g0 / np.linalg.norm(g0), rtol=1e-5, atol=1e-7)
    out = engine.run(3)
    assert out["done"] == 3 and engine.restarts == 1 and engine.evaluations == 1 + 11 + 1 + 3, "each step accepted at once"
    assert out["total"][0] > out["total"][1] > out["total"][2] > 0


def test_one_pair_teaches_the_curvature_also_when_the_gradients_are_tiny():
    """On f = a/2 |x - c|^2 the first pair has y = a s, so H = I / a and the second step lands on c. With c - x0 = 1e-3
    (|s|^2 = 4e-6 and s'y = a |s|^2: tiny, and still a positive curvature that a threshold relative to y'y keeps)."""
    a = 0.5
    c = tf.constant(np.full(16, 1e-3, np.float32))

    def fn(x):
        d = x - c
        return 0.5 * a * tf.reduce_sum(d * d), {}, a * d

    engine = lbfgs.LBFGS(fn, np.zeros(16, np.float32), 5, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()
    engine.run(1)
    np.testing.assert_allclose(engine.x.numpy(), 0.5e-3, rtol=1e-5)  # |g| < 1: t = 1, x0 - g = x0 + a (c - x0)
    engine.run(1)
    np.testing.assert_allclose(engine.x.numpy(), 1e-3, rtol=1e-5)  # -H g with H = I / a: onto c
    assert engine.evaluations == 3


def test_the_iterates_are_those_of_l_bfgs_written_out_in_numpy():
    """Eight iterations with a memory of 3 (the ring buffer wraps twice) against the algorithm written out in float64:
    direction -H g from the newest pairs (H built densely by the BFGS update from gamma I, gamma from the newest pair),
    first step min(1, 1/|g|), then t = 1, halved until Armijo holds; a pair is kept when s'y > 1e-10 y'y."""
    fn, a, t = _quadratic(30, seed=4)
    x = np.full(30, 0.5)
    engine = lbfgs.LBFGS(fn, x.astype(np.float32), 3, lower=-np.inf, upper=np.inf, line_search="armijo")
    engine.start()

    def f(x):
        return 0.5 * (x - t) @ a @ (x - t)

    pairs, gamma = [], 1.0
    for _ in range(8):
        g = a @ (x - t)
        d = -_dense_inverse_hessian(pairs, gamma) @ g if pairs else -gamma * g
        step = 1.0 if pairs else min(1.0, 1.0 / np.linalg.norm(g))
        while f(x + step * d) > f(x) + 1e-4 * step * (g @ d):
            step *= 0.5
        s = step * d
        y = a @ s
        if s @ y > 1e-10 * (y @ y):
            pairs = (pairs + [(s, y)])[-3:]
            gamma = (s @ y) / (y @ y)
        x = x + s
        engine.run(1)
        np.testing.assert_allclose(engine.x.numpy(), x, rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------------- the active set, empty calls and lbfgs.minimize (mutation testing)


@pytest.mark.parametrize("bounds", lbfgs.BOUNDS)
def test_a_variable_is_held_only_on_a_bound_with_the_gradient_pushing_it_out(bounds):
    """bounds="active" holds x = lower with g > 0 and x = upper with g < 0, nothing else (a zero gradient does not push);
    bounds="project" holds nothing."""
    engine = lbfgs.LBFGS(lambda x: (tf.reduce_sum(x), {}, tf.ones_like(x)), tf.fill([9], 0.5), 3, bounds=bounds)
    x = tf.constant([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    g = tf.constant([1.0, 0.0, -1.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0])
    want = [0, 1, 1, 1, 1, 0, 1, 1, 1] if bounds == "active" else [1] * 9
    np.testing.assert_array_equal(engine._free(x, g).numpy(), want)


def test_a_call_of_zero_iterations_returns_nothing_and_keeps_the_engine_running():
    fn, _, t = _quadratic(10)
    engine = lbfgs.LBFGS(fn, tf.fill([10], 0.5), 3)
    engine.start()
    out = engine.run(0)
    assert out["total"] == [] and out["parts"] == {"half": []} and out["done"] == 0 and out["status"] == lbfgs.RUNNING
    assert engine.run(2)["done"] == 2


def test_a_loss_without_named_parts_runs():
    fn, _, _ = _quadratic(10)
    x, history = lbfgs.minimize(lambda x: (fn(x)[0], {}, fn(x)[2]), tf.fill([10], 0.5), 4)
    assert len(history) == 5 and history[-1] < history[0]


def test_minimize_is_start_then_one_run_with_the_memory_it_is_given():
    fn, _, _ = _quadratic(40, seed=2)
    x0 = tf.fill([40], 0.5)
    for memory in (None, 3):
        engine = lbfgs.LBFGS(fn, x0, 10 if memory is None else memory)
        first, _ = engine.start()
        want = [first] + engine.run(14)["total"]
        x, history = lbfgs.minimize(fn, x0, 14) if memory is None else lbfgs.minimize(fn, x0, 14, memory=memory)
        assert history == want, memory  # the default memory is 10, and a given one is used
        np.testing.assert_array_equal(x.numpy(), engine.x.numpy())
    x, history = lbfgs.minimize(fn, x0, 0)
    assert history == [float(fn(x0)[0])] and np.array_equal(x.numpy(), x0.numpy()), "zero iterations: the start"


def test_minimize_refuses_negative_iterations_before_evaluating_anything():
    calls = []
    fn, _, _ = _quadratic(10)
    _refused("iterations", lambda: lbfgs.minimize(lambda x: calls.append(1) or fn(x), tf.fill([10], 0.5), -1), ">= 0")
    assert not calls


def test_a_non_finite_loss_at_the_start_stops_the_engine_before_its_first_iteration():
    engine = lbfgs.LBFGS(lambda x: (tf.reduce_sum(x) * np.nan, {"part": tf.reduce_sum(x)}, tf.ones_like(x)), tf.fill([4], 0.5))
    loss, parts = engine.start()
    assert np.isnan(loss) and parts == {"part": 2.0} and engine.status == lbfgs.NON_FINITE
    out = engine.run(3)
    assert out["done"] == 0 and out["status"] == lbfgs.NON_FINITE and out["message"] == lbfgs.MESSAGES[lbfgs.NON_FINITE]
    x, history = lbfgs.minimize(lambda x: (tf.reduce_sum(x) * np.nan, {}, tf.ones_like(x)), tf.fill([4], 0.5), 3)
    assert len(history) == 1 and np.isnan(history[0]), "minimize does not run an engine that cannot start"


def test_a_new_engine_has_the_documented_defaults_and_an_empty_state():
    x0 = np.array([[-0.5, 0.25], [0.75, 2.0]], np.float32)       # outside [0, 1] in two places, and not flat

    def fn(x):
        return tf.reduce_sum(tf.square(x)), {}, 2.0 * x

    engine = lbfgs.LBFGS(fn, x0)
    assert (engine.memory, engine.lower, engine.upper) == (10, 0.0, 1.0)
    assert (engine.line_search, engine.bounds) == (lbfgs.LINE_SEARCH, lbfgs.BOUND_HANDLING) == ("armijo", "active")
    assert engine.shape == (2, 2) and engine.status == lbfgs.RUNNING and engine.fn is fn
    np.testing.assert_array_equal(engine.x.numpy(), [[0.0, 0.25], [0.75, 1.0]])   # x0 projected onto the box, its shape kept
    best_loss, best_x = engine.best
    assert best_loss == np.inf and best_x.shape == (2, 2)
    np.testing.assert_array_equal(best_x.numpy(), engine.x.numpy())
    assert engine.evaluations == 0 and engine.restarts == 0
    assert int(engine._count) == 0 and int(engine._newest) == -1 and float(engine._gamma) == 1.0
    assert tuple(engine._S.shape) == tuple(engine._Y.shape) == (10, 4) and tuple(engine._rho.shape) == (10,)
    assert not np.any(engine._S.numpy()) and not np.any(engine._Y.numpy()) and not np.any(engine._rho.numpy())
    assert float(engine._f) == 0.0 and not np.any(engine._g.numpy())
    state = [engine._x, engine._g, engine._f, engine._best_x, engine._best_f, engine._S, engine._Y, engine._rho, engine._newest,
             engine._count, engine._gamma, engine._evaluations, engine._restarts]
    assert not any(v.trainable for v in state), "the engine's state is bookkeeping: no tape may watch it"
    assert engine._best_f.dtype == tf.float32
    wide = lbfgs.LBFGS(fn, x0, 3, lower=-1.0, upper=np.inf, line_search="none", bounds="project")
    assert (wide.memory, wide.lower, wide.upper, wide.line_search, wide.bounds) == (3, -1.0, np.inf, "none", "project")
    np.testing.assert_array_equal(wide.x.numpy(), x0)                # inside the wider box: x0 as it is
    assert tuple(wide._S.shape) == (3, 4)
