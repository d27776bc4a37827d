"""Style transfer by optimisation (Gatys et al.): one entry point, `transfer`, with Adam or L-BFGS.

    result = transfer(content, style)                 # L-BFGS (in TensorFlow), course defaults for the weights in use
    result = transfer(content, style, **TUTORIAL_RECIPE)   # the TF tutorial's Adam recipe, exactly
    result.image     # [1, H, W, 3] float32 in [0, 1], the content's size
    result.history   # per-step lists: step, total, style, content, tv, seconds, scale
    result.settings  # every setting that was used, plus how the run stopped

The objective is

    L = style_weight * sum_s b_s * L_style(x, style_s) + content_weight * L_content(x, content)
        + tv_weight * TV(x)

with ``losses.style_loss`` / ``losses.content_loss`` in the chosen `form` and TV the sum of absolute
neighbour differences (``losses.total_variation_loss``, as ``tf.image.total_variation``). The history
records the weighted terms, so ``total == style + content + tv`` at every step.

Defaults depend on the VGG19 weights in use (see ``DEFAULTS``): trained ImageNet weights (the exact Keras
file or the packaged 8-bit copy) get the TF tutorial's loss form and weights; random He-normal weights (an
experiment, used only when asked for or when no trained copy is installed) get ``form="relative"``, which
divides each style layer's Gram error by the target's squared norm so that no layer dominates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from helpers import colour, config, images, lbfgs, losses, validate, vgg
from helpers import masks as masking  # `masks` is transfer()'s argument
from helpers.precision import CHOICES as PRECISIONS
from helpers.precision import resolve as resolve_precision

#: "lbfgs" is L-BFGS inside TensorFlow (helpers.lbfgs); "lbfgs-scipy" is scipy's L-BFGS-B on float64 copies of the image.
OPTIMIZERS = ("lbfgs", "lbfgs-scipy", "adam")
INITS = ("content", "noise", "blend")
PRESERVE_COLOR = (None, "luminance", "histogram")

#: The noise share of init="blend" (the Coursera assignment's noise_ratio).
NOISE_RATIO = 0.6

#: The TF tutorial's recipe, exactly: pass as transfer(content, style, **TUTORIAL_RECIPE). The tutorial computes in
#: float32 (it has no bfloat16), so the recipe pins it: its numbers are the tutorial's on every machine.
TUTORIAL_RECIPE = {
    "optimizer": "adam",
    **losses.TUTORIAL_WEIGHTS,
    "learning_rate": 0.02,
    "beta_1": 0.99,
    "epsilon": 0.1,
    "precision": "float32",
}

#: Course defaults by resolved weights kind ("file" and "packaged" are trained ImageNet VGG19s, treated like "imagenet").
#: imagenet: the TF tutorial's loss. random: per-layer relative Gram errors (He, Wang & Hopcroft 2016 style
#: random features), weights measured on the committed examples (see notebook 03).
DEFAULTS = {
    **{kind: dict(losses.TUTORIAL_WEIGHTS) for kind in vgg.TRAINED_KINDS},
    "random": {"form": "relative", "style_weight": 1.0, "content_weight": 0.1, "tv_weight": 1e-6},
}

#: Adam's epsilon when none is given, by loss form. The tutorial's 0.1 suits losses of order 1e5 ("mean" with
#: weights 1e-2/1e4); "relative" losses are of order 1 with pixel gradients near 1e-5, which 0.1 would swamp.
ADAM_EPSILON = {"mean": 0.1, "paper": 0.1, "relative": 1e-8}

#: Default number of steps (iterations) per optimiser when `steps` is None.
DEFAULT_STEPS = {"lbfgs": 150, "lbfgs-scipy": 150, "adam": 500}

#: L-BFGS's memory (the number of recent steps whose gradient changes model the curvature) when lbfgs_memory=None,
#: capped so that its history, 2 x memory float64 vectors the size of the image, stays within LBFGS_MEMORY_BYTES (scipy's;
#: the TensorFlow engine keeps the same number of float32 vectors, half the bytes).
LBFGS_MEMORY = 50
LBFGS_MEMORY_BYTES = 640 * 2**20
#: How often L-BFGS may restart (fresh memory, same image) after its line search fails part-way through a stage.
LBFGS_RESTARTS = 3

#: memory="auto" runs VGG19's first two blocks in stripes (vgg.Stripes: the same loss and gradient, less memory, a
#: little more time) for images of more pixels than this, in stripes of about STRIPE_PIXELS pixels each;
#: memory="low" always does, memory="fast" never. benchmarks/RESULTS.md measures both sides.
MEMORY_CHOICES = ("auto", "low", "fast")
STRIPES_ABOVE = 640 * 640
STRIPE_PIXELS = 256 * 1024


class TransferError(ValueError):
    """A bad argument to `transfer`; the message names the argument and the reason."""


@dataclasses.dataclass
class TransferResult:
    """The outcome of `transfer`: the image, the per-step history and the settings used."""

    image: tf.Tensor
    history: dict
    settings: dict

    @property
    def final_loss(self) -> float:
        """The total loss of the last recorded step."""
        return float(self.history["total"][-1]) if self.history["total"] else float("nan")

    @property
    def seconds(self) -> float:
        """Wall-clock seconds the optimisation took."""
        return float(self.history["seconds"][-1]) if self.history["seconds"] else 0.0


# -------------------------------------------------------------------------------------------- validation


def _too_small(exc: images.ImageTooSmallError, name: str) -> TransferError:
    """A too-small image, with the remedies open to whoever called transfer (a larger image, or one enlarged first)."""
    width, height = exc.size
    return TransferError(f"{name}: {exc.source}: is too small ({width}x{height} px); VGG19 features need at least {exc.min_side} px on "
                         f"each side. Use a larger image, or pass this one enlarged: {name}=images.load_img(..., "
                         f"max_dim={max(256, 2 * exc.min_side)}, upscale=True)")


def _as_image(value, name: str, min_side: int = images.MIN_SIDE) -> tf.Tensor:
    """Any image load_img accepts, kept at its size: [1, H, W, 3] float32 in [0, 1]; errors name `name`."""
    try:
        return images.load_img(value, max_dim=None, min_side=min_side)
    except images.ImageTooSmallError as exc:
        raise _too_small(exc, name) from exc
    except images.ImageLoadError as exc:
        raise TransferError(f"{name}: {exc}") from exc


def _load(value, name: str, max_dim: int | None) -> tf.Tensor:
    """images.load_sized, with its errors as TransferError naming `name`."""
    try:
        return images.load_sized(value, max_dim, name)
    except images.ImageTooSmallError as exc:
        raise _too_small(exc, name) from exc
    except images.ImageLoadError as exc:
        raise TransferError(f"{name}: {exc}") from exc


def _check_weight(value, name: str) -> float:
    """A loss weight must be a finite number >= 0 (a string such as "1e4" is refused, not read)."""
    return validate.number(name, value, low=0, error=TransferError)


def _check_count(value, name: str) -> int:
    """A count (steps, memory, an interval) must be a whole number >= 1."""
    return validate.number(name, value, low=1, integer=True, error=TransferError)


def _check_number(value, name: str, *, low: float, high: float, hint: str = "") -> float:
    """A setting such as the learning rate must be a finite number in (low, high]."""
    wanted = f"pass a number in ({low:g}, {high:g}]" if math.isfinite(high) else f"pass a number > {low:g}"
    return validate.number(name, value, low=low, high=None if math.isinf(high) else high, low_open=True, error=TransferError,
                           todo=wanted + (f" ({hint})" if hint else ""))


def _check_max_dim(value) -> int | None:
    """max_dim is None (keep the size) or a long side of at least images.MIN_SIDE pixels."""
    if value is None:
        return None
    return validate.number("max_dim", value, low=images.MIN_SIDE, integer=True, error=TransferError,
                           todo=f"pass None (full size) or a whole number of pixels >= {images.MIN_SIDE}")


def _check_hooks(*, seed, callback, progress, extra_loss) -> None:
    """transfer's seed is a whole number, callback and extra_loss are functions (or None), progress is a bool or a label."""
    validate.number("seed", seed, low=0, integer=True, error=TransferError)
    for name, value in (("callback", callback), ("extra_loss", extra_loss)):
        if value is not None and not callable(value):
            raise validate.refuse(name, value, f"a {type(value).__name__} is not a function", "pass a function, or None", TransferError)
    if not isinstance(progress, (bool, str)):
        raise validate.refuse("progress", progress, "not True, False or a label", "pass True, False or a string that labels the bar",
                              TransferError)


def _check_blend(style_blend_weights, num_styles: int) -> list[float]:
    """Validate and normalise the per-style weights to sum to 1."""
    if style_blend_weights is None:
        return [1.0 / num_styles] * num_styles
    values = list(np.atleast_1d(style_blend_weights)) if isinstance(style_blend_weights, np.ndarray) else (
        list(style_blend_weights) if isinstance(style_blend_weights, (list, tuple)) else [style_blend_weights])
    if len(values) != num_styles:
        raise TransferError(f"style_blend_weights has {len(values)} values but {num_styles} style image(s) were given")
    weights = [validate.number(f"style_blend_weights[{i}]", w, low=0, error=TransferError) for i, w in enumerate(values)]
    total = sum(weights)
    if total <= 0:
        raise TransferError(f"style_blend_weights sum to zero ({weights}); at least one style needs a positive weight")
    return [float(w / total) for w in weights]


def _check_scales(scales, long_side: int, height: int, width: int) -> list[int]:
    """Validate coarse-to-fine long sides: increasing, at least MIN_SIDE px (a thin image's short side is kept at MIN_SIDE)."""
    if scales is None:
        return [long_side]
    if isinstance(scales, (int, np.integer, str, float)):
        scales = [scales]
    try:
        scales = list(scales)
    except TypeError as exc:
        raise TransferError(f"scales must be a sequence of long sides in pixels, got {scales!r}") from exc
    scales = [validate.number(f"scales[{i}]", s, low=1, integer=True, error=TransferError) for i, s in enumerate(scales)]
    if not scales:
        raise TransferError("scales is empty; give at least one long side, e.g. scales=(128, 256)")
    if any(b <= a for a, b in zip(scales, scales[1:])):
        raise TransferError(f"scales must increase, got {scales}")
    if scales[0] < images.MIN_SIDE:
        raise TransferError(f"scales: the first scale is {scales[0]} px; VGG19 needs at least {images.MIN_SIDE} px")
    return scales


def _resize(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Bilinear (antialiased) resize of [1, H, W, 3] to `size`, clipped to [0, 1]."""
    if tuple(image.shape[1:3]) == tuple(size):
        return image
    return images.clip_0_1(tf.image.resize(image, size, method="bilinear", antialias=True))


def initial_image(content: tf.Tensor, init="content", seed: int = 0) -> tf.Tensor:
    """The starting image: the content, uniform noise, a 0.6/0.4 noise/content blend, or a given image; [1, H, W, 3]."""
    content = tf.convert_to_tensor(content, tf.float32)
    shape = tuple(content.shape)
    if not isinstance(init, str):
        start = _as_image(init, "init", min_side=1)
        return _resize(start, shape[1:3])
    if init == "content":
        return tf.identity(content)
    if init not in INITS:
        raise TransferError(f"unknown init {init!r}; use one of {', '.join(INITS)} or an image tensor")
    noise = np.random.default_rng(seed).uniform(0.0, 1.0, size=shape).astype(np.float32)
    if init == "noise":
        return tf.convert_to_tensor(noise)
    return tf.convert_to_tensor(NOISE_RATIO * noise + (1.0 - NOISE_RATIO) * content.numpy())


# ------------------------------------------------------------------------------------------ the problem


class StyleTransferProblem:
    """The loss of one image size: targets from the content and styles, and a tf.function for loss and gradient."""

    def __init__(self, extractor, content, styles, blend, *, style_weight, content_weight, tv_weight, form, layer_weights=None,
                 masks=None, style_masks=None, mask_mode="simple", extra_loss=None):
        self.extractor = extractor
        self.form = form
        self.style_weight = float(style_weight)
        self.content_weight = float(content_weight)
        self.tv_weight = float(tv_weight)
        # A term whose weight is 0 is not computed at all (and its layers need not be in the extractor).
        self.use_style = self.style_weight > 0
        self.use_content = self.content_weight > 0
        self.content_targets = extractor(content)["content"] if self.use_content else {}
        # Spatial control (Gatys et al. 2017): with masks, style s is matched only inside its region of the content
        # (guided Gram matrices, helpers.losses), against the Gram matrices of its style image's own region.
        self.region_masks = None
        if masks is not None and self.use_style:
            self.region_masks, self.style_targets = _guided_targets(extractor, tuple(content.shape[1:3]), styles, masks,
                                                                    style_masks, mask_mode)
        else:
            self.style_targets = [extractor(s)["style"] for s in styles] if self.use_style else []
        self.blend = list(blend)
        self.layer_weights = layer_weights
        self.extra_loss = extra_loss  # a caller's own term of the image (e.g. helpers.temporal's temporal loss), or None
        self.loss_and_grads = tf.function(self._loss_and_grads, reduce_retracing=True)
        self.losses = tf.function(self._losses, reduce_retracing=True)

    def _losses(self, image, outputs=None):
        """Weighted parts (total, style, content, tv) for an image [1, H, W, 3] (and the extractor's `outputs` of it, if known)."""
        guided = self.region_masks is not None
        if outputs is None:
            outputs = (self.extractor.features(image) if guided else self.extractor(image)) if (self.use_style or self.use_content) else None
        zero = tf.constant(0.0, tf.float32)
        if self.use_style and guided:  # each region's own style, each weighted by its share of the picture
            style = tf.add_n([losses.guided_style_loss(outputs["style"], t, m, _style_layer_weights(self.layer_weights, i), self.form)
                              for i, (t, m) in enumerate(zip(self.style_targets, self.region_masks))])
        elif self.use_style:
            style = tf.add_n([w * losses.style_loss(outputs["style"], t, _style_layer_weights(self.layer_weights, i), self.form)
                              for i, (w, t) in enumerate(zip(self.blend, self.style_targets))])
        else:
            style = zero
        content = losses.content_loss(outputs["content"], self.content_targets, self.form) if self.use_content else zero
        tv = losses.total_variation_loss(image) if self.tv_weight > 0 else zero
        parts = {
            "style": self.style_weight * style,
            "content": self.content_weight * content,
            "tv": self.tv_weight * tv,
        }
        total = parts["style"] + parts["content"] + parts["tv"]
        if self.extra_loss is not None:
            parts["extra"] = tf.cast(self.extra_loss(image), tf.float32)
            total = total + parts["extra"]
        return total, parts

    def _loss_and_grads(self, image):
        """(total, parts, d total / d image) for an image [1, H, W, 3]."""
        if getattr(self.extractor, "tile_rows", None) and (self.use_style or self.use_content):  # VGG19 in stripes (memory="low")
            return self.extractor.loss_and_grads(image, lambda outputs: self._losses(image, outputs))
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, parts = self._losses(image)
        grad = tape.gradient(total, image)
        return total, parts, tf.zeros_like(image) if grad is None else grad  # None when every weight is 0


def _per_style(layer_weights) -> bool:
    """True when layer_weights gives one setting per style: a list or tuple of dicts (or None)."""
    return (isinstance(layer_weights, (list, tuple)) and len(layer_weights) > 0
            and all(w is None or isinstance(w, dict) for w in layer_weights))


def _style_layer_weights(layer_weights, index: int):
    """The layer weights of style `index`: one setting shared by all styles, or that style's own entry."""
    return layer_weights[index] if _per_style(layer_weights) else layer_weights


def _guided_targets(extractor, size, styles, region_masks, style_masks, mode):
    """Each region's masks per style layer (content masks at `size`), and each style's guided Gram targets ({layer: [1, C, C]})."""
    layers = list(extractor.style_layers)
    regions, targets = [], []
    for i, (style, mask, style_mask) in enumerate(zip(styles, region_masks, style_masks or [None] * len(styles))):
        mask = tf.ones([1, *size, 1]) if mask is None else masking.resize(mask, size)
        regions.append(masking.layer_masks(mask, layers, mode, f"masks[{i}]"))
        if style_mask is None:
            targets.append(extractor(style)["style"])
            continue
        on_style = masking.layer_masks(masking.resize(style_mask, tuple(style.shape[1:3])), layers, mode, f"style_masks[{i}]")
        for n in masking.empty_layers(on_style):  # nothing of the style's region there: that layer has no term for this region
            regions[-1][n] = tf.zeros_like(regions[-1][n])
        features = extractor.features(style)["style"]
        targets.append({n: losses.guided_gram_matrix(features[n], on_style[n]) for n in layers})
    return regions, targets


# ----------------------------------------------------------------------------------------- the runners


class _Stop(Exception):
    """Raised inside an optimiser loop to stop it (non-finite loss)."""


class _Recorder:
    """Keeps the history, the best and last good images, the progress bar and the callback."""

    def __init__(self, total_steps, progress, callback, callback_every, finish, scale_label):
        self.names = ("style", "content", "tv")  # the loss parts recorded, one history column each
        self.history = {"step": [], "total": [], **{n: [] for n in self.names}, "seconds": [], "scale": []}
        self.best = (math.inf, None)
        self.last_good = None
        self.finish = finish  # turns the optimised image into the image the user sees (colour)
        self.callback = callback
        self.callback_every = callback_every
        self.start = time.perf_counter()
        self.step = 0
        self.scale = scale_label
        self.bar = None
        self.lbfgs_early = []  # one note per L-BFGS stage that ended before its `steps` iterations
        self.lbfgs_evaluations = 0  # loss-and-gradient evaluations scipy asked for (an iteration may need several)
        self.lbfgs_restarts = []  # the step (counted over all scales) after which L-BFGS restarted with a fresh memory
        if progress:
            from helpers.progress import progress_bar

            label = progress if isinstance(progress, str) else "style transfer"
            self.bar = progress_bar(total=total_steps, desc=label, unit="step", leave=True)

    def record(self, image: tf.Tensor, total, parts, *, advance: bool) -> None:
        """Note the loss of `image`; stop on NaN/Inf; update best image, bar and callback."""
        total = float(total)
        values = {k: float(v) for k, v in parts.items()}
        if not (math.isfinite(total) and all(math.isfinite(v) for v in values.values())):
            raise _Stop(f"the loss became {total} at step {self.step}")
        if advance:
            self.step += 1
        h = self.history
        h["step"].append(self.step)
        h["total"].append(total)
        for k in self.names:
            h[k].append(values[k])
        if "extra" in values and "extra" not in self.names:
            h.setdefault("extra", []).append(values["extra"])
        h["seconds"].append(time.perf_counter() - self.start)
        h["scale"].append(self.scale)
        image = tf.identity(image)
        self.last_good = image
        if total <= self.best[0]:
            self.best = (total, image)
        if self.bar is not None and advance:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{total:.4g}", refresh=False)
        if self.callback is not None and advance and (self.step % self.callback_every == 0):
            self.callback(self.step, self.finish(image), dict(total=total, **values))

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()


def _run_adam(problem, start, steps, recorder, learning_rate, beta_1, beta_2, epsilon):
    """Adam as in the TF tutorial (fresh optimiser; clip to [0, 1] after each step); returns the final image."""
    image = tf.Variable(start)
    opt = tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)

    @tf.function
    def train_step(img):
        with tf.GradientTape() as tape:
            total, parts = problem._losses(img)
        grad = tape.gradient(total, img)
        grad = tf.zeros_like(img) if grad is None else grad  # None when every weight is 0
        opt.apply_gradients([(grad, img)])
        img.assign(images.clip_0_1(img))
        return total, parts

    for i in range(steps):
        before = tf.identity(image)
        total, parts = train_step(image)
        recorder.record(before, total, parts, advance=i > 0)
    total, parts = problem.losses(tf.convert_to_tensor(image))
    recorder.record(image, total, parts, advance=True)
    return tf.convert_to_tensor(image)


def _run_lbfgs(problem, start, steps, recorder, maxcor):
    """scipy L-BFGS-B with [0, 1] bounds (optimizer="lbfgs-scipy"); float64 at the scipy boundary; returns the final image.

    When the line search fails part-way (status 2, "ABNORMAL", e.g. on the TV term's kinks or on bfloat16's rounded
    gradients), L-BFGS restarts from the image it reached with a fresh memory, up to LBFGS_RESTARTS times.
    """
    from scipy.optimize import Bounds, minimize

    shape = tuple(start.shape)
    cache = {}

    def fun(x):
        image = tf.constant(x.reshape(shape), tf.float32)
        total, parts, grad = problem.loss_and_grads(image)
        recorder.lbfgs_evaluations += 1
        total_f = float(total)
        if not math.isfinite(total_f):
            raise _Stop(f"the loss became {total_f} at step {recorder.step}")
        if "x" not in cache:  # the starting point: step 0 of this stage
            recorder.record(image, total, parts, advance=False)
        cache["x"], cache["image"], cache["total"], cache["parts"] = x.copy(), image, total, parts
        return total_f, np.asarray(grad, np.float64).ravel()

    def on_iteration(intermediate_result):
        x = intermediate_result.x
        if "x" in cache and np.array_equal(cache["x"], x):
            image, total, parts = cache["image"], cache["total"], cache["parts"]
        else:
            image = tf.constant(x.reshape(shape), tf.float32)
            total, parts = problem.losses(image)
        recorder.record(image, total, parts, advance=True)

    x = np.asarray(start, np.float64).ravel()
    bounds = Bounds(np.zeros(x.size), np.ones(x.size))
    done, restarts = 0, 0
    while True:
        result = minimize(
            fun,
            x,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=on_iteration,
            options={"maxiter": int(steps) - done, "maxfun": (int(steps) - done) * 3 + 10, "maxcor": int(maxcor),
                     "ftol": 1e-12, "gtol": 0.0},
        )
        done += int(result.nit)
        x = result.x
        failed_line_search = int(result.status) == 2 and "ABNORMAL" in str(result.message).upper()
        if not (failed_line_search and int(result.nit) > 0 and done < int(steps) and restarts < LBFGS_RESTARTS):
            break
        restarts += 1
        recorder.lbfgs_restarts.append(recorder.step)
    recorder.lbfgs_message = str(result.message)
    if done < int(steps):  # scipy stopped before `steps` iterations: line search failed, maxfun, converged...
        recorder.lbfgs_early.append(f"after {done} of {int(steps)} iterations: {result.message}")
    return tf.constant(x.reshape(shape), tf.float32)


#: L-BFGS in TensorFlow takes as many iterations per call as fit in about this many seconds (one at least), so that
#: the progress bar moves and Ctrl-C answers; a callback's steps always end a call.
LBFGS_CALL_SECONDS = 0.5


def _run_lbfgs_tf(problem, start, steps, recorder, memory):
    """L-BFGS inside TensorFlow (helpers.lbfgs), several iterations per call; returns the final image.

    The history gets every iteration's loss; iterations run in one call share its time evenly. The best and last
    images are the engine's own, so they are exact although only a call's last image comes back to Python.
    """
    engine = lbfgs.LBFGS(problem.loss_and_grads, start, memory)  # one trace of the evaluation, shared by start() and run()
    done, per_iteration = 0, None
    try:
        total, parts = engine.start()
        recorder.record(start, total, parts, advance=False)  # step 0 of this stage; stops on a non-finite loss
        while done < steps:
            k = steps - done
            if recorder.callback is not None:  # end the call at the next step the callback sees
                k = min(k, recorder.callback_every - recorder.step % recorder.callback_every)
            k = 1 if per_iteration is None else max(1, min(k, int(LBFGS_CALL_SECONDS / per_iteration)))
            restarts, began = engine.restarts, time.perf_counter()
            out = engine.run(k)
            ended = time.perf_counter()
            if out["done"]:
                per_iteration = (ended - began) / out["done"]
            image = engine.x
            for i in range(out["done"]):
                if i == out["done"] - 1:
                    recorder.best = engine.best  # exact, although the iterations before the last came back without their image
                recorder.record(image, out["total"][i], {name: values[i] for name, values in out["parts"].items()}, advance=True)
            seconds = recorder.history["seconds"]
            for i in range(out["done"]):  # spread the call's time evenly over its iterations
                seconds[len(seconds) - out["done"] + i] = began - recorder.start + (i + 1) * (ended - began) / out["done"]
            done += out["done"]
            if engine.restarts > restarts:
                recorder.lbfgs_restarts.append(recorder.step)
            if out["status"] == lbfgs.NON_FINITE:
                recorder.last_good = image
                recorder.record(image, out["bad_total"], out["bad_parts"], advance=False)  # raises _Stop
            if out["status"] != lbfgs.RUNNING:
                recorder.lbfgs_message = out["message"]
                recorder.lbfgs_early.append(f"after {done} of {int(steps)} iterations: {out['message']}")
                break
        else:
            recorder.lbfgs_message = "STOP: the requested number of iterations was reached"
    finally:
        recorder.lbfgs_evaluations += engine.evaluations
    return engine.x


# ---------------------------------------------------------------------------------------- entry point


def resolve_settings(weights="auto", form=None, style_weight=None, content_weight=None, tv_weight=None) -> dict:
    """The loss form and weights `transfer` will use: explicit values, else DEFAULTS for the weights kind."""
    kind = vgg.weights_kind(weights)
    base = DEFAULTS.get(kind, DEFAULTS["imagenet"])
    chosen = {
        "weights_kind": kind,
        "form": base["form"] if form is None else form,
        "style_weight": base["style_weight"] if style_weight is None else style_weight,
        "content_weight": base["content_weight"] if content_weight is None else content_weight,
        "tv_weight": base["tv_weight"] if tv_weight is None else tv_weight,
    }
    if chosen["form"] not in losses.FORMS:
        raise TransferError(f"unknown loss form {chosen['form']!r}; use one of {', '.join(losses.FORMS)}")
    for name in ("style_weight", "content_weight", "tv_weight"):
        chosen[name] = _check_weight(chosen[name], name)
    return chosen


@dataclasses.dataclass
class _Plan:
    """The checked arguments of one transfer() call."""

    content: tf.Tensor
    styles: list
    blend: list
    chosen: dict
    style_layers: list
    content_layers: list
    scales: list
    steps: list
    callback_every: int
    learning_rate: float
    epsilon: float | None
    lbfgs_memory: int
    precision: str
    recompute: bool
    masks: list | None = None  # spatial control: one [1, H, W, 1] mask per style over the content (None: everywhere)
    style_masks: list | None = None  # and optionally one over each style image (None: the whole style image)
    mask_mode: str = "simple"
    style_scale: float | None = None
    memory: str = "auto"


def _plan(content, style, *, optimizer, steps, init, style_weight, content_weight, tv_weight, style_layers, content_layers,
          weights, pooling, preserve_color, scales, callback_every, style_blend_weights, form, learning_rate, beta_1, beta_2,
          epsilon, lbfgs_memory, extractor, max_dim, precision, recompute, masks=None, style_masks=None, mask_mode="simple",
          style_scale=None, layer_weights=None, memory="auto") -> _Plan:
    """Check every argument of transfer() and load its images; TransferError says what is wrong."""
    content_source = content  # what the reader named ("auto" masks look it up)
    if memory not in MEMORY_CHOICES:
        raise TransferError(f"unknown memory {memory!r}; use one of {', '.join(MEMORY_CHOICES)}")
    if memory == "low" and masks is not None:
        raise TransferError("masks cannot be combined with memory='low': guided Gram matrices need whole feature maps, which "
                            "VGG19 in stripes never holds; use memory='fast'")
    if precision not in PRECISIONS:
        raise TransferError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if recompute not in (True, False):
        raise TransferError(f"recompute must be True or False, not {recompute!r}")
    if optimizer not in OPTIMIZERS:
        raise TransferError(f"unknown optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}")
    if isinstance(init, str) and init not in INITS:
        raise TransferError(f"unknown init {init!r}; use one of {', '.join(INITS)} or an image tensor")
    if preserve_color not in PRESERVE_COLOR:
        raise TransferError(f"unknown preserve_color {preserve_color!r}; use None, 'luminance' or 'histogram'")
    if pooling not in ("max", "avg"):
        raise TransferError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    max_dim = _check_max_dim(max_dim)
    if max_dim is not None and scales is not None:
        max_dim = max(max_dim, max(_check_scales(scales, 0, 0, 0)))  # coarse-to-fine up to a larger side: keep the content that large
    content = _load(content, "content", max_dim)
    style_list = list(style) if isinstance(style, (list, tuple)) else [style]
    if not style_list:
        raise TransferError("style: give at least one style image")
    style_names = [f"style[{i}]" if len(style_list) > 1 else "style" for i in range(len(style_list))]
    styles = [_load(s, name, max_dim if style_scale is None else None) for s, name in zip(style_list, style_names)]
    if style_scale is not None:  # jcjohnson/neural-style's -style_scale: the style's long side relative to the content's
        style_scale = _check_number(style_scale, "style_scale", low=0.0, high=math.inf, hint="1 gives the style the content's long side")
        styles = [_scale_style(s, name, style_scale, content) for s, name in zip(styles, style_names)]
    if _per_style(layer_weights) and len(layer_weights) != len(styles):
        raise TransferError(f"layer_weights has {len(layer_weights)} per-style entries for {len(styles)} style(s); give one per style")
    mask_list, style_mask_list = _check_masks(masks, style_masks, mask_mode, content_source, content, styles, style_blend_weights,
                                              extractor, style_layers)
    if optimizer == "adam" and not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = _check_number(learning_rate, "learning_rate", low=0.0, high=1.0, hint="pixels lie in [0, 1]; 0.02 is the default")
    for beta, beta_name in ((beta_1, "beta_1"), (beta_2, "beta_2")):
        validate.number(beta_name, beta, low=0, high=1, high_open=True, error=TransferError)
    if epsilon is not None:
        epsilon = _check_number(epsilon, "epsilon", low=0.0, high=math.inf)
    if extractor is None:
        chosen = resolve_settings(weights, form, style_weight, content_weight, tv_weight)
        try:
            style_layers = vgg.check_layers(vgg.STYLE_LAYERS if style_layers is None else style_layers)
            content_layers = vgg.check_layers(vgg.CONTENT_LAYERS if content_layers is None else content_layers)
        except ValueError as exc:
            raise TransferError(str(exc)) from exc
    else:
        if not callable(extractor) or not hasattr(extractor, "style_layers") or not hasattr(extractor, "content_layers"):
            raise TransferError("extractor must be callable and have style_layers and content_layers, like vgg.StyleContentModel")
        # Feature scales of another network are unknown: start from the scale-free "relative" defaults (those of random VGG19).
        chosen = resolve_settings("random", form or "relative", style_weight, content_weight, tv_weight)
        chosen["weights_kind"] = getattr(extractor, "weights_kind", type(extractor).__name__)
        style_layers, content_layers = list(extractor.style_layers), list(extractor.content_layers)
    _, height, width, _ = content.shape
    scale_list = _check_scales(scales, max(height, width), height, width)
    if steps is None:
        steps = DEFAULT_STEPS[optimizer]
    step_list = [steps] * len(scale_list) if np.ndim(steps) == 0 else list(steps)  # one count, or one per scale
    if len(step_list) != len(scale_list):
        raise TransferError(f"steps has {len(step_list)} values for {len(scale_list)} scales {scale_list}")
    return _Plan(
        content=content, styles=styles, chosen=chosen,
        blend=_check_blend(style_blend_weights, len(styles)) if mask_list is None else [1.0] * len(styles),  # masks: see _check_masks
        style_layers=style_layers, content_layers=content_layers, scales=scale_list,
        steps=[_check_count(n, "steps") for n in step_list], callback_every=_check_count(callback_every, "callback_every"),
        learning_rate=learning_rate, epsilon=epsilon,
        lbfgs_memory=(default_lbfgs_memory(int(height) * int(width), 1 if preserve_color == "luminance" else 3) if lbfgs_memory is None
                      else _check_count(lbfgs_memory, "lbfgs_memory")),
        precision=precision,
        recompute=bool(recompute),
        masks=mask_list, style_masks=style_mask_list, mask_mode=mask_mode, style_scale=style_scale, memory=memory,
    )


def stripe_rows(height: int, width: int) -> int:
    """Image rows per stripe for memory="low": about STRIPE_PIXELS pixels (at least 32 rows)."""
    return max(32, STRIPE_PIXELS // max(1, int(width)))


def _stripes_for(plan: _Plan) -> int | None:
    """The rows per stripe memory= asks for at the plan's (largest) size, or None for the whole image; "auto" says when it chooses stripes."""
    _, height, width, _ = (int(d) for d in plan.content.shape)
    if plan.memory == "fast" or (plan.memory == "auto" and (height * width <= STRIPES_ABOVE or plan.masks is not None)):
        return None
    rows = stripe_rows(height, width)
    if plan.memory == "auto":
        print(f"memory='auto': {width}x{height} px is over {STRIPES_ABOVE:,} pixels, so VGG19's first two blocks run in stripes of "
              f"about {rows} rows (the same loss, less memory, a little more time per step; memory='fast' keeps the whole image).",
              flush=True)
    return rows


#: The longest side a style image may be given by style_scale (its Gram matrices are computed once, at that size).
MAX_STYLE_SIDE = 2048


def _scale_style(style, name: str, style_scale: float, content) -> tf.Tensor:
    """The style resized so its long side is style_scale x the content's long side (aspect kept; short side >= images.MIN_SIDE)."""
    long_side = max(1, round(style_scale * max(int(content.shape[1]), int(content.shape[2]))))
    height, width = images.scaled_size(int(style.shape[1]), int(style.shape[2]), long_side)
    if max(height, width) > long_side:  # the course's rule for thin images: the short side stays at VGG19's minimum
        config.notice("style_scale", f"style_scale={style_scale:g} would make {name} smaller than {images.MIN_SIDE} px on its short "
                      f"side; it is {width}x{height} px instead (VGG19's minimum)", log=False)
    if max(height, width) > MAX_STYLE_SIDE:
        raise TransferError(f"style_scale={style_scale:g} makes {name} {width}x{height} px; at most {MAX_STYLE_SIDE} px on the long side")
    return _resize(style, (height, width))


def _check_masks(masks, style_masks, mask_mode, content_source, content, styles, style_blend_weights, extractor, style_layers):
    """Load and check the content masks (one per style) and style masks -> (list or None, list or None); errors name the mask.

    A mask must also keep something at one style layer at least (the "inside" erosion can erase a narrow region at the
    deep layers, which then have no style term for it; a notice says so).
    """
    if masks is None:
        if style_masks is not None:
            raise TransferError("style_masks needs masks: give one mask over the content per style as well")
        return None, None
    if mask_mode not in masking.MODES:
        raise TransferError(f"unknown mask_mode {mask_mode!r}; use one of {', '.join(masking.MODES)}")
    if style_blend_weights is not None:
        raise TransferError("style_blend_weights cannot be combined with masks: with masks each style is weighted by its region's "
                            "share of the picture")
    if extractor is not None and not isinstance(extractor, vgg.StyleContentModel):
        raise TransferError("masks need VGG19's features (extractor=None or a vgg.StyleContentModel)")
    size = tuple(int(d) for d in content.shape[1:3])
    layers = extractor.style_layers if extractor is not None else (vgg.STYLE_LAYERS if style_layers is None else style_layers)
    try:
        found = masking.for_styles(masks, [size] * len(styles), what="masks", content=content_source, layers=layers, mode=mask_mode)
        on_styles = None if style_masks is None else masking.for_styles(
            style_masks, [tuple(int(d) for d in s.shape[1:3]) for s in styles], what="style_masks", layers=layers, mode=mask_mode)
    except ValueError as exc:  # MaskError, or an unknown layer name
        raise TransferError(str(exc)) from exc
    return found, on_styles


def default_lbfgs_memory(pixels: int, channels: int = 3) -> int:
    """LBFGS_MEMORY, or fewer steps for a large image so that L-BFGS's history stays within LBFGS_MEMORY_BYTES (at least 5)."""
    per_step = 2 * channels * int(pixels) * 8  # one step and one gradient change, in float64
    return int(max(5, min(LBFGS_MEMORY, LBFGS_MEMORY_BYTES // per_step)))


def _colour_handling(preserve_color, content, styles, start):
    """(content, styles, start image) as the optimiser sees them, and the function that turns its image into the result."""
    if preserve_color == "luminance":  # optimise the brightness alone, then put it under the photo's colours
        def finish(img):
            return colour.combine_luminance(img, _resize(content, tuple(img.shape[1:3])))

        return colour.luminance(content), [colour.match_luminance(s, content) for s in styles], colour.luminance(start), finish
    if preserve_color == "histogram":  # recolour the styles with the photo's colours first
        return content, [colour.match_color_histogram(s, content) for s in styles], start, _identity
    return content, styles, start, _identity


def _settings(plan: _Plan, extractor, *, optimizer, init, pooling, preserve_color, seed, layer_weights, beta_1, beta_2) -> dict:
    """Everything that decided the result, for TransferResult.settings."""
    _, height, width, _ = plan.content.shape
    settings = {
        "optimizer": optimizer,
        "steps": plan.steps,
        "init": init if isinstance(init, str) else "image",
        **plan.chosen,
        "style_layers": plan.style_layers,
        "content_layers": plan.content_layers,
        "pooling": pooling,
        "preserve_color": preserve_color,
        "scales": plan.scales,
        "seed": seed,
        "style_blend_weights": plan.blend,
        "layer_weights": layer_weights,
        "size": (int(height), int(width)),
        "deepest_layer": getattr(extractor, "deepest_layer", None),
        "precision": getattr(extractor, "precision", "float32"),
        "recompute": getattr(extractor, "recompute", False),
        "memory": plan.memory,
        "stripe_rows": getattr(extractor, "tile_rows", None),
        "masks": None if plan.masks is None else len(plan.masks),
        "mask_mode": plan.mask_mode if plan.masks is not None else None,
        "style_scale": plan.style_scale,
    }
    if optimizer == "adam":
        epsilon = ADAM_EPSILON[plan.chosen["form"]] if plan.epsilon is None else float(plan.epsilon)
        settings.update(learning_rate=plan.learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    else:
        settings.update(lbfgs_memory=plan.lbfgs_memory)
    if optimizer == "lbfgs":  # the TensorFlow engine's choices (helpers.lbfgs)
        settings.update(lbfgs_line_search=lbfgs.LINE_SEARCH, lbfgs_bounds=lbfgs.BOUND_HANDLING)
    return settings


def _run_scales(plan: _Plan, extractor, work_content, work_styles, start, recorder, settings):
    """Optimise at each scale in turn -> (final image, how it stopped, message); Ctrl-C and NaN keep a good image."""
    _, height, width, _ = plan.content.shape
    height, width = int(height), int(width)
    current = None
    try:
        image = None
        for side, n in zip(plan.scales, plan.steps):
            size = (height, width) if side == max(height, width) else images.scaled_size(height, width, side)
            factor = size[0] / height
            stage_content = _resize(work_content, size)
            stage_styles = [_resize(s, images.scaled_size(s.shape[1], s.shape[2], max(1, round(max(s.shape[1:3]) * factor))))
                            for s in work_styles] if len(plan.scales) > 1 else work_styles
            stage_start = _resize(start, size) if image is None else _resize(image, size)
            current = stage_start
            recorder.scale = side
            recorder.best = (math.inf, None)  # the best image of the final (largest) stage is the one returned
            problem = StyleTransferProblem(
                extractor, stage_content, stage_styles, plan.blend,
                style_weight=plan.chosen["style_weight"], content_weight=plan.chosen["content_weight"],
                tv_weight=plan.chosen["tv_weight"], form=plan.chosen["form"], layer_weights=settings["layer_weights"],
                masks=plan.masks, style_masks=plan.style_masks, mask_mode=plan.mask_mode, extra_loss=settings.get("extra_loss"),
            )
            if settings["optimizer"] == "adam":
                image = _run_adam(problem, stage_start, n, recorder, settings["learning_rate"], settings["beta_1"],
                                  settings["beta_2"], settings["epsilon"])
            elif settings["optimizer"] == "lbfgs-scipy":
                image = _run_lbfgs(problem, stage_start, n, recorder, plan.lbfgs_memory)
            else:
                image = _run_lbfgs_tf(problem, stage_start, n, recorder, plan.lbfgs_memory)
            current = image
        return image, "finished", ""
    except KeyboardInterrupt:
        best, last_good = recorder.best[1], recorder.last_good
        final = best if best is not None else (last_good if last_good is not None else current)
        return final, "interrupted", f"Interrupted at step {recorder.step}: returning the best image so far (loss {recorder.best[0]:.4g})."
    except _Stop as exc:
        final = recorder.last_good if recorder.last_good is not None else start
        return final, "non-finite loss", f"Stopped: {exc}. Returning the last image with a finite loss; try smaller weights or learning rate."
    finally:
        recorder.close()


def _finish(final, stopped, message, recorder, settings, finish, content) -> TransferResult:
    """Say how the run ended, record it in the settings, and return the result at the content's size."""
    if message:
        print(message, flush=True)
    if settings["optimizer"].startswith("lbfgs"):  # also after Ctrl-C, when the optimiser never returned
        settings["lbfgs_message"] = getattr(recorder, "lbfgs_message", "interrupted")
        settings["lbfgs_evaluations"] = recorder.lbfgs_evaluations
        settings["lbfgs_restarts"] = recorder.lbfgs_restarts
    if stopped == "finished" and recorder.lbfgs_early:
        stopped = "lbfgs stopped early: " + "; ".join(recorder.lbfgs_early)
        message = f"L-BFGS stopped early ({'; '.join(recorder.lbfgs_early)}); the result is the image it reached."
        print(message, flush=True)
    settings["stopped"] = stopped
    settings["message"] = message
    image = _resize(tf.convert_to_tensor(finish(final), tf.float32), tuple(int(d) for d in content.shape[1:3]))
    return TransferResult(image=images.clip_0_1(image), history=recorder.history, settings=settings)


def transfer(
    content,
    style,
    *,
    optimizer: str = "lbfgs",
    steps=None,
    init="content",
    style_weight: float | None = None,
    content_weight: float | None = None,
    tv_weight: float | None = None,
    style_layers: Sequence[str] | None = None,
    content_layers: Sequence[str] | None = None,
    weights="auto",
    pooling: str = "max",
    preserve_color: str | None = None,
    scales: Sequence[int] | None = None,
    seed: int = 0,
    callback: Callable | None = None,
    callback_every: int = 10,
    progress: bool | str = True,
    style_blend_weights: Sequence[float] | None = None,
    form: str | None = None,
    layer_weights=None,
    learning_rate: float = 0.02,
    beta_1: float = 0.99,
    beta_2: float = 0.999,
    epsilon: float | None = None,
    lbfgs_memory: int | None = None,
    extractor=None,
    max_dim: int | None = images.DEFAULT_MAX_DIM,
    precision: str = "auto",
    recompute: bool = False,
    memory: str = "auto",
    masks=None,
    style_masks=None,
    mask_mode: str = "simple",
    style_scale: float | None = None,
    extra_loss: Callable | None = None,
) -> TransferResult:
    """Stylise `content` [1, H, W, 3] in [0, 1] with `style` (an image or a list) -> TransferResult (image at the content's size).

    `optimizer` is "lbfgs" (L-BFGS inside TensorFlow, helpers.lbfgs), "lbfgs-scipy" (scipy's L-BFGS-B) or "adam".
    `steps` is an int, or one int per scale (a list, tuple or array); Adam's `epsilon` defaults to ADAM_EPSILON[form];
    `callback(step, image, losses)` is called every `callback_every` steps; `progress` shows a bar (a string labels it).
    Ctrl-C (KeyboardInterrupt) returns the best image so far; a NaN/Inf loss returns the last good image.
    `precision` is the precision VGG19 computes in: "float32", "bfloat16", or "auto" (bfloat16 only where this machine
    runs it faster; measured once, see helpers.precision); the losses are always computed and recorded in float32.
    `recompute=True` recomputes VGG19's activations block by block in the backward pass instead of keeping them (off by
    default: benchmarks/RESULTS.md measures what it saves and costs). `memory="auto"` runs VGG19's first two blocks in
    stripes for images over STRIPES_ABOVE pixels (the same loss and gradient in less memory, a little slower; said in one
    line); "low" always does, "fast" never; masks need "fast" (which "auto" then picks); `recompute` applies only to the
    whole image.
    `extractor` replaces VGG19 by any model with StyleContentModel's interface (its own layers; `weights`, `pooling`,
    `precision`, `recompute`, `memory`, `style_layers` and `content_layers` are then unused, and the loss form defaults to "relative").
    `content` and `style` may also be example names, file paths, PIL images or arrays: those larger than `max_dim`
    (default 512 px on the long side, or the largest of `scales`) are scaled down first, with a note that says so;
    max_dim=None keeps them at full size. A tf.Tensor is used at its own size. The result has the content's size
    after that scaling.
    Spatial control (Gatys et al. 2017): `masks` gives one mask per style over the content (helpers.masks: a built-in
    name, "auto", a grey image file or an array; None: everywhere), so each style is matched only inside its region and
    a region no mask covers keeps the photo; `style_masks` optionally picks the region of each style image to copy;
    `mask_mode` is "simple" or "inside" (how masks reach each layer). `style_scale` resizes each style so its long side
    is style_scale x the content's (jcjohnson/neural-style's -style_scale). `layer_weights` may also be a list with one
    {layer: weight} dict per style, e.g. fine layers from one style and coarse layers from another.
    `extra_loss(image)` -> scalar is added to the objective (recorded as 'extra' in the history), e.g. the temporal
    loss of helpers.temporal for video; it gets the image being optimised at each scale.
    """
    # 1. Check every argument and load the images, before any work starts.
    _check_hooks(seed=seed, callback=callback, progress=progress, extra_loss=extra_loss)
    plan = _plan(content, style, optimizer=optimizer, steps=steps, init=init, style_weight=style_weight,
                 content_weight=content_weight, tv_weight=tv_weight, style_layers=style_layers, content_layers=content_layers,
                 weights=weights, pooling=pooling, preserve_color=preserve_color, scales=scales, callback_every=callback_every,
                 style_blend_weights=style_blend_weights, form=form, learning_rate=learning_rate, beta_1=beta_1,
                 beta_2=beta_2, epsilon=epsilon, lbfgs_memory=lbfgs_memory, extractor=extractor, max_dim=max_dim,
                 precision=precision, recompute=recompute, masks=masks, style_masks=style_masks, mask_mode=mask_mode,
                 style_scale=style_scale, layer_weights=layer_weights, memory=memory)
    # 2. Colour: what the optimiser sees, and how its image becomes the result.
    start = initial_image(plan.content, init, seed)
    work_content, work_styles, start, finish = _colour_handling(preserve_color, plan.content, plan.styles, start)
    # 3. The feature extractor: VGG19 cut after the deepest layer a term with a non-zero weight uses, in the chosen precision.
    if extractor is None:
        rows = _stripes_for(plan)  # stripes replace recomputation where they are used
        extractor = vgg.StyleContentModel(plan.style_layers if plan.chosen["style_weight"] > 0 else [],
                                          plan.content_layers if plan.chosen["content_weight"] > 0 else [], weights, pooling,
                                          precision=resolve_precision(plan.precision), recompute=plan.recompute and rows is None,
                                          tile_rows=rows)
    settings = _settings(plan, extractor, optimizer=optimizer, init=init, pooling=pooling, preserve_color=preserve_color,
                         seed=seed, layer_weights=layer_weights, beta_1=beta_1, beta_2=beta_2)
    if extra_loss is not None:
        settings["extra_loss"] = extra_loss
    # 4. Optimise at each scale, coarse to fine; each scale starts from the previous one's result.
    recorder = _Recorder(sum(plan.steps), progress, callback, plan.callback_every, finish, plan.scales[0])
    with _quiet_retracing():
        final, stopped, message = _run_scales(plan, extractor, work_content, work_styles, start, recorder, settings)
    # 5. Report how it ended, and return the image at the content's size.
    return _finish(final, stopped, message, recorder, settings, finish, plan.content)


@contextlib.contextmanager
def _quiet_retracing():
    """Silence TF's 'retracing' warning: each run builds its own small tf.functions on purpose."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _identity(image):
    """Return the image unchanged."""
    return image


def evaluate(image, content, style, *, weights="auto", form=None, style_weight=None, content_weight=None, tv_weight=None,
             style_layers=None, content_layers=None, pooling: str = "max", style_blend_weights=None, layer_weights=None,
             max_dim: int | None = images.DEFAULT_MAX_DIM, precision: str = "float32") -> dict:
    """The objective's weighted parts {'total', 'style', 'content', 'tv'} of `image`, with VGG19 in `precision` (float32 by default).

    Scores results of different runs on one scale: a bfloat16 run's history is measured with its own rounded features,
    so compare its final image with a float32 run's by evaluating both here. Pass the options the runs used (loss
    weights, layers, pooling, blend); names and paths are scaled to `max_dim` as transfer() scales them.
    """
    chosen = resolve_settings(weights, form, style_weight, content_weight, tv_weight)
    content = _load(content, "content", max_dim)
    image = _as_image(image, "image")
    if tuple(image.shape[1:3]) != tuple(content.shape[1:3]):
        raise TransferError(f"image is {image.shape[2]}x{image.shape[1]} px but the content is {content.shape[2]}x{content.shape[1]}")
    style_list = style if isinstance(style, (list, tuple)) else [style]
    styles = [_load(s, "style", max_dim) for s in style_list]
    extractor = vgg.StyleContentModel(style_layers, content_layers, weights, pooling, precision=resolve_precision(precision))
    problem = StyleTransferProblem(extractor, content, styles, _check_blend(style_blend_weights, len(styles)),
                                   style_weight=chosen["style_weight"], content_weight=chosen["content_weight"],
                                   tv_weight=chosen["tv_weight"], form=chosen["form"], layer_weights=layer_weights)
    with _quiet_retracing():
        total, parts = problem.losses(image)
    return {"total": float(total), **{k: float(v) for k, v in parts.items()}}


def time_per_step(content, style, *, optimizer="adam", steps: int = 5, **kwargs) -> float:
    """Measured seconds per step (the first step, which traces the graph, is left out)."""
    result = transfer(content, style, optimizer=optimizer, steps=steps + 1, progress=False, **kwargs)
    secs = result.history["seconds"]
    return (secs[-1] - secs[1]) / max(1, len(secs) - 2)


# ------------------------------------------------------------------------------------- any objective (helpers.terms)


class _TermRecorder(_Recorder):
    """_Recorder whose history has one column per term of an objective, by the term's name."""

    def __init__(self, names, *args):
        super().__init__(*args)
        self.names = list(names)
        self.history = {"step": [], "total": [], **{n: [] for n in self.names}, "seconds": [], "scale": []}


class ObjectiveProblem:
    """An objective (helpers.terms) at one image size, with StyleTransferProblem's interface for the runners."""

    def __init__(self, objective, extractor, size):
        self.objective = objective
        self.extractor = extractor
        objective.prepare(extractor, size)  # the targets, once, before anything is traced
        self.loss_and_grads = tf.function(self._loss_and_grads, reduce_retracing=True)
        self.losses = tf.function(self._losses, reduce_retracing=True)

    def _losses(self, image):
        """(total, {term name: weighted value}) for an image [1, H, W, 3]."""
        return self.objective.losses(image, self.extractor)

    def _loss_and_grads(self, image):
        """(total, parts, d total / d image) for an image [1, H, W, 3]."""
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, parts = self._losses(image)
        grad = tape.gradient(total, image)
        return total, parts, tf.zeros_like(image) if grad is None else grad  # None when no term depends on the image


def minimize(objective, content, *, optimizer: str = "lbfgs", steps: int | None = None, init="content", seed: int = 0,
             precision: str = "auto", weights="auto", pooling: str = "max", callback: Callable | None = None, callback_every: int = 10,
             progress: bool | str = True, learning_rate: float = 0.02, beta_1: float = 0.99, beta_2: float = 0.999,
             epsilon: float | None = None, lbfgs_memory: int | None = None, max_dim: int | None = images.DEFAULT_MAX_DIM) -> TransferResult:
    """Minimise an objective (helpers.terms.Objective, or a list of terms) over a picture of `content`'s size -> TransferResult.

    Any optimiser of the course ("lbfgs", "lbfgs-scipy", "adam", with transfer's settings and defaults) minimises any
    objective. `content` sets the size and, with init="content", the start; it is loaded as transfer loads it.
    result.history has one column per term, by name (total == their sum). VGG19 computes in `precision` and holds
    exactly the layers the terms need. Ctrl-C returns the best image so far; a NaN/Inf loss the last good one.

    transfer() still does what this does not: several scales (coarse to fine), preserve_color, memory="low" (stripes)
    and recompute, a replacement `extractor`, blends of several styles by weight, and defaults that follow the VGG19
    weights in use (random weights get form="relative"; the terms' defaults are the tutorial's).
    """
    from helpers import terms  # terms imports this module

    objective = terms.check_objective(objective)
    _check_hooks(seed=seed, callback=callback, progress=progress, extra_loss=None)
    optimizer = validate.choice("optimizer", optimizer, OPTIMIZERS, error=TransferError)
    precision = validate.choice("precision", precision, PRECISIONS, error=TransferError)
    if isinstance(init, str) and init not in INITS:
        raise TransferError(f"unknown init {init!r}; use one of {', '.join(INITS)} or an image tensor")
    steps = _check_count(DEFAULT_STEPS[optimizer] if steps is None else steps, "steps")
    callback_every = _check_count(callback_every, "callback_every")
    content = _load(content, "content", _check_max_dim(max_dim))
    _, height, width, _ = (int(d) for d in content.shape)
    if optimizer == "adam":
        if not isinstance(learning_rate, tf.keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = _check_number(learning_rate, "learning_rate", low=0.0, high=1.0, hint="pixels lie in [0, 1]; 0.02 is the default")
        for beta, beta_name in ((beta_1, "beta_1"), (beta_2, "beta_2")):
            validate.number(beta_name, beta, low=0, high=1, high_open=True, error=TransferError)
        epsilon = ADAM_EPSILON[objective.form] if epsilon is None else _check_number(epsilon, "epsilon", low=0.0, high=math.inf)
    memory = default_lbfgs_memory(height * width, 3) if lbfgs_memory is None else _check_count(lbfgs_memory, "lbfgs_memory")
    start = initial_image(content, init, seed)
    extractor = objective.extractor(weights, pooling, precision=resolve_precision(precision))
    settings = {
        "optimizer": optimizer, "steps": [steps], "init": init if isinstance(init, str) else "image", "seed": seed,
        "terms": [repr(t) for t in objective.terms], "names": list(objective.names),
        "style_layers": objective.style_layers, "content_layers": objective.content_layers, "weights_kind": extractor.weights_kind,
        "pooling": pooling, "size": (height, width), "scales": [max(height, width)], "deepest_layer": extractor.deepest_layer,
        "precision": extractor.precision,
    }
    if optimizer == "adam":
        settings.update(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    else:
        settings.update(lbfgs_memory=memory)
    if optimizer == "lbfgs":
        settings.update(lbfgs_line_search=lbfgs.LINE_SEARCH, lbfgs_bounds=lbfgs.BOUND_HANDLING)
    recorder = _TermRecorder(objective.names, steps, progress, callback, callback_every, _identity, max(height, width))
    current = start
    with _quiet_retracing():
        try:
            problem = ObjectiveProblem(objective, extractor, (height, width))
            if optimizer == "adam":
                final = _run_adam(problem, start, steps, recorder, learning_rate, beta_1, beta_2, epsilon)
            elif optimizer == "lbfgs-scipy":
                final = _run_lbfgs(problem, start, steps, recorder, memory)
            else:
                final = _run_lbfgs_tf(problem, start, steps, recorder, memory)
            stopped, message = "finished", ""
        except KeyboardInterrupt:
            best, last_good = recorder.best[1], recorder.last_good
            final = best if best is not None else (last_good if last_good is not None else current)
            stopped = "interrupted"
            message = f"Interrupted at step {recorder.step}: returning the best image so far (loss {recorder.best[0]:.4g})."
        except _Stop as exc:
            final = recorder.last_good if recorder.last_good is not None else start
            stopped = "non-finite loss"
            message = f"Stopped: {exc}. Returning the last image with a finite loss; try smaller weights or learning rate."
        finally:
            recorder.close()
    return _finish(final, stopped, message, recorder, settings, _identity, content)
