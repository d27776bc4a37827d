"""The objective as a sum of terms the reader composes: content, style (with any statistic of helpers.style_stats),
total variation, temporal, or a function of one's own.

    objective = terms.Objective([
        terms.Content(content),                                  # weight 1e4, block5_conv2, the tutorial's mean squares
        terms.Style(style, statistic="mean_cov", weight=1e-2),   # any of style_stats.STATISTICS, its layers, a region mask
        terms.TotalVariation(),                                  # weight 30
    ])
    result = optimize.minimize(objective, content, optimizer="lbfgs", steps=100)
    result.history["style"]    # each term's weighted value per step, by its name

Each term's value is ``weight * its loss``; the objective is their sum, ``total == sum of the parts`` at every step.
The default weights and loss form are the TF tutorial's (``losses.TUTORIAL_WEIGHTS``, form "mean"), so that
``Objective([Content(c), Style(s), TotalVariation()])`` is exactly the objective of ``optimize.transfer`` with the
tutorial's weights (tests/test_terms.py checks it in float32). The statistics other than "gram" have other scales:
their weights are for the reader (or a notebook's measurements) to choose.

A term whose weight is 0 is recorded as 0 and not computed: its layers are left out of VGG19. The targets (the
content's features, each style's statistics, the masks at each layer) are prepared once per image size, eagerly, the
first time the objective meets that size with a given feature extractor.

Every refusal is a ``TermError`` that reads 'NAME = VALUE: why; what to do'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from helpers import images, losses, optimize, style_stats, temporal, validate, vgg
from helpers import masks as masking

#: How many (extractor, size) preparations an objective keeps (each holds its targets and its extractor).
PREPARED_KEPT = 4

#: Names a term may not take: the history's own columns.
RESERVED_NAMES = ("step", "total", "seconds", "scale")


class TermError(validate.ArgumentError):
    """A bad term or objective: 'NAME = VALUE: why; what to do'."""


def _weight(owner: str, value) -> float:
    """A term's weight: a finite number >= 0."""
    return validate.number(f"{owner}.weight", value, low=0, error=TermError, todo="pass a weight >= 0 (0 leaves the term out)")


def _layers(owner: str, value) -> tuple:
    """A non-empty sequence of VGG19 layer names, as a tuple."""
    if isinstance(value, str):
        value = (value,)
    try:
        names = vgg.check_layers(list(value))
    except (TypeError, ValueError) as exc:
        raise validate.refuse(f"{owner}.layers", value, str(exc).rstrip("."), f"pass VGG19 layer names such as {vgg.STYLE_LAYERS[0]!r}",
                              TermError) from exc
    if not names:
        raise validate.refuse(f"{owner}.layers", value, "no layers", "pass at least one VGG19 layer name", TermError)
    return tuple(names)


def _form(owner: str, value) -> str:
    """A loss form of losses.FORMS."""
    return validate.choice(f"{owner}.form", value, losses.FORMS, error=TermError)


def _name(owner: str, value) -> str:
    """A term's name: a non-empty string that is not one of the history's own columns."""
    if not isinstance(value, str) or not value.strip():
        raise validate.refuse(f"{owner}.name", value, "not a non-empty string", "pass a short name such as 'style'", TermError)
    if value in RESERVED_NAMES:
        raise validate.refuse(f"{owner}.name", value, "a column of the history", f"choose a name other than {', '.join(RESERVED_NAMES)}", TermError)
    return value


def _image(owner: str, value, max_dim: int | None) -> tf.Tensor:
    """Any image load_img accepts, as [1, H, W, 3] float32 in [0, 1] (names and paths scaled to max_dim, as transfer does)."""
    return optimize._load(value, owner, max_dim)


def _repr(term) -> str:
    """Class(field=value, ...) with images and arrays shown by their shape (validate.show)."""
    shown = ", ".join(f"{f.name}={validate.show(getattr(term, f.name))}" for f in dataclasses.fields(term) if f.name != "fn")
    if hasattr(term, "fn"):
        shown = f"fn={getattr(term.fn, '__name__', type(term.fn).__name__)}, " + shown
    return f"{type(term).__name__}({shown})"


@dataclasses.dataclass(eq=False, repr=False)
class Content:
    """weight * the content loss: the features at `layers` of the image against those of `image` (losses.content_loss)."""

    image: Any
    layers: Sequence[str] = tuple(vgg.CONTENT_LAYERS)
    weight: float = losses.TUTORIAL_WEIGHTS["content_weight"]
    form: str = losses.TUTORIAL_WEIGHTS["form"]
    name: str = "content"

    def __post_init__(self):
        """Load the image and check the settings."""
        self.image = _image("Content.image", self.image, images.DEFAULT_MAX_DIM)
        self.layers = _layers("Content", self.layers)
        self.weight = _weight("Content", self.weight)
        self.form = _form("Content", self.form)
        self.name = _name("Content", self.name)

    def needs(self) -> tuple[tuple, tuple]:
        """(style-side layers, content-side layers) this term reads."""
        return (), self.layers

    def prepare(self, features: Callable, size: tuple[int, int]) -> dict:
        """The content's features {layer: [1, h, w, C]} at the image size."""
        found = features(optimize._resize(self.image, size))
        return {n: found[n] for n in self.layers}

    def value(self, image, found: dict, prepared: dict) -> tf.Tensor:
        """weight * content_loss in this term's form."""
        return self.weight * losses.content_loss({n: found[n] for n in self.layers}, prepared, self.form)


@dataclasses.dataclass(init=False, eq=False, repr=False)
class Style:
    """weight * sum_l w_l * distance_l: the `statistic` (style_stats.STATISTICS) of `layers` matched to `image`'s."""

    image: Any
    statistic: str
    layers: Sequence[str]
    weight: float
    layer_weights: Any
    mask: Any
    style_mask: Any
    scale: float | None
    mask_mode: str
    form: str
    name: str
    options: dict

    def __init__(self, image, statistic: str = "gram", *, layers: Sequence[str] = tuple(vgg.STYLE_LAYERS),
                 weight: float = losses.TUTORIAL_WEIGHTS["style_weight"], layer_weights=None, mask=None, style_mask=None,
                 scale: float | None = None, mask_mode: str = "simple", form: str = losses.TUTORIAL_WEIGHTS["form"],
                 name: str = "style", **options):
        """`mask`: the region of the picture this style paints (helpers.masks: a built-in name, a grey image, an array;
        None: everywhere); `style_mask`: the region of the style image to copy; `scale`: the style's long side as a
        multiple of the picture's; `form` scales Gram errors as losses.style_layer_loss does (other statistics: "mean");
        `options` go to the statistic (projections and seed for sliced_wasserstein, stride for mrf)."""
        self.statistic = style_stats._statistic(statistic).name  # a 'Did you mean' for a near miss
        entry = style_stats.STATISTICS[self.statistic]
        style_stats._options(entry, options)
        self.options = dict(options)
        self.layers = _layers("Style", layers)
        self.weight = _weight("Style", weight)
        self.layer_weights = losses._layer_weights(list(self.layers), layer_weights)
        self.form = _form("Style", form)
        if self.form != "mean" and self.statistic != "gram":
            raise validate.refuse("Style.form", form, f"{self.statistic} has one form", "leave form at 'mean' (it scales Gram errors only)",
                                  TermError)
        self.mask_mode = validate.choice("Style.mask_mode", mask_mode, masking.MODES, error=TermError)
        if (mask is not None or style_mask is not None) and not entry.weighted:
            which, value = ("Style.mask", mask) if mask is not None else ("Style.style_mask", style_mask)
            raise validate.refuse(which, value, f"{self.statistic} has no weighted form, so it cannot be limited to a region",
                                  "use gram, mean_std or mean_cov for a region", TermError)
        self.mask, self.style_mask = mask, style_mask
        self.scale = None if scale is None else validate.number("Style.scale", scale, low=0, low_open=True, error=TermError,
                                                                todo="pass a number > 0 (1 gives the style the picture's long side)")
        self.image = _image("Style.image", image, images.DEFAULT_MAX_DIM if scale is None else None)
        self.name = _name("Style", name)

    def needs(self) -> tuple[tuple, tuple]:
        """(style-side layers, content-side layers) this term reads."""
        return self.layers, ()

    def prepare(self, features: Callable, size: tuple[int, int]) -> dict:
        """Each layer's target statistic of the style image, and, with masks, each layer's region and which layers are kept."""
        style = self.image if self.scale is None else optimize._scale_style(self.image, "Style.image", self.scale, tf.zeros([1, *size, 3]))
        found = features(style)
        regions, on_style, kept = None, None, list(self.layers)
        if self.mask is not None or self.style_mask is not None:
            region = tf.ones([1, *size, 1]) if self.mask is None else masking.check_mask(
                masking.load_mask(self.mask, size, name="Style.mask"), "Style.mask")
            regions = masking.layer_masks(region, list(self.layers), self.mask_mode, "Style.mask")
            if self.style_mask is not None:
                whole = masking.check_mask(masking.load_mask(self.style_mask, tuple(int(d) for d in style.shape[1:3]), name="Style.style_mask"),
                                           "Style.style_mask")
                on_style = masking.layer_masks(whole, list(self.layers), self.mask_mode, "Style.style_mask")
                empty = set(masking.empty_layers(on_style))  # nothing of the style's region there: no term at that layer
                kept = [n for n in self.layers if n not in empty]
        targets = {n: style_stats.target(found[n], self.statistic, mask=None if on_style is None else on_style[n], **self.options)
                   for n in kept}
        return {"targets": targets, "regions": regions, "kept": kept}

    def _layer_loss(self, x, target, mask):
        """One layer's distance; Gram errors in this term's form (style_stats' gram is form 'mean')."""
        if self.statistic == "gram" and self.form != "mean":
            gram = losses.gram_matrix(x) if mask is None else losses.guided_gram_matrix(x, mask)
            return losses.style_layer_loss(gram, target.values["gram"], self.form)
        return style_stats.loss(x, target, mask=mask)

    def value(self, image, found: dict, prepared: dict) -> tf.Tensor:
        """weight * sum_l w_l * d_l; with a region, each layer's distance is also weighted by the region's share a_l (as
        losses.guided_style_loss), so a region pulls on its pixels as hard as a whole-picture style would."""
        targets, regions, weights = prepared["targets"], prepared["regions"], self.layer_weights
        if not prepared["kept"]:
            return tf.constant(0.0, tf.float32)
        if regions is None:
            per_layer = [weights[n] * self._layer_loss(found[n], targets[n], None) for n in prepared["kept"]]
        else:
            per_layer = []
            for n in prepared["kept"]:
                mask = tf.cast(regions[n], tf.float32)
                per_layer.append(weights[n] * tf.reduce_mean(mask) * self._layer_loss(tf.cast(found[n], tf.float32), targets[n], mask))
        return self.weight * tf.add_n(per_layer)


@dataclasses.dataclass(eq=False, repr=False)
class TotalVariation:
    """weight * the sum of absolute differences between neighbouring pixels (losses.total_variation_loss)."""

    weight: float = losses.TUTORIAL_WEIGHTS["tv_weight"]
    name: str = "tv"

    def __post_init__(self):
        """Check the settings."""
        self.weight = _weight("TotalVariation", self.weight)
        self.name = _name("TotalVariation", self.name)

    def needs(self) -> tuple[tuple, tuple]:
        """No VGG19 layers."""
        return (), ()

    def prepare(self, features: Callable, size: tuple[int, int]) -> None:
        """Nothing to prepare."""
        return None

    def value(self, image, found: dict, prepared) -> tf.Tensor:
        """weight * TV(image)."""
        return self.weight * losses.total_variation_loss(image)


@dataclasses.dataclass(eq=False, repr=False)
class Temporal:
    """Ruder et al.'s temporal term: weight * sum c (x - warped previous)^2 / D over the pixels the `mask` trusts."""

    previous: Any
    flow: Any
    mask: Any
    weight: float = temporal.TEMPORAL_WEIGHT
    name: str = "temporal"

    def __post_init__(self):
        """Warp the previous output [H, W, 3] by `flow` (None: it is warped already) and check the settings (helpers.temporal)."""
        self.weight = _weight("Temporal", self.weight)
        self.name = _name("Temporal", self.name)
        previous = np.asarray(self.previous[0] if np.ndim(self.previous) == 4 else self.previous, np.float32)
        self.target = previous if self.flow is None else temporal.warped_previous(previous, self.flow, self.mask, previous)
        self._loss = temporal.temporal_loss(self.target, self.mask, self.weight)  # the weight inside, as temporal.stylize_optimizer always had it

    def needs(self) -> tuple[tuple, tuple]:
        """No VGG19 layers."""
        return (), ()

    def prepare(self, features: Callable, size: tuple[int, int]) -> None:
        """The warped previous frame must have the picture's size (the temporal loss runs at one scale)."""
        if tuple(self.target.shape[:2]) != tuple(size):
            raise validate.refuse("Temporal.previous", self.target, f"{self.target.shape[1]}x{self.target.shape[0]} px but the picture is "
                                  f"{size[1]}x{size[0]}", "pass the previous output at this frame's size", TermError)
        return None

    def value(self, image, found: dict, prepared) -> tf.Tensor:
        """temporal.temporal_loss(warped previous, mask, weight)(image)."""
        return tf.cast(self._loss(image), tf.float32)


@dataclasses.dataclass(eq=False, repr=False)
class Custom:
    """weight * fn(image) (or fn(image, {layer: features}) when `layers` are named): a term of one's own."""

    fn: Callable
    weight: float = 1.0
    name: str = "custom"
    layers: Sequence[str] = ()

    def __post_init__(self):
        """Check the settings."""
        if not callable(self.fn):
            raise validate.refuse("Custom.fn", self.fn, f"a {type(self.fn).__name__} is not a function",
                                  "pass a function of the image [1, H, W, 3] that returns a scalar", TermError)
        self.weight = _weight("Custom", self.weight)
        self.name = _name("Custom", self.name)
        self.layers = _layers("Custom", self.layers) if self.layers else ()

    def needs(self) -> tuple[tuple, tuple]:
        """(style-side layers, content-side layers) this term reads."""
        return self.layers, ()

    def prepare(self, features: Callable, size: tuple[int, int]) -> None:
        """Nothing to prepare."""
        return None

    def value(self, image, found: dict, prepared) -> tf.Tensor:
        """weight * fn(...), as a float32 scalar."""
        out = self.fn(image, {n: found[n] for n in self.layers}) if self.layers else self.fn(image)
        return self.weight * tf.cast(out, tf.float32)


#: The kinds of term an Objective takes.
TERMS = (Content, Style, TotalVariation, Temporal, Custom)
for _term in TERMS:
    _term.__repr__ = _repr
del _term


def _ordered(groups) -> list:
    """The names of several sequences, each once, in the order first met."""
    seen = {}
    for group in groups:
        for name in group:
            seen.setdefault(name, None)
    return list(seen)


class Objective:
    """The loss as a sum of terms: knows the VGG19 layers they need, prepares their targets once per image size, and
    returns (total, {name: weighted value}) for an image [1, H, W, 3] in [0, 1]."""

    def __init__(self, terms):
        if isinstance(terms, TERMS):
            terms = [terms]
        if isinstance(terms, (str, bytes)) or not hasattr(terms, "__iter__"):
            raise validate.refuse("terms", terms, "not a list of terms", "pass a list such as [Content(photo), Style(painting), TotalVariation()]",
                                  TermError)
        terms = list(terms)
        if not terms:
            raise validate.refuse("terms", terms, "no terms, so nothing to minimise",
                                  "pass at least one term, e.g. [Content(photo), Style(painting)]", TermError)
        for i, term in enumerate(terms):
            if not isinstance(term, TERMS):
                raise validate.refuse(f"terms[{i}]", term, f"a {type(term).__name__} is not a term",
                                      f"use {', '.join(t.__name__ for t in TERMS)}; Custom(fn) wraps a function of the image", TermError)
        counts, names = {}, []
        for term in terms:  # a second term of one name becomes name_2, name_3, ...
            counts[term.name] = counts.get(term.name, 0) + 1
            names.append(term.name if counts[term.name] == 1 else f"{term.name}_{counts[term.name]}")
        self.terms = terms
        self.names = names
        self._prepared = []  # (extractor, size, [prepared per term])

    def __repr__(self) -> str:
        """The terms, one per line."""
        return "Objective([\n" + "".join(f"    {t!r},\n" for t in self.terms) + "])"

    @property
    def active(self) -> list:
        """(name, term) of the terms with a weight above 0."""
        return [(n, t) for n, t in zip(self.names, self.terms) if t.weight > 0]

    @property
    def style_layers(self) -> list:
        """The VGG19 layers whose features the style-side terms (Style, Custom) of weight > 0 read, in order."""
        return _ordered(t.needs()[0] for _, t in self.active)

    @property
    def content_layers(self) -> list:
        """The VGG19 layers the Content terms of weight > 0 read, in order."""
        return _ordered(t.needs()[1] for _, t in self.active)

    @property
    def layers(self) -> list:
        """Every VGG19 layer the terms of weight > 0 read: the union of style_layers and content_layers."""
        return _ordered([self.style_layers, self.content_layers])

    @property
    def form(self) -> str:
        """'relative' if a Content or Style term uses it, else 'mean' (Adam's default epsilon follows it)."""
        return "relative" if any(getattr(t, "form", "mean") == "relative" for _, t in self.active) else "mean"

    def extractor(self, weights="auto", pooling: str = "max", precision: str = "float32") -> vgg.StyleContentModel:
        """VGG19 cut after the deepest layer the terms need, with exactly their layers."""
        return vgg.StyleContentModel(self.style_layers, self.content_layers, weights, pooling, precision=precision)

    def _check_extractor(self, extractor) -> None:
        """Refuse an extractor without features() or without a layer the terms need."""
        if not hasattr(extractor, "features"):
            raise validate.refuse("extractor", extractor, "has no features() method", "pass a vgg.StyleContentModel, e.g. objective.extractor()",
                                  TermError)
        have = set(getattr(extractor, "style_layers", [])) | set(getattr(extractor, "content_layers", []))
        missing = [n for n in self.style_layers + self.content_layers if n not in have]
        if missing:
            raise validate.refuse("extractor", extractor, f"lacks the layer(s) {missing} the terms need",
                                  "build it with objective.extractor()", TermError)

    @staticmethod
    def _features(extractor, image) -> dict:
        """{layer: features} of every layer the extractor gives (style and content sides together)."""
        found = extractor.features(image)
        return {**found["style"], **found["content"]}

    def prepare(self, extractor, size) -> list:
        """Each term's targets for pictures of `size` (H, W), computed once per extractor and size (eagerly, even when traced)."""
        size = tuple(int(s) for s in size)
        for known, known_size, prepared in self._prepared:
            if known is extractor and known_size == size:
                return prepared
        self._check_extractor(extractor)
        with tf.init_scope():  # targets are constants: computed eagerly, also the first time a tf.function traces the loss
            prepared = [t.prepare(lambda img: self._features(extractor, img), size) if t.weight > 0 else None for t in self.terms]
        self._prepared = [*self._prepared[-(PREPARED_KEPT - 1):], (extractor, size, prepared)]  # the latest few, not every run's
        return prepared

    def losses(self, image, extractor) -> tuple[tf.Tensor, dict]:
        """(total, {term name: weighted value}) for an image [1, H, W, 3] in [0, 1], as float32 scalars; total is the sum in term order."""
        prepared = self.prepare(extractor, tuple(image.shape[1:3]))
        needs_vgg = bool(self.style_layers or self.content_layers)
        found = self._features(extractor, image) if needs_vgg else {}
        parts, total = {}, None
        for name, term, ready in zip(self.names, self.terms, prepared):
            value = term.value(image, found, ready) if term.weight > 0 else tf.constant(0.0, tf.float32)
            parts[name] = value
            total = value if total is None else total + value
        return total, parts

    def __call__(self, image, extractor) -> tuple[tf.Tensor, dict]:
        """Objective.losses."""
        return self.losses(image, extractor)


def check_objective(objective) -> Objective:
    """`objective` if it is an Objective; a list of terms (or one term) becomes one; else TermError."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, (list, tuple, *TERMS)):
        return Objective(objective)
    raise validate.refuse("objective", objective, f"a {type(objective).__name__} is not an objective",
                          "pass terms.Objective([...]) or a list of terms", TermError)

