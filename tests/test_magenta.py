"""The offline Magenta model: fidelity to onnxruntime, any content size, clear errors, the style-vector helpers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import images, magenta


@pytest.fixture(scope="module")
def model():
    return magenta.load_magenta()


def _square(name, size):
    return tf.image.resize(images.load_img(name, max_dim=512), (size, size))


def test_fidelity_against_onnxruntime(model):
    """384x384 content, 256x256 style: mean |difference| to onnxruntime below 0.04 over the committed styles."""
    pytest.importorskip("onnxruntime")
    sessions = magenta.reference_sessions()
    content = _square("astronaut", 384)
    diffs, wrong = {}, None
    for name in images.list_examples("style"):
        style = _square(name, 256)
        diffs[name], want = magenta.onnxruntime_difference(model, content, style, sessions)
        assert want.shape == (1, 384, 384, 3)
        if wrong is None:  # a wrong network (style vector scrambled) must be far off, so this test can fail
            scrambled = tf.reverse(model.predict_style(style), axis=[-1])
            wrong = float(np.mean(np.abs(model.transfer(content, scrambled).numpy() - want)))
    # a style that is not square is resized the way the model resizes it, so both runtimes see the same input
    hubble = images.load_img("hubble", max_dim=256)
    assert hubble.shape[1] != hubble.shape[2]
    assert magenta.onnxruntime_difference(model, content, hubble, sessions)[0] < 0.06
    print("mean |TF - onnxruntime| per style:", diffs, "scrambled vector:", wrong)
    assert np.mean(list(diffs.values())) < 0.04, diffs
    assert max(diffs.values()) < 0.06, diffs
    assert wrong > 0.08


@pytest.mark.parametrize("shape", [(1000, 37), (37, 100), (33, 45), (16, 16), (64, 47)])
def test_output_has_the_content_size(model, shape):
    vector = tf.random.normal([1, 1, 1, 100], seed=0)
    content = tf.random.uniform((1, *shape, 3), seed=1)
    out = model.transfer(content, vector)
    assert out.shape == (1, *shape, 3)
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 1.0


def test_hub_style_call_and_style_resize(model):
    content = tf.random.uniform((1, 40, 56, 3), seed=2)
    style = tf.random.uniform((1, 300, 200, 3), seed=3)
    out = model(content, style)
    assert isinstance(out, list) and out[0].shape == (1, 40, 56, 3)
    v256 = model.predict_style(style)
    assert v256.shape == (1, 1, 1, 100)
    np.testing.assert_allclose(v256.numpy(), model.predict_style(tf.image.resize(style, (256, 256)), size=None).numpy(), atol=1e-5)
    assert model.predict_style(style, size=128).shape == (1, 1, 1, 100)


def test_bad_inputs_give_clear_errors(model):
    vector = tf.zeros([1, 1, 1, 100])
    with pytest.raises(magenta.MagentaError, match="at least 16"):
        model.transfer(tf.zeros((1, 8, 50, 3)), vector)
    with pytest.raises(magenta.MagentaError, match=r"\[0, 1\]"):
        model.transfer(tf.fill((1, 32, 32, 3), 200.0), vector)
    with pytest.raises(magenta.MagentaError, match="RGB"):
        model.transfer(tf.zeros((1, 32, 32, 4)), vector)
    with pytest.raises(magenta.StyleVectorError, match="shape"):
        model.transfer(tf.zeros((1, 32, 32, 3)), tf.zeros([1, 50]))
    with pytest.raises(magenta.MagentaError, match="at least 32"):
        model.predict_style(tf.zeros((1, 20, 20, 3)), size=None)


def test_gradient_flows_to_the_content():
    """The transformer in float (quantize=False) is differentiable (run eagerly here: tracing the backward pass costs ~10 s)."""
    graph = magenta.load_magenta(quantize=False).transformer
    content = tf.Variable(tf.random.uniform((1, 16, 16, 3), seed=4))
    vector = tf.random.normal([1, 1, 1, 100], seed=5)
    with tf.GradientTape() as tape:
        out = graph.run(dict(zip(graph.inputs, [content, vector])))[graph.outputs[0]]
        loss = tf.reduce_mean(out)
    grad = tape.gradient(loss, content)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0
    assert bool(tf.reduce_all(tf.math.is_finite(grad)))


def test_interpolate_and_blend():
    a, b, c = (tf.fill([1, 1, 1, 100], float(v)) for v in (0.0, 1.0, 3.0))
    np.testing.assert_allclose(magenta.interpolate(a, b, 0.25).numpy(), 0.25)
    np.testing.assert_allclose(magenta.interpolate(a, b, 0.0).numpy(), a.numpy())
    np.testing.assert_allclose(magenta.blend([a, b, c], [0.2, 0.3, 0.5]).numpy(), 1.8, rtol=1e-6)
    np.testing.assert_allclose(magenta.blend([b, c], [1, 3], normalize=True).numpy(), 2.5, rtol=1e-6)
    assert magenta.style_vector(np.zeros(100)).shape == (1, 1, 1, 100)
    with pytest.raises(magenta.StyleVectorError, match="outside"):
        magenta.interpolate(a, b, 1.5)
    with pytest.raises(magenta.StyleVectorError, match="sum to"):
        magenta.blend([a, b], [0.7, 0.7])
    with pytest.raises(magenta.StyleVectorError, match="negative"):
        magenta.blend([a, b], [1.5, -0.5])
    with pytest.raises(magenta.StyleVectorError, match="one weight per"):
        magenta.blend([a, b], [1.0])
    with pytest.raises(magenta.StyleVectorError, match="shape"):
        magenta.interpolate(a, tf.zeros([1, 1, 100, 1]), 0.5)
    with pytest.raises(magenta.StyleVectorError, match="NaN"):
        magenta.style_vector(np.full(100, np.nan))


def test_exercise_checks_accept_right_answers_and_reject_wrong_ones(capsys):
    from helpers import check

    def good_interpolate(a, b, t):
        if not 0 <= t <= 1:
            raise ValueError("t must be in [0, 1]")
        return (1 - t) * a + t * b

    assert check.interpolate(good_interpolate)
    assert not check.interpolate(lambda a, b, t: (1 - t) * a + t * b)  # no guard for t outside [0, 1]
    assert "outside [0, 1], but no ValueError" in capsys.readouterr().out
    assert not check.interpolate(lambda a, b, t: magenta.interpolate(a, b, t))  # only calls the course's helper
    assert "calls magenta.interpolate" in capsys.readouterr().out
    assert magenta.interpolate(tf.zeros([100]), tf.ones([100]), 0.5).shape == (1, 1, 1, 100)  # restored afterwards
    assert not check.interpolate(lambda a, b, t: t * a + (1 - t) * b)
    assert "t = 0 should give v1" in capsys.readouterr().out
    assert not check.interpolate(lambda a, b, t: None)
    assert "returned None" in capsys.readouterr().out

    def good_blend(vectors, weights):
        if abs(sum(weights) - 1) > 1e-6:
            raise ValueError("weights must sum to 1")
        return sum(w * v for w, v in zip(weights, vectors))

    assert check.blend(good_blend)
    assert not check.blend(lambda vs, ws: sum(w * v for w, v in zip(ws, vs)))  # no guard
    assert "no ValueError" in capsys.readouterr().out
    assert not check.blend(lambda vs, ws: vs[0])

    def exact_blend(vectors, weights):
        if sum(weights) != 1:  # no room for rounding: 0.7 + 0.2 + 0.1 != 1.0 in floats
            raise ValueError("weights must sum to 1")
        return sum(w * v for w, v in zip(weights, vectors))

    assert not check.blend(exact_blend)
    assert "rounding" in capsys.readouterr().out
    assert not check.blend(lambda vs, ws: magenta.blend(vs, ws))
    assert "calls magenta.blend" in capsys.readouterr().out

    def shifted_sum(s, divide_by_count=True):
        """The 3x3 mean from nine shifted copies (the exercise's way; tf.nn.avg_pool is hidden while the check runs)."""
        h, w = s.shape[1], s.shape[2]
        padded = tf.pad(s, [[0, 0], [1, 1], [1, 1], [0, 0]])
        ones = tf.pad(tf.ones_like(s[..., :1]), [[0, 0], [1, 1], [1, 1], [0, 0]])
        total = tf.add_n([padded[:, i : i + h, j : j + w] for i in range(3) for j in range(3)])
        count = tf.add_n([ones[:, i : i + h, j : j + w] for i in range(3) for j in range(3)])
        return total / count if divide_by_count else total / 9.0

    assert check.blur_style(shifted_sum)
    assert not check.blur_style(lambda s: shifted_sum(s, divide_by_count=False))
    assert "border" in capsys.readouterr().out
    assert not check.blur_style(lambda s: tf.nn.avg_pool(s, 3, 1, "SAME"))
    assert "calls nn.avg_pool" in capsys.readouterr().out
    assert not check.blur_style(lambda s: tf.nn.avg_pool(s, 3, 1, "VALID"))
