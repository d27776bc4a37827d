"""Notebook 02's exercise checks hide the course's own helpers while the student's function runs."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers import check, compare, magenta


def test_blur_answer_that_calls_the_course_blur_fails(capsys):
    assert check.blur_style(lambda s: compare.blur(s)) is False
    out = capsys.readouterr().out
    assert "✗" in out and "calls compare.blur" in out


def test_handing_in_the_course_blur_itself_fails(capsys):
    assert check.blur_style(compare.blur) is False
    assert "course's own compare.blur" in capsys.readouterr().out


def test_blur_answer_that_calls_prepare_style_fails(capsys):
    assert check.blur_style(lambda s: compare.prepare_style(s, s.shape[1])) is False
    assert "calls compare.prepare_style" in capsys.readouterr().out


def test_blur_answer_that_calls_avg_pool_fails_and_avg_pool_is_back(capsys):
    assert check.blur_style(lambda s: tf.nn.avg_pool(s, ksize=3, strides=1, padding="SAME")) is False
    out = capsys.readouterr().out
    assert "calls nn.avg_pool" in out and "shifted copies" in out
    image = tf.ones((1, 4, 4, 3))
    np.testing.assert_allclose(tf.nn.avg_pool(image, 3, 1, "SAME").numpy(), image.numpy())


def test_blur_dividing_by_nine_is_told_to_count_the_neighbours(capsys):
    def by_nine(style):
        x = np.asarray(style, np.float64)[0]
        padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
        h, w = x.shape[:2]
        return (sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9)[None]

    assert check.blur_style(by_nine) is False
    assert "4 at a corner, 6 on an edge" in capsys.readouterr().out


def test_blur_written_out_passes_and_the_helpers_are_back(capsys):
    def by_hand(style):
        x = np.asarray(style, np.float64)[0]
        padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
        ones = np.pad(np.ones(x.shape[:2]), 1)
        h, w = x.shape[:2]
        total = sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3))
        count = sum(ones[i : i + h, j : j + w] for i in range(3) for j in range(3))
        return (total / count[..., None])[None]

    assert check.blur_style(by_hand) is True
    assert "✓" in capsys.readouterr().out
    image = tf.ones((1, 4, 4, 3))
    np.testing.assert_allclose(compare.blur(image).numpy(), image.numpy())


def test_interpolate_calling_the_helper_names_it(capsys):
    assert check.interpolate(lambda a, b, t: magenta.interpolate(a, b, t)) is False
    assert "calls magenta.interpolate" in capsys.readouterr().out
    v = tf.zeros((1, 1, 1, magenta.STYLE_DIM))
    assert magenta.interpolate(v, v, 0.5).shape == v.shape
