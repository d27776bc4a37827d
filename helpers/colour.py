"""Colour: the YIQ colour space, and the two ways of keeping a photo's colours in a stylised image.

* Luminance-only transfer (Gatys et al. 2017): stylise the brightness channel Y alone, then put the result under
  the photo's own chroma channels I and Q (``match_luminance`` before, ``combine_luminance`` after).
* Colour-histogram matching: recolour the style image so its colours have the photo's mean and covariance
  before stylising (``match_color_histogram``).

Notebook 03 uses both inside the optimiser (``transfer(..., preserve_color=...)``); notebook 02 applies
``combine_luminance`` to the Hub model's output.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import images


def rgb_to_yiq(image: tf.Tensor) -> tf.Tensor:
    """RGB [..., 3] in [0, 1] -> YIQ [..., 3] (Y in [0, 1])."""
    return tf.image.rgb_to_yiq(tf.convert_to_tensor(image, tf.float32))


def yiq_to_rgb(image: tf.Tensor) -> tf.Tensor:
    """YIQ [..., 3] -> RGB [..., 3] clipped to [0, 1]."""
    return images.clip_0_1(tf.image.yiq_to_rgb(tf.convert_to_tensor(image, tf.float32)))


def luminance(image: tf.Tensor) -> tf.Tensor:
    """The luminance Y of an RGB image [1, H, W, 3], repeated on three channels: [1, H, W, 3] in [0, 1]."""
    y = rgb_to_yiq(image)[..., :1]
    return tf.repeat(y, 3, axis=-1)


def match_luminance(style: tf.Tensor, content: tf.Tensor) -> tf.Tensor:
    """Grey style image whose luminance has the content's mean and standard deviation (Gatys et al. 2017)."""
    style, content = images.check_image(style, "style"), images.check_image(content, "content")
    ys, yc = rgb_to_yiq(style)[..., :1], rgb_to_yiq(content)[..., :1]
    ms, ss = tf.reduce_mean(ys), tf.math.reduce_std(ys)
    mc, sc = tf.reduce_mean(yc), tf.math.reduce_std(yc)
    y = (ys - ms) * (sc / (ss + 1e-8)) + mc
    return tf.repeat(tf.clip_by_value(y, 0.0, 1.0), 3, axis=-1)


def combine_luminance(stylised_luminance: tf.Tensor, content: tf.Tensor) -> tf.Tensor:
    """Put the luminance of `stylised_luminance` under the content's I and Q channels: [1, H, W, 3] in [0, 1]."""
    stylised_luminance, content = images.check_image(stylised_luminance, "stylised_luminance"), images.check_image(content, "content")
    if stylised_luminance.shape[1:3] != content.shape[1:3]:
        raise images.ImageLoadError(f"stylised_luminance is {stylised_luminance.shape[2]}x{stylised_luminance.shape[1]} px but content is "
                                    f"{content.shape[2]}x{content.shape[1]}; resize one to the other first")
    y = rgb_to_yiq(stylised_luminance)[..., :1]
    iq = rgb_to_yiq(content)[..., 1:]
    return yiq_to_rgb(tf.concat([y, iq], axis=-1))


def match_color_histogram(style: tf.Tensor, content: tf.Tensor) -> tf.Tensor:
    """Recolour `style` so its pixel colours have the content's mean and covariance (linear colour transfer)."""
    style, content = images.check_image(style, "style"), images.check_image(content, "content")
    s = np.asarray(style, np.float64).reshape(-1, 3)
    c = np.asarray(content, np.float64).reshape(-1, 3)
    mu_s, mu_c = s.mean(0), c.mean(0)
    cov_s = np.cov(s, rowvar=False) + 1e-5 * np.eye(3)
    cov_c = np.cov(c, rowvar=False) + 1e-5 * np.eye(3)

    def sqrtm(m, inverse=False):
        vals, vecs = np.linalg.eigh(m)
        vals = np.clip(vals, 1e-10, None) ** (-0.5 if inverse else 0.5)
        return (vecs * vals) @ vecs.T

    transform = sqrtm(cov_c) @ sqrtm(cov_s, inverse=True)
    out = (s - mu_s) @ transform.T + mu_c
    out = np.clip(out, 0.0, 1.0).reshape(np.asarray(style).shape).astype(np.float32)
    return tf.convert_to_tensor(out)
