"""Flicker in stylised video, measured and reduced.

Flicker is measured as the *warping error* (Lai et al. 2018): how far each stylised frame is from the previous
stylised frame carried along the optical flow, over the pixels where the flow can be trusted,

    E_t = sum_x M_t(x) |O_t(x) - O_{t-1}(x + w_t(x))|^2 / (3 sum_x M_t(x)),

with O the stylised frames in [0, 1], w_t the backward flow and M_t its reliability mask (helpers.flow).

Two ways to lower it:
- the optimiser (Ruder, Dosovitskiy & Brox 2016): start frame t from the previous result warped by the flow, and add
  their temporal loss  lambda_t * sum_x c(x) (x_t(x) - warped(x))^2 / D  (c the mask, D the number of values);
- a feed-forward network: blend each output with the previous (blended) output warped by the flow, where the flow is
  reliable. One warp per frame; it lowers the error by construction along the flow, and costs sharpness and a
  trail where the flow is wrong, which is why it is masked.
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from helpers import flow as flows_
from helpers import optimize
from helpers.video import check_frames

#: Ruder et al.'s temporal-loss weight in the course's units: with the TF tutorial's loss weights the objective is of
#: order 1e8-1e9, while the temporal term's mean squared pixel difference (pixels in [0, 1]) is of order 1e-3. On a
#: camera-move clip at 64 px (40 L-BFGS steps a frame), 2e6 changed nothing against the warped start alone, 2e9 cut the
#: warping error by about 3x more, 2e10 brought it down to the input clip's own.
TEMPORAL_WEIGHT = 1e10
#: Share of the warped previous output in a blended frame, where the flow is reliable.
BLEND = 0.5


def warping_error(frames, flows, masks) -> np.ndarray:
    """E_t for t = 1..T-1 of stylised frames [T, H, W, 3] with backward flows [T, H, W, 2] and masks [T, H, W] -> [T-1]."""
    frames = check_frames(frames)
    flows, masks = np.asarray(flows, np.float32), np.asarray(masks, bool)
    if flows.shape[:3] != frames.shape[:3] or masks.shape != frames.shape[:3]:
        raise ValueError(f"frames {frames.shape}, flows {flows.shape} and masks {masks.shape} do not describe one clip")
    errors = []
    for t in range(1, len(frames)):
        warped, _ = flows_.warp(frames[t - 1], flows[t])
        mask = masks[t]
        if not mask.any():
            errors.append(float("nan"))  # no reliable pixel: nothing to measure
            continue
        errors.append(float(np.mean(np.square(frames[t] - warped)[mask])))
    return np.asarray(errors)


def warped_previous(previous, flow, mask, fallback) -> np.ndarray:
    """The previous output [H, W, 3] carried to this frame by the flow, with `fallback` [H, W, 3] where the mask is False."""
    warped, _ = flows_.warp(previous, flow)
    return np.where(np.asarray(mask, bool)[..., None], warped, np.asarray(fallback, np.float32))


def blend_with_previous(frames, flows, masks, alpha: float = BLEND) -> np.ndarray:
    """Blended frames: (1 - alpha) * O_t + alpha * warp(blended O_{t-1}) where the mask holds, O_t elsewhere; [T, H, W, 3]."""
    frames = check_frames(frames)
    if not 0.0 <= float(alpha) < 1.0:
        raise ValueError(f"alpha must be in [0, 1): 0 keeps every frame as it is, 1 would freeze the first one; got {alpha}")
    out = frames.copy()
    for t in range(1, len(frames)):
        warped, _ = flows_.warp(out[t - 1], flows[t])
        mask = np.asarray(masks[t], bool)[..., None]
        out[t] = np.where(mask, (1.0 - alpha) * frames[t] + alpha * warped, frames[t])
    return out


@contextlib.contextmanager
def _frame_bar(total: int, desc: str, progress: bool):
    """A progress bar over `total` frames (none if progress is False); yields the function that advances it by one."""
    if not progress:
        yield lambda: None
        return
    from helpers.progress import progress_bar

    bar = progress_bar(total=total, desc=desc, unit="frame")
    try:
        yield lambda: bar.update(1)
    finally:
        bar.close()


def stylize_frames(stylize, frames, progress: bool = True, desc: str = "frames") -> np.ndarray:
    """Apply `stylize` ([1, H, W, 3] tensor -> [1, H, W, 3]) to each frame of [T, H, W, 3] -> stylised [T, H, W, 3]."""
    frames = check_frames(frames)
    out = []
    with _frame_bar(len(frames), desc, progress) as advance:
        for frame in frames:
            out.append(np.asarray(stylize(tf.constant(frame[None])), np.float32)[0])
            advance()
    return check_frames(out)


def temporal_loss(target, mask, weight: float = TEMPORAL_WEIGHT):
    """Ruder et al.'s temporal loss as a function of the image: weight * sum c (x - target)^2 / D, for optimize.transfer(extra_loss=)."""
    target = tf.constant(np.asarray(target, np.float32)[None])
    c = tf.constant(np.asarray(mask, np.float32)[None, ..., None])
    count = float(np.prod(target.shape))

    def loss(image):
        if tuple(image.shape[1:3]) != tuple(target.shape[1:3]):
            raise ValueError(f"temporal loss: the image is {tuple(image.shape[1:3])} but the warped previous frame is "
                             f"{tuple(target.shape[1:3])}; run the optimiser at one scale for video")
        return float(weight) * tf.reduce_sum(c * tf.square(image - target)) / count

    return loss


def stylize_optimizer(frames, style, flows, masks, *, temporal: bool = True, temporal_weight: float = TEMPORAL_WEIGHT,
                      steps: int = 30, progress: bool = True, histories: list | None = None, **transfer_kwargs) -> np.ndarray:
    """Stylise each frame with optimize.transfer: independently (temporal=False: each starts from its own frame), or as
    Ruder et al. (temporal=True: each starts from the previous result warped by the flow and adds their temporal loss).

    Returns stylised frames [T, H, W, 3]; extra keyword arguments go to optimize.transfer (e.g. weights, precision).
    A list passed as `histories` receives each frame's loss history (optimize.TransferResult.history: the style,
    content and, with the temporal loss, 'extra' terms per recorded step).
    """
    frames = check_frames(frames)
    style = style if isinstance(style, tf.Tensor) else tf.constant(np.asarray(style, np.float32))
    out: list[np.ndarray] = []
    with _frame_bar(len(frames), "Ruder et al." if temporal else "independent frames", progress) as advance:
        for t, frame in enumerate(frames):
            content = tf.constant(frame[None])
            init, extra = "content", None
            if temporal and t > 0:
                previous = warped_previous(out[-1], flows[t], masks[t], frame)
                init = tf.constant(previous[None])
                extra = temporal_loss(previous, masks[t], temporal_weight)
            result = optimize.transfer(content, style, steps=int(steps), init=init, extra_loss=extra, progress=False,
                                       max_dim=None, **transfer_kwargs)
            out.append(np.asarray(result.image, np.float32)[0])
            if histories is not None:
                histories.append(result.history)
            advance()
    return check_frames(out)
