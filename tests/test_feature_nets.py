"""helpers.feature_nets: Magenta's MobileNetV2 trunk as a style/content extractor, and transfer(network=...)."""

from __future__ import annotations

import pytest
import tensorflow as tf

from helpers import feature_nets, images, optimize


@pytest.fixture(scope="module")
def mobilenet():
    return feature_nets.MobileNetStyleContentModel()


def test_mobilenet_features_have_stylecontentmodel_shape(mobilenet):
    out = mobilenet(tf.random.uniform((1, 64, 96, 3), seed=3))
    assert list(out["style"]) == feature_nets.MOBILENET_STYLE_LAYERS
    channels = [g.shape[-1] for g in out["style"].values()]
    assert channels == [32, 96, 144, 192, 576]
    for gram in out["style"].values():
        assert gram.shape[0] == 1 and gram.shape[1] == gram.shape[2]
    (content,) = out["content"].values()
    assert content.shape == (1, 4, 6, 576)  # 1/16 of 64 x 96
    feats = mobilenet.features(tf.random.uniform((1, 64, 64, 3), seed=4))
    assert [tuple(f.shape[1:3]) for f in feats[:5]] == [(32, 32), (32, 32), (16, 16), (8, 8), (4, 4)]


def test_mobilenet_features_are_differentiable(mobilenet):
    image = tf.Variable(tf.random.uniform((1, 48, 48, 3), seed=5))
    with tf.GradientTape() as tape:
        loss = tf.add_n([tf.reduce_sum(g) for g in mobilenet(image)["style"].values()])
    grad = tape.gradient(loss, image)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match="block11_expand"):
        feature_nets.MobileNetStyleContentModel(style_layers=["nope"])


def test_transfer_with_another_extractor_lowers_its_loss(mobilenet):
    content = images.load_example("astronaut", max_dim=48)
    style = images.load_example("swirls", max_dim=48)
    result = optimize.transfer(content, style, network=mobilenet, steps=4, progress=False)
    assert result.settings["weights_kind"] == "mobilenet" and result.settings["form"] == "relative"
    assert result.settings["style_layers"] == feature_nets.MOBILENET_STYLE_LAYERS
    assert result.history["total"][-1] < 0.9 * result.history["total"][0], result.history["total"]
    assert result.image.shape == content.shape


def test_transfer_refuses_an_extractor_without_layers():
    content = images.load_example("astronaut", max_dim=48)
    with pytest.raises(optimize.TransferError, match="network = .*neither an optimize.Network nor a feature extractor"):
        optimize.transfer(content, content, network=lambda image: {}, steps=1, progress=False)
