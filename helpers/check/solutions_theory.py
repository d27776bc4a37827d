"""Model answers to the exercises of notebook 01. Try the exercises first; read this file only to compare.

Each function follows the paper's equation directly, so a reader can hold the code against the formula.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["gram_matrix", "content_loss", "style_loss"]


def _unnormalised_gram(features):
    """[1, H, W, C] -> [1, C, C]: F^T F with F the [H*W, C] matrix of locations x channels (no division)."""
    features = tf.convert_to_tensor(features, tf.float32)
    channels = tf.shape(features)[3]
    matrix = tf.reshape(features, [-1, channels])  # [H*W, C]: one row per location (y, x)
    return tf.matmul(matrix, matrix, transpose_a=True)[tf.newaxis]


def gram_matrix(features):
    """[1, H, W, C] -> [1, C, C]: G_cd = sum_yx F_yxc F_yxd, divided by the number of locations H*W."""
    features = tf.convert_to_tensor(features, tf.float32)
    locations = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return _unnormalised_gram(features) / locations


def content_loss(features, target_features):
    """Two [1, H, W, C] feature maps -> scalar 1/2 sum (F - P)^2."""
    diff = tf.convert_to_tensor(features, tf.float32) - tf.convert_to_tensor(target_features, tf.float32)
    return 0.5 * tf.reduce_sum(tf.square(diff))


def style_loss(features, target_features):
    """Two [1, H, W, C] feature maps -> scalar E_l = sum (G - A)^2 / (4 N^2 M^2), G and A unnormalised Grams."""
    features = tf.convert_to_tensor(features, tf.float32)
    n = tf.cast(tf.shape(features)[3], tf.float32)  # N_l: number of feature maps (channels)
    m = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)  # M_l: locations H*W
    g, a = _unnormalised_gram(features), _unnormalised_gram(target_features)
    return tf.reduce_sum(tf.square(g - a)) / (4.0 * n**2 * m**2)
