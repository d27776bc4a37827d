"""The losses of neural style transfer: Gram matrices, content, style, total variation, and their sum.

Two normalisations are offered, because the literature uses both:

* ``form="mean"`` (the TF tutorial): mean squared errors, averaged over layers.
* ``form="paper"`` (Gatys et al. 2015): L_content = 1/2 sum (F - P)^2 and
  E_l = 1/(4 N_l^2 M_l^2) sum (G - A)^2 over *unnormalised* Gram matrices. With Gram matrices
  normalised by the number of locations M_l (as ``gram_matrix`` returns them), this is exactly
  sum (G - A)^2 / (4 N_l^2).
* ``form="relative"``: sum (G - A)^2 / sum A^2 per style layer, which balances layers whose
  features have very different magnitudes (any weights; the course's default for random VGG19 and for
  comparing feature networks).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import validate

FORMS = ("mean", "paper", "relative")


class LossError(validate.ArgumentError):
    """A bad argument to a loss: 'NAME = VALUE: why; what to do'. The checks read only static shapes, dtypes and Python
    values, so they run once when a tf.function is traced and cost nothing per step."""


def _features(name: str, value, rank=4, layout: str = "[B, H, W, C]", floating: bool = True):
    """`value` checked by validate.array (rank, dtype, finite entries of an array) with LossError."""
    return validate.array(name, value, rank=rank, layout=layout, floating=floating, error=LossError)


def _same_shape(name: str, value, other_name: str, other, first: int = 1) -> None:
    """Refuse `value` whose static shape differs from `other`'s from axis `first` on (the batch axis may be 1 in either);
    first=-2 compares only the last two axes (Gram matrices [C, C], batched or not)."""
    a, b = value.shape, other.shape
    if a.rank is None or b.rank is None:
        return
    if (first >= 0 and a.rank != b.rank) or any(x is not None and y is not None and x != y for x, y in zip(a[first:], b[first:])):
        raise validate.refuse(name, value, f"shape {a.as_list()} does not match {other_name}'s {b.as_list()}",
                              "compute both with the same model, on images of the same size", LossError)
    if first > 0 and a[0] is not None and b[0] is not None and a[0] != b[0] and 1 not in (a[0], b[0]):
        raise validate.refuse(name, value, f"a batch of {a[0]} against {other_name}'s {b[0]}",
                              "pass batches of the same size, or a batch of 1 to compare with every item", LossError)


def gram_matrix(input_tensor: tf.Tensor, normalize: bool = True) -> tf.Tensor:
    """Gram matrix G_cd = sum_ij F_ijc F_ijd of [B, H, W, C] features -> [B, C, C], divided by H*W if `normalize`.

    Refuses (LossError naming the argument) features that are not float [B, H, W, C], an array with NaN, a map with no
    locations (H or W of 0), and a `normalize` that is not True or False.
    """
    x = tf.convert_to_tensor(_features("input_tensor", input_tensor))
    validate.flag("normalize", normalize, LossError)
    if 0 in x.shape[1:3]:
        raise validate.refuse("input_tensor", x, "no locations (a side of 0 px)", "pass feature maps of at least 1x1", LossError)
    result = tf.linalg.einsum("bijc,bijd->bcd", x, x)
    if not normalize:
        return result
    shape = tf.shape(x)
    num_locations = tf.cast(shape[1] * shape[2], result.dtype)
    return result / num_locations


def _check_form(form: str) -> None:
    """Raise LossError (a ValueError) for an unknown loss form."""
    validate.choice("form", form, FORMS, error=LossError)


def _as_dict(value, name: str) -> dict:
    """Wrap a single tensor as {name: tensor}; pass dicts through."""
    return value if isinstance(value, dict) else {name: value}


def _pairs(out_name: str, outputs: dict, target_name: str, targets: dict, rank, layout: str, floating: bool = False) -> dict:
    """{layer: (output, target)} with each checked (numbers of the rank, same shape); refuses different layers by name."""
    _same_keys(outputs, targets, out_name, target_name)
    pairs = {}
    for layer, out in outputs.items():
        out = _features(f"{out_name}[{layer!r}]", out, rank, layout, floating)
        target = _features(f"{target_name}[{layer!r}]", targets[layer], rank, layout, floating)
        _same_shape(f"{target_name}[{layer!r}]", tf.convert_to_tensor(target), f"{out_name}[{layer!r}]", tf.convert_to_tensor(out))
        pairs[layer] = out, target
    return pairs


def content_loss(outputs, targets, form: str = "mean") -> tf.Tensor:
    """Content loss between feature maps (tensors or {layer: tensor} dicts): mean of squares, or 1/2 sum (F-P)^2 for 'paper'."""
    _check_form(form)
    outputs, targets = _as_dict(outputs, "content"), _as_dict(targets, "content")
    terms = []
    for out, target in _pairs("outputs", outputs, "targets", targets, None, "of the same shape").values():
        diff = tf.cast(out, tf.float32) - tf.cast(target, tf.float32)
        if form == "paper":
            terms.append(0.5 * tf.reduce_sum(tf.square(diff)))
        elif form == "relative":
            terms.append(tf.reduce_sum(tf.square(diff)) / (tf.reduce_sum(tf.square(tf.cast(target, tf.float32))) + 1e-12))
        else:
            terms.append(tf.reduce_mean(tf.square(diff)))
    return tf.add_n(terms) / (len(terms) if form != "paper" else 1.0)


def style_layer_loss(gram: tf.Tensor, target_gram: tf.Tensor, form: str = "mean") -> tf.Tensor:
    """One layer's style loss E_l between Gram matrices [B, C, C] normalised by locations (see module docstring)."""
    _check_form(form)
    gram, target_gram = _gram("gram", gram), _gram("target_gram", target_gram)
    _same_shape("target_gram", target_gram, "gram", gram, first=-2)
    gram, target_gram = tf.cast(gram, tf.float32), tf.cast(target_gram, tf.float32)
    sq = tf.square(gram - target_gram)
    if form == "mean":
        return tf.reduce_mean(sq)
    if form == "paper":
        channels = tf.cast(tf.shape(gram)[-1], tf.float32)
        return tf.reduce_sum(sq) / (4.0 * channels**2)
    return tf.reduce_sum(sq) / (tf.reduce_sum(tf.square(target_gram)) + 1e-12)


def _gram(name: str, value) -> tf.Tensor:
    """A Gram matrix [B, C, C] (or one [C, C]) as a tensor, or LossError naming `name`."""
    value = tf.convert_to_tensor(_features(name, value, (2, 3), "[B, C, C] (gram_matrix's result)", floating=False))
    rows, cols = value.shape[-2:] if value.shape.rank is not None else (None, None)
    if rows is not None and cols is not None and rows != cols:
        raise validate.refuse(name, value, f"{rows}x{cols}, not square", "pass Gram matrices, gram_matrix(features)", LossError)
    return value


def style_loss(outputs: dict, targets: dict, layer_weights=None, form: str = "mean") -> tf.Tensor:
    """L_style = sum_l w_l E_l over {layer: Gram} dicts; default weights w_l = 1/num_layers."""
    _check_form(form)
    outputs, targets = _as_dict(outputs, "style"), _as_dict(targets, "style")
    _same_keys(outputs, targets, "outputs", "targets")
    weights = _layer_weights(list(outputs), layer_weights)
    return tf.add_n([weights[name] * style_layer_loss(outputs[name], targets[name], form) for name in outputs])


def _layer_weights(names, layer_weights) -> dict:
    """Normalise per-layer weights to a {layer: float} dict (default: equal, summing to 1)."""
    if not names:
        raise validate.refuse("outputs", {}, "no layers", "pass {layer: tensor} for at least one layer", LossError)
    if layer_weights is None:
        return {name: 1.0 / len(names) for name in names}
    if isinstance(layer_weights, (str, bytes)) or not hasattr(layer_weights, "__iter__"):
        raise validate.refuse("layer_weights", layer_weights, "not a list or dict of weights",
                              f"pass one weight per style layer, as a list or as {{layer: weight}} for {names}", LossError)
    if not isinstance(layer_weights, dict):
        layer_weights = list(layer_weights)
        if len(layer_weights) != len(names):
            raise validate.refuse("layer_weights", layer_weights, f"{len(layer_weights)} layer weights given for {len(names)} style layers",
                                  f"pass one weight per layer of {names}", LossError)
        layer_weights = dict(zip(names, layer_weights))
    missing = [n for n in names if n not in layer_weights]
    if missing:
        raise validate.refuse("layer_weights", layer_weights, f"no style weight given for layer(s) {missing}",
                              f"give a weight for each of {names} (0 leaves a layer out)", LossError)
    return {n: validate.number(f"layer_weights[{n!r}]", layer_weights[n], low=0, error=LossError, todo="pass a weight >= 0")
            for n in names}


def _same_keys(outputs: dict, targets: dict, out_name: str, target_name: str) -> None:
    """Raise LossError (naming `target_name`) unless outputs and targets are dicts naming the same layers."""
    for name, value in ((out_name, outputs), (target_name, targets)):
        if not isinstance(value, dict):
            raise validate.refuse(name, value, "not a {layer: tensor} dict", "pass the model's outputs for its layers, by name", LossError)
    if set(outputs) != set(targets):
        raise validate.refuse(target_name, sorted(targets), f"{out_name} have layers {sorted(outputs)} but {target_name} have {sorted(targets)}",
                              "compute both with the same model (the same layers)", LossError)


def high_pass_x_y(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Horizontal and vertical neighbour differences of [B, H, W, C]: ([B, H, W-1, C], [B, H-1, W, C])."""
    image = _features("image", image, floating=False)
    x_var = image[:, :, 1:, :] - image[:, :, :-1, :]
    y_var = image[:, 1:, :, :] - image[:, :-1, :, :]
    return x_var, y_var


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute neighbour differences (equals tf.image.total_variation summed over the batch).

    Refuses (LossError) an image that is not float [B, H, W, C], or an array with NaN; float64 is computed in float32.
    """
    image = tf.cast(_features("image", image), tf.float32)
    x_var, y_var = high_pass_x_y(image)
    return tf.reduce_sum(tf.abs(x_var)) + tf.reduce_sum(tf.abs(y_var))


#: The TF style-transfer tutorial's loss: mean-squared terms, style weight 1e-2, content weight 1e4, total variation 30.
#: The one place these numbers are written; the optimiser's defaults and the benchmark's objective use this dict.
TUTORIAL_WEIGHTS = {"form": "mean", "style_weight": 1e-2, "content_weight": 1e4, "tv_weight": 30.0}


def style_content_loss(
    outputs: dict,
    style_targets: dict,
    content_targets: dict,
    style_weight: float = TUTORIAL_WEIGHTS["style_weight"],
    content_weight: float = TUTORIAL_WEIGHTS["content_weight"],
    layer_weights=None,
    form: str = "mean",
    return_parts: bool = False,
):
    """L_total = content_weight * L_content + style_weight * L_style for StyleContentModel outputs (TF tutorial defaults).

    Refuses (LossError naming the argument) outputs without 'style' and 'content', a weight that is not a number >= 0
    (a tensor weight is taken as it is), targets for other layers, and a `return_parts` that is not True or False.
    """
    if not isinstance(outputs, dict) or not {"style", "content"} <= set(outputs):
        raise validate.refuse("outputs", outputs if not isinstance(outputs, dict) else sorted(outputs), "not the model's outputs",
                              "pass what StyleContentModel returns: {'style': {...}, 'content': {...}}", LossError)
    style_weight, content_weight = (w if tf.is_tensor(w) else validate.number(n, w, low=0, error=LossError)
                                    for n, w in (("style_weight", style_weight), ("content_weight", content_weight)))
    validate.flag("return_parts", return_parts, LossError)
    s_loss = style_weight * style_loss(outputs["style"], style_targets, layer_weights, form)
    c_loss = content_weight * content_loss(outputs["content"], content_targets, form)
    total = s_loss + c_loss
    if return_parts:
        return total, {"style": s_loss, "content": c_loss}
    return total


# --------------------------------------------------------------------------------- spatial control (Gatys et al. 2017)


def guided_gram_matrix(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Guided Gram matrix G_cd = sum_ij m_ij F_ijc F_ijd / sum_ij m_ij of [B, H, W, C] features under a [1|B, H, W, 1] mask -> [B, C, C].

    Each location's outer product is weighted by the mask, and the sum is divided by the mask's sum (the region's size),
    not by H*W: so a region's Gram matrix is the mean over the region, comparable with a whole image's. With a mask of
    ones it is gram_matrix; for a 0/1 mask it equals the paper's Gram of the masked features (T * F). An all-zero mask
    gives zeros (helpers.masks refuses such masks before they get here).
    """
    x = tf.convert_to_tensor(_features("features", features))
    m = _features("mask", mask, layout="[1, H, W, 1] or [B, H, W, 1]", floating=False)
    if isinstance(m, np.ndarray) and m.size and (m.min() < 0 or m.max() > 1):
        raise validate.refuse("mask", m, f"values from {m.min():g} to {m.max():g}, outside [0, 1]",
                              "pass weights in [0, 1] (masks.load_mask makes them)", LossError)
    m = tf.cast(tf.convert_to_tensor(m), x.dtype)
    if m.shape.rank is not None and m.shape[-1] not in (1, None):
        raise validate.refuse("mask", m, f"{m.shape[-1]} channels", "pass one channel, [1, H, W, 1] or [B, H, W, 1]", LossError)
    if None not in (x.shape[1], x.shape[2], m.shape[1], m.shape[2]) and tuple(x.shape[1:3]) != tuple(m.shape[1:3]):
        raise validate.refuse("mask", m, f"{m.shape[2]}x{m.shape[1]} but the features are {x.shape[2]}x{x.shape[1]}",
                              "resize the mask to the layer first (masks.layer_masks)", LossError)
    weighted = tf.linalg.einsum("bijc,bijd->bcd", x * m, x)
    return tf.math.divide_no_nan(weighted, tf.reduce_sum(m, axis=[1, 2, 3])[:, None, None])


def guided_style_loss(features: dict, target_grams: dict, masks: dict, layer_weights=None, form: str = "mean") -> tf.Tensor:
    """One region's style loss sum_l w_l * a_l * E_l(guided Gram of F_l under m_l, A_l), with a_l = mean(m_l) its share of the layer.

    `features`, `target_grams` and `masks` are {layer: ...} dicts ([B, H, W, C], [B, C, C], [1, H, W, 1]). The share a_l
    makes each region pull on its pixels as hard as a whole-image style loss would, whatever its size; with masks of
    ones this is style_loss of the plain Gram matrices.
    """
    _check_form(form)
    _same_keys(features, target_grams, "features", "target_grams")
    _same_keys(features, masks, "features", "masks")
    weights = _layer_weights(list(features), layer_weights)
    terms = []
    for name, feats in features.items():
        mask = tf.cast(masks[name], tf.float32)
        gram = guided_gram_matrix(tf.cast(feats, tf.float32), mask)
        share = tf.reduce_mean(mask)
        terms.append(weights[name] * share * style_layer_loss(gram, target_grams[name], form))
    return tf.add_n(terms)


# The public losses run inside tf.function as plain Python: their checks read only static shapes and Python values, and
# AutoGraph, left to convert them, would also convert the checks (helpers.validate) and trip over them. (Wrapped here
# rather than decorated, so that mutation testing, which leaves decorated functions alone, still changes them.)
for _name in ("gram_matrix", "content_loss", "style_layer_loss", "style_loss", "high_pass_x_y", "total_variation_loss",
              "style_content_loss", "guided_gram_matrix", "guided_style_loss"):
    globals()[_name] = tf.autograph.experimental.do_not_convert(globals()[_name])
del _name
