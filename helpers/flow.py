"""Optical flow between video frames: warping by a flow, estimating one (OpenCV's DIS), and where it can be trusted.

Convention: the *backward* flow of frame t, `flow[t]` [H, W, 2] (dx, dy in pixels), points from each pixel x of frame t
to where the same point of the scene was in frame t-1, so `warp(frame[t-1], flow[t])` is frame t, wherever that point
was visible in frame t-1. `flow[0]` is zero and unused.
"""

from __future__ import annotations

import numpy as np

#: Sundaram, Brox & Keutzer (2010)'s forward-backward test, as Ruder et al. (2016) use it: a pixel is reliable when
#: |w_b + w_f(x + w_b)|^2 <= CONSISTENCY_RATIO * (|w_b|^2 + |w_f(x + w_b)|^2) + CONSISTENCY_SLACK (pixels^2).
CONSISTENCY_RATIO = 0.01
CONSISTENCY_SLACK = 0.5


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
    """A flow as float32 [H, W, 2], or ValueError naming `name` and what is wrong."""
    flow = np.asarray(flow, np.float32)
    if flow.shape != (height, width, 2):
        raise ValueError(f"{name} has shape {flow.shape}; a flow for a {width}x{height} frame is [{height}, {width}, 2]")
    if not np.all(np.isfinite(flow)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return flow


def warp(image, flow) -> tuple[np.ndarray, np.ndarray]:
    """Sample `image` [H, W, C] at x + flow(x) (bilinear, OpenCV's remap) -> (warped [H, W, C], inside [H, W] bool).

    `inside` is False where x + flow(x) falls outside the image: nothing there to warp (the edge pixel is repeated).
    """
    cv2 = _cv2()
    image = np.asarray(image, np.float32)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3:
        raise ValueError(f"warp expects an image [H, W, C], got shape {image.shape}")
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


def estimate_flow(frame, previous) -> np.ndarray:
    """The backward flow of `frame` to `previous` ([H, W, 3] in [0, 1]) by DIS optical flow (Kroeger et al. 2016): [H, W, 2]."""
    cv2 = _cv2()
    frame, previous = np.asarray(frame), np.asarray(previous)
    if frame.shape != previous.shape or frame.ndim != 3:
        raise ValueError(f"estimate_flow needs two frames of one shape [H, W, 3], got {frame.shape} and {previous.shape}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_grey(frame), _grey(previous), None).astype(np.float32)


def consistent(backward, forward) -> np.ndarray:
    """Where a backward flow of frame t and the forward flow of frame t-1 agree (Sundaram et al. 2010): [H, W] bool."""
    backward = np.asarray(backward, np.float32)
    height, width = backward.shape[:2]
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
    frames = np.asarray(frames, np.float32)
    count, height, width = frames.shape[:3]
    flows = np.zeros((count, height, width, 2), np.float32)
    masks = np.zeros((count, height, width), bool)
    for t in range(1, count):
        if exact is not None:
            flows[t] = check_flow(exact[t], height, width, f"exact flow {t}")
            masks[t] = warp(frames[t - 1], flows[t])[1]
        else:
            flows[t] = estimate_flow(frames[t], frames[t - 1])
            masks[t] = consistent(flows[t], estimate_flow(frames[t - 1], frames[t]))
    return flows, masks
