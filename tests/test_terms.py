"""helpers.terms and optimize.minimize: the tutorial's objective as terms gives transfer's run, every statistic runs,
masked style and temporal terms start at their direct values and run through transfer, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import images, losses, masks, optimize, style_stats, temporal, terms, vgg
from tests.refusals import refused

#: Settings that make transfer a plain single-scale float32 run, as minimize's.
SAME = {"progress": False, "network": optimize.Network(precision="float32", memory="fast")}
#: minimize in float32.
F32 = optimize.Network(precision="float32")


@pytest.fixture(scope="module")
def pair():
    """A 48x32 content and a 32 px style (32 px is the smallest side VGG19 accepts)."""
    return images.load_example("cat", 48), images.load_example("waves", 32)


def _tutorial(content, style, *extra):
    """The tutorial's objective as terms: content, Gram style and total variation at their default weights."""
    return terms.Objective([terms.Content(content), terms.Style(style), terms.TotalVariation(), *extra])


def _same_run(by_terms, by_transfer, names=(("content", "content"), ("style", "style"), ("tv", "tv"))):
    """The two results have the same image and loss history, to float32 rounding."""
    np.testing.assert_allclose(by_terms.image.numpy(), by_transfer.image.numpy(), atol=2e-6)
    np.testing.assert_allclose(by_terms.history["total"], by_transfer.history["total"], rtol=2e-6)
    for ours, theirs in names:
        np.testing.assert_allclose(by_terms.history[ours], by_transfer.history[theirs], rtol=2e-6, atol=1e-3)
    assert by_terms.history["step"] == by_transfer.history["step"]


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_the_tutorial_objective_as_terms_is_transfers_run(pair, optimizer):
    content, style = pair
    expected = optimize.transfer(content, style, optimizer=optimizer, steps=3, **losses.TUTORIAL_WEIGHTS, **SAME)
    result = optimize.minimize(_tutorial(content, style), content, optimizer=optimizer, steps=3, progress=False, network=F32)
    _same_run(result, expected)
    h = result.history
    np.testing.assert_allclose(np.add.reduce([h["content"], h["style"], h["tv"]]), h["total"], rtol=1e-5)
    assert result.settings["names"] == ["content", "style", "tv"] and result.settings["stopped"] == "finished"
    assert result.settings["style_layers"] == vgg.STYLE_LAYERS and result.settings["content_layers"] == vgg.CONTENT_LAYERS


def test_every_statistic_runs_through_minimize_and_starts_at_its_direct_value(pair):
    """One objective with a Style term per statistic: each term finite, the total falls; at step 0 (the content) each
    term is weight * the mean over its layers of style_stats.style_distance."""
    content, style = pair
    layers = {name: ("block3_conv1", "block4_conv1") if name == "mrf" else ("block1_conv1", "block3_conv1") for name in style_stats.STATISTICS}
    objective = terms.Objective([terms.Content(content)] + [terms.Style(style, name, layers=layers[name], name=name, weight=1.0)
                                                            for name in style_stats.STATISTICS])
    result = optimize.minimize(objective, content, optimizer="adam", steps=2, progress=False, network=F32)
    h = result.history
    for name in style_stats.STATISTICS:
        assert np.all(np.isfinite(h[name])) and h[name][0] > 0, (name, h[name])
    assert h["total"][-1] < h["total"][0], h["total"]
    model = vgg.StyleContentModel(["block1_conv1", "block3_conv1", "block4_conv1"], [], precision="float32")
    ours, theirs = model.features(content)["style"], model.features(style)["style"]
    for name in style_stats.STATISTICS:
        direct = np.mean([float(style_stats.style_distance(ours[n], theirs[n], name)) for n in layers[name]])
        np.testing.assert_allclose(h[name][0], direct, rtol=1e-4, err_msg=name)


def test_a_masked_style_term_starts_at_the_guided_gram_loss(pair):
    """transfer with a Style term limited to a region: at step 0 its value is weight * losses.guided_style_loss, as
    Gatys et al. (2017) define it; and the same objective through minimize is the same run."""
    content, style = pair
    size = tuple(int(d) for d in content.shape[1:3])
    region = masks.builtin("left", size)
    term = terms.Style(style, mask=region, mask_mode="simple")
    result = optimize.transfer(content, term, optimizer="adam", steps=3, **SAME)
    model = vgg.StyleContentModel(precision="float32")
    ours, theirs = model.features(content)["style"], model.features(style)["style"]
    on_layers = masks.layer_masks(masks.load_mask(region, size), vgg.STYLE_LAYERS, "simple")
    want = 1e-2 * float(losses.guided_style_loss(ours, {n: losses.gram_matrix(theirs[n]) for n in vgg.STYLE_LAYERS}, on_layers))
    np.testing.assert_allclose(result.history["style"][0], want, rtol=1e-4)
    whole = optimize.transfer(content, style, optimizer="adam", steps=1, **SAME)
    assert result.history["style"][0] < 0.9 * whole.history["style"][0], "half the picture pays less than the whole"
    objective = terms.Objective([terms.Content(content), term, terms.TotalVariation()])
    _same_run(optimize.minimize(objective, content, optimizer="adam", steps=3, progress=False, network=F32), result)


def test_a_temporal_term_is_ruders_loss_through_transfer(pair):
    content, style = pair
    height, width = (int(d) for d in content.shape[1:3])
    previous = np.random.default_rng(0).uniform(0.2, 0.8, (height, width, 3)).astype(np.float32)
    flow = np.full((height, width, 2), 1.5, np.float32)
    reliable = np.ones((height, width), bool)
    reliable[:, :8] = False
    warped = temporal.warped_previous(previous, flow, reliable, previous)
    start = tf.constant(warped[None]) + 0.01
    term = terms.Temporal(previous, flow, reliable)
    result = optimize.transfer(content, style, init=start, terms=[term], optimizer="adam", steps=3, **SAME)
    direct = float(temporal.temporal_loss(warped, reliable)(images.clip_0_1(start)))
    np.testing.assert_allclose(result.history["temporal"][0], direct, rtol=1e-5)
    assert result.history["temporal"][0] > 0 and term.weight == temporal.TEMPORAL_WEIGHT
    by_minimize = optimize.minimize(_tutorial(content, style, term), content, init=start, optimizer="adam", steps=3, progress=False, network=F32)
    _same_run(by_minimize, result, names=(("content", "content"), ("style", "style"), ("tv", "tv"), ("temporal", "temporal")))


def test_zero_weights_custom_terms_and_names(pair):
    content, style = pair
    objective = terms.Objective([terms.Content(content, weight=0), terms.Style(style, layers=("block2_conv1",)), terms.Style(style),
                                 terms.Custom(lambda image, found: tf.reduce_mean(found["block1_conv2"]), layers=("block1_conv2",), name="mine")])
    assert objective.names == ["content", "style", "style_2", "mine"]
    assert objective.content_layers == [] and objective.style_layers == ["block2_conv1", "block1_conv1", *vgg.STYLE_LAYERS[2:], "block1_conv2"]
    assert objective.layers == objective.style_layers
    model = objective.extractor(precision="float32")
    total, parts = objective.losses(content, model)
    assert float(parts["content"]) == 0.0 and float(parts["mine"]) > 0
    np.testing.assert_allclose(float(total), sum(float(v) for v in parts.values()), rtol=1e-6)
    assert objective.prepare(model, content.shape[1:3]) is objective.prepare(model, tuple(content.shape[1:3]))  # prepared once per size
    scaled = terms.Objective([terms.Style(style, layers=("block2_conv1",), scale=2.0)])
    resized = terms.Objective([terms.Style(optimize._resize(style, (96, 96)), layers=("block2_conv1",))])
    model = scaled.extractor(precision="float32")
    assert float(scaled.losses(content, model)[0]) == float(resized.losses(content, model)[0])


def test_refusals(pair):
    content, style = pair
    refused(terms.TermError, "terms[1]", lambda: terms.Objective([terms.Content(content), "tv"]), "a str is not a term", "Custom(fn)")
    refused(terms.TermError, "terms", lambda: terms.Objective([]), "no terms")
    refused(style_stats.StatisticError, "statistic", lambda: terms.Style(style, "gramm"), "Did you mean 'gram'")
    refused(style_stats.StatisticError, "stride", lambda: terms.Style(style, "mean_std", stride=2), "takes no options")
    refused(terms.TermError, "Content.weight", lambda: terms.Content(content, weight=-1.0), ">= 0")
    refused(terms.TermError, "Style.weight", lambda: terms.Style(style, weight=-1e-2), ">= 0")
    refused(terms.TermError, "TotalVariation.weight", lambda: terms.TotalVariation(weight="30"), "TotalVariation.weight=30")
    refused(terms.TermError, "Style.mask", lambda: terms.Style(style, "mrf", mask="left"), "no weighted form")
    refused(terms.TermError, "Style.layers", lambda: terms.Style(style, layers=("block9_conv1",)))
    refused(terms.TermError, "TotalVariation.name", lambda: terms.TotalVariation(name="total"), "a column of the history")
    refused(terms.TermError, "objective", lambda: optimize.minimize("tv", content, steps=1, progress=False), "not an objective")
    refused(terms.TermError, "Temporal.previous", lambda: terms.Objective([terms.Temporal(np.zeros((8, 8, 3)), None, np.ones((8, 8), bool))])
            .prepare(_NoLayers(), (32, 48)), "8x8 px")


class _NoLayers:
    """An extractor with no layers (a TV or temporal objective needs none)."""

    style_layers, content_layers = [], []

    def features(self, image):
        """No features."""
        return {"style": {}, "content": {}}


@pytest.mark.parametrize("optimizer", optimize.OPTIMIZERS)
def test_every_optimizer_minimises_an_objective_without_vgg(pair, optimizer):
    """Total variation and a term of one's own: no VGG19 layer is needed, and each optimiser lowers the total."""
    content, _ = pair
    objective = terms.Objective([terms.TotalVariation(weight=1.0), terms.Custom(lambda image: tf.reduce_sum(tf.square(image - 0.5)), name="grey")])
    chosen = optimize.Adam(learning_rate=0.05) if optimizer == "adam" else optimizer
    result = optimize.minimize(objective, content, optimizer=chosen, steps=3, progress=False, network=F32)
    assert result.settings["deepest_layer"] is None and list(result.history)[2:4] == ["tv", "grey"]
    assert result.history["total"][-1] < result.history["total"][0], result.history["total"]
