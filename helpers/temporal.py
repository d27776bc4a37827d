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
from helpers import optimize, validate
from helpers.video import VideoError, check_frames

#: Ruder et al.'s temporal-loss weight in the course's units: with the TF tutorial's loss weights the objective is of
#: order 1e8-1e9, while the temporal term's mean squared pixel difference (pixels in [0, 1]) is of order 1e-3. On a
#: camera-move clip at 64 px (40 L-BFGS steps a frame), 2e6 changed nothing against the warped start alone, 2e9 cut the
#: warping error by about 3x more, 2e10 brought it down to the input clip's own.
TEMPORAL_WEIGHT = 1e10
#: Share of the warped previous output in a blended frame, where the flow is reliable.
BLEND = 0.5


class TemporalError(validate.ArgumentError, VideoError):
    """A bad flow, mask or setting for flicker: 'NAME = VALUE: why; what to do' (a VideoError, and a ValueError)."""


def _mask(name: str, mask, shape: tuple) -> np.ndarray:
    """A reliability mask of `shape` as bool: True/False, or numbers that are all 0 or 1 (0.5 is not read as True)."""
    arr = mask if isinstance(mask, np.ndarray) and mask.dtype == bool else validate.array(name, mask, error=TemporalError)
    arr = np.asarray(arr)
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise validate.refuse(name, arr, "numbers other than 0 and 1", f"pass True where the flow is reliable ({name} > 0.5 for a threshold)",
                              TemporalError)
    if arr.shape != tuple(shape):
        raise validate.refuse(name, arr, f"shape {list(arr.shape)}, not {list(shape)}", "pass one value per pixel (flow.clip_flows makes them)",
                              TemporalError)
    return arr.astype(bool)


def _flows(flows, masks, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flows [T, H, W, 2] and masks [T, H, W] for `frames` [T, H, W, 3], checked (shape, NaN) and named."""
    flows = validate.array("flows", flows, rank=4, layout="[T, H, W, 2]", error=TemporalError)
    if tuple(np.shape(flows)) != (*frames.shape[:3], 2):
        raise validate.refuse("flows", flows, f"shape {list(np.shape(flows))} for {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} px",
                              f"pass one flow per frame, [{len(frames)}, {frames.shape[1]}, {frames.shape[2]}, 2] (flow.clip_flows)",
                              TemporalError)
    return np.asarray(flows, np.float32), _mask("masks", masks, frames.shape[:3])


def warping_error(frames, flows, masks) -> np.ndarray:
    """E_t for t = 1..T-1 of stylised frames [T, H, W, 3] with backward flows [T, H, W, 2] and masks [T, H, W] -> [T-1]."""
    frames = check_frames(frames)
    flows, masks = _flows(flows, masks, frames)
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
    previous = check_frames([previous], "previous")[0]
    fallback = check_frames([fallback], "fallback")[0]
    if fallback.shape != previous.shape:
        raise validate.refuse("fallback", fallback, f"{fallback.shape[1]}x{fallback.shape[0]} px, previous is "
                              f"{previous.shape[1]}x{previous.shape[0]}", "pass this frame, the same size as the previous output", TemporalError)
    mask = _mask("mask", mask, previous.shape[:2])
    warped, _ = flows_.warp(previous, flow)
    return np.where(mask[..., None], warped, fallback)


def blend_with_previous(frames, flows, masks, alpha: float = BLEND) -> np.ndarray:
    """Blended frames: (1 - alpha) * O_t + alpha * warp(blended O_{t-1}) where the mask holds, O_t elsewhere; [T, H, W, 3]."""
    frames = check_frames(frames)
    alpha = validate.number("alpha", alpha, low=0, high=1, high_open=True, error=TemporalError,
                            todo="pass alpha in [0, 1): 0 keeps every frame as it is, 1 would freeze the first one")
    flows, masks = _flows(flows, masks, frames)
    out = frames.copy()
    for t in range(1, len(frames)):
        warped, _ = flows_.warp(out[t - 1], flows[t])
        mask = masks[t][..., None]
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
    if not callable(stylize):
        raise validate.refuse("stylize", stylize, "not callable", "pass a function of a [1, H, W, 3] image, e.g. a network's stylize", TemporalError)
    frames = check_frames(frames)
    progress = validate.flag("progress", progress, TemporalError)
    out = []
    with _frame_bar(len(frames), desc, progress) as advance:
        for frame in frames:
            out.append(np.asarray(stylize(tf.constant(frame[None])), np.float32)[0])
            advance()
    return check_frames(out, "stylize's output")


def temporal_loss(target, mask, weight: float = TEMPORAL_WEIGHT):
    """Ruder et al.'s temporal loss as a function of the image: weight * sum c (x - target)^2 / D (what terms.Temporal computes).

    The target, mask and weight are checked here, once (TemporalError naming them); the returned function only
    compares the image's static size with the target's.
    """
    target = check_frames([target], "target")[0]
    weight = validate.number("weight", weight, low=0, error=TemporalError,
                             todo=f"pass a weight >= 0 (the course's is TEMPORAL_WEIGHT = {TEMPORAL_WEIGHT:g})")
    mask = _mask("mask", mask, target.shape[:2])
    target = tf.constant(target[None])
    c = tf.constant(mask.astype(np.float32)[None, ..., None])
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

    Returns stylised frames [T, H, W, 3]; extra keyword arguments go to optimize.transfer (e.g. network, style_weight).
    A list passed as `histories` receives each frame's loss history (optimize.TransferResult.history: the style,
    content, tv and, with the temporal loss, 'temporal' terms per recorded step).
    """
    from helpers import terms  # terms imports this module

    frames = check_frames(frames)
    temporal = validate.flag("temporal", temporal, TemporalError)
    progress = validate.flag("progress", progress, TemporalError)
    steps = validate.number("steps", steps, low=1, integer=True, error=TemporalError)
    temporal_weight = validate.number("temporal_weight", temporal_weight, low=0, error=TemporalError)
    if histories is not None and not isinstance(histories, list):
        raise validate.refuse("histories", histories, "not a list", "pass a list (it receives one history per frame), or None", TemporalError)
    if temporal:
        flows, masks = _flows(flows, masks, frames)
    style = style if isinstance(style, tf.Tensor) else tf.constant(np.asarray(style, np.float32))
    out: list[np.ndarray] = []
    with _frame_bar(len(frames), "Ruder et al." if temporal else "independent frames", progress) as advance:
        for t, frame in enumerate(frames):
            content = tf.constant(frame[None])
            init, extra = "content", ()
            if temporal and t > 0:
                previous = warped_previous(out[-1], flows[t], masks[t], frame)
                init = tf.constant(previous[None])
                extra = [terms.Temporal(previous, None, masks[t], temporal_weight)]  # None: the previous output is warped already
            result = optimize.transfer(content, style, steps=int(steps), init=init, terms=extra, progress=False, **transfer_kwargs)
            out.append(np.asarray(result.image, np.float32)[0])
            if histories is not None:
                histories.append(result.history)
            advance()
    return check_frames(out)
