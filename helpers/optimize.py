"""Style transfer by optimisation (Gatys et al.): `transfer` for a photo and a painting, `minimize` for any objective.

    result = transfer(content, style)                 # L-BFGS (in TensorFlow), course defaults for the weights in use
    result = transfer(content, style, **TUTORIAL_RECIPE)   # the TF tutorial's Adam recipe, exactly
    result = transfer(content, style, optimizer=Adam(learning_rate=0.05), network=Network(pooling="avg"))
    result = transfer(content, [terms.Style(a, mask="left"), terms.Style(b, mask="right")])   # anything more is a term
    result.image     # [1, H, W, 3] float32 in [0, 1], the content's size
    result.history   # per-step lists: step, total, style, content, tv (or one column per term), seconds, scale
    result.settings  # every setting that was used, plus how the run stopped

The objective of plain images is

    L = style_weight * sum_s b_s * L_style(x, style_s) + content_weight * L_content(x, content)
        + tv_weight * TV(x)

with ``losses.style_loss`` / ``losses.content_loss`` in the chosen `form`, b_s = 1/S for S styles, and TV the sum of
absolute neighbour differences (``losses.total_variation_loss``, as ``tf.image.total_variation``). The history
records the weighted terms, so ``total == style + content + tv`` at every step. With terms (helpers.terms), the
objective is their sum, with one history column per term.

Defaults depend on the VGG19 weights in use (see ``DEFAULTS``): trained ImageNet weights (the exact Keras
file or the packaged 8-bit copy) get the TF tutorial's loss form and weights; random He-normal weights (an
experiment, used only when asked for or when no trained copy is installed) get ``form="relative"``, which
divides each style layer's Gram error by the target's squared norm so that no layer dominates.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from helpers import colour, config, images, lbfgs, losses, validate, vgg
from helpers.precision import CHOICES as PRECISIONS
from helpers.precision import resolve as resolve_precision

#: "lbfgs" is L-BFGS inside TensorFlow (helpers.lbfgs); "lbfgs-scipy" is scipy's L-BFGS-B on float64 copies of the image.
OPTIMIZERS = ("lbfgs", "lbfgs-scipy", "adam")
INITS = ("content", "noise", "blend")
PRESERVE_COLOR = (None, "luminance", "histogram")

#: The noise share of init="blend" (the Coursera assignment's noise_ratio).
NOISE_RATIO = 0.6


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


@dataclasses.dataclass(frozen=True)
class Adam:
    """Adam's settings, for transfer(optimizer=Adam(...)): the TF tutorial's learning rate and beta_1 by default;
    epsilon=None takes ADAM_EPSILON of the loss form. The string "adam" means Adam()."""

    learning_rate: float = 0.02
    beta_1: float = 0.99
    beta_2: float = 0.999
    epsilon: float | None = None


@dataclasses.dataclass(frozen=True)
class LBFGS:
    """L-BFGS's settings, for transfer(optimizer=LBFGS(...)): `memory` (None: default_lbfgs_memory of the image) and the
    `engine`, "tensorflow" (helpers.lbfgs) or "scipy" (L-BFGS-B). The strings "lbfgs" and "lbfgs-scipy" mean LBFGS() and
    LBFGS(engine="scipy")."""

    memory: int | None = None
    engine: str = "tensorflow"


#: The engines of LBFGS(engine=), and the optimizer name each runs as.
LBFGS_ENGINES = {"tensorflow": "lbfgs", "scipy": "lbfgs-scipy"}


@dataclasses.dataclass(frozen=True)
class Network:
    """Which VGG19 computes the features, and how, for transfer(network=Network(...)) and minimize().

    `weights`: "auto", "imagenet", "random" or a file (helpers.vgg); `pooling`: "max" or "avg"; `precision`: "float32",
    "bfloat16" or "auto" (bfloat16 only where this machine runs it faster); `memory`: "auto", "low" or "fast" (VGG19's
    first two blocks in stripes above STRIPES_ABOVE pixels, always, or never); `recompute`: recompute activations in the
    backward pass instead of keeping them. benchmarks/RESULTS.md measures what the last two save and cost.
    """

    weights: object = "auto"
    pooling: str = "max"
    precision: str = "auto"
    memory: str = "auto"
    recompute: bool = False


def every(steps: int, fn: Callable) -> Callable:
    """`fn` as a transfer callback called every `steps` steps (a plain function is called every CALLBACK_EVERY)."""
    steps = validate.number("every", steps, low=1, integer=True, error=TransferError, todo="pass a whole number of steps >= 1")
    if not callable(fn):
        raise validate.refuse("fn", fn, f"a {type(fn).__name__} is not a function", "pass a function (step, image, losses)", TransferError)

    def callback(step, image, parts):
        return fn(step, image, parts)

    callback.every = steps
    callback.__name__ = getattr(fn, "__name__", "callback")
    return callback


#: How often a callback without an `every` attribute is called, in steps.
CALLBACK_EVERY = 10

#: The TF tutorial's recipe, exactly: pass as transfer(content, style, **TUTORIAL_RECIPE). The tutorial computes in
#: float32 (it has no bfloat16), so the recipe pins it: its numbers are the tutorial's on every machine.
TUTORIAL_RECIPE = {"optimizer": Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1), **losses.TUTORIAL_WEIGHTS,
                   "network": Network(precision="float32")}


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


def _check_hooks(*, callback, progress) -> int:
    """callback is a function (or None), progress a bool or a label -> how often the callback is called, in steps."""
    if callback is not None and not callable(callback):
        raise validate.refuse("callback", callback, f"a {type(callback).__name__} is not a function",
                              "pass a function (step, image, losses), or None", TransferError)
    if not isinstance(progress, (bool, str)):
        raise validate.refuse("progress", progress, "not True, False or a label", "pass True, False or a string that labels the bar",
                              TransferError)
    return validate.number("callback.every", getattr(callback, "every", CALLBACK_EVERY), low=1, integer=True, error=TransferError,
                           todo="wrap the callback as optimize.every(steps, fn) with a whole number of steps >= 1")


def _check_optimizer(optimizer) -> tuple[str, dict]:
    """("lbfgs" | "lbfgs-scipy" | "adam", its checked settings) from a name or an Adam or LBFGS (None: decided by the run)."""
    if isinstance(optimizer, str):
        name = validate.choice("optimizer", optimizer, OPTIMIZERS, error=TransferError)
        optimizer = Adam() if name == "adam" else LBFGS(engine="scipy" if name == "lbfgs-scipy" else "tensorflow")
    if isinstance(optimizer, Adam):
        rate = optimizer.learning_rate
        if not isinstance(rate, tf.keras.optimizers.schedules.LearningRateSchedule):
            rate = _check_number(rate, "Adam.learning_rate", low=0.0, high=1.0, hint="pixels lie in [0, 1]; 0.02 is the default")
        betas = [validate.number(f"Adam.{n}", getattr(optimizer, n), low=0, high=1, high_open=True, error=TransferError)
                 for n in ("beta_1", "beta_2")]
        epsilon = None if optimizer.epsilon is None else _check_number(optimizer.epsilon, "Adam.epsilon", low=0.0, high=math.inf)
        return "adam", {"learning_rate": rate, "beta_1": betas[0], "beta_2": betas[1], "epsilon": epsilon}
    if isinstance(optimizer, LBFGS):
        engine = validate.choice("LBFGS.engine", optimizer.engine, LBFGS_ENGINES, error=TransferError)
        memory = None if optimizer.memory is None else _check_count(optimizer.memory, "LBFGS.memory")
        return LBFGS_ENGINES[engine], {"memory": memory}
    raise validate.refuse("optimizer", optimizer, f"a {type(optimizer).__name__} is not an optimiser",
                          f"pass one of {', '.join(OPTIMIZERS)}, optimize.Adam(...) or optimize.LBFGS(...)", TransferError)


def _check_network(network) -> tuple[Network, object]:
    """(checked Network, a replacement extractor or None) from None, a Network, or a model with StyleContentModel's interface."""
    if network is None:
        return Network(), None
    if not isinstance(network, Network):
        if not callable(network) or not hasattr(network, "style_layers") or not hasattr(network, "content_layers"):
            raise validate.refuse("network", network, "neither an optimize.Network nor a feature extractor",
                                  "pass optimize.Network(weights=..., pooling=..., precision=...), or a model with "
                                  "vgg.StyleContentModel's interface (callable, with style_layers and content_layers)", TransferError)
        return Network(), network
    validate.choice("Network.pooling", network.pooling, ("max", "avg"), error=TransferError)
    validate.choice("Network.precision", network.precision, PRECISIONS, error=TransferError)
    validate.choice("Network.memory", network.memory, MEMORY_CHOICES, error=TransferError)
    validate.flag("Network.recompute", network.recompute, TransferError)
    try:
        vgg.weights_kind(network.weights)
    except ValueError as exc:
        raise TransferError(f"Network.weights: {exc}") from exc
    return network, None


def _check_steps(steps, optimizer: str) -> tuple[list[int] | None, list[int]]:
    """(scales or None, steps per scale) from None (the optimiser's default), a count, or {long side: steps}, coarse to fine."""
    if steps is None:
        return None, [DEFAULT_STEPS[optimizer]]
    if not isinstance(steps, dict):
        return None, [_check_count(steps, "steps")]
    if not steps:
        raise validate.refuse("steps", steps, "no scales", "pass a count, or {long side: steps} such as {256: 100, 512: 50}", TransferError)
    scales = [validate.number("steps (a scale)", s, low=images.MIN_SIDE, integer=True, error=TransferError,
                              todo=f"give each scale as a long side in pixels >= {images.MIN_SIDE}") for s in steps]
    if any(b <= a for a, b in zip(scales, scales[1:])):
        raise validate.refuse("steps", steps, "the long sides do not increase", "list the scales coarse to fine, e.g. {256: 100, 512: 50}",
                              TransferError)
    return scales, [_check_count(n, f"steps[{s}]") for s, n in steps.items()]


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

    def __init__(self, extractor, content, styles, blend, *, style_weight, content_weight, tv_weight, form, layer_weights=None):
        self.extractor = extractor
        self.form = form
        self.style_weight = float(style_weight)
        self.content_weight = float(content_weight)
        self.tv_weight = float(tv_weight)
        # A term whose weight is 0 is not computed at all (and its layers need not be in the extractor).
        self.use_style = self.style_weight > 0
        self.use_content = self.content_weight > 0
        self.content_targets = extractor(content)["content"] if self.use_content else {}
        self.style_targets = [extractor(s)["style"] for s in styles] if self.use_style else []
        self.blend = list(blend)
        self.layer_weights = layer_weights
        self.loss_and_grads = tf.function(self._loss_and_grads, reduce_retracing=True)
        self.losses = tf.function(self._losses, reduce_retracing=True)

    def _losses(self, image, outputs=None):
        """Weighted parts (total, style, content, tv) for an image [1, H, W, 3] (and the extractor's `outputs` of it, if known)."""
        if outputs is None:
            outputs = self.extractor(image) if (self.use_style or self.use_content) else None
        zero = tf.constant(0.0, tf.float32)
        if self.use_style:
            style = tf.add_n([w * losses.style_loss(outputs["style"], t, self.layer_weights, self.form)
                              for w, t in zip(self.blend, self.style_targets)])
        else:
            style = zero
        content = losses.content_loss(outputs["content"], self.content_targets, self.form) if self.use_content else zero
        tv = losses.total_variation_loss(image) if self.tv_weight > 0 else zero
        parts = {
            "style": self.style_weight * style,
            "content": self.content_weight * content,
            "tv": self.tv_weight * tv,
        }
        return parts["style"] + parts["content"] + parts["tv"], parts

    def _loss_and_grads(self, image):
        """(total, parts, d total / d image) for an image [1, H, W, 3]."""
        if getattr(self.extractor, "tile_rows", None) and (self.use_style or self.use_content):  # VGG19 in stripes (memory="low")
            return self.extractor.loss_and_grads(image, lambda outputs: self._losses(image, outputs))
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, parts = self._losses(image)
        grad = tape.gradient(total, image)
        return total, parts, tf.zeros_like(image) if grad is None else grad  # None when every weight is 0


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
    """The checked arguments of one transfer() or minimize() call."""

    content: tf.Tensor  # the content image at the size of the result
    optimizer: str  # "lbfgs", "lbfgs-scipy" or "adam"
    options: dict  # the optimiser's settings (_check_optimizer)
    network: Network
    scales: list
    steps: list
    callback_every: int
    init: object
    preserve_color: str | None
    chosen: dict | None = None  # plain images: the loss form and weights (resolve_settings)
    styles: list | None = None  # plain images: the style images
    extractor: object = None  # plain images: a replacement feature extractor, or None for VGG19
    objective: object = None  # terms: the helpers.terms.Objective

    def __post_init__(self):
        """Complete what follows from the checked arguments: the scales, a step count per scale, Adam's epsilon, L-BFGS's memory."""
        _, height, width, _ = (int(d) for d in self.content.shape)
        if self.scales is None:
            self.scales = [max(height, width)]
        if len(self.steps) != len(self.scales):  # a single count for several scales is given to each
            self.steps = list(self.steps) * len(self.scales)
        self.options = dict(self.options)  # the caller's Adam(...) or LBFGS(...) stays as it was given
        if self.optimizer == "adam" and self.options["epsilon"] is None:
            self.options["epsilon"] = ADAM_EPSILON[self.chosen["form"] if self.objective is None else self.objective.form]
        if self.optimizer != "adam" and self.options["memory"] is None:
            self.options["memory"] = default_lbfgs_memory(height * width, 1 if self.preserve_color == "luminance" else 3)


def _terms_module():
    """helpers.terms (it imports this module, so it is imported when first needed)."""
    from helpers import terms

    return terms


def _check_extra(value) -> list:
    """transfer's `terms`: a term or a sequence of terms (helpers.terms), checked."""
    terms = _terms_module()
    found = [value] if isinstance(value, terms.TERMS) else value
    if isinstance(found, (str, bytes)) or not hasattr(found, "__iter__"):
        raise validate.refuse("terms", value, "not a list of terms", "pass e.g. [terms.Temporal(previous, flow, mask)], or ()", TransferError)
    found = list(found)
    for i, term in enumerate(found):
        if not isinstance(term, terms.TERMS):
            raise validate.refuse(f"terms[{i}]", term, f"a {type(term).__name__} is not a term",
                                  f"use {', '.join(t.__name__ for t in terms.TERMS)} of helpers.terms", TransferError)
    return found


def _common(optimizer, steps, init, preserve_color, network, progress, callback) -> dict:
    """The checks transfer() and minimize() share -> keyword arguments for _Plan (content, chosen and the loss are added)."""
    callback_every = _check_hooks(callback=callback, progress=progress)
    if isinstance(init, str) and init not in INITS:
        raise validate.refuse("init", init, "not a known start", f"use one of {', '.join(INITS)}, or an image tensor "
                              "(optimize.initial_image(content, 'noise', seed=1) for another noise)", TransferError)
    if preserve_color not in PRESERVE_COLOR:
        raise validate.refuse("preserve_color", preserve_color, "not a known colour mode", "use None, 'luminance' or 'histogram'",
                              TransferError)
    name, options = _check_optimizer(optimizer)
    scales, step_list = _check_steps(steps, name)
    net, extractor = _check_network(network)
    return dict(optimizer=name, options=options, network=net, extractor=extractor, scales=scales, steps=step_list,
                callback_every=callback_every, init=init, preserve_color=preserve_color)


def _check_network_for_terms(common: dict) -> None:
    """Refuse what terms cannot run on: a replacement extractor (terms read VGG19 layers by name) and VGG19 in stripes."""
    if common["extractor"] is not None:
        raise validate.refuse("network", common["extractor"], "a replacement extractor works with plain images only",
                              "pass plain images to transfer(), or use optimize.Network(...) with terms (they read VGG19 layers by name)",
                              TransferError)
    if common["network"].memory == "low":
        raise validate.refuse("Network.memory", common["network"].memory, "terms need whole feature maps, which VGG19 in stripes never holds",
                              "use memory='auto' or 'fast' with terms", TransferError)


def _content_size(scales) -> int:
    """The long side names and paths are scaled to: the course's default, or the largest scale if larger."""
    return images.DEFAULT_MAX_DIM if scales is None else max(images.DEFAULT_MAX_DIM, scales[-1])


def _plan(content, style, *, optimizer, steps, init, style_weight, content_weight, tv_weight, form, preserve_color, network,
          terms, progress, callback) -> _Plan:
    """Check every argument of transfer() and load its images; TransferError says what is wrong."""
    t = _terms_module()
    common = _common(optimizer, steps, init, preserve_color, network, progress, callback)
    net, extractor = common["network"], common["extractor"]
    extra = _check_extra(terms)
    style_list = list(style) if isinstance(style, (list, tuple)) else [style]
    if not style_list:
        raise validate.refuse("style", style, "no style", "give a style image, several, or terms.Style terms", TransferError)
    style_terms = [s for s in style_list if isinstance(s, t.Style)]
    if style_terms and len(style_terms) != len(style_list):
        raise validate.refuse("style", style, "mixes images and Style terms", "pass images only, or terms.Style terms only", TransferError)
    content_term = content if isinstance(content, t.Content) else None
    uses_terms = bool(content_term is not None or style_terms or extra)
    if extractor is None:
        chosen = resolve_settings(net.weights, form, style_weight, content_weight, tv_weight)
    else:  # the feature scales of another network are unknown: the scale-free "relative" defaults (those of random VGG19)
        chosen = resolve_settings("random", form or "relative", style_weight, content_weight, tv_weight)
        chosen["weights_kind"] = getattr(extractor, "weights_kind", type(extractor).__name__)
    size = _content_size(common["scales"])
    if not uses_terms:
        content = _load(content, "content", size)
        names = [f"style[{i}]" if len(style_list) > 1 else "style" for i in range(len(style_list))]
        styles = [_load(s, n, size) for s, n in zip(style_list, names)]
        return _Plan(content=content, chosen=chosen, styles=styles, **common)
    # Terms: the content, each style, TV and the extra terms become one helpers.terms.Objective.
    _check_network_for_terms(common)
    for given, weight, name, term in ((content_term, content_weight, "content_weight", "Content"),
                                      (style_terms, style_weight, "style_weight", "Style")):
        if given and weight is not None:
            raise validate.refuse(name, weight, f"the {term} term brings its own weight", f"set it as terms.{term}(..., weight=...)",
                                  TransferError)
    if form is not None and content_term is not None and style_terms:
        raise validate.refuse("form", form, "the Content and Style terms bring their own forms", "set form= on each term", TransferError)
    if content_term is None:
        content_term = t.Content(_load(content, "content", size), weight=chosen["content_weight"], form=chosen["form"])
    if not style_terms:
        style_terms = [t.Style(_load(s, f"style[{i}]" if len(style_list) > 1 else "style", size), weight=chosen["style_weight"] / len(style_list),
                               form=chosen["form"]) for i, s in enumerate(style_list)]
    objective = t.Objective([content_term, *style_terms, t.TotalVariation(chosen["tv_weight"]), *extra])
    return _Plan(content=content_term.image, chosen=chosen, objective=objective, **common)


def stripe_rows(height: int, width: int) -> int:
    """Image rows per stripe for memory="low": about STRIPE_PIXELS pixels (at least 32 rows)."""
    return max(32, STRIPE_PIXELS // max(1, int(width)))


def _stripes_for(plan: _Plan) -> int | None:
    """The rows per stripe Network.memory asks for at the plan's (largest) size, or None for the whole image; "auto" says when it chooses stripes."""
    _, height, width, _ = (int(d) for d in plan.content.shape)
    memory = plan.network.memory
    if memory == "fast" or plan.objective is not None or (memory == "auto" and height * width <= STRIPES_ABOVE):
        return None
    rows = stripe_rows(height, width)
    if memory == "auto":
        print(f"memory='auto': {width}x{height} px is over {STRIPES_ABOVE:,} pixels, so VGG19's first two blocks run in stripes of "
              f"about {rows} rows (the same loss, less memory, a little more time per step; Network(memory='fast') keeps the whole image).",
              flush=True)
    return rows


#: The longest side a Style term's `scale` may give its image (its statistics are computed once, at that size).
MAX_STYLE_SIDE = 2048


def _scale_style(style, name: str, style_scale: float, content) -> tf.Tensor:
    """The style resized so its long side is style_scale x the content's long side (aspect kept; short side >= images.MIN_SIDE)."""
    long_side = max(1, round(style_scale * max(int(content.shape[1]), int(content.shape[2]))))
    height, width = images.scaled_size(int(style.shape[1]), int(style.shape[2]), long_side)
    if max(height, width) > long_side:  # the course's rule for thin images: the short side stays at VGG19's minimum
        config.notice("style_scale", f"Style.scale = {style_scale:g} would make {name} smaller than {images.MIN_SIDE} px on its short "
                      f"side; it is {width}x{height} px instead (VGG19's minimum)", log=False)
    if max(height, width) > MAX_STYLE_SIDE:
        raise validate.refuse("Style.scale", style_scale, f"makes {name} {width}x{height} px, over {MAX_STYLE_SIDE} px on the long side",
                              f"pass a smaller scale (at most {MAX_STYLE_SIDE} px for the style)", TransferError)
    return _resize(style, (height, width))


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


def _recoloured(objective, preserve_color, content):
    """The objective with its Content and Style images as the optimiser sees them under preserve_color (as _colour_handling)."""
    t = _terms_module()
    changed = []
    for term in objective.terms:
        if isinstance(term, (t.Content, t.Style)) and preserve_color is not None:
            term = copy.copy(term)
            if preserve_color == "luminance":
                term.image = colour.luminance(term.image) if isinstance(term, t.Content) else colour.match_luminance(term.image, content)
            elif isinstance(term, t.Style):
                term.image = colour.match_color_histogram(term.image, content)
        changed.append(term)
    return t.Objective(changed)


def _extractor(plan: _Plan):
    """The feature extractor of a plan: VGG19 cut after the deepest layer a term with a non-zero weight uses, or the caller's."""
    net = plan.network
    precision = resolve_precision(net.precision)
    if plan.objective is not None:
        return vgg.StyleContentModel(plan.objective.style_layers, plan.objective.content_layers, net.weights, net.pooling,
                                     precision=precision, recompute=net.recompute)
    if plan.extractor is not None:
        return plan.extractor
    rows = _stripes_for(plan)  # stripes replace recomputation where they are used
    return vgg.StyleContentModel(vgg.STYLE_LAYERS if plan.chosen["style_weight"] > 0 else [],
                                 vgg.CONTENT_LAYERS if plan.chosen["content_weight"] > 0 else [], net.weights, net.pooling,
                                 precision=precision, recompute=net.recompute and rows is None, tile_rows=rows)


def _settings(plan: _Plan, extractor) -> dict:
    """Everything that decided the result, for TransferResult.settings."""
    _, height, width, _ = (int(d) for d in plan.content.shape)
    settings = {
        "optimizer": plan.optimizer,
        "steps": plan.steps,
        "init": plan.init if isinstance(plan.init, str) else "image",
        "scales": plan.scales,
        "size": (height, width),
        "preserve_color": plan.preserve_color,
        "pooling": plan.network.pooling,
        "weights_kind": getattr(extractor, "weights_kind", None),
        "deepest_layer": getattr(extractor, "deepest_layer", None),
        "precision": getattr(extractor, "precision", "float32"),
        "recompute": getattr(extractor, "recompute", False),
        "memory": plan.network.memory,
        "stripe_rows": getattr(extractor, "tile_rows", None),
        "style_layers": list(getattr(extractor, "style_layers", [])),
        "content_layers": list(getattr(extractor, "content_layers", [])),
    }
    if plan.objective is None:
        settings.update(plan.chosen, style_blend_weights=[1.0 / len(plan.styles)] * len(plan.styles))
        settings["weights_kind"] = plan.chosen["weights_kind"]
    else:
        settings.update(terms=[repr(term) for term in plan.objective.terms], names=list(plan.objective.names))
    if plan.optimizer == "adam":
        settings.update(plan.options)
    else:
        settings.update(lbfgs_memory=plan.options["memory"])
    if plan.optimizer == "lbfgs":  # the TensorFlow engine's choices (helpers.lbfgs)
        settings.update(lbfgs_line_search=lbfgs.LINE_SEARCH, lbfgs_bounds=lbfgs.BOUND_HANDLING)
    return settings


def _run_scales(plan: _Plan, problem_at, start, recorder, settings):
    """Optimise at each scale in turn -> (final image, how it stopped, message); Ctrl-C and NaN keep a good image."""
    _, height, width, _ = (int(d) for d in plan.content.shape)
    current = None
    try:
        image = None
        for side, n in zip(plan.scales, plan.steps):
            size = (height, width) if side == max(height, width) else images.scaled_size(height, width, side)
            stage_start = _resize(start, size) if image is None else _resize(image, size)
            current = stage_start
            recorder.scale = side
            recorder.best = (math.inf, None)  # the best image of the final (largest) stage is the one returned
            problem = problem_at(size)
            if plan.optimizer == "adam":
                image = _run_adam(problem, stage_start, n, recorder, settings["learning_rate"], settings["beta_1"],
                                  settings["beta_2"], settings["epsilon"])
            elif plan.optimizer == "lbfgs-scipy":
                image = _run_lbfgs(problem, stage_start, n, recorder, settings["lbfgs_memory"])
            else:
                image = _run_lbfgs_tf(problem, stage_start, n, recorder, settings["lbfgs_memory"])
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


def _plain_problem(plan: _Plan, extractor, content, styles) -> StyleTransferProblem:
    """The tutorial's objective of a plan with plain images, at `content`'s size, each style weighed equally."""
    return StyleTransferProblem(extractor, content, styles, [1.0 / len(styles)] * len(styles), style_weight=plan.chosen["style_weight"],
                                content_weight=plan.chosen["content_weight"], tv_weight=plan.chosen["tv_weight"], form=plan.chosen["form"])


def _run(plan: _Plan, progress, callback) -> TransferResult:
    """Optimise a checked plan: colour handling, the extractor, each scale, and the result at the content's size."""
    _, height, width, _ = (int(d) for d in plan.content.shape)
    # 1. Colour: what the optimiser sees, and how its image becomes the result.
    start = initial_image(plan.content, plan.init)
    work_content, work_styles, start, finish = _colour_handling(plan.preserve_color, plan.content, plan.styles or [], start)
    # 2. The feature extractor, and the problem at each scale.
    extractor = _extractor(plan)
    settings = _settings(plan, extractor)
    if plan.objective is None:
        def problem_at(size):
            factor = size[0] / height
            stage_styles = [_resize(s, images.scaled_size(s.shape[1], s.shape[2], max(1, round(max(s.shape[1:3]) * factor))))
                            for s in work_styles] if len(plan.scales) > 1 else work_styles
            return _plain_problem(plan, extractor, _resize(work_content, size), stage_styles)

        recorder = _Recorder(sum(plan.steps), progress, callback, plan.callback_every, finish, plan.scales[0])
    else:
        objective = _recoloured(plan.objective, plan.preserve_color, plan.content)

        def problem_at(size):
            return ObjectiveProblem(objective, extractor, size)

        recorder = _TermRecorder(objective.names, sum(plan.steps), progress, callback, plan.callback_every, finish, plan.scales[0])
    # 3. Optimise at each scale, coarse to fine; each scale starts from the previous one's result.
    with _quiet_retracing():
        final, stopped, message = _run_scales(plan, problem_at, start, recorder, settings)
    # 4. Report how it ended, and return the image at the content's size.
    return _finish(final, stopped, message, recorder, settings, finish, plan.content)


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


def transfer(content, style, *, optimizer="lbfgs", steps=None, init="content", style_weight: float | None = None,
             content_weight: float | None = None, tv_weight: float | None = None, form: str | None = None,
             preserve_color: str | None = None, network=None, terms=(), progress: bool | str = True,
             callback: Callable | None = None) -> TransferResult:
    """Stylise `content` with `style` (an image, a list, or terms.Style terms) -> TransferResult (image at the content's size).

    `optimizer`: "lbfgs" (L-BFGS inside TensorFlow, helpers.lbfgs), "lbfgs-scipy" (scipy's L-BFGS-B), "adam", or
    Adam(...) / LBFGS(...) with their settings. `steps`: a count (None: DEFAULT_STEPS), or {long side: steps} to go
    coarse to fine, e.g. {256: 100, 512: 50}, each scale starting from the last one's result.
    `init`: "content", "noise", "blend" (seed 0) or an image (optimize.initial_image(content, "noise", seed=1)).
    The weights and `form` default to DEFAULTS for the VGG19 weights in use (resolve_settings).
    `preserve_color`: None, "luminance" (optimise brightness only) or "histogram" (recolour the style first).
    `network`: optimize.Network(weights=, pooling=, precision=, memory=, recompute=), or a model with
    vgg.StyleContentModel's interface used instead of VGG19 (plain images only; the loss form then defaults to "relative").
    `progress` shows a bar (a string labels it); `callback(step, image, losses)` is called every CALLBACK_EVERY steps,
    or every n with optimize.every(n, fn). Ctrl-C returns the best image so far; a NaN/Inf loss the last good one.

    The objective is content_weight * L_content + style_weight * (the mean of each style's L_style) + tv_weight * TV.
    Anything else is a term (helpers.terms): `content` may be a terms.Content (its own layers, weight and form),
    `style` terms.Style terms (each with its own weight, layers, layer_weights, region `mask`, `style_mask` and `scale`:
    Gatys et al. 2017's spatial and scale control), and `terms` adds more (terms.Temporal for video, terms.Custom).
    The history then has one column per term, by name. Plain images keep the tutorial's computation exactly and may
    run VGG19 in stripes (Network.memory); terms need whole feature maps.
    Names and paths are scaled to 512 px on the long side (or the largest scale), a tf.Tensor is used at its own size.
    """
    plan = _plan(content, style, optimizer=optimizer, steps=steps, init=init, style_weight=style_weight, content_weight=content_weight,
                 tv_weight=tv_weight, form=form, preserve_color=preserve_color, network=network, terms=terms, progress=progress,
                 callback=callback)
    return _run(plan, progress, callback)


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


def evaluate(image, content, style, *, style_weight: float | None = None, content_weight: float | None = None,
             tv_weight: float | None = None, form: str | None = None, network=None, terms=()) -> dict:
    """The objective's weighted parts of `image` with 'total' (plain images: 'style', 'content', 'tv'; terms: one per term name).

    Scores results of different runs on one scale: a bfloat16 run's history is measured with its own rounded features,
    so compare its final image with a float32 run's by evaluating both here. Pass the objective the runs used, with
    transfer()'s arguments (weights, form, terms, network); `network` defaults to Network(precision="float32").
    Names and paths are loaded at the image's size.
    """
    t = _terms_module()
    image = _as_image(image, "image")
    side = max(int(image.shape[1]), int(image.shape[2]))
    network = Network(precision="float32") if network is None else network
    if not isinstance(content, t.Content):
        content = _load(content, "content", side)
    style_list = list(style) if isinstance(style, (list, tuple)) else [style]
    style = [s if isinstance(s, t.Style) else _load(s, f"style[{i}]" if len(style_list) > 1 else "style", side)
             for i, s in enumerate(style_list)]
    plan = _plan(content, style, optimizer="adam", steps=None, init="content", style_weight=style_weight, content_weight=content_weight,
                 tv_weight=tv_weight, form=form, preserve_color=None, network=network, terms=terms, progress=False, callback=None)
    if tuple(image.shape[1:3]) != tuple(plan.content.shape[1:3]):
        raise validate.refuse("image", f"{image.shape[2]}x{image.shape[1]} px", f"the content is {plan.content.shape[2]}x{plan.content.shape[1]} px",
                              "evaluate an image at the content's size (a name or path is loaded at the image's size)", TransferError)
    extractor = _extractor(plan)
    if plan.objective is None:
        problem = _plain_problem(plan, extractor, plan.content, plan.styles)
    else:
        problem = ObjectiveProblem(plan.objective, extractor, tuple(int(d) for d in image.shape[1:3]))
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


def minimize(objective, content, *, optimizer="lbfgs", steps=None, init="content", preserve_color: str | None = None,
             network=None, progress: bool | str = True, callback: Callable | None = None) -> TransferResult:
    """Minimise an objective (helpers.terms.Objective, or a list of terms) over a picture of `content`'s size -> TransferResult.

    Any optimiser of the course minimises any objective; the arguments are transfer()'s (steps may go coarse to fine).
    `content` sets the size and, with init="content", the start; it is loaded as transfer loads it. result.history has
    one column per term, by name (total == their sum). VGG19 holds exactly the layers the terms need.
    """
    objective = _terms_module().check_objective(objective)
    common = _common(optimizer, steps, init, preserve_color, network, progress, callback)
    _check_network_for_terms(common)
    plan = _Plan(content=_load(content, "content", _content_size(common["scales"])), objective=objective, **common)
    return _run(plan, progress, callback)
