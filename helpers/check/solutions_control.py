"""Model answers to the exercises of notebook 06. Try the exercises first; read this file only to compare."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["guided_gram_matrix", "layer_masks"]


def guided_gram_matrix(features, mask):
    """[1, H, W, C] features and a [1, H, W, 1] mask -> [1, C, C]: sum_ij m_ij F_ijc F_ijd / sum_ij m_ij."""
    features = tf.convert_to_tensor(features, tf.float32)
    mask = tf.convert_to_tensor(mask, tf.float32)
    weighted = tf.einsum("bijc,bijd->bcd", mask * features, features)  # the mask weights each location once
    return weighted / tf.reduce_sum(mask)  # divide by the region's size, not by H*W


def layer_masks(mask, layers):
    """A [1, H, W, 1] mask -> {layer: the mask resized (area) to that VGG19 layer's map: H and W halved per pooling before it}."""
    order = ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
             "block3_conv1", "block3_conv2", "block3_conv3", "block3_conv4", "block3_pool",
             "block4_conv1", "block4_conv2", "block4_conv3", "block4_conv4", "block4_pool",
             "block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4", "block5_pool"]
    mask = tf.convert_to_tensor(mask, tf.float32)
    result = {}
    for layer in layers:
        pools = sum(1 for name in order[: order.index(layer)] if name.endswith("_pool"))
        height, width = mask.shape[1], mask.shape[2]
        for _ in range(pools):
            height, width = height // 2, width // 2  # a 2x2 pooling halves the map, rounding down
        result[layer] = tf.image.resize(mask, (height, width), method="area")
    return result
