"""Exercise checks for notebook 05 (fast feed-forward networks): instance norm, style blending, conditional IN.

What the student's functions take and return (the exercise text in the notebook says the same):

* ``instance_norm(x)``: ``[B, H, W, C]`` -> the same shape, each image and channel normalised over H and W to mean 0
  and variance 1: ``(x - mean) / sqrt(variance + 1e-5)`` (helpers.feedforward.instance_norm).
* ``style_weights(spec)``: an index 0-25, a ``{index: weight}`` dict or 26 weights -> float32 ``[26]``, >= 0, summing
  to 1; ``ValueError`` for anything else (helpers.multistyle.style_weights).
* ``conditional_instance_norm(x, gammas, betas, weights)``: ``x [B, H, W, C]``, ``gammas`` and ``betas [N, C]``,
  ``weights [N]`` -> ``(weights @ gammas) * IN(x) + weights @ betas`` (helpers.multistyle.conditional_instance_norm).

While a check runs, the course's own version of the function it checks is hidden (``feedforward.instance_norm`` and
the ``InstanceNormalization`` layer, ``multistyle.style_weights``, ``multistyle.conditional_instance_norm``), so an
answer that only calls it is reported instead of accepted. ``conditional_instance_norm`` may use an instance norm
(the student's own from the first exercise, or the course's): the exercise is the mixing.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers.check._common import NONE, call, compare, hidden, report

__all__ = ["instance_norm", "style_weights", "conditional_instance_norm"]


def _random_features(seed: int = 0) -> tf.Tensor:
    """[3, 6, 5, 4] features whose images and channels have very different means and scales."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 6, 5, 4)) * rng.uniform(0.2, 5.0, size=(3, 1, 1, 4)) + rng.uniform(-3, 3, size=(3, 1, 1, 4))
    return tf.constant(x, tf.float32)


def instance_norm(fn) -> bool:
    """Check fn(x [B, H, W, C]) -> x normalised per image and channel over H, W (mean 0, variance 1, epsilon 1e-5)."""
    from helpers import feedforward

    x = _random_features(0)
    want = feedforward.instance_norm(x).numpy()
    batch = feedforward.batch_norm(x).numpy()
    with hidden(feedforward, "instance_norm", "InstanceNormalization"):
        got, error = call(fn, x)
    if error:
        return report("instance_norm", [f"it {error}"])
    if got is None:
        return report("instance_norm", [NONE])
    problems = compare(got, want, rtol=1e-3, atol=1e-3)
    if problems and np.shape(got) == want.shape:
        got = np.asarray(got, dtype=np.float64)
        xs = x.numpy().astype(np.float64)
        mean = xs.mean(axis=(1, 2), keepdims=True)
        sample = (xs - mean) / np.sqrt(xs.var(axis=(1, 2), keepdims=True, ddof=1) + 1e-5)
        if np.allclose(got, batch, atol=1e-3):
            problems = ["this is batch normalisation: the mean and variance must be taken over axes 1 and 2 (H, W) only, per image"]
        elif np.allclose(got, sample, atol=1e-4):
            locations = xs.shape[1] * xs.shape[2]
            problems.append(f"you used the sample variance (divided by H*W - 1 = {locations - 1}, ddof=1); instance "
                            f"normalisation uses the population variance (divide by H*W = {locations}), which is what "
                            "tf.nn.moments, np.var and tf.math.reduce_variance compute")
        elif np.allclose(got.mean(axis=(1, 2)), 0, atol=1e-3) and not np.allclose(got.std(axis=(1, 2)), 1, atol=1e-2):
            problems.append("each channel has mean 0 but not variance 1: divide by sqrt(variance + epsilon)")
        elif np.allclose(got.mean(axis=(1, 2, 3)), 0, atol=1e-3) and not np.allclose(got.mean(axis=(1, 2)), 0, atol=1e-3):
            problems.append("the statistics are shared across channels (layer norm): keep one mean and variance per channel")
    if not problems:
        problems = _constant_channel_problems(fn, feedforward)
    return report("instance_norm", problems)


def _constant_channel_problems(fn, feedforward) -> list[str]:
    """Problems of fn on features with one constant channel (variance 0), where only the epsilon keeps the result finite."""
    x = _random_features(1).numpy()
    x[1, :, :, 2] = 0.5  # image 1, channel 2: the same value everywhere, so its variance is 0
    x = tf.constant(x)
    want = feedforward.instance_norm(x).numpy()
    with hidden(feedforward, "instance_norm", "InstanceNormalization"):
        got, error = call(fn, x)
    if error:
        return [f"on features with a constant channel (variance 0) it {error}"]
    if got is None:
        return [NONE]
    if np.shape(got) == want.shape:
        got = np.asarray(got, dtype=np.float64)
        flat = got[1, :, :, 2]  # the reference gives 0 there: (x - mean) is 0, divided by sqrt(0 + 1e-5)
        if not np.all(np.isfinite(got)) or not np.allclose(flat, 0, atol=1e-3):
            return ["a channel whose values are all equal (variance 0) gave NaN, inf or noise instead of 0: add the epsilon "
                    "1e-5 to the variance before the square root, sqrt(variance + 1e-5), so it never divides by 0 "
                    "(or by a rounding error)"]
    return [f"on features with a constant channel (variance 0): {p}" for p in compare(got, want, rtol=1e-3, atol=1e-3)]


def style_weights(fn) -> bool:
    """Check fn(spec) -> the 26 blend weights (float32, >= 0, summing to 1) for an index, {index: weight} or a list."""
    from helpers import multistyle

    problems = []
    cases = [3, {0: 1.0, 25: 1.0}, {4: 3.0, 7: 1.0}, [1.0] * multistyle.NUM_STYLES]
    wants = [multistyle.style_weights(spec) for spec in cases]
    with hidden(multistyle, "style_weights"):
        for spec, want in zip(cases, wants):
            got, error = call(fn, spec)
            if error:
                return report("style_weights", [f"style_weights({spec!r}) {error}"])
            if got is None:
                return report("style_weights", [NONE])
            for p in compare(got, want, atol=1e-6):
                problems.append(f"style_weights({spec!r}): {p}")
        for bad in (26, -1, {2: -1.0}, {1: 0.0}, {}, [1.0, 2.0], [1.0] * (multistyle.NUM_STYLES + 1)):
            try:
                got = fn(bad)
            except ValueError:
                continue
            except Exception as exc:  # noqa: BLE001 - any other error in student code is reported, not raised
                problems.append(f"style_weights({bad!r}) should raise ValueError, but raised {type(exc).__name__}: {exc}")
                continue
            problems.append(f"style_weights({bad!r}) should raise ValueError, but returned {got!r}")
    return report("style_weights", problems)


def conditional_instance_norm(fn) -> bool:
    """Check fn(x [B, H, W, C], gammas [N, C], betas [N, C], weights [N]) -> mixed gamma * IN(x) + mixed beta."""
    from helpers import multistyle

    rng = np.random.default_rng(1)
    x = _random_features(1)
    gammas = tf.constant(rng.uniform(0.5, 2.0, size=(5, 4)), tf.float32)
    betas = tf.constant(rng.normal(size=(5, 4)), tf.float32)
    weights = tf.constant([0.5, 0.0, 0.25, 0.0, 0.25], tf.float32)
    want = multistyle.conditional_instance_norm(x, gammas, betas, weights).numpy()
    with hidden(multistyle, "conditional_instance_norm"):
        got, error = call(fn, x, gammas, betas, weights)
    if error:
        return report("conditional_instance_norm", [f"it {error}"])
    if got is None:
        return report("conditional_instance_norm", [NONE])
    problems = compare(got, want, rtol=1e-3, atol=1e-3)
    if problems and np.shape(got) == want.shape:
        from helpers import feedforward

        normed = feedforward.instance_norm(x).numpy()
        g, b, w = gammas.numpy(), betas.numpy(), weights.numpy()
        if np.allclose(got, normed * g[0] + b[0], atol=1e-3):
            problems = ["only the first style's gamma and beta are used: mix all N rows with the weights"]
        elif np.allclose(got, normed * g.sum(axis=0) + b.sum(axis=0), atol=1e-3):
            problems = ["the N rows are added up without the weights: gamma = weights @ gammas (and the same for beta)"]
        elif np.allclose(got, normed * (w @ g) + b.mean(axis=0), atol=1e-3) or np.allclose(got, normed * (w @ g) + b[0], atol=1e-3):
            problems = ["gamma is mixed right but beta is not: beta = weights @ betas, with the same weights"]
        elif np.allclose(got, np.asarray(x) * gammas.numpy()[0] + betas.numpy()[0], atol=1e-3) or np.allclose(
            got, np.asarray(x) * (weights.numpy() @ gammas.numpy()) + weights.numpy() @ betas.numpy(), atol=1e-3
        ):
            problems = ["x is scaled and shifted but not normalised first: apply instance normalisation before gamma and beta"]
    return report("conditional_instance_norm", problems)
