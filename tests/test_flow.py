"""helpers.flow's refusals: frames and flows are checked by name before OpenCV sees them, and the warp's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import flow, video
from tests.refusals import refused


def _refused(name: str, call, *also: str) -> str:
    """`call` raises FlowError naming `name` (see tests/refusals.py)."""
    return refused(flow.FlowError, name, call, *also)


def _frame(seed=0, size=(24, 32)):
    return np.random.default_rng(seed).random((*size, 3)).astype(np.float32)


def test_flow_errors_are_the_courses_video_errors():
    assert issubclass(flow.FlowError, video.VideoError) and issubclass(flow.FlowError, ValueError)


def test_check_flow_refuses_a_flow_of_another_shape_or_with_nan():
    _refused("flow", lambda: flow.check_flow(np.zeros((8, 9, 2)), 8, 8), "the flow has shape (8, 9, 2)", "[8, 8, 2]")
    _refused("flow", lambda: flow.check_flow(np.zeros((8, 8)), 8, 8), "rank 2, not 3")
    _refused("flow", lambda: flow.check_flow("zero", 8, 8), "not an array of numbers")
    bad = np.zeros((4, 4, 2))
    bad[1, 2, 0] = np.inf
    _refused("forward", lambda: flow.check_flow(bad, 4, 4, "forward"), "1 of its 32 values are NaN or infinite")
    _refused("height", lambda: flow.check_flow(bad, 4.0, 4), "a float, not a whole number")
    assert flow.check_flow(np.ones((4, 4, 2), np.int64), 4, 4).dtype == np.float32


def test_warp_refuses_what_is_not_one_image():
    f = np.zeros((8, 8, 2), np.float32)
    _refused("image", lambda: flow.warp(np.zeros((8, 8)), f), "rank 2, not 3 or 4")
    _refused("image", lambda: flow.warp(np.zeros((2, 8, 8, 3)), f), "a batch of 2", "image[i]")
    _refused("image", lambda: flow.warp(np.zeros((8, 8, 0)), f), "no pixels or no channels")
    _refused("image", lambda: flow.warp(np.full((8, 8, 3), np.nan), f), "NaN")
    _refused("image", lambda: flow.warp(np.zeros((8, 8, 3), bool), f), "bool values, not numbers")
    _refused("flow", lambda: flow.warp(np.zeros((8, 8, 3)), np.zeros((8, 9, 2))), "flow has shape")


def test_warp_moves_by_the_flow_and_says_what_left_the_picture():
    image = np.arange(5 * 6, dtype=np.float32).reshape(5, 6, 1)
    shift = np.zeros((5, 6, 2), np.float32)
    shift[..., 0] = 1.0  # each pixel takes the value one to its right
    warped, inside = flow.warp(image, shift)
    np.testing.assert_array_equal(warped[:, :-1, 0], image[:, 1:, 0])
    assert inside[:, :-1].all() and not inside[:, -1].any()  # x + 1 = 6 is past the last column, 5
    shift[..., 0], shift[..., 1] = 0.0, -1.0  # one row up
    warped, inside = flow.warp(image[None], shift)
    np.testing.assert_array_equal(warped[1:, :, 0], image[:-1, :, 0])
    assert inside[1:].all() and not inside[0].any()
    shift[..., 1] = 4.0  # y + 4 reaches the last row, 4, only from row 0: the bound is inclusive
    assert flow.warp(image, shift)[1].sum() == 6 and flow.warp(image, shift)[1][0].all()
    shift[..., 1], shift[..., 0] = 0.0, -0.5  # halfway between two columns: the mean of the two (bilinear)
    np.testing.assert_allclose(flow.warp(image, shift)[0][:, 1:, 0], image[:, 1:, 0] - 0.5)


def test_estimate_flow_refuses_frames_it_cannot_read_without_clipping():
    a = _frame(0)
    _refused("frame", lambda: flow.estimate_flow(a * 255, a), "values in", "outside [0, 1]", "divide 0-255 values by 255")
    _refused("previous", lambda: flow.estimate_flow(a, a - 0.5), "outside [0, 1]", "rescale")
    _refused("previous", lambda: flow.estimate_flow(a, a[:20]), "32x20 px but frame is 32x24")
    _refused("frame", lambda: flow.estimate_flow(a[..., :2], a), "pass an RGB frame")
    _refused("frame", lambda: flow.estimate_flow(np.stack([a, a]), a), "a batch of 2")
    small = a[:12, :12]
    _refused("frame", lambda: flow.estimate_flow(small, small), "12x12 px, under DIS's 16 px")
    assert flow.estimate_flow((a * 255).astype(np.uint8), a).shape == (24, 32, 2)  # uint8 is read as 0-255
    assert flow.estimate_flow(a[None], a).shape == (24, 32, 2)


def test_consistent_and_clip_flows_refuse_by_name():
    f = np.zeros((16, 16, 2), np.float32)
    _refused("forward flow", lambda: flow.consistent(f, f[:8]), "[16, 16, 2]")
    _refused("backward", lambda: flow.consistent(f[..., 0], f), "rank 2, not 3")
    assert flow.consistent(f, f).all()  # zero flows agree everywhere
    frames = np.stack([_frame(1, (16, 16)), _frame(2, (16, 16))])
    _refused("exact", lambda: flow.clip_flows(frames, exact=[f]), "1 flows for 2 frames")
    _refused("exact", lambda: flow.clip_flows(frames, exact="dis"), "not a list of flows")
    _refused("exact[1]", lambda: flow.clip_flows(frames, exact=[f, f[:8]]), "[16, 16, 2]")
    _refused("frames", lambda: flow.clip_flows(frames[:, :12]), "under DIS's 16 px")
    flows, masks = flow.clip_flows(frames[:, :12], exact=[f[:12], f[:12]])  # exact flows need no DIS: any size
    assert flows.shape == (2, 12, 16, 2) and masks[1].all() and not masks[0].any()
    with pytest.raises(video.VideoError, match="divide 0-255 values by 255"):
        flow.clip_flows(frames * 255)


# ------------------------------------------------------------------- the arithmetic of the consistency test and of DIS


def _consistent_by_hand(backward, forward):
    """Sundaram et al.'s test for integer flows, written out: sampling at x + w_b is then exact indexing."""
    height, width = backward.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    tx, ty = xs + backward[..., 0].astype(int), ys + backward[..., 1].astype(int)
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    there = forward[np.clip(ty, 0, height - 1), np.clip(tx, 0, width - 1)]
    round_trip = np.sum((backward + there) ** 2, -1)
    bound = 0.01 * (np.sum(backward**2, -1) + np.sum(there**2, -1)) + 0.5
    return inside & (round_trip <= bound)


def test_consistent_is_the_forward_backward_test_written_out():
    rng = np.random.default_rng(3)
    backward = rng.integers(-3, 4, (20, 24, 2)).astype(np.float32)
    # the forward flow undoes the backward one, give or take an error that passes the test at some pixels and not others
    forward = np.zeros_like(backward)
    ys, xs = np.mgrid[0:20, 0:24]
    tx, ty = np.clip(xs + backward[..., 0].astype(int), 0, 23), np.clip(ys + backward[..., 1].astype(int), 0, 19)
    forward[ty, tx] = -backward
    forward += rng.choice([0.0, 0.5, 1.0, 2.0], (20, 24, 1)).astype(np.float32)
    want = _consistent_by_hand(backward, forward)
    assert 0.2 < want.mean() < 0.8, "the example mixes reliable and unreliable pixels"
    np.testing.assert_array_equal(flow.consistent(backward, forward), want)


def test_consistent_uses_the_papers_bound():
    zero = np.zeros((16, 16, 2), np.float32)
    for dx, reliable in ((0.70, True), (0.72, False)):   # at w_b = 0: |w_f|^2 <= 0.01 |w_f|^2 + 0.5, i.e. |w_f| <= 0.7107
        forward = zero.copy()
        forward[..., 0] = dx
        assert flow.consistent(zero, forward).all() == reliable and flow.consistent(zero, forward).any() == reliable, dx
    backward = zero.copy()
    backward[..., 0] = 8.0                                # large flows get the relative slack: 0.01 * 2 * 64 + 0.5 = 1.78
    forward = -backward
    forward[..., 1] = 1.3                                 # a round trip of 1.3^2 = 1.69 passes, 1.4^2 = 1.96 does not
    assert flow.consistent(backward, forward)[:, :8].all()
    forward[..., 1] = 1.4
    assert not flow.consistent(backward, forward)[:, :8].any()
    assert not flow.consistent(backward, -backward)[:, 8:].any(), "pointing outside the previous frame is never reliable"


def test_warp_repeats_the_edge_outside_and_reads_uint8_as_numbers():
    image = np.arange(4 * 5, dtype=np.float32).reshape(4, 5, 1)
    far = np.zeros((4, 5, 2), np.float32)
    far[..., 0] = 10.0
    warped, inside = flow.warp(image, far)
    np.testing.assert_array_equal(warped[..., 0], np.repeat(image[:, -1:, 0], 5, axis=1))   # the last column, repeated
    assert not inside.any()
    half = np.zeros((1, 2, 2), np.float32)
    half[..., 0] = 0.5
    warped = flow.warp(np.array([[[0], [255]]], np.uint8), half)[0]
    assert warped.dtype == np.float32 and warped[0, 0, 0] == pytest.approx(127.5)


def _texture(size=(48, 64), seed=5):
    """A smooth random texture DIS can follow."""
    import cv2

    noise = np.random.default_rng(seed).random((size[0] + 16, size[1] + 16, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 1.5)


def test_dis_finds_a_known_shift_whatever_the_frame_type():
    big = _texture()
    previous, frame = big[8:56, 8:72], big[8:56, 5:69]   # the scene moved 3 px right: frame[x] = previous[x - 3]
    estimated = flow.estimate_flow(frame, previous)
    inner = estimated[8:-8, 8:-8]
    np.testing.assert_allclose(np.median(inner.reshape(-1, 2), axis=0), [-3.0, 0.0], atol=0.3)
    as_bytes = flow.estimate_flow((frame * 255).round().astype(np.uint8), (previous * 255).round().astype(np.uint8))
    assert as_bytes.dtype == np.float32
    np.testing.assert_allclose(np.median(as_bytes[8:-8, 8:-8].reshape(-1, 2), axis=0), [-3.0, 0.0], atol=0.3)
    red = np.zeros((16, 16, 3), np.float32)
    red[..., 0] = 1.0
    assert flow.estimate_flow(red, red).shape == (16, 16, 2), "16 px, DIS's smallest side, is accepted"
    np.testing.assert_array_equal(flow._grey(red), np.full((16, 16), 76, np.uint8))   # round(0.299 * 255)
    np.testing.assert_array_equal(flow._grey(np.ones((2, 2, 3))), np.full((2, 2), 255, np.uint8))


def test_clip_flows_estimates_each_frame_against_the_one_before():
    big = _texture((48, 96))
    frames = np.stack([big[8:56, 16 - 3 * t : 80 - 3 * t] for t in range(4)])   # 3 px to the right per frame
    flows, masks = flow.clip_flows(frames)
    assert flows.dtype == np.float32 and masks.dtype == bool and flows.shape == (4, 48, 64, 2)
    assert not flows[0].any() and not masks[0].any()
    for t in range(1, 4):
        np.testing.assert_allclose(np.median(flows[t, 8:-8, 8:-8].reshape(-1, 2), axis=0), [-3.0, 0.0], atol=0.3)
        assert masks[t, 8:-8, 8:-8].mean() > 0.8, "where DIS is right, the forward-backward test agrees"
        assert not masks[t, :, :2].any(), "the columns that came in from the left had no previous pixel"
    one = flow.clip_flows(frames[:1, :12, :12])   # one frame needs no flow, whatever its size
    assert one[0].shape == (1, 12, 12, 2) and not one[1].any()


def test_frames_are_read_in_zero_to_one_with_only_rounding_forgiven():
    np.testing.assert_array_equal(flow._frame("frame", np.full((2, 2, 3), 255, np.uint8)), np.ones((2, 2, 3), np.float32))
    assert flow._frame("frame", np.full((2, 2, 3), 51, np.uint8)).dtype == np.float32
    np.testing.assert_allclose(flow._frame("frame", np.full((2, 2, 3), 51, np.uint8)), 0.2)
    edge = np.full((2, 2, 3), 1.0 + video.TOLERANCE, np.float32)             # float arithmetic's overshoot: kept, clipped
    np.testing.assert_array_equal(flow._frame("frame", edge), np.ones((2, 2, 3), np.float32))
    np.testing.assert_array_equal(flow._frame("frame", -edge + 1.0), np.zeros((2, 2, 3), np.float32))
    for bad in (1.0 + 3 * video.TOLERANCE, 1.5, -3 * video.TOLERANCE):
        _refused("frame", lambda bad=bad: flow._frame("frame", np.full((2, 2, 3), bad, np.float32)), "outside [0, 1]")
    _refused("frame", lambda: flow._frame("frame", np.full((2, 2, 3), 255.0)), "divide 0-255 values by 255")
    _refused("frame", lambda: flow._frame("frame", np.zeros((2, 2, 1))), "pass an RGB frame")
    np.testing.assert_array_equal(flow._frame("frame", np.zeros((1, 1, 3))), np.zeros((1, 1, 3)))   # one pixel is a frame


def test_grey_weighs_the_channels_as_luma():
    for channel, level in ((0, 76), (1, 150), (2, 29)):   # round(255 * (0.299, 0.587, 0.114))
        pure = np.zeros((2, 2, 3), np.float32)
        pure[..., channel] = 1.0
        np.testing.assert_array_equal(flow._grey(pure), np.full((2, 2), level, np.uint8))


def test_clip_flows_estimates_on_frames_of_dis_smallest_side():
    big = _texture((16, 40))
    frames = np.stack([big[8:24, 8:24], big[8:24, 6:22]])
    flows, masks = flow.clip_flows(frames)
    assert flows.shape == (2, 16, 16, 2) and masks.shape == (2, 16, 16)


# Every refusal of the module, word for word: the argument, the value shown, the reason and the remedy (the mutation run of
# tests/README.md found each of these loose: a value shown as None, a remedy dropped, a width printed for the height).
_RGB = np.zeros((20, 20, 3))
REFUSALS = {
    "a flow of another size": (lambda: flow.check_flow(np.zeros((4, 5, 2)), 4, 6), flow.FlowError,
                               "flow = <array float64 of shape [4, 5, 2]>: the flow has shape (4, 5, 2), but a flow for a 6x4 frame is "
                               "[4, 6, 2]; pass one (dx, dy) per pixel of the frame it belongs to"),
    "a width of 0": (lambda: flow.check_flow(np.zeros((4, 5, 2)), 4, 0), flow.FlowError, "width = 0: must be >= 1; pass a whole number >= 1"),
    "a height of 0": (lambda: flow.check_flow(np.zeros((4, 5, 2)), 0, 5), flow.FlowError, "height = 0: must be >= 1; pass a whole number >= 1"),
    "a width as text": (lambda: flow.check_flow(np.zeros((4, 5, 2)), 4, "5"), flow.FlowError, "width = '5'"),
    "a batch to warp": (lambda: flow.warp(np.zeros((2, 4, 4, 3)), np.zeros((4, 4, 2))), flow.FlowError,
                        "image = <array float32 of shape [2, 4, 4, 3]>: a batch of 2; warp one image at a time, image[i]"),
    "an empty image to warp": (lambda: flow.warp(np.zeros((0, 4, 3)), np.zeros((0, 4, 2))), flow.FlowError,
                               "image = <array float32 of shape [0, 4, 3]>: no pixels or no channels; pass an image [H, W, C] with H, W, C >= 1"),
    "a batch of frames": (lambda: flow.estimate_flow(np.zeros((2, 20, 24, 3)), _RGB), flow.FlowError,
                          "frame = <array float64 of shape [2, 20, 24, 3]>: a batch of 2; pass one frame, frames[t]"),
    "a grey frame": (lambda: flow.estimate_flow(np.zeros((20, 20, 1)), _RGB), flow.FlowError,
                     "frame = <array float64 of shape [20, 20, 1]>: shape [20, 20, 1]; pass an RGB frame [H, W, 3]"),
    "a frame of rank 2": (lambda: flow.estimate_flow(np.zeros((20, 20)), _RGB), flow.FlowError,
                          "frame = <array float64 of shape [20, 20]>: rank 2, not 3 or 4; pass [H, W, 3]"),
    "0-255 floats from 0": (lambda: flow.estimate_flow(np.linspace(0, 255, 1200).reshape(20, 20, 3), _RGB), flow.FlowError,
                            "frame = <array float64 of shape [20, 20, 3]>: values in [0, 255], outside [0, 1]; divide 0-255 values by 255, "
                            "or pass uint8"),
    "floats past 255": (lambda: flow.estimate_flow(np.linspace(0, 255.5, 1200).reshape(20, 20, 3), _RGB), flow.FlowError,
                        "frame = <array float64 of shape [20, 20, 3]>: values in [0, 256], outside [0, 1]; rescale them to [0, 1] first"),
    "frames of two sizes": (lambda: flow.estimate_flow(np.zeros((20, 24, 3)), _RGB), flow.FlowError,
                            "previous = <array float32 of shape [20, 20, 3]>: 20x20 px but frame is 24x20; pass two frames of one clip (one size)"),
    "frames under DIS's side": (lambda: flow.estimate_flow(np.zeros((10, 12, 3)), np.zeros((10, 12, 3))), flow.FlowError,
                                "frame = <array float32 of shape [10, 12, 3]>: 12x10 px, under DIS's 16 px; estimate flows on frames of at "
                                "least 16 px a side (or pass exact flows)"),
    "exact flows that are no list": (lambda: flow.clip_flows(np.zeros((3, 20, 20, 3)), exact=5), flow.FlowError,
                                     "exact = 5: not a list of flows; pass the flows [T, H, W, 2] (T = 3), or None to estimate them"),
    "one exact flow too few": (lambda: flow.clip_flows(np.zeros((3, 20, 20, 3)), exact=np.zeros((2, 20, 20, 2))), flow.FlowError,
                               "exact = <array float64 of shape [2, 20, 20, 2]>: 2 flows for 3 frames; pass one flow per frame (flows[0] is unused)"),
    "a clip under DIS's side": (lambda: flow.clip_flows(np.zeros((3, 10, 12, 3))), flow.FlowError,
                                "frames = <array float32 of shape [3, 10, 12, 3]>: 12x10 px frames, under DIS's 16 px; estimate flows on frames "
                                "of at least 16 px a side, or pass exact flows"),
    "a clip with NaN": (lambda: flow.clip_flows(np.full((3, 20, 20, 3), np.nan)), video.VideoError,
                        "frames: frame 0 contains NaN or infinite values"),
    "an image of rank 2 to warp": (lambda: flow.warp(np.zeros((4, 4)), np.zeros((4, 4, 2))), flow.FlowError,
                                   "image = <array float64 of shape [4, 4]>: rank 2, not 3 or 4; pass [H, W, C] (or [1, H, W, C])"),
    "a flow of rank 2": (lambda: flow.check_flow(np.zeros((4, 4)), 4, 4), flow.FlowError,
                         "flow = <array float64 of shape [4, 4]>: rank 2, not 3; pass [4, 4, 2] (dx, dy per pixel)"),
    "a backward flow of rank 2": (lambda: flow.consistent(np.zeros((4, 4)), np.zeros((4, 4, 2))), flow.FlowError,
                                  "backward = <array float64 of shape [4, 4]>: rank 2, not 3; pass [H, W, 2]"),
    "a forward flow of another size": (lambda: flow.consistent(np.zeros((4, 4, 2)), np.zeros((4, 5, 2))), flow.FlowError,
                                       "forward flow = <array float64 of shape [4, 5, 2]>: the forward flow has shape (4, 5, 2), but a flow "
                                       "for a 4x4 frame is [4, 4, 2]; pass one (dx, dy) per pixel of the frame it belongs to"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_each_refusal_says_the_argument_value_reason_and_remedy_word_for_word(case):
    call, error, message = REFUSALS[case]
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_flow_for_a_one_pixel_frame_is_accepted_and_black_stays_black_in_grey():
    # the smallest frame a flow can describe is 1 x 1 (the sides' minimum is 1, not 2); black is grey level 0, not 1
    np.testing.assert_array_equal(flow.check_flow(np.zeros((1, 1, 2)), 1, 1), np.zeros((1, 1, 2), np.float32))
    np.testing.assert_array_equal(flow._grey(np.zeros((2, 2, 3))), np.zeros((2, 2), np.uint8))
