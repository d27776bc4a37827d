"""Exercise checks for notebook 08 (video): the warping error of one frame, and one blended frame.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``frame_warping_error(frame, warped_previous, mask)``: ``frame`` and ``warped_previous`` ``[H, W, 3]`` in [0, 1],
  ``mask [H, W]`` (True where the flow is reliable) -> one number, the mean of the squared differences over the
  reliable pixels and the three channels (one term E_t of helpers.temporal.warping_error).
* ``blend_frame(frame, warped_previous, mask, alpha)``: ``(1 - alpha) * frame + alpha * warped_previous`` where the
  mask is True, ``frame`` elsewhere (one step of helpers.temporal.blend_with_previous).

While a check runs, helpers.temporal's ``warping_error`` and ``blend_with_previous`` are hidden, so an answer that
only calls them is reported instead of accepted.
"""

from __future__ import annotations

import numpy as np

from helpers.check._common import NONE, call, compare, constant_factor, hidden, report

__all__ = ["frame_warping_error", "blend_frame"]


def _inputs(seed: int):
    """A random frame, a warped previous frame near it, and a mask with about a third of the pixels unreliable."""
    rng = np.random.default_rng(seed)
    frame = rng.uniform(0, 1, (12, 10, 3)).astype(np.float32)
    warped = np.clip(frame + rng.normal(0, 0.1, frame.shape), 0, 1).astype(np.float32)
    mask = rng.uniform(0, 1, (12, 10)) > 0.35
    warped[~mask] = 1.0 - warped[~mask]  # unreliable pixels differ a lot: an answer that ignores the mask shows it
    return frame, warped, mask


def _reference_error(frame, warped, mask) -> float:
    """Mean squared difference over the reliable pixels and the channels."""
    return float(np.mean(np.square(frame - warped)[mask]))


def frame_warping_error(fn) -> bool:
    """Check fn(frame, warped_previous, mask) -> the mean squared difference over reliable pixels and channels."""
    from helpers import temporal

    cases = [_inputs(seed) for seed in range(3)]
    wants = [_reference_error(*case) for case in cases]
    pairs, problems = [], []
    with hidden(temporal, "warping_error", "blend_with_previous"):
        for (frame, warped, mask), want in zip(cases, wants):
            got, error = call(fn, frame, warped, mask)
            if error:
                return report("frame_warping_error", [f"it {error}"])
            if got is None:
                return report("frame_warping_error", [NONE])
            if np.size(got) != 1:
                return report("frame_warping_error", [f"returned shape {np.shape(got)}; return one number (a mean)"])
            pairs.append((float(np.asarray(got).reshape(())), want))
    for got, want in pairs:
        problems = compare(got, want, rtol=1e-4)
        if problems:
            break
    if problems:
        frame, warped, mask = cases[0]
        got = pairs[0][0]
        diff = frame - warped
        hints = {
            "the mask is ignored: average only over the pixels where mask is True": float(np.mean(np.square(diff))),
            "this is the mean absolute difference: square the differences instead": float(np.mean(np.abs(diff)[mask])),
            "this is the root of the mean square: leave out the square root": float(np.sqrt(np.mean(np.square(diff)[mask]))),
            "you zeroed the unreliable pixels but divided by all of them: average over the reliable pixels' values only "
            "(index with the mask before taking the mean)": float(np.mean(np.square(diff) * mask[..., None])),
        }
        named = [hint for hint, value in hints.items() if np.isclose(got, value, rtol=1e-4)]
        factor = constant_factor(pairs)
        if named:
            problems = named
        elif factor is not None and np.isclose(factor, 3.0, rtol=1e-3):
            problems = ["three times the reference: you summed over the channels; average over them too"]
        elif factor is not None:
            problems = [f"right up to a constant factor ({factor:.4g}): check what you divide by"]
    return report("frame_warping_error", problems)


def blend_frame(fn) -> bool:
    """Check fn(frame, warped_previous, mask, alpha) -> the blended frame [H, W, 3]."""
    from helpers import temporal

    problems = []
    with hidden(temporal, "warping_error", "blend_with_previous"):
        for seed, alpha in ((0, 0.5), (1, 0.3), (2, 0.8)):
            frame, warped, mask = _inputs(seed)
            want = np.where(mask[..., None], (1 - alpha) * frame + alpha * warped, frame)
            got, error = call(fn, frame, warped, mask, alpha)
            if error:
                return report("blend_frame", [f"it {error}"])
            if got is None:
                return report("blend_frame", [NONE])
            problems = compare(got, want, rtol=1e-4, atol=1e-5)
            if problems and np.shape(got) == want.shape:
                got = np.asarray(got, np.float64)
                swapped = alpha * frame + (1 - alpha) * warped
                if np.allclose(got, (1 - alpha) * frame + alpha * warped, atol=1e-5):
                    problems = ["the mask is ignored: where it is False (the flow is unreliable) keep the frame as it is"]
                elif np.allclose(got, swapped, atol=1e-5) or np.allclose(got, np.where(mask[..., None], swapped, frame), atol=1e-5):
                    problems = ["alpha is the share of the warped previous frame: (1 - alpha) * frame + alpha * warped_previous"]
            if problems:
                break
    return report("blend_frame", problems)
