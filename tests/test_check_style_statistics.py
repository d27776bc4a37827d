"""Notebook 07's exercise checks accept the model answers and name typical mistakes; the model answers agree with
helpers.style_stats; style_stats.step_cost counts what the statistics build."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers import check, style_stats
from helpers.check import solutions_style_statistics as solutions
from helpers.check import style_statistics

# held before any check hides them, as a student's own code would be
_mean_std, _projection = solutions.mean_std_loss, solutions.sliced_projection


def _moments(x, ddof=0):
    flat = tf.reshape(x, [-1, x.shape[-1]]).numpy().astype(np.float64)
    return flat.mean(0), flat.var(0, ddof=ddof)


def test_checks_are_exported():
    assert set(style_statistics.__all__) == {"mean_std_loss", "sliced_projection"}
    for name in style_statistics.__all__:
        assert getattr(check, name) is getattr(style_statistics, name)


def test_mean_std_loss_accepts_the_answer_and_names_mistakes(capsys):
    assert check.mean_std_loss(lambda f, t: _mean_std(f, t)) is True
    assert "✓" in capsys.readouterr().out

    def only_means(f, t):
        return float(np.mean((_moments(f)[0] - _moments(t)[0]) ** 2))

    def sample_variance(f, t):
        (mf, vf), (mt, vt) = _moments(f, 1), _moments(t, 1)
        return float(np.mean((mf - mt) ** 2) + np.mean((np.sqrt(vf + 1e-5) - np.sqrt(vt + 1e-5)) ** 2))

    def variances(f, t):
        (mf, vf), (mt, vt) = _moments(f), _moments(t)
        return float(np.mean((mf - mt) ** 2) + np.mean((vf - vt) ** 2))

    def summed(f, t):
        (mf, vf), (mt, vt) = _moments(f), _moments(t)
        return float(np.sum((mf - mt) ** 2) + np.sum((np.sqrt(vf + 1e-5) - np.sqrt(vt + 1e-5)) ** 2))

    def pooled(f, t):
        f, t = np.asarray(f, np.float64), np.asarray(t, np.float64)
        return float((f.mean() - t.mean()) ** 2 + (np.sqrt(f.var() + 1e-5) - np.sqrt(t.var() + 1e-5)) ** 2)

    for wrong, said in ((only_means, "only the means' part"), (sample_variance, "H*W - 1"), (variances, "compared variances"),
                        (summed, "do not sum"), (pooled, "take them per channel")):
        assert check.mean_std_loss(wrong) is False
        assert said in capsys.readouterr().out, wrong.__name__
    assert check.mean_std_loss(lambda f, t: None) is False
    assert "returned None" in capsys.readouterr().out
    assert check.mean_std_loss(lambda f, t: tf.zeros([3])) is False
    assert "one number" in capsys.readouterr().out


def test_handing_in_the_course_function_is_refused(capsys):
    assert check.mean_std_loss(lambda f, t: style_stats.style_distance(f, t, "mean_std")) is False
    assert "write it yourself" in capsys.readouterr().out
    assert check.sliced_projection(solutions.sliced_projection) is False
    assert "write it yourself" in capsys.readouterr().out


def test_sliced_projection_accepts_the_answer_and_names_mistakes(capsys):
    assert check.sliced_projection(lambda f, t, d: _projection(f, t, d)) is True
    assert "✓" in capsys.readouterr().out

    def project(x, d):
        return tf.reshape(x, [-1, x.shape[-1]]).numpy() @ np.asarray(d)

    wrongs = {
        "in their places": lambda f, t, d: float(np.mean((project(f, d) - project(t, d)) ** 2)),
        "not the sum": lambda f, t, d: float(np.sum((np.sort(project(f, d)) - np.sort(project(t, d))) ** 2)),
        "the other way round": lambda f, t, d: float(np.mean((np.sort(project(f, d)) - np.sort(project(t, d))[::-1]) ** 2)),
        "project each pixel": lambda f, t, d: float(np.mean((np.sort(np.ravel(f)) - np.sort(np.ravel(t))) ** 2)),
    }
    for said, wrong in wrongs.items():
        assert check.sliced_projection(wrong) is False
        assert said in capsys.readouterr().out, said


def test_one_projection_is_the_course_loss_with_one_direction():
    rng = np.random.default_rng(3)
    f, t = (tf.constant(rng.normal(size=(1, 5, 4, 6)).astype(np.float32)) for _ in range(2))
    prepared = style_stats.target(t, "sliced_wasserstein", projections=1, seed=7)
    direction = prepared.values["directions"][:, 0]
    np.testing.assert_allclose(float(_projection(f, t, direction)), float(style_stats.loss(f, prepared)), rtol=1e-5)
    np.testing.assert_allclose(float(_mean_std(f, t)), float(style_stats.style_distance(f, t, "mean_std")), rtol=1e-5)


@pytest.mark.parametrize("statistic, options", [("gram", {}), ("mean_std", {}), ("mean_cov", {}),
                                                ("sliced_wasserstein", {"projections": 5}), ("mrf", {"stride": 2})])
def test_step_cost_counts_the_targets_tensors(statistic, options):
    x = tf.random.stateless_uniform([1, 9, 8, 4], seed=(0, 1))
    prepared = style_stats.target(x, statistic, **options)
    counted = sum(int(np.prod(v.shape)) * v.dtype.size for v in prepared.values.values())
    cost = style_stats.step_cost(statistic, x.shape, x.shape, **options)
    assert cost["target_bytes"] == pytest.approx(counted, rel=0.0)
    assert cost["step_bytes"] > 0 and cost["multiply_adds"] > 0


def test_step_cost_of_mrf_grows_with_the_fourth_power_of_the_side():
    small = style_stats.step_cost("mrf", [1, 32, 32, 8], [1, 32, 32, 8])["multiply_adds"]
    large = style_stats.step_cost("mrf", [1, 62, 62, 8], [1, 62, 62, 8])["multiply_adds"]
    assert large / small == pytest.approx((60 / 30) ** 4)
    with pytest.raises(style_stats.StatisticError, match="channels"):
        style_stats.step_cost("gram", [1, 4, 4, 3], [1, 4, 4, 5])


def test_sliced_projection_names_a_sort_along_the_wrong_axis(capsys):
    def project(x, d):
        return np.tensordot(x.numpy()[0], np.asarray(d), axes=[[-1], [0]])   # [H, W]

    def by_rows(f, t, d):   # each row of the [H, W] map sorted on its own
        return float(np.mean((np.sort(project(f, d), axis=-1) - np.sort(project(t, d), axis=-1)) ** 2))

    def column(f, t, d):   # [H*W, 1] sorted along its last axis: no sort at all
        a, b = (tf.reshape(tf.constant(project(x, d)), [-1, 1]) for x in (f, t))
        return float(tf.reduce_mean((tf.sort(a) - tf.sort(b)) ** 2))

    for wrong in (by_rows, column):
        assert check.sliced_projection(wrong) is False
        assert "pixel axis" in capsys.readouterr().out, wrong.__name__


def test_mean_std_loss_needs_the_small_constant_under_the_square_root(capsys):
    def without_epsilon(f, t):
        (mf, vf), (mt, vt) = _moments(f), _moments(t)
        return float(np.mean((mf - mt) ** 2) + np.mean((np.sqrt(vf) - np.sqrt(vt)) ** 2))

    assert check.mean_std_loss(without_epsilon) is False
    assert "sqrt(variance + 1e-5)" in capsys.readouterr().out
