"""Words for a picture's colours: mean brightness, colourfulness and main hue, and a few words that say them."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import colour

#: Hue angles (degrees) where one hue's name ends and the next begins, and the names between them (red wraps round).
HUE_EDGES = [15, 45, 70, 170, 200, 260, 290, 345]
HUE_NAMES = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "red"]
#: A mean colourfulness below this counts as nearly grey: its main hue says little.
GREY = 0.1


def colour_facts(image) -> tuple[float, float, str]:
    """(mean brightness Y, mean colourfulness max(RGB) - min(RGB), name of the main hue) of [1, H, W, 3] in [0, 1]."""
    rgb = tf.convert_to_tensor(image, tf.float32)
    if rgb.shape.rank != 4 or rgb.shape[-1] != 3:
        raise ValueError(f"image: shape {tuple(rgb.shape)}; expected [1, H, W, 3] in [0, 1] (images.load_img gives one)")
    brightness = float(tf.reduce_mean(colour.rgb_to_yiq(rgb)[..., 0]))
    chroma = (tf.reduce_max(rgb, axis=-1) - tf.reduce_min(rgb, axis=-1)).numpy().ravel()   # 0 for grey, black, white
    bins = np.digitize(360 * tf.image.rgb_to_hsv(rgb)[..., 0].numpy().ravel(), HUE_EDGES)
    weight = np.bincount(bins, weights=chroma, minlength=len(HUE_NAMES))    # each pixel counts by its chroma
    share = {name: weight[[i for i, n in enumerate(HUE_NAMES) if n == name]].sum() for name in HUE_NAMES}
    return brightness, float(chroma.mean()), max(share, key=share.get)


def in_words(brightness: float, colourfulness: float, hue: str) -> str:
    """A few words for colour_facts' numbers, judged as a table prints them (two decimals): 'dark, mostly blue'."""
    brightness, colourfulness = round(brightness, 2), round(colourfulness, 2)
    tone = "dark" if brightness < 0.35 else "light" if brightness > 0.65 else "medium-bright"
    return f"{tone}, nearly grey" if colourfulness < GREY else f"{tone}, mostly {hue}"
