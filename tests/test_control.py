"""Notebook 06's controls: spatial control through Style terms with masks, style scale, layers split between styles,
the stroke-size measure, the Hub model's style-size knob, and the exercise checks."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import check, compare, hub, images, losses, masks, optimize, terms, vgg
from helpers.check import control
from helpers.check import solutions_control as solutions

FAST = {"progress": False, "network": optimize.Network(weights="random", precision="float32")}
#: The tutorial's loss for the content and TV terms (a Style term brings its own weight).
LOSS = {"content_weight": 1e4, "tv_weight": 30.0, "form": "mean"}


def _image(h, w, seed):
    return tf.random.stateless_uniform((1, h, w, 3), seed=(seed, seed + 1))


# ----------------------------------------------------------------------------------------------- Style terms with masks


def test_a_mask_of_ones_changes_nothing():
    # One Adam step: the loss at the start and the step it takes. Over more steps Adam, which divides by the gradient's
    # running size, enlarges float32's last digits (the guided Gram matrix sums the same products in another order).
    content, style = _image(48, 48, 1), _image(48, 48, 3)
    plain = optimize.transfer(content, style, steps=1, optimizer="adam", style_weight=1e-2, **LOSS, **FAST)
    masked = optimize.transfer(content, terms.Style(style, mask=np.ones((48, 48))), steps=1, optimizer="adam", **LOSS, **FAST)
    np.testing.assert_allclose(masked.history["total"], plain.history["total"], rtol=1e-5)
    np.testing.assert_allclose(masked.image.numpy(), plain.image.numpy(), atol=1e-5)
    assert masked.settings["names"] == ["content", "style", "tv"] and "names" not in plain.settings


def _region_style_loss(model, image, style, region):
    """The guided style loss of `region` of `image` against the whole `style` image's Gram matrices."""
    features = model.features(image)["style"]
    layered = masks.layer_masks(region, model.style_layers)
    return float(losses.guided_style_loss(features, model(style)["style"], layered))


def test_two_regions_each_take_their_own_style():
    """Each style's loss falls more, relative to where it started, inside its own region than inside the other one."""
    content = images.load_img("astronaut", max_dim=64)
    styles = [images.load_img("swirls", max_dim=64), images.load_img("mosaic", max_dim=64)]
    regions = [masks.builtin("left", (64, 64)), masks.builtin("right", (64, 64))]
    result = optimize.transfer(content, [terms.Style(s, mask=r) for s, r in zip(styles, regions)], steps=15, progress=False,
                               network=optimize.Network(weights="auto", precision="float32"))
    assert result.settings["stopped"] in ("finished",) or result.settings["stopped"].startswith("lbfgs stopped early")
    model = vgg.StyleContentModel(weights="auto")
    for s, style in enumerate(styles):
        ratios = [_region_style_loss(model, result.image, style, region) / _region_style_loss(model, content, style, region)
                  for region in regions]
        own, other = ratios[s], ratios[1 - s]
        assert own < other, f"style {s}: its loss fell to {own:.3f} of the start in its own region but to {other:.3f} in the other"
        assert own < 0.9


_NARROW = np.pad(np.ones((48, 2)), ((0, 0), (20, 26)))


@pytest.mark.parametrize("make, error, match", [
    (lambda s: terms.Style(s, mask=np.zeros((48, 48))), masks.MaskError, r"Style.mask.*covers nothing"),
    (lambda s: terms.Style(s, mask=np.ones((3, 48))), masks.MaskError, r"Style.mask.*too thin"),
    (lambda s: terms.Style(s, mask="left", mask_mode="fuzzy"), terms.TermError, "Style.mask_mode = 'fuzzy'"),
    (lambda s: terms.Style(s, mask=_NARROW, mask_mode="inside"), masks.MaskError, r"Style.mask.*covers nothing at any"),
    (lambda s: terms.Style(s, mask="leftt"), masks.MaskError, "Did you mean 'left'"),
    (lambda s: terms.Style(s, mask="left", style_mask=np.zeros((48, 48))), masks.MaskError, r"Style.style_mask.*covers nothing"),
])
def test_bad_masks_are_refused_before_the_first_step(make, error, match):
    seen = []
    with pytest.raises(error, match=match):
        optimize.transfer(_image(48, 48, 5), [terms.Style(_image(48, 48, 7), mask="right"), make(_image(48, 48, 9))], steps=3,
                          callback=optimize.every(1, lambda *a: seen.append(a)), **FAST)
    assert not seen, "refused before any step"


def test_masks_need_vgg19_features():
    class Other:
        style_layers, content_layers = ["a"], ["b"]

        def __call__(self, image):
            return {}

    with pytest.raises(optimize.TransferError, match="network = .*a replacement extractor works with plain images only"):
        optimize.transfer(_image(48, 48, 5), terms.Style(_image(48, 48, 7), mask="left"), network=Other(), steps=1, progress=False)


def test_a_style_mask_of_ones_gives_the_plain_targets():
    model = vgg.StyleContentModel(weights="random", precision="float32")
    style = _image(40, 56, 11)

    def features(image):
        return model.features(image)["style"]

    guided = terms.Style(style, mask=np.ones((32, 32)), style_mask=np.ones((40, 56))).prepare(features, (32, 32))
    plain = terms.Style(style).prepare(features, (32, 32))
    for name in model.style_layers:
        np.testing.assert_allclose(guided["targets"][name].values["gram"].numpy(), plain["targets"][name].values["gram"].numpy(), rtol=1e-5)
        assert guided["regions"][name].shape[1:3] == masks.layer_sizes((32, 32), [name])[name]


# ----------------------------------------------------------------------------------------------- style scale


def _style_sizes(monkeypatch):
    """Record the size each style term's image is given before its statistics are taken."""
    seen, original = [], optimize._scale_style

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(tuple(int(d) for d in out.shape[1:3]))
        return out

    monkeypatch.setattr(optimize, "_scale_style", spy)
    return seen


def test_a_style_terms_scale_sets_its_long_side_relative_to_the_picture(monkeypatch):
    seen = _style_sizes(monkeypatch)
    content = _image(64, 96, 13)
    optimize.transfer(content, terms.Style(_image(100, 50, 15), scale=0.75), steps=1, **FAST)
    assert seen[-1] == (72, 36)  # long side 0.75 x 96 = 72, aspect kept
    result = optimize.transfer(content, terms.Style("swirls", scale=2.0), steps=1, **FAST)  # a name: loaded at full size, then scaled
    assert seen[-1] == (192, 192) and "scale=2.0" in result.settings["terms"][1]
    assert tuple(terms.Style("swirls").image.shape[1:3]) == (512, 512)  # without a scale a style keeps its size (up to 512 px)


def test_a_tiny_style_scale_keeps_vggs_minimum_side(monkeypatch, capsys):
    seen = _style_sizes(monkeypatch)
    optimize.transfer(_image(48, 64, 17), terms.Style(_image(64, 128, 19), scale=0.1), steps=1, **FAST)
    assert seen[-1] == (32, 64)  # 0.1 x 64 = 6 px asked; the short side stays at 32 px, the aspect is kept
    assert "would make Style.image smaller than 32 px" in capsys.readouterr().out


@pytest.mark.parametrize("value, error, match", [(100, optimize.TransferError, r"Style.scale = 100.0: makes Style.image 6400x6400 px, over 2048 px"),
                                                 (-1, terms.TermError, r"Style.scale = -1: must be > 0"),
                                                 ("big", terms.TermError, "Style.scale = .big.: a string, not a number")])
def test_bad_style_scales(value, error, match):
    with pytest.raises(error, match=match):
        optimize.transfer(_image(48, 64, 17), terms.Style(_image(64, 64, 19), scale=value), steps=1, **FAST)


# ----------------------------------------------------------------------------------------------- layers split between styles


def test_two_style_terms_split_the_layers_between_styles():
    content, fine, coarse = _image(40, 40, 21), _image(40, 40, 23), _image(40, 40, 25)
    first, rest = vgg.STYLE_LAYERS[:2], vgg.STYLE_LAYERS[2:]
    objective = terms.Objective([terms.Style(fine, layers=first, weight=0.5, form="relative"),
                                 terms.Style(coarse, layers=rest, weight=0.5, form="relative")])
    _, parts = objective.losses(content, objective.extractor(weights="random", precision="float32"))
    model = vgg.StyleContentModel(weights="random", precision="float32")
    out, fine_grams, coarse_grams = model(content)["style"], model(fine)["style"], model(coarse)["style"]
    expected = [0.5 * losses.style_loss({n: out[n] for n in layers}, {n: grams[n] for n in layers}, None, "relative")
                for layers, grams in ((first, fine_grams), (rest, coarse_grams))]
    assert float(parts["style"]) == pytest.approx(float(expected[0]), rel=1e-5)
    assert float(parts["style_2"]) == pytest.approx(float(expected[1]), rel=1e-5)


# ----------------------------------------------------------------------------------------------- the stroke-size measure


def _stripes(period: float, size=(128, 160), angle: float = 0.0, square: bool = True) -> np.ndarray:
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]]
    wave = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    grey = 0.5 + 0.4 * (np.sign(wave) if square else wave)
    return np.repeat(grey[None, ..., None], 3, axis=-1).astype(np.float32)


@pytest.mark.parametrize("period", [8, 11, 16, 24])
@pytest.mark.parametrize("angle", [0.0, 0.3, 0.6, np.pi / 4, np.pi / 2])
@pytest.mark.parametrize("square", [True, False])
def test_stroke_size_of_stripes_is_their_period(period, angle, square):
    """Crofton's count along four directions is within a few percent of the true edge length at any angle."""
    assert compare.stroke_size(_stripes(period, angle=angle, square=square)) == pytest.approx(period, rel=0.15)


def test_stroke_size_of_added_texture():
    """With the photo as reference, the measure sees the texture added to it, not the photo's own structure."""
    photo = images.load_img("astronaut", max_dim=128).numpy()
    striped = np.clip(photo + 0.3 * (_stripes(12, (128, 128), angle=0.3) - 0.5), 0, 1)
    assert compare.stroke_size(striped, reference=photo) == pytest.approx(12, rel=0.15)
    assert compare.stroke_size(photo, reference=photo) == float("inf")  # nothing added: no edges at all
    coarse = np.clip(photo + 0.3 * (_stripes(24, (128, 128), angle=0.3) - 0.5), 0, 1)
    assert compare.stroke_size(coarse, reference=photo) > compare.stroke_size(striped, reference=photo)


# ----------------------------------------------------------------------------------------------- the Hub model's knob


def test_hub_style_size_changes_the_output():
    module = hub.load_hub_module("offline")
    content, style = images.load_img("astronaut", max_dim=64), images.load_img("swirls", max_dim=None)
    small, large = (hub.stylize(module, content, style, size) for size in (64, 512))
    assert small.shape == large.shape == content.shape
    assert float(tf.reduce_mean(tf.abs(small - large))) > 0.01
    style_256 = tf.image.resize(style, (256, 256))  # the module's own call resizes any style to 256 x 256
    np.testing.assert_allclose(hub.stylize(module, content, style_256, None).numpy(), module(content, style_256)[0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="at least 32 px"):
        hub.stylize(module, content, style, 16)


# ----------------------------------------------------------------------------------------------- the exercise checks


def _my_guided_gram(features, mask):
    """A right answer written independently of the course's."""
    f = np.asarray(features, np.float64)
    m = np.asarray(mask, np.float64)
    return (np.einsum("bijc,bijd->bcd", f * m, f) / m.sum()).astype(np.float32)


def _my_layer_masks(mask, layers):
    """A right answer: area resize to the size halved (rounded down) per pooling."""
    out = {}
    for name in layers:
        pools = int(name[5]) - 1  # blockN_conv1 comes after N - 1 poolings
        size = (mask.shape[1] >> pools, mask.shape[2] >> pools)
        out[name] = tf.image.resize(mask, size, method="area")
    return out


def test_checks_are_exported():
    assert check.guided_gram_matrix is control.guided_gram_matrix and check.layer_masks is control.layer_masks


def test_right_answers_pass(capsys):
    assert check.guided_gram_matrix(_my_guided_gram) is True
    assert check.layer_masks(_my_layer_masks) is True
    assert capsys.readouterr().out.count("✓") == 2


def test_the_model_answers_agree_with_the_course():
    x, m = tf.random.stateless_uniform((1, 6, 7, 3), seed=(41, 42)), tf.random.stateless_uniform((1, 6, 7, 1), seed=(43, 44))
    np.testing.assert_allclose(solutions.guided_gram_matrix(x, m).numpy(), losses.guided_gram_matrix(x, m).numpy(), rtol=1e-5)
    mask = masks.builtin("ellipse", (45, 70))
    answer, course = solutions.layer_masks(mask, vgg.STYLE_LAYERS), masks.layer_masks(mask, vgg.STYLE_LAYERS)
    for name in vgg.STYLE_LAYERS:
        np.testing.assert_allclose(answer[name].numpy(), course[name].numpy(), atol=1e-5)


@pytest.mark.parametrize("answer, hint", [
    (lambda f, m: tf.einsum("bijc,bijd->bcd", m * f, f) / (f.shape[1] * f.shape[2]), "you divided by H*W"),
    (lambda f, m: tf.einsum("bijc,bijd->bcd", m * f, f), "there is no normalisation"),
    (lambda f, m: tf.einsum("bijc,bijd->bcd", m * f, m * f) / tf.reduce_sum(m * m), "the paper's T * F"),
    (lambda f, m: tf.einsum("bijc,bijd->bcd", m * f, m * f) / tf.reduce_sum(m), "applied to both factors"),
    (lambda f, m: losses.gram_matrix(f), "the mask is not used"),
    (lambda f, m: losses.guided_gram_matrix(f, m), "calls losses.guided_gram_matrix"),
    (lambda f, m: solutions.guided_gram_matrix(f, m), "calls solutions_control.guided_gram_matrix"),
    (losses.guided_gram_matrix, "is the course's own losses.guided_gram_matrix"),
    (lambda f, m: None, "returned None"),
])
def test_wrong_guided_grams_fail_with_the_right_hint(answer, hint, capsys):
    assert check.guided_gram_matrix(answer) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out


def _pools(name):
    return int(name[5]) - 1


@pytest.mark.parametrize("answer, hint", [
    (lambda m, L: {n: tf.image.resize(m, (round(m.shape[1] / 2 ** _pools(n)), round(m.shape[2] / 2 ** _pools(n))), method="area")
                   for n in L}, "rounding down"),
    (lambda m, L: {n: tf.image.resize(m, (m.shape[1] >> _pools(n), m.shape[2] >> _pools(n)), method="nearest") for n in L},
     "method='area'"),
    (lambda m, L: {n: m for n in L}, "comes after"),
    (lambda m, L: [m for _ in L], "return a dict"),
    (lambda m, L: masks.layer_masks(m, L), "calls masks.layer_masks"),
    (lambda m, L: {n: masks.resize(m, masks.layer_sizes(m.shape[1:3], [n])[n]) for n in L}, "calls masks."),
])
def test_wrong_layer_masks_fail_with_the_right_hint(answer, hint, capsys):
    assert check.layer_masks(answer) is False
    out = capsys.readouterr().out
    assert "✗" in out and hint in out, out
