"""The exercise checks of notebook 01 accept right answers, reject wrong ones, and the notebook's teaching code
agrees with the helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import check, config, losses, vgg
from helpers.check import solutions_theory as solutions
from helpers.check import theory

NOTEBOOK = config.ROOT / "notebooks" / "01_theory_content_and_style.ipynb"


def _unnormalised(x):
    """Gram without the division by H*W."""
    return tf.einsum("bijc,bijd->bcd", x, x)


def _locations(x):
    return tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)


# The model answers, held before any check hides them: the wrong answers below are built from right ones.
_answer_gram, _answer_style = solutions.gram_matrix, solutions.style_loss


# ----------------------------------------------------------------------------- the checks are exported


def test_checks_are_exported():
    assert set(theory.__all__) == {"gram_matrix", "content_loss", "style_loss"}
    for name in theory.__all__:
        assert getattr(check, name) is getattr(theory, name)


# ----------------------------------------------------------------------------- right answers pass


@pytest.mark.parametrize("name", ["gram_matrix", "content_loss", "style_loss"])
def test_solution_passes(name, capsys):
    answer = getattr(solutions, name)   # held before the check hides the model answers, as a student's own code would be
    assert getattr(check, name)(lambda *args: answer(*args)) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("checker, function, hidden_name", [
    (check.gram_matrix, losses.gram_matrix, "losses.gram_matrix"),
    (check.gram_matrix, solutions.gram_matrix, "solutions_theory.gram_matrix"),
    (check.content_loss, losses.content_loss, "losses.content_loss"),
    (check.style_loss, solutions.style_loss, "solutions_theory.style_loss"),
])
def test_handing_in_the_course_function_itself_fails(checker, function, hidden_name, capsys):
    # losses.gram_matrix is also vgg.gram_matrix (one function, two names): either name may be reported
    _expect_false(checker, function, capsys, "is the course's own", hidden_name.split(".")[1], "write it yourself")


# ----------------------------------------------------------------------------- an answer that calls the course's code


@pytest.mark.parametrize("checker, answer, hidden_name", [
    (check.gram_matrix, lambda x: losses.gram_matrix(x), "losses.gram_matrix"),
    (check.gram_matrix, lambda x: vgg.gram_matrix(x), "vgg.gram_matrix"),
    (check.gram_matrix, lambda x: solutions.gram_matrix(x), "solutions_theory.gram_matrix"),
    (check.content_loss, lambda f, p: losses.content_loss(f, p, form="paper"), "losses.content_loss"),
    (check.style_loss, lambda f, p: losses.style_layer_loss(solutions._unnormalised_gram(f) / _locations(f),
                                                           solutions._unnormalised_gram(p) / _locations(p), form="paper"),
     "losses.style_layer_loss"),
    (check.style_loss, lambda f, p: losses.style_loss({"l": losses.gram_matrix(f)}, {"l": losses.gram_matrix(p)}, form="paper"),
     "losses.gram_matrix"),
])
def test_an_answer_that_calls_the_course_helper_fails(checker, answer, hidden_name, capsys):
    """While a check runs, the course's own functions are hidden: calling one is reported by name, not accepted."""
    out = _expect_false(checker, answer, capsys, f"calls {hidden_name}", "write it yourself")
    assert "line " not in out, "the hidden helper's message should not carry a traceback position"


def test_the_helpers_are_back_after_a_check(capsys):
    """Hiding lasts only while the student's function runs, also when the check fails."""
    check.gram_matrix(lambda x: losses.gram_matrix(x))
    x = tf.ones((1, 2, 2, 3))
    np.testing.assert_allclose(losses.gram_matrix(x).numpy(), np.ones((1, 3, 3)))
    np.testing.assert_allclose(vgg.gram_matrix(x).numpy(), np.ones((1, 3, 3)))
    np.testing.assert_allclose(solutions.gram_matrix(x).numpy(), np.ones((1, 3, 3)))
    assert float(losses.content_loss(x, x, form="paper")) == 0.0


def test_numpy_answers_pass():
    def gram_np(x):
        x = np.asarray(x)
        _, h, w, c = x.shape
        f = x.reshape(h * w, c)
        return (f.T @ f / (h * w))[None]

    assert check.gram_matrix(gram_np)
    assert check.content_loss(lambda f, p: 0.5 * np.sum((np.asarray(f) - np.asarray(p)) ** 2))


# ----------------------------------------------------------------------------- wrong Gram matrices fail


def _expect_false(checker, fn, capsys, *needles):
    assert checker(fn) is False
    out = capsys.readouterr().out
    assert "✗" in out
    for needle in needles:
        assert needle in out, out
    return out


def test_gram_unnormalised_fails(capsys):
    _expect_false(check.gram_matrix, _unnormalised, capsys, "H*W")


def test_gram_divided_by_channels_too_fails(capsys):
    _expect_false(check.gram_matrix, lambda x: _unnormalised(x) / (_locations(x) * tf.cast(tf.shape(x)[3], tf.float32)), capsys, "H*W*C")


def test_gram_over_locations_fails(capsys):
    def wrong(x):
        f = tf.reshape(x, [-1, tf.shape(x)[3]])
        return tf.matmul(f, f, transpose_b=True)[None] / _locations(x)

    _expect_false(check.gram_matrix, wrong, capsys, "shape", "locations")


def test_gram_reshape_without_moving_channels_fails(capsys):
    def wrong(x):
        f = tf.reshape(x, [tf.shape(x)[3], -1])
        return tf.matmul(f, f, transpose_b=True)[None] / _locations(x)

    _expect_false(check.gram_matrix, wrong, capsys, "[C, H*W]")


def test_gram_wrong_axes_fails(capsys):
    _expect_false(check.gram_matrix, lambda x: tf.einsum("bijc,bijc->bij", x, x) / _locations(x), capsys, "shape")


def test_gram_not_symmetric_fails(capsys):
    def wrong(x):  # one factor reads shifted locations, so G_cd != G_dc
        flipped = tf.roll(x, shift=1, axis=1)
        return tf.einsum("bijc,bijd->bcd", x, flipped) / _locations(x)

    _expect_false(check.gram_matrix, wrong, capsys, "symmetric")


def test_gram_missing_batch_axis_fails(capsys):
    _expect_false(check.gram_matrix, lambda x: _answer_gram(x)[0], capsys, "batch axis")


def test_gram_that_raises_fails(capsys):
    def broken(x):
        raise ValueError("not yet")

    _expect_false(check.gram_matrix, broken, capsys, "ValueError", "not yet")


def test_gram_hard_coded_shape_fails(capsys):
    """A function that only works for one shape is caught by the other shapes."""
    first = theory.SHAPES[0]

    def only_first(x):
        return _unnormalised(x) / float(first[1] * first[2])

    _expect_false(check.gram_matrix, only_first, capsys)


# ----------------------------------------------------------------------------- wrong content losses fail


def test_content_missing_half_fails(capsys):
    _expect_false(check.content_loss, lambda f, p: tf.reduce_sum(tf.square(f - p)), capsys, "1/2")


def test_content_mean_fails(capsys):
    _expect_false(check.content_loss, lambda f, p: tf.reduce_mean(tf.square(f - p)), capsys, "mean")


def test_content_not_reduced_fails(capsys):
    _expect_false(check.content_loss, lambda f, p: 0.5 * tf.square(f - p), capsys, "one number")


def test_content_absolute_fails(capsys):
    _expect_false(check.content_loss, lambda f, p: 0.5 * tf.reduce_sum(tf.abs(f - p)), capsys, "squared")


# ----------------------------------------------------------------------------- wrong style losses fail


def test_style_unnormalised_fails(capsys):
    _expect_false(check.style_loss, lambda f, p: tf.reduce_sum(tf.square(_unnormalised(f) - _unnormalised(p))), capsys, "4 N^2 M^2")


def test_style_normalised_twice_fails(capsys):
    def wrong(f, p):
        n = tf.cast(tf.shape(f)[3], tf.float32)
        m = _locations(f)
        return tf.reduce_sum(tf.square(_answer_gram(f) - _answer_gram(p))) / (4 * n**2 * m**2)

    _expect_false(check.style_loss, wrong, capsys, "1/M^2")


def test_style_missing_quarter_fails(capsys):
    _expect_false(check.style_loss, lambda f, p: 4.0 * _answer_style(f, p), capsys, "1/4")


def test_style_tutorial_mean_fails(capsys):
    """The TF tutorial's per-layer mean of (G - A)^2 over normalised Grams is 4 E_l: the paper's 1/4 is missing."""
    def tutorial_mean(f, p):
        return tf.reduce_mean(tf.square(_answer_gram(f) - _answer_gram(p)))

    _expect_false(check.style_loss, tutorial_mean, capsys, "1/4")


def test_style_channels_squared_missing_fails(capsys):
    _expect_false(check.style_loss, lambda f, p: tf.cast(tf.shape(f)[3], tf.float32) ** 2 * _answer_style(f, p), capsys, "N^2")


# ----------------------------------------------------------------------------- the notebook's teaching code


def _teaching_namespace():
    """Execute the notebook's code cells tagged 'teaching' (pure definitions) and return their namespace."""
    assert NOTEBOOK.exists(), f"{NOTEBOOK} is missing"
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    sources = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "code" and "teaching" in c.get("metadata", {}).get("tags", [])
    ]
    assert sources, "the notebook has no cells tagged 'teaching'"
    namespace = {"tf": tf, "np": np}
    for src in sources:
        exec(compile(src, f"{NOTEBOOK.name}:teaching", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


@pytest.fixture(scope="module")
def teaching():
    return _teaching_namespace()


@pytest.mark.parametrize("shape", [(1, 5, 7, 3), (1, 8, 8, 16)])
def test_notebook_gram_agrees_with_helper(teaching, shape):
    x = tf.random.stateless_uniform(shape, seed=(1, 2))
    np.testing.assert_allclose(teaching["gram_by_einsum"](x).numpy(), losses.gram_matrix(x).numpy(), rtol=1e-5, atol=1e-6)


def test_notebook_gram_passes_the_check(teaching):
    assert check.gram_matrix(teaching["gram_by_einsum"])


def test_notebook_exercise_stubs_do_not_give_the_answers():
    """The exercise cells hold stubs; the checks must reject them (solutions are not on display)."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    stubs = {"my_gram_matrix": check.gram_matrix, "my_content_loss": check.content_loss, "my_style_loss": check.style_loss}
    for name, checker in stubs.items():
        source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"]))
        namespace = {"tf": tf, "np": np, "check": _Silent()}
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - our own notebook
        assert checker(namespace[name]) is False, f"the stub {name} already passes its check"


class _Silent:
    """Stands in for helpers.check inside an exercise cell, so only the test calls the real check."""

    def __getattr__(self, name):
        return lambda fn: None


def test_notebook_tile_shuffle_is_a_permutation(teaching):
    image = tf.random.stateless_uniform((1, 32, 48, 3), seed=(7, 8))
    shuffled = teaching["shuffle_tiles"](image, 8, seed=0)
    assert shuffled.shape == image.shape
    assert not np.allclose(shuffled, image), "the tiles were not moved"
    # Same pixels, other places: sorted values agree, and every 8x8 tile of the result is a tile of the input.
    np.testing.assert_allclose(np.sort(np.ravel(shuffled)), np.sort(np.ravel(image)))
    tiles_in = {np.asarray(image)[0, i : i + 8, j : j + 8].tobytes() for i in range(0, 32, 8) for j in range(0, 48, 8)}
    tiles_out = {np.asarray(shuffled)[0, i : i + 8, j : j + 8].tobytes() for i in range(0, 32, 8) for j in range(0, 48, 8)}
    assert tiles_in == tiles_out


def test_notebook_tile_shuffle_drops_the_remainder(teaching):
    image = tf.random.stateless_uniform((1, 36, 50, 3), seed=(3, 4))
    shuffled = teaching["shuffle_tiles"](image, 8, seed=1)
    assert shuffled.shape == (1, 32, 48, 3)
    np.testing.assert_allclose(np.sort(np.ravel(shuffled)), np.sort(np.ravel(image[:, :32, :48, :])))


def test_notebook_centred_gram_is_gram_minus_outer_product_of_means(teaching):
    x = tf.random.stateless_uniform((1, 6, 5, 4), seed=(5, 6)) + 2.0
    mu = tf.reduce_mean(x, axis=[1, 2])
    expected = losses.gram_matrix(x) - tf.einsum("bc,bd->bcd", mu, mu)
    got = teaching["centred_gram"](x)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)
    # Adding a constant to a channel moves the plain Gram matrix but not the centred one.
    shifted = x + tf.constant([5.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(teaching["centred_gram"](shifted).numpy(), got.numpy(), rtol=1e-4, atol=1e-4)
    assert not np.allclose(losses.gram_matrix(shifted).numpy(), losses.gram_matrix(x).numpy())


# ----------------------------------------------------------------------------- the notebook's measures
def test_brightness_correlation_reads_pixels_and_layout():
    from helpers import viz

    image = tf.random.stateless_uniform((1, 32, 40, 3), seed=(7, 8))
    assert viz.brightness_correlation(image, image) == pytest.approx(1.0)
    assert viz.brightness_correlation(1.0 - image, image) == pytest.approx(-1.0)
    # fine noise on top of a coarse layout: the pixels disagree, the shrunk layout still agrees
    layout = tf.image.resize(tf.random.stateless_uniform((1, 4, 5, 3), seed=(9, 10)), (32, 40), method="nearest")
    noisy = 0.3 * layout + 0.7 * tf.random.stateless_uniform((1, 32, 40, 3), seed=(11, 12))
    assert viz.brightness_correlation(noisy, layout) < 0.6
    assert viz.brightness_correlation(noisy, layout, shrink=8) > 0.9
    # another size is resized to the reference's; a flat image correlates with nothing
    assert viz.brightness_correlation(tf.image.resize(image, (16, 20)), image) > 0.3
    assert viz.brightness_correlation(tf.fill((1, 32, 40, 3), 0.5), image) == 0.0
