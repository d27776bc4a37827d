"""Video clips in and out: read any common video file, write MP4, make a clip with a known camera move, show a clip.

    clip = read_video("~/Movies/walk.mov", max_frames=48, max_dim=256)   # Clip: frames [T, H, W, 3] in [0, 1], fps
    clip = camera_move(images.load_img("astronaut", 400), frames=24)    # a pan and zoom over a photo, with exact flow
    write_video("build/08/clip.mp4", clip.frames, clip.fps)
    show(path)                                                            # an HTML5 video in the notebook

Reading and writing go through imageio-ffmpeg, which ships an ffmpeg binary in its wheel (nothing to download).
ffmpeg reads MP4, MOV, MKV, AVI, WebM, animated GIF and more, at any size and frame rate.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from helpers import files, images, validate

#: Frames and long side read when the caller gives no cap.
DEFAULT_MAX_FRAMES = 48
DEFAULT_MAX_DIM = 256
#: Smallest frame side accepted (the networks downsample by 4 and VGG19 needs 32 px).
MIN_SIDE = 32
#: How far outside [0, 1] a float frame may stray and still be clipped quietly: half a step of 8-bit video (it
#: rounds to the same byte), the overshoot of float arithmetic; anything further is refused, not clipped.
TOLERANCE = 0.5 / 255.0


class VideoError(ValueError):
    """A video could not be read or written; the message names the file and the reason."""


@dataclasses.dataclass
class Clip:
    """A short clip: frames [T, H, W, 3] float32 in [0, 1], its frame rate, a name, and its exact flows if known."""

    frames: np.ndarray
    fps: float
    name: str
    flows: np.ndarray | None = None  # exact backward flows [T, H, W, 2] (see helpers.flow), or None

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of a frame."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])


def _even(n: int) -> int:
    """n rounded down to an even number, at least 2 (H.264 in yuv420p, what browsers play, needs even sides)."""
    return max(2, int(n) // 2 * 2)


def frame_size(height: int, width: int, max_dim: int | None) -> tuple[int, int]:
    """(H, W) of the frames a video of `height` x `width` is read at: long side <= max_dim, aspect kept, both sides even."""
    if max_dim is not None and max(height, width) > max_dim:
        height, width = images.scaled_size(height, width, int(max_dim), MIN_SIDE)
    return _even(height), _even(width)


def check_frames(frames, name: str = "frames") -> np.ndarray:
    """Frames (an array [T, H, W, 3], or a list of [H, W, 3] / [1, H, W, 3]) as float32 [T, H, W, 3] in [0, 1].

    uint8 frames are divided by 255. VideoError names the first frame whose size differs from frame 0's, or what else is
    wrong: no frames, not RGB, NaN, or floats outside [0, 1] (by more than TOLERANCE; pixels in 0-255 given as floats).
    """
    try:
        items = None if isinstance(frames, (str, bytes)) else list(frames)
    except TypeError:
        items = None
    if items is None:
        raise validate.refuse(name, frames, "not frames", "pass an array [T, H, W, 3] or a list of [H, W, 3] images", VideoError)
    if not items:
        raise VideoError(f"{name}: no frames (an empty list or an array with T = 0); a clip needs at least one frame")
    arrays = []
    for i, frame in enumerate(items):
        arr = np.asarray(frame)
        if arr.ndim == 4 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise VideoError(f"{name}: frame {i} has shape {arr.shape}; frames are [H, W, 3] RGB")
        if min(arr.shape[:2]) < 1:
            raise VideoError(f"{name}: frame {i} is {arr.shape[1]}x{arr.shape[0]} px; a frame needs at least one pixel")
        if arrays and arr.shape != arrays[0].shape:
            raise VideoError(f"{name}: frame {i} is {arr.shape[1]}x{arr.shape[0]} px but frame 0 is "
                             f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; a clip keeps one size (resize the frames first)")
        if arr.dtype == np.uint8:
            arrays.append(arr.astype(np.float32) / 255.0)
            continue
        if arr.dtype.kind not in "iuf":
            raise VideoError(f"{name}: frame {i} has dtype {arr.dtype}; frames are uint8 (0-255) or floats in [0, 1]")
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise VideoError(f"{name}: frame {i} contains NaN or infinite values")
        low, high = float(arr.min()), float(arr.max())
        if low < -TOLERANCE or high > 1.0 + TOLERANCE:
            hint = "divide 0-255 values by 255, or pass uint8 frames" if high > 1.0 + TOLERANCE and high <= 255.0 and low >= 0 \
                else "clip or rescale them to [0, 1] first"
            raise VideoError(f"{name}: frame {i} has values in [{low:.3g}, {high:.3g}]; frames are in [0, 1] ({hint})")
        arrays.append(arr)
    return np.clip(np.stack(arrays), 0.0, 1.0)  # only the rounding overshoot that TOLERANCE allows is clipped


def probe(path) -> dict:
    """What ffmpeg says about a video file: {'size': (W, H), 'fps', 'duration', 'codec', ...}; VideoError if unreadable."""
    import imageio_ffmpeg

    path = _existing(path)
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        return dict(next(reader))
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        text = str(exc)
        if "Stream #" in text and "Video:" not in text:  # ffmpeg opened it, but found sound or data only
            raise VideoError(f"{path}: the file holds no video frames (its streams: "
                             f"{', '.join(line.split(': ', 1)[-1].split(' (')[0] for line in text.splitlines() if 'Stream #' in line)})") from None
        raise VideoError(f"{path}: not a video ffmpeg can read ({_explain(_reason(exc), path)})") from None
    finally:
        reader.close()


def _existing(path) -> Path:
    """`path` as a Path (~ expanded) to an existing, non-empty file; VideoError otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty")
    return path


def _reason(exc: BaseException) -> str:
    """The informative last line of an ffmpeg error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "error" in line.lower() or "invalid" in line.lower() or "could not" in line.lower()]
    return (useful or lines or [type(exc).__name__])[-1][:200]


#: ffmpeg's terse reasons, in words a reader can act on.
_PLAIN = {
    "End of file": "the data ended before ffmpeg found a single frame in it",
    "Invalid data found when processing input": "its bytes are in no video format ffmpeg knows",
}


def _explain(reason: str, path: Path) -> str:
    """ffmpeg's reason for refusing `path`, said plainly, with a likely cause."""
    for terse, plain in _PLAIN.items():
        if reason.endswith(terse):
            return (f"{plain}: it may be another kind of file renamed to {path.suffix or 'a video name'}, or a download cut "
                    f"short; open it with a video player, or export it again as .mp4 (ffmpeg said: {terse})")
    return reason


def read_video(path, max_frames: int | None = DEFAULT_MAX_FRAMES, max_dim: int | None = DEFAULT_MAX_DIM) -> Clip:
    """Read up to `max_frames` frames of a video file, scaled to a long side <= max_dim (even sides) -> Clip.

    Any container and codec ffmpeg reads; a rotated phone video comes out upright. If the frame size changes part-way
    through a file, ffmpeg scales every frame to the size the clip started with. VideoError names the file and the
    reason: missing, empty, not a video, no frames, or too small.
    """
    import imageio_ffmpeg

    if max_frames is not None:
        max_frames = validate.number("max_frames", max_frames, low=1, integer=True, error=VideoError,
                                     todo="pass None (every frame) or a whole number >= 1")
    if max_dim is not None:
        max_dim = validate.number("max_dim", max_dim, low=MIN_SIDE, integer=True, error=VideoError,
                                  todo=f"pass None (full size) or a whole number of pixels >= {MIN_SIDE}")
    meta = probe(path)
    path = Path(path).expanduser()
    width, height = (int(v) for v in meta.get("size", (0, 0)))
    if min(width, height) < MIN_SIDE:
        raise VideoError(f"{path}: frames of {width}x{height} px are too small; at least {MIN_SIDE} px per side are needed")
    out_h, out_w = frame_size(height, width, max_dim)
    params = ["-vf", f"scale={out_w}:{out_h}:flags=area"] + (["-frames:v", str(int(max_frames))] if max_frames else [])
    reader = imageio_ffmpeg.read_frames(str(path), output_params=params)
    frames = []
    quiet = logging.getLogger("imageio_ffmpeg")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns that the frames are scaled, which is what we asked for
    try:
        next(reader)
        for raw in reader:
            frames.append(np.frombuffer(raw, np.uint8).reshape(out_h, out_w, 3))
            if max_frames and len(frames) >= int(max_frames):
                break
    except (OSError, RuntimeError, ValueError) as exc:
        if not frames:
            raise VideoError(f"{path}: could not decode ({_reason(exc)})") from None
        # a file cut short: keep the frames decoded before the damage
    finally:
        reader.close()
        quiet.setLevel(level)
    if not frames:
        raise VideoError(f"{path}: the file holds no video frames")
    fps = float(meta.get("fps") or 0) or 24.0
    return Clip(frames=np.stack(frames).astype(np.float32) / 255.0, fps=fps, name=path.stem)


def write_video(path, frames, fps: float = 12.0, quality: float = 6.0) -> Path:
    """Write frames ([T, H, W, 3] in [0, 1], or a list) as H.264 MP4 (yuv420p, plays in browsers), atomically; returns the path.

    An odd side is padded by one repeated edge pixel (H.264 needs even sides). VideoError if the frames are not one
    size; then nothing is written.
    """
    import imageio_ffmpeg

    path = validate.writable_path("path", path, VideoError)
    if path.suffix.lower() not in (".mp4", ".m4v", ".mov", ".mkv"):
        raise VideoError(f"{path}: write_video writes H.264 video; use a .mp4 (or .m4v, .mov, .mkv) name")
    fps = validate.number("fps", fps, low=0, low_open=True, high=1000, error=VideoError, todo="pass frames per second, e.g. 12")
    quality = validate.number("quality", quality, low=0, high=10, error=VideoError, todo="pass a number from 0 (smallest file) to 10 (best)")
    data = check_frames(frames, str(path))
    height, width = data.shape[1:3]
    data = np.pad(data, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    data = np.round(data * 255.0).astype(np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise VideoError(f"{path}: cannot be written ({exc.strerror or exc}); choose a folder you can write to") from None
    os.close(fd)
    try:
        writer = imageio_ffmpeg.write_frames(tmp, (data.shape[2], data.shape[1]), fps=float(fps), codec="libx264", quality=quality,
                                             macro_block_size=2, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"])
        writer.send(None)
        for frame in data:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        os.chmod(tmp, files._new_file_mode(path))  # mkstemp made it private: the permissions atomic_write gives a file
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise VideoError(f"{path}: could not be written ({_reason(exc)}); nothing was left behind") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --- a clip whose optical flow is known exactly ------------------------------------------------------------------


def camera_move(photo, frames: int = 24, max_dim: int = DEFAULT_MAX_DIM, zoom: float = 1.25, pan: float = 0.2,
                fps: float = 12.0, name: str = "camera move") -> Clip:
    """A clip filmed by a camera that pans across `photo` ([1, H, W, 3] or [H, W, 3]) and zooms in; its flows are exact.

    Frame t shows the photo window whose top-left corner is (a_t, b_t) and whose pixel spacing is s_t photo pixels, so
    frame pixel x sees photo point a_t + s_t x; in frame t-1 that point is at x' = (a_t + s_t x - a_{t-1}) / s_{t-1}.
    The backward flow x' - x is therefore exact (an affine map per frame). The window starts nearly as wide as the
    pan allows, narrows `zoom` times and moves right by `pan` of the photo's width over the clip. The photo is first
    scaled so that the first window has one photo pixel per frame pixel; the zoom then only magnifies (no aliasing).
    """
    import cv2
    photo = np.asarray(images.check_image(photo, "photo", min_side=2, error=VideoError))[0]
    frames = validate.number("frames", frames, low=2, integer=True, error=VideoError)
    max_dim = validate.number("max_dim", max_dim, low=MIN_SIDE, integer=True, error=VideoError)
    zoom = validate.number("zoom", zoom, low=1, high=8, error=VideoError, todo="pass a zoom factor from 1 (none) to 8")
    pan = validate.number("pan", pan, low=0, high=0.5, high_open=True, error=VideoError,
                          todo="pass the share of the photo's width to pan across, in [0, 0.5)")
    fps = validate.number("fps", fps, low=0, low_open=True, high=1000, error=VideoError, todo="pass frames per second, e.g. 12")
    height, width = frame_size(photo.shape[0], photo.shape[1], max_dim)
    fraction = (1.0 - pan) * 0.98  # the first window's share of the photo's width: as wide as the pan allows
    scale = width / (photo.shape[1] * fraction)
    size = (max(2, round(photo.shape[1] * scale)), max(2, round(photo.shape[0] * scale)))
    photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    ph, pw = photo.shape[:2]
    start_w = pw * fraction
    t = np.linspace(0.0, 1.0, int(frames))
    window_w = start_w / (1.0 + (float(zoom) - 1.0) * t)
    spacing = window_w / width                              # s_t: photo pixels per frame pixel
    left = (pw - start_w) / 2 - pan * pw / 2 + pan * pw * t  # a_t: moves right by pan * photo width
    left = np.clip(left, 0, pw - window_w)
    top = (ph - spacing * height) / 2                       # b_t: keeps the window centred vertically
    if np.any(top < 0):
        raise VideoError(f"the photo ({pw}x{ph}) is too wide for a {width}x{height} frame with pan={pan}; use a smaller pan")
    out = np.empty((int(frames), height, width, 3), np.float32)
    flows = np.zeros((int(frames), height, width, 2), np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(int(frames)):
        affine = np.array([[spacing[i], 0, left[i]], [0, spacing[i], top[i]]], np.float64)  # frame pixel -> photo point
        out[i] = cv2.warpAffine(photo, affine, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REFLECT)
        if i:
            flows[i, ..., 0] = (left[i] + spacing[i] * xs - left[i - 1]) / spacing[i - 1] - xs
            flows[i, ..., 1] = (top[i] + spacing[i] * ys - top[i - 1]) / spacing[i - 1] - ys
    return Clip(frames=np.clip(out, 0.0, 1.0), fps=float(fps), name=name, flows=flows)


# --- looking at clips ---------------------------------------------------------------------------------------------


def side_by_side(*clips, gap: int = 4) -> np.ndarray:
    """Frames of several clips of one size and length next to each other, with a white gap: [T, H, W * n + gaps, 3]."""
    arrays = [check_frames(c.frames if isinstance(c, Clip) else c, f"clip {i}") for i, c in enumerate(clips)]
    if len({a.shape for a in arrays}) != 1:
        raise VideoError(f"side_by_side needs clips of one shape, got {[a.shape for a in arrays]}")
    count, height = arrays[0].shape[:2]
    white = np.ones((count, height, int(gap), 3), np.float32)
    parts = [arrays[0]]
    for a in arrays[1:]:
        parts += [white, a]
    return np.concatenate(parts, axis=2)


def strip(frames, count: int = 6) -> tuple[np.ndarray, list[int]]:
    """`count` evenly spaced frames of a clip side by side ([1, H, W * count, 3]) and their indices, for a figure."""
    frames = check_frames(frames)
    picks = sorted(set(np.linspace(0, len(frames) - 1, min(int(count), len(frames))).round().astype(int).tolist()))
    return np.concatenate([frames[i] for i in picks], axis=1)[None], picks


def show(path, width: int | None = None):
    """An HTML5 video of an MP4 file, embedded in the notebook (looping, muted, with controls)."""
    from IPython.display import Video

    return Video(str(path), embed=True, width=width, html_attributes="controls loop autoplay muted playsinline")
