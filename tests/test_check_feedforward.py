"""The exercise checks of notebook 05: right answers pass, typical mistakes fail with the hint that names them, and an
answer that only calls the course's own helper is reported (the helper is hidden while the check runs)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import check, feedforward, multistyle
from helpers.check import solutions_feedforward as solutions


def _out(capsys) -> str:
    return capsys.readouterr().out


# --- instance norm ---------------------------------------------------------------------------------------------------


def test_instance_norm_accepts_the_model_answer_and_a_tensorflow_one(capsys):
    assert check.instance_norm(solutions.instance_norm) is True
    assert "✓" in _out(capsys)

    def with_moments(x):
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) / tf.sqrt(variance + 1e-5)

    assert check.instance_norm(with_moments) is True


def test_instance_norm_rejects_an_answer_that_calls_the_course_helper(capsys):
    assert check.instance_norm(lambda x: feedforward.instance_norm(x)) is False
    assert "calls feedforward.instance_norm" in _out(capsys)
    assert check.instance_norm(lambda x: feedforward.InstanceNormalization()(x)) is False
    assert "calls feedforward.InstanceNormalization" in _out(capsys)
    # restored afterwards: the network and the helper work again
    assert feedforward.instance_norm(tf.ones([1, 2, 2, 1])).shape == (1, 2, 2, 1)
    assert feedforward.TransformNet((4, 4, 4), 1)(tf.zeros([1, 16, 16, 3])).shape == (1, 16, 16, 3)


@pytest.mark.parametrize("wrong, hint", [
    (feedforward.batch_norm, "batch normalisation"),
    (lambda x: x - tf.reduce_mean(x, axis=[1, 2], keepdims=True), "divide by sqrt(variance + epsilon)"),
    (lambda x: (x - tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True))
     / tf.sqrt(tf.math.reduce_variance(x, axis=[1, 2, 3], keepdims=True) + 1e-5), "layer norm"),
    (lambda x: None, "returned None"),
    (lambda x: 1 / 0, "ZeroDivisionError"),
])
def test_instance_norm_names_the_mistake(wrong, hint, capsys):
    assert check.instance_norm(wrong) is False
    assert hint in _out(capsys)


def test_instance_norm_names_a_missing_epsilon_on_a_constant_channel(capsys):
    def no_epsilon(x):
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) / tf.sqrt(variance)

    assert check.instance_norm(no_epsilon) is False
    out = _out(capsys)
    assert "variance 0" in out and "sqrt(variance + 1e-5)" in out


def test_instance_norm_names_the_sample_variance(capsys):
    def sample_variance(x):
        x = np.asarray(x, np.float64)
        mean = x.mean(axis=(1, 2), keepdims=True)
        return (x - mean) / np.sqrt(x.var(axis=(1, 2), keepdims=True, ddof=1) + 1e-5)

    assert check.instance_norm(sample_variance) is False
    out = _out(capsys)
    assert "sample variance" in out and "ddof=1" in out and "population variance" in out
    assert "divide by sqrt(variance + epsilon)" not in out


# --- style weights ---------------------------------------------------------------------------------------------------


def test_style_weights_accepts_the_model_answer(capsys):
    assert check.style_weights(solutions.style_weights) is True
    assert "✓" in _out(capsys)


def test_style_weights_rejects_an_answer_that_calls_the_course_helper(capsys):
    assert check.style_weights(lambda spec: multistyle.style_weights(spec)) is False
    assert "calls multistyle.style_weights" in _out(capsys)
    assert multistyle.style_weights(3)[3] == 1.0  # restored afterwards


def test_style_weights_wants_value_error_for_every_bad_spec(capsys):
    def index_error(spec):
        if isinstance(spec, int) and not 0 <= spec < 26:
            raise IndexError(spec)
        return solutions.style_weights(spec)

    def no_length_check(spec):
        if isinstance(spec, list):
            weights = np.asarray(spec, np.float32)
            return weights / weights.sum()
        return solutions.style_weights(spec)

    def empty_dict_is_uniform(spec):
        return np.full(26, 1 / 26, np.float32) if spec == {} else solutions.style_weights(spec)

    for wrong, hint in ((index_error, "raised IndexError"), (no_length_check, "style_weights([1.0, 2.0]) should raise"),
                        (empty_dict_is_uniform, "style_weights({}) should raise")):
        assert check.style_weights(wrong) is False, wrong.__name__
        assert hint in _out(capsys), wrong.__name__


def test_style_weights_rejects_weights_that_are_not_normalised(capsys):
    def unnormalised(spec):
        weights = np.zeros(26, np.float32)
        if isinstance(spec, dict):
            for index, weight in spec.items():
                weights[index] = weight
        return weights if isinstance(spec, dict) else solutions.style_weights(spec)

    assert check.style_weights(unnormalised) is False
    assert "style_weights({0: 1.0, 25: 1.0})" in _out(capsys)


# --- conditional instance norm ---------------------------------------------------------------------------------------


def test_conditional_instance_norm_accepts_the_model_answer_and_the_course_instance_norm(capsys):
    assert check.conditional_instance_norm(solutions.conditional_instance_norm) is True

    def with_course_norm(x, gammas, betas, weights):  # the exercise is the mixing; reusing an instance norm is fine
        gamma = tf.linalg.matvec(gammas, weights, transpose_a=True)
        beta = tf.linalg.matvec(betas, weights, transpose_a=True)
        return feedforward.instance_norm(x) * gamma + beta

    assert check.conditional_instance_norm(with_course_norm) is True
    assert _out(capsys).count("✓") == 2


def test_conditional_instance_norm_rejects_an_answer_that_calls_the_course_helper(capsys):
    assert check.conditional_instance_norm(lambda x, g, b, w: multistyle.conditional_instance_norm(x, g, b, w)) is False
    assert "calls multistyle.conditional_instance_norm" in _out(capsys)


def _normed(x):
    return solutions.instance_norm(x)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, g, b, w: _normed(x) * g[0] + b[0], "only the first style"),
    (lambda x, g, b, w: _normed(x) * tf.reduce_sum(g, 0) + tf.reduce_sum(b, 0), "without the weights"),
    (lambda x, g, b, w: _normed(x) * tf.linalg.matvec(g, w, transpose_a=True) + b[0], "beta is not"),
    (lambda x, g, b, w: x * tf.linalg.matvec(g, w, transpose_a=True) + tf.linalg.matvec(b, w, transpose_a=True),
     "not normalised first"),
    (lambda x, g, b, w: None, "returned None"),
])
def test_conditional_instance_norm_names_the_mistake(wrong, hint, capsys):
    assert check.conditional_instance_norm(wrong) is False
    assert hint in _out(capsys)
