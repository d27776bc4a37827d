"""Colour: YIQ, luminance-only transfer and colour-histogram matching compute what notebook 03 teaches."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import colour, images


def _image(seed: int, low: float = 0.2, high: float = 0.8, size=(24, 32)) -> tf.Tensor:
    """A smooth random image [1, H, W, 3] with values in [low, high] (no clipping at 0 or 1 anywhere)."""
    rng = np.random.default_rng(seed)
    return tf.constant((low + (high - low) * rng.random((1, *size, 3))).astype(np.float32))


def _y(image) -> np.ndarray:
    return np.asarray(colour.rgb_to_yiq(image))[..., 0]


def test_yiq_round_trip_and_luminance():
    image = _image(0)
    np.testing.assert_allclose(colour.yiq_to_rgb(colour.rgb_to_yiq(image)).numpy(), image.numpy(), atol=1e-4)
    lum = colour.luminance(image).numpy()
    assert lum.shape == (1, 24, 32, 3) and np.allclose(lum[..., 0], lum[..., 2])
    np.testing.assert_allclose(lum[..., 0], 0.299 * image[..., 0] + 0.587 * image[..., 1] + 0.114 * image[..., 2], atol=1e-5)
    assert colour.yiq_to_rgb(tf.constant([[[[2.0, 0.0, 0.0]]]])).numpy().max() == 1.0  # clipped to [0, 1]


def test_match_luminance_matches_the_contents_mean_and_standard_deviation():
    style, content = _image(1, 0.0, 1.0), _image(2, 0.4, 0.6)  # a wide style, a narrow content: the std must shrink
    out = colour.match_luminance(style, content).numpy()
    assert out.shape == (1, 24, 32, 3) and np.allclose(out[..., 0], out[..., 1])
    y_out, y_content, y_style = out[..., 0], _y(content), _y(style)
    np.testing.assert_allclose(y_out.mean(), y_content.mean(), atol=1e-4)
    np.testing.assert_allclose(y_out.std(), y_content.std(), rtol=1e-3)  # without the std matching this is y_style.std()
    assert y_style.std() > 2 * y_content.std()
    # the grey style keeps the style's pattern: a linear function of its luminance
    assert np.corrcoef(y_out.ravel(), y_style.ravel())[0, 1] > 0.999


def test_combine_luminance_keeps_the_contents_chroma():
    stylised, content = _image(3, 0.4, 0.6), _image(4, 0.4, 0.6)  # no pixel clips when Y and IQ are recombined
    out = colour.combine_luminance(stylised, content)
    yiq_out, yiq_content = colour.rgb_to_yiq(out).numpy(), colour.rgb_to_yiq(content).numpy()
    np.testing.assert_allclose(yiq_out[..., 0], _y(stylised), atol=2e-3)
    np.testing.assert_allclose(yiq_out[..., 1:], yiq_content[..., 1:], atol=2e-3)
    with pytest.raises(images.ImageLoadError, match="resize one to the other"):
        colour.combine_luminance(_image(3, size=(24, 30)), content)


def test_match_color_histogram_matches_mean_and_covariance():
    rng = np.random.default_rng(5)
    style = tf.constant(np.clip(0.5 + 0.1 * rng.standard_normal((1, 40, 40, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 0.3]]),
                                0, 1).astype(np.float32))
    content = tf.constant(np.clip(0.4 + 0.08 * rng.standard_normal((1, 40, 40, 3)), 0, 1).astype(np.float32))
    out = colour.match_color_histogram(style, content).numpy().reshape(-1, 3)
    c = content.numpy().reshape(-1, 3)
    np.testing.assert_allclose(out.mean(0), c.mean(0), atol=2e-3)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.cov(c, rowvar=False), atol=2e-4)
    assert out.shape == (1600, 3) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("bad, match", [
    (np.zeros((24, 32)), r"style must have shape \[1, H, W, 3\]"),
    (np.full((1, 8, 8, 3), 200.0, np.float32), r"style has values in \[200, 200\]"),
    (np.full((1, 8, 8, 3), np.nan, np.float32), "style contains NaN"),
])
def test_colour_functions_refuse_a_bad_image_by_name(bad, match):
    with pytest.raises(images.ImageLoadError, match=match):
        colour.match_luminance(bad, _image(0))
    with pytest.raises(images.ImageLoadError, match=match):
        colour.match_color_histogram(bad, _image(0))


def test_match_color_histogram_gives_each_channel_its_own_mean_and_stays_a_float32_image():
    rng = np.random.default_rng(7)
    style = tf.constant(np.clip(0.5 + 0.1 * rng.standard_normal((1, 30, 40, 3)), 0, 1).astype(np.float32))
    content = tf.constant(np.clip(np.array([0.2, 0.5, 0.8]) + 0.03 * rng.standard_normal((1, 30, 40, 3)), 0, 1).astype(np.float32))
    out = colour.match_color_histogram(style, content)
    assert out.dtype == tf.float32 and tuple(out.shape) == (1, 30, 40, 3)  # the style's shape, as an image tensor
    np.testing.assert_allclose(out.numpy().reshape(-1, 3).mean(0), [0.2, 0.5, 0.8], atol=5e-3)  # per channel, not one mean


def test_match_color_histogram_clips_to_the_unit_range():
    rng = np.random.default_rng(8)
    style = tf.constant(np.clip(0.5 + 0.2 * rng.standard_t(2, (1, 40, 40, 3)), 0, 1).astype(np.float32))  # heavy tails
    content = tf.constant(rng.random((1, 40, 40, 3)).astype(np.float32))  # spread over all of [0, 1]
    out = colour.match_color_histogram(style, content).numpy()
    assert out.min() == 0.0 and out.max() == 1.0  # the linear map overshoots at both ends, and is clipped there


@pytest.mark.parametrize("function", [colour.combine_luminance, colour.match_color_histogram])
def test_colour_functions_name_which_image_is_bad(function):
    first = "stylised_luminance" if function is colour.combine_luminance else "style"
    nan = np.full((1, 8, 8, 3), np.nan, np.float32)
    with pytest.raises(images.ImageLoadError, match=f"^{first} contains NaN"):
        function(nan, _image(0, size=(8, 8)))
    with pytest.raises(images.ImageLoadError, match="^content contains NaN"):
        function(_image(0, size=(8, 8)), nan)


def test_combine_luminance_gives_both_sizes_as_width_x_height():
    with pytest.raises(images.ImageLoadError, match=r"^stylised_luminance is 30x24 px but content is 32x20; resize one to the other"):
        colour.combine_luminance(_image(3, size=(24, 30)), _image(4, size=(20, 32)))
