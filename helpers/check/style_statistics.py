"""Exercise checks for notebook 07 (what is style?): the mean-and-std loss, and one projection of the sliced
Wasserstein loss.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``mean_std_loss(features, target_features)``: two ``[1, H, W, C]`` feature maps (sizes may differ) -> a scalar,
  mean_c (mu_c - mu'_c)^2 + mean_c (s_c - s'_c)^2, with each channel's mean mu_c and standard deviation
  s_c = sqrt(var_c + 1e-5) over every location, var_c the population variance (divided by H*W, not H*W - 1):
  helpers.style_stats.mean_std_loss.
* ``sliced_projection(features, target_features, direction)``: two ``[1, H, W, C]`` feature maps of the same size and
  a unit vector ``[C]`` -> a scalar: every pixel's feature vector projected on the direction (a dot product), each
  image's H*W projections sorted, and the mean squared difference of the two sorted lists: helpers.style_stats'
  sliced_wasserstein_loss with that one direction.

Each check calls the function on random inputs of a few shapes, prints ✓ or what differs, and returns True/False.
While the student's function runs, the course's style statistics (``helpers.style_stats``) and the model answers in
``helpers.check.solutions_style_statistics`` are hidden, so an answer that only calls them is reported, not accepted.
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from helpers import style_stats
from helpers.check import solutions_style_statistics
from helpers.check._common import call, hidden, report, scalar

__all__ = ["mean_std_loss", "sliced_projection"]

#: (output shape, target shape): channels differ from H and W, H != W, and the target's size differs from the output's.
MEAN_STD_SHAPES = [((1, 6, 5, 4), (1, 7, 3, 4)), ((1, 4, 7, 3), (1, 4, 7, 3)), ((1, 3, 3, 8), (1, 5, 6, 8))]
#: Shapes for one projection (both images the same size, as the exercise says).
PROJECTION_SHAPES = [(1, 6, 5, 4), (1, 4, 7, 3), (1, 3, 3, 8)]
_HIDDEN_STATS = ("gram_loss", "mean_std_target", "mean_std_loss", "mean_cov_loss", "sliced_wasserstein_target", "sliced_wasserstein_loss",
                 "target", "loss", "style_distance")


@contextlib.contextmanager
def _course_hidden():
    """Hide the course's style statistics and the model answers while the student's function runs."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(hidden(style_stats, *_HIDDEN_STATS))
        stack.enter_context(hidden(solutions_style_statistics, *solutions_style_statistics.__all__))
        yield


def _run(fn, *args):
    """The student's fn(*args) with the course's versions hidden: (result, None) or (None, what went wrong)."""
    with _course_hidden():
        return call(fn, *args)


def _features(shape, seed: int, shift: float = 0.0) -> tf.Tensor:
    """Random non-negative features (as after a ReLU), float32, with channels of different means and spreads."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, size=shape[-1])
    return tf.constant(np.maximum(rng.normal(0.3 + shift, 1.0, size=shape) * scale, 0.0).astype(np.float32))


def _scalar(value):
    """(float, None) for a single number, else (None, the problem)."""
    return scalar(value, "average over the channels, e.g. tf.reduce_mean")


def _moments(x: np.ndarray, ddof: int = 0):
    """Each channel's mean and variance over every location of [1, H, W, C], float64."""
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    return flat.mean(axis=0), flat.var(axis=0, ddof=ddof)


def _mean_std_variants(f: np.ndarray, t: np.ndarray) -> dict:
    """The usual slips, each as the value it gives, with what to say about it."""
    (mf, vf), (mt, vt) = _moments(f), _moments(t)
    (_, vf1), (_, vt1) = _moments(f, 1), _moments(t, 1)
    sf, st = np.sqrt(vf + style_stats.STD_EPSILON), np.sqrt(vt + style_stats.STD_EPSILON)
    mean_part, std_part = np.mean((mf - mt) ** 2), np.mean((sf - st) ** 2)
    c = f.shape[-1]
    return {
        "only the means": (mean_part, "this is only the means' part: add mean_c (s_c - s'_c)^2, the standard deviations' part"),
        "only the stds": (std_part, "this is only the standard deviations' part: add mean_c (mu_c - mu'_c)^2, the means' part"),
        "variance": (mean_part + np.mean((vf - vt) ** 2),
                     "you compared variances; compare standard deviations s_c = sqrt(var_c + 1e-5)"),
        "ddof": (mean_part + np.mean((np.sqrt(vf1 + style_stats.STD_EPSILON) - np.sqrt(vt1 + style_stats.STD_EPSILON)) ** 2),
                 "your variance divides by H*W - 1 (the sample variance); use the population variance, divided by H*W "
                 "(np.var's default, tf.nn.moments)"),
        "sum": (c * (mean_part + std_part), f"yours is C = {c} x the reference: average over the channels (reduce_mean), do not sum"),
        "one mean": (np.mean(np.concatenate([(mf - mt) ** 2, (sf - st) ** 2])),
                     "yours is half the reference: the loss is the mean over channels of the means' part PLUS that of the "
                     "standard deviations' part, not one mean over both"),
        "no square": (np.mean(np.abs(mf - mt)) + np.mean(np.abs(sf - st)), "square the differences instead of taking their absolute value"),
        "pooled": ((f.mean() - t.mean()) ** 2 + (np.sqrt(f.var() + style_stats.STD_EPSILON) - np.sqrt(t.var() + style_stats.STD_EPSILON)) ** 2,
                   "you took one mean and one spread over all the channels together; take them per channel (over axes 0, 1 "
                   "and 2, e.g. tf.nn.moments(f, axes=[0, 1, 2])), then average the squared differences over the channels"),
    }


def mean_std_loss(fn) -> bool:
    """Check fn(features, target_features) -> mean_c (mu_c - mu'_c)^2 + mean_c (s_c - s'_c)^2; print ✓ or what differs."""
    name = "mean_std_loss"
    for k, (shape, target_shape) in enumerate(MEAN_STD_SHAPES):
        f, t = _features(shape, 10 + k), _features(target_shape, 20 + k, shift=0.4)
        want = float(style_stats.style_distance(f, t, "mean_std"))
        got, error = _run(fn, f, t)
        if error:
            return report(name, [f"for inputs of shapes {list(shape)} and {list(target_shape)} it {error}"])
        value, problem = _scalar(got)
        if problem:
            return report(name, [problem])
        if np.isclose(value, want, rtol=1e-4, atol=1e-7):
            continue
        hints = [why for slip, why in _mean_std_variants(f.numpy(), t.numpy()).values() if np.isclose(value, slip, rtol=1e-4, atol=1e-9)]
        return report(name, [f"for inputs of shapes {list(shape)} and {list(target_shape)} (C = {shape[-1]}): got {value:.6g}, "
                             f"expected {want:.6g}"] + hints[:1])
    # a flat map (every channel constant) against one of tiny spread: here the 1e-5 under the square root decides the value
    flat = tf.fill((1, 5, 6, 3), 0.5)
    tiny = flat + tf.constant(np.random.default_rng(50).normal(0.0, 1e-3, (1, 5, 6, 3)).astype(np.float32))
    want = float(style_stats.style_distance(flat, tiny, "mean_std"))
    got, error = _run(fn, flat, tiny)
    value, problem = (None, f"for a flat map it {error}") if error else _scalar(got)
    if problem:
        return report(name, [problem])
    if not np.isclose(value, want, rtol=1e-3, atol=1e-10):
        return report(name, [f"for a flat map (no spread) against one of tiny spread: got {value:.6g}, expected {want:.6g}; "
                             "take each standard deviation as sqrt(variance + 1e-5), so that a flat channel has a gradient"])
    same, error = _run(fn, f, f)
    if error:
        return report(name, [f"with identical inputs it {error}"])
    value, problem = _scalar(same)
    if problem or not np.isclose(value, 0.0, atol=1e-9):
        return report(name, [problem or f"the loss of a map against itself must be 0, got {value:.6g}"])
    return report(name, [])


def _direction(channels: int, seed: int) -> np.ndarray:
    """The unit direction the course's sliced Wasserstein loss draws with `seed` for one projection, [C] float32."""
    d = np.random.default_rng(seed).standard_normal((channels, 1))
    return (d / np.linalg.norm(d, axis=0, keepdims=True))[:, 0].astype(np.float32)


def sliced_projection(fn) -> bool:
    """Check fn(features, target_features, direction) -> mean (sorted projections - the target's)^2; print ✓ or what differs."""
    name = "sliced_projection"
    for k, shape in enumerate(PROJECTION_SHAPES):
        f, t = _features(shape, 30 + k), _features(shape, 40 + k, shift=0.4)
        direction = _direction(shape[-1], k)
        prepared = style_stats.target(t, "sliced_wasserstein", projections=1, seed=k)
        want = float(style_stats.loss(f, prepared))
        got, error = _run(fn, f, t, tf.constant(direction))
        if error:
            return report(name, [f"for inputs of shape {list(shape)} it {error}"])
        value, problem = _scalar(got)
        if problem:
            return report(name, [problem])
        if np.isclose(value, want, rtol=1e-4, atol=1e-7):
            continue
        a = f.numpy().reshape(-1, shape[-1]) @ direction
        b = t.numpy().reshape(-1, shape[-1]) @ direction
        slips = {
            "unsorted": (np.mean((a - b) ** 2), "you compared the pixels in their places: sort each image's projections along the pixel "
                                                "axis first (tf.sort sorts along the last axis; of an [H*W, 1] array that sorts nothing: "
                                                "flatten to [H*W] or pass axis=0). The distance between two distributions pairs the "
                                                "smallest with the smallest, ..."),
            "rows": (np.mean((np.sort(a.reshape(shape[1], shape[2]), axis=-1) - np.sort(b.reshape(shape[1], shape[2]), axis=-1)) ** 2),
                     "you sorted each row of the [H, W] map on its own: sort along the pixel axis, all H*W projections as one list"),
            "reversed": (np.mean((np.sort(a) - np.sort(b)[::-1]) ** 2), "one list is sorted the other way round: sort both ascending"),
            "sum": (np.sum((np.sort(a) - np.sort(b)) ** 2), f"yours is H*W = {a.size} x the reference: take the mean over the pixels, not the sum"),
            "channels": (np.mean((np.sort(f.numpy().reshape(-1)) - np.sort(t.numpy().reshape(-1))) ** 2),
                         "you sorted all the numbers of the map; project each pixel's feature vector on the direction first (a dot product over C)"),
            "no square": (np.mean(np.abs(np.sort(a) - np.sort(b))), "square the differences of the sorted projections"),
        }
        hints = [why for slip, why in slips.values() if np.isclose(value, slip, rtol=1e-4, atol=1e-9)]
        return report(name, [f"for inputs of shape {list(shape)}: got {value:.6g}, expected {want:.6g}"] + hints[:1])
    return report(name, [])
