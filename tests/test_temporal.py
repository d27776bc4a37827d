"""Flicker: the warping error, Ruder et al.'s temporal loss and initialisation, blending along the flow."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import flow, images, optimize, temporal, terms, video
from tests.refusals import refused


@pytest.fixture(scope="module")
def clip():
    return video.camera_move(images.load_img("astronaut", 160), frames=3, max_dim=48, zoom=1.2, pan=0.15)


def _still(count=5, size=32):
    frame = np.random.default_rng(0).uniform(0, 1, (size, size, 3)).astype(np.float32)
    frames = np.repeat(frame[None], count, axis=0)
    return frames, np.zeros((count, size, size, 2), np.float32), np.ones((count, size, size), bool)


def test_warping_error_is_zero_for_a_still_clip_and_grows_with_noise():
    frames, flows, masks = _still()
    assert np.all(temporal.warping_error(frames, flows, masks) == 0.0)
    rng = np.random.default_rng(1)
    errors = [temporal.warping_error(np.clip(frames + rng.normal(0, sigma, frames.shape), 0, 1), flows, masks).mean()
              for sigma in (0.01, 0.03, 0.1)]
    assert 0 < errors[0] < errors[1] < errors[2]


def test_warping_error_follows_the_flow_and_ignores_unreliable_pixels(clip):
    flows, masks = flow.clip_flows(clip.frames, exact=clip.flows)
    along = temporal.warping_error(clip.frames, flows, masks)
    across = temporal.warping_error(clip.frames, np.zeros_like(flows), masks)
    assert np.all(along < 0.2 * across), "the camera moved: only the flow lines the frames up"
    frames = clip.frames.copy()
    frames[1:, :, :4] = 1.0 - frames[1:, :, :4]  # garbage in a band that the mask leaves out
    masks[:, :, :8] = False
    clean = temporal.warping_error(clip.frames, flows, masks)
    np.testing.assert_allclose(temporal.warping_error(frames, flows, masks), clean, rtol=1e-6)


def test_blending_with_the_warped_previous_output_lowers_flicker():
    frames, flows, masks = _still(6)
    noisy = np.clip(frames + np.random.default_rng(2).normal(0, 0.05, frames.shape), 0, 1).astype(np.float32)
    before = temporal.warping_error(noisy, flows, masks).mean()
    after = temporal.warping_error(temporal.blend_with_previous(noisy, flows, masks, 0.5), flows, masks).mean()
    assert after < 0.6 * before
    np.testing.assert_array_equal(temporal.blend_with_previous(noisy, flows, masks, 0.0), noisy)
    masks[:] = False  # nothing reliable: nothing is blended
    np.testing.assert_array_equal(temporal.blend_with_previous(noisy, flows, masks, 0.5), noisy)
    with pytest.raises(ValueError, match="alpha"):
        temporal.blend_with_previous(noisy, flows, masks, 1.0)


def test_temporal_loss_counts_only_reliable_pixels():
    target = np.full((8, 8, 3), 0.5, np.float32)
    mask = np.zeros((8, 8), bool)
    mask[:, :4] = True
    loss = temporal.temporal_loss(target, mask, weight=1.0)
    assert float(loss(tf.constant(target[None]))) == 0.0
    image = target.copy()
    image[:, 4:] = 1.0  # differs only where the mask is False
    assert float(loss(tf.constant(image[None]))) == 0.0
    image[:, :4] = 0.0
    assert float(loss(tf.constant(image[None]))) == pytest.approx(0.25 * 96 / 192)


def test_transfer_adds_a_term_of_ones_own_and_records_it():
    content = images.load_img("cat", 40)
    style = images.load_img("swirls", 40)
    result = optimize.transfer(content, style, steps=2, optimizer="adam", terms=[terms.Custom(lambda image: 7.0 * tf.reduce_mean(image))],
                               progress=False, network=optimize.Network(precision="float32"))
    h = result.history
    assert "custom" in h and len(h["custom"]) == len(h["total"]) and all(v > 0 for v in h["custom"])
    np.testing.assert_allclose(h["total"], np.add.reduce([h["style"], h["content"], h["tv"], h["custom"]]), rtol=1e-5)
    with pytest.raises(optimize.TransferError, match="terms = 'temporal': not a list of terms"):
        optimize.transfer(content, style, steps=1, terms="temporal", progress=False)


def test_ruder_initialisation_lowers_flicker_against_independent_frames(clip):
    style = images.load_img("swirls", 64)
    flows, masks = flow.clip_flows(clip.frames, exact=clip.flows)
    kwargs = dict(steps=6, progress=False, network=optimize.Network(precision="float32"))
    independent = temporal.stylize_optimizer(clip.frames, style, flows, masks, temporal=False, **kwargs)
    ruder = temporal.stylize_optimizer(clip.frames, style, flows, masks, temporal=True, **kwargs)
    assert independent.shape == ruder.shape == clip.frames.shape
    e_independent = temporal.warping_error(independent, flows, masks).mean()
    e_ruder = temporal.warping_error(ruder, flows, masks).mean()
    assert e_ruder < 0.7 * e_independent, (e_ruder, e_independent)
    assert np.abs(ruder[0] - independent[0]).max() < 1e-6, "the first frame has no previous one: the same either way"


# ------------------------------------------------------------------------ refusals: the argument by name, the value, why, what to do


def _refused(name: str, call, *also: str) -> str:
    """`call` raises TemporalError naming `name` (see tests/refusals.py)."""
    return refused(temporal.TemporalError, name, call, *also)


def test_flows_and_masks_must_describe_the_clip():
    frames, flows, masks = _still(3, 16)
    _refused("flows", lambda: temporal.warping_error(frames, flows[:2], masks), "shape [2, 16, 16, 2] for 3 frames of 16x16 px")
    _refused("flows", lambda: temporal.warping_error(frames, flows[..., 0], masks), "rank 3, not 4")
    bad = flows.copy()
    bad[1, 0, 0, 0] = np.nan
    _refused("flows", lambda: temporal.warping_error(frames, bad, masks), "NaN")
    _refused("masks", lambda: temporal.warping_error(frames, flows, masks[:, :8]), "shape [3, 8, 16], not [3, 16, 16]",
             "pass one value per pixel (flow.clip_flows makes them)")
    _refused("masks", lambda: temporal.warping_error(frames, flows, np.full(masks.shape, 0.5)), "numbers other than 0 and 1", "masks > 0.5")
    np.testing.assert_array_equal(temporal.warping_error(frames, flows, masks.astype(np.uint8)), 0.0)  # 0/1 numbers are read as False/True
    np.testing.assert_array_equal(temporal.warping_error(frames, flows, masks.astype(int).tolist()), 0.0)  # as nested lists too
    _refused("masks", lambda: temporal.warping_error(frames, flows, np.where(masks, np.nan, 0.0)), "values are NaN or infinite")
    _refused("flows", lambda: temporal.warping_error(frames, flows[0], masks), "rank 3, not 4", "pass [T, H, W, 2]")
    wide, wide_flows, wide_masks = _still(3, 24)
    wide = wide[:, :16]                                         # 3 frames, 16 px high and 24 px wide
    _refused("flows", lambda: temporal.warping_error(wide, wide_flows[:, :16, :16], wide_masks[:, :16]),
             "shape [3, 16, 16, 2] for 3 frames of 24x16 px", "pass one flow per frame, [3, 16, 24, 2] (flow.clip_flows)")
    _refused("masks", lambda: temporal.blend_with_previous(frames, flows, masks[0]), "shape [16, 16], not [3, 16, 16]")
    with pytest.raises(video.VideoError, match="divide 0-255 values by 255"):
        temporal.warping_error(frames * 255, flows, masks)


def test_blend_and_the_temporal_loss_refuse_bad_settings():
    frames, flows, masks = _still(3, 16)
    for alpha in (1.0, -0.1, True, float("nan")):
        _refused("alpha", lambda alpha=alpha: temporal.blend_with_previous(frames, flows, masks, alpha), "1 would freeze the first one")
    _refused("alpha", lambda: temporal.blend_with_previous(frames, flows, masks, "0.5"), "pass the number itself: alpha=0.5")
    _refused("weight", lambda: temporal.temporal_loss(frames[0], masks[0], weight=-1.0), "must be >= 0", "TEMPORAL_WEIGHT")
    _refused("mask", lambda: temporal.temporal_loss(frames[0], masks[0, :8]), "not [16, 16]")
    with pytest.raises(video.VideoError, match=r"^target: "):
        temporal.temporal_loss(frames[0, ..., :2], masks[0])
    _refused("fallback", lambda: temporal.warped_previous(frames[0], flows[1], masks[1], frames[0, :8]), "16x8 px, previous is 16x16")
    _refused("mask", lambda: temporal.warped_previous(frames[0], flows[1], np.full((16, 16), 2), frames[1]), "numbers other than 0 and 1")
    _refused("stylize", lambda: temporal.stylize_frames("hub", frames), "not callable")
    _refused("progress", lambda: temporal.stylize_frames(lambda x: x, frames, progress="no"), "not True or False")


def test_stylize_optimizer_refuses_before_the_first_frame_is_optimised():
    frames, flows, masks = _still(2, 32)
    style = frames[0]
    calls = []
    for kwargs, name, text in [({"steps": 0}, "steps", "must be >= 1"), ({"steps": 2.0}, "steps", "steps=2"),
                               ({"temporal_weight": "1e10"}, "temporal_weight", "pass the number itself"),
                               ({"temporal": "yes"}, "temporal", "not True or False"), ({"histories": {}}, "histories", "not a list")]:
        _refused(name, lambda kwargs=kwargs: temporal.stylize_optimizer(frames, style, flows, masks, progress=False, callback=calls.append, **kwargs),
                 text)
    _refused("flows", lambda: temporal.stylize_optimizer(frames, style, flows[:1], masks, progress=False), "for 2 frames")
    assert calls == []


def test_blending_is_the_recursion_written_out_and_leaves_the_first_frame_alone():
    rng = np.random.default_rng(4)
    frames = rng.uniform(0, 1, (4, 6, 8, 3)).astype(np.float32)
    flows = np.zeros((4, 6, 8, 2), np.float32)
    flows[..., 0] = 1.0                                       # each pixel takes its right-hand neighbour's previous value
    masks = np.ones((4, 6, 8), bool)                          # masks[0] says nothing: frame 0 has no previous output
    masks[2, :3] = False
    alpha = 0.4
    want = frames.copy()
    for t in range(1, 4):
        warped = np.concatenate([want[t - 1][:, 1:], want[t - 1][:, -1:]], axis=1)   # x + 1, the edge repeated
        want[t] = np.where(masks[t][..., None], (1 - alpha) * frames[t] + alpha * warped, frames[t])
    got = temporal.blend_with_previous(frames, flows, masks, alpha)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_array_equal(got[0], frames[0])


def test_warped_previous_refuses_by_name_and_fills_unreliable_pixels():
    previous, fallback = np.zeros((6, 8, 3), np.float32), np.ones((6, 8, 3), np.float32)
    still, mask = np.zeros((6, 8, 2), np.float32), np.ones((6, 8), bool)
    mask[:, :4] = False
    carried = temporal.warped_previous(previous, still, mask, fallback)
    assert (carried[:, :4] == 1).all() and (carried[:, 4:] == 0).all()
    with pytest.raises(video.VideoError, match=r"^previous: .*divide 0-255 values by 255"):
        temporal.warped_previous(previous + 255, still, mask, fallback)
    with pytest.raises(video.VideoError, match=r"^fallback: .*divide 0-255 values by 255"):
        temporal.warped_previous(previous, still, mask, fallback * 255)
    message = refused(temporal.TemporalError, "fallback", lambda: temporal.warped_previous(previous, still, mask, fallback[:5]))
    assert "8x5 px, previous is 8x6" in message and "the same size as the previous output" in message


def _shifted(image, dx, dy):
    """image sampled at (x + dx, y + dy) for whole-pixel dx, dy >= 0, the edge repeated (what flow.warp does there)."""
    h, w = image.shape[:2]
    rows = np.minimum(np.arange(h) + dy, h - 1)
    cols = np.minimum(np.arange(w) + dx, w - 1)
    return image[rows][:, cols]


def test_warping_error_is_the_formula_written_out():
    """E_t = mean over the reliable pixels (and the 3 channels) of (O_t - warp(O_{t-1}, w_t))^2, one value per frame
    after the first; NaN where no pixel is reliable."""
    rng = np.random.default_rng(5)
    frames = rng.uniform(0, 1, (5, 6, 8, 3)).astype(np.float32)
    flows = np.zeros((5, 6, 8, 2), np.float32)
    shifts = [(0, 0), (1, 0), (0, 0), (0, 1), (2, 1)]          # frame t's flow points into frame t - 1 by (dx, dy)
    for t, (dx, dy) in enumerate(shifts):
        flows[t, ..., 0], flows[t, ..., 1] = dx, dy
    masks = rng.uniform(0, 1, (5, 6, 8)) < 0.6
    masks[0] = False                                            # frame 0 has no previous frame: its mask is not read
    masks[3] = False                                            # nothing reliable in frame 3
    want = []
    for t in range(1, 5):
        diff = np.square(frames[t] - _shifted(frames[t - 1], *shifts[t]))
        want.append(diff[masks[t]].sum() / (3 * masks[t].sum()) if masks[t].any() else np.nan)
    got = temporal.warping_error(frames, flows, masks)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert np.isnan(got[2]) and np.isfinite(got[[0, 1, 3]]).all()


def test_the_temporal_loss_is_the_formula_written_out():
    """weight * sum_x c(x) (x_t(x) - warped(x))^2 / D with D = H * W * 3, on a frame that is not square."""
    rng = np.random.default_rng(6)
    target = rng.uniform(0, 1, (6, 10, 3)).astype(np.float32)
    image = rng.uniform(0, 1, (1, 6, 10, 3)).astype(np.float32)
    mask = rng.uniform(0, 1, (6, 10)) < 0.5
    want = np.sum(mask[..., None] * np.square(image[0] - target)) / (6 * 10 * 3)
    assert float(temporal.temporal_loss(target, mask, weight=3.0)(tf.constant(image))) == pytest.approx(3.0 * want, rel=1e-5)
    by_default = float(temporal.temporal_loss(target, mask)(tf.constant(image)))
    assert by_default == pytest.approx(temporal.TEMPORAL_WEIGHT * want, rel=1e-5)
    assert float(temporal.temporal_loss(target, mask, weight=0)(tf.constant(image))) == 0.0
    loss = temporal.temporal_loss(target, mask.astype(np.float32))  # 0/1 numbers are read as False/True
    assert float(loss(tf.constant(image))) == pytest.approx(by_default, rel=1e-6)
    for other in [(1, 10, 6, 3), (1, 6, 9, 3), (1, 5, 10, 3)]:
        with pytest.raises(ValueError, match=rf"the image is \({other[1]}, {other[2]}\) but the warped previous frame is \(6, 10\); run the"):
            loss(tf.zeros(other))


def test_stylize_optimizer_starts_each_frame_from_the_warped_previous_result_and_adds_the_temporal_term(monkeypatch):
    """The loop itself, with optimize.transfer replaced by a recorder (the Ruder test above measures the effect)."""
    rng = np.random.default_rng(3)
    frames = rng.uniform(0.2, 0.8, (3, 12, 16, 3)).astype(np.float32)
    flows = np.zeros((3, 12, 16, 2), np.float32)
    flows[2, ..., 0] = 1.0                              # frame 2 comes from one pixel to the right in frame 1
    masks = np.ones((3, 12, 16), bool)
    masks[2, :, :3] = False                             # three columns of frame 2 untrusted: the frame itself fills them
    style = rng.uniform(0, 1, (1, 8, 8, 3))             # float64 on purpose: passed on as a float32 tensor
    calls = []

    def fake_transfer(content, style_, **kwargs):
        calls.append(dict(content=np.asarray(content), style=style_, **kwargs))
        image = tf.constant(np.asarray(content) * 0.5 + 0.1 * len(calls), tf.float32)  # a different result each call
        return optimize.TransferResult(image, {"total": [float(len(calls))]}, {})

    monkeypatch.setattr(optimize, "transfer", fake_transfer)
    histories = []
    out = temporal.stylize_optimizer(frames, style, flows, masks, temporal_weight=3.0, steps=4, progress=False,
                                     histories=histories, style_weight=7.0)
    assert [h["total"] for h in histories] == [[1.0], [2.0], [3.0]]
    expected = np.stack([frames[t] * 0.5 + 0.1 * (t + 1) for t in range(3)])
    np.testing.assert_allclose(out, expected, atol=1e-6)
    for t, call in enumerate(calls):
        np.testing.assert_array_equal(call["content"], frames[t][None])
        assert isinstance(call["style"], tf.Tensor) and call["style"].dtype == tf.float32
        np.testing.assert_allclose(call["style"].numpy(), style.astype(np.float32))
        assert call["steps"] == 4 and type(call["steps"]) is int
        assert call["progress"] is False and call["style_weight"] == 7.0
    assert calls[0]["init"] == "content" and len(calls[0]["terms"]) == 0
    for t in (1, 2):
        previous = temporal.warped_previous(expected[t - 1], flows[t], masks[t], frames[t])
        np.testing.assert_allclose(calls[t]["init"].numpy(), previous[None], atol=1e-6)
        (term,) = calls[t]["terms"]
        assert isinstance(term, terms.Temporal) and term.weight == 3.0
        np.testing.assert_allclose(term.target, previous, atol=1e-6)
        np.testing.assert_array_equal(term.mask, masks[t])
    np.testing.assert_allclose(calls[2]["init"].numpy()[0, :, :3], frames[2][:, :3], atol=1e-6)  # untrusted: the frame

    calls.clear()
    independent = temporal.stylize_optimizer(frames, style, flows[:1], masks, temporal=False, steps=2, progress=False)
    assert all(c["init"] == "content" and len(c["terms"]) == 0 and c["steps"] == 2 for c in calls) and len(calls) == 3
    np.testing.assert_allclose(independent, np.stack([frames[t] * 0.5 + 0.1 * (t + 1) for t in range(3)]), atol=1e-6)


def test_stylize_frames_applies_the_function_to_each_frame_in_order_and_counts_them(capsys):
    frames = np.random.default_rng(4).uniform(0, 1, (3, 6, 10, 3)).astype(np.float32)
    seen = []

    def stylize(image):
        seen.append(image)
        return tf.clip_by_value(1.0 - image, 0.0, 1.0)

    out = temporal.stylize_frames(stylize, frames, progress=False)
    assert out.shape == frames.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0 - frames, atol=1e-6)
    assert [tuple(s.shape) for s in seen] == [(1, 6, 10, 3)] * 3 and all(isinstance(s, tf.Tensor) for s in seen)
    for t in range(3):
        np.testing.assert_array_equal(seen[t].numpy()[0], frames[t])
    assert capsys.readouterr().err == ""                 # no bar when progress is False
    temporal.stylize_frames(stylize, frames, progress=True, desc="the clip")
    err = capsys.readouterr().err
    assert "the clip" in err and "3/3" in err, err
    with pytest.raises(video.VideoError, match=r"^stylize's output: frame 0 has values in .*divide 0-255 values by 255"):
        temporal.stylize_frames(lambda x: x * 200.0 + 1.0, frames[:1], progress=False)  # the function's fault, not the frames'


def test_stylize_optimizer_defaults_to_30_steps_with_a_bar_named_after_its_method_and_refuses_by_name(monkeypatch, capsys):
    frames, flows, masks = _still(2, 12)
    calls = []

    def fake_transfer(content, style_, **kwargs):
        calls.append(kwargs)
        return optimize.TransferResult(tf.constant(np.asarray(content)), {"total": [1.0]}, {})

    monkeypatch.setattr(optimize, "transfer", fake_transfer)
    temporal.stylize_optimizer(frames, frames[0], flows, masks, temporal_weight=0.5)   # a weight below 1 is a weight
    assert [c["steps"] for c in calls] == [30, 30] and calls[1]["terms"][0].weight == 0.5
    err = capsys.readouterr().err
    assert "Ruder et al." in err and "2/2" in err, err
    temporal.stylize_optimizer(frames, frames[0], flows, masks, temporal=False)
    err = capsys.readouterr().err
    assert "independent frames" in err and "2/2" in err and "Ruder" not in err, err
    temporal.stylize_frames(lambda image: image, frames)
    err = capsys.readouterr().err
    assert "frames" in err and "2/2" in err, err
    calls.clear()
    _refused("progress", lambda: temporal.stylize_optimizer(frames, frames[0], flows, masks, progress="no"), "not True or False")
    _refused("temporal_weight", lambda: temporal.stylize_optimizer(frames, frames[0], flows, masks, temporal_weight=-1.0), "must be >= 0")
    message = _refused("histories", lambda: temporal.stylize_optimizer(frames, frames[0], flows, masks, histories=()), "not a list")
    assert message.startswith("histories = ()") and "pass a list (it receives one history per frame), or None" in message, message
    message = _refused("stylize", lambda: temporal.stylize_frames("hub", frames), "not callable")
    assert message.startswith("stylize = 'hub'") and "pass a function of a [1, H, W, 3] image" in message, message
    assert calls == []
