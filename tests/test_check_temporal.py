"""Notebook 08's exercise checks accept the model answers, name typical mistakes, and refuse the course's own helpers."""

from __future__ import annotations

import numpy as np

from helpers import check, temporal
from helpers.check import solutions_temporal as solutions


def test_frame_warping_error_accepts_the_answer_and_names_mistakes(capsys):
    assert check.frame_warping_error(solutions.frame_warping_error) is True
    assert check.frame_warping_error(lambda f, w, m: float(np.mean(np.square(f - w)))) is False
    assert "mask is ignored" in capsys.readouterr().out
    assert check.frame_warping_error(lambda f, w, m: float(np.mean(np.abs(f - w)[m]))) is False
    assert "mean absolute" in capsys.readouterr().out
    assert check.frame_warping_error(lambda f, w, m: float(np.mean(np.sum(np.square(f - w), -1)[m]))) is False
    assert "summed over the channels" in capsys.readouterr().out
    assert check.frame_warping_error(lambda f, w, m: float(np.mean(np.square(f - w) * m[..., None]))) is False
    assert "divided by all of them" in capsys.readouterr().out
    assert check.frame_warping_error(lambda f, w, m: None) is False
    assert "returned None" in capsys.readouterr().out


def test_blend_frame_accepts_the_answer_and_names_mistakes(capsys):
    assert check.blend_frame(solutions.blend_frame) is True
    assert check.blend_frame(lambda f, w, m, a: (1 - a) * f + a * w) is False
    assert "mask is ignored" in capsys.readouterr().out
    assert check.blend_frame(lambda f, w, m, a: np.where(m[..., None], a * f + (1 - a) * w, f)) is False
    assert "share of the warped previous frame" in capsys.readouterr().out


def test_answers_that_call_the_course_helpers_are_refused(capsys):
    def via_helper(frame, warped, mask):
        return temporal.warping_error(np.stack([warped, frame]), np.zeros((2, *frame.shape[:2], 2)), np.stack([mask, mask]))[0]

    assert check.frame_warping_error(via_helper) is False
    assert "hidden" in capsys.readouterr().out
    assert check.blend_frame(lambda f, w, m, a: temporal.blend_with_previous(np.stack([w, f]), np.zeros((2, *f.shape[:2], 2)),
                                                                               np.stack([m, m]), a)[1]) is False
    assert "hidden" in capsys.readouterr().out
