"""Model answers to the exercises of notebook 07 (what is style?). Try the exercises first; read this file only to compare."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["mean_std_loss", "sliced_projection"]


def mean_std_loss(features, target_features):
    """Two [1, H, W, C] feature maps -> mean_c (mu_c - mu'_c)^2 + mean_c (s_c - s'_c)^2, s = sqrt(population variance + 1e-5)."""
    f = tf.convert_to_tensor(features, tf.float32)
    t = tf.convert_to_tensor(target_features, tf.float32)
    mean_f, var_f = tf.nn.moments(f, axes=[0, 1, 2])  # each channel's mean and variance over every location
    mean_t, var_t = tf.nn.moments(t, axes=[0, 1, 2])
    std_f, std_t = tf.sqrt(var_f + 1e-5), tf.sqrt(var_t + 1e-5)
    return tf.reduce_mean(tf.square(mean_f - mean_t)) + tf.reduce_mean(tf.square(std_f - std_t))


def sliced_projection(features, target_features, direction):
    """Two [1, H, W, C] feature maps of the same size and a unit vector [C] -> the mean squared difference of the
    sorted projections of their pixels on it (one direction of the sliced Wasserstein loss)."""
    c = tf.shape(features)[-1]
    d = tf.convert_to_tensor(direction, tf.float32)
    a = tf.sort(tf.linalg.matvec(tf.reshape(tf.convert_to_tensor(features, tf.float32), [-1, c]), d))
    b = tf.sort(tf.linalg.matvec(tf.reshape(tf.convert_to_tensor(target_features, tf.float32), [-1, c]), d))
    return tf.reduce_mean(tf.square(a - b))
