"""The pretrained 26-style network run in TensorFlow: agrees with onnxruntime, validates styles and blend weights."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import multistyle


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(1, 10, 13, 3)).astype(np.float32)
    return np.kron(base, np.ones((1, 4, 4, 1), np.float32))[:, :38, :51]  # blocky, 38 x 51 (not a multiple of 4)


def _onnxruntime(image_nhwc, weights):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(multistyle.model_path()), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": image_nhwc.transpose(0, 3, 1, 2), "style_weights": weights})[0]
    return out.transpose(0, 2, 3, 1)


def test_the_26_style_network_runs_and_keeps_the_shape(photo):
    out = multistyle.stylize(photo, 3).numpy()
    assert out.shape == photo.shape
    assert out.min() >= 0 and out.max() <= 1
    assert np.abs(out - photo).mean() > 0.02  # it changed the picture


def test_it_matches_onnxruntime(photo):
    image = photo[:, :36, :48]  # a multiple of 4, so no padding is involved
    for style in (0, 25, {2: 1.0, 17: 3.0}):
        weights = multistyle.style_weights(style)
        got = multistyle.stylize(image, style).numpy()
        want = np.clip(_onnxruntime(image, weights), 0, 1)
        assert np.abs(got - want).max() < 1e-3, style


def test_styles_differ_and_blends_are_normalised(photo):
    a, b = multistyle.stylize(photo, 0).numpy(), multistyle.stylize(photo, 1).numpy()
    assert np.abs(a - b).mean() > 0.02
    np.testing.assert_allclose(multistyle.stylize(photo, {0: 5.0}).numpy(), a, atol=1e-5)
    half = multistyle.stylize(photo, {0: 1.0, 1: 1.0}).numpy()
    assert np.abs(half - a).mean() > 1e-3 and np.abs(half - b).mean() > 1e-3


def test_style_weights():
    w = multistyle.style_weights({3: 1.0, 5: 3.0})
    assert w.dtype == np.float32 and w.shape == (26,)
    assert w[3] == pytest.approx(0.25) and w[5] == pytest.approx(0.75) and w.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(multistyle.style_weights(7), np.eye(26, dtype=np.float32)[7])
    np.testing.assert_allclose(multistyle.style_weights([2.0] * 26), np.full(26, 1 / 26), rtol=1e-6)


@pytest.mark.parametrize("index", [26, -1, 100])
def test_style_indices_outside_0_to_25_give_a_clear_error(index, photo):
    with pytest.raises(ValueError, match="0 to 25"):
        multistyle.style_weights(index)
    with pytest.raises(ValueError, match="0 to 25"):
        multistyle.stylize(photo, {index: 1.0})


@pytest.mark.parametrize(
    "bad, message",
    [
        ({3: -0.5, 4: 1.0}, ">= 0"),
        ({3: float("nan")}, "finite"),
        ({3: 0.0}, "positive"),
        ([0.0] * 26, "positive"),
        ([1.0] * 25, "26 values"),
        ({3: "lots"}, "not a number"),
        ({}, "empty"),
        ("3", "index"),
        (2.5, "index"),
        ({1.5: 1.0}, "integer"),
    ],
)
def test_bad_blend_weights_are_rejected(bad, message):
    with pytest.raises(multistyle.StyleWeightsError, match=message):
        multistyle.style_weights(bad)


def test_small_or_wrong_images_are_rejected():
    with pytest.raises(ValueError, match="too small"):
        multistyle.stylize(np.zeros([1, 10, 40, 3], np.float32), 0)
    with pytest.raises(ValueError, match="shape"):
        multistyle.stylize(np.zeros([1, 40, 40, 1], np.float32), 0)


def test_conditional_instance_norm_is_what_the_graph_computes(photo):
    weights = multistyle.style_weights({4: 1.0, 9: 1.0})
    graph = multistyle.load_multistyle()
    names = ["/contract.0/Conv_output_0", "/contract.0/norm/Add_1_output_0"]
    found = graph.run({"image": photo[:, :36, :48].transpose(0, 3, 1, 2), "style_weights": weights}, outputs=names)
    conv, normed = (found[n].numpy().transpose(0, 2, 3, 1) for n in names)
    gammas, betas = multistyle.norm_parameters()["contract.0"]
    assert gammas.shape == (26, 32)
    mine = multistyle.conditional_instance_norm(conv, gammas, betas, weights).numpy()
    np.testing.assert_allclose(mine, normed, atol=1e-4)


def test_parameter_counts():
    counts = multistyle.parameter_counts()
    assert counts["total"] == counts["shared"] + 26 * counts["per_style"]
    assert counts["per_style"] < 0.01 * counts["shared"]
