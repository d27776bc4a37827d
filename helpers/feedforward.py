"""Fast style transfer (Johnson et al. 2016): a small image transformation network and its perceptual-loss training.

The network maps a photo to a stylised photo in one forward pass:

    9x9 conv -> two stride-2 3x3 convs -> 5 residual blocks -> two (2x nearest upsample + 3x3 conv) -> 9x9 conv -> sigmoid

Every convolution but the last is followed by instance normalisation (Ulyanov et al. 2016), and by a ReLU except the
second convolution of each residual block. Upsampling is
"resize-convolution" (Odena et al. 2016), which avoids the checkerboard pattern of transposed convolutions. Inputs of
any size at least ``MIN_SIDE`` are reflect-padded to a multiple of 4 and the output is cropped back, so the output
always has the input's shape.

Training uses the perceptual loss: VGG19 content loss against the input photo, Gram style loss against ONE style
image, and total variation, over many content images. The content images are random crops, flips and colour jitter
of the committed photos (no dataset download).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from helpers import files, images, losses, timing, vgg

#: Smallest side the network accepts: two stride-2 convolutions leave a 4x4 map for the residual blocks.
MIN_SIDE = 16
#: Channels of the three downsampling convolutions (Johnson et al. use 32, 64, 128; the default is half, for a CPU).
DEFAULT_FILTERS = (16, 32, 64)
#: Number of residual blocks, as in Johnson et al. (2016).
NUM_RESIDUAL = 5
#: The committed content photos the network trains on by default ("coffee" is held out as an unseen test image).
TRAIN_CONTENT = ("astronaut", "grace_hopper", "cat", "rocket")
#: Default loss weights for form="relative" with trained ImageNet VGG19, chosen by eye on 150 s CPU runs (batch 4 of
#: 128 px crops of the swirls style, judged on the unseen coffee photo): style weight 1 learnt the palette only, 8 lost
#: the cup, 3 kept the cup and drew the style's strokes.
STYLE_WEIGHT = 3.0
CONTENT_WEIGHT = 2.0
TV_WEIGHT = 3e-2

_FILE_KIND = "nst-transform-net"


class NetworkFileError(ValueError):
    """A saved network file is missing, unreadable or not a transformation network; the message names the file."""


def instance_norm(x: tf.Tensor, epsilon: float = 1e-5) -> tf.Tensor:
    """Normalise each image and channel of [B, H, W, C] to mean 0, variance 1 over H and W (no learned scale)."""
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank != 4:
        raise ValueError(f"instance_norm expects [B, H, W, C], got shape {x.shape}")
    mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon)


def batch_norm(x: tf.Tensor, epsilon: float = 1e-5) -> tf.Tensor:
    """Normalise each channel of [B, H, W, C] over the whole batch and H, W (training-mode batch norm, no scale)."""
    x = tf.convert_to_tensor(x, tf.float32)
    if x.shape.rank != 4:
        raise ValueError(f"batch_norm expects [B, H, W, C], got shape {x.shape}")
    mean, variance = tf.nn.moments(x, axes=[0, 1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(variance + epsilon)


class InstanceNormalization(tf.keras.layers.Layer):
    """Instance normalisation with a learned per-channel scale gamma and shift beta: gamma * instance_norm(x) + beta."""

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        """Create gamma (ones) and beta (zeros), one per channel."""
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        """[B, H, W, C] -> [B, H, W, C]."""
        return instance_norm(inputs, self.epsilon) * self.gamma + self.beta

    def get_config(self):
        """Keras config (for cloning)."""
        return {**super().get_config(), "epsilon": self.epsilon}


class ConvLayer(tf.keras.layers.Layer):
    """Reflection padding + convolution (+ instance norm + ReLU unless `last`); optional 2x nearest upsample first."""

    def __init__(self, filters, kernel_size, strides=1, upsample=False, last=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.pad = kernel_size // 2
        self.upsample = upsample
        self.last = last
        init = tf.keras.initializers.GlorotUniform(seed=seed)
        self.conv = tf.keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="valid", kernel_initializer=init)
        self.norm = None if last else InstanceNormalization()

    def call(self, x):
        """[B, H, W, C] -> [B, H', W', filters]."""
        if self.upsample:
            x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
        p = self.pad
        x = self.conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT"))
        if self.last:
            return x
        return tf.nn.relu(self.norm(x))


class ResidualBlock(tf.keras.layers.Layer):
    """x + IN(conv(ReLU(IN(conv(x))))), with 3x3 reflect-padded convolutions, as in Johnson et al.'s supplement."""

    def __init__(self, filters, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = ConvLayer(filters, 3, seed=seed)
        self.conv2 = ConvLayer(filters, 3, last=True, seed=None if seed is None else seed + 1)
        self.norm2 = InstanceNormalization()

    def call(self, x):
        """[B, H, W, C] -> [B, H, W, C]."""
        return x + self.norm2(self.conv2(self.conv1(x)))


class TransformNet(tf.keras.Model):
    """Johnson-style image transformation network: [B, H, W, 3] in [0, 1] -> [B, H, W, 3] in [0, 1], any H, W >= 16."""

    def __init__(self, filters=DEFAULT_FILTERS, num_residual: int = NUM_RESIDUAL, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        filters = tuple(int(f) for f in filters)
        if len(filters) != 3 or min(filters) < 1:
            raise ValueError(f"filters must be three positive channel counts, got {filters}")
        if int(num_residual) < 0:
            raise ValueError(f"num_residual must be >= 0, got {num_residual}")
        self.filters, self.num_residual, self.seed = filters, int(num_residual), int(seed)
        f0, f1, f2 = filters
        s = 1000 * self.seed
        self.down = [ConvLayer(f0, 9, seed=s + 1), ConvLayer(f1, 3, strides=2, seed=s + 2), ConvLayer(f2, 3, strides=2, seed=s + 3)]
        self.res = [ResidualBlock(f2, seed=s + 10 + 2 * i) for i in range(self.num_residual)]
        self.up = [ConvLayer(f1, 3, upsample=True, seed=s + 30), ConvLayer(f0, 3, upsample=True, seed=s + 31)]
        self.out = ConvLayer(3, 9, last=True, seed=s + 32)
        self(tf.zeros([1, 32, 32, 3]))  # create the weights now, so they can be counted, saved and loaded
        self._compiled = None

    def call(self, inputs):
        """Stylise a batch: reflect-pad to a multiple of 4, run the network, crop back to the input size."""
        x = tf.convert_to_tensor(inputs, tf.float32)
        shape = tf.shape(x)
        height, width = shape[1], shape[2]
        pad_h, pad_w = (-height) % 4, (-width) % 4
        x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="SYMMETRIC")
        for layer in self.down + self.res + self.up:
            x = layer(x)
        x = tf.sigmoid(self.out(x))
        return x[:, :height, :width, :]

    def stage_shapes(self, image) -> list[tuple[str, tuple]]:
        """Follow `image` [B, H, W, 3] through the network: [(stage, output shape)] from the padded input to the output."""
        x = check_input(image)
        height, width = int(x.shape[1]), int(x.shape[2])
        x = tf.pad(x, [[0, 0], [0, (-height) % 4], [0, (-width) % 4], [0, 0]], mode="SYMMETRIC")
        shapes = [("input (padded to a multiple of 4)", tuple(x.shape))]
        stages = [("in", self.down[:1]), ("downsample", self.down[1:]), ("residual", self.res), ("upsample", self.up),
                  ("out (before sigmoid)", [self.out])]
        for name, layers in stages:
            for layer in layers:
                x = layer(x)
            shapes.append((name, tuple(x.shape)))
        shapes.append(("output (sigmoid, cropped back)", tuple(tf.sigmoid(x)[:, :height, :width, :].shape)))
        return shapes

    def infer(self, images):
        """Inference through one tf.function traced for any size: [B, H, W, 3] in [0, 1] -> [B, H, W, 3] in [0, 1]."""
        if self._compiled is None:
            spec = tf.TensorSpec([None, None, None, 3], tf.float32)
            self._compiled = tf.function(lambda x: self(x, training=False), input_signature=[spec])
        return self._compiled(tf.convert_to_tensor(images, tf.float32))

    def get_config(self):
        """The architecture (what `load_network` needs to rebuild it)."""
        return {"filters": list(self.filters), "num_residual": self.num_residual, "seed": self.seed}


def check_input(image, name: str = "image", max_dim: int | None = images.DEFAULT_MAX_DIM) -> tf.Tensor:
    """`image` as [B, H, W, 3] float32: a tensor as it is; a name, path, PIL image or array scaled to a long side <= max_dim."""
    if isinstance(image, (str, os.PathLike, Image.Image)) or (isinstance(image, np.ndarray) and image.ndim != 4):
        return images.load_sized(image, max_dim, name)
    x = images.check_image(image, name, batch=True, min_side=MIN_SIDE, error=ValueError)
    return x if isinstance(image, tf.Tensor) else images.fit(x, max_dim, name)  # a tensor is used at its own size


def stylize(net: TransformNet, image, max_dim: int | None = images.DEFAULT_MAX_DIM) -> tf.Tensor:
    """One forward pass: [B, H, W, 3] in [0, 1] (or a name, path or array, scaled to a long side <= max_dim) -> [B, H, W, 3]."""
    return net.infer(check_input(image, max_dim=max_dim))


def count_params(net: tf.keras.Model) -> int:
    """Number of trainable scalars in a network."""
    return int(sum(np.prod(v.shape) for v in net.trainable_variables))


def time_forward(net, image, repeats: int = 3) -> float:
    """Median seconds of one forward pass of `net` (a TransformNet or any function of an image) on `image`, after a warm-up."""
    fn = net.infer if isinstance(net, TransformNet) else net
    if not callable(fn):
        raise ValueError(f"net must be a TransformNet or a function of an image, got {type(net).__name__}")
    return timing.median_seconds(lambda: np.asarray(fn(image)), repeats)


# --- data: random crops, flips and colour jitter of the committed photos -----------------------------------------


def load_training_images(names=TRAIN_CONTENT, max_dim: int = 512) -> list[tf.Tensor]:
    """Load content photos (example names or paths) as a list of [1, H, W, 3] tensors."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("at least one training image name is needed")
    return [images.load_img(name, max_dim=max_dim) for name in names]


def augment(image: tf.Tensor, size: int, rng: np.random.Generator, jitter: float = 0.1) -> tf.Tensor:
    """A random square crop (50-100 % of the short side), resized to size x size, maybe flipped, colour-jittered."""
    image = tf.convert_to_tensor(image, tf.float32)
    if image.shape.rank == 3:
        image = image[None]
    height, width = int(image.shape[1]), int(image.shape[2])
    side = max(1, int(round(min(height, width) * rng.uniform(0.5, 1.0))))
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    crop = image[:, top : top + side, left : left + side, :]
    crop = tf.image.resize(crop, (size, size), method="bilinear", antialias=True)
    if rng.random() < 0.5:
        crop = crop[:, :, ::-1, :]
    if jitter > 0:
        crop = tf.image.adjust_brightness(crop, rng.uniform(-jitter, jitter))
        crop = tf.image.adjust_contrast(crop, rng.uniform(1 - 2 * jitter, 1 + 2 * jitter))
        crop = tf.image.adjust_saturation(crop, rng.uniform(1 - 3 * jitter, 1 + 3 * jitter))
        crop = tf.image.adjust_hue(crop, rng.uniform(-0.2 * jitter, 0.2 * jitter))
    return tf.clip_by_value(crop, 0.0, 1.0)


def content_batches(photos, size: int = 128, batch_size: int = 4, seed: int = 0, jitter: float = 0.1):
    """Endless iterator of [batch_size, size, size, 3] batches of augmented crops of `photos` ([1, H, W, 3] tensors)."""
    photos = list(photos)
    if not photos:
        raise ValueError("photos is empty: give at least one [1, H, W, 3] image")
    if int(size) < MIN_SIDE or int(batch_size) < 1:
        raise ValueError(f"size must be >= {MIN_SIDE} and batch_size >= 1, got size={size}, batch_size={batch_size}")
    rng = np.random.default_rng(seed)
    while True:
        picks = rng.integers(0, len(photos), size=batch_size)
        yield tf.concat([augment(photos[i], int(size), rng, jitter) for i in picks], axis=0)


# --- the perceptual loss -----------------------------------------------------------------------------------------


class PerceptualLoss:
    """Johnson et al.'s loss for one style: content (VGG features of the photo) + style (Gram matrices) + TV."""

    def __init__(
        self,
        style_image,
        *,
        style_weight: float = STYLE_WEIGHT,
        content_weight: float = CONTENT_WEIGHT,
        tv_weight: float = TV_WEIGHT,
        weights="auto",
        style_layers=None,
        content_layers=None,
        form: str = "relative",
        precision: str = "auto",
        per_image: bool = False,
    ):
        from helpers.precision import resolve as resolve_precision

        # VGG19 (the loss network, most of a training step's work) runs in `precision`; the losses are float32.
        self.extractor = vgg.StyleContentModel(style_layers, content_layers, weights=weights, precision=resolve_precision(precision))
        self.style_weight, self.content_weight, self.tv_weight = float(style_weight), float(content_weight), float(tv_weight)
        self.form = form
        losses._check_form(form)
        # per_image=True: the content term is each image's own term, averaged, so the loss of a batch is the mean of its
        # images' losses and splitting a batch across devices and averaging gives the same number. The "relative" form
        # otherwise divides by the whole batch's target norm (notebook 05's loss, kept as it was).
        self.per_image = bool(per_image)
        if isinstance(style_image, tf.Tensor):  # a tensor is used at its own size
            style_image = images.check_image(style_image, "style", error=ValueError)
        else:
            style_image = images.load_sized(style_image, images.DEFAULT_MAX_DIM, "style")
        self.style_targets = self.extractor(style_image)["style"]

    def __call__(self, stylized: tf.Tensor, content: tf.Tensor):
        """Loss of a batch of network outputs against their input photos: (total, {'style', 'content', 'tv'})."""
        batch = tf.shape(stylized)[0]
        outputs = self.extractor(stylized)
        content_targets = self.extractor(content)["content"]
        style_targets = {k: tf.repeat(v, batch, axis=0) for k, v in self.style_targets.items()}
        style = self.style_weight * losses.style_loss(outputs["style"], style_targets, form=self.form)
        if self.per_image:
            def one_image(i):
                pick = {k: v[i : i + 1] for k, v in outputs["content"].items()}
                return losses.content_loss(pick, {k: v[i : i + 1] for k, v in content_targets.items()}, form=self.form)

            content_term = self.content_weight * tf.reduce_mean(tf.map_fn(one_image, tf.range(batch), fn_output_signature=tf.float32))
        else:
            content_term = self.content_weight * losses.content_loss(outputs["content"], content_targets, form=self.form)
        pixels = tf.cast(tf.reduce_prod(tf.shape(stylized)[:3]), tf.float32)
        tv = self.tv_weight * losses.total_variation_loss(stylized) / pixels
        return style + content_term + tv, {"style": style, "content": content_term, "tv": tv}


# --- training -----------------------------------------------------------------------------------------------------


def train(
    net: TransformNet,
    style_image,
    photos=None,
    *,
    steps: int = 1000,
    batch_size: int = 4,
    image_size: int = 128,
    learning_rate: float = 2e-3,
    style_weight: float = STYLE_WEIGHT,
    content_weight: float = CONTENT_WEIGHT,
    tv_weight: float = TV_WEIGHT,
    time_budget: float | None = None,
    weights="auto",
    seed: int = 0,
    preview_every: int = 0,
    callback=None,
    progress: bool = True,
    loss: PerceptualLoss | None = None,
    batches=None,
    precision: str = "auto",
    strategy: tf.distribute.Strategy | None = None,
    checkpoint_dir=None,
    checkpoint_every: int = 0,
) -> dict:
    """Train `net` in place with Adam on the perceptual loss; stops after `steps` or `time_budget` seconds.

    `callback(step, net, history)` runs every `preview_every` steps (and after the last). Ctrl-C stops training and
    keeps the weights reached so far. `loss` reuses a PerceptualLoss; `batches` (an iterator of [B, S, S, 3] images)
    replaces the augmented crops of `photos`. `precision` is the loss network's ("auto": bfloat16 only where this
    machine runs it faster; see helpers.precision; a `loss` passed in keeps its own); the transform network and the
    losses stay float32. Returns the
    history: lists 'loss', 'style', 'content', 'tv', 'seconds' (one entry per step), plus 'steps', 'stopped' ('steps',
    'time budget' or 'interrupted'), 'total_seconds' and 'precision'.

    Many devices and machines: under a tf.distribute strategy (`strategy`, or the one whose scope this is called in;
    build `net` and `loss` in its scope too) each step runs on every replica and the gradients are summed across them.
    `batches` is then a tf.data.Dataset of global batches, or a function of a tf.distribute.InputContext that returns
    this pipeline's dataset batched per replica (see helpers.distributed). `checkpoint_dir` keeps a
    tf.train.CheckpointManager there (network, optimiser, step) saved every `checkpoint_every` steps and at the end;
    a later call with the same folder resumes from its last checkpoint ('first_step' in the history) and skips the
    batches already used.
    """
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if time_budget is not None and not float(time_budget) > 0:
        raise ValueError(f"time_budget must be a positive number of seconds or None, got {time_budget}")
    if int(checkpoint_every) < 0:
        raise ValueError(f"checkpoint_every must be >= 0 (0: only at the end), got {checkpoint_every}")
    strategy = strategy or tf.distribute.get_strategy()
    default = strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if time_budget is not None and resolver is not None and resolver.cluster_spec().as_dict():
        raise ValueError("time_budget cannot be used with several workers: each would stop at its own clock, and the others "
                         "would wait for it forever; give steps instead")
    if batches is None:
        photos = load_training_images() if photos is None else list(photos)
        batches = content_batches(photos, image_size, batch_size, seed=seed)
    with strategy.scope():
        loss_fn = loss or PerceptualLoss(
            style_image, style_weight=style_weight, content_weight=content_weight, tv_weight=tv_weight, weights=weights,
            precision=precision,
        )
        optimizer = tf.keras.optimizers.Adam(learning_rate)
        optimizer.build(net.trainable_variables)  # the slots exist before the first step, as a strategy needs
        step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(net=net, optimizer=optimizer, step=step_counter)
    manager, start = _restore(checkpoint, checkpoint_dir, strategy)
    batches = _distribute(batches, strategy, default, start)
    replicas = strategy.num_replicas_in_sync

    def replica_step(batch):
        with tf.GradientTape() as tape:
            total, parts = loss_fn(net(batch, training=True), batch)
            # Each replica's loss is the mean over its share of the global batch; summing the replicas' gradients
            # (what apply_gradients does under a strategy) then gives the gradient of the global mean.
            scaled = total / replicas if replicas > 1 else total
        grads = tape.gradient(scaled, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return total / replicas if replicas > 1 else total, {k: v / replicas if replicas > 1 else v for k, v in parts.items()}

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        total, parts = strategy.run(replica_step, args=(batch,))
        reduce = tf.distribute.ReduceOp.SUM
        return strategy.reduce(reduce, total, axis=None), {k: strategy.reduce(reduce, v, axis=None) for k, v in parts.items()}

    history = {"loss": [], "style": [], "content": [], "tv": [], "seconds": [], "steps": start, "stopped": "steps",
               "precision": loss_fn.extractor.precision, "first_step": start + 1, "replicas": replicas}
    if start >= int(steps):
        history.update(stopped="steps", total_seconds=0.0)
        return history
    start_time = time.perf_counter()
    bar = None
    if progress:
        from helpers.progress import progress_bar as tqdm

        # With a time budget the bar counts seconds of the budget, since that is what usually ends training.
        if time_budget is not None:
            bar = tqdm(total=round(float(time_budget)), desc="training (s of budget)", unit="s",
                       bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}")
        else:
            bar = tqdm(total=int(steps), initial=start, desc="training", unit="step")
    batches = iter(batches)
    try:
        for step in range(start + 1, int(steps) + 1):
            total, parts = train_step(next(batches))
            history["loss"].append(float(total))
            for key in ("style", "content", "tv"):
                history[key].append(float(parts[key]))
            history["seconds"].append(time.perf_counter() - start_time)
            history["steps"] = step
            out_of_time = time_budget is not None and history["seconds"][-1] >= float(time_budget)
            if bar is not None:
                if time_budget is not None:
                    bar.n = bar.total if out_of_time else round(history["seconds"][-1], 1)
                    bar.set_postfix(step=step, loss=f"{float(total):.4g}", refresh=False)
                    bar.refresh()
                else:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(total):.4g}")
            if manager is not None and checkpoint_every and step % int(checkpoint_every) == 0:
                step_counter.assign(step)
                manager.save(checkpoint_number=step)
            if callback is not None and preview_every and (step % int(preview_every) == 0 or step == int(steps) or out_of_time):
                callback(step, net, history)
            if out_of_time:
                history["stopped"] = "time budget"
                break
    except KeyboardInterrupt:
        history["stopped"] = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    if manager is not None and history["steps"] > start and manager.checkpoint.step.numpy() != history["steps"]:
        step_counter.assign(history["steps"])
        manager.save(checkpoint_number=history["steps"])
    if manager is not None:
        _remove_scratch(manager, checkpoint_dir)
    history["total_seconds"] = time.perf_counter() - start_time
    return history


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True unless this process is a non-chief worker of a multi-worker strategy (the chief is worker 0 if no 'chief' task)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    if "chief" in resolver.cluster_spec().as_dict():
        return resolver.task_type == "chief"
    return resolver.task_type in (None, "worker") and int(resolver.task_id or 0) == 0


def _restore(checkpoint: tf.train.Checkpoint, checkpoint_dir, strategy) -> tuple[tf.train.CheckpointManager | None, int]:
    """A CheckpointManager (the chief writes to checkpoint_dir, other workers to a scratch folder inside it) and the step restored."""
    if checkpoint_dir is None:
        return None, 0
    folder = Path(checkpoint_dir)
    latest = tf.train.latest_checkpoint(str(folder))
    if latest is not None:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as exc:
            raise ValueError(f"{latest}: this checkpoint does not fit the network and optimiser being trained ({exc}); "
                             "use another checkpoint_dir or delete it") from None
    # Every worker must save (saving may run collective operations); only the chief's copy is kept.
    write_to = folder if _is_chief(strategy) else folder / f".worker-{strategy.cluster_resolver.task_id}-scratch"
    manager = tf.train.CheckpointManager(checkpoint, str(write_to), max_to_keep=2)
    return manager, int(checkpoint.step.numpy())


def _remove_scratch(manager: tf.train.CheckpointManager, checkpoint_dir) -> None:
    """Delete a non-chief worker's scratch checkpoints."""
    import shutil

    if Path(manager.directory).resolve() != Path(checkpoint_dir).resolve():
        shutil.rmtree(manager.directory, ignore_errors=True)


def _distribute(batches, strategy: tf.distribute.Strategy, default: bool, start: int):
    """What the training loop iterates: the batches as given, or distributed by `strategy`, with the first `start` steps' skipped."""
    if isinstance(batches, tf.data.Dataset):
        return batches.skip(start) if default else strategy.experimental_distribute_dataset(batches.skip(start))
    if callable(batches) and not hasattr(batches, "__next__"):
        def dataset_fn(context):
            per_pipeline = strategy.num_replicas_in_sync // context.num_input_pipelines  # batches one step takes here
            return batches(context).skip(start * per_pipeline)

        return strategy.distribute_datasets_from_function(dataset_fn)
    if not default:
        raise ValueError("under a tf.distribute strategy, batches must be a tf.data.Dataset or a function of an InputContext "
                         "that returns one (see helpers.distributed); an iterator of tensors cannot be split across replicas")
    batches = iter(batches)
    for _ in range(start):
        next(batches)
    return batches


class TrainingPreview:
    """A `train` callback that redraws [photo | network output] in one notebook output and keeps every frame."""

    def __init__(self, photo, size: float = 3.0, title: str = "Live preview"):
        self.photo = check_input(photo, "photo")
        self.size, self.title = float(size), title
        self.frames: list[tuple[int, tf.Tensor]] = []  # (step, [1, H, W, 3] output) for every preview shown
        self._handle = None

    def __call__(self, step: int, net: TransformNet, history: dict | None = None):
        """Stylise the photo with `net`, store it as the frame for `step`, and show it (call with step 0 before training)."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        out = stylize(net, self.photo)
        self.frames.append((int(step), out))
        label = f"step {step}" + (f", batch loss {history['loss'][-1]:.3f}" if history and history.get("loss") else " (untrained)")
        fig, axes = plt.subplots(1, 2, figsize=(2 * self.size, self.size))
        images.imshow(self.photo, "photo", ax=axes[0])
        images.imshow(out, label, ax=axes[1])
        fig.suptitle(self.title)
        fig.tight_layout()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def strip(self, count: int = 6, height: int = 96) -> tuple[tf.Tensor, list[int]]:
        """Up to `count` evenly spaced frames side by side, `height` px tall: ([1, height, W, 3], their steps)."""
        if not self.frames:
            raise ValueError("no preview frames yet: call the preview (or train with it) first")
        picks = np.unique(np.linspace(0, len(self.frames) - 1, min(int(count), len(self.frames))).round().astype(int))
        chosen = [self.frames[i] for i in picks]
        width = max(1, round(height * int(self.photo.shape[2]) / int(self.photo.shape[1])))
        strip = tf.concat([tf.image.resize(frame, (height, width)) for _, frame in chosen], axis=2)
        return strip, [step for step, _ in chosen]


# --- saving and loading -------------------------------------------------------------------------------------------


def save_network(net: TransformNet, path) -> Path:
    """Write the architecture and weights of `net` to one .npz file (atomically); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{path}: the network file name must end in .npz")
    arrays = {f"w{i:03d}": np.asarray(v) for i, v in enumerate(net.weights)}
    meta = {"kind": _FILE_KIND, "config": net.get_config(), "names": [v.path for v in net.weights]}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with files.atomic_write(path) as fh:
        np.savez(fh, **arrays)
    return path


def load_network(path) -> TransformNet:
    """Rebuild a TransformNet from a file written by `save_network`; NetworkFileError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(f"{path}: no such network file")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            arrays = [data[f"w{i:03d}"] for i in range(len(meta["names"]))]
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise NetworkFileError(f"{path}: not a network file written by save_network ({type(exc).__name__}: {exc})") from None
    if meta.get("kind") != _FILE_KIND:
        raise NetworkFileError(f"{path}: not a transformation network file (kind {meta.get('kind')!r})")
    cfg = meta["config"]
    net = TransformNet(filters=cfg["filters"], num_residual=cfg["num_residual"], seed=cfg.get("seed", 0))
    if len(net.weights) != len(arrays) or any(tuple(v.shape) != a.shape for v, a in zip(net.weights, arrays)):
        raise NetworkFileError(f"{path}: the stored weights do not fit the architecture {cfg}")
    for variable, value in zip(net.weights, arrays):
        variable.assign(value)
    return net


# --- reading a training run into words (notebook 05) ---------------------------------------------------------------

_REGIONS = (("top left", "top", "top right"), ("left", "centre", "right"), ("bottom left", "bottom", "bottom right"))


#: largest_change_region names a ninth of the picture only when its mean change is at least this many times the median ninth's.
STANDS_OUT = 1.3


def largest_change_region(before, after) -> tuple[str | None, np.ndarray]:
    """Where two [1, H, W, 3] images differ most: (a ninth's name such as 'top left', or None when no ninth stands out by
    STANDS_OUT, [H, W] mean |after - before|)."""
    diff = np.mean(np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64)), axis=-1)[0]
    rows, cols = np.array_split(np.arange(diff.shape[0]), 3), np.array_split(np.arange(diff.shape[1]), 3)
    means = np.array([[diff[np.ix_(r, c)].mean() for c in cols if len(c)] for r in rows if len(r)])
    row, col = np.unravel_index(int(np.argmax(means)), means.shape)
    if not means[row, col] >= STANDS_OUT * np.median(means) or means[row, col] == 0:
        return None, diff
    return _REGIONS[row][col], diff


def _settled_by(values, window: int, share: float = 0.9) -> int | None:
    """The step by which the moving average had done `share` of its whole fall; None if it did not fall."""
    values = np.asarray(values, np.float64)
    if len(values) < window:
        return None
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    if not smooth[-1] < smooth[0]:
        return None
    return int(np.argmax(smooth <= smooth[0] - share * (smooth[0] - smooth[-1]))) + window


def read_training(history: dict, frames: dict, strip_steps: list[int]) -> dict:
    """Numbers and sentences for a training run: {'window', 'first', 'last', 'per_step', 'lines', 'text', 'look'}.

    `history` is what `train` returns (weighted terms per step), `frames` maps a step to its preview [1, H, W, 3], and
    `strip_steps` are the steps of the strip. 'lines' is a printout, 'text' sentences read from the numbers with each
    condition tested, 'look' what to look for in the strip, in the order the terms settled.
    """
    keys = ("loss", "style", "content", "tv")
    window = max(1, len(history["loss"]) // 20)  # the moving-average window of viz.plot_history's bold lines
    first = {k: float(np.mean(history[k][:window])) for k in keys}
    last = {k: float(np.mean(history[k][-window:])) for k in keys}
    pairs = list(zip(strip_steps, strip_steps[1:]))
    changes = [float(np.mean(np.abs(np.asarray(frames[b]) - np.asarray(frames[a])))) for a, b in pairs]
    per_step = [c / max(1, b - a) for c, (a, b) in zip(changes, pairs)]
    lines = [f"mean of each weighted term over the first {window} and the last {window} step(s):"]
    lines += [f"{'total' if k == 'loss' else k:>9}: {first[k]:.4f} -> {last[k]:.4f}" for k in keys]
    if pairs:
        lines.append("mean absolute pixel change between neighbouring strip frames, and per step: " + ", ".join(
            f"steps {a}->{b}: {c:.3f} ({p:.4f} per step)"
            for (a, b), c, p in zip(pairs, changes, per_step)))

    def went(key):
        return f"{'fell' if last[key] < first[key] else 'rose'} from **{first[key]:.3g}** to **{last[key]:.3g}**"

    text = [f"Over the {history['steps']} steps, the weighted style term {went('style')} and the weighted content term "
            f"{went('content')}."]
    style_by, content_by = _settled_by(history["style"], window), _settled_by(history["content"], window)
    look = ("In the strip, frame 0 is the untrained network's output. Follow the frames: when do the photo's shapes "
            "appear (the content term's work), and when do the style's colours and strokes (the style term's)?")
    if style_by is not None and content_by is not None:
        text.append(f"The style term had done nine tenths of its fall by step **{style_by}**, the content term by step "
                    f"**{content_by}**: " + ("the style term settled first." if style_by < content_by else
                                              "both settled by the same step." if style_by == content_by else
                                              "the content term settled first."))
        if style_by < content_by:
            look = ("In the strip, frame 0 is the untrained network's output. The style term settled first, so look for "
                    "the style's colours and strokes in the early frames; what the content term, still falling, changed late is "
                    "easier to see in the last two frames, enlarged below with a map of where they differ.")
        elif content_by < style_by:
            look = ("In the strip, frame 0 is the untrained network's output. The content term settled first, so look "
                    "for the photo's shapes in the early frames, then for the style's colours and strokes taking over in "
                    "the later ones (the style term, still falling).")
    elif last["content"] >= first["content"]:
        text.append("The content term rose: the network gave up some of the photo to paint the style."
                    if last["content"] > 1.02 * first["content"] else "The content term stayed where it started.")
    tv_share = last["tv"] / last["loss"] if last["loss"] > 0 else 0.0
    text.append(f"The TV term is {'under **1%**' if tv_share < 0.01 else f'**{tv_share:.0%}**'} of the total over the "
                "last window" + (": a small part next to the style and content terms." if tv_share < 0.05 else
                                 ": a noticeable part, so smoothing shapes the picture too (exercise 4 varies `TV_WEIGHT`)."))
    if len(per_step) >= 2:
        rounded = np.round(per_step, 6)
        trend = ("it fell with every later pair of frames" if np.all(np.diff(rounded) < 0) else
                 "it was largest at the start, but did not fall with every later pair" if per_step[0] == max(per_step) else
                 "it was not largest at the start")
        text.append(f"Per training step, the picture changed by **{per_step[0]:.4f}** per pixel value (on the 0 to 1 "
                    f"scale) between the first two frames of the strip and by **{per_step[-1]:.4f}** between the last "
                    f"two: {trend}. Between neighbouring frames, whatever their distance in steps, it changed by "
                    + ", ".join(f"{c:.3f}" for c in changes) + " (a pair only a few steps apart also measures the noise "
                    "of a few batches).")
    return {"window": window, "first": first, "last": last, "changes": changes, "per_step": per_step, "lines": lines,
            "text": " ".join(text), "look": look}
