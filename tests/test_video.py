"""Video clips: write and read back, caps on frames and size, the made clip's exact flow, estimated flow, bad files."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from helpers import flow, images, video


def _frames(count=10, height=48, width=64, seed=0):
    """A moving colour ramp with a little texture: [T, H, W, 3] in [0, 1]."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    texture = rng.uniform(0, 0.2, (height, width))
    return np.stack([np.stack([(xs + 0.05 * t) % 1, ys, 0.5 + texture], -1) for t in range(count)]).astype(np.float32)


def test_round_trip_keeps_count_size_and_frame_rate(tmp_path):
    frames = _frames()
    path = video.write_video(tmp_path / "ramp.mp4", frames, fps=15)
    clip = video.read_video(path, max_frames=None, max_dim=None)
    assert len(clip) == 10 and clip.size == (48, 64) and clip.fps == pytest.approx(15.0)
    assert clip.frames.dtype == np.float32 and 0.0 <= clip.frames.min() and clip.frames.max() <= 1.0
    assert np.abs(clip.frames - frames).mean() < 0.05  # H.264 is lossy, but close
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_the_readers_caps_on_frames_and_size(tmp_path):
    path = video.write_video(tmp_path / "big.mp4", _frames(12, 90, 160), fps=24)
    clip = video.read_video(path, max_frames=5, max_dim=80)
    assert len(clip) == 5 and clip.size == (44, 80)  # 45 rounded down to even


def test_odd_sides_are_padded_to_even_for_h264(tmp_path):
    clip = video.read_video(video.write_video(tmp_path / "odd.mp4", _frames(3, 33, 45), fps=10), max_dim=None)
    assert clip.size == (34, 46)


def test_made_clip_flow_is_exact_away_from_the_borders():
    photo = images.load_img("astronaut", 200)
    clip = video.camera_move(photo, frames=6, max_dim=96, zoom=1.3, pan=0.2)
    assert clip.flows.shape == (6, *clip.size, 2)
    for t in range(1, len(clip)):
        warped, inside = flow.warp(clip.frames[t - 1], clip.flows[t])
        inner = inside.copy()
        inner[:4], inner[-4:], inner[:, :4], inner[:, -4:] = False, False, False, False
        error = np.abs(warped - clip.frames[t])[inner].mean()
        still = np.abs(clip.frames[t - 1] - clip.frames[t])[inner].mean()
        shifted = np.abs(flow.warp(clip.frames[t - 1], clip.flows[t] + np.float32([1.5, 0]))[0] - clip.frames[t])[inner].mean()
        assert error < 0.015, f"frame {t}: warping by the exact flow leaves {error:.4f}"
        assert error < 0.25 * still and error < 0.5 * shifted  # the camera moved, and a wrong flow does worse


def test_estimated_flow_finds_the_camera_move():
    clip = video.camera_move(images.load_img("astronaut", 200), frames=3, max_dim=96)
    flows, masks = flow.clip_flows(clip.frames)
    exact_flows, exact_masks = flow.clip_flows(clip.frames, exact=clip.flows)
    assert not masks[0].any() and masks[1:].mean() > 0.8
    endpoint = np.linalg.norm(flows[1:] - clip.flows[1:], axis=-1)[masks[1:]]
    assert np.median(endpoint) < 0.5, "DIS should find the pan and zoom to within half a pixel"
    assert exact_masks[1:].mean() > 0.9 and np.array_equal(exact_flows[1:], clip.flows[1:])


def test_a_flow_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match="flow has shape"):
        flow.warp(np.zeros((8, 8, 3)), np.zeros((8, 9, 2)))


def test_bad_video_files_get_clear_errors(tmp_path):
    with pytest.raises(video.VideoError, match="no such file"):
        video.read_video(tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(video.VideoError, match="empty"):
        video.read_video(tmp_path / "empty.mp4")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(video.VideoError, match="noise.mp4: not a video"):
        video.read_video(tmp_path / "noise.mp4")
    with pytest.raises(video.VideoError, match="folder"):
        video.read_video(tmp_path)


def test_a_file_without_video_frames_is_refused(tmp_path):
    import imageio_ffmpeg

    sound = tmp_path / "sound.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5",
                    str(sound)], check=True, timeout=60)
    with pytest.raises(video.VideoError, match="sound.m4a: the file holds no video frames"):
        video.read_video(sound)


def test_a_frame_size_change_mid_stream(tmp_path):
    import imageio_ffmpeg

    # Two MPEG-TS segments of different sizes, one after the other in one file (as a stream that changes resolution).
    parts = []
    for name, (h, w) in (("a", (48, 64)), ("b", (64, 96))):
        path = tmp_path / f"{name}.ts"
        writer = imageio_ffmpeg.write_frames(str(path), (w, h), fps=10, codec="libx264", macro_block_size=2, ffmpeg_log_level="error")
        writer.send(None)
        for frame in _frames(5, h, w):
            writer.send(np.ascontiguousarray((frame * 255).astype(np.uint8)))
        writer.close()
        parts.append(path.read_bytes())
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(parts))
    clip = video.read_video(joined, max_frames=None, max_dim=None)
    assert len(clip) == 10 and clip.size == (48, 64), "ffmpeg scales the later frames to the size the clip started with"
    # frames handed over in memory are checked instead: the first frame of another size is named, and nothing is written
    mixed = [np.zeros((48, 64, 3)), np.zeros((48, 64, 3)), np.zeros((64, 96, 3))]
    with pytest.raises(video.VideoError, match="frame 2 is 96x64 px but frame 0 is 64x48"):
        video.write_video(tmp_path / "mixed.mp4", mixed)
    assert not any(p.name.startswith(("mixed", ".mixed")) for p in tmp_path.iterdir())
    with pytest.raises(video.VideoError, match="no frames"):
        video.check_frames([])


def test_side_by_side_and_strip():
    a, b = _frames(4, 32, 40), _frames(4, 32, 40, seed=1)
    both = video.side_by_side(a, b, gap=2)
    assert both.shape == (4, 32, 82, 3) and np.array_equal(both[:, :, :40], a)
    picture, picks = video.strip(a, count=3)
    assert picture.shape == (1, 32, 120, 3) and picks in ([0, 2, 3], [0, 1, 3])


def test_float_frames_in_0_255_are_refused_not_clipped_white(tmp_path):
    frames = np.full((3, 32, 32, 3), 128.0, np.float32)
    with pytest.raises(video.VideoError, match=r"frame 0 has values in \[128, 128\]; frames are in \[0, 1\] \(divide 0-255 values by 255"):
        video.write_video(tmp_path / "clip.mp4", frames)
    assert not list(tmp_path.iterdir()), "nothing is written"
    np.testing.assert_allclose(video.check_frames(frames / 255.0 + 1e-4)[0, 0, 0], 128 / 255 + 1e-4, rtol=1e-6)  # rounding overshoot


def test_a_write_under_a_file_or_with_bad_settings_is_refused(tmp_path):
    (tmp_path / "notes").write_text("a file")
    frames = np.zeros((2, 32, 32, 3), np.float32)
    with pytest.raises(video.VideoError, match=r"path = .*notes is a file, not a folder"):
        video.write_video(tmp_path / "notes" / "clip.mp4", frames)
    with pytest.raises(video.VideoError, match=r"fps = '12': a string"):
        video.write_video(tmp_path / "clip.mp4", frames, fps="12")
    with pytest.raises(video.VideoError, match=r"max_frames = 0: must be >= 1"):
        video.read_video(tmp_path / "clip.mp4", max_frames=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_a_text_file_named_gif_is_explained(tmp_path):
    path = tmp_path / "clip.gif"
    path.write_text("not a video at all\n")
    with pytest.raises(video.VideoError, match=r"clip.gif: not a video ffmpeg can read \(.*renamed to .gif"):
        video.read_video(path)
