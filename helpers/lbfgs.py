"""L-BFGS inside TensorFlow: the two-loop recursion on float32 tensors, pixels kept in a box, iterations in one tf.function.

    engine = LBFGS(fn, x0, memory=50)    # fn(x) -> (loss, {name: scalar}, d loss / d x), traced into the graph
    loss, parts = engine.start()         # evaluate at x0
    out = engine.run(10)                 # 10 iterations in one call: out["total"], out["parts"], out["done"], out["status"]
    engine.x, engine.best                # the current iterate; (lowest loss, its x)

L-BFGS (Nocedal 1980; Liu & Nocedal 1989) keeps the last `memory` steps s_k = x_{k+1} - x_k and gradient changes
y_k = g_{k+1} - g_k, and turns a gradient g into a quasi-Newton direction d = -H g with the two-loop recursion
(`two_loop`), starting from H_0 = gamma I with gamma = s'y / y'y of the newest pair. Every vector (the iterate, the
gradient, the history) is a float32 tensor the size of x, so nothing leaves TensorFlow between the evaluations and
the same code runs on a GPU.

Bounds: every trial point is projected onto [lower, upper] (clipped). With bounds="active" the variables that sit on
a bound with the gradient pushing outwards are held fixed for that iteration (their gradient entries are left out of
the two-loop recursion and their step is zero), as projected quasi-Newton methods do; bounds="project" only clips.

Line search: "armijo" tries the full step (t = 1; t = 1/||g|| on the first iteration after the memory was emptied,
as scipy's L-BFGS-B does) and halves it until the loss falls by at least c1 * t * g'd (backtracking, Armijo 1966);
"none" takes that step unchecked, as torch.optim.LBFGS and jcjohnson/neural-style do.

The course uses "armijo" with bounds="active". On the style-transfer objective all four combinations lowered the loss
alike, iteration for iteration, and the full step was nearly always accepted at once, so the Armijo check costs no
extra evaluation while it guards against a step that raises the loss; and clipping alone can stall short of the
minimum in the box (tests/test_lbfgs.py shows it on a quadratic). `python benchmarks/run.py --candidates` times the
alternatives.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from helpers import validate

LINE_SEARCHES = ("armijo", "none")
BOUNDS = ("active", "project")
#: The course's choices, by measurement (see the module docstring); optimize.transfer reads them at call time.
LINE_SEARCH = "armijo"
BOUND_HANDLING = "active"
#: Armijo's sufficient-decrease constant (the usual 1e-4) and how often a step may be halved before the search fails.
ARMIJO_C1 = 1e-4
MAX_BACKTRACKS = 10

#: run()'s status codes, and what each means.
RUNNING, NON_FINITE, CONVERGED, LINE_SEARCH_FAILED = 0, 1, 2, 3
MESSAGES = {
    RUNNING: "running",
    NON_FINITE: "the loss became non-finite",
    CONVERGED: "CONVERGENCE: the projected gradient is zero",
    LINE_SEARCH_FAILED: "ABNORMAL: the line search found no decrease along the steepest descent direction",
}


class LBFGSError(validate.ArgumentError):
    """A bad argument to the L-BFGS engine: 'NAME = VALUE: why; what to do' (a ValueError). Checked once, in Python,
    before anything is traced: the iterations themselves run no check."""


def _bound(name: str, value) -> float:
    """A box bound: a real number, infinite allowed (no bound), NaN, bools and strings refused."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (int, float, np.integer, np.floating)) or math.isnan(value):
        raise validate.refuse(name, value, "not a bound", f"pass a number ({name}=-np.inf or np.inf for none)", LBFGSError)
    return float(value)


def two_loop(g, S, Y, rho, newest, count, gamma):
    """The L-BFGS direction -H g for a flat gradient g [n], from `count` pairs S, Y [m, n] in a ring buffer ending at slot `newest`.

    rho[i] = 1 / (S[i]' Y[i]); H_0 = gamma I. Pairs are read one row at a time (no copy of the whole history).
    """
    m = tf.shape(rho)[0]
    q = g
    alpha = tf.zeros_like(rho)
    for j in tf.range(count):  # newest to oldest
        i = tf.math.floormod(newest - j, m)
        a = rho[i] * tf.tensordot(S.sparse_read(i), q, 1)
        alpha = tf.tensor_scatter_nd_update(alpha, [[i]], [a])
        q = q - a * Y.sparse_read(i)
    r = gamma * q
    for j in tf.range(count):  # oldest to newest
        i = tf.math.floormod(newest - count + 1 + j, m)
        b = rho[i] * tf.tensordot(Y.sparse_read(i), r, 1)
        r = r + (alpha[i] - b) * S.sparse_read(i)
    return -r


class LBFGS:
    """L-BFGS on one tensor in a box, with its state as float32 tf.Variables; see the module docstring.

    Refuses (LBFGSError naming the argument) an `fn` that is not callable, an `x0` that is not finite numbers (or has
    no entries), a `memory` that is not a whole number >= 1, bounds that are not numbers with lower < upper (infinite:
    no bound), and an unknown `line_search` or `bounds`. x0 is projected onto [lower, upper], as every iterate is.
    """

    def __init__(self, fn, x0, memory: int = 10, *, lower: float = 0.0, upper: float = 1.0, line_search: str | None = None,
                 bounds: str | None = None):
        line_search = LINE_SEARCH if line_search is None else line_search
        bounds = BOUND_HANDLING if bounds is None else bounds
        validate.choice("line_search", line_search, LINE_SEARCHES, error=LBFGSError)
        validate.choice("bounds", bounds, BOUNDS, error=LBFGSError)
        memory = validate.number("memory", memory, low=1, integer=True, error=LBFGSError)
        if not callable(fn):
            raise validate.refuse("fn", fn, "not callable", "pass a function x -> (loss, {name: part}, gradient)", LBFGSError)
        lower, upper = _bound("lower", lower), _bound("upper", upper)
        if not lower < upper:
            raise validate.refuse("upper", upper, f"not above lower = {lower:g}", "pass lower < upper", LBFGSError)
        x0 = tf.cast(validate.array("x0", x0, error=LBFGSError), tf.float32)
        if x0.shape.num_elements() == 0:
            raise validate.refuse("x0", x0, "no entries", "pass the starting point, e.g. the content image", LBFGSError)
        if x0.shape.is_fully_defined() and tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(x0))):
            raise validate.refuse("x0", x0, "NaN or infinite entries", "start from finite values", LBFGSError)
        self.fn = fn
        self.shape = x0.shape
        self.memory = int(memory)
        self.line_search = line_search
        self.bounds = bounds
        self.lower, self.upper = float(lower), float(upper)
        n = int(np.prod(self.shape))
        flat = tf.reshape(tf.clip_by_value(x0, self.lower, self.upper), [n])
        self._x = tf.Variable(flat, trainable=False)
        self._g = tf.Variable(tf.zeros([n]), trainable=False)
        self._f = tf.Variable(0.0, trainable=False)
        self._best_x = tf.Variable(flat, trainable=False)
        self._best_f = tf.Variable(np.inf, dtype=tf.float32, trainable=False)
        self._S = tf.Variable(tf.zeros([self.memory, n]), trainable=False)
        self._Y = tf.Variable(tf.zeros([self.memory, n]), trainable=False)
        self._rho = tf.Variable(tf.zeros([self.memory]), trainable=False)
        self._newest = tf.Variable(-1, trainable=False)  # the slot of the newest pair
        self._count = tf.Variable(0, trainable=False)  # how many pairs are stored
        self._gamma = tf.Variable(1.0, trainable=False)
        self._evaluations = tf.Variable(0, trainable=False)
        self._restarts = tf.Variable(0, trainable=False)
        self._parts = None  # {name: tf.Variable}, made by start() once the parts' names are known
        self.status = RUNNING
        self._run = tf.function(self._run_graph)

    # ---------------------------------------------------------------------------------------------- state

    @property
    def x(self) -> tf.Tensor:
        """The current iterate, shaped like x0."""
        return tf.reshape(tf.identity(self._x), self.shape)

    @property
    def best(self) -> tuple[float, tf.Tensor]:
        """(lowest loss seen, the iterate that had it)."""
        return float(self._best_f), tf.reshape(tf.identity(self._best_x), self.shape)

    @property
    def evaluations(self) -> int:
        """Loss-and-gradient evaluations so far (start() included)."""
        return int(self._evaluations)

    @property
    def restarts(self) -> int:
        """How often the memory was emptied after a failed line search."""
        return int(self._restarts)

    def _evaluate(self, flat, out=None):
        """(loss, parts, flat gradient) at a flat point, in float32 (`out`: fn's answer there, if already computed)."""
        loss, parts, grad = self.fn(tf.reshape(flat, self.shape)) if out is None else out
        self._evaluations.assign_add(1)
        parts = {k: tf.cast(v, tf.float32) for k, v in parts.items()}
        return tf.cast(loss, tf.float32), parts, tf.reshape(tf.cast(grad, tf.float32), [-1])

    def start(self) -> tuple[float, dict]:
        """Evaluate at x0 (call once, before run); returns (loss, parts) as Python floats.

        LBFGSError names `fn` if it does not return (loss, {name: part}, gradient) with a scalar loss and a gradient
        shaped like x0 (checked here, once, so the iterations run no check).
        """
        out = self.fn(tf.reshape(self._x, self.shape))
        if not isinstance(out, (tuple, list)) or len(out) != 3 or not isinstance(out[1], dict):
            raise validate.refuse("fn", self.fn, "does not return (loss, {name: part}, gradient)",
                                  "return the loss, a dict of its named parts ({} for none) and the gradient", LBFGSError)
        loss_shape, grad_shape = tf.convert_to_tensor(out[0]).shape, tf.convert_to_tensor(out[2]).shape
        if loss_shape.num_elements() != 1 or grad_shape.num_elements() != self.shape.num_elements():
            raise validate.refuse("fn", self.fn, f"returns a loss of shape {loss_shape} and a gradient of shape {grad_shape} for x of shape "
                                  f"{self.shape}", "return a scalar loss and the gradient of the loss with respect to x", LBFGSError)
        loss, parts, grad = self._evaluate(self._x, out)
        self._parts = {k: tf.Variable(v, trainable=False) for k, v in parts.items()}
        self._f.assign(loss)
        self._g.assign(grad)
        if np.isfinite(float(loss)):
            self._best_f.assign(loss)
        else:
            self.status = NON_FINITE
        return float(loss), {k: float(v) for k, v in parts.items()}

    # ---------------------------------------------------------------------------------------------- iteration

    def _free(self, x, g):
        """1.0 where a variable may move this iteration, 0.0 where it sits on a bound and the gradient pushes it out."""
        if self.bounds == "project":
            return tf.ones_like(x)
        held = ((x <= self.lower) & (g > 0)) | ((x >= self.upper) & (g < 0))
        return 1.0 - tf.cast(held, x.dtype)

    def _step(self):
        """One iteration: direction, line search, memory update. Returns (moved, status)."""
        x, g, f = tf.identity(self._x), tf.identity(self._g), tf.identity(self._f)
        free = self._free(x, g)
        gf = g * free
        d = two_loop(gf, self._S, self._Y, self._rho, self._newest, self._count, self._gamma) * free
        if self._count == 0:  # an empty memory (the start, or a restart): steepest descent, not scaled by an old gamma
            d = -gf
        slope = tf.tensordot(g, d, 1)
        if not slope < 0.0:  # not a descent direction (the bounds cut it off): forget the memory, go downhill
            self._count.assign(0)
            d = -gf
            slope = tf.tensordot(g, d, 1)
        status = RUNNING
        moved = False
        if not slope < 0.0:
            status = CONVERGED
        else:
            # The first step after the memory was emptied has no curvature to scale it: take a unit-length step.
            t = tf.where(self._count > 0, 1.0, tf.minimum(1.0, 1.0 / tf.norm(gf)))
            tries = tf.constant(0)
            accepted = tf.constant(False)
            x_new, f_new, g_new = x, f, g
            parts_new = {k: tf.identity(v) for k, v in self._parts.items()}
            max_tries = MAX_BACKTRACKS + 1 if self.line_search == "armijo" else 1
            while not accepted and tries < max_tries:
                x_new = tf.clip_by_value(x + t * d, self.lower, self.upper)
                f_new, parts_new, g_new = self._evaluate(x_new)
                decrease = f_new <= f + ARMIJO_C1 * tf.tensordot(g, x_new - x, 1)
                accepted = (not tf.math.is_finite(f_new)) or decrease or self.line_search == "none"
                t = tf.where(accepted, t, 0.5 * t)
                tries += 1
            if not tf.math.is_finite(f_new):
                status = NON_FINITE
                self._f.assign(f_new)  # reported by run(); x stays at the last finite iterate
                for k, v in parts_new.items():
                    self._parts[k].assign(v)
            elif not accepted:
                if self._count > 0:  # retry from steepest descent with a fresh memory
                    self._count.assign(0)
                    self._restarts.assign_add(1)
                else:
                    status = LINE_SEARCH_FAILED
            else:
                s, y = x_new - x, g_new - g
                sy, yy = tf.tensordot(s, y, 1), tf.tensordot(y, y, 1)
                if sy > 1e-10 * yy:  # keep only pairs with positive curvature
                    slot = tf.math.floormod(self._newest + 1, self.memory)
                    self._S[slot].assign(s)
                    self._Y[slot].assign(y)
                    self._rho[slot].assign(1.0 / sy)
                    self._newest.assign(slot)
                    self._count.assign(tf.minimum(self._count + 1, self.memory))
                    self._gamma.assign(sy / yy)
                self._x.assign(x_new)
                self._g.assign(g_new)
                self._f.assign(f_new)
                for k, v in parts_new.items():
                    self._parts[k].assign(v)
                if f_new <= self._best_f:
                    self._best_f.assign(f_new)
                    self._best_x.assign(x_new)
                moved = True
        return moved, status

    def _run_graph(self, iterations):
        """Up to `iterations` iterations in one graph; stops early on a non-finite loss, convergence or a failed search."""
        names = list(self._parts)
        totals = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        parts = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[len(names)])
        done = tf.constant(0)
        status = tf.constant(RUNNING)
        def current_parts():
            return tf.stack([self._parts[k] for k in names]) if names else tf.zeros([0])

        while done < iterations and status == RUNNING:
            moved, status = self._step()
            if moved:
                totals = totals.write(done, self._f)
                parts = parts.write(done, current_parts())
                done += 1
        return totals.stack(), parts.stack(), done, status, self._f, current_parts()

    def run(self, iterations: int) -> dict:
        """Take up to `iterations` iterations in one tf.function call.

        Returns {'total': [done] floats, 'parts': {name: [done]}, 'done', 'status', 'message'}; with status NON_FINITE,
        'bad_total' and 'bad_parts' hold the non-finite loss that stopped it.
        """
        if self._parts is None:
            raise RuntimeError("call start() before run()")
        iterations = validate.number("iterations", iterations, low=0, integer=True, error=LBFGSError)
        if self.status != RUNNING:
            return {"total": [], "parts": {k: [] for k in self._parts}, "done": 0, "status": self.status, "message": MESSAGES[self.status]}
        totals, parts, done, status, f, last = self._run(tf.constant(int(iterations)))
        names = list(self._parts)
        self.status = int(status)
        parts = parts.numpy().reshape(int(done), len(names))
        out = {"total": [float(v) for v in totals.numpy()], "parts": {k: [float(v) for v in parts[:, i]] for i, k in enumerate(names)},
               "done": int(done), "status": self.status, "message": MESSAGES[self.status]}
        if self.status == NON_FINITE:
            out["bad_total"] = float(f)
            out["bad_parts"] = {k: float(v) for k, v in zip(names, last.numpy())}
        return out


def minimize(fn, x0, iterations: int, memory: int = 10, **kwargs) -> tuple[tf.Tensor, list[float]]:
    """Run L-BFGS on fn(x) -> (loss, parts, grad) from x0 for up to `iterations` iterations -> (x, losses from x0 on)."""
    iterations = validate.number("iterations", iterations, low=0, integer=True, error=LBFGSError)
    engine = LBFGS(fn, x0, memory, **kwargs)
    loss, _ = engine.start()
    history = [loss]
    if engine.status == RUNNING:
        history += engine.run(iterations)["total"]
    return engine.x, history
