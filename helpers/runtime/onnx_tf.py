"""Run an ONNX graph with TensorFlow ops: any spatial size, no onnxruntime (differentiable with quantize=False).

The graph is read with the `onnx` package and interpreted node by node with TensorFlow ops.

    graph = OnnxGraph("multistyle26.onnx")
    graph.inputs            # ['image', 'style_weights']
    graph.outputs           # ['stylized']
    out = graph(image=x, style_weights=w)      # {'stylized': tf.Tensor}
    out = graph.run({"image": x, "style_weights": w}, outputs=["/contract.0/Relu_output_0"])  # any tensor, eagerly
    outs = graph.call_list(x, w)  # inside your own tf.function: inputs in order -> list of outputs in order

Behaviour worth knowing:
- Tensors keep ONNX semantics (NCHW for images), but 4-D activations are stored channels-last inside, because
  TensorFlow's CPU convolutions want NHWC; the layout is converted only where an op needs it.
- Nodes whose inputs are all constants (weight dequantisation, padding arithmetic) are folded once, at load time.
- QuantizeLinear/DequantizeLinear pairs on activations are emulated (round and clip to the integer grid) when
  `quantize=True`, for inference; `quantize=False` skips them and runs in float, which is what to differentiate
  (the MobileNetV2 feature extractor of notebook 03 does). Weights stored as integers are dequantised once, at load time.
- `graph(**feeds)` runs through a `tf.function` whose input shapes are left open, so any size traces once per rank.
- `OnnxGraph` is a `tf.Module`: its weights are non-trainable variables, so it can be saved with `tf.saved_model.save`.
- An op the interpreter does not know is reported at load time: `UnsupportedOnnxError` names it and its node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import tensorflow as tf
from onnx import helper, numpy_helper

__all__ = ["OnnxGraph", "OnnxGraphError", "UnsupportedOnnxError", "SUPPORTED_OPS", "op_types"]


class OnnxGraphError(ValueError):
    """A graph cannot be loaded or run (missing file, wrong feeds, unsupported attribute)."""


class UnsupportedOnnxError(OnnxGraphError):
    """The graph uses an op (or an op setting) that this interpreter does not implement."""


# Ops that move values around without computing new ones.
_LAYOUT_ONLY = {"Pad", "Transpose", "Reshape", "Identity", "Slice", "Concat", "Squeeze", "Unsqueeze", "Flatten", "Resize"}
# Logical NCHW axis -> axis in the channels-last storage, and back.
_TO_STORED = (0, 3, 1, 2)
_TO_LOGICAL = (0, 2, 3, 1)
_INT_RANGE = {np.dtype("uint8"): (0, 255), np.dtype("int8"): (-128, 127), np.dtype("int32"): (-(2**31), 2**31 - 1)}
_TF_DTYPE = {
    onnx.TensorProto.FLOAT: tf.float32,
    onnx.TensorProto.DOUBLE: tf.float64,
    onnx.TensorProto.FLOAT16: tf.float16,
    onnx.TensorProto.INT64: tf.int64,
    onnx.TensorProto.INT32: tf.int32,
    onnx.TensorProto.INT8: tf.int8,
    onnx.TensorProto.UINT8: tf.uint8,
    onnx.TensorProto.BOOL: tf.bool,
}


@dataclass
class _Q:
    """Quantisation of a QuantizeLinear output: scale, zero point and integer dtype (numpy)."""

    scale: np.ndarray
    zero_point: np.ndarray
    dtype: np.dtype


@dataclass
class _V:
    """A value in the interpreter: `t` holds the data; `nhwc` marks a 4-D tensor stored channels-last;
    `q` marks a QuantizeLinear output whose `t` holds the (fake-)quantised real values, not the integers."""

    t: object
    nhwc: bool = False
    q: _Q | None = None


def _is_const(v) -> bool:
    """True when `v` holds a numpy constant."""
    return v is not None and isinstance(v.t, np.ndarray)


def _rank(v) -> int:
    """The logical rank of a value."""
    return len(v.t.shape)


def _materialize_ints(v: _V):
    """The integer tensor that a quantised value stands for (ONNX layout)."""
    q = v.q
    x = _plain_real(_V(v.t, v.nhwc))
    lo, hi = _INT_RANGE[q.dtype]
    ints = tf.clip_by_value(tf.round(x / q.scale) + q.zero_point.astype(np.float32), lo, hi)
    return tf.cast(ints, tf.as_dtype(q.dtype))


def _plain_real(v: _V):
    """The data of `v` in ONNX layout, without looking at quantisation."""
    if not v.nhwc:
        return v.t
    if isinstance(v.t, np.ndarray):
        return np.transpose(v.t, _TO_STORED)
    return tf.transpose(v.t, _TO_STORED)


def _plain(v: _V):
    """The tensor that `v` stands for, in ONNX (NCHW) layout; quantised values become their integers."""
    if v.q is not None:
        return _materialize_ints(v)
    return _plain_real(v)


def _cl(v: _V):
    """The 4-D tensor of `v` stored channels-last (real values)."""
    if v.nhwc:
        return v.t
    x = v.t
    if isinstance(x, np.ndarray):
        x = x.reshape((1,) * (4 - x.ndim) + x.shape) if x.ndim < 4 else x
        return np.ascontiguousarray(np.transpose(x, _TO_LOGICAL))
    if len(x.shape) < 4:
        x = tf.reshape(x, tf.concat([tf.ones([4 - len(x.shape)], tf.int32), tf.shape(x)], 0))
    return tf.transpose(x, _TO_LOGICAL)


def _ints(values) -> list[int]:
    """A constant input (numpy) as a list of Python ints."""
    if not isinstance(values, np.ndarray):
        raise UnsupportedOnnxError("this input must be a constant in the graph (it is computed at run time)")
    return [int(x) for x in np.asarray(values).reshape(-1)]


class OnnxGraph(tf.Module):
    """An ONNX graph run with TensorFlow ops; call with named feeds, get {output name: tf.Tensor}."""

    def __init__(self, path, *, quantize: bool = True, name: str | None = None):
        path = Path(path)
        if not path.is_file():
            raise OnnxGraphError(f"ONNX file not found: {path}")
        super().__init__(name=name or ("onnx_" + "".join(c if c.isalnum() else "_" for c in path.stem)))
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # noqa: BLE001 - any parse error becomes one clear message
            raise OnnxGraphError(f"{path} is not a readable ONNX model ({exc})") from exc
        self.path = str(path)
        self.quantize = bool(quantize)
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=13)
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node if n.domain not in ("", "ai.onnx") or n.op_type not in _OPS})
        if unsupported:
            raise UnsupportedOnnxError(f"{path.name} uses ops this interpreter does not implement: {', '.join(unsupported)}")
        init_names = {i.name for i in graph.initializer}
        self.inputs = tuple(i.name for i in graph.input if i.name not in init_names)
        self.outputs = tuple(o.name for o in graph.output)
        specs = {}
        for i in graph.input:
            if i.name in init_names:
                continue
            tt = i.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            specs[i.name] = (dims, _TF_DTYPE.get(tt.elem_type, tf.float32))
        self._plan = SimpleNamespace(specs=specs, nodes=[], consts={}, prepared={}, fn=None, near_inputs=set())

        # Constants: initializers and Constant nodes; then fold every node whose inputs are all constant.
        consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self._folding = True
        for node in graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            ins = [n for n in node.input if n]
            if all(n in consts for n in ins):
                env = {n: _V(consts[n]) for n in ins}
                outs = self._eval_node(node, attrs, env)
                for name, v in zip(node.output, outs):
                    consts[name] = np.asarray(_plain(v))
            else:
                self._plan.nodes.append((node, attrs))
        self._folding = False

        # Tensors that are graph inputs up to layout-only ops (their quantisation rounds ties exactly, see _fake_quant).
        near = set(self.inputs)
        for node, _ in self._plan.nodes:
            if node.op_type in _LAYOUT_ONLY and node.input and node.input[0] in near:
                near.update(node.output)
        self._plan.near_inputs = near

        # Keep only constants the remaining nodes read; big ones become (non-trainable) variables.
        used = {n for node, _ in self._plan.nodes for n in node.input if n}
        used |= {o for o in self.outputs if o in consts}
        self._plan.consts = {k: v for k, v in consts.items() if k in used}
        self._vars = []
        for node, attrs in self._plan.nodes:
            if node.op_type == "Conv" and node.input[1] in self._plan.consts:
                self._prepare_conv(node, attrs)

    # ----------------------------------------------------------------- public API
    def __call__(self, **feeds) -> dict:
        """Run the graph on named feeds (arrays or tensors) through a tf.function; return {output: tf.Tensor}."""
        args = self._feed_list(feeds)
        if self._plan.fn is None:
            sig = [tf.TensorSpec([None] * len(self._plan.specs[n][0]), self._plan.specs[n][1], name=_safe(n)) for n in self.inputs]
            self._plan.fn = tf.function(self.call_list, input_signature=sig, autograph=False)
        outs = self._plan.fn(*args)
        return dict(zip(self.outputs, outs))

    def run(self, feeds: dict, outputs=None) -> dict:
        """Run eagerly (no tf.function) and return the named tensors (`outputs` may name any tensor in the graph)."""
        args = self._feed_list(feeds)
        env = self._execute(dict(zip(self.inputs, args)), outputs or self.outputs)
        return {n: tf.convert_to_tensor(env[n]) for n in (outputs or self.outputs)}

    def op_counts(self) -> dict:
        """How many nodes of each op type are evaluated at run time (after constant folding)."""
        counts: dict[str, int] = {}
        for node, _ in self._plan.nodes:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        return counts

    # ----------------------------------------------------------------- execution
    def _feed_list(self, feeds):
        """Check the feeds against the graph's inputs and convert them to tensors, in input order."""
        missing = [n for n in self.inputs if n not in feeds]
        extra = [n for n in feeds if n not in self.inputs]
        if missing or extra:
            raise OnnxGraphError(
                f"{Path(self.path).name}: feeds must be exactly {self.inputs}; missing {missing or 'none'}, unknown {extra or 'none'}"
            )
        args = []
        for n in self.inputs:
            dims, dtype = self._plan.specs[n]
            x = tf.convert_to_tensor(feeds[n])
            if x.dtype != dtype:
                x = tf.cast(x, dtype)
            if len(x.shape) != len(dims):
                raise OnnxGraphError(f"input '{n}' must have rank {len(dims)} (declared shape {dims}); got shape {list(x.shape)}")
            args.append(x)
        return args

    def call_list(self, *args):
        """Run on tensors given in `inputs` order; return outputs in `outputs` order (no tf.function: for use inside one)."""
        env = self._execute(dict(zip(self.inputs, args)), self.outputs)
        return [env[n] for n in self.outputs]

    def _execute(self, feeds, wanted):
        """Evaluate the non-constant nodes in order; return {name: tensor in ONNX layout} for `wanted`."""
        env = {n: _V(t) for n, t in feeds.items()}
        for name, value in self._plan.consts.items():
            env[name] = _V(value)
        for node, attrs in self._plan.nodes:
            try:
                outs = self._eval_node(node, attrs, env)
            except OnnxGraphError:
                raise
            except (ValueError, TypeError, tf.errors.InvalidArgumentError) as exc:
                raise OnnxGraphError(f"node '{node.name}' ({node.op_type}) failed: {exc}") from exc
            for name, v in zip(node.output, outs):
                env[name] = v
        result = {}
        for n in wanted:
            if n not in env:
                raise OnnxGraphError(f"no tensor named '{n}' in {Path(self.path).name}")
            result[n] = tf.convert_to_tensor(_plain(env[n]))
        return result

    def _eval_node(self, node, attrs, env):
        """Evaluate one node; returns a list of values, one per output."""
        ins = [env[n] if n else None for n in node.input]
        out = _OPS[node.op_type](self, node, attrs, ins)
        outs = out if isinstance(out, list) else [out]
        if self._folding:
            outs = [_V(_fold(v.t), v.nhwc, v.q) for v in outs]
        return outs

    # ----------------------------------------------------------------- convolution weights
    def _prepare_conv(self, node, attrs):
        """Turn a constant ONNX kernel [O, I/g, kh, kw] into TF form once, as variables."""
        w = self._plan.consts[node.input[1]].astype(np.float32)
        group = int(attrs.get("group", 1))
        out_ch, in_per_group = w.shape[0], w.shape[1]
        bias = None
        if len(node.input) > 2 and node.input[2] and node.input[2] in self._plan.consts:
            bias = tf.Variable(self._plan.consts[node.input[2]].astype(np.float32), trainable=False, name="bias")
        if group == 1:
            kernel = tf.Variable(np.transpose(w, (2, 3, 1, 0)), trainable=False, name="kernel")
            kind = "conv"
        elif in_per_group == 1:  # depthwise: output o = channel * multiplier + m
            mult = out_ch // group
            kernel = tf.Variable(np.transpose(w.reshape(group, mult, *w.shape[2:]), (2, 3, 0, 1)), trainable=False, name="dw_kernel")
            kind = "depthwise"
        else:
            kernel = tf.Variable(np.transpose(w, (2, 3, 1, 0)), trainable=False, name="group_kernel")
            kind = "grouped"
        self._vars.extend(v for v in (kernel, bias) if v is not None)
        self._plan.prepared[node.name or node.output[0]] = (kind, kernel, bias)


def _safe(name: str) -> str:
    """A name usable as a TensorSpec name."""
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name) or "x"


def _fold(t):
    """Constant folding: eager results become numpy arrays."""
    if isinstance(t, np.ndarray):
        return t
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


# =============================================================================== op implementations
# Each takes (graph, node, attrs, inputs as _V or None) and returns a _V or a list of _V.

_OPS: dict = {}


def _op(*names):
    """Register an op implementation under one or more ONNX op types."""

    def deco(fn):
        for n in names:
            _OPS[n] = fn
        return fn

    return deco


def _align(a: _V, b: _V):
    """Bring two operands to a common layout for broadcasting; returns (x, y)."""
    if (a.nhwc and _rank(a) == 4) or (b.nhwc and _rank(b) == 4):
        return _cl(a), _cl(b)
    return _plain_real(a), _plain_real(b)


def _binary(np_fn, tf_fn):
    """An elementwise binary op with ONNX broadcasting."""

    def impl(g, node, attrs, ins):
        a, b = ins
        x, y = _align(a, b)
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            return _V(np_fn(x, y), a.nhwc or b.nhwc)
        if isinstance(x, np.ndarray):
            x = tf.constant(x.astype(y.dtype.as_numpy_dtype) if hasattr(y, "dtype") else x)
        if isinstance(y, np.ndarray):
            y = tf.constant(y.astype(x.dtype.as_numpy_dtype))
        nhwc = (a.nhwc and _rank(a) == 4) or (b.nhwc and _rank(b) == 4)
        return _V(tf_fn(x, y), nhwc)

    return impl


_op("Add")(_binary(np.add, tf.add))
_op("Sub")(_binary(np.subtract, tf.subtract))
_op("Mul")(_binary(np.multiply, tf.multiply))
_op("Max")(_binary(np.maximum, tf.maximum))
_op("Min")(_binary(np.minimum, tf.minimum))


@_op("Div")
def _div(g, node, attrs, ins):
    a, b = ins
    x, y = _align(a, b)
    nhwc = (a.nhwc and _rank(a) == 4) or (b.nhwc and _rank(b) == 4)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        out = x // y if np.issubdtype(x.dtype, np.integer) else x / y
        return _V(out.astype(x.dtype), nhwc)
    if isinstance(x, np.ndarray) and x.size == 1 and float(x.reshape(-1)[0]) == 1.0:
        return _V(tf.math.reciprocal(y), nhwc)
    if isinstance(y, np.ndarray):
        y = tf.constant(y.astype(x.dtype.as_numpy_dtype))
    if isinstance(x, np.ndarray):
        x = tf.constant(x.astype(y.dtype.as_numpy_dtype))
    if x.dtype.is_integer:
        return _V(tf.math.floordiv(x, y), nhwc)
    return _V(tf.math.divide(x, y), nhwc)


@_op("Pow")
def _pow(g, node, attrs, ins):
    a, b = ins
    if _is_const(b) and b.t.size == 1 and not _is_const(a):
        e = float(b.t.reshape(-1)[0])
        if e == 2.0:
            return _V(tf.square(a.t), a.nhwc)
        if e == 0.5:
            return _V(tf.sqrt(a.t), a.nhwc)
        if e == 1.0:
            return _V(a.t, a.nhwc)
    x, y = _align(a, b)
    nhwc = (a.nhwc and _rank(a) == 4) or (b.nhwc and _rank(b) == 4)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return _V(np.power(x, y).astype(x.dtype), nhwc)
    if isinstance(y, np.ndarray):
        y = tf.constant(y.astype(x.dtype.as_numpy_dtype))
    if isinstance(x, np.ndarray):
        x = tf.constant(x.astype(y.dtype.as_numpy_dtype))
    return _V(tf.pow(x, y), nhwc)


def _unary(np_fn, tf_fn):
    """An elementwise unary op (layout does not matter)."""

    def impl(g, node, attrs, ins):
        (a,) = ins[:1]
        if isinstance(a.t, np.ndarray):
            return _V(np.asarray(np_fn(a.t)).astype(a.t.dtype), a.nhwc)
        return _V(tf_fn(a.t), a.nhwc)

    return impl


def _np_sigmoid(x):
    """Logistic function in numpy."""
    return 1.0 / (1.0 + np.exp(-x))


def _np_erf(x):
    """erf for folding (through TensorFlow, which has it)."""
    return tf.math.erf(x).numpy()


_op("Relu")(_unary(lambda x: np.maximum(x, 0), tf.nn.relu))
_op("Sigmoid")(_unary(_np_sigmoid, tf.sigmoid))
_op("Tanh")(_unary(np.tanh, tf.tanh))
_op("Sqrt")(_unary(np.sqrt, tf.sqrt))
_op("Reciprocal")(_unary(lambda x: 1.0 / x, tf.math.reciprocal))
_op("Exp")(_unary(np.exp, tf.exp))
_op("Log")(_unary(np.log, tf.math.log))
_op("Neg")(_unary(np.negative, tf.negative))
_op("Abs")(_unary(np.abs, tf.abs))
_op("Floor")(_unary(np.floor, tf.floor))
_op("Ceil")(_unary(np.ceil, tf.math.ceil))
_op("Erf")(_unary(_np_erf, tf.math.erf))
_op("Identity")(lambda g, node, attrs, ins: ins[0])


@_op("LeakyRelu")
def _leaky_relu(g, node, attrs, ins):
    alpha = float(attrs.get("alpha", 0.01))
    a = ins[0]
    if isinstance(a.t, np.ndarray):
        return _V(np.where(a.t > 0, a.t, alpha * a.t).astype(a.t.dtype), a.nhwc)
    return _V(tf.nn.leaky_relu(a.t, alpha), a.nhwc)


@_op("Clip")
def _clip(g, node, attrs, ins):
    a = ins[0]
    lo = attrs.get("min")
    hi = attrs.get("max")
    if len(ins) > 1 and ins[1] is not None:
        lo = ins[1].t
    if len(ins) > 2 and ins[2] is not None:
        hi = ins[2].t
    if isinstance(a.t, np.ndarray):
        return _V(np.clip(a.t, lo, hi).astype(a.t.dtype), a.nhwc)

    def bound(b):
        return float(np.asarray(b).reshape(-1)[0]) if isinstance(b, (np.ndarray, float, int)) else b

    lo_c, hi_c = bound(lo), bound(hi)
    if lo_c == 0.0 and hi_c == 6.0:
        return _V(tf.nn.relu6(a.t), a.nhwc)
    x = a.t
    if lo_c is not None:
        x = tf.maximum(x, tf.cast(lo_c, x.dtype))
    if hi_c is not None:
        x = tf.minimum(x, tf.cast(hi_c, x.dtype))
    return _V(x, a.nhwc)


@_op("Cast")
def _cast(g, node, attrs, ins):
    a = ins[0]
    dtype = _TF_DTYPE.get(int(attrs["to"]))
    if dtype is None:
        raise UnsupportedOnnxError(f"Cast to ONNX type {attrs['to']} is not supported")
    if isinstance(a.t, np.ndarray):
        return _V(a.t.astype(dtype.as_numpy_dtype), a.nhwc)
    return _V(tf.cast(a.t, dtype), a.nhwc)


@_op("Constant")
def _constant(g, node, attrs, ins):
    if "value" in attrs:
        return _V(numpy_helper.to_array(attrs["value"]))
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64), ("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return _V(np.asarray(attrs[key], dtype=dtype))
    raise UnsupportedOnnxError(f"Constant node '{node.name}' has no supported value attribute")


@_op("ConstantOfShape")
def _constant_of_shape(g, node, attrs, ins):
    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros([1], np.float32)
    shape = ins[0].t
    if isinstance(shape, np.ndarray):
        return _V(np.full([int(s) for s in shape], value.reshape(-1)[0], dtype=value.dtype))
    return _V(tf.fill(shape, tf.constant(value.reshape(-1)[0])))


@_op("Shape")
def _shape(g, node, attrs, ins):
    a = ins[0]
    shape = tf.shape(a.t, out_type=tf.int64)
    if a.nhwc:
        shape = tf.gather(shape, _TO_LOGICAL)
    start, end = attrs.get("start", 0), attrs.get("end")
    return _V(shape[start:end])


@_op("Reshape")
def _reshape(g, node, attrs, ins):
    a, shape = ins
    x = _plain_real(a)
    if isinstance(shape.t, np.ndarray):
        target = [int(s) for s in shape.t]
        if 0 in target and not attrs.get("allowzero", 0):
            if isinstance(x, np.ndarray):
                target = [x.shape[i] if s == 0 else s for i, s in enumerate(target)]
            else:
                dyn = tf.shape(x)
                target = tf.stack([dyn[i] if s == 0 else tf.constant(s) for i, s in enumerate(target)])
    else:
        target = shape.t
    out = np.reshape(x, target) if isinstance(x, np.ndarray) else tf.reshape(x, target)
    return _V(out, False, a.q)


@_op("Flatten")
def _flatten(g, node, attrs, ins):
    a = ins[0]
    x = _plain_real(a)
    axis = int(attrs.get("axis", 1))
    if isinstance(x, np.ndarray):
        axis = axis % max(x.ndim, 1)
        return _V(x.reshape(int(np.prod(x.shape[:axis])), -1), False, a.q)
    shape = tf.shape(x)
    axis = axis % len(x.shape)
    return _V(tf.reshape(x, [tf.reduce_prod(shape[:axis]), -1]), False, a.q)


def _axes_input(attrs, ins, index):
    """Axes given as an attribute (older opsets) or as input `index` (newer ones); None when absent."""
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    if len(ins) > index and ins[index] is not None:
        return _ints(ins[index].t)
    return None


@_op("Unsqueeze")
def _unsqueeze(g, node, attrs, ins):
    a = ins[0]
    x = _plain_real(a)
    axes = _axes_input(attrs, ins, 1)
    rank = len(x.shape) + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = np.expand_dims(x, ax) if isinstance(x, np.ndarray) else tf.expand_dims(x, ax)
    return _V(x, False, a.q)


@_op("Squeeze")
def _squeeze(g, node, attrs, ins):
    a = ins[0]
    x = _plain_real(a)
    axes = _axes_input(attrs, ins, 1)
    if isinstance(x, np.ndarray):
        return _V(np.squeeze(x, axis=None if axes is None else tuple(axes)), False, a.q)
    return _V(tf.squeeze(x, axis=axes), False, a.q)


@_op("Transpose")
def _transpose(g, node, attrs, ins):
    a = ins[0]
    rank = _rank(a)
    perm = [int(p) for p in attrs.get("perm", list(range(rank))[::-1])]
    if rank == 4 and a.nhwc and perm == list(_TO_LOGICAL):
        return _V(a.t, False, a.q)  # NCHW -> NHWC of a channels-last tensor: the stored data itself
    if rank == 4 and not a.nhwc and perm == list(_TO_STORED) and not isinstance(a.t, np.ndarray):
        return _V(a.t, True, a.q)  # NHWC -> NCHW: keep the data, remember the layout
    x = _plain_real(a)
    out = np.transpose(x, perm) if isinstance(x, np.ndarray) else tf.transpose(x, perm)
    return _V(out, False, a.q)


@_op("Concat")
def _concat(g, node, attrs, ins):
    vals = [v for v in ins if v is not None]
    axis = int(attrs["axis"])
    xs = [_plain(v) for v in vals]
    if all(isinstance(x, np.ndarray) for x in xs):
        return _V(np.concatenate(xs, axis=axis))
    if all(v.nhwc and _rank(v) == 4 for v in vals):
        return _V(tf.concat([v.t for v in vals], axis=_TO_STORED[axis % 4]), True)
    return _V(tf.concat(xs, axis=axis))


@_op("Slice")
def _slice(g, node, attrs, ins):
    a = ins[0]
    x = _plain(a)
    if "starts" in attrs:  # opset < 10
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(ins[1].t), _ints(ins[2].t)
        axes = _ints(ins[3].t) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(ins[4].t) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    rank = len(x.shape)
    index = [slice(None)] * rank
    big = 2**62
    for s, e, ax, st in zip(starts, ends, axes, steps):
        s = None if (st > 0 and s <= -big) or (st < 0 and s >= big) else s
        e = None if abs(e) >= big else e
        index[ax % rank] = slice(s, e, st)
    return _V(x[tuple(index)])


@_op("Gather")
def _gather(g, node, attrs, ins):
    a, idx = ins
    x = _plain(a)
    axis = int(attrs.get("axis", 0))
    if isinstance(x, np.ndarray) and isinstance(idx.t, np.ndarray):
        return _V(np.take(x, idx.t, axis=axis))
    return _V(tf.gather(x, idx.t, axis=axis))


def _reduce(np_fn, tf_fn):
    """A Reduce* op, aware of channels-last storage."""

    def impl(g, node, attrs, ins):
        a = ins[0]
        keep = bool(attrs.get("keepdims", 1))
        axes = _axes_input(attrs, ins, 1)
        rank = _rank(a)
        if axes is None or len(axes) == 0:
            if attrs.get("noop_with_empty_axes", 0):
                return a
            axes = list(range(rank))
        axes = sorted(ax % rank for ax in axes)
        if isinstance(a.t, np.ndarray):
            x = _plain(a)
            return _V(np.asarray(np_fn(x, axis=tuple(axes), keepdims=keep)).astype(x.dtype))
        if a.nhwc and rank == 4:
            stored = [_TO_STORED[ax] for ax in axes]
            if keep:
                return _V(tf_fn(a.t, axis=stored, keepdims=True), True)
            out = tf_fn(a.t, axis=stored, keepdims=False)
            remaining = [_TO_LOGICAL[s] for s in range(4) if s not in stored]  # logical axes in stored order
            order = sorted(range(len(remaining)), key=lambda i: remaining[i])
            if order != list(range(len(remaining))):
                out = tf.transpose(out, order)
            return _V(out)
        return _V(tf_fn(_plain(a), axis=axes, keepdims=keep))

    return impl


_op("ReduceMean")(_reduce(np.mean, tf.reduce_mean))
_op("ReduceSum")(_reduce(np.sum, tf.reduce_sum))
_op("ReduceMax")(_reduce(np.max, tf.reduce_max))
_op("ReduceMin")(_reduce(np.min, tf.reduce_min))


@_op("GlobalAveragePool")
def _global_average_pool(g, node, attrs, ins):
    a = ins[0]
    if a.nhwc:
        return _V(tf.reduce_mean(a.t, axis=[1, 2], keepdims=True), True)
    x = _plain(a)
    axes = list(range(2, len(x.shape)))
    if isinstance(x, np.ndarray):
        return _V(x.mean(axis=tuple(axes), keepdims=True))
    return _V(tf.reduce_mean(x, axis=axes, keepdims=True))


@_op("Softmax")
def _softmax(g, node, attrs, ins):
    x = _plain(ins[0])
    return _V(tf.nn.softmax(x, axis=int(attrs.get("axis", -1))))


@_op("MatMul")
def _matmul(g, node, attrs, ins):
    a, b = (_plain(v) for v in ins)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return _V(np.matmul(a, b))
    return _V(tf.linalg.matmul(a, b))


@_op("Gemm")
def _gemm(g, node, attrs, ins):
    a, b = _plain(ins[0]), _plain(ins[1])
    y = float(attrs.get("alpha", 1.0)) * tf.linalg.matmul(
        a, b, transpose_a=bool(attrs.get("transA", 0)), transpose_b=bool(attrs.get("transB", 0))
    )
    if len(ins) > 2 and ins[2] is not None:
        y = y + float(attrs.get("beta", 1.0)) * _plain(ins[2])
    return _V(y)


@_op("Conv")
def _conv(g, node, attrs, ins):
    a = ins[0]
    if _rank(a) != 4:
        raise UnsupportedOnnxError(f"Conv '{node.name}': only 2-D convolutions (4-D tensors) are supported")
    x = _cl(a)
    if isinstance(x, np.ndarray):
        x = tf.constant(x)
    strides = [int(s) for s in attrs.get("strides", [1, 1])]
    dil = [int(d) for d in attrs.get("dilations", [1, 1])]
    group = int(attrs.get("group", 1))
    key = node.name or node.output[0]
    if key in g._plan.prepared:
        kind, kernel, bias = g._plan.prepared[key]
    else:  # kernel computed at run time
        w = _plain(ins[1])
        kind = "conv" if group == 1 else ("depthwise" if w.shape[1] == 1 else "grouped")
        if kind == "depthwise":
            mult = w.shape[0] // group
            kernel = tf.transpose(tf.reshape(w, [group, mult, w.shape[2], w.shape[3]]), (2, 3, 0, 1))
        else:
            kernel = tf.transpose(w, (2, 3, 1, 0))
        bias = _plain(ins[2]) if len(ins) > 2 and ins[2] is not None else None
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    padding = "VALID"
    if auto_pad == "SAME_UPPER":
        padding = "SAME"  # TensorFlow's SAME puts the odd pixel at the end, like SAME_UPPER
    elif auto_pad == "SAME_LOWER":
        raise UnsupportedOnnxError(f"Conv '{node.name}': auto_pad SAME_LOWER is not supported")
    elif auto_pad != "VALID":
        pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
        if any(pads):
            x = tf.pad(x, [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]])
    if kind == "conv":
        y = tf.nn.conv2d(x, kernel, strides=[1, *strides, 1], padding=padding, dilations=[1, *dil, 1])
    elif kind == "depthwise":
        if strides[0] != strides[1]:
            raise UnsupportedOnnxError(f"Conv '{node.name}': depthwise convolution needs equal strides")
        y = tf.nn.depthwise_conv2d(x, kernel, strides=[1, *strides, 1], padding=padding, dilations=dil)
    else:
        xs = tf.split(x, group, axis=-1)
        ks = tf.split(kernel, group, axis=-1)
        y = tf.concat(
            [tf.nn.conv2d(xi, ki, strides=[1, *strides, 1], padding=padding, dilations=[1, *dil, 1]) for xi, ki in zip(xs, ks)],
            axis=-1,
        )
    if bias is not None:
        y = tf.nn.bias_add(y, bias)
    return _V(y, True)


@_op("Pad")
def _pad(g, node, attrs, ins):
    a = ins[0]
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = [int(p) for p in attrs["pads"]] if "pads" in attrs else _ints(ins[1].t)
    value = 0.0
    if len(ins) > 2 and ins[2] is not None:
        value = float(np.asarray(ins[2].t).reshape(-1)[0]) if isinstance(ins[2].t, np.ndarray) else ins[2].t
    elif "value" in attrs:
        value = float(attrs["value"])
    rank = _rank(a)
    if len(ins) > 3 and ins[3] is not None:  # opset 18: explicit axes
        axes = [ax % rank for ax in _ints(ins[3].t)]
        full = [0] * (2 * rank)
        for i, ax in enumerate(axes):
            full[ax], full[ax + rank] = pads[i], pads[i + len(axes)]
        pads = full
    if any(p < 0 for p in pads):
        raise UnsupportedOnnxError(f"Pad '{node.name}': negative pads (cropping) are not supported")
    pairs = [[pads[i], pads[i + rank]] for i in range(rank)]
    if a.nhwc and rank == 4:
        x = a.t
        pairs = [pairs[_TO_LOGICAL[s]] for s in range(4)]  # stored axis s holds logical axis _TO_LOGICAL[s]
        nhwc = True
    else:
        x = _plain(a)
        nhwc = False
    if mode == "constant":
        out = tf.pad(x, pairs, mode="CONSTANT", constant_values=value)
    elif mode == "reflect":
        out = tf.pad(x, pairs, mode="REFLECT")
    elif mode == "edge":
        out = x
        for axis, (lo, hi) in enumerate(pairs):
            if lo or hi:
                n = tf.shape(out)[axis]
                idx = tf.clip_by_value(tf.range(-lo, n + hi), 0, n - 1)
                out = tf.gather(out, idx, axis=axis)
    else:
        raise UnsupportedOnnxError(f"Pad '{node.name}': mode '{mode}' is not supported")
    return _V(out, nhwc)


@_op("Resize", "Upsample")
def _resize(g, node, attrs, ins):
    a = ins[0]
    mode = attrs.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    ctm = attrs.get("coordinate_transformation_mode", b"half_pixel")
    ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
    nearest_mode = attrs.get("nearest_mode", b"round_prefer_floor")
    nearest_mode = nearest_mode.decode() if isinstance(nearest_mode, bytes) else nearest_mode
    if node.op_type == "Upsample":
        ctm, nearest_mode = "asymmetric", "floor"
        scales_v, sizes_v = ins[1] if len(ins) > 1 else None, None
        if "scales" in attrs:
            scales_v = _V(np.asarray(attrs["scales"], np.float32))
    else:
        scales_v = ins[2] if len(ins) > 2 else None
        sizes_v = ins[3] if len(ins) > 3 else None
        if g.opset < 11:
            scales_v, sizes_v = ins[1], None
    if _rank(a) != 4:
        raise UnsupportedOnnxError(f"Resize '{node.name}': only 4-D (N, C, H, W) tensors are supported")
    x = _cl(a)
    shape = tf.shape(x)
    if sizes_v is not None and sizes_v.t is not None and np.size(sizes_v.t) > 0:
        sizes = _ints(sizes_v.t)
        if sizes[0] != int(x.shape[0] or sizes[0]) or (x.shape[3] is not None and sizes[1] != x.shape[3]):
            raise UnsupportedOnnxError(f"Resize '{node.name}': only spatial resizing is supported")
        new_size = tf.constant(sizes[2:], tf.int32)
        scale_hw = None
    else:
        scales = [float(s) for s in np.asarray(scales_v.t).reshape(-1)]
        if scales[0] != 1.0 or scales[1] != 1.0:
            raise UnsupportedOnnxError(f"Resize '{node.name}': only spatial resizing is supported (scales {scales})")
        if scales[2] == 1.0 and scales[3] == 1.0:
            return _V(x, True, a.q)
        scale_hw = scales[2:]
        new_size = tf.cast(tf.floor(tf.cast(shape[1:3], tf.float32) * tf.constant(scale_hw, tf.float32)), tf.int32)
    if mode == "nearest":
        if ctm == "asymmetric" and nearest_mode == "floor":
            if scale_hw is not None and all(s == int(s) and s >= 1 for s in scale_hw):
                sh, sw = int(scale_hw[0]), int(scale_hw[1])
                n, h, w, c = tf.unstack(shape)
                y = tf.reshape(x, [n, h, 1, w, 1, c])
                y = tf.tile(y, [1, 1, sh, 1, sw, 1])
                return _V(tf.reshape(y, [n, h * sh, w * sw, c]), True)
            return _V(tf.raw_ops.ResizeNearestNeighbor(images=x, size=new_size, align_corners=False, half_pixel_centers=False), True)
        if ctm in ("half_pixel", "pytorch_half_pixel") and nearest_mode in ("round_prefer_ceil", "round_prefer_floor"):
            return _V(tf.raw_ops.ResizeNearestNeighbor(images=x, size=new_size, align_corners=False, half_pixel_centers=True), True)
        if ctm == "align_corners":
            return _V(tf.raw_ops.ResizeNearestNeighbor(images=x, size=new_size, align_corners=True, half_pixel_centers=False), True)
    elif mode == "linear":
        if ctm in ("half_pixel", "pytorch_half_pixel"):
            return _V(tf.raw_ops.ResizeBilinear(images=x, size=new_size, align_corners=False, half_pixel_centers=True), True)
        if ctm == "align_corners":
            return _V(tf.raw_ops.ResizeBilinear(images=x, size=new_size, align_corners=True, half_pixel_centers=False), True)
        if ctm == "asymmetric":
            return _V(tf.raw_ops.ResizeBilinear(images=x, size=new_size, align_corners=False, half_pixel_centers=False), True)
    raise UnsupportedOnnxError(f"Resize '{node.name}': mode={mode}, coordinate_transformation_mode={ctm}, nearest_mode={nearest_mode}")


@_op("InstanceNormalization")
def _instance_norm(g, node, attrs, ins):
    a, scale, bias = ins
    eps = float(attrs.get("epsilon", 1e-5))
    x = _cl(a) if _rank(a) == 4 else None
    if x is None:
        raise UnsupportedOnnxError(f"InstanceNormalization '{node.name}': only 4-D tensors are supported")
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    y = (x - mean) * tf.math.rsqrt(var + eps) * _plain(scale) + _plain(bias)
    return _V(y, True)


@_op("BatchNormalization")
def _batch_norm(g, node, attrs, ins):
    a, scale, bias, mean, var = ins[:5]
    eps = float(attrs.get("epsilon", 1e-5))
    mult = _plain(scale) / np.sqrt(_plain(var) + eps) if _is_const(scale) and _is_const(var) else None
    if mult is None:
        mult = _plain(scale) * tf.math.rsqrt(_plain(var) + eps)
    shift = _plain(bias) - _plain(mean) * mult
    if a.nhwc and _rank(a) == 4:
        return _V(a.t * mult + shift, True)
    x = _plain(a)
    shape = [1, -1] + [1] * (len(x.shape) - 2)
    return _V(x * tf.reshape(mult, shape) + tf.reshape(shift, shape))


def _q_params(g, ins, axis):
    """(scale, zero point, integer dtype) of a Q/DQ node; per-axis parameters keep their vector form."""
    scale = ins[1].t
    if not isinstance(scale, np.ndarray):
        raise UnsupportedOnnxError("QuantizeLinear/DequantizeLinear need constant scales")
    if len(ins) > 2 and ins[2] is not None:
        zp = ins[2].t
        dtype = np.dtype(zp.dtype)
    else:
        zp, dtype = np.zeros_like(scale, dtype=np.uint8), np.dtype("uint8")
    return scale.astype(np.float32), zp, dtype


def _per_axis(v, rank, axis):
    """Reshape a per-axis vector so that it broadcasts along `axis` of a rank-`rank` tensor."""
    if np.size(v) == 1:
        return np.asarray(v).reshape(())
    shape = [1] * rank
    shape[axis % rank] = -1
    return np.asarray(v).reshape(shape)


def _fake_quant(x, scale: float, qmin: float, qmax: float, exact: bool):
    """DequantizeLinear(QuantizeLinear(x)) for a per-tensor scale: clip(round(x / scale), qmin, qmax) * scale, with
    qmin, qmax already shifted by the zero point.

    exact=False: one fused TensorFlow op (FakeQuantWithMinMaxArgs), which rounds ties up.
    exact=True: round half to even, as ONNX specifies; four ops. Used where ties are common: on quantised copies of
    the graph's inputs (an image resized from 8-bit values lands exactly on half steps), not deeper in the network.
    """
    if not exact and qmax - qmin in (255.0, 65535.0):
        bits = 8 if qmax - qmin == 255.0 else 16
        return tf.quantization.fake_quant_with_min_max_args(x, min=qmin * scale, max=qmax * scale, num_bits=bits)

    return tf.clip_by_value(tf.round(tf.math.divide(x, scale)), qmin, qmax) * scale


@_op("QuantizeLinear")
def _quantize(g, node, attrs, ins):
    a = ins[0]
    scale, zp, dtype = _q_params(g, ins, attrs.get("axis", 1))
    if dtype not in _INT_RANGE:
        raise UnsupportedOnnxError(f"QuantizeLinear '{node.name}': integer type {dtype} is not supported")
    lo, hi = _INT_RANGE[dtype]
    if isinstance(a.t, np.ndarray) or g._folding:  # constant: produce the real integers
        x = np.asarray(_plain(a), np.float32)
        rank = x.ndim
        axis = int(attrs.get("axis", 1))
        q = np.clip(np.rint(x / _per_axis(scale, rank, axis)) + _per_axis(zp, rank, axis).astype(np.float32), lo, hi)
        return _V(q.astype(dtype))
    qinfo = _Q(scale, zp, dtype)
    if not g.quantize:
        return _V(a.t, a.nhwc, qinfo)
    if np.size(scale) == 1:
        s, z = float(scale.reshape(-1)[0]), float(np.asarray(zp).reshape(-1)[0])
        exact = node.input[0] in g._plan.near_inputs
        return _V(_fake_quant(a.t, s, lo - z, hi - z, exact), a.nhwc, qinfo)
    # per-axis activation quantisation: round and clip
    x = _plain_real(a)
    rank = len(x.shape)
    axis = int(attrs.get("axis", 1))
    s, z = _per_axis(scale, rank, axis), _per_axis(zp, rank, axis).astype(np.float32)
    return _V((tf.clip_by_value(tf.round(x / s) + z, lo, hi) - z) * s, False, qinfo)


@_op("DequantizeLinear")
def _dequantize(g, node, attrs, ins):
    a = ins[0]
    scale, zp, dtype = _q_params(g, ins, attrs.get("axis", 1))
    axis = int(attrs.get("axis", 1))
    if a.q is not None:
        same = np.array_equal(a.q.scale, scale) and np.array_equal(np.asarray(a.q.zero_point), np.asarray(zp))
        if same:
            return _V(a.t, a.nhwc)  # the fake-quantised real values are exactly what DQ(Q(x)) gives
    x = _plain(a)
    if isinstance(x, np.ndarray):
        rank = x.ndim
        y = (x.astype(np.float32) - _per_axis(zp, rank, axis).astype(np.float32)) * _per_axis(scale, rank, axis)
        return _V(y.astype(np.float32))
    rank = len(x.shape)
    y = (tf.cast(x, tf.float32) - _per_axis(zp, rank, axis).astype(np.float32)) * _per_axis(scale, rank, axis)
    return _V(y)


#: The ONNX op types this interpreter runs.
SUPPORTED_OPS = tuple(sorted(_OPS))


def op_types(path) -> dict:
    """Count the op types in an ONNX file: {op type: number of nodes}."""
    model = onnx.load(str(path))
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
