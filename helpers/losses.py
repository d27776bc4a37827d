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

import tensorflow as tf

FORMS = ("mean", "paper", "relative")


def gram_matrix(input_tensor: tf.Tensor, normalize: bool = True) -> tf.Tensor:
    """Gram matrix G_cd = sum_ij F_ijc F_ijd of [B, H, W, C] features -> [B, C, C], divided by H*W if `normalize`."""
    x = tf.convert_to_tensor(input_tensor)
    if x.shape.rank != 4:
        raise ValueError(f"gram_matrix expects features of shape [B, H, W, C], got {x.shape}")
    result = tf.linalg.einsum("bijc,bijd->bcd", x, x)
    if not normalize:
        return result
    shape = tf.shape(x)
    num_locations = tf.cast(shape[1] * shape[2], result.dtype)
    return result / num_locations


def _check_form(form: str) -> None:
    """Raise ValueError for an unknown loss form."""
    if form not in FORMS:
        raise ValueError(f"unknown loss form {form!r}; use one of {', '.join(FORMS)}")


def _as_dict(value, name: str) -> dict:
    """Wrap a single tensor as {name: tensor}; pass dicts through."""
    return value if isinstance(value, dict) else {name: value}


def content_loss(outputs, targets, form: str = "mean") -> tf.Tensor:
    """Content loss between feature maps (tensors or {layer: tensor} dicts): mean of squares, or 1/2 sum (F-P)^2 for 'paper'."""
    _check_form(form)
    outputs, targets = _as_dict(outputs, "content"), _as_dict(targets, "content")
    _same_keys(outputs, targets, "content")
    terms = []
    for name, out in outputs.items():
        diff = tf.cast(out, tf.float32) - tf.cast(targets[name], tf.float32)
        if form == "paper":
            terms.append(0.5 * tf.reduce_sum(tf.square(diff)))
        elif form == "relative":
            terms.append(tf.reduce_sum(tf.square(diff)) / (tf.reduce_sum(tf.square(tf.cast(targets[name], tf.float32))) + 1e-12))
        else:
            terms.append(tf.reduce_mean(tf.square(diff)))
    return tf.add_n(terms) / (len(terms) if form != "paper" else 1.0)


def style_layer_loss(gram: tf.Tensor, target_gram: tf.Tensor, form: str = "mean") -> tf.Tensor:
    """One layer's style loss E_l between Gram matrices [B, C, C] normalised by locations (see module docstring)."""
    _check_form(form)
    gram, target_gram = tf.cast(gram, tf.float32), tf.cast(target_gram, tf.float32)
    if gram.shape[-1] is not None and target_gram.shape[-1] is not None and gram.shape[-1] != target_gram.shape[-1]:
        raise ValueError(f"Gram matrices differ in size: {gram.shape} vs {target_gram.shape}")
    sq = tf.square(gram - target_gram)
    if form == "mean":
        return tf.reduce_mean(sq)
    if form == "paper":
        channels = tf.cast(tf.shape(gram)[-1], tf.float32)
        return tf.reduce_sum(sq) / (4.0 * channels**2)
    return tf.reduce_sum(sq) / (tf.reduce_sum(tf.square(target_gram)) + 1e-12)


def style_loss(outputs: dict, targets: dict, layer_weights=None, form: str = "mean") -> tf.Tensor:
    """L_style = sum_l w_l E_l over {layer: Gram} dicts; default weights w_l = 1/num_layers."""
    _check_form(form)
    outputs, targets = _as_dict(outputs, "style"), _as_dict(targets, "style")
    _same_keys(outputs, targets, "style")
    weights = _layer_weights(list(outputs), layer_weights)
    return tf.add_n([weights[name] * style_layer_loss(outputs[name], targets[name], form) for name in outputs])


def _layer_weights(names, layer_weights) -> dict:
    """Normalise per-layer weights to a {layer: float} dict (default: equal, summing to 1)."""
    if layer_weights is None:
        return {name: 1.0 / len(names) for name in names}
    if not isinstance(layer_weights, dict):
        layer_weights = list(layer_weights)
        if len(layer_weights) != len(names):
            raise ValueError(f"{len(layer_weights)} layer weights given for {len(names)} style layers {names}")
        layer_weights = dict(zip(names, layer_weights))
    missing = [n for n in names if n not in layer_weights]
    if missing:
        raise ValueError(f"no style weight given for layer(s) {missing}")
    bad = {n: w for n, w in layer_weights.items() if not float(w) >= 0}
    if bad:
        raise ValueError(f"style layer weights must be >= 0, got {bad}")
    return {n: float(layer_weights[n]) for n in names}


def _same_keys(outputs: dict, targets: dict, what: str) -> None:
    """Raise ValueError if outputs and targets name different layers."""
    if set(outputs) != set(targets):
        raise ValueError(f"{what} outputs have layers {sorted(outputs)} but targets have {sorted(targets)}")


def high_pass_x_y(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Horizontal and vertical neighbour differences of [B, H, W, C]: ([B, H, W-1, C], [B, H-1, W, C])."""
    x_var = image[:, :, 1:, :] - image[:, :, :-1, :]
    y_var = image[:, 1:, :, :] - image[:, :-1, :, :]
    return x_var, y_var


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute neighbour differences (equals tf.image.total_variation summed over the batch)."""
    x_var, y_var = high_pass_x_y(tf.convert_to_tensor(image, tf.float32))
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
    """L_total = content_weight * L_content + style_weight * L_style for StyleContentModel outputs (TF tutorial defaults)."""
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
    x = tf.convert_to_tensor(features)
    m = tf.cast(tf.convert_to_tensor(mask), x.dtype)
    if x.shape.rank != 4:
        raise ValueError(f"guided_gram_matrix expects features of shape [B, H, W, C], got {x.shape}")
    if m.shape.rank != 4 or m.shape[-1] != 1:
        raise ValueError(f"guided_gram_matrix expects a mask of shape [1, H, W, 1] or [B, H, W, 1], got {m.shape}")
    if None not in (x.shape[1], x.shape[2], m.shape[1], m.shape[2]) and tuple(x.shape[1:3]) != tuple(m.shape[1:3]):
        raise ValueError(f"mask is {m.shape[2]}x{m.shape[1]} but the features are {x.shape[2]}x{x.shape[1]}: "
                         "resize the mask to the layer first (masks.layer_masks)")
    weighted = tf.linalg.einsum("bijc,bijd->bcd", x * m, x)
    return tf.math.divide_no_nan(weighted, tf.reduce_sum(m, axis=[1, 2, 3])[:, None, None])


def guided_style_loss(features: dict, target_grams: dict, masks: dict, layer_weights=None, form: str = "mean") -> tf.Tensor:
    """One region's style loss sum_l w_l * a_l * E_l(guided Gram of F_l under m_l, A_l), with a_l = mean(m_l) its share of the layer.

    `features`, `target_grams` and `masks` are {layer: ...} dicts ([B, H, W, C], [B, C, C], [1, H, W, 1]). The share a_l
    makes each region pull on its pixels as hard as a whole-image style loss would, whatever its size; with masks of
    ones this is style_loss of the plain Gram matrices.
    """
    _check_form(form)
    _same_keys(features, target_grams, "guided style")
    _same_keys(features, masks, "guided style (masks)")
    weights = _layer_weights(list(features), layer_weights)
    terms = []
    for name, feats in features.items():
        mask = tf.cast(masks[name], tf.float32)
        gram = guided_gram_matrix(tf.cast(feats, tf.float32), mask)
        share = tf.reduce_mean(mask)
        terms.append(weights[name] * share * style_layer_loss(gram, target_grams[name], form))
    return tf.add_n(terms)
