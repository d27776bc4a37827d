"""Exercise checks for notebook 01 (the theory): gram_matrix, content_loss and style_loss from the equations.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``gram_matrix(features)``: features ``[1, H, W, C]`` -> ``[1, C, C]``, G_cd = sum_yx F_yxc F_yxd / (H*W),
  the TF tutorial's form (helpers.losses.gram_matrix).
* ``content_loss(features, target_features)``: two ``[1, H, W, C]`` feature maps of one layer -> a scalar,
  the paper's L_content = 1/2 sum (F - P)^2 (helpers.losses.content_loss with form="paper").
* ``style_loss(features, target_features)``: two ``[1, H, W, C]`` feature maps of one layer (same shape) -> a scalar,
  the paper's E_l = 1/(4 N^2 M^2) sum (G - A)^2 with *unnormalised* Gram matrices G and A, N = C and M = H*W
  (helpers.losses.style_layer_loss of the normalised Grams with form="paper").

Each check calls the function on random inputs of a few shapes, prints ✓ or what differs, and returns True/False.
While the student's function runs, the course's own versions (``helpers.losses.gram_matrix``, ``content_loss``,
``style_layer_loss``, ``style_loss``, ``style_content_loss``, ``helpers.vgg.gram_matrix`` and the model answers in
``helpers.check.solutions_theory``) are hidden, so an answer that only calls one of them is reported, not accepted.
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from helpers import losses, vgg
from helpers.check import solutions_theory
from helpers.check._common import call, compare, hidden, report, scalar

__all__ = ["gram_matrix", "content_loss", "style_loss"]

#: Feature shapes [1, H, W, C] the checks use: H != W and H*W != C, so a wrong axis or factor shows.
SHAPES = [(1, 6, 5, 4), (1, 4, 7, 3), (1, 3, 3, 8)]


@contextlib.contextmanager
def _course_hidden():
    """Hide the course's Gram matrix and losses (and the model answers) while the student's function runs."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(hidden(losses, "gram_matrix", "content_loss", "style_layer_loss", "style_loss", "style_content_loss"))
        stack.enter_context(hidden(vgg, "gram_matrix"))
        stack.enter_context(hidden(solutions_theory, *solutions_theory.__all__))
        yield


def _run(fn, *args):
    """The student's fn(*args) with the course's versions hidden: (result, None) or (None, what went wrong)."""
    with _course_hidden():
        return call(fn, *args)


def _features(shape, seed: int) -> tf.Tensor:
    """Random non-negative features (as after a ReLU) of `shape`, float32."""
    rng = np.random.default_rng(seed)
    return tf.constant(np.maximum(rng.normal(0.2, 1.0, size=shape), 0.0).astype(np.float32))


def _as_array(value):
    """The student's result as a float64 array, or None when it cannot be converted."""
    try:
        return np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a wrong return type is reported by compare()
        return None


def _scale_hint(got, want, factors: dict) -> str | None:
    """If got == k * want for one of the named factors k, return its explanation."""
    got, want = _as_array(got), np.asarray(want, dtype=np.float64)
    if got is None or got.size != want.size:
        return None
    got, want = got.reshape(-1), want.reshape(-1)
    denom = float(np.sum(want * want))
    if denom == 0.0:
        return None
    ratio = float(np.sum(got * want) / denom)
    if not np.allclose(got, ratio * want, rtol=1e-3, atol=1e-9):
        return None
    for factor, message in factors.items():
        if np.isclose(ratio, factor, rtol=1e-3):
            return message
    return None


def _scalar(value):
    """Accept a scalar, or an array with a single value; return (float, None) or (None, problem)."""
    return scalar(value, "sum over every axis, e.g. tf.reduce_sum")


def gram_matrix(fn) -> bool:
    """Check fn(features [1, H, W, C]) -> [1, C, C] equals sum_yx F_yxc F_yxd / (H*W); print ✓ or what differs."""
    name = "gram_matrix"
    for k, shape in enumerate(SHAPES):
        _, height, width, channels = shape
        x = _features(shape, seed=k)
        want = losses.gram_matrix(x).numpy()
        got, error = _run(fn, x)
        if error:
            return report(name, [f"for input of shape {list(shape)} it {error}"])
        arr = _as_array(got)
        square = arr is not None and arr.ndim == 3 and arr.shape[-1] == arr.shape[-2]
        if square and not np.allclose(arr, np.swapaxes(arr, -1, -2), rtol=1e-4, atol=1e-6):
            return report(name, [f"for input of shape {list(shape)} the result is not symmetric: G[0, c, d] must equal G[0, d, c] "
                                 "(both factors must run over the same locations y, x)"])
        problems = compare(got, want)
        if not problems:
            continue
        locations = height * width
        hint = _scale_hint(got, want, {
            float(locations): f"yours is {locations} x the reference = H*W for this input: divide by the number of locations H*W",
            1.0 / channels: f"yours is 1/{channels} x the reference: divide by H*W, not by H*W*C",
            float(locations) / channels: f"yours is {locations}/{channels} x the reference: divide by H*W (the locations), not by C (the channels)",
            float(locations) / height: "you divided by H only; divide by H*W",
            float(locations) / width: "you divided by W only; divide by H*W",
        })
        mixed = tf.reshape(x, [channels, locations])  # the classic slip: reshape without moving C first
        mixed_gram = (tf.matmul(mixed, mixed, transpose_b=True)[None] / locations).numpy()
        if arr is not None and arr.shape == want.shape and np.allclose(arr, mixed_gram, rtol=1e-4):
            hint = "reshaping [1, H, W, C] straight to [C, H*W] mixes locations and channels: reshape to [H*W, C] and use F^T F"
        if arr is not None and arr.shape == (channels, channels):
            hint = "the batch axis is missing: return [1, C, C] (keep the leading 1, e.g. einsum 'byxc,byxd->bcd')"
        elif arr is not None and arr.ndim == 3 and arr.shape[1:] == (locations, locations):
            hint = "you multiplied over channels instead of locations: that is [1, H*W, H*W], the Gram needs [1, C, C] (sum over the locations y, x)"
        elif arr is not None and arr.shape[1:] in ((height, width), (height, height), (width, width)):
            hint = "the sum runs over the wrong axes: sum over the locations y, x and keep the two channel indices c, d"
        return report(name, [f"for input of shape {list(shape)} (H={height}, W={width}, C={channels}): " + problems[0]]
                      + ([hint] if hint else []))
    return report(name, [])


def content_loss(fn) -> bool:
    """Check fn(features, target_features), both [1, H, W, C], returns 1/2 sum (F - P)^2; print ✓ or what differs."""
    name = "content_loss"
    for k, shape in enumerate(SHAPES):
        f, p = _features(shape, seed=10 + k), _features(shape, seed=20 + k)
        want = float(losses.content_loss(f, p, form="paper"))
        got, error = _run(fn, f, p)
        if error:
            return report(name, [f"for inputs of shape {list(shape)} it {error}"])
        value, problem = _scalar(got)
        if problem:
            return report(name, [problem])
        if np.isclose(value, want, rtol=1e-4, atol=1e-6):
            continue
        size = int(np.prod(shape))
        hint = _scale_hint(value, want, {
            2.0: "yours is 2 x the reference: the factor 1/2 is missing",
            1.0 / size: "yours is a mean; the paper's loss is a sum (with the factor 1/2)",
            2.0 / size: "yours is the mean squared error; the paper's loss is 1/2 times the sum",
            0.5: "yours is half the reference: 1/2 was applied twice?",
        })
        if hint is None and np.isclose(value, 0.5 * float(np.sum(np.abs(f.numpy() - p.numpy()))), rtol=1e-4):
            hint = "the differences must be squared, not taken in absolute value"
        if hint is None and np.isclose(value, 0.5 * float(np.sum(f.numpy() - p.numpy())), rtol=1e-4):
            hint = "the differences must be squared before summing"
        return report(name, [f"for inputs of shape {list(shape)}: got {value:.6g}, expected {want:.6g}"] + ([hint] if hint else []))
    same, error = _run(fn, f, f)
    if error:
        return report(name, [f"with identical inputs it {error}"])
    value, problem = _scalar(same)
    if problem or not np.isclose(value, 0.0, atol=1e-6):
        return report(name, [problem or f"the loss of an image against itself must be 0, got {value:.6g}"])
    return report(name, [])


def style_loss(fn) -> bool:
    """Check fn(features, target_features), both [1, H, W, C], returns E_l = sum (G - A)^2 / (4 N^2 M^2); print ✓ or what differs."""
    name = "style_loss"
    for k, shape in enumerate(SHAPES):
        _, height, width, channels = shape
        f, p = _features(shape, seed=30 + k), _features(shape, seed=40 + k)
        want = float(losses.style_layer_loss(losses.gram_matrix(f), losses.gram_matrix(p), form="paper"))
        got, error = _run(fn, f, p)
        if error:
            return report(name, [f"for inputs of shape {list(shape)} it {error}"])
        value, problem = _scalar(got)
        if problem:
            return report(name, [problem])
        if np.isclose(value, want, rtol=1e-4, atol=1e-9):
            continue
        m, n = height * width, channels
        hint = _scale_hint(value, want, {
            float(m * m): f"yours is M^2 = {m * m} x the reference: with unnormalised Gram matrices divide by 4 N^2 M^2 (M = H*W = {m})",
            1.0 / (m * m): f"yours is 1/M^2 = 1/{m * m} x the reference: Gram matrices already divided by M (as gram_matrix "
                           "returns them) must not be divided by M^2 again",
            4.0: "yours is 4 x the reference: the factor 1/4 is missing (a plain mean over the N x N entries of normalised Grams gives this too)",
            float(n * n): f"yours is N^2 = {n * n} x the reference: divide by N^2 (N = C = {n}, the number of channels)",
            4.0 * n * n: "yours is 4 N^2 x the reference: with normalised Gram matrices E_l = sum (G - A)^2 / (4 N^2)",
            4.0 * n * n * m * m: "yours is the plain sum of squared differences of unnormalised Grams: divide by 4 N^2 M^2",
            float(n * n) / (m * m): "the roles of N (channels) and M (locations H*W) look swapped",
            float(m * m) / (n * n): "the roles of N (channels) and M (locations H*W) look swapped",
            float(m): f"yours is M = {m} x the reference: divide by M^2, not M",
            1.0 / m: f"yours is 1/M = 1/{m} x the reference: check the power of M",
            0.25: "yours is 1/4 of the reference: the 1/4 was applied twice?",
        })
        return report(name, [f"for inputs of shape {list(shape)} (N = C = {n}, M = H*W = {m}): got {value:.6g}, expected {want:.6g}"]
                      + ([hint] if hint else []))
    same, error = _run(fn, f, f)
    if error:
        return report(name, [f"with identical inputs it {error}"])
    value, problem = _scalar(same)
    if problem or not np.isclose(value, 0.0, atol=1e-9):
        return report(name, [problem or f"the style loss of an image against itself must be 0, got {value:.6g}"])
    return report(name, [])
