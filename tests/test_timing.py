"""helpers.timing: warm-up calls are not timed, and the median is robust to one slow call."""

from __future__ import annotations

import time

import pytest

from helpers import timing


def test_warmups_are_called_but_not_timed():
    calls = []

    def fn():
        calls.append(len(calls))
        time.sleep(0.05 if len(calls) == 1 else 0.0)  # only the first (warm-up) call is slow

    samples = timing.time_calls(fn, repeats=3, warmups=1)
    assert len(calls) == 4 and len(samples) == 3
    assert max(samples) < 0.04


def test_median_ignores_one_outlier():
    delays = iter([0.0, 0.001, 0.08, 0.001])  # warm-up, then three timed calls with one slow one

    def fn():
        time.sleep(next(delays))

    assert timing.median_seconds(fn, repeats=3, warmups=1) < 0.04


def test_step_estimates_scale_with_pixels_and_steps(monkeypatch):
    from helpers import precision

    record = {"side": 128, "seconds": {"float32": 0.4, "bfloat16": 0.1}, "choice": "float32"}
    monkeypatch.setattr(precision, "measured", lambda refresh=False: record)
    monkeypatch.setenv("NST_PRECISION", "float32")
    at_128, at_256 = timing.step_seconds(128), timing.step_seconds(256)
    assert at_128 == pytest.approx(timing.STEP_PER_PASS * 0.4)
    assert 2.5 < at_256 / at_128 < 4.0, "a step at twice the side costs less than 4x (fixed per-op costs), more than 2.5x"
    assert timing.step_seconds(256, precision="bfloat16") == pytest.approx(at_256 / 4)
    assert timing.estimate_seconds({256: 10, 128: 5}, extra=3) == pytest.approx(3 + 10 * at_256 + 5 * at_128)


def test_estimate_line_names_minutes(monkeypatch):
    from helpers import environment, precision

    monkeypatch.setattr(precision, "measured", lambda refresh=False: {"side": 128, "seconds": {"float32": 0.5, "bfloat16": 2.0}})
    monkeypatch.setenv("NST_PRECISION", "float32")
    assert "about 10 min" in environment.estimate_line({}, extra_seconds=600)
    assert "under 2 min" in environment.estimate_line({128: 1})
