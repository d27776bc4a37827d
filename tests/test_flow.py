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
