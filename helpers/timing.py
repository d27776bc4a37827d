"""Timing a call fairly: untimed warm-up calls first (graph tracing, memory allocation), then the median of repeats."""

from __future__ import annotations

import statistics
import time


def time_calls(fn, repeats: int = 3, warmups: int = 1) -> list[float]:
    """Call fn() `warmups` times untimed, then `repeats` times timed; return the timed seconds."""
    for _ in range(max(0, int(warmups))):
        fn()
    samples = []
    for _ in range(max(1, int(repeats))):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median_seconds(fn, repeats: int = 3, warmups: int = 1) -> float:
    """Median seconds of fn() over `repeats` timed calls after `warmups` untimed ones."""
    return statistics.median(time_calls(fn, repeats, warmups))
