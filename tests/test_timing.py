"""helpers.timing: warm-up calls are not timed, and the median is robust to one slow call."""

from __future__ import annotations

import time

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
