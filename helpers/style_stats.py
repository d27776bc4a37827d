"""Style statistics: ways to say that two VGG feature maps ``[B, H, W, C]`` have the same style.

The Gram matrix (Gatys et al. 2015) is one answer; it is not the only one. Each statistic below turns a feature map into
a summary of the distribution of its pixels' feature vectors, and measures how far an output's summary lies from a
style image's:

* ``"gram"``: the Gram matrix G = F^T F / (H W); the loss is ``losses.style_layer_loss(..., form="mean")``, so the
  tutorial's numbers stay exactly the same.
* ``"mean_std"``: each channel's mean and standard deviation (Li et al. 2017, "Demystifying neural style transfer"; the
  statistics that AdaIN swaps); the loss is mean_c (mu1 - mu2)^2 + mean_c (s1 - s2)^2.
* ``"mean_cov"``: the mean vector and the covariance matrix, read as a Gaussian; the loss is the squared 2-Wasserstein
  distance between the two Gaussians, |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S2^1/2 S1 S2^1/2)^1/2).
* ``"sliced_wasserstein"`` (Heitz et al. 2021): the whole distribution, compared along random directions: project
  every pixel on each direction, sort, and compare sorted lists (the 1-D optimal transport); mean squared difference.
* ``"mrf"`` (Li & Wand 2016): not a distribution but a set of 3x3 patches: each output patch is pulled towards its most
  similar patch of the style image.

The first four are distributions of pixels: shuffling the pixels of a map leaves them unchanged. The MRF loss sees
neighbourhoods, so a shuffle changes it.

Usage: prepare the style image's statistic once, then measure each output against it::

    prepared = style_stats.target(style_features, "mean_cov")      # once per style image (and layer)
    value = style_stats.loss(output_features, prepared)             # every step, a scalar tf.float32
    style_stats.style_distance(output_features, style_features, "sliced_wasserstein", projections=32)   # both at once

``STATISTICS`` holds one entry per statistic, with its own ``target`` and ``loss``. gram, mean_std and mean_cov accept
per-pixel weights: ``mask`` (the output's) and ``target(..., mask=...)`` (the style image's), ``[1|B, H, W, 1]`` in
[0, 1] at the layer's size (``masks.layer_masks`` makes them), which turn each statistic into a weighted one over a
region. Features of any float dtype are computed in float32 (mean_cov's C x C algebra in float64); the loss is a
scalar tf.float32, averaged over the batch. A target of batch 1 serves every output of a batch.

Every refusal is a ``StatisticError`` (a ``losses.LossError``) that reads 'NAME = VALUE: why; what to do'. As in
``helpers.losses``, a loss checks only static shapes, dtypes and arrays' values, so the checks cost nothing per step;
``target`` runs once per style image and also reads a tensor's values (NaN, a mask outside [0, 1]).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from helpers import losses, validate


class StatisticError(losses.LossError):
    """A bad argument to a style statistic: 'NAME = VALUE: why; what to do'."""


#: Added to each channel's variance before its square root (as AdaIN does), so a constant channel has a finite gradient.
STD_EPSILON = 1e-5
#: The MRF loss refuses a step whose similarity matrix (output patches x style patches, float32) would exceed this.
MRF_MAX_BYTES = 512 * 2**20
#: The MRF patch side (Li & Wand 2016 use 3x3 patches of relu3_1 and relu4_1).
PATCH = 3


@dataclasses.dataclass(frozen=True)
class Target:
    """A style image's statistic, prepared once by `target`: its name, channel count, batch size, tensors and options."""

    statistic: str
    channels: int
    batch: int
    values: dict
    options: dict

    def __repr__(self) -> str:
        """A one-line summary (the tensors' shapes, not their values)."""
        shapes = {k: list(v.shape) for k, v in self.values.items()}
        return f"Target({self.statistic!r}, channels={self.channels}, batch={self.batch}, {shapes}, options={self.options})"


# ------------------------------------------------------------------------------------------------------------- checks


def _features(name: str, value) -> tf.Tensor:
    """`value` as a float32 tensor if it is a float [B, H, W, C] with a known C and at least one pixel, else StatisticError."""
    value = validate.array(name, value, rank=4, layout="[B, H, W, C]", floating=True, error=StatisticError)
    x = tf.convert_to_tensor(value)
    if x.shape[-1] is None:
        raise validate.refuse(name, x, "its number of channels is not known when traced", "give the input a static channel axis", StatisticError)
    if 0 in x.shape[1:3] or x.shape[-1] == 0:
        raise validate.refuse(name, x, "no pixels or no channels", "pass feature maps of at least 1x1 with channels", StatisticError)
    return tf.cast(x, tf.float32)


def _eager_finite(name: str, x: tf.Tensor) -> None:
    """Refuse a tensor with NaN or infinite values (read only when running eagerly: target's once-per-image check)."""
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(x))):
        bad = int(tf.size(x)) - int(tf.reduce_sum(tf.cast(tf.math.is_finite(x), tf.int32)))
        raise validate.refuse(name, x, f"{bad} of its {int(tf.size(x))} values are NaN or infinite",
                              "find where they came from and pass finite values", StatisticError)


def _mask(name: str, mask, x: tf.Tensor, read_values: bool) -> tf.Tensor:
    """A [1|B, H, W, 1] mask of x's size with values in [0, 1] as float32 (values read for arrays, and for tensors if read_values)."""
    m = validate.array(name, mask, rank=4, layout="[1, H, W, 1] or [B, H, W, 1]", error=StatisticError)
    values = m if isinstance(m, np.ndarray) else (m.numpy() if read_values and tf.executing_eagerly() else None)
    m = tf.convert_to_tensor(m)
    if m.shape[-1] not in (1, None):
        raise validate.refuse(name, m, f"{m.shape[-1]} channels", "pass one channel, [1, H, W, 1] or [B, H, W, 1]", StatisticError)
    if None not in (x.shape[1], x.shape[2], m.shape[1], m.shape[2]) and tuple(x.shape[1:3]) != tuple(m.shape[1:3]):
        raise validate.refuse(name, m, f"{m.shape[2]}x{m.shape[1]} but the features are {x.shape[2]}x{x.shape[1]}",
                              "resize the mask to the layer first (masks.layer_masks)", StatisticError)
    if None not in (x.shape[0], m.shape[0]) and m.shape[0] not in (1, x.shape[0]):
        raise validate.refuse(name, m, f"a batch of {m.shape[0]} for features of batch {x.shape[0]}",
                              "pass a mask of batch 1 or of the features' batch", StatisticError)
    if values is not None and values.size:
        values = np.asarray(values, dtype=np.float64)
        if values.min() < 0 or values.max() > 1:
            raise validate.refuse(name, values, f"values from {values.min():g} to {values.max():g}, outside [0, 1]",
                                  "pass weights in [0, 1] (masks.load_mask makes them)", StatisticError)
        if not values.reshape(values.shape[0], -1).max(axis=1).all():
            raise validate.refuse(name, values, "no pixel has a weight above 0 (an empty region)",
                                  "pass a mask that covers part of the map, or leave this region out", StatisticError)
    return tf.cast(m, tf.float32)


def _no_mask(statistic: str, mask, why: str) -> None:
    """Refuse a mask for a statistic that has no weighted form, saying why."""
    if mask is not None:
        raise validate.refuse("mask", mask, f"{statistic} has no weighted form: {why}",
                              "use gram, mean_std or mean_cov for a region, or crop the features to it", StatisticError)


def _check_target(statistic: str, prepared, x: tf.Tensor) -> Target:
    """`prepared` if it is a Target of `statistic` for x's channels and a compatible batch, else StatisticError."""
    if not isinstance(prepared, Target):
        raise validate.refuse("target", prepared, "not a prepared target", f"make it once with style_stats.target(style_features, {statistic!r})",
                              StatisticError)
    if prepared.statistic != statistic:
        raise validate.refuse("target", prepared.statistic, f"prepared for {prepared.statistic}, not {statistic}",
                              f"use STATISTICS[{prepared.statistic!r}].loss, or style_stats.loss, which follows the target", StatisticError)
    if x.shape[-1] != prepared.channels:
        raise validate.refuse("features", x, f"{x.shape[-1]} channels but the target has {prepared.channels}",
                              "compute both with the same layer of the same model", StatisticError)
    if x.shape[0] is not None and prepared.batch not in (1, x.shape[0]):
        raise validate.refuse("target", prepared, f"a batch of {prepared.batch} against features of batch {x.shape[0]}",
                              "prepare the target from one style image (batch 1) or from a batch of the features' size", StatisticError)
    return prepared


def _weighted_moments(x: tf.Tensor, m: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(weights [B|1, H, W, 1], their sums [B|1], channel means [B, C]) of float32 features under an optional mask."""
    w = tf.ones_like(x[..., :1]) if m is None else m
    total = tf.reduce_sum(w, axis=[1, 2, 3])
    mean = tf.math.divide_no_nan(tf.reduce_sum(x * w, axis=[1, 2]), total[:, None])
    return w, total, mean


# -------------------------------------------------------------------------------------------------------- statistics


def gram_target(features, *, mask=None) -> Target:
    """The style image's Gram matrix [B, C, C] (losses.gram_matrix; losses.guided_gram_matrix under a mask)."""
    x = _features("features", features)
    _eager_finite("features", x)
    gram = losses.gram_matrix(x) if mask is None else losses.guided_gram_matrix(x, _mask("mask", mask, x, True))
    return Target("gram", int(x.shape[-1]), int(gram.shape[0]), {"gram": gram}, {})


def gram_loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """losses.style_layer_loss(gram_matrix(features), target gram, form='mean'): mean_cd (G_cd - A_cd)^2, the tutorial's per-layer loss."""
    x = _features("features", features)
    target = _check_target("gram", target, x)
    gram = losses.gram_matrix(x) if mask is None else losses.guided_gram_matrix(x, _mask("mask", mask, x, False))
    return losses.style_layer_loss(gram, target.values["gram"], form="mean")


def _mean_std(x: tf.Tensor, m: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
    """Each channel's (weighted) mean and standard deviation sqrt(var + STD_EPSILON), both [B, C]."""
    w, total, mean = _weighted_moments(x, m)
    var = tf.math.divide_no_nan(tf.reduce_sum(tf.square(x - mean[:, None, None, :]) * w, axis=[1, 2]), total[:, None])
    return mean, tf.sqrt(var + STD_EPSILON)


def mean_std_target(features, *, mask=None) -> Target:
    """The style image's channel means and standard deviations, each [B, C] (population variance, plus STD_EPSILON)."""
    x = _features("features", features)
    _eager_finite("features", x)
    mean, std = _mean_std(x, None if mask is None else _mask("mask", mask, x, True))
    return Target("mean_std", int(x.shape[-1]), int(mean.shape[0]), {"mean": mean, "std": std}, {})


def mean_std_loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """mean_c (mu_c - mu'_c)^2 + mean_c (s_c - s'_c)^2, averaged over the batch (Li et al. 2017's batch-norm statistics)."""
    x = _features("features", features)
    target = _check_target("mean_std", target, x)
    mean, std = _mean_std(x, None if mask is None else _mask("mask", mask, x, False))
    return tf.reduce_mean(tf.square(mean - target.values["mean"])) + tf.reduce_mean(tf.square(std - target.values["std"]))


def _mean_cov(x: tf.Tensor, m: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
    """The (weighted) mean [B, C] and population covariance [B, C, C] of float32 features; the covariance as float64."""
    w, total, mean = _weighted_moments(x, m)
    centred = x - mean[:, None, None, :]
    cov = tf.math.divide_no_nan(tf.linalg.einsum("bijc,bijd->bcd", centred * w, centred), total[:, None, None])
    cov = tf.cast(cov, tf.float64)
    return mean, 0.5 * (cov + tf.linalg.matrix_transpose(cov))


def _sqrt_eigenvalues(values: tf.Tensor) -> tf.Tensor:
    """sqrt(max(values, 0)), with a gradient that stays finite at 0: it is taken at max(values, 1e-12 * the largest)."""
    floor = tf.stop_gradient(1e-12 * tf.reduce_max(tf.abs(values), axis=-1, keepdims=True) + 1e-30)
    safe = tf.sqrt(tf.maximum(values, floor))
    return safe + tf.stop_gradient(tf.sqrt(tf.maximum(values, 0.0)) - safe)


def mean_cov_target(features, *, mask=None) -> Target:
    """The style image's mean [B, C], covariance S2 [B, C, C], its trace, and its square root S2^1/2 (eigh, eigenvalues clipped at 0)."""
    x = _features("features", features)
    _eager_finite("features", x)
    mean, cov = _mean_cov(x, None if mask is None else _mask("mask", mask, x, True))
    values, vectors = tf.linalg.eigh(cov)
    root = tf.linalg.matmul(vectors * tf.sqrt(tf.maximum(values, 0.0))[:, None, :], vectors, adjoint_b=True)
    return Target("mean_cov", int(x.shape[-1]), int(mean.shape[0]),
                  {"mean": mean, "cov": cov, "trace": tf.linalg.trace(cov), "root": 0.5 * (root + tf.linalg.matrix_transpose(root))}, {})


def mean_cov_loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """Squared 2-Wasserstein distance between Gaussians: |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S2^1/2 S1 S2^1/2)^1/2).

    The matrix square root's trace is the sum of the square roots of eigh's eigenvalues, clipped at 0 (rounding makes
    tiny negative ones), with a gradient that stays finite where a covariance is rank-deficient (fewer pixels than
    channels, dead ReLU channels). Cost per step: a C x C eigendecomposition in float64 (C = 512 at relu5_1).
    """
    x = _features("features", features)
    target = _check_target("mean_cov", target, x)
    mean, cov = _mean_cov(x, None if mask is None else _mask("mask", mask, x, False))
    root = target.values["root"]
    middle = tf.linalg.matmul(root, tf.linalg.matmul(cov, root))
    middle = 0.5 * (middle + tf.linalg.matrix_transpose(middle))
    cross = tf.reduce_sum(_sqrt_eigenvalues(tf.linalg.eigvalsh(middle)), axis=-1)
    bures = tf.linalg.trace(cov) + target.values["trace"] - 2.0 * cross
    shift = tf.reduce_sum(tf.square(mean - target.values["mean"]), axis=-1)
    return tf.reduce_mean(shift + tf.cast(bures, tf.float32))


def _directions(channels: int, projections: int, seed: int) -> tf.Tensor:
    """`projections` random unit vectors in R^channels, as the columns of a [C, P] float32 matrix (NumPy's generator, `seed`)."""
    d = np.random.default_rng(seed).standard_normal((channels, projections))
    return tf.constant(d / np.linalg.norm(d, axis=0, keepdims=True), tf.float32)


def _sorted_projections(x: tf.Tensor, directions: tf.Tensor) -> tf.Tensor:
    """Every pixel of [B, H, W, C] projected on each direction [C, P] and sorted: [B, P, H*W], ascending."""
    flat = tf.reshape(x, [tf.shape(x)[0], -1, x.shape[-1]])
    return tf.sort(tf.linalg.matrix_transpose(tf.linalg.matmul(flat, directions)), axis=-1)


def sliced_wasserstein_target(features, *, projections: int | None = None, seed: int = 0, mask=None) -> Target:
    """`projections` random unit directions (default: as many as channels, as Heitz et al. 2021 do; fixed by `seed`) and
    the style image's pixels projected on them and sorted, [B, P, N]."""
    x = _features("features", features)
    _no_mask("sliced_wasserstein", mask, "sorting compares whole pixels, a weight of 0.3 has no place in a sorted list")
    projections = int(x.shape[-1]) if projections is None else validate.number(
        "projections", projections, low=1, integer=True, error=StatisticError, todo="pass a number of directions >= 1, e.g. the channel count")
    seed = validate.number("seed", seed, low=0, integer=True, error=StatisticError)
    _eager_finite("features", x)
    directions = _directions(int(x.shape[-1]), projections, seed)
    projected = _sorted_projections(x, directions)
    return Target("sliced_wasserstein", int(x.shape[-1]), int(projected.shape[0]), {"directions": directions, "sorted": projected},
                  {"projections": projections, "seed": seed})


def sliced_wasserstein_loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """mean over directions and pixels of (sorted output projections - the target's, resampled to the output's H*W)^2.

    With N style pixels and M output pixels, output rank i meets the style's rank floor((i + 1/2) N / M): the style's
    quantile function at the middle of the output's i-th step. When M is a multiple of N (equal sizes included) this
    is exactly the squared 2-Wasserstein distance between the two sets of projections; otherwise a close approximation.
    Cost per step: H W C P multiply-adds and P sorts of H W values.
    """
    _no_mask("sliced_wasserstein", mask, "sorting compares whole pixels, a weight of 0.3 has no place in a sorted list")
    x = _features("features", features)
    target = _check_target("sliced_wasserstein", target, x)
    sorted_target = target.values["sorted"]
    projected = _sorted_projections(x, target.values["directions"])
    pixels, style_pixels = tf.shape(projected)[-1], sorted_target.shape[-1]
    ranks = (tf.range(pixels, dtype=tf.float64) + 0.5) * (style_pixels / tf.cast(pixels, tf.float64))
    index = tf.minimum(tf.cast(tf.floor(ranks), tf.int32), style_pixels - 1)
    return tf.reduce_mean(tf.square(projected - tf.gather(sorted_target, index, axis=-1)))


def _patches(x: tf.Tensor, stride: int = 1) -> tf.Tensor:
    """The PATCH x PATCH patches of [B, H, W, C] at `stride`, [B, h, w, PATCH*PATCH*C] (rows, columns, channels)."""
    return tf.image.extract_patches(x, sizes=[1, PATCH, PATCH, 1], strides=[1, stride, stride, 1], rates=[1, 1, 1, 1], padding="VALID")


def _patch_size(name: str, x: tf.Tensor) -> None:
    """Refuse a map smaller than one patch."""
    if any(s is not None and s < PATCH for s in x.shape[1:3]):
        raise validate.refuse(name, x, f"{x.shape[2]}x{x.shape[1]}, smaller than one {PATCH}x{PATCH} patch",
                              "use a shallower layer or a larger image", StatisticError)


def mrf_target(features, *, stride: int = 1, mask=None) -> Target:
    """The style image's 3x3 patches [N, 9C] (every `stride`-th in each direction, all batch items pooled), and the
    same patches divided by their norms as conv2d filters [3, 3, C, N] (for the normalised cross-correlation)."""
    x = _features("features", features)
    _no_mask("mrf", mask, "a patch is matched whole, and a weighted patch would match other patches than the image has")
    stride = validate.number("stride", stride, low=1, integer=True, error=StatisticError,
                             todo="pass a step >= 1 between style patches (2 keeps a quarter of them)")
    _patch_size("features", x)
    _eager_finite("features", x)
    channels = int(x.shape[-1])
    patches = tf.reshape(_patches(x, stride), [-1, PATCH * PATCH * channels])
    unit = tf.math.divide_no_nan(patches, tf.norm(patches, axis=-1, keepdims=True))
    filters = tf.transpose(tf.reshape(unit, [-1, PATCH, PATCH, channels]), [1, 2, 3, 0])
    return Target("mrf", channels, 1, {"patches": patches, "filters": filters}, {"stride": stride})


def mrf_loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """mean over output patches of (patch - its nearest style patch)^2, nearest by normalised cross-correlation (Li & Wand 2016).

    The similarities of every output patch to every style patch are one conv2d with the normalised style patches as
    filters; the match (an argmax) is not differentiated, so the gradient pulls each patch towards its match. Cost per
    step: (output patches) x (style patches) x 9C multiply-adds, e.g. 62*62 x 62*62 x 9*256 (34 G) for relu3_1 of two
    256 px images; memory: the similarity matrix, B x (output patches) x (style patches) float32, which must not exceed
    MRF_MAX_BYTES.
    """
    _no_mask("mrf", mask, "a patch is matched whole, and a weighted patch would match other patches than the image has")
    x = _features("features", features)
    target = _check_target("mrf", target, x)
    _patch_size("features", x)
    style_patches = int(target.values["patches"].shape[0])
    if None not in x.shape[:3]:
        out_patches = int(x.shape[0]) * (int(x.shape[1]) - PATCH + 1) * (int(x.shape[2]) - PATCH + 1)
        size = 4 * out_patches * style_patches
        if size > MRF_MAX_BYTES:
            raise validate.refuse("features", x, f"{out_patches} output patches x {style_patches} style patches need a "
                                  f"{size / 2**20:.0f} MiB similarity matrix, over MRF_MAX_BYTES ({MRF_MAX_BYTES / 2**20:.0f} MiB)",
                                  "use a deeper layer or smaller images, or fewer style patches: target(..., 'mrf', stride=2) keeps a quarter",
                                  StatisticError)
    similarity = tf.nn.conv2d(tf.stop_gradient(x), target.values["filters"], strides=1, padding="VALID")
    match = tf.stop_gradient(tf.argmax(similarity, axis=-1))
    nearest = tf.gather(target.values["patches"], match)
    return tf.reduce_mean(tf.square(_patches(x) - nearest))


# As in helpers.losses: the public functions run inside tf.function as plain Python (their checks read static shapes and
# Python values), so AutoGraph is told to leave them alone.
for _name in ("gram_target", "gram_loss", "mean_std_target", "mean_std_loss", "mean_cov_target", "mean_cov_loss", "sliced_wasserstein_target",
              "sliced_wasserstein_loss", "mrf_target", "mrf_loss"):
    globals()[_name] = tf.autograph.experimental.do_not_convert(globals()[_name])
del _name


# ------------------------------------------------------------------------------------------------------------ registry


class Statistic(NamedTuple):
    """One style statistic: its name, `target(features, **options) -> Target`, `loss(features, target) -> scalar`, whether
    it takes a mask, its options, and the paper it comes from."""

    name: str
    target: Callable
    loss: Callable
    weighted: bool
    options: tuple
    source: str


#: The statistics by name, in the order the course meets them.
STATISTICS = {
    "gram": Statistic("gram", gram_target, gram_loss, True, (), "Gatys, Ecker & Bethge 2015"),
    "mean_std": Statistic("mean_std", mean_std_target, mean_std_loss, True, (), "Li, Wang, Liu & Hou 2017; Huang & Belongie 2017 (AdaIN)"),
    "mean_cov": Statistic("mean_cov", mean_cov_target, mean_cov_loss, True, (), "Gaussian 2-Wasserstein distance (Dowson & Landau 1982)"),
    "sliced_wasserstein": Statistic("sliced_wasserstein", sliced_wasserstein_target, sliced_wasserstein_loss, False, ("projections", "seed"),
                                    "Heitz, Vanhoey, Chambon & Belcour 2021"),
    "mrf": Statistic("mrf", mrf_target, mrf_loss, False, ("stride",), "Li & Wand 2016"),
}


def _statistic(name: str) -> Statistic:
    """STATISTICS[name], or StatisticError listing the names (with a 'Did you mean' for a near miss)."""
    return STATISTICS[validate.choice("statistic", name, STATISTICS, error=StatisticError, fold_case=True)]


def _options(entry: Statistic, options: dict) -> None:
    """Refuse an option that `entry` does not take, with the ones it does (and a 'Did you mean')."""
    for key in options:
        if key not in entry.options:
            if not entry.options:
                raise validate.refuse(key, options[key], f"{entry.name} takes no options", "leave it out, or choose a statistic that takes it",
                                      StatisticError)
            validate.choice("option", key, entry.options, error=StatisticError, todo=f"{entry.name} takes {', '.join(entry.options)}")


def target(features, statistic: str = "gram", *, mask=None, **options) -> Target:
    """The style image's `statistic` of its features [B, H, W, C], prepared once (options: projections and seed for
    sliced_wasserstein, stride for mrf; `mask` [1|B, H, W, 1] in [0, 1] weights the style's pixels for gram, mean_std, mean_cov)."""
    entry = _statistic(statistic)
    _options(entry, options)
    return entry.target(features, mask=mask, **options)


def loss(features, target: Target, *, mask=None) -> tf.Tensor:
    """The distance, a scalar tf.float32, from features [B, H, W, C] to a prepared target, by the target's statistic
    (`mask` [1|B, H, W, 1] in [0, 1] weights the output's pixels for gram, mean_std, mean_cov)."""
    if not isinstance(target, Target):
        raise validate.refuse("target", target, "not a prepared target", "make it once with style_stats.target(style_features, statistic)",
                              StatisticError)
    return STATISTICS[target.statistic].loss(features, target, mask=mask)


def style_distance(features, target_features, statistic: str = "gram", *, mask=None, target_mask=None, **options) -> tf.Tensor:
    """loss(features, target(target_features, statistic, mask=target_mask, **options), mask=mask): both in one call."""
    return loss(features, target(target_features, statistic, mask=target_mask, **options), mask=mask)


for _name in ("target", "loss", "style_distance"):
    globals()[_name] = tf.autograph.experimental.do_not_convert(globals()[_name])
del _name


# ------------------------------------------------------------------------------------------------------------ its cost


def step_cost(statistic: str, features_shape, style_shape, *, projections: int | None = None, seed: int = 0, stride: int = 1) -> dict:
    """What one loss evaluation of `statistic` costs at one layer, counted from the shapes [B, H, W, C] of the output's
    and the style's features: {'multiply_adds', 'target_bytes' (the prepared target, float32), 'step_bytes' (the
    largest tensors one evaluation builds beyond the features, float32; mean_cov's C x C algebra in float64)}.

    gram: the C x C Gram matrix (H W C^2 multiply-adds); mean_std: 2C numbers; mean_cov: the covariance and the
    middle matrix in float64 (H W C^2, plus about 10 C^3 for the eigenvalues); sliced_wasserstein: every pixel on every
    direction, sorted (H W C P); mrf: the output's patches and the similarity of each to every style patch
    ((output patches) (style patches) 9C), the matrix that MRF_MAX_BYTES caps. The options are the statistic's own
    (`seed` is accepted so that a statistic's options can be passed as they are; it changes nothing of the cost).
    """
    entry = _statistic(statistic)
    b, h, w, c = (int(d) for d in features_shape)
    _, sh, sw, sc = (int(d) for d in style_shape)
    if sc != c:
        raise validate.refuse("style_shape", style_shape, f"{sc} channels but the features have {c}", "pass both shapes of one layer",
                              StatisticError)
    pixels, style_pixels = b * h * w, sh * sw
    if entry.name == "gram":
        return {"multiply_adds": pixels * c * c, "target_bytes": 4 * c * c, "step_bytes": 4 * b * c * c}
    if entry.name == "mean_std":
        return {"multiply_adds": 2 * pixels * c, "target_bytes": 4 * 2 * c, "step_bytes": 4 * 2 * b * c}
    if entry.name == "mean_cov":
        return {"multiply_adds": pixels * c * c + b * 10 * c**3, "target_bytes": 4 * c + 8 * (2 * c * c + 1), "step_bytes": 8 * 2 * b * c * c}
    if entry.name == "sliced_wasserstein":
        p = c if projections is None else int(projections)
        return {"multiply_adds": pixels * c * p, "target_bytes": 4 * (c * p + p * style_pixels), "step_bytes": 4 * 2 * p * pixels}
    out_patches = b * max(0, h - PATCH + 1) * max(0, w - PATCH + 1)
    style_patches = len(range(0, max(0, sh - PATCH + 1), stride)) * len(range(0, max(0, sw - PATCH + 1), stride))
    size = PATCH * PATCH * c
    return {"multiply_adds": out_patches * style_patches * size, "target_bytes": 4 * 2 * style_patches * size,
            "step_bytes": 4 * (out_patches * style_patches + 2 * out_patches * size)}


def mrf_matches(features, style_features, *, stride: int = 1) -> np.ndarray:
    """Where mrf_loss finds each 3x3 patch of `features` [1, H, W, C] its nearest patch of `style_features` [1, Hs, Ws, C]
    (normalised cross-correlation, style patches every `stride`-th): [H - 2, W - 2, 2] int, the row and column of the
    matched style patch's top-left corner in the style map."""
    x, s = _features("features", features), _features("style_features", style_features)
    prepared = target(s, "mrf", stride=stride)
    _patch_size("features", x)
    similarity = tf.nn.conv2d(x[:1], prepared.values["filters"], strides=1, padding="VALID")
    match = tf.argmax(similarity, axis=-1)[0].numpy()
    columns = len(range(0, int(s.shape[2]) - PATCH + 1, stride))
    return np.stack([match // columns * stride, match % columns * stride], axis=-1).astype(int)
