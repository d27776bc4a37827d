"""helpers.losses: Gram matrices, the paper's and the tutorial's losses, total variation, and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import losses, vgg
from tests.refusals import refused


def _features(seed=0, shape=(1, 6, 5, 4)):
    return tf.random.stateless_normal(shape, seed=(seed, 1))


def test_gram_matches_explicit_sum():
    f = _features()
    g = losses.gram_matrix(f, normalize=False).numpy()[0]
    flat = f.numpy()[0].reshape(-1, 4)  # F^T with M = H*W rows, N = C columns
    np.testing.assert_allclose(g, flat.T @ flat, rtol=1e-5)
    gn = losses.gram_matrix(f).numpy()[0]
    np.testing.assert_allclose(gn, flat.T @ flat / 30, rtol=1e-5)


def test_gram_symmetric_positive_semidefinite():
    g = losses.gram_matrix(_features(3, (2, 9, 7, 16))).numpy()
    assert g.shape == (2, 16, 16)
    for m in g:
        np.testing.assert_allclose(m, m.T, rtol=1e-5, atol=1e-6)
        assert np.linalg.eigvalsh(m).min() > -1e-4


def test_gram_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
        losses.gram_matrix(tf.zeros((5, 4)))


def test_content_loss_forms():
    f, p = _features(1), _features(2)
    diff = (f - p).numpy()
    assert float(losses.content_loss(f, p, form="paper")) == pytest.approx(0.5 * np.sum(diff**2), rel=1e-5)
    assert float(losses.content_loss(f, p)) == pytest.approx(np.mean(diff**2), rel=1e-5)
    assert float(losses.content_loss(f, f, form="paper")) == 0.0


def test_paper_style_form_equals_raw_gram_formula():
    """E_l = 1/(4 N^2 M^2) sum (G - A)^2 with raw Gram matrices equals form='paper' on location-normalised ones."""
    f, s = _features(4, (1, 6, 5, 8)), _features(5, (1, 6, 5, 8))
    n, m = 8, 30
    g_raw, a_raw = losses.gram_matrix(f, normalize=False).numpy(), losses.gram_matrix(s, normalize=False).numpy()
    expected = np.sum((g_raw - a_raw) ** 2) / (4 * n**2 * m**2)
    got = losses.style_layer_loss(losses.gram_matrix(f), losses.gram_matrix(s), form="paper")
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_style_loss_weights_and_relative_form():
    a = {"l1": losses.gram_matrix(_features(6)), "l2": losses.gram_matrix(_features(7, (1, 3, 3, 6)))}
    b = {"l1": losses.gram_matrix(_features(8)), "l2": losses.gram_matrix(_features(9, (1, 3, 3, 6)))}
    e1 = float(losses.style_layer_loss(a["l1"], b["l1"]))
    e2 = float(losses.style_layer_loss(a["l2"], b["l2"]))
    assert float(losses.style_loss(a, b)) == pytest.approx((e1 + e2) / 2, rel=1e-5)
    assert float(losses.style_loss(a, b, {"l1": 1.0, "l2": 0.0})) == pytest.approx(e1, rel=1e-5)
    assert float(losses.style_loss(a, b, [0.0, 3.0])) == pytest.approx(3 * e2, rel=1e-5)
    rel = float(losses.style_layer_loss(a["l1"], b["l1"], form="relative"))
    assert rel == pytest.approx(np.sum((a["l1"] - b["l1"]).numpy() ** 2) / np.sum(b["l1"].numpy() ** 2), rel=1e-5)
    # the relative form does not care about the features' overall scale
    scaled = float(losses.style_layer_loss(a["l1"] * 100, b["l1"] * 100, form="relative"))
    assert scaled == pytest.approx(rel, rel=1e-4)
    with pytest.raises(ValueError, match="2 style layers"):
        losses.style_loss(a, b, [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        losses.style_loss(a, b, [1.0, -1.0])
    with pytest.raises(losses.LossError, match="form = .median.: unknown form; use one of mean, paper, relative"):
        losses.style_loss(a, b, form="median")
    with pytest.raises(ValueError, match="targets have"):
        losses.style_loss(a, {"l1": b["l1"]})


def test_total_variation_matches_tf():
    img = tf.random.stateless_uniform((2, 17, 13, 3), seed=(1, 2))
    assert float(losses.total_variation_loss(img)) == pytest.approx(float(tf.reduce_sum(tf.image.total_variation(img))), rel=1e-5)
    assert float(losses.total_variation_loss(tf.ones((1, 8, 8, 3)))) == 0.0
    x, y = losses.high_pass_x_y(img)
    assert x.shape == (2, 17, 12, 3) and y.shape == (2, 16, 13, 3)


def test_style_content_loss_is_weighted_sum_with_tutorial_defaults():
    model = vgg.StyleContentModel(weights="random")
    content = tf.random.stateless_uniform((1, 48, 48, 3), seed=(3, 4))
    style = tf.random.stateless_uniform((1, 48, 48, 3), seed=(5, 6))
    s_t, c_t = model(style)["style"], model(content)["content"]
    out = model(content)
    total, parts = losses.style_content_loss(out, s_t, c_t, return_parts=True)
    assert float(parts["content"]) == pytest.approx(0.0, abs=1e-6)
    expected_style = 1e-2 * np.mean([np.mean((out["style"][k] - s_t[k]).numpy() ** 2) for k in s_t])
    assert float(parts["style"]) == pytest.approx(expected_style, rel=1e-4)
    assert float(total) == pytest.approx(float(parts["style"] + parts["content"]), rel=1e-6)


def test_gradient_finite_and_nonzero():
    model = vgg.StyleContentModel(weights="random")
    content = tf.random.stateless_uniform((1, 48, 48, 3), seed=(7, 8))
    style = tf.random.stateless_uniform((1, 48, 48, 3), seed=(9, 10))
    s_t, c_t = model(style)["style"], model(content)["content"]
    image = tf.Variable(tf.random.stateless_uniform((1, 48, 48, 3), seed=(11, 12)))
    for form in losses.FORMS:
        with tf.GradientTape() as tape:
            loss = losses.style_content_loss(model(image), s_t, c_t, form=form)
        grad = tape.gradient(loss, image).numpy()
        assert np.all(np.isfinite(grad)), form
        assert np.abs(grad).max() > 0, form


# ------------------------------------------------------------------------ guided Gram matrices (spatial control, notebook 06)


def test_guided_gram_with_a_mask_of_ones_is_the_gram_matrix():
    x = tf.random.stateless_uniform((2, 9, 7, 5), seed=(21, 22))
    np.testing.assert_allclose(losses.guided_gram_matrix(x, tf.ones((1, 9, 7, 1))).numpy(), losses.gram_matrix(x).numpy(), rtol=1e-5)


def test_guided_grams_of_complementary_masks_add_up_to_the_gram_matrix():
    """sum_ij m F F^T + sum_ij (1 - m) F F^T = sum_ij F F^T, so S_m G_m + S_(1-m) G_(1-m) = H W G with S_m = sum_ij m_ij
    (each guided Gram is divided by its own mask's sum): true for soft masks too, because the mask weights each location once."""
    x = tf.random.stateless_uniform((1, 8, 11, 4), seed=(23, 24))
    m = tf.random.stateless_uniform((1, 8, 11, 1), seed=(25, 26))  # grey values everywhere: a soft mask
    g_in, g_out = losses.guided_gram_matrix(x, m), losses.guided_gram_matrix(x, 1.0 - m)
    s_in, s_out = float(tf.reduce_sum(m)), float(tf.reduce_sum(1.0 - m))
    np.testing.assert_allclose((s_in * g_in + s_out * g_out).numpy(), (8 * 11 * losses.gram_matrix(x)).numpy(), rtol=1e-4)


def test_guided_gram_is_divided_by_the_masks_sum_not_by_the_image_size():
    """A region's guided Gram is its own mean outer product: the same features in a smaller region give the same matrix."""
    pattern = tf.random.stateless_uniform((1, 4, 4, 3), seed=(27, 28))
    x = tf.tile(pattern, [1, 4, 4, 1])  # a 16x16 map made of one 4x4 tile
    quarter = np.zeros((1, 16, 16, 1), np.float32)
    quarter[:, :4, :4] = 1.0  # one tile: a sixteenth of the map
    np.testing.assert_allclose(losses.guided_gram_matrix(x, quarter).numpy(), losses.gram_matrix(x).numpy(), rtol=1e-5)
    np.testing.assert_allclose(losses.guided_gram_matrix(x, quarter).numpy(), losses.gram_matrix(pattern).numpy(), rtol=1e-5)


def test_guided_gram_refuses_a_mask_of_another_size():
    with pytest.raises(ValueError, match="resize the mask to the layer first"):
        losses.guided_gram_matrix(tf.ones((1, 8, 8, 3)), tf.ones((1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"\[1, H, W, 1\]"):
        losses.guided_gram_matrix(tf.ones((1, 8, 8, 3)), tf.ones((1, 8, 8)))


def test_guided_style_loss_with_masks_of_ones_is_the_style_loss():
    model = vgg.StyleContentModel(weights="random")
    image = tf.random.stateless_uniform((1, 40, 56, 3), seed=(29, 30))
    style = tf.random.stateless_uniform((1, 48, 48, 3), seed=(31, 32))
    features, grams, targets = model.features(image)["style"], model(image)["style"], model(style)["style"]
    ones = {n: tf.ones((1, *f.shape[1:3], 1)) for n, f in features.items()}
    for form in losses.FORMS:
        np.testing.assert_allclose(float(losses.guided_style_loss(features, targets, ones, form=form)),
                                   float(losses.style_loss(grams, targets, form=form)), rtol=1e-4)


def test_guided_style_loss_weights_each_region_by_its_share():
    features = {"block1_conv1": tf.random.stateless_uniform((1, 8, 8, 4), seed=(33, 34))}
    target = {"block1_conv1": tf.zeros((1, 4, 4))}
    half = np.zeros((1, 8, 8, 1), np.float32)
    half[:, :, :4] = 1.0
    guided = losses.guided_style_loss(features, target, {"block1_conv1": half})
    own = losses.style_layer_loss(losses.guided_gram_matrix(features["block1_conv1"], half), target["block1_conv1"])
    assert float(guided) == pytest.approx(0.5 * float(own), rel=1e-6)


# ------------------------------------------------------------------------ refusals: the argument by name, the value, why, what to do


def _refused(name: str, call, *also: str) -> str:
    """`call` raises LossError naming `name` (see tests/refusals.py)."""
    return refused(losses.LossError, name, call, *also)


def test_gram_matrix_refuses_what_is_not_float_features():
    _refused("input_tensor", lambda: losses.gram_matrix(tf.zeros((5, 4))), "<tensor float32 of shape [5, 4]>", "rank 2, not 4", "[B, H, W, C]")
    _refused("input_tensor", lambda: losses.gram_matrix(np.zeros((1, 2, 2, 3), np.int32)), "int32 values, not floats", "tf.cast")
    _refused("input_tensor", lambda: losses.gram_matrix("block1_conv1"), "not an array of numbers")
    nan = np.ones((1, 3, 3, 2), np.float32)
    nan[0, 1, 1, 0] = np.nan
    _refused("input_tensor", lambda: losses.gram_matrix(nan), "1 of its 18 values are NaN or infinite")
    _refused("input_tensor", lambda: losses.gram_matrix(tf.zeros((1, 0, 4, 2))), "no locations")
    _refused("normalize", lambda: losses.gram_matrix(tf.ones((1, 2, 2, 1)), normalize="False"), "not True or False")
    assert issubclass(losses.LossError, ValueError)


def test_gram_matrix_checks_only_static_shapes_inside_a_graph():
    """Traced once with unknown sizes, the checks add nothing to the graph and the result is the eager one."""
    traced = tf.function(losses.gram_matrix, input_signature=[tf.TensorSpec([None, None, None, 3])])
    x = _features(5, (2, 4, 6, 3))
    np.testing.assert_allclose(traced(x).numpy(), losses.gram_matrix(x).numpy(), rtol=1e-6)
    ops = {op.type for op in traced.get_concrete_function().graph.get_operations()}
    assert not ops & {"Assert", "IsFinite", "CheckNumerics", "All"}, ops
    with pytest.raises(losses.LossError, match="rank 3, not 4"):
        tf.function(losses.gram_matrix).get_concrete_function(tf.TensorSpec([None, None, 3]))


def test_content_and_style_losses_refuse_mismatched_targets_by_name():
    f = _features(1)
    _refused("targets['content']", lambda: losses.content_loss(f, _features(2, (1, 5, 6, 4))), "does not match outputs['content']")
    _refused("targets['content']", lambda: losses.content_loss(_features(1, (2, 6, 5, 4)), _features(2, (3, 6, 5, 4))), "a batch of 3")
    assert float(losses.content_loss(_features(2, (3, 6, 5, 4)), f)) > 0  # a batch against one target: allowed
    _refused("targets", lambda: losses.content_loss({"a": f}, {"b": f}), "outputs have layers ['a'] but targets have ['b']")
    _refused("targets", lambda: losses.style_loss({"a": losses.gram_matrix(f)}, [1.0]), "outputs have layers ['a'] but targets have ['style']")
    _refused("target_grams", lambda: losses.guided_style_loss({"a": f}, [1.0], {"a": f}), "not a {layer: tensor} dict")
    g = losses.gram_matrix(f)
    _refused("target_gram", lambda: losses.style_layer_loss(g, losses.gram_matrix(_features(3, (1, 6, 5, 8)))), "[1, 8, 8]", "[1, 4, 4]")
    _refused("gram", lambda: losses.style_layer_loss(f, g), "rank 4, not 2 or 3")
    _refused("gram", lambda: losses.style_layer_loss(tf.zeros((1, 4, 3)), g), "4x3, not square")
    _refused("form", lambda: losses.content_loss(f, f, form="Paper"), "unknown form", "Did you mean 'paper'")


def test_layer_weights_are_numbers_at_or_above_zero_one_per_layer():
    a = {"l1": losses.gram_matrix(_features(6)), "l2": losses.gram_matrix(_features(7))}
    _refused("layer_weights", lambda: losses.style_loss(a, a, [1.0]), "1 layer weights given for 2 style layers")
    _refused("layer_weights", lambda: losses.style_loss(a, a, "1, 2"), "not a list or dict")
    _refused("layer_weights", lambda: losses.style_loss(a, a, {"l1": 1.0}), "no style weight given for layer(s) ['l2']")
    _refused("layer_weights['l2']", lambda: losses.style_loss(a, a, [1.0, -1.0]), "must be >= 0")
    _refused("layer_weights['l1']", lambda: losses.style_loss(a, a, [float("nan"), 1.0]), "not a finite number")
    _refused("layer_weights['l1']", lambda: losses.style_loss(a, a, ["0.5", 1.0]), "pass the number itself")
    _refused("outputs", lambda: losses.style_loss({}, {}), "no layers")


def test_total_variation_refuses_what_is_not_an_image_batch_and_computes_float64_in_float32():
    img = np.random.default_rng(0).random((1, 9, 7, 3))
    assert float(losses.total_variation_loss(tf.constant(img))) == pytest.approx(float(losses.total_variation_loss(img.astype(np.float32))), rel=1e-6)
    _refused("image", lambda: losses.total_variation_loss(img[0]), "rank 3, not 4")
    _refused("image", lambda: losses.total_variation_loss((img * 255).astype(np.uint8)), "uint8 values, not floats")
    _refused("image", lambda: losses.total_variation_loss(np.full((1, 4, 4, 3), np.inf)), "48 of its 48 values")
    _refused("image", lambda: losses.high_pass_x_y(img[0]), "rank 3, not 4")


def test_style_content_loss_refuses_bad_outputs_weights_and_switches():
    f = _features(1)
    out, s_t, c_t = {"style": {"a": losses.gram_matrix(f)}, "content": {"c": f}}, {"a": losses.gram_matrix(f)}, {"c": f}
    _refused("outputs", lambda: losses.style_content_loss({"style": out["style"]}, s_t, c_t), "StyleContentModel")
    _refused("outputs", lambda: losses.style_content_loss(f, s_t, c_t), "not the model's outputs")
    _refused("style_weight", lambda: losses.style_content_loss(out, s_t, c_t, style_weight="1e-2"), "pass the number itself: style_weight=1e-2")
    _refused("content_weight", lambda: losses.style_content_loss(out, s_t, c_t, content_weight=-1), "must be >= 0")
    _refused("content_weight", lambda: losses.style_content_loss(out, s_t, c_t, content_weight=True), "a bool")
    _refused("return_parts", lambda: losses.style_content_loss(out, s_t, c_t, return_parts="yes"), "not True or False")
    _refused("targets", lambda: losses.style_content_loss(out, {"b": s_t["a"]}, c_t), "outputs have layers ['a']")
    assert float(losses.style_content_loss(out, s_t, c_t, style_weight=tf.constant(2.0))) == 0.0  # a tensor weight is used as it is


def test_guided_gram_refuses_a_mask_outside_zero_one_or_with_colours():
    x = tf.ones((1, 4, 4, 2))
    _refused("mask", lambda: losses.guided_gram_matrix(x, np.full((1, 4, 4, 1), 2.0, np.float32)), "outside [0, 1]")
    _refused("mask", lambda: losses.guided_gram_matrix(x, np.full((1, 4, 4, 1), np.nan, np.float32)), "NaN")
    _refused("mask", lambda: losses.guided_gram_matrix(x, tf.ones((1, 4, 4, 3))), "3 channels")
    _refused("features", lambda: losses.guided_gram_matrix(x[0], tf.ones((1, 4, 4, 1))), "rank 3, not 4")
    _refused("masks", lambda: losses.guided_style_loss({"a": x}, {"a": tf.zeros((1, 2, 2))}, {"b": tf.ones((1, 4, 4, 1))}), "masks have ['b']")


def test_content_loss_averages_its_layers_except_in_the_papers_form():
    """Two layers: 'mean' and 'relative' average the layers' terms, 'paper' adds them (1/2 sum over every layer)."""
    f = {"a": _features(1), "b": _features(2, (1, 3, 4, 2))}
    p = {"a": _features(3), "b": _features(4, (1, 3, 4, 2))}
    one = {form: [float(losses.content_loss(f[n], p[n], form)) for n in "ab"] for form in losses.FORMS}
    assert float(losses.content_loss(f, p, "mean")) == pytest.approx(sum(one["mean"]) / 2, rel=1e-6)
    assert float(losses.content_loss(f, p, "relative")) == pytest.approx(sum(one["relative"]) / 2, rel=1e-6)
    assert float(losses.content_loss(f, p, "paper")) == pytest.approx(sum(one["paper"]), rel=1e-6)
    diff = (f["b"] - p["b"]).numpy()
    assert one["relative"][1] == pytest.approx(np.sum(diff**2) / np.sum(p["b"].numpy() ** 2), rel=1e-5)


def test_a_batch_of_grams_is_compared_with_one_target_gram_of_any_rank():
    rng = np.random.default_rng(7)
    grams = tf.constant(rng.random((2, 4, 4)), tf.float32)
    target = tf.constant(rng.random((4, 4)), tf.float32)
    batched = losses.style_layer_loss(grams, target)
    one_by_one = [losses.style_layer_loss(grams[i], target) for i in range(2)]
    np.testing.assert_allclose(float(batched), np.mean([float(x) for x in one_by_one]), rtol=1e-6)
    _refused("target_gram", lambda: losses.style_layer_loss(grams, tf.zeros((5, 5))), "does not match gram's")


def test_total_variation_reads_integer_images_as_numbers():
    image = np.zeros((1, 3, 4, 3), np.int32)
    image[:, :, 2:] = 10
    x_var, y_var = losses.high_pass_x_y(image)
    assert int(tf.reduce_sum(x_var)) == 3 * 3 * 10 and int(tf.reduce_sum(tf.abs(y_var))) == 0


# ------------------------------------------------------------------- guided losses: survivors of the mutation run


def test_a_guided_style_loss_weighs_each_layer_by_its_weight_and_its_share():
    rng = np.random.default_rng(7)
    features = {"a": tf.constant(rng.random((1, 6, 8, 3)), tf.float32), "b": tf.constant(rng.random((1, 3, 4, 5)), tf.float32)}
    targets = {n: losses.gram_matrix(tf.constant(rng.random(f.shape), tf.float32)) for n, f in features.items()}
    masks_ = {"a": tf.constant(rng.random((1, 6, 8, 1)), tf.float32), "b": tf.constant(rng.random((1, 3, 4, 1)), tf.float32)}
    weights = {"a": 0.8, "b": 0.2}
    want = sum(weights[n] * float(tf.reduce_mean(masks_[n]))
               * float(losses.style_layer_loss(losses.guided_gram_matrix(features[n], masks_[n]), targets[n], "mean")) for n in features)
    got = float(losses.guided_style_loss(features, targets, masks_, weights))
    assert got == pytest.approx(want, rel=1e-5)
    assert got != pytest.approx(float(losses.guided_style_loss(features, targets, masks_)), rel=1e-3), "the weights are used"


def test_a_guided_gram_takes_a_mask_of_whole_numbers_and_names_what_is_wrong():
    x = tf.constant(np.random.default_rng(8).random((1, 6, 8, 3)), tf.float32)
    ones_and_zeros = np.zeros((1, 6, 8, 1), np.int32)
    ones_and_zeros[:, :, :4] = 1
    np.testing.assert_allclose(losses.guided_gram_matrix(x, ones_and_zeros).numpy(),
                               losses.guided_gram_matrix(x, ones_and_zeros.astype(np.float32)).numpy(), rtol=1e-6)
    with pytest.raises(losses.LossError) as info:
        losses.guided_gram_matrix(x, tf.ones((1, 4, 5, 1)))
    assert str(info.value).endswith(": 5x4 but the features are 8x6; resize the mask to the layer first (masks.layer_masks)")
    assert str(info.value).startswith("mask = <tensor float32 of shape [1, 4, 5, 1]>"), str(info.value)
    with pytest.raises(losses.LossError) as info:
        losses.guided_gram_matrix(x, np.full((1, 6, 8, 1), 2.0, np.float32))
    assert str(info.value).endswith(": values from 2 to 2, outside [0, 1]; pass weights in [0, 1] (masks.load_mask makes them)")
    assert str(info.value).startswith("mask = <array float32"), str(info.value)
    with pytest.raises(losses.LossError) as info:
        losses.guided_gram_matrix(x, tf.ones((1, 6, 8, 2)))
    assert str(info.value).endswith(": 2 channels; pass one channel, [1, H, W, 1] or [B, H, W, 1]"), str(info.value)
    assert str(info.value).startswith("mask = <tensor"), str(info.value)


def test_guided_style_loss_names_both_dicts_when_their_layers_differ():
    x = {"a": tf.ones((1, 4, 4, 2))}
    with pytest.raises(losses.LossError) as info:
        losses.guided_style_loss(x, {"b": tf.ones((1, 2, 2))}, {"a": tf.ones((1, 4, 4, 1))})
    assert str(info.value) == ("target_grams = ['b']: features have layers ['a'] but target_grams have ['b']; "
                               "compute both with the same model (the same layers)"), str(info.value)
    with pytest.raises(losses.LossError) as info:
        losses.guided_style_loss(x, {"a": tf.ones((1, 2, 2))}, {"c": tf.ones((1, 4, 4, 1))})
    assert str(info.value).startswith("masks = ['c']: features have layers ['a'] but masks have ['c']"), str(info.value)


def test_style_content_loss_takes_tensor_weights_and_names_bad_outputs():
    model_out = {"style": {"a": tf.ones((1, 2, 2))}, "content": {"c": tf.ones((1, 2, 2, 2))}}
    style_t, content_t = {"a": tf.zeros((1, 2, 2))}, {"c": tf.zeros((1, 2, 2, 2))}
    as_floats = float(losses.style_content_loss(model_out, style_t, content_t, 0.5, 2.0))
    as_tensors = float(losses.style_content_loss(model_out, style_t, content_t, tf.constant(0.5), tf.Variable(2.0)))
    traced = tf.function(lambda sw, cw: losses.style_content_loss(model_out, style_t, content_t, sw, cw))  # weights as graph tensors
    assert as_tensors == as_floats == float(traced(tf.constant(0.5), tf.constant(2.0))) > 0
    with pytest.raises(losses.LossError) as info:
        losses.style_content_loss({"style": {}}, style_t, content_t)
    assert str(info.value).startswith("outputs = ['style']: not the model's outputs; pass what StyleContentModel returns"), str(info.value)


def test_style_content_loss_passes_its_form_and_layer_weights_on_and_shows_a_bad_value():
    rng = np.random.default_rng(3)
    grams = {n: tf.constant(rng.random((1, 3, 3)).astype(np.float32)) for n in ("a", "b")}
    targets = {n: tf.constant(rng.random((1, 3, 3)).astype(np.float32)) for n in ("a", "b")}
    feats, feat_targets = ({"c": tf.constant(rng.random((1, 4, 5, 3)).astype(np.float32))} for _ in range(2))
    model_out = {"style": grams, "content": feats}
    weights = {"a": 0.9, "b": 0.1}
    total, parts = losses.style_content_loss(model_out, targets, feat_targets, 1.0, 1.0, layer_weights=weights, form="paper",
                                             return_parts=True)
    want_style = sum(w * float(losses.style_layer_loss(grams[n], targets[n], form="paper")) for n, w in weights.items())
    assert float(parts["style"]) == pytest.approx(want_style, rel=1e-5)  # the layer weights and the form reach the style loss
    assert float(parts["content"]) == pytest.approx(float(losses.content_loss(feats, feat_targets, form="paper")), rel=1e-5)
    assert float(parts["content"]) != pytest.approx(float(losses.content_loss(feats, feat_targets, form="mean")), rel=1e-3)
    with pytest.raises(losses.LossError) as info:
        losses.style_content_loss([2, 1], targets, feat_targets)  # shown as given, not sorted
    assert str(info.value).startswith("outputs = [2, 1]: not the model's outputs"), str(info.value)
