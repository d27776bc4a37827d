"""Optical flow between video frames: warping by a flow, estimating one (OpenCV's DIS), and where it can be trusted.

Convention: the *backward* flow of frame t, `flow[t]` [H, W, 2] (dx, dy in pixels), points from each pixel x of frame t
to where the same point of the scene was in frame t-1, so `warp(frame[t-1], flow[t])` is frame t, wherever that point
was visible in frame t-1. `flow[0]` is zero and unused.
"""

from __future__ import annotations

import numpy as np

from helpers import validate
from helpers.video import TOLERANCE, VideoError, check_frames

#: Sundaram, Brox & Keutzer (2010)'s forward-backward test, as Ruder et al. (2016) use it: a pixel is reliable when
#: |w_b + w_f(x + w_b)|^2 <= CONSISTENCY_RATIO * (|w_b|^2 + |w_f(x + w_b)|^2) + CONSISTENCY_SLACK (pixels^2).
CONSISTENCY_RATIO = 0.01
CONSISTENCY_SLACK = 0.5
#: The smallest side DIS works on: OpenCV's DIS (medium preset) refuses frames under 12 px and crashes the process on
#: some thinner ones (12 x 40 px, 15 x 64 px), so frames under 16 px are refused before they reach it.
DIS_MIN_SIDE = 16


class FlowError(validate.ArgumentError, VideoError):
    """A bad frame or flow: 'NAME = VALUE: why; what to do' (a VideoError, and a ValueError)."""


def _cv2():
    """OpenCV, with a clear message when it is missing."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - installed by requirements.txt
        raise ImportError("optical flow needs OpenCV: pip install opencv-python-headless (see requirements.txt)") from exc
    return cv2


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y) of an H x W frame, float32."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def check_flow(flow, height: int, width: int, name: str = "flow") -> np.ndarray:
    """A flow as float32 [H, W, 2], or FlowError naming `name` and what is wrong (shape, dtype, NaN)."""
    height = validate.number("height", height, low=1, integer=True, error=FlowError)
    width = validate.number("width", width, low=1, integer=True, error=FlowError)
    flow = validate.array(name, flow, rank=3, layout=f"[{height}, {width}, 2] (dx, dy per pixel)", error=FlowError)
    shape = tuple(flow.shape)
    if shape != (height, width, 2):
        raise validate.refuse(name, flow, f"the {name} has shape {shape}, but a flow for a {width}x{height} frame is [{height}, {width}, 2]",
                              "pass one (dx, dy) per pixel of the frame it belongs to", FlowError)
    return np.asarray(flow, np.float32)


def warp(image, flow) -> tuple[np.ndarray, np.ndarray]:
    """Sample `image` [H, W, C] at x + flow(x) (bilinear, OpenCV's remap) -> (warped [H, W, C], inside [H, W] bool).

    `inside` is False where x + flow(x) falls outside the image: nothing there to warp (the edge pixel is repeated).
    """
    cv2 = _cv2()
    image = validate.array("image", image, rank=(3, 4), layout="[H, W, C] (or [1, H, W, C])", error=FlowError)
    image = np.asarray(image, np.float32)
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise validate.refuse("image", image, f"a batch of {image.shape[0]}", "warp one image at a time, image[i]", FlowError)
        image = image[0]
    if 0 in image.shape:
        raise validate.refuse("image", image, "no pixels or no channels", "pass an image [H, W, C] with H, W, C >= 1", FlowError)
    height, width = image.shape[:2]
    flow = check_flow(flow, height, width)
    xs, ys = _grid(height, width)
    map_x, map_y = xs + flow[..., 0], ys + flow[..., 1]
    warped = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if warped.ndim == 2:
        warped = warped[..., None]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return warped, inside


def _grey(frame) -> np.ndarray:
    """A frame [H, W, 3] in [0, 1] as 8-bit grey, what DIS works on."""
    frame = np.asarray(frame, np.float32)
    grey = frame @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(grey * 255.0), 0, 255).astype(np.uint8)


def _frame(name: str, frame) -> np.ndarray:
    """One frame [H, W, 3] (or [1, H, W, 3]; uint8 or floats in [0, 1]) as float32 in [0, 1]; FlowError names `name`."""
    arr = np.asarray(validate.array(name, frame, rank=(3, 4), layout="[H, W, 3]", error=FlowError))
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise validate.refuse(name, arr, f"a batch of {arr.shape[0]}", "pass one frame, frames[t]", FlowError)
        arr = arr[0]
    if arr.shape[-1] != 3 or 0 in arr.shape:
        raise validate.refuse(name, arr, f"shape {list(arr.shape)}", "pass an RGB frame [H, W, 3]", FlowError)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    low, high = float(arr.min()), float(arr.max())
    if low < -TOLERANCE or high > 1.0 + TOLERANCE:
        todo = "divide 0-255 values by 255, or pass uint8" if 0 <= low and high <= 255 else "rescale them to [0, 1] first"
        raise validate.refuse(name, arr, f"values in [{low:.3g}, {high:.3g}], outside [0, 1]", todo, FlowError)
    return np.clip(arr.astype(np.float32), 0.0, 1.0)  # only float arithmetic's overshoot, within TOLERANCE


def estimate_flow(frame, previous) -> np.ndarray:
    """The backward flow of `frame` to `previous` ([H, W, 3] in [0, 1]) by DIS optical flow (Kroeger et al. 2016): [H, W, 2].

    uint8 frames are read as 0-255. FlowError names the frame that is not RGB, has NaN or floats outside [0, 1] (not
    clipped), differs in size from the other, or has a side under DIS_MIN_SIDE.
    """
    cv2 = _cv2()
    frame, previous = _frame("frame", frame), _frame("previous", previous)
    if frame.shape != previous.shape:
        raise validate.refuse("previous", previous, f"{previous.shape[1]}x{previous.shape[0]} px but frame is {frame.shape[1]}x{frame.shape[0]}",
                              "pass two frames of one clip (one size)", FlowError)
    if min(frame.shape[:2]) < DIS_MIN_SIDE:
        raise validate.refuse("frame", frame, f"{frame.shape[1]}x{frame.shape[0]} px, under DIS's {DIS_MIN_SIDE} px",
                              f"estimate flows on frames of at least {DIS_MIN_SIDE} px a side (or pass exact flows)", FlowError)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey(frame), _grey(previous), None).astype(np.float32)


def consistent(backward, forward) -> np.ndarray:
    """Where a backward flow of frame t and the forward flow of frame t-1 agree (Sundaram et al. 2010): [H, W] bool."""
    backward = validate.array("backward", backward, rank=3, layout="[H, W, 2]", error=FlowError)
    height, width = backward.shape[:2]
    backward = check_flow(backward, height, width, "backward")
    forward = check_flow(forward, height, width, "forward flow")
    forward_there, inside = warp(forward, backward)
    round_trip = backward + forward_there
    bound = CONSISTENCY_RATIO * (np.sum(backward**2, -1) + np.sum(forward_there**2, -1)) + CONSISTENCY_SLACK
    return inside & (np.sum(round_trip**2, -1) <= bound)


def clip_flows(frames, exact=None) -> tuple[np.ndarray, np.ndarray]:
    """Backward flows [T, H, W, 2] and reliability masks [T, H, W] of frames [T, H, W, 3]: `exact` flows if given, else DIS.

    An exact flow is reliable wherever it stays inside the previous frame; an estimated one also needs the
    forward-backward test. flows[0] is zero and masks[0] False (the first frame has no previous one).
    """
    frames = check_frames(frames, "frames")
    count, height, width = frames.shape[:3]
    if exact is not None:
        if isinstance(exact, (str, bytes, dict)) or not hasattr(exact, "__len__"):
            raise validate.refuse("exact", exact, "not a list of flows", f"pass the flows [T, H, W, 2] (T = {count}), or None to estimate them",
                                  FlowError)
        if len(exact) != count:
            raise validate.refuse("exact", exact, f"{len(exact)} flows for {count} frames", "pass one flow per frame (flows[0] is unused)", FlowError)
    elif count > 1 and min(height, width) < DIS_MIN_SIDE:
        raise validate.refuse("frames", frames, f"{width}x{height} px frames, under DIS's {DIS_MIN_SIDE} px",
                              f"estimate flows on frames of at least {DIS_MIN_SIDE} px a side, or pass exact flows", FlowError)
    flows = np.zeros((count, height, width, 2), np.float32)
    masks = np.zeros((count, height, width), bool)
    for t in range(1, count):
        if exact is not None:
            flows[t] = check_flow(exact[t], height, width, f"exact[{t}]")
            masks[t] = warp(frames[t - 1], flows[t])[1]
        else:
            flows[t] = estimate_flow(frames[t], frames[t - 1])
            masks[t] = consistent(flows[t], estimate_flow(frames[t - 1], frames[t]))
    return flows, masks
