"""Exercise checks for notebook 05 (fast feed-forward networks): instance norm, style blending, conditional IN."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers.check._common import call, compare, report

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
    got, error = call(fn, x)
    if error:
        return report("instance_norm", [error])
    problems = compare(got, want, rtol=1e-3, atol=1e-3)
    if problems and np.shape(got) == want.shape:
        got = np.asarray(got, dtype=np.float64)
        xs = x.numpy().astype(np.float64)
        mean = xs.mean(axis=(1, 2), keepdims=True)
        sample = (xs - mean) / np.sqrt(xs.var(axis=(1, 2), keepdims=True, ddof=1) + 1e-5)
        if np.allclose(got, feedforward.batch_norm(x).numpy(), atol=1e-3):
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
    return report("instance_norm", problems)


def style_weights(fn) -> bool:
    """Check fn(spec) -> the 26 blend weights (float32, >= 0, summing to 1) for an index, {index: weight} or a list."""
    from helpers import multistyle

    problems = []
    cases = [3, {0: 1.0, 25: 1.0}, {4: 3.0, 7: 1.0}, [1.0] * multistyle.NUM_STYLES]
    for spec in cases:
        got, error = call(fn, spec)
        if error:
            return report("style_weights", [f"style_weights({spec!r}) {error}"])
        for p in compare(got, multistyle.style_weights(spec), atol=1e-6):
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
    got, error = call(fn, x, gammas, betas, weights)
    if error:
        return report("conditional_instance_norm", [error])
    problems = compare(got, want, rtol=1e-3, atol=1e-3)
    if problems and np.shape(got) == want.shape:
        from helpers import feedforward

        normed = feedforward.instance_norm(x).numpy()
        if np.allclose(got, normed * gammas.numpy()[0] + betas.numpy()[0], atol=1e-3):
            problems = ["only the first style's gamma and beta are used: mix all N rows with the weights"]
        elif np.allclose(got, np.asarray(x) * gammas.numpy()[0] + betas.numpy()[0], atol=1e-3) or np.allclose(
            got, np.asarray(x) * (weights.numpy() @ gammas.numpy()) + weights.numpy() @ betas.numpy(), atol=1e-3
        ):
            problems = ["x is scaled and shifted but not normalised first: apply instance normalisation before gamma and beta"]
    return report("conditional_instance_norm", problems)
