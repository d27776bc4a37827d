"""helpers.describe: the colour facts of plain pictures, and the words chosen from them."""

from __future__ import annotations

import pytest

from helpers import describe


def _plain(r, g, b):
    import tensorflow as tf

    return tf.ones([1, 8, 8, 3]) * tf.constant([r, g, b], tf.float32)


@pytest.mark.parametrize("rgb, words", [((0.9, 0.1, 0.1), "mostly red"), ((0.1, 0.2, 0.9), "mostly blue"),
                                        ((0.1, 0.8, 0.2), "mostly green"), ((0.95, 0.6, 0.1), "mostly orange")])
def test_a_plain_colour_is_named_by_its_hue(rgb, words):
    assert describe.in_words(*describe.colour_facts(_plain(*rgb))).endswith(words)


@pytest.mark.parametrize("level, tone", [(0.05, "dark"), (0.5, "medium-bright"), (0.95, "light")])
def test_black_grey_and_white_are_nearly_grey_at_their_brightness(level, tone):
    brightness, colourfulness, _ = describe.colour_facts(_plain(level, level, level))
    assert colourfulness == pytest.approx(0.0) and brightness == pytest.approx(level, abs=1e-3)
    assert describe.in_words(brightness, colourfulness, "red") == f"{tone}, nearly grey"


def test_the_grey_threshold_is_judged_as_printed():
    assert describe.in_words(0.5, describe.GREY - 0.004, "blue") == "medium-bright, mostly blue"   # prints as GREY
    assert describe.in_words(0.5, describe.GREY - 0.006, "blue") == "medium-bright, nearly grey"


def test_a_wrong_shape_is_refused_by_name():
    import tensorflow as tf

    with pytest.raises(ValueError, match=r"image: shape \(8, 8, 3\); expected \[1, H, W, 3\]"):
        describe.colour_facts(tf.zeros([8, 8, 3]))
