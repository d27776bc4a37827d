"""The Johnson-style transformation network: shapes, instance norm, data, training, saving (tiny sizes, random VGG19)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from helpers import feedforward, images

TINY = {"filters": (4, 8, 8), "num_residual": 5}


@pytest.fixture(scope="module")
def net():
    return feedforward.TransformNet(**TINY, seed=1)


@pytest.fixture(scope="module")
def photo():
    return images.load_example("cat", max_dim=48)


@pytest.mark.parametrize("shape", [(1, 16, 16), (1, 17, 23), (2, 33, 50), (1, 45, 31)])
def test_network_keeps_the_image_shape(net, shape):
    x = tf.random.uniform(shape + (3,), seed=0)
    y = net(x)
    assert tuple(y.shape) == shape + (3,)
    y = y.numpy()
    assert np.all(y >= 0) and np.all(y <= 1)


def test_network_has_five_residual_blocks_and_default_size():
    default = feedforward.TransformNet()
    assert len(default.res) == 5
    assert default.filters == feedforward.DEFAULT_FILTERS
    assert 100_000 < feedforward.count_params(default) < 1_000_000


def test_stylize_rejects_bad_input(net):
    with pytest.raises(ValueError, match="too small"):
        feedforward.stylize(net, tf.zeros([1, 8, 40, 3]))
    with pytest.raises(ValueError, match=r"\[B, H, W, 3\]"):
        feedforward.stylize(net, tf.zeros([1, 32, 32, 4]))
    assert feedforward.stylize(net, tf.zeros([20, 24, 3])).shape == (1, 20, 24, 3)


def test_instance_norm_normalises_each_image_and_channel():
    x = tf.random.normal([3, 6, 5, 4], seed=1) * tf.constant([1.0, 5.0, 0.2, 3.0]) + 7.0
    y = feedforward.instance_norm(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_instance_norm_removes_contrast_but_batch_norm_does_not():
    x = tf.random.uniform([1, 8, 8, 3], seed=2)
    pair = tf.concat([x, 0.5 + 0.2 * (x - 0.5)], axis=0)  # the same image at full and at low contrast
    inorm = feedforward.instance_norm(pair).numpy()
    bnorm = feedforward.batch_norm(pair).numpy()
    np.testing.assert_allclose(inorm[0], inorm[1], atol=1e-2)
    assert np.abs(bnorm[0] - bnorm[1]).mean() > 0.3


def test_instance_normalization_layer_matches_the_function_and_learns_scale():
    layer = feedforward.InstanceNormalization()
    x = tf.random.normal([2, 5, 7, 3], seed=3) * 4 + 1
    np.testing.assert_allclose(layer(x).numpy(), feedforward.instance_norm(x).numpy(), atol=1e-5)
    layer.gamma.assign([2.0, 1.0, 0.5])
    layer.beta.assign([1.0, 0.0, -1.0])
    want = feedforward.instance_norm(x).numpy() * [2.0, 1.0, 0.5] + [1.0, 0.0, -1.0]
    np.testing.assert_allclose(layer(x).numpy(), want, atol=1e-5)
    with pytest.raises(ValueError):
        feedforward.instance_norm(tf.zeros([4, 3]))


def test_content_batches_are_random_crops_in_range_and_reproducible(photo):
    first = next(feedforward.content_batches([photo], size=24, batch_size=3, seed=5)).numpy()
    again = next(feedforward.content_batches([photo], size=24, batch_size=3, seed=5)).numpy()
    other = next(feedforward.content_batches([photo], size=24, batch_size=3, seed=6)).numpy()
    assert first.shape == (3, 24, 24, 3)
    assert first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1e-3
    assert np.abs(first[0] - first[1]).mean() > 1e-3  # the crops differ within a batch
    with pytest.raises(ValueError):
        next(feedforward.content_batches([], size=24))


def test_a_few_training_steps_reduce_the_perceptual_loss(photo):
    net = feedforward.TransformNet(**TINY, seed=0)
    style = images.load_example("mosaic", max_dim=48)
    loss = feedforward.PerceptualLoss(style, weights="random")
    batch = next(feedforward.content_batches([photo], size=32, batch_size=2, seed=0))
    before = float(loss(net(batch), batch)[0])
    history = feedforward.train(net, style, steps=12, learning_rate=3e-3, loss=loss, batches=itertools.repeat(batch), progress=False)
    after = float(loss(net(batch), batch)[0])
    assert history["steps"] == 12 and history["stopped"] == "steps"
    assert len(history["loss"]) == len(history["seconds"]) == 12
    assert after < 0.8 * before, (before, after, history["loss"])
    assert history["precision"] == loss.extractor.precision


def test_training_with_a_bfloat16_loss_network_keeps_float32_losses(photo):
    net = feedforward.TransformNet(**TINY, seed=0)
    style = images.load_example("mosaic", max_dim=48)
    batch = next(feedforward.content_batches([photo], size=32, batch_size=1, seed=0))
    history = feedforward.train(net, style, steps=2, batches=itertools.repeat(batch), progress=False, precision="bfloat16")
    assert history["precision"] == "bfloat16" and all(np.isfinite(history["loss"]))
    assert all(v.dtype == tf.float32 for v in net.trainable_variables), "only the loss network runs in bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        feedforward.PerceptualLoss(style, precision="half")


def test_training_calls_back_stops_on_time_budget_and_validates(photo):
    net = feedforward.TransformNet(**TINY, seed=0)
    style = images.load_example("waves", max_dim=48)
    seen = []
    history = feedforward.train(
        net, style, [photo], steps=50, batch_size=1, image_size=32, time_budget=1e-6,
        preview_every=5, callback=lambda step, n, h: seen.append(step), progress=False,
    )
    assert history["stopped"] == "time budget" and history["steps"] == 1
    assert seen == [1]
    with pytest.raises(ValueError, match="steps"):
        feedforward.train(net, style, [photo], steps=0, progress=False)
    with pytest.raises(ValueError, match="time_budget"):
        feedforward.train(net, style, [photo], steps=1, time_budget=-1, progress=False)


def test_saved_weights_reload_into_identical_outputs(net, tmp_path):
    path = feedforward.save_network(net, tmp_path / "net.npz")
    again = feedforward.load_network(path)
    x = tf.random.uniform([1, 37, 29, 3], seed=4)
    np.testing.assert_array_equal(net(x).numpy(), again(x).numpy())
    fresh = feedforward.TransformNet(**TINY, seed=2)
    assert np.abs(fresh(x).numpy() - net(x).numpy()).max() > 1e-4  # a different network really differs


def test_loading_a_bad_file_gives_a_clear_error(tmp_path):
    with pytest.raises(feedforward.NetworkFileError, match="no such"):
        feedforward.load_network(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(feedforward.NetworkFileError, match="bad.npz"):
        feedforward.load_network(bad)
    with pytest.raises(ValueError, match=".npz"):
        feedforward.save_network(feedforward.TransformNet(**TINY), tmp_path / "net.h5")


def test_stage_shapes_follow_the_table(net):
    shapes = dict(net.stage_shapes(tf.zeros([1, 37, 50, 3])))
    assert shapes["input (padded to a multiple of 4)"] == (1, 40, 52, 3)
    assert shapes["in"] == (1, 40, 52, 4)
    assert shapes["downsample"] == (1, 10, 13, 8)
    assert shapes["residual"] == (1, 10, 13, 8)
    assert shapes["upsample"] == (1, 40, 52, 4)
    assert shapes["out (before sigmoid)"] == (1, 40, 52, 3)
    assert shapes["output (sigmoid, cropped back)"] == (1, 37, 50, 3)


def test_training_preview_keeps_frames_and_builds_a_strip(net, photo, capsys):
    small = photo[:, :32, :48]
    preview = feedforward.TrainingPreview(small)
    with pytest.raises(ValueError, match="no preview frames"):
        preview.strip()
    preview(0, net)
    preview(5, net, {"loss": [0.5]})
    assert [step for step, _ in preview.frames] == [0, 5]
    np.testing.assert_allclose(preview.frames[1][1].numpy(), feedforward.stylize(net, small).numpy())
    strip, steps = preview.strip(count=6, height=16)
    assert steps == [0, 5] and tuple(strip.shape) == (1, 16, 2 * 24, 3)


def test_progress_bar_counts_the_time_budget(photo, capsys):
    net = feedforward.TransformNet(**TINY, seed=0)
    style = images.load_example("waves", max_dim=48)
    history = feedforward.train(net, style, [photo], steps=50, batch_size=1, image_size=32, time_budget=1e-6, progress=True)
    assert history["stopped"] == "time budget"
    assert "s of budget" in capsys.readouterr().err
