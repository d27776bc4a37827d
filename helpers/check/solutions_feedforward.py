"""Model answers to the exercises of notebook 05. Try the exercises first; read this file only to compare.

Each answer follows the notebook's formula with plain NumPy, so a reader can hold the code against the equation.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["instance_norm", "style_weights", "conditional_instance_norm"]

NUM_STYLES = 26


def instance_norm(x, epsilon: float = 1e-5):
    """[B, H, W, C] -> (x - mu) / sqrt(sigma^2 + epsilon), mu and sigma^2 over H and W for each image and channel."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=(1, 2), keepdims=True)
    variance = x.var(axis=(1, 2), keepdims=True)  # the population variance (divide by H*W)
    return ((x - mu) / np.sqrt(variance + epsilon)).astype(np.float32)


def _index(value) -> int:
    """A style index in 0..25, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < NUM_STYLES:
        raise ValueError(f"style index {value!r} is not an integer from 0 to {NUM_STYLES - 1}")
    return int(value)


def style_weights(spec):
    """An index, a {index: weight} dict or 26 weights -> float32 [26] weights >= 0 that sum to 1 (ValueError if impossible)."""
    weights = np.zeros(NUM_STYLES)
    if isinstance(spec, dict):
        if not spec:
            raise ValueError("empty blend")
        for index, weight in spec.items():
            weights[_index(index)] += float(weight)
    elif isinstance(spec, numbers.Integral):
        weights[_index(spec)] = 1.0
    else:
        weights = np.asarray(spec, dtype=np.float64)
        if weights.shape != (NUM_STYLES,):
            raise ValueError(f"need {NUM_STYLES} weights, got shape {weights.shape}")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError("weights must be finite and >= 0")
    if weights.sum() <= 0:
        raise ValueError("weights sum to 0")
    return (weights / weights.sum()).astype(np.float32)


def conditional_instance_norm(x, gammas, betas, weights):
    """x [B, H, W, C], gammas and betas [N, C], weights [N] -> (weights @ gammas) * IN(x) + weights @ betas."""
    weights = np.asarray(weights, dtype=np.float64)
    gamma = weights @ np.asarray(gammas, dtype=np.float64)  # [C]: the mixed scale
    beta = weights @ np.asarray(betas, dtype=np.float64)  # [C]: the mixed shift
    return (gamma * instance_norm(x) + beta).astype(np.float32)
