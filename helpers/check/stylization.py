"""Exercise checks for notebook 02 (the TF-Hub arbitrary stylization model): style-vector arithmetic and the style blur.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``interpolate(v1, v2, t)``: two style vectors ``[1, 1, 1, 100]`` and a number 0 <= t <= 1 -> ``(1 - t) v1 + t v2``;
  t outside [0, 1] must raise a ``ValueError`` (helpers.magenta.interpolate does the same).
* ``blend(vectors, weights)``: a list of style vectors and a list of weights -> ``sum_i w_i v_i``; it must raise a
  ``ValueError`` when the weights do not sum to 1 (helpers.magenta.blend does the same).
* ``blur_style(style)``: a style image ``[1, H, W, 3]`` -> the same size, each pixel the mean of its 3x3 neighbourhood
  (``tf.nn.avg_pool`` with stride 1 and SAME padding, as in the TF-Hub colab: at the border only existing pixels count).

While ``interpolate`` and ``blend`` are checked, ``helpers.magenta.interpolate`` and ``helpers.magenta.blend`` are
hidden, and while ``blur_style`` is checked, ``helpers.compare.blur`` and ``helpers.compare.prepare_style``, so an
answer that only calls the course's helper is reported instead of accepted.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import compare as course_compare
from helpers import magenta
from helpers.check._common import NONE, HelperHidden, call, compare, hidden, report

__all__ = ["interpolate", "blend", "blur_style"]


_REF_INTERPOLATE = magenta.interpolate
_REF_BLEND = magenta.blend


def _vectors(n: int, seed: int) -> list[tf.Tensor]:
    """n random style vectors [1, 1, 1, 100] (float32)."""
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.normal(0.0, 1.0, (1, 1, 1, 100)).astype(np.float32)) for _ in range(n)]


def _expect_value_error(fn, args, what: str) -> str | None:
    """None when fn(*args) raises a ValueError; else a sentence saying what happened instead."""
    try:
        fn(*args)
    except HelperHidden as exc:
        return f"{what}: it {exc}"
    except ValueError:
        return None
    except Exception as exc:  # noqa: BLE001 - the student's own error type is reported
        return f"{what}: it raised {type(exc).__name__}; raise a ValueError instead"
    return f"{what}, but no ValueError was raised"


def interpolate(fn) -> bool:
    """Check fn(v1, v2, t) == (1 - t) * v1 + t * v2 for t in [0, 1], and a ValueError for t outside; print ✓ or what differs."""
    name = "interpolate"
    v1, v2 = _vectors(2, seed=0)
    with hidden(magenta, "interpolate", "blend"):
        for t in (0.0, 0.3, 0.5, 1.0):
            got, error = call(fn, v1, v2, t)
            if error:
                return report(name, [f"with t = {t} it {error}"])
            if got is None:
                return report(name, [NONE])
            want = _REF_INTERPOLATE(v1, v2, t)
            problems = compare(got, want, rtol=1e-5, atol=1e-6)
            if problems:
                if not compare(got, _REF_INTERPOLATE(v2, v1, t), rtol=1e-5, atol=1e-6):
                    problems = [f"with t = {t} you return t * v1 + (1 - t) * v2: t = 0 should give v1 and t = 1 give v2"]
                else:
                    problems = [f"with t = {t}: {p}" for p in problems]
                return report(name, problems)
        problems = [p for t in (-0.2, 1.5) if (p := _expect_value_error(fn, (v1, v2, t), f"t = {t} is outside [0, 1]"))]
    return report(name, problems)


def blend(fn) -> bool:
    """Check fn(vectors, weights) == sum_i w_i v_i, and that weights not summing to 1 raise ValueError."""
    name = "blend"
    vs = _vectors(3, seed=1)
    with hidden(magenta, "interpolate", "blend"):
        for weights in ([0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.2, 0.7], [0.7, 0.2, 0.1], [0.6, 0.2, 0.2]):
            got, error = call(fn, vs, weights)
            if error:
                hint = " (allow a small rounding error)" if "ValueError" in error else ""
                return report(name, [f"with weights {weights} (sum {sum(weights)!r}) it {error}{hint}"])
            if got is None:
                return report(name, [NONE])
            want = _REF_BLEND(vs, weights)
            problems = compare(got, want, rtol=1e-5, atol=1e-6)
            if problems:
                return report(name, [f"with weights {weights}: {p}" for p in problems])
        problems = [p for bad in ([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])
                    if (p := _expect_value_error(fn, (vs, bad), f"weights {bad} sum to {sum(bad):g}, not 1"))]
    return report(name, problems)


def blur_style(fn) -> bool:
    """Check fn(style [1, H, W, 3]) is the 3x3 average pool with stride 1 and SAME padding; print ✓ or what differs."""
    name = "blur_style"
    rng = np.random.default_rng(2)
    for shape in ((1, 9, 7, 3), (1, 16, 16, 3)):
        style = tf.constant(rng.random(shape, dtype=np.float32))
        with hidden(course_compare, "blur", "prepare_style"), \
                hidden(tf.nn, "avg_pool", "avg_pool2d", why="the exercise is to compute the 3 x 3 mean from shifted copies"):
            got, error = call(fn, style)
        if error:
            return report(name, [f"for a style of shape {list(shape)} it {error}"])
        if got is None:
            return report(name, [NONE])
        want = tf.nn.avg_pool(style, ksize=[3, 3], strides=[1, 1], padding="SAME")
        problems = compare(got, want, rtol=1e-5, atol=1e-6)
        if problems:
            got_arr = np.asarray(got) if not problems[0].startswith("shape") else None
            if got_arr is not None:
                inner = np.allclose(got_arr[:, 1:-1, 1:-1], want.numpy()[:, 1:-1, 1:-1], atol=1e-5)
                if inner:
                    problems = ["the inside is right but the border differs: average over the pixels that exist, dividing each "
                                "sum by its count of neighbours inside the image (4 at a corner, 6 on an edge, 9 inside), not by 9"]
            elif np.asarray(got).shape[1:3] != shape[1:3]:
                problems = [f"{problems[0]}: keep the size: every pixel, border pixels included, gets the mean of its neighbourhood"]
            return report(name, problems)
    return report(name, [])
