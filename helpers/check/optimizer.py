"""Exercise checks for notebook 03 (the hand-built VGG19 optimizer): train_step, total-variation loss.

While a student's function runs, the course's own total variation (``losses.total_variation_loss``, and TensorFlow's
``tf.image.total_variation``) is hidden, so an answer that only calls it is reported instead of accepted.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import tensorflow as tf

from helpers import losses
from helpers.check._common import call, compare, hidden, report

__all__ = ["train_step", "train_step_with_tv", "total_variation_loss"]

#: The TF tutorial's weights, which the exercises use.
STYLE_WEIGHT, CONTENT_WEIGHT, TV_WEIGHT = 1e-2, 1e4, 30.0


def _tiny_pair(size: int = 32, seed: int = 0):
    """A smooth random content image and a stripy style image, [1, size, size, 3] in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    content = np.stack([0.5 + 0.4 * np.sin(3 * xx + c) * np.cos(2 * yy) for c in range(3)], -1)
    content = np.clip(content + 0.03 * rng.standard_normal(content.shape), 0, 1)
    style = np.stack([0.5 + 0.5 * np.sin(20 * (xx + yy) + 2 * c) for c in range(3)], -1)
    return tf.constant(content[None], tf.float32), tf.constant(style[None], tf.float32)


def _adam():
    """The tutorial's optimiser: Adam(lr 0.02, beta_1 0.99, epsilon 0.1)."""
    return tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)


def _run_student(fn, steps: int, tv_weight: float | None):
    """Run the student's step `steps` times from the content image; return (images, losses) or (None, error)."""
    from helpers import vgg

    content, style = _tiny_pair()
    with _quiet():
        extractor = vgg.StyleContentModel(weights="random")
    style_targets = extractor(style)["style"]
    content_targets = extractor(content)["content"]
    image = tf.Variable(content)
    opt = _adam()
    found = []
    for _ in range(steps):
        args = (image, extractor, opt, style_targets, content_targets)
        with _tv_hidden():
            loss, error = call(fn, *args) if tv_weight is None else call(fn, *args, tv_weight)
        if error:
            return None, error
        if loss is not None and np.asarray(loss).size != 1:
            return None, f"returned a loss of shape {np.asarray(loss).shape}; return one number (the total loss)"
        found.append((tf.identity(image).numpy(), None if loss is None else float(np.asarray(loss).reshape(-1)[0])))
    return found, None


@contextlib.contextmanager
def _quiet():
    """Keep the notice of the check's own small random-weights VGG19 (no download needed) out of the student's output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _tv_hidden():
    """Hide the course's and TensorFlow's total variation while a student's function runs."""
    with hidden(losses, "total_variation_loss"), hidden(tf.image, "total_variation"):
        yield


def _reference(steps: int, tv_weight: float, swapped: bool = False):
    """The course's own Adam run (helpers.optimize.transfer with the tutorial recipe) on the same pair.

    With `swapped`, the style and content weights trade places: the run of the commonest mistake, to name it in the hint.
    """
    from helpers import optimize

    content, style = _tiny_pair()
    seen = {}
    weights = {"style_weight": CONTENT_WEIGHT, "content_weight": STYLE_WEIGHT} if swapped else {}
    with _quiet():
        result = optimize.transfer(
            content, style, steps=steps, progress=False,
            callback=optimize.every(1, lambda step, image, parts: seen.update({step: image.numpy()})),
            **{**optimize.TUTORIAL_RECIPE, "network": optimize.Network(weights="random", precision="float32"), "tv_weight": tv_weight, **weights},
        )
    return result, seen


def _check_step(name, fn, tv_weight):
    """Compare the student's first step (image) and first two losses with the reference run."""
    steps = 2
    found, error = _run_student(fn, steps, None if tv_weight == 0.0 else tv_weight)
    if error:
        return report(name, [error])
    ref, ref_images = _reference(steps, tv_weight)
    content, _ = _tiny_pair()
    problems = []
    last = found[0][0]
    if np.allclose(last, content.numpy()):
        problems.append("the image did not change: apply the gradient with opt.apply_gradients([(grad, image)])")
    elif last.min() < -1e-6 or last.max() > 1 + 1e-6:
        problems.append(f"pixels lie in [{last.min():.3g}, {last.max():.3g}]: clip the image to [0, 1] after each step (clip_0_1)")
    else:
        diff = compare(last, ref_images[1], rtol=1e-4, atol=1e-5)
        if diff:
            problems.append("after one step the image differs from the reference: " + diff[0])
            _, swapped_images = _reference(1, tv_weight, swapped=True)
            if not compare(last, swapped_images[1], rtol=1e-4, atol=1e-5):
                problems.append(f"it matches a step with the two weights swapped: style_weight={STYLE_WEIGHT:g} (beta), "
                                f"content_weight={CONTENT_WEIGHT:g} (alpha)")
            elif tv_weight:
                problems.append(f"is the TV term tv_weight * my_total_variation_loss(image) (tv_weight={tv_weight})?")
            else:
                problems.append(f"is the loss style_content_loss(outputs, style_targets, content_targets, style_weight={STYLE_WEIGHT:g}, "
                                f"content_weight={CONTENT_WEIGHT:g}), with no TV term?")
    want_losses = ref.history["total"][:steps]
    got_losses = [loss for _, loss in found]
    if any(v is None for v in got_losses):
        problems.append("return the loss from your function (it returned None)")
    elif not problems and not np.allclose(np.ravel(got_losses), want_losses, rtol=1e-3):
        problems.append(f"the returned losses {np.round(got_losses, 4).tolist()} differ from {np.round(want_losses, 4).tolist()}")
    return report(name, problems)


def train_step(fn) -> bool:
    """Check fn(image: tf.Variable, extractor, opt, style_targets, content_targets) -> loss: one Adam step, no TV."""
    return _check_step("train_step", fn, 0.0)


def train_step_with_tv(fn) -> bool:
    """Check fn(image, extractor, opt, style_targets, content_targets, tv_weight) -> loss: one step with the TV term."""
    return _check_step("train_step_with_tv", fn, TV_WEIGHT)


def total_variation_loss(fn) -> bool:
    """Check fn(image [B, H, W, 3]) -> scalar: the sum of absolute differences between neighbouring pixels."""
    rng = np.random.default_rng(1)
    image = tf.constant(rng.uniform(size=(1, 9, 7, 3)), tf.float32)
    with _tv_hidden():
        got, error = call(fn, image)
    if error:
        return report("total_variation_loss", [error])
    want = tf.reduce_sum(tf.image.total_variation(image)).numpy()
    got_arr = np.asarray(got, np.float64)
    if got_arr.size == 1:
        got_arr = got_arr.reshape(())
    problems = compare(got_arr, want, rtol=1e-4)
    if problems:
        x = np.abs(np.diff(image.numpy(), axis=2)).mean() + np.abs(np.diff(image.numpy(), axis=1)).mean()
        sq = np.square(np.diff(image.numpy(), axis=2)).sum() + np.square(np.diff(image.numpy(), axis=1)).sum()
        if got_arr.shape == () and np.isclose(float(got_arr), x, rtol=1e-3):
            problems.append("it looks like a mean; the course (and tf.image.total_variation) uses the sum")
        elif got_arr.shape == () and np.isclose(float(got_arr), sq, rtol=1e-3):
            problems.append("it looks like squared differences; use absolute values")
    return report("total_variation_loss", problems)
