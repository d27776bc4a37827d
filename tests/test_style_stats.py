"""helpers.style_stats: each style statistic against a direct NumPy computation, its invariances, gradients and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from helpers import losses, style_stats
from tests.refusals import refused

NAMES = list(style_stats.STATISTICS)
DISTRIBUTIONS = ["gram", "mean_std", "mean_cov", "sliced_wasserstein"]
WEIGHTED = ["gram", "mean_std", "mean_cov"]
Error = style_stats.StatisticError


def _features(seed=0, shape=(1, 6, 5, 4), scale=1.0):
    """Random float32 features (a ReLU-like offset so that means are not zero)."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(shape) + 0.5).astype(np.float32)


def _structured(shape=(1, 8, 7, 3)):
    """A smooth, structured map: each channel a different ramp or wave over the pixels."""
    _, h, w, c = shape
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    channels = [np.sin(0.7 * i + (k + 1) * 0.4 * j) + 0.1 * k * i for k in range(c)]
    return np.stack(channels, -1)[None].astype(np.float32)


def _shuffled(x, seed=3):
    """The same pixels in another order (each batch item permuted the same way)."""
    b, h, w, c = x.shape
    order = np.random.default_rng(seed).permutation(h * w)
    return x.reshape(b, h * w, c)[:, order].reshape(b, h, w, c)


def _pixels(x, mask=None):
    """[B, N, C] pixels and [B|1, N] weights (ones without a mask) as float64."""
    b, h, w, c = x.shape
    weights = np.ones((1, h * w)) if mask is None else np.asarray(mask, np.float64).reshape(len(mask), h * w)
    return np.asarray(x, np.float64).reshape(b, h * w, c), weights


def _loss(name, out, style, **options):
    """style_stats.loss of out against style's prepared `name` target, as a float."""
    return float(style_stats.loss(out, style_stats.target(style, name, **options)))


# ----------------------------------------------------------------------------------------- each statistic vs NumPy


def test_gram_loss_is_the_tutorials_layer_loss_in_float32():
    out, style = _features(1), _features(2)
    tutorial = losses.style_layer_loss(losses.gram_matrix(tf.constant(out)), losses.gram_matrix(tf.constant(style)), form="mean")
    got = style_stats.loss(out, style_stats.target(style, "gram"))
    assert got.dtype == tf.float32 and got.shape == ()
    assert float(got) == float(tutorial)
    flat_o, flat_s = out.reshape(-1, 4).astype(np.float64), style.reshape(-1, 4).astype(np.float64)
    expected = np.mean((flat_o.T @ flat_o / 30 - flat_s.T @ flat_s / 30) ** 2)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_weighted_gram_is_the_guided_gram():
    out, style = _features(1), _features(2)
    mask = np.random.default_rng(4).uniform(size=(1, 6, 5, 1)).astype(np.float32)
    got = style_stats.loss(out, style_stats.target(style, "gram", mask=mask), mask=mask)
    expected = losses.style_layer_loss(losses.guided_gram_matrix(out, mask), losses.guided_gram_matrix(style, mask))
    assert float(got) == pytest.approx(float(expected), rel=1e-6)
    (o,), w = _pixels(out, mask)
    gram = (o * w[0, :, None]).T @ o / w.sum()
    np.testing.assert_allclose(style_stats.target(out, "gram", mask=mask).values["gram"][0], gram, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("masked", [False, True])
def test_mean_std_matches_numpy(masked):
    out, style = _features(1, (2, 6, 5, 4)), _features(2, (1, 4, 7, 4), scale=2.0)
    mask = np.random.default_rng(5).uniform(size=(2, 6, 5, 1)).astype(np.float32) if masked else None
    o, w = _pixels(out, mask)
    s, _ = _pixels(style)
    mean_o = (o * w[..., None]).sum(1) / w.sum(1)[:, None]
    std_o = np.sqrt((((o - mean_o[:, None]) ** 2) * w[..., None]).sum(1) / w.sum(1)[:, None] + style_stats.STD_EPSILON)
    mean_s, std_s = s.mean(1), np.sqrt(s.var(1) + style_stats.STD_EPSILON)
    expected = np.mean((mean_o - mean_s) ** 2) + np.mean((std_o - std_s) ** 2)
    assert float(style_stats.loss(out, style_stats.target(style, "mean_std"), mask=mask)) == pytest.approx(expected, rel=1e-5)


def _w2_gaussian(mu1, cov1, mu2, cov2):
    """Squared 2-Wasserstein distance between two Gaussians, with SciPy's matrix square roots."""
    root = scipy.linalg.sqrtm(cov2).real
    cross = scipy.linalg.sqrtm(root @ cov1 @ root).real
    return np.sum((mu1 - mu2) ** 2) + np.trace(cov1 + cov2 - 2 * cross)


@pytest.mark.parametrize("masked", [False, True])
def test_mean_cov_matches_numpy(masked):
    out, style = _features(1, (1, 6, 5, 4)), _features(2, (1, 7, 3, 4), scale=1.5)
    mask = np.random.default_rng(6).uniform(size=(1, 6, 5, 1)).astype(np.float32) if masked else None
    (o,), (w,) = _pixels(out, mask)
    (s,), _ = _pixels(style)
    mu_o = w @ o / w.sum()
    cov_o = ((o - mu_o) * w[:, None]).T @ (o - mu_o) / w.sum()
    expected = _w2_gaussian(mu_o, cov_o, s.mean(0), np.cov(s.T, bias=True))
    got = style_stats.loss(out, style_stats.target(style, "mean_cov"), mask=mask)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(expected, rel=1e-4)


def _whitened(n, c, seed):
    """n x c pixels with mean exactly 0 and covariance exactly the identity."""
    a = np.random.default_rng(seed).standard_normal((n, c))
    q, _ = np.linalg.qr(a - a.mean(0))
    return q * np.sqrt(n)


def test_mean_cov_equals_the_closed_form_for_diagonal_covariances():
    """For S1 = diag(a), S2 = diag(b): W2^2 = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2."""
    a, b = np.array([0.5, 2.0, 1.0, 3.0]), np.array([1.5, 0.2, 1.0, 4.0])
    mu1, mu2 = np.array([0.1, -0.3, 1.0, 0.0]), np.array([0.4, 0.2, -1.0, 0.5])
    out = (mu1 + _whitened(30, 4, 1) * np.sqrt(a)).reshape(1, 6, 5, 4).astype(np.float32)
    style = (mu2 + _whitened(24, 4, 2) * np.sqrt(b)).reshape(1, 4, 6, 4).astype(np.float32)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert _loss("mean_cov", out, style) == pytest.approx(expected, rel=1e-4)


def test_sliced_wasserstein_matches_numpy_and_fixes_its_directions():
    out, style = _features(1, (1, 6, 5, 4)), _features(2, (1, 6, 5, 4), scale=1.5)
    prepared = style_stats.target(style, "sliced_wasserstein", projections=7, seed=11)
    d = prepared.values["directions"].numpy().astype(np.float64)
    assert d.shape == (4, 7)
    np.testing.assert_allclose(np.linalg.norm(d, axis=0), 1.0, rtol=1e-6)
    (o,), _ = _pixels(out)
    (s,), _ = _pixels(style)
    expected = np.mean((np.sort(o @ d, axis=0) - np.sort(s @ d, axis=0)) ** 2)
    assert float(style_stats.loss(out, prepared)) == pytest.approx(expected, rel=1e-5)
    again = style_stats.target(style, "sliced_wasserstein", projections=7, seed=11).values["directions"]
    other = style_stats.target(style, "sliced_wasserstein", projections=7, seed=12).values["directions"]
    np.testing.assert_array_equal(again, d.astype(np.float32))
    assert not np.allclose(other, d)
    assert style_stats.target(style, "sliced_wasserstein").values["directions"].shape == (4, 4)  # default: one per channel


def _w2_1d(x, y):
    """Exact squared 2-Wasserstein distance between two 1-D empirical distributions: the integral over t in (0, 1) of
    (F_x^-1(t) - F_y^-1(t))^2, over the pieces on which both quantile functions are constant."""
    x, y = np.sort(x), np.sort(y)
    cuts = np.union1d(np.arange(len(x) + 1) / len(x), np.arange(len(y) + 1) / len(y))
    middles, widths = (cuts[1:] + cuts[:-1]) / 2, np.diff(cuts)
    return np.sum(widths * (x[(middles * len(x)).astype(int)] - y[(middles * len(y)).astype(int)]) ** 2)


@pytest.mark.parametrize("style_shape", [(1, 6, 5, 1), (1, 3, 5, 1), (1, 2, 3, 1)])
def test_sliced_wasserstein_is_the_exact_1d_distance_for_one_channel(style_shape):
    """With C = 1 every direction is +1 or -1, so the loss is the 1-D W2^2: exactly, also when the output has 2 or 5 times
    the style's pixels (resampled)."""
    out, style = _features(1, (1, 6, 5, 1)), _features(2, style_shape, scale=2.0)
    expected = _w2_1d(out.ravel().astype(np.float64), style.ravel().astype(np.float64))
    assert _loss("sliced_wasserstein", out, style, projections=3) == pytest.approx(expected, rel=1e-5)


def test_sliced_wasserstein_compares_maps_of_unrelated_sizes():
    """30 output pixels against 28 style pixels: not a multiple, so resampled approximately (within 10% of the exact value)."""
    out, style = _features(1, (1, 6, 5, 1)), _features(2, (1, 7, 4, 1), scale=2.0)
    expected = _w2_1d(out.ravel().astype(np.float64), style.ravel().astype(np.float64))
    assert _loss("sliced_wasserstein", out, style, projections=1) == pytest.approx(expected, rel=0.1)


def _mrf_numpy(out, style):
    """Li & Wand's loss by loops: each 3x3 output patch against every style patch by normalised cross-correlation."""
    def patches(x):
        _, h, w, _ = x.shape
        return np.array([x[0, i:i + 3, j:j + 3, :].ravel() for i in range(h - 2) for j in range(w - 2)], np.float64)
    p_out, p_style = patches(out), patches(style)
    ncc = (p_out / np.linalg.norm(p_out, axis=1, keepdims=True)) @ (p_style / np.linalg.norm(p_style, axis=1, keepdims=True)).T
    return np.mean((p_out - p_style[ncc.argmax(axis=1)]) ** 2)


def test_mrf_matches_numpy():
    out, style = _features(1, (1, 5, 6, 3)), _features(2, (1, 6, 5, 3), scale=1.5)
    assert _loss("mrf", out, style) == pytest.approx(_mrf_numpy(out, style), rel=1e-5)
    prepared = style_stats.target(style, "mrf", stride=2)
    assert prepared.values["patches"].shape == (2 * 2, 27) and prepared.values["filters"].shape == (3, 3, 3, 4)


# ------------------------------------------------------------------------------------------------------ properties


@pytest.mark.parametrize("name", NAMES)
def test_identical_features_cost_nothing(name):
    style = _features(2, (1, 6, 5, 4), scale=3.0)
    value = _loss(name, style, style)
    if name == "mean_cov":  # a difference of traces (each about 45 here) in float64
        assert abs(value) < 1e-6
    else:
        assert value == 0.0


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_distributions_do_not_see_where_pixels_are(name):
    out, style = _features(1, (2, 6, 5, 4)), _features(2, (1, 6, 5, 4))
    assert _loss(name, _shuffled(out), style) == pytest.approx(_loss(name, out, style), rel=1e-5, abs=1e-7)


def test_mrf_sees_where_pixels_are():
    structured = _structured()
    assert _loss("mrf", structured, structured) == 0.0
    assert _loss("mrf", _shuffled(structured), structured) > 0.01


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_is_the_mean_of_its_items_and_runs_in_tf_function(name):
    out, style = _features(1, (2, 6, 5, 4)), _features(2, (1, 6, 5, 4))
    prepared = style_stats.target(style, name)
    each = [float(style_stats.loss(out[i:i + 1], prepared)) for i in range(2)]
    traced = tf.function(lambda x: style_stats.loss(x, prepared))
    assert float(traced(tf.constant(out))) == pytest.approx(np.mean(each), rel=1e-5)


def test_style_distance_prepares_and_measures():
    out, style = _features(1), _features(2)
    mask = np.full((1, 6, 5, 1), 0.5, np.float32)
    assert float(style_stats.style_distance(out, style, "mean_std", mask=mask, target_mask=mask)) == pytest.approx(
        float(style_stats.loss(out, style_stats.target(style, "mean_std", mask=mask), mask=mask)), rel=1e-6)
    assert float(style_stats.style_distance(out, style, "sliced_wasserstein", projections=5, seed=2)) == pytest.approx(
        float(style_stats.STATISTICS["sliced_wasserstein"].loss(out, style_stats.target(style, "sliced_wasserstein", projections=5, seed=2))))


def _gradient(name, out, style):
    """d loss / d out as NumPy."""
    prepared = style_stats.target(style, name)
    x = tf.Variable(out)
    with tf.GradientTape() as tape:
        value = style_stats.loss(x, prepared)
    return tape.gradient(value, x).numpy()


@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_finite_even_at_the_target(name):
    out, style = _features(1, (1, 6, 5, 4)), _features(2, (1, 6, 5, 4))
    grad = _gradient(name, out, style)
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0
    assert np.isfinite(_gradient(name, style, style)).all()


def test_degenerate_statistics_have_finite_gradients():
    """Rank-deficient covariances (3 pixels, 8 channels; a dead channel; a flat map, whose covariance is exactly 0, so a
    plain square root's gradient would be 1/0) and a constant channel (standard deviation 0)."""
    few = _features(1, (1, 1, 3, 8))
    dead = _features(2, (1, 6, 5, 4))
    dead[..., 1] = 0.0
    constant = _features(3, (1, 6, 5, 4))
    constant[..., 2] = 0.7
    flat = np.full((1, 6, 5, 4), 0.3, np.float32)
    same = ((few, few), (dead, dead), (constant, constant), (flat, flat))
    other = ((few, _features(4, (1, 1, 3, 8))), (_features(5, (1, 6, 5, 4)), dead), (_features(6, (1, 6, 5, 4)), flat), (flat, dead))
    for k, (out, style) in enumerate(same + other):
        for name in ("mean_cov", "mean_std", "gram"):
            grad = _gradient(name, out, style)
            assert np.isfinite(grad).all(), (name, k)
            if k < len(same):  # at the target: a minimum, so no pull
                assert np.abs(grad).max() < 1e-5, (name, k)


def test_mean_cov_gradient_agrees_with_finite_differences():
    out, style = _features(1, (1, 4, 4, 3)).astype(np.float64), _features(2, (1, 4, 4, 3))
    grad = _gradient("mean_cov", out.astype(np.float32), style)
    step, (i, j, c) = 1e-3, (1, 2, 0)
    plus, minus = out.copy(), out.copy()
    plus[0, i, j, c] += step
    minus[0, i, j, c] -= step
    numeric = (_loss("mean_cov", plus.astype(np.float32), style) - _loss("mean_cov", minus.astype(np.float32), style)) / (2 * step)
    assert grad[0, i, j, c] == pytest.approx(numeric, rel=1e-2, abs=1e-3)


# --------------------------------------------------------------------------------------------------------- refusals


def test_unknown_statistic_gets_did_you_mean():
    refused(Error, "statistic", lambda: style_stats.target(_features(), "gramm"), "Did you mean 'gram'", "mean_cov")
    refused(Error, "statistic", lambda: style_stats.style_distance(_features(), _features(), "sliced"), "sliced_wasserstein")
    assert style_stats.target(_features(), "Mean-Std").statistic == "mean_std"


def test_bad_features_are_refused_by_name():
    refused(Error, "features", lambda: style_stats.target(np.zeros((6, 5, 4), np.float32), "gram"), "[B, H, W, C]")
    refused(Error, "features", lambda: style_stats.target(np.zeros((1, 6, 5, 4), np.int32), "mean_std"), "tf.cast")
    nan = _features()
    nan[0, 1, 1, 1] = np.nan
    refused(Error, "features", lambda: style_stats.target(nan, "mean_cov"), "NaN")
    refused(Error, "features", lambda: style_stats.target(tf.constant(nan), "sliced_wasserstein"), "NaN")
    refused(Error, "features", lambda: style_stats.loss(nan, style_stats.target(_features(), "gram")), "NaN")
    refused(Error, "features", lambda: style_stats.loss(_features(1, (1, 6, 5, 3)), style_stats.target(_features(), "mean_std")), "3 channels")
    refused(Error, "features", lambda: style_stats.target(np.zeros((1, 0, 5, 4), np.float32), "gram"), "no pixels")


def test_bad_targets_are_refused_by_name():
    prepared = style_stats.target(_features(), "gram")
    refused(Error, "target", lambda: style_stats.loss(_features(), losses.gram_matrix(_features())), "not a prepared target")
    refused(Error, "target", lambda: style_stats.STATISTICS["mean_std"].loss(_features(), prepared), "prepared for gram")
    batch3 = style_stats.target(_features(1, (3, 6, 5, 4)), "gram")
    refused(Error, "target", lambda: style_stats.loss(_features(2, (2, 6, 5, 4)), batch3), "batch of 3")


@pytest.mark.parametrize("name", WEIGHTED)
def test_bad_masks_are_refused_by_name(name):
    x = _features()
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=np.full((1, 6, 5, 1), 1.5, np.float32)), "outside [0, 1]")
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=tf.fill((1, 6, 5, 1), -0.5)), "outside [0, 1]")
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=np.zeros((1, 6, 5, 1), np.float32)), "empty region")
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=np.ones((1, 3, 5, 1), np.float32)), "layer_masks")
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=np.ones((1, 6, 5, 2), np.float32)), "2 channels")
    prepared = style_stats.target(x, name)
    refused(Error, "mask", lambda: style_stats.loss(x, prepared, mask=np.full((1, 6, 5, 1), 2.0, np.float32)), "outside [0, 1]")


@pytest.mark.parametrize("name", ["sliced_wasserstein", "mrf"])
def test_masks_are_refused_where_there_is_no_weighted_form(name):
    x, mask = _features(), np.ones((1, 6, 5, 1), np.float32)
    refused(Error, "mask", lambda: style_stats.target(x, name, mask=mask), "no weighted form", "mean_cov")
    refused(Error, "mask", lambda: style_stats.loss(x, style_stats.target(x, name), mask=mask), "no weighted form")


def test_bad_options_are_refused_by_name():
    x = _features()
    refused(Error, "projections", lambda: style_stats.target(x, "sliced_wasserstein", projections=0), ">= 1")
    refused(Error, "projections", lambda: style_stats.target(x, "sliced_wasserstein", projections=2.5))
    refused(Error, "projections", lambda: style_stats.target(x, "sliced_wasserstein", projections="8"), "projections=8")
    refused(Error, "seed", lambda: style_stats.target(x, "sliced_wasserstein", seed=-1))
    refused(Error, "stride", lambda: style_stats.target(x, "mrf", stride=0), "quarter")
    refused(Error, "option", lambda: style_stats.target(x, "sliced_wasserstein", projection=8), "Did you mean 'projections'")
    refused(Error, "projections", lambda: style_stats.target(x, "gram", projections=8), "takes no options")


def test_mrf_refuses_small_maps_and_large_similarity_matrices(monkeypatch):
    refused(Error, "features", lambda: style_stats.target(_features(1, (1, 2, 5, 4)), "mrf"), "smaller than one 3x3 patch")
    prepared = style_stats.target(_features(1, (1, 6, 5, 4)), "mrf")
    monkeypatch.setattr(style_stats, "MRF_MAX_BYTES", 4 * 12 * 12 - 1)
    refused(Error, "features", lambda: style_stats.loss(_features(2, (1, 6, 5, 4)), prepared), "similarity matrix", "stride=2")
    monkeypatch.setattr(style_stats, "MRF_MAX_BYTES", 4 * 12 * 12)
    assert np.isfinite(float(style_stats.loss(_features(2, (1, 6, 5, 4)), prepared)))


@pytest.mark.parametrize("stride", [1, 2])
def test_mrf_matches_finds_a_copied_patch_where_it_was_copied(stride):
    style = _features(3, (1, 9, 11, 4))
    # the output is the style's patch at (4, 6) placed at (1, 2): the match there is (4, 6), whatever the stride keeps
    out = _features(4, (1, 6, 7, 4))
    out[0, 1:4, 2:5] = style[0, 4:7, 6:9]
    where = style_stats.mrf_matches(tf.constant(out), tf.constant(style), stride=stride)
    assert where.shape == (4, 5, 2)
    assert tuple(where[1, 2]) == (4, 6)
    assert np.all(where % stride == 0) and np.all(where[..., 0] <= 6) and np.all(where[..., 1] <= 8)
