"""Model answers to the exercises of notebook 02. Try the exercises first; read this file only to compare.

Each answer is plain tensor arithmetic, so a reader can hold it against the formula in the exercise.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["interpolate", "blend", "blur_style"]


def interpolate(v1, v2, t):
    """Two style vectors [1, 1, 1, 100] and 0 <= t <= 1 -> (1 - t) v1 + t v2; ValueError for t outside [0, 1]."""
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t = {t} is outside [0, 1]: that would extrapolate beyond either style")
    return (1.0 - t) * v1 + t * v2


def blend(vectors, weights):
    """A list of style vectors and their weights -> sum_i w_i v_i; ValueError when the weights do not sum to 1."""
    if len(vectors) != len(weights):
        raise ValueError(f"{len(vectors)} vectors but {len(weights)} weights")
    if abs(sum(weights) - 1.0) > 1e-6:  # a small rounding error is allowed: 0.7 + 0.2 + 0.1 != 1.0 exactly
        raise ValueError(f"the weights sum to {sum(weights)}, not 1")
    return tf.add_n([w * v for v, w in zip(vectors, weights)])


def blur_style(style):
    """[1, H, W, 3] -> the same size, each pixel the mean of the pixels of its 3 x 3 neighbourhood inside the image."""
    style = tf.convert_to_tensor(style, tf.float32)
    height, width = style.shape[1], style.shape[2]
    padded = tf.pad(style, [[0, 0], [1, 1], [1, 1], [0, 0]])  # zeros around the border
    inside = tf.pad(tf.ones_like(style), [[0, 0], [1, 1], [1, 1], [0, 0]])  # 1 where a pixel exists
    total = tf.add_n([padded[:, dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3)])
    count = tf.add_n([inside[:, dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3)])
    return total / count  # 4 at a corner, 6 on an edge, 9 inside
