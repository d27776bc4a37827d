"""The exercise checks of notebook 03 name the mistake they find, and keep their own model's notice out of the output."""

import tensorflow as tf

from helpers import images, losses


def _step(style_weight=1e-2, content_weight=1e4):
    """A train_step as the exercise asks for it, with the given weights."""

    def step(image, extractor, opt, style_targets, content_targets):
        with tf.GradientTape() as tape:
            loss = losses.style_content_loss(extractor(image), style_targets, content_targets, style_weight, content_weight)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(images.clip_0_1(image))
        return loss

    return step


def test_train_step_names_swapped_weights(capsys):
    from helpers import check

    assert check.train_step(_step())
    honest = capsys.readouterr().out
    assert "✓ train_step" in honest
    assert "[vgg19]" not in honest, "the check's own random-weights model is not announced to the student"
    assert not check.train_step(_step(style_weight=1e4, content_weight=1e-2))
    swapped = capsys.readouterr().out
    assert "swapped" in swapped and "style_weight=0.01" in swapped and "content_weight=10000" in swapped
    assert not check.train_step(_step(content_weight=1e3))
    other = capsys.readouterr().out
    assert "✗ train_step" in other and "swapped" not in other, "another wrong weight is caught, and not called a swap"
