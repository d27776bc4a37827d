"""helpers.optimize: both optimisers reduce the loss, bounds, seeds, colour, blends, stopping, scales, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import colour, images, lbfgs, losses, optimize, terms, vgg


@pytest.fixture(scope="module")
def pair64():
    """A 64 px content/style pair from the committed examples."""
    return images.load_example("astronaut", 64), images.load_example("swirls", 64)


@pytest.fixture(scope="module")
def pair32():
    """A 48x32 content and a 32 px style (32 px is the smallest side VGG19 accepts)."""
    return images.load_example("cat", 48), images.load_example("waves", 32)


#: The two L-BFGS engines: in TensorFlow (helpers.lbfgs) and scipy's L-BFGS-B. Tests of the optimiser's behaviour run on both.
LBFGS_ENGINES = ["lbfgs", "lbfgs-scipy"]


@pytest.fixture(scope="module")
def lbfgs_runs(pair64):
    """25 L-BFGS steps of each engine on the 64 px pair, with every iterate captured through the callback."""
    runs = {}
    for optimizer in LBFGS_ENGINES:
        seen = []
        result = optimize.transfer(*pair64, optimizer=optimizer, steps=25, progress=False,
                                   callback=optimize.every(1, lambda step, img, parts, seen=seen: seen.append(img.numpy())))
        runs[optimizer] = result, seen
    return runs


@pytest.fixture(params=LBFGS_ENGINES)
def lbfgs_run(request, lbfgs_runs):
    """One engine's run from lbfgs_runs."""
    return lbfgs_runs[request.param]


def test_lbfgs_halves_the_loss_within_25_steps(lbfgs_run):
    result, _ = lbfgs_run
    total = result.history["total"]
    assert result.settings["optimizer"] in LBFGS_ENGINES
    assert len(total) == 26 and result.history["step"][-1] == 25
    assert total[-1] < 0.5 * total[0], total


def test_history_parts_add_up(lbfgs_run):
    h = lbfgs_run[0].history
    assert set(h) >= {"total", "style", "content", "tv", "seconds"}
    np.testing.assert_allclose(np.add(np.add(h["style"], h["content"]), h["tv"]), h["total"], rtol=1e-5)
    assert all(b >= a for a, b in zip(h["seconds"], h["seconds"][1:]))


def test_lbfgs_keeps_pixels_in_bounds(lbfgs_run, pair64):
    result, seen = lbfgs_run
    assert len(seen) == 25
    raw = np.stack(seen)
    assert raw.min() >= 0.0 and raw.max() <= 1.0
    assert result.image.shape == pair64[0].shape and result.image.dtype == tf.float32
    assert np.abs(result.image.numpy() - pair64[0].numpy()).mean() > 0.01, "the image did not move"


def test_adam_reduces_the_loss(pair64):
    result = optimize.transfer(*pair64, optimizer="adam", steps=20, progress=False)
    total = result.history["total"]
    assert total[-1] < 0.8 * total[0], (total[0], total[-1])
    assert result.settings["learning_rate"] == 0.02
    assert result.settings["epsilon"] == optimize.ADAM_EPSILON[result.settings["form"]]


def test_matches_the_tutorial_train_step(pair32):
    """The notebook's step (the TF tutorial's train_step) and transfer(optimizer='adam') agree step by step."""
    content, style = pair32
    extractor = vgg.StyleContentModel(weights="random")
    style_targets = extractor(style)["style"]
    content_targets = extractor(content)["content"]
    opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)
    image = tf.Variable(content)

    @tf.function
    def train_step(image):
        with tf.GradientTape() as tape:
            outputs = extractor(image)
            loss = losses.style_content_loss(outputs, style_targets, content_targets, 1e-2, 1e4)
            loss += 30 * tf.image.total_variation(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(images.clip_0_1(image))
        return loss

    mine, after = [], []
    for _ in range(3):
        mine.append(float(tf.squeeze(train_step(image))))
        after.append(image.numpy())
    seen = {}
    result = optimize.transfer(
        content, style, steps=3, progress=False, callback=optimize.every(1, lambda s, im, p: seen.update({s: im.numpy()})),
        **{**optimize.TUTORIAL_RECIPE, "network": optimize.Network(weights="random", precision="float32")},
    )
    np.testing.assert_allclose(result.history["total"][:3], mine, rtol=1e-4)
    # One step agrees to float precision. Later steps drift by float rounding only: the TV gradient is a sign,
    # so a pixel that ties with its neighbour can flip by one learning-rate step.
    np.testing.assert_allclose(seen[1], after[0], atol=1e-5)
    assert np.abs(result.image.numpy() - after[2]).mean() < 2e-3
    assert np.abs(after[2] - content.numpy()).max() > 1e-2, "three steps should move the image"


def test_the_same_noise_gives_the_same_image(pair32):
    kw = dict(steps=3, progress=False)
    a = optimize.transfer(*pair32, init="noise", **kw).image.numpy()
    b = optimize.transfer(*pair32, init="noise", **kw).image.numpy()
    seed_0 = optimize.transfer(*pair32, init=optimize.initial_image(pair32[0], "noise", seed=0), **kw).image.numpy()
    seed_8 = optimize.transfer(*pair32, init=optimize.initial_image(pair32[0], "noise", seed=8), **kw).image.numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, seed_0)  # init="noise" is seed 0's noise
    assert np.abs(a - seed_8).mean() > 1e-3


def test_init_options(pair32):
    content = pair32[0]
    noise = optimize.initial_image(content, "noise", seed=1).numpy()
    blend = optimize.initial_image(content, "blend", seed=1).numpy()
    np.testing.assert_allclose(blend, 0.6 * noise + 0.4 * content.numpy(), atol=1e-6)
    assert noise.shape == content.shape and 0 <= noise.min() and noise.max() <= 1
    given = optimize.initial_image(content, tf.zeros([1, 16, 16, 3]) + 0.25).numpy()
    assert given.shape == content.shape and np.allclose(given, 0.25, atol=1e-5)


def _chroma_error(image, content):
    """Mean |ΔU| + |ΔV| between two RGB images."""
    a, b = tf.image.rgb_to_yuv(image).numpy(), tf.image.rgb_to_yuv(content).numpy()
    return float(np.abs(a[..., 1:] - b[..., 1:]).mean())


def test_luminance_keeps_the_content_colours(pair64):
    content, style = pair64
    plain = optimize.transfer(content, style, steps=15, progress=False)
    kept = optimize.transfer(content, style, steps=15, preserve_color="luminance", progress=False)
    plain_err, kept_err = _chroma_error(plain.image, content), _chroma_error(kept.image, content)
    assert kept_err < 0.25 * plain_err, (kept_err, plain_err)
    assert kept.image.shape == content.shape


def test_histogram_matching_moves_style_colours_to_the_content(pair64):
    content, style = pair64
    matched = colour.match_color_histogram(style, content).numpy().reshape(-1, 3)
    c = content.numpy().reshape(-1, 3)
    assert np.abs(matched.mean(0) - c.mean(0)).max() < 0.03
    before = np.abs(np.cov(style.numpy().reshape(-1, 3), rowvar=False) - np.cov(c, rowvar=False)).max()
    after = np.abs(np.cov(matched, rowvar=False) - np.cov(c, rowvar=False)).max()
    assert after < 0.5 * before, (after, before)  # not exact: clipping to [0, 1] trims the spread a little
    result = optimize.transfer(content, style, steps=3, preserve_color="histogram", progress=False)
    assert result.settings["preserve_color"] == "histogram"


def test_two_styles_blend(pair32):
    content, style = pair32
    other = images.load_example("mosaic", 32)
    model = vgg.StyleContentModel(weights="auto")
    grams = model(content)["style"]
    each = [float(losses.style_loss(grams, model(s)["style"], None, "mean")) for s in (style, other)]
    assert abs(each[0] - each[1]) > 0.05 * max(each), each  # the two styles differ, so the weights matter
    # a list of images: equal shares of style_weight (step 0: the content image itself)
    equal = optimize.transfer(content, [style, other], steps=1, progress=False)
    assert equal.settings["style_blend_weights"] == [0.5, 0.5]
    np.testing.assert_allclose(equal.history["style"][0], equal.settings["style_weight"] * (0.5 * each[0] + 0.5 * each[1]), rtol=1e-4)
    # other shares: Style terms with their own weights, one history column each
    terms_run = optimize.transfer(content, [terms.Style(style, weight=0.75e-2), terms.Style(other, weight=0.25e-2)], steps=1, progress=False)
    np.testing.assert_allclose(terms_run.history["style"][0], 0.75e-2 * each[0], rtol=1e-4)
    np.testing.assert_allclose(terms_run.history["style_2"][0], 0.25e-2 * each[1], rtol=1e-4)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda c, s: dict(style=[s, terms.Style(s)]), "style = .*: mixes images and Style terms"),
        (lambda c, s: dict(style=[]), r"style = \[\]: no style"),
        (lambda c, s: dict(style=terms.Style(s), style_weight=1.0), "style_weight = 1.0: the Style term brings its own weight"),
        (lambda c, s: dict(content=terms.Content(c), content_weight=1.0), "content_weight = 1.0: the Content term brings its own weight"),
        (lambda c, s: dict(content=terms.Content(c), style=terms.Style(s), form="paper"), "form = 'paper': the Content and Style terms"),
        (lambda c, s: dict(network=optimize.Network(memory="low"), terms=terms.Custom(tf.reduce_mean)), "Network.memory = 'low': terms need"),
        (lambda c, s: dict(network=vgg.StyleContentModel(weights="random"), style=terms.Style(s)), "network = .*plain images only"),
    ],
)
def test_terms_and_their_weights_are_checked(pair32, make, match):
    content, style = pair32
    kwargs = {"content": content, "style": style, **make(content, style)}
    with pytest.raises(optimize.TransferError, match=match):
        optimize.transfer(kwargs.pop("content"), kwargs.pop("style"), steps=1, progress=False, **kwargs)


@pytest.mark.parametrize("optimizer", [*LBFGS_ENGINES, "adam"])
def test_nan_returns_the_last_good_image(pair32, monkeypatch, capsys, optimizer):
    calls = tf.Variable(0)
    real = losses.total_variation_loss

    def poisoned(image):
        calls.assign_add(1)
        return tf.where(calls > 3, tf.constant(float("nan")), real(image))

    monkeypatch.setattr(losses, "total_variation_loss", poisoned)
    result = optimize.transfer(*pair32, optimizer=optimizer, steps=20, progress=False, network=optimize.Network(weights="random"))
    assert result.settings["stopped"] == "non-finite loss"
    assert "loss became nan" in capsys.readouterr().out
    assert len(result.history["total"]) == 3 and all(np.isfinite(result.history["total"]))
    assert np.all(np.isfinite(result.image.numpy()))
    assert result.image.shape == pair32[0].shape


@pytest.mark.parametrize("optimizer", LBFGS_ENGINES)
def test_interrupt_returns_the_best_image(pair32, capsys, optimizer):
    seen = {}

    def interrupt(step, image, parts):
        seen[step] = image.numpy()
        if step == 4:
            raise KeyboardInterrupt

    result = optimize.transfer(*pair32, optimizer=optimizer, steps=20, callback=optimize.every(1, interrupt), progress=False)
    assert result.settings["stopped"] == "interrupted"
    assert "Interrupted at step 4" in capsys.readouterr().out
    total = result.history["total"]
    assert len(total) == 5
    best = int(np.argmin(total))
    assert best > 0, "L-BFGS should have improved on the start"
    np.testing.assert_allclose(result.image.numpy(), seen[best], atol=1e-6)


def test_scales_return_the_full_size():
    content = images.load_example("rocket", 64)  # not square
    style = images.load_example("swirls", 64)
    result = optimize.transfer(content, style, steps={48: 3, 64: 2}, progress=False)
    assert result.image.shape == content.shape
    assert result.history["scale"][0] == 48 and result.history["scale"][-1] == 64
    assert result.settings["scales"] == [48, 64]


def test_zero_weights_are_allowed(pair32):
    result = optimize.transfer(*pair32, style_weight=0, tv_weight=0, init="noise", steps=3, progress=False)
    assert max(result.history["style"]) == 0 and result.history["content"][-1] < result.history["content"][0]


def test_tutorial_recipe_total_is_the_tutorial_objective(pair32):
    content, style = pair32
    recipe = {**optimize.TUTORIAL_RECIPE, "network": optimize.Network(weights="random", precision="float32")}
    result = optimize.transfer(content, style, steps=1, progress=False, **recipe)
    extractor = vgg.StyleContentModel(weights="random")
    loss = losses.style_content_loss(extractor(content), extractor(style)["style"], extractor(content)["content"])
    loss += 30 * tf.reduce_sum(tf.image.total_variation(content))
    np.testing.assert_allclose(result.history["total"][0], float(loss), rtol=1e-5)
    assert result.settings["form"] == "mean" and result.settings["beta_1"] == 0.99 and result.settings["epsilon"] == 0.1
    assert result.settings["precision"] == "float32", "the recipe pins float32 on every machine"


def test_defaults_follow_the_weights_kind():
    random = optimize.resolve_settings("random")
    assert random["form"] == optimize.DEFAULTS["random"]["form"] and random["weights_kind"] == "random"
    assert optimize.DEFAULTS["imagenet"]["form"] == "mean" and optimize.DEFAULTS["imagenet"]["style_weight"] == 1e-2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "sgd"}, "optimizer = 'sgd': .*lbfgs, lbfgs-scipy, adam"),
        ({"optimizer": 3}, "optimizer = 3: a int is not an optimiser; pass one of lbfgs, lbfgs-scipy, adam, optimize.Adam"),
        ({"init": "zeros"}, "init = 'zeros': not a known start; use one of content, noise, blend"),
        ({"style_weight": -1}, "style_weight = -1: must be >= 0"),
        ({"content_weight": -0.5}, "content_weight = -0.5: must be >= 0"),
        ({"content_weight": "1e4"}, "content_weight = '1e4': a string, not a number; pass the number itself: content_weight=1e4"),
        ({"style_weight": True}, "style_weight = True: a bool is not a number"),
        ({"tv_weight": -1}, "tv_weight = -1: must be"),
        ({"terms": "temporal"}, "terms = 'temporal': not a list of terms"),
        ({"terms": [42]}, r"terms\[0\] = 42: a int is not a term"),
        ({"steps": 0}, "steps = 0: must be >= 1"),
        ({"preserve_color": "rgb"}, "preserve_color = 'rgb': not a known colour mode"),
        ({"form": "squared"}, "unknown loss form"),
        ({"steps": {16: 1, 32: 1}}, r"steps \(a scale\) = 16: must be >= 32"),
        ({"steps": {64: 1, 48: 1}}, "the long sides do not increase"),
        ({"steps": {32: 0}}, r"steps\[32\] = 0: must be >= 1"),
        ({"steps": {}}, "steps = {}: no scales"),
        ({"steps": 2.5}, "steps = 2.5: not a whole number; pass a whole number >= 1"),
        ({"steps": 10.0}, "steps = 10.0: a float, not a whole number; pass steps=10"),
        ({"steps": "10"}, "steps = '10': a string, not a whole number; pass the number itself: steps=10"),
        ({"steps": True}, "steps = True: a bool is not a whole number"),
        ({"optimizer": optimize.Adam(learning_rate=-0.01)}, r"Adam.learning_rate = -0.01: must be in \(0, 1\]"),
        ({"optimizer": optimize.Adam(learning_rate=50)}, r"learning_rate = 50: must be in \(0, 1\]; pass a number in \(0, 1\] \(pixels lie in"),
        ({"optimizer": optimize.Adam(learning_rate=float("nan"))}, "learning_rate = nan: not a finite number"),
        ({"optimizer": optimize.Adam(learning_rate="fast")}, "learning_rate = 'fast': a string, not a number"),
        ({"optimizer": optimize.Adam(beta_1=1.5)}, r"Adam.beta_1 = 1.5: must be in \[0, 1\)"),
        ({"optimizer": optimize.Adam(epsilon=0)}, "Adam.epsilon = 0: must be > 0"),
        ({"optimizer": optimize.LBFGS(memory=0)}, "LBFGS.memory = 0: must be >= 1"),
        ({"optimizer": optimize.LBFGS(engine="numpy")}, "LBFGS.engine = 'numpy'.*tensorflow, scipy"),
        ({"callback": "print"}, "callback = 'print': a str is not a function"),
        ({"steps": {"32": 1, 64: 1}}, r"steps \(a scale\) = '32': a string"),
        ({"network": "vgg"}, "network = 'vgg': neither an optimize.Network nor a feature extractor"),
        ({"network": optimize.Network(memory="small")}, "Network.memory = 'small'.*auto, low, fast"),
        ({"network": optimize.Network(pooling="min")}, "Network.pooling = 'min'"),
        ({"network": optimize.Network(precision="half")}, "Network.precision = 'half'"),
        ({"network": optimize.Network(recompute="yes")}, "Network.recompute = 'yes'"),
        ({"network": optimize.Network(weights="resnet")}, "Network.weights: "),
        ({"optimizer": "bfgs"}, "optimizer = 'bfgs'.*Did you mean 'lbfgs'"),
    ],
)
def test_bad_arguments_fail_clearly(pair32, kwargs, match):
    with pytest.raises(optimize.TransferError, match=match):
        optimize.transfer(*pair32, progress=False, **kwargs)


def test_too_small_image_fails_clearly(pair32):
    with pytest.raises(ValueError, match="too small") as info:
        optimize.transfer(tf.zeros([1, 20, 40, 3]), pair32[1], steps=1, progress=False)
    # the remedy is one a caller of transfer can take: a larger image, or the content enlarged and passed as a tensor
    assert "content=images.load_img(..., max_dim=256, upscale=True)" in str(info.value) and "as it loads" not in str(info.value)
    with pytest.raises(ValueError, match="style: .*too small"):
        optimize.transfer(pair32[0], np.zeros((16, 16, 3), np.uint8), steps=1, progress=False)


@pytest.mark.parametrize("optimizer", LBFGS_ENGINES)
def test_progress_bar_and_callback(pair32, capsys, optimizer):
    calls = []
    optimize.transfer(*pair32, optimizer=optimizer, steps=4,
                      callback=optimize.every(2, lambda s, im, p: calls.append((s, tuple(im.shape), sorted(p)))))
    assert [c[0] for c in calls] == [2, 4]
    assert calls[0][1] == tuple(pair32[0].shape) and calls[0][2] == ["content", "style", "total", "tv"]
    assert "style transfer" in capsys.readouterr().err


def _own_tv(image):
    """The total variation written out, as the exercise asks."""
    return tf.reduce_sum(tf.abs(image[:, 1:] - image[:, :-1])) + tf.reduce_sum(tf.abs(image[:, :, 1:] - image[:, :, :-1]))


def _student_step(tv_weight=None, clip=True, content_weight=1e4):
    """A train_step as the exercise asks for it (optionally with a mistake)."""

    def step(image, extractor, opt, style_targets, content_targets, tv=None):
        with tf.GradientTape() as tape:
            loss = losses.style_content_loss(extractor(image), style_targets, content_targets, 1e-2, content_weight)
            if tv is not None:
                loss += tv * _own_tv(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        if clip:
            image.assign(images.clip_0_1(image))
        return loss

    return step


def test_exercise_checks_pass_and_fail(capsys):
    from helpers import check

    assert check.train_step(_student_step())
    assert not check.train_step(_student_step(content_weight=1e3))
    assert check.train_step_with_tv(_student_step())
    assert not check.train_step_with_tv(lambda *args: _student_step()(*args[:5]))
    assert check.total_variation_loss(_own_tv)
    assert not check.total_variation_loss(lambda im: tf.reduce_sum(tf.image.total_variation(im))), "a call of TF's version is hidden"
    assert not check.total_variation_loss(lambda im: losses.total_variation_loss(im)), "so is the course's"
    assert not check.total_variation_loss(losses.total_variation_loss), "and the course's function itself is no answer"
    assert tf.image.total_variation is not None and losses.total_variation_loss(tf.zeros((1, 4, 4, 3))) == 0, "both come back"

    def mean_tv(im):
        return tf.reduce_mean(tf.abs(im[:, 1:] - im[:, :-1])) + tf.reduce_mean(tf.abs(im[:, :, 1:] - im[:, :, :-1]))

    assert not check.total_variation_loss(mean_tv)
    out = capsys.readouterr().out
    assert "✓ train_step" in out and "✗ total_variation_loss" in out and "mean" in out
    assert "write it yourself" in out


def test_a_zero_weight_term_is_skipped_and_the_model_stops_early(pair32, monkeypatch):
    """style_weight=0 with a shallow content layer: VGG19 is cut at block1_conv2; the content term is unchanged."""
    built = []
    real = vgg.vgg_layers

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        built.append([layer.name for layer in model.layers])
        return model

    monkeypatch.setattr(vgg, "vgg_layers", spy)
    content, style = pair32
    chosen = optimize.resolve_settings("auto")
    only_content = terms.Content(content, layers=["block1_conv2"], weight=chosen["content_weight"], form=chosen["form"])
    result = optimize.transfer(only_content, style, style_weight=0, init="noise", steps=3, progress=False)
    assert result.settings["deepest_layer"] == "block1_conv2"
    assert len(built) == 1 and "block1_conv2" in built[0]
    assert not [n for n in built[0] if n.startswith(("block2", "block3", "block4", "block5"))], built[0]
    assert max(result.history["style"]) == 0 and result.history["content"][-1] < result.history["content"][0]
    # The content term is the one the full model gives.
    start = optimize.initial_image(content, "noise", seed=0)
    full = vgg.StyleContentModel(content_layers=["block1_conv2"], weights="auto")
    want = chosen["content_weight"] * losses.content_loss(full(start)["content"], full(content)["content"], chosen["form"])
    np.testing.assert_allclose(result.history["content"][0], float(want), rtol=1e-5)


def test_both_terms_use_the_full_model(lbfgs_run, pair64):
    result, seen = lbfgs_run
    settings = result.settings
    assert settings["deepest_layer"] == "block5_conv2"
    assert settings["stopped"] == "finished"
    assert settings["lbfgs_evaluations"] >= 25
    # the recorded terms of the last iterate are the style and content losses of the default layers, recomputed here
    content, style = pair64
    model = vgg.StyleContentModel(weights="auto")
    out = model(tf.constant(seen[-1]))
    want_style = settings["style_weight"] * float(losses.style_loss(out["style"], model(style)["style"], None, settings["form"]))
    want_content = settings["content_weight"] * float(losses.content_loss(out["content"], model(content)["content"], settings["form"]))
    np.testing.assert_allclose(result.history["style"][-1], want_style, rtol=1e-3)
    np.testing.assert_allclose(result.history["content"][-1], want_content, rtol=1e-3)
    assert want_style > 0 and want_content > 0


@pytest.mark.parametrize("optimizer", LBFGS_ENGINES)
def test_all_zero_weights_stop_lbfgs_early_and_say_so(pair32, capsys, optimizer):
    """A constant objective: L-BFGS stops at once; settings['stopped'] says so and keeps the engine's message."""
    result = optimize.transfer(*pair32, optimizer=optimizer, style_weight=0, content_weight=0, tv_weight=0, steps=5, progress=False)
    assert result.settings["stopped"].startswith("lbfgs stopped early: after 0 of 5 iterations")
    assert result.settings["lbfgs_message"] in result.settings["stopped"]
    assert result.settings["deepest_layer"] is None
    np.testing.assert_allclose(result.image.numpy(), pair32[0].numpy(), atol=1e-6)
    assert "L-BFGS stopped early" in capsys.readouterr().out


def test_lbfgs_evaluation_limit_is_reported(pair32, monkeypatch):
    import scipy.optimize

    real = scipy.optimize.minimize

    def tiny_budget(*args, options=None, **kwargs):
        return real(*args, options={**options, "maxfun": 2}, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", tiny_budget)
    result = optimize.transfer(*pair32, optimizer="lbfgs-scipy", steps=10, progress=False)
    assert result.settings["stopped"].startswith("lbfgs stopped early")
    assert "EVALUATIONS EXCEEDS LIMIT" in result.settings["lbfgs_message"].upper()
    assert result.history["step"][-1] < 10


@pytest.mark.parametrize("optimizer", LBFGS_ENGINES)
def test_progress_uses_the_notebook_friendly_bar(pair32, monkeypatch, optimizer):
    from helpers import progress

    made = []
    real = progress.progress_bar
    monkeypatch.setattr(progress, "progress_bar", lambda *a, **k: made.append(k) or real(*a, **k))
    optimize.transfer(*pair32, optimizer=optimizer, steps=2)
    assert made and made[0]["total"] == 2 and made[0]["desc"] == "style transfer"


def test_paths_and_names_are_scaled_to_the_default_size_and_said_once(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from helpers import config

    config._NOTICES.pop("size", None)  # the note is said once per process: start this test from a clean slate
    monkeypatch.setattr(images, "DEFAULT_MAX_DIM", 64)  # the course's 512 px, made small for the test
    big = tmp_path / "phone photo.jpg"
    Image.fromarray((np.random.default_rng(0).random((300, 400, 3)) * 255).astype(np.uint8)).save(big)
    result = optimize.transfer(str(big), "swirls", steps=1, progress=False)
    assert result.image.shape == (1, 48, 64, 3)
    assert result.settings["size"] == (48, 64)
    again = optimize.transfer(big, "swirls", steps=1, progress=False)
    assert again.image.shape == (1, 48, 64, 3)
    out = capsys.readouterr().out
    assert out.count("content: 400x300 px scaled to 64x48 (max_dim=64") == 1, out
    # a tensor is used at the size its caller chose; an array is the reader's full-size photo and is scaled
    tensor = optimize.transfer(images.load_img(big, max_dim=80), "swirls", steps=1, progress=False)
    assert tensor.image.shape == (1, 60, 80, 3)
    array = optimize.transfer(np.asarray(images.load_img(big, max_dim=80))[0], "swirls", steps=1, progress=False)
    assert array.image.shape == (1, 48, 64, 3)
    # coarse to fine up to 80 px keeps the content at 80 px although the default size is 64
    scaled = optimize.transfer(big, "swirls", steps={40: 1, 80: 1}, progress=False)
    assert scaled.image.shape == (1, 60, 80, 3) and scaled.settings["steps"] == [1, 1]
    # terms load the same way
    termed = optimize.transfer(big, terms.Style("swirls"), steps=1, progress=False)
    assert termed.image.shape == (1, 48, 64, 3)


def test_a_thin_image_keeps_a_32_px_short_side_at_every_scale():
    rng = np.random.default_rng(3)
    content = tf.constant(rng.random((1, 40, 160, 3)), tf.float32)  # a 4:1 strip: at 64 px long it would be 16 px high
    result = optimize.transfer(content, images.load_img("swirls", 64), steps={64: 1, 160: 1}, progress=False)
    assert result.image.shape == (1, 40, 160, 3)
    assert result.history["scale"][0] == 64 and result.history["scale"][-1] == 160


def test_recompute_is_off_unless_asked_for(pair32):
    assert optimize.transfer(*pair32, steps=1, progress=False).settings["recompute"] is False
    assert optimize.transfer(*pair32, steps=1, progress=False, network=optimize.Network(recompute=True)).settings["recompute"] is True
    striped = optimize.transfer(*pair32, steps=1, progress=False, network=optimize.Network(recompute=True, memory="low")).settings
    assert striped["recompute"] is False and striped["stripe_rows"] >= 32, "stripes replace recomputation"


def test_default_lbfgs_memory_is_capped_by_bytes(monkeypatch):
    monkeypatch.setattr(optimize, "LBFGS_MEMORY", 50)
    monkeypatch.setattr(optimize, "LBFGS_MEMORY_BYTES", 640 * 2**20)
    assert optimize.default_lbfgs_memory(256 * 256) == 50
    assert optimize.default_lbfgs_memory(512 * 512) == 50  # 640 MiB / (2 x 3 x 512^2 x 8 bytes) = 53
    assert optimize.default_lbfgs_memory(1024 * 1024) == 13  # 640 MiB / (2 x 3 x 1024^2 x 8 bytes) = 13.3
    assert optimize.default_lbfgs_memory(4096 * 4096) == 5, "never fewer than 5"


def test_lbfgs_restarts_after_a_failed_line_search(monkeypatch, pair32):
    import scipy.optimize

    real = scipy.optimize.minimize
    calls = []

    def flaky(fun, x0, **kwargs):
        calls.append((x0.copy(), kwargs["options"]["maxiter"]))
        result = real(fun, x0, **{**kwargs, "options": {**kwargs["options"], "maxiter": min(3, kwargs["options"]["maxiter"])}})
        if len(calls) == 1:  # pretend the first stage's line search failed after 3 iterations
            result.status, result.message = 2, "ABNORMAL: "
        return result

    monkeypatch.setattr(scipy.optimize, "minimize", flaky)
    result = optimize.transfer(*pair32, optimizer="lbfgs-scipy", steps=6, progress=False)
    assert [maxiter for _, maxiter in calls] == [6, 3], "the restart runs the remaining iterations"
    assert result.settings["lbfgs_restarts"] == [3]
    assert not np.array_equal(calls[0][0], calls[1][0]), "the restart starts from the image reached, not the start"
    assert result.history["step"][-1] == 6 and result.settings["stopped"] == "finished"


def test_tensorflow_lbfgs_lowers_the_loss_as_fast_as_scipy(lbfgs_runs):
    """Iteration for iteration, L-BFGS in TensorFlow is at most 10 % above scipy's L-BFGS-B on the course's objective."""
    tf_total = lbfgs_runs["lbfgs"][0].history["total"]
    scipy_total = lbfgs_runs["lbfgs-scipy"][0].history["total"]
    assert tf_total[0] == pytest.approx(scipy_total[0], rel=1e-5), "both start from the content"
    for step in (10, 25):
        assert tf_total[step] <= 1.10 * scipy_total[step], (step, tf_total[step], scipy_total[step])
    settings = lbfgs_runs["lbfgs"][0].settings
    assert settings["lbfgs_line_search"] in lbfgs.LINE_SEARCHES and settings["lbfgs_bounds"] in lbfgs.BOUNDS


def test_tensorflow_lbfgs_runs_several_iterations_per_call_between_callbacks(pair32, monkeypatch):
    from helpers import lbfgs as engine

    calls = []
    real = engine.LBFGS.run
    monkeypatch.setattr(engine.LBFGS, "run", lambda self, k: calls.append(k) or real(self, k))
    monkeypatch.setattr(optimize, "LBFGS_CALL_SECONDS", 1e6)  # as many iterations per call as the callback allows
    seen = {}
    result = optimize.transfer(*pair32, steps=10, callback=optimize.every(5, lambda s, im, p: seen.update({s: im.numpy()})), progress=False)
    assert calls == [1, 4, 5], "the first call times one iteration; the others end at the callback's steps"
    assert sorted(seen) == [5, 10] and result.history["step"] == list(range(11))
    seconds = result.history["seconds"]
    assert all(b > a for a, b in zip(seconds, seconds[1:])), "a call's time is spread over its iterations"
    np.testing.assert_allclose(result.image.numpy(), seen[10], atol=1e-6)


def test_memory_low_gives_the_same_run_as_fast(pair64, capsys, monkeypatch):
    content, style = pair64
    monkeypatch.setattr(optimize, "STRIPE_PIXELS", 64 * 32)  # two stripes of 32 rows
    fast = optimize.transfer(content, style, steps=3, progress=False, network=optimize.Network(memory="fast", precision="float32"))
    low = optimize.transfer(content, style, steps=3, progress=False, network=optimize.Network(memory="low", precision="float32"))
    assert fast.settings["stripe_rows"] is None and low.settings["stripe_rows"] == 32 and low.settings["memory"] == "low"
    np.testing.assert_allclose(low.history["total"], fast.history["total"], rtol=1e-4)
    assert "memory='auto'" not in capsys.readouterr().out
    monkeypatch.setattr(optimize, "STRIPES_ABOVE", 60 * 60)
    auto = optimize.transfer(content, style, steps=1, progress=False)
    assert auto.settings["stripe_rows"] == 32 and auto.settings["memory"] == "auto"
    said = capsys.readouterr().out
    assert said.count("memory='auto': 64x64 px is over 3,600 pixels, so VGG19's first two blocks run in stripes") == 1, said
    monkeypatch.undo()
    assert optimize.stripe_rows(2048, 2048) == 128 and optimize.stripe_rows(100, 10000) == 32


def test_every_sets_how_often_a_callback_is_called():
    calls = []
    callback = optimize.every(3, lambda step, image, parts: calls.append(step))
    assert callback.every == 3 and callback(1, None, {}) is None and calls == [1]
    with pytest.raises(optimize.TransferError, match="every = 0.5: not a whole number"):
        optimize.every(0.5, print)
    with pytest.raises(optimize.TransferError, match="fn = 'print': a str is not a function"):
        optimize.every(2, "print")


def test_transfer_takes_at_most_twelve_keyword_arguments():
    """The one-line entry point of notebooks 00 and 03 stays small: anything more is a term, an Adam/LBFGS or a Network."""
    import inspect

    keywords = [p for p in inspect.signature(optimize.transfer).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert len(keywords) <= 12, [p.name for p in keywords]


def test_progress_is_a_switch_or_a_label(pair32):
    with pytest.raises(optimize.TransferError, match="progress = 1: not True, False or a label"):
        optimize.transfer(*pair32, steps=1, progress=1)
