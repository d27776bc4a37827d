"""Exercise checks for notebook 04 (comparing the Hub model and the hand-built optimiser).

While the student's function runs, ``compare.histogram_distance`` and ``compare.color_histograms`` are hidden, so an
answer that only calls the course's version is reported instead of accepted.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import compare as course
from helpers.check._common import call, compare, constant_factor, hidden, report

_REFERENCE = course.histogram_distance

__all__ = ["histogram_distance"]


def _cases(seed: int = 4):
    """Pairs of [1, H, W, 3] test images in [0, 1]: random, shifted, flat, and different sizes."""
    rng = np.random.default_rng(seed)
    noise = rng.random((1, 24, 32, 3), dtype=np.float32)
    darker = np.clip(noise * 0.6, 0, 1).astype(np.float32)
    flat_black = np.zeros((1, 16, 16, 3), np.float32)
    flat_white = np.ones((1, 20, 12, 3), np.float32)
    gradient = np.broadcast_to(np.linspace(0, 1, 40, dtype=np.float32)[None, None, :, None], (1, 30, 40, 3)).copy()
    return [
        ("random vs a darker copy", noise, darker),
        ("black vs white", flat_black, flat_white),
        ("gradient vs random (different sizes)", gradient, noise),
        ("random vs a shuffled copy", noise, rng.permutation(noise.reshape(-1, 3)).reshape(noise.shape)),
    ]


def _without_cumulative_sums(bins: int) -> list[float]:
    """The typical mistake's values on _cases(): the mean over R, G, B of (1/B) sum_k |h_x(k) - h_s(k)|, without the cumulative sums."""
    edges = np.linspace(0, 1, bins + 1)
    values = []
    for _, a, b in _cases():
        per_channel = []
        for ch in range(3):
            ha = np.histogram(a[..., ch].ravel(), bins=edges)[0] / a[..., ch].size
            hb = np.histogram(b[..., ch].ravel(), bins=edges)[0] / b[..., ch].size
            per_channel.append(np.abs(ha - hb).sum() / bins)
        values.append(float(np.mean(per_channel)))
    return values


def histogram_distance(fn, bins: int = 64) -> bool:
    """Check fn(image, other, bins) -> float: mean over R, G, B of the earth mover's distance between colour histograms."""
    problems, pairs = [], []
    for label, a, b in _cases():
        with hidden(course, "histogram_distance", "color_histograms"):
            got, error = call(fn, tf.constant(a), tf.constant(b), bins)
        if error:
            problems.append(f"{label}: {error}")
            break
        try:
            got_value = float(np.asarray(got))
        except (TypeError, ValueError):
            problems.append(f"{label}: returned {type(got).__name__}, expected one number")
            break
        want = _REFERENCE(a, b, bins)
        pairs.append((got_value, want))
        for problem in compare(got_value, want, rtol=1e-4, atol=1e-6):
            problems.append(f"{label}: {problem} (yours {got_value:.6g}, reference {want:.6g})")
    factor = constant_factor(pairs) if problems else None
    no_cumsum = _without_cumulative_sums(bins)
    if problems and len(pairs) == len(no_cumsum) and all(abs(g - w) <= 1e-4 * max(1.0, abs(w)) for (g, _), w in zip(pairs, no_cumsum)):
        problems.append("these are the values of the histograms compared bin by bin: take the cumulative sums C(k) first "
                        "(black against white must give a value near 1, the whole intensity range)")
    elif factor is not None:
        problems.append(f"on every input yours is {factor:.6g} x the reference: check the normalisation (bin width, or a sum "
                        "where the mean over R, G, B belongs)")
    if not problems:
        a, b = _cases()[0][1:]
        with hidden(course, "histogram_distance", "color_histograms"):
            same, error = call(fn, tf.constant(a), tf.constant(a), bins)
        if error or abs(float(np.asarray(same))) > 1e-9:
            problems.append(f"an image compared with itself should give 0, got {error or float(np.asarray(same))}")
        with hidden(course, "histogram_distance", "color_histograms"):
            forward, back = call(fn, tf.constant(a), tf.constant(b), bins)[0], call(fn, tf.constant(b), tf.constant(a), bins)[0]
        if forward is not None and back is not None and abs(float(np.asarray(forward)) - float(np.asarray(back))) > 1e-9:
            problems.append("the distance is not symmetric: d(a, b) != d(b, a)")
    return report("histogram_distance", problems)
