"""VGG19 as a feature extractor: layer names, weights (ImageNet exact or packaged, a local file, random), pooling."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import config, packaged_vgg
from helpers.losses import gram_matrix

#: The TF tutorial's content layer (also the course default).
CONTENT_LAYERS = ["block5_conv2"]
#: Gatys et al. (2015) reconstruct content from conv4_2, i.e. Keras' block4_conv2.
PAPER_CONTENT_LAYERS = ["block4_conv2"]
#: conv1_1 ... conv5_1: the style layers of the paper and the TF tutorial.
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
#: The 16 convolution layers of VGG19, in order (5 blocks of 2, 2, 4, 4, 4).
CONV_LAYERS = [
    f"block{b}_conv{c}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4)) for c in range(1, n + 1)
]
#: Every layer name a feature can be taken from (convolutions and poolings), in order.
ALL_LAYERS = [name for b in range(1, 6) for name in [n for n in CONV_LAYERS if n.startswith(f"block{b}_")] + [f"block{b}_pool"]]

#: Where Keras publishes the ImageNet weights (without the classifier).
IMAGENET_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
IMAGENET_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_HASH = "253f8cb515780f3b799900260a226db6"
#: The full network with its ImageNet classifier (548 MB), used only for the top-5 sanity check.
CLASSIFIER_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5"
CLASSIFIER_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels.h5"
CLASSIFIER_HASH = "cbe5617147190e668d6c5d5026f83318"

#: Seed of the random He-normal weights, so every run and every machine gets the same network.
RANDOM_SEED = 0

#: The weights that can be asked for by name; anything else is a path to a Keras VGG19 .h5 file.
NAMED_WEIGHTS = ("auto", "imagenet", "packaged", "random")
WEIGHT_CHOICES = (*NAMED_WEIGHTS, "<path to a Keras VGG19 .h5 file>")
#: The kinds `resolve_weights` returns that are trained ImageNet VGG19 weights (the fourth kind is "random").
TRAINED_KINDS = ("imagenet", "file", "packaged")
#: The precisions the network can compute in. bfloat16 halves the activations' memory; it is fast only on hardware
#: with native bfloat16 arithmetic (helpers.precision decides "auto" by measuring).
PRECISIONS = ("float32", "bfloat16")


def preprocess(image: tf.Tensor) -> tf.Tensor:
    """Turn [B, H, W, 3] RGB in [0, 1] into VGG19's input: BGR, 0-255, ImageNet mean subtracted."""
    return tf.keras.applications.vgg19.preprocess_input(tf.cast(image, tf.float32) * 255.0)


def imagenet_cache_path() -> Path:
    """Where the ImageNet weights file lives once downloaded (inside the course cache)."""
    return config.cache_dir() / "keras" / IMAGENET_FILE


def _download_imagenet(classifier: bool = False) -> Path:
    """Download the ImageNet weights (notop, or with the classifier) into the cache, with a time-out."""
    name, url, digest = (CLASSIFIER_FILE, CLASSIFIER_URL, CLASSIFIER_HASH) if classifier else (IMAGENET_FILE, IMAGENET_URL, IMAGENET_HASH)
    with config.network_timeout():
        path = tf.keras.utils.get_file(name, url, cache_dir=str(config.cache_dir()), cache_subdir="keras", file_hash=digest)
    return Path(path)


def load_classifier(download: bool = True) -> tf.keras.Model:
    """The full VGG19 with its ImageNet classifier (for the top-5 sanity check); raises OSError when unavailable."""
    cached = config.cache_dir() / "keras" / CLASSIFIER_FILE
    if not cached.exists():
        if not download:
            raise OSError(f"the classifier's weights ({CLASSIFIER_FILE}, 548 MB) are not in the cache {cached.parent}; "
                          "`make prefetch` puts them there (online, once)")
        if config.offline():
            raise OSError("NST_OFFLINE=1 and the VGG19 classifier weights are not in the cache")
        cached = _download_imagenet(classifier=True)
    return tf.keras.applications.VGG19(include_top=True, weights=str(cached))


def _imagenet_path() -> Path:
    """The ImageNet weights: from the cache if present, else downloaded (raises OSError offline)."""
    cached = imagenet_cache_path()
    if cached.exists():
        return cached
    if config.offline():
        raise OSError("NST_OFFLINE=1 and the weights are not in the cache")
    return _download_imagenet()


def resolve_weights(weights="auto") -> tuple[str, Path | None, str]:
    """Decide which weights to use: returns (kind, file or None, a sentence saying what and why)."""
    if isinstance(weights, Path) or (isinstance(weights, str) and weights not in NAMED_WEIGHTS):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ValueError(f"VGG19 weights file {path} does not exist (weights may be one of {', '.join(WEIGHT_CHOICES)})")
        return "file", path, f"VGG19 weights from {path}."
    if weights == "random":
        return "random", None, f"VGG19 with random He-normal weights (seed {RANDOM_SEED}), as requested."
    if weights == "imagenet":
        try:
            return "imagenet", _imagenet_path(), f"ImageNet VGG19, exact Keras file ({imagenet_cache_path()})."
        except Exception as exc:  # noqa: BLE001 - any download failure is reported the same way
            raise OSError(
                f"could not get the exact VGG19 ImageNet weights ({_short(exc)}); weights='auto' or 'packaged' uses "
                f"the 8-bit ImageNet copy installed with the course"
            ) from exc
    if weights == "packaged":
        return "packaged", packaged_vgg.packaged_file(), f"{packaged_vgg.DESCRIPTION}, as requested."
    if weights != "auto":
        raise ValueError(f"unknown weights {weights!r}; use one of {', '.join(WEIGHT_CHOICES)}")
    return _resolve_auto(str(config.cache_dir()), str(config.vgg19_weights_file()))


@functools.lru_cache(maxsize=4)
def _resolve_auto(cache: str, env_file: str) -> tuple[str, Path | None, str]:
    """Resolve weights="auto" once per setting, offline first: exact Keras file, then the packaged copy, then random."""
    cached = imagenet_cache_path()
    if cached.exists():
        return "imagenet", cached, f"ImageNet VGG19, exact Keras file ({cached})."
    why = "the exact Keras file is not in the cache (`make prefetch` downloads it once)"
    env_path = config.vgg19_weights_file()
    if env_path is not None:
        if env_path.is_file():
            return "file", env_path, f"VGG19 weights from NST_VGG19_WEIGHTS={env_path}."
        why += f", and NST_VGG19_WEIGHTS={env_path} does not exist"
    try:
        path = packaged_vgg.packaged_file()
    except packaged_vgg.PackagedWeightsError as exc:
        why += f", and {_short(exc)}"
    else:
        return "packaged", path, f"{packaged_vgg.DESCRIPTION}, because {why}."
    return (
        "random",
        None,
        f"VGG19 with random He-normal weights (seed {RANDOM_SEED}), because {why}. "
        "Random features transfer colour and fine texture but not strokes: results are far rougher than with ImageNet VGG19.",
    )


def _short(exc: Exception) -> str:
    """A one-line summary of an exception for notices."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."


def _he_normal_(model: tf.keras.Model, seed: int) -> None:
    """Redraw every conv kernel from N(0, 2/fan_in) and zero the biases, in place."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = int(np.prod(kernel.shape[:-1]))
            kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=kernel.shape).astype(np.float32)
            layer.set_weights([kernel, np.zeros_like(bias)])


@functools.lru_cache(maxsize=8)
def _base_model(kind: str, path: str | None, pooling: str, precision: str = "float32") -> tf.keras.Model:
    """Build (once per setting) the convolutional part of VGG19 with the chosen weights, pooling and precision."""
    if precision != "float32":
        return _in_precision(_base_model(kind, path, pooling), precision)
    if kind == "random":
        base = tf.keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
        _he_normal_(base, RANDOM_SEED)
    elif kind == "packaged":
        base = tf.keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
        # The file's SHA-256 was checked when the weights were resolved.
        for name, (kernel, bias) in packaged_vgg.load_packaged_weights(path, expected_sha256=None).items():
            base.get_layer(name).set_weights([kernel, bias])
    else:
        try:
            base = tf.keras.applications.VGG19(include_top=False, weights=path, input_shape=(None, None, 3))
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{path}: not a usable Keras VGG19 weights file ({_short(exc)})") from exc
    base.trainable = False
    if pooling == "max":
        return base
    inputs = tf.keras.Input(shape=(None, None, 3), name="vgg19_input")
    x = inputs
    for layer in base.layers[1:]:
        if isinstance(layer, tf.keras.layers.MaxPooling2D):
            x = tf.keras.layers.AveragePooling2D(layer.pool_size, layer.strides, layer.padding, name=layer.name)(x)
        else:  # a fresh copy with the same weights, so each layer belongs to one graph only
            copy = type(layer).from_config(layer.get_config())
            x = copy(x)
            copy.set_weights(layer.get_weights())
    model = tf.keras.Model(inputs, x, name="vgg19_avgpool")
    model.trainable = False
    return model


def _in_precision(model: tf.keras.Model, precision: str) -> tf.keras.Model:
    """A copy of `model` whose layers keep their weights and compute in `precision` (e.g. "bfloat16")."""

    def clone(layer):
        config_ = layer.get_config()
        config_["dtype"] = precision
        return type(layer).from_config(config_)

    copy = tf.keras.models.clone_model(model, clone_function=clone)
    for source, target in zip(model.layers, copy.layers):
        weights = source.get_weights()
        if weights:
            target.set_weights([tf.cast(w, precision) for w in weights])
    copy.trainable = False
    return copy


def check_precision(precision: str) -> str:
    """Return `precision` if the network can compute in it, else raise ValueError naming the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (or 'auto' where a helper decides), not {precision!r}")
    return precision


def load_vgg19(weights="auto", pooling: str = "max", precision: str = "float32") -> tf.keras.Model:
    """VGG19's convolutional part (input: preprocessed BGR), with a one-time notice of which weights were used."""
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
    kind, path, sentence = resolve_weights(weights)
    config.notice("vgg19", sentence)
    return _base_model(kind, str(path) if path else None, pooling, check_precision(precision))


def weights_kind(weights="auto") -> str:
    """'imagenet', 'file', 'packaged' or 'random': what `weights` resolves to on this machine right now."""
    return resolve_weights(weights)[0]


def first_layer_smoothness(weights="auto") -> float:
    """Correlation of neighbouring taps in block1_conv1's 3x3 filters: near 0.5 for trained VGG19, near 0 for random."""
    kernel = load_vgg19(weights).get_layer("block1_conv1").get_weights()[0]  # [3, 3, 3, 64]
    left = np.concatenate([kernel[:, :-1].ravel(), kernel[:-1, :].ravel()])
    right = np.concatenate([kernel[:, 1:].ravel(), kernel[1:, :].ravel()])
    return float(np.corrcoef(left, right)[0, 1])


#: Output channels of each block's convolutions.
BLOCK_CHANNELS = (64, 128, 256, 512, 512)
#: The share of an optimiser step's time that does not shrink with the network: the optimiser's own arithmetic, the loss
#: and Python around them (step_share).
STEP_OVERHEAD = 0.1


def multiply_adds_per_pixel(layer: str) -> float:
    """Multiply-adds of VGG19's convolutions up to and including `layer`, per pixel of the input image."""
    total = 0.0
    channels = 3
    for name in CONV_LAYERS[: CONV_LAYERS.index(layer) + 1] if layer in CONV_LAYERS else []:
        block = int(name[5])
        out = BLOCK_CHANNELS[block - 1]
        total += 9 * channels * out / 4 ** (block - 1)  # each pooling before the block quarters the positions
        channels = out
    return total


def step_share(layers) -> float:
    """An optimiser step's time with VGG19 cut after the deepest of `layers`, as a share of a step with the course's
    default layers (STYLE_LAYERS and CONTENT_LAYERS): STEP_OVERHEAD plus the rest in proportion to the multiply-adds."""
    names = check_layers(list(layers))
    last_conv = {f"block{b}_pool": [n for n in CONV_LAYERS if n.startswith(f"block{b}_")][-1] for b in range(1, 6)}
    convs = [last_conv.get(n, n) for n in names]  # a pooling layer costs what its block's last convolution does
    deepest = max(convs, key=CONV_LAYERS.index)
    full = max(STYLE_LAYERS + CONTENT_LAYERS, key=CONV_LAYERS.index)
    return STEP_OVERHEAD + (1 - STEP_OVERHEAD) * multiply_adds_per_pixel(deepest) / multiply_adds_per_pixel(full)


def check_layers(layer_names, allow_empty: bool = False) -> list[str]:
    """Return the names as a list, or raise ValueError listing the valid VGG19 layer names."""
    if isinstance(layer_names, str):
        layer_names = [layer_names]
    layer_names = list(layer_names)
    unknown = [n for n in layer_names if n not in ALL_LAYERS]
    if unknown:
        raise ValueError(f"unknown VGG19 layer(s) {unknown}; valid names are: {', '.join(ALL_LAYERS)}")
    if not layer_names and not allow_empty:
        raise ValueError("at least one layer name is needed")
    return layer_names


def vgg_layers(layer_names, weights="auto", pooling: str = "max", precision: str = "float32") -> tf.keras.Model:
    """A model from preprocessed images to the outputs of `layer_names`; it stops at the deepest one needed."""
    layer_names = check_layers(layer_names)
    base = load_vgg19(weights, pooling, precision)
    outputs = [base.get_layer(name).output for name in layer_names]
    model = tf.keras.Model(base.input, outputs)
    model.trainable = False
    return model


class StyleContentModel(tf.keras.models.Model):
    """Maps an image in [0, 1] to {'style': {layer: Gram [B, C, C]}, 'content': {layer: features [B, h, w, C]}}."""

    def __init__(self, style_layers=None, content_layers=None, weights="auto", pooling: str = "max",
                 precision: str = "float32", recompute: bool = False, tile_rows: int | None = None):
        super().__init__()
        # Either list may be empty (a loss without that term); the network stops at the deepest layer still needed.
        self.style_layers = check_layers(STYLE_LAYERS if style_layers is None else style_layers, allow_empty=True)
        self.content_layers = check_layers(CONTENT_LAYERS if content_layers is None else content_layers, allow_empty=True)
        self.weights_kind = resolve_weights(weights)[0]
        self.pooling = pooling
        # The network runs in `precision`; its features are cast to float32 before any loss is computed.
        self.precision = check_precision(precision)
        # recompute=True keeps only each block's input for the backward pass and recomputes the rest (less memory, more time).
        self.recompute = bool(recompute)
        names = self.style_layers + self.content_layers
        self.vgg = vgg_layers(names, weights, pooling, precision) if names else None
        self.num_style_layers = len(self.style_layers)
        self.deepest_layer = max(names, key=ALL_LAYERS.index) if names else None
        self._blocks = _recomputed_blocks(self.vgg, names) if (self.recompute and names) else None
        # tile_rows=N runs the first blocks in stripes of about N image rows (less memory, the same outputs); see Stripes.
        if tile_rows is not None and self.recompute:
            raise ValueError("recompute and tile_rows do not combine: stripes already keep only one stripe's activations")
        self._stripes = Stripes(self.vgg, names, tile_rows) if (tile_rows is not None and names) else None
        self.tile_rows = None if self._stripes is None else self._stripes.tile_rows

    def call(self, inputs):
        """Expects [B, H, W, 3] float in [0, 1]."""
        if self._stripes is not None:
            return self._stripes.outputs(inputs, self.style_layers, self.content_layers, self.precision)
        found = self.features(inputs)
        return {"content": found["content"], "style": {name: gram_matrix(out) for name, out in found["style"].items()}}

    def features(self, inputs):
        """{'style': {layer: features [B, h, w, C]}, 'content': {layer: features}} in float32, before any Gram matrix."""
        if self._stripes is not None:
            raise ValueError("features() needs whole feature maps, which a model with tile_rows never holds; use tile_rows=None")
        if self.vgg is None:
            return {"content": {}, "style": {}}
        x = preprocess(inputs)
        if self.precision != "float32":
            x = tf.cast(x, self.precision)
        if self._blocks is not None:
            outputs = _run_blocks(self._blocks, x, self.style_layers + self.content_layers)
        else:
            outputs = self.vgg(x)
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
        outputs = [tf.cast(out, tf.float32) for out in outputs]  # the losses are always computed in float32
        style_outputs = outputs[: self.num_style_layers]
        content_outputs = outputs[self.num_style_layers :]
        return {"content": dict(zip(self.content_layers, content_outputs)), "style": dict(zip(self.style_layers, style_outputs))}

    def loss_and_grads(self, image, loss_fn):
        """(total, parts, d total / d image) of loss_fn(outputs) -> (total, parts), outputs being this model's of `image`.

        loss_fn may also use `image` itself (e.g. total variation): the image is watched too. With tile_rows the
        result is the same to float rounding, computed stripe by stripe (Stripes.loss_and_grads).
        """
        image = tf.convert_to_tensor(image, tf.float32)
        if self._stripes is not None:
            return self._stripes.loss_and_grads(image, loss_fn, self.style_layers, self.content_layers, self.precision)
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, parts = loss_fn(self(image))
        grad = tape.gradient(total, image)
        return total, parts, tf.zeros_like(image) if grad is None else grad


def _recomputed_blocks(model: tf.keras.Model, names) -> list:
    """VGG19's layers grouped by block: (a tf.recompute_grad function returning [block output, *tapped outputs], tapped names)."""
    blocks: dict[str, list] = {}
    for layer in model.layers:
        if layer.name.startswith("block"):
            blocks.setdefault(layer.name.split("_")[0], []).append(layer)
    functions = []
    for layers in blocks.values():
        tapped = [layer.name for layer in layers if layer.name in names]

        def block(x, layers=layers, tapped=tapped):
            outputs = {}
            for layer in layers:
                x = layer(x)
                if layer.name in tapped:
                    outputs[layer.name] = x
            return [x] + [outputs[name] for name in tapped]

        functions.append((tf.recompute_grad(block), tapped))
    return functions


def _run_blocks(blocks, x, names) -> list:
    """Run the recomputed blocks in order; return the outputs of `names` in that order."""
    found = {}
    for block, tapped in blocks:
        x, *outs = block(x)
        found.update(zip(tapped, outs))
    return [found[name] for name in names]


#: Stripes run VGG19 in stripes up to this layer: blocks 1 and 2, whose full-resolution activations hold most of an
#: evaluation's memory (benchmarks/RESULTS.md, section 4); the rest runs on the whole, 4x smaller, feature map.
STRIPED_THROUGH = "block2_pool"


class Stripes:
    """VGG19's first blocks run on horizontal stripes of the image, with the same outputs as the whole image.

    Each stripe owns some image rows and is run with a halo of rows above and below, as wide as the first blocks'
    receptive field and a multiple of their pooling stride, so that every feature row it owns (and every max-pooling
    window) is exactly the whole image's. What the loss needs from the first blocks adds up over stripes: their Gram
    matrices are sums over locations, and content features and the feature map the later blocks start from are
    pieced together. The gradient is the loss's gradient with respect to those sums and pieces (known once every
    stripe's share is in), pushed back through each stripe in turn, so only one stripe's activations exist at a time.
    The first blocks run forward twice (once for the sums, once for their gradient).
    """

    def __init__(self, model: tf.keras.Model, names, tile_rows: int, through: str = STRIPED_THROUGH):
        layers = [layer for layer in model.layers if layer.name.startswith("block")]
        deepest = max(names, key=ALL_LAYERS.index)
        cut = min(ALL_LAYERS.index(through), ALL_LAYERS.index(deepest))
        self.early = [layer for layer in layers if ALL_LAYERS.index(layer.name) <= cut]
        self.late = [layer for layer in layers if ALL_LAYERS.index(layer.name) > cut]
        self.early_names = [n for n in names if ALL_LAYERS.index(n) <= cut]
        # Cumulative stride of every early layer's output, and the halo (in image rows) its receptive field needs.
        self.strides, stride = {}, 1
        for layer in self.early:
            if _is_pooling(layer):
                if tuple(layer.pool_size) != (2, 2) or tuple(layer.strides) != (2, 2) or layer.padding != "valid":
                    raise ValueError(f"{layer.name}: stripes need VGG19's 2x2, stride-2 pooling")
                stride *= 2
            elif tuple(layer.kernel_size) != (3, 3) or tuple(layer.strides) != (1, 1) or layer.padding != "same":
                raise ValueError(f"{layer.name}: stripes need VGG19's 3x3, stride-1, 'same' convolutions")
            self.strides[layer.name] = stride
        self.stride = stride
        margin = 0
        for layer in reversed(self.early):  # rows of context needed beyond a stripe's own, walking back to the image
            margin = 2 * margin if _is_pooling(layer) else margin + 1  # a 2x2 pooling doubles it, a 3x3 convolution adds one
        self.halo = -(-margin // stride) * stride
        if isinstance(tile_rows, bool) or not isinstance(tile_rows, (int, np.integer)) or tile_rows < 1:
            raise ValueError(f"tile_rows must be a whole number of image rows >= 1, got {tile_rows!r}")
        self.tile_rows = -(-int(tile_rows) // stride) * stride  # a multiple of the stride, so pooling windows line up

    def stripes(self, height: int) -> list[tuple[int, int, int, int]]:
        """(own start, own end, window start, window end) in image rows for an image `height` rows high."""
        starts = list(range(0, height, self.tile_rows))
        if len(starts) > 1 and height - starts[-1] < self.stride:  # a last stripe too thin to own a pooled row
            starts.pop()
        ends = starts[1:] + [height]
        return [(a, b, max(0, a - self.halo), min(height, b + self.halo)) for a, b in zip(starts, ends)]

    def _run_early(self, window, precision):
        """The early layers on one stripe's window of the image: ({tapped name: output}, the last early output)."""
        x = preprocess(window)
        if precision != "float32":
            x = tf.cast(x, precision)
        taps = {}
        for layer in self.early:
            x = layer(x)
            if layer.name in self.early_names:
                taps[layer.name] = x
        return taps, x

    def _own(self, tensor, name_or_stride, stripe):
        """The rows of an early output that a stripe owns."""
        s = name_or_stride if isinstance(name_or_stride, int) else self.strides[name_or_stride]
        a, b, w0, _ = stripe
        return tensor[:, (a - w0) // s:(a - w0) // s + (b // s - a // s)]

    def _pieces(self, image, style_names, content_names, precision):
        """The early part stripe by stripe: ({style layer: Gram}, {content layer: features}, the later blocks' input or None)."""
        height, width = image.shape[1], image.shape[2]
        if height is None or width is None:
            raise ValueError("stripes need an image of known height and width")
        sums = {n: 0.0 for n in style_names}
        contents = {n: [] for n in content_names}
        cut = []
        after = []
        for stripe in self.stripes(int(height)):
            window = _after(after, image[:, stripe[2]:stripe[3]])  # one stripe at a time, also inside a graph
            taps, last = self._run_early(window, precision)
            for n in style_names:
                f = tf.cast(self._own(taps[n], n, stripe), tf.float32)
                sums[n] = sums[n] + tf.linalg.einsum("bijc,bijd->bcd", f, f)
            for n in content_names:
                contents[n].append(tf.cast(self._own(taps[n], n, stripe), tf.float32))
            if self.late:
                cut.append(self._own(last, self.stride, stripe))
            after = [t for t in (*sums.values(), *(c[-1] for c in contents.values()), *cut[-1:]) if isinstance(t, tf.Tensor)]
        grams = {n: sums[n] / float((int(height) // self.strides[n]) * (int(width) // self.strides[n])) for n in style_names}
        return grams, {n: tf.concat(c, axis=1) for n, c in contents.items()}, (tf.concat(cut, axis=1) if self.late else None)

    def _run_late(self, x):
        """The later layers on the pieced-together feature map: {tapped name: float32 output}."""
        taps = {}
        for layer in self.late:
            x = layer(x)
            taps[layer.name] = x
        return taps

    def _assemble(self, grams, contents, cut, style_layers, content_layers):
        """StyleContentModel's outputs from the early pieces and, through the later layers, from `cut`."""
        late = self._run_late(cut) if cut is not None else {}
        style = {n: grams[n] if n in grams else gram_matrix(tf.cast(late[n], tf.float32)) for n in style_layers}
        content = {n: contents[n] if n in contents else tf.cast(late[n], tf.float32) for n in content_layers}
        return {"content": content, "style": style}

    def outputs(self, image, style_layers, content_layers, precision):
        """StyleContentModel's outputs of `image` [B, H, W, 3] in [0, 1], stripe by stripe."""
        image = tf.convert_to_tensor(image, tf.float32)
        early_style = [n for n in style_layers if n in self.early_names]
        early_content = [n for n in content_layers if n in self.early_names]
        grams, contents, cut = self._pieces(image, early_style, early_content, precision)
        return self._assemble(grams, contents, cut, style_layers, content_layers)

    def loss_and_grads(self, image, loss_fn, style_layers, content_layers, precision):
        """(total, parts, gradient) as StyleContentModel.loss_and_grads, holding one stripe's activations at a time."""
        early_style = [n for n in style_layers if n in self.early_names]
        early_content = [n for n in content_layers if n in self.early_names]
        # 1. Forward, stripe by stripe: the early Gram matrices, content features and the later blocks' input.
        grams, contents, cut = self._pieces(image, early_style, early_content, precision)
        leaves = [grams[n] for n in early_style] + [contents[n] for n in early_content] + ([cut] if cut is not None else [])
        # 2. The loss from those pieces, and its gradient with respect to each piece (and to the image itself, e.g. TV).
        with tf.GradientTape() as tape:
            tape.watch(image)
            tape.watch(leaves)
            pieces = dict(zip(early_style, leaves)), dict(zip(early_content, leaves[len(early_style):]))
            total, parts = loss_fn(self._assemble(*pieces, leaves[-1] if cut is not None else None, style_layers, content_layers))
        image_grad, *piece_grads = tape.gradient(total, [image, *leaves], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        d_grams = dict(zip(early_style, piece_grads))
        d_contents = dict(zip(early_content, piece_grads[len(early_style):]))
        d_cut = piece_grads[-1] if cut is not None else None
        # 3. Backward, stripe by stripe: the stripe's share of <dL/dpiece, piece>, differentiated through the stripe.
        height, width = int(image.shape[1]), int(image.shape[2])
        grad = image_grad
        after = [total, *piece_grads]
        for stripe in self.stripes(height):
            window = _after(after, image[:, stripe[2]:stripe[3]])
            with tf.GradientTape() as tape:
                tape.watch(window)
                taps, last = self._run_early(window, precision)
                share = tf.constant(0.0)
                for n in early_style:
                    f = tf.cast(self._own(taps[n], n, stripe), tf.float32)
                    locations = float((height // self.strides[n]) * (width // self.strides[n]))
                    share += tf.reduce_sum(d_grams[n] * tf.linalg.einsum("bijc,bijd->bcd", f, f)) / locations
                for n in early_content:
                    a, b = stripe[0] // self.strides[n], stripe[1] // self.strides[n]
                    share += tf.reduce_sum(d_contents[n][:, a:b] * tf.cast(self._own(taps[n], n, stripe), tf.float32))
                if d_cut is not None:
                    a, b = stripe[0] // self.stride, stripe[1] // self.stride
                    share += tf.reduce_sum(tf.cast(d_cut[:, a:b], tf.float32) * tf.cast(self._own(last, self.stride, stripe), tf.float32))
            piece = tape.gradient(share, window, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            grad = grad + tf.pad(piece, [[0, 0], [stripe[2], height - stripe[3]], [0, 0], [0, 0]])
            after = [piece]
        return total, parts, grad


def _is_pooling(layer) -> bool:
    """True for VGG19's pooling layers (max or average)."""
    return isinstance(layer, (tf.keras.layers.MaxPooling2D, tf.keras.layers.AveragePooling2D))


def _after(tensors, value):
    """`value`, computed only once `tensors` exist (orders the stripes inside a graph; nothing to do when eager)."""
    if not tensors or tf.executing_eagerly():
        return value
    with tf.control_dependencies(tensors):
        return tf.identity(value)
