"""The helpers that read notebook 05's training run into words."""

import numpy as np

from helpers import feedforward


def _history(style, content, steps):
    n = len(style)
    return {"loss": list(np.add(style, content) + 0.01), "style": list(style), "content": list(content), "tv": [0.01] * n,
            "steps": steps}


def _frames(values, shape=(1, 6, 9, 3)):
    return {step: np.full(shape, v, np.float32) for step, v in values.items()}


def test_largest_change_region_names_where_two_images_differ_most():
    a = np.zeros((1, 9, 12, 3), np.float32)
    b = a.copy()
    b[0, 7:, :3] = 1.0  # bottom left
    region, diff = feedforward.largest_change_region(a, b)
    assert region == "bottom left" and diff.shape == (9, 12) and diff.max() == 1.0
    b = a.copy()
    b[0, 3:6, 4:8] = 0.5
    assert feedforward.largest_change_region(a, b)[0] == "centre"
    # a change spread over the picture names no region: the largest ninth must stand out from the median ninth
    b = np.full_like(a, 0.10)
    b[0, 6:, 8:] = 0.12   # bottom right 1.2x the others: not enough
    assert feedforward.largest_change_region(a, b)[0] is None
    b[0, 6:, 8:] = 0.14   # 1.4x: named
    assert feedforward.largest_change_region(a, b)[0] == "bottom right"
    assert feedforward.largest_change_region(a, a)[0] is None   # no change at all


def test_read_training_reports_change_per_step_and_follows_the_settling_order():
    n = 100
    steps = np.arange(n)
    style = 2 * np.exp(-steps / 5) + 0.5          # settles early
    content = 2 - steps / n                       # falls steadily to the end
    # frames at unequal gaps: the change per step falls, though the change per pair does not
    frames = _frames({0: 0.0, 10: 0.5, 20: 0.7, 60: 0.9, 100: 0.95})
    out = feedforward.read_training(_history(style, content, n), frames, [0, 10, 20, 60, 100])
    np.testing.assert_allclose(out["per_step"], [0.05, 0.02, 0.005, 0.00125], rtol=1e-5)
    assert "fell with every later pair" in out["text"]
    assert "weighted style term fell" in out["text"] and "the style term settled first" in out["text"]
    assert out["look"].index("style's colours") < out["look"].index("the content term, still falling")
    # the content term settles first: the instruction follows
    out = feedforward.read_training(_history(content, style, n), frames, [0, 10, 20, 60, 100])
    assert "content term settled first" in out["text"] and out["look"].index("shapes") < out["look"].index("style's colours")


def test_read_training_says_when_the_change_per_step_rises_again():
    frames = _frames({0: 0.0, 25: 0.5, 50: 0.6, 60: 0.7})  # per step: 0.02, 0.004, 0.01
    history = _history(np.linspace(2, 1, 60), np.linspace(2, 1.5, 60), 60)
    out = feedforward.read_training(history, frames, [0, 25, 50, 60])
    assert "did not fall with every later pair" in out["text"]
    assert any("per step" in line for line in out["lines"])
