"""Exercise checks for notebook 06 (controlling the result): the guided Gram matrix and carrying a mask to each layer.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``guided_gram_matrix(features, mask)``: features ``[1, H, W, C]`` and a mask ``[1, H, W, 1]`` in [0, 1] -> ``[1, C, C]``,
  G_cd = sum_ij m_ij F_ijc F_ijd / sum_ij m_ij (helpers.losses.guided_gram_matrix).
* ``layer_masks(mask, layers)``: a mask ``[1, H, W, 1]`` and VGG19 style-layer names -> ``{layer: [1, h, w, 1]}``, the
  mask resized with ``tf.image.resize(..., method="area")`` to each layer's map size, which is the image's size
  halved (rounded down) once per pooling before the layer (helpers.masks.layer_masks with mode="simple").

Each check runs the function on random inputs, prints ✓ or what differs with a hint, and returns True or False. While
it runs, the course's own functions are hidden, so an answer that only calls them is reported.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import losses, masks, vgg
from helpers.check import solutions_control as solutions
from helpers.check._common import call, compare, hidden, report

__all__ = ["guided_gram_matrix", "layer_masks"]

#: Feature shapes [1, H, W, C] for the guided Gram check: H != W, and H*W differs from C.
SHAPES = [(1, 7, 5, 4), (1, 6, 9, 3), (1, 8, 8, 6)]
#: Image sizes (H, W) for the mask-resizing check: odd sizes, so rounding down matters.
SIZES = [(45, 70), (64, 48), (33, 33)]

_REF_GUIDED = losses.guided_gram_matrix
_REF_LAYER_MASKS = masks.layer_masks


def _features(shape, seed: int) -> tf.Tensor:
    """Random non-negative features (as after a ReLU) of `shape`, float32."""
    rng = np.random.default_rng(seed)
    return tf.constant(np.maximum(rng.normal(0.2, 1.0, size=shape), 0.0).astype(np.float32))


def _soft_mask(height: int, width: int, seed: int) -> tf.Tensor:
    """A mask [1, H, W, 1] with 0s, 1s and grey values (a soft edge), so that m and m^2 differ."""
    rng = np.random.default_rng(seed)
    values = rng.choice([0.0, 1.0, 0.25, 0.5, 0.8], size=(height, width), p=[0.3, 0.4, 0.1, 0.1, 0.1])
    values[0, 0] = 1.0
    return tf.constant(values[None, :, :, None].astype(np.float32))


def _close(got, want) -> bool:
    """got (any array-like) equals want to float32 precision."""
    try:
        arr = np.asarray(got, np.float64)
    except Exception:  # noqa: BLE001 - not convertible: not close
        return False
    return arr.shape == np.shape(want) and np.allclose(arr, want, rtol=1e-4, atol=1e-6)


def _guided_hint(got, features, mask) -> str | None:
    """The likely mistake behind a wrong guided Gram matrix, from the usual wrong normalisations."""
    x, m = np.asarray(features, np.float64), np.asarray(mask, np.float64)
    height, width = x.shape[1], x.shape[2]
    outer = np.einsum("bijc,bijd->bcd", x * m, x)
    squared = np.einsum("bijc,bijd->bcd", x * m, x * m)
    total, total_sq = m.sum(), (m * m).sum()
    candidates = [
        (outer / (height * width), "you divided by H*W, the whole image's size: divide by the mask's sum (the region's size), "
                                   "so that a small region's Gram matrix is as large as a whole image's"),
        (outer, "there is no normalisation: divide by the mask's sum, sum_ij m_ij"),
        (squared / total, "the mask is applied to both factors (m^2 weights each location): weight each location once, "
                          "e.g. (m * F)^T F"),
        (squared / total_sq, "you multiplied both factors by the mask (the paper's T * F): for a grey (soft) mask that weights "
                             "locations by m^2; weight each location once, (m * F)^T F / sum(m)"),
        (np.einsum("bijc,bijd->bcd", x, x) / (height * width), "the mask is not used: this is the plain Gram matrix of the whole image"),
        (np.einsum("bijc,bijd->bcd", x, x) / total, "the mask only appears in the divisor: also weight each location by m_ij"),
    ]
    for candidate, hint in candidates:
        if _close(got, candidate):
            return hint
    return None


def guided_gram_matrix(fn) -> bool:
    """Check fn(features [1, H, W, C], mask [1, H, W, 1]) == sum_ij m_ij F_ijc F_ijd / sum_ij m_ij; print ✓ or what differs."""
    name = "guided_gram_matrix"
    cases = []
    for k, shape in enumerate(SHAPES):
        x, m = _features(shape, seed=k), _soft_mask(shape[1], shape[2], seed=10 + k)
        cases.append((shape, x, m, _REF_GUIDED(x, m).numpy()))
    x_ones = _features((1, 6, 5, 3), seed=99)
    plain = losses.gram_matrix(x_ones).numpy()
    with hidden(losses, "guided_gram_matrix", "guided_style_loss"), hidden(solutions, "guided_gram_matrix"):
        for shape, x, m, want in cases:
            got, error = call(fn, x, m)
            where = f"for features of shape {list(shape)} and a mask with grey values"
            if error:
                return report(name, [f"{where} it {error}"])
            if got is None:
                return report(name, [f"{where} it returned None: write the body and `return` the matrix"])
            problems = compare(got, want)
            if problems:
                hint = _guided_hint(got, x, m)
                return report(name, [f"{where}: {problems[0]}"] + ([hint] if hint else []))
        got, error = call(fn, x_ones, tf.ones((1, 6, 5, 1)))
        if error or not _close(got, plain):
            return report(name, ["with a mask of ones the result must be the plain Gram matrix (losses.gram_matrix)"])
    return report(name, [])


def layer_masks(fn) -> bool:
    """Check fn(mask [1, H, W, 1], layers) == {layer: the mask area-resized to that layer's map}; print ✓ or what differs."""
    name = "layer_masks"
    layers = list(vgg.STYLE_LAYERS)
    cases = []
    for k, (height, width) in enumerate(SIZES):
        mask = _soft_mask(height, width, seed=20 + k)
        cases.append((height, width, mask, _REF_LAYER_MASKS(mask, layers, "simple"), masks.layer_sizes((height, width), layers)))
    with hidden(masks, "layer_masks", "resize", "layer_sizes"), hidden(solutions, "layer_masks"):
        for height, width, mask, want, sizes in cases:
            got, error = call(fn, mask, layers)
            where = f"for a {height}x{width} mask"
            if error:
                return report(name, [f"{where} it {error}"])
            if not isinstance(got, dict):
                return report(name, [f"{where} it returned {type(got).__name__}; return a dict {{layer name: mask}}"])
            missing = [n for n in layers if n not in got]
            if missing:
                return report(name, [f"{where} the result has no entry for {missing}; one mask per layer name given"])
            for layer in layers:
                arr = np.asarray(got[layer], np.float64) if got[layer] is not None else None
                expected = want[layer].numpy()
                h, w = sizes[layer]
                pools = sum(1 for n in vgg.ALL_LAYERS[: vgg.ALL_LAYERS.index(layer)] if n.endswith("_pool"))
                if arr is None or arr.shape != expected.shape:
                    shape = None if arr is None else arr.shape
                    hint = (f"{layer} comes after {pools} pooling(s), each halving the size and rounding down: "
                            f"{height}x{width} -> {h}x{w}, so the mask must be [1, {h}, {w}, 1]")
                    return report(name, [f"{where}: {layer} has shape {shape}, expected {expected.shape}", hint])
                if not np.allclose(arr, expected, atol=1e-4):
                    problems = compare(arr, expected, atol=1e-4)
                    hint = ("close: use tf.image.resize(mask, size, method='area'), so each value is the share of that "
                            "neuron's patch of the image that lies in the region"
                            if abs(arr.mean() - expected.mean()) < 0.03 else
                            "the values do not keep the region's share of the map: resize with method='area'")
                    return report(name, [f"{where}, layer {layer}: {problems[0]}", hint])
    return report(name, [])
