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


def load_classifier() -> tf.keras.Model:
    """The full VGG19 with its ImageNet classifier (for the top-5 sanity check); raises OSError when unavailable."""
    cached = config.cache_dir() / "keras" / CLASSIFIER_FILE
    if not cached.exists():
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
    why = "the exact Keras file is not in the cache (make prefetch or weights='imagenet' downloads it)"
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
                 precision: str = "float32", recompute: bool = False):
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

    def call(self, inputs):
        """Expects [B, H, W, 3] float in [0, 1]."""
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
        return {
            "content": dict(zip(self.content_layers, content_outputs)),
            "style": {name: gram_matrix(out) for name, out in zip(self.style_layers, style_outputs)},
        }


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
