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


#: An optimiser step (forward, gradient, Gram matrices, losses) costs about this many bare VGG19 passes.
STEP_PER_PASS = 1.2
#: The share of a small VGG19 pass that does not grow with the pixels (per-op costs): it makes 256 px cost about 3x,
#: not 4x, a 128 px pass on a CPU.
FIXED_SHARE = 0.35


def step_seconds(side: int, precision: str = "auto") -> float:
    """Estimated seconds of one optimiser step at `side` px here: the course's one timed VGG19 pass, scaled by pixels."""
    from helpers import precision as precisions

    chosen = precisions.resolve(precision) if precision != "auto" else precisions.choose()["choice"]
    record = precisions.measured()
    base = record["seconds"][chosen]
    pixels = (int(side) / record["side"]) ** 2
    return STEP_PER_PASS * base * (FIXED_SHARE + (1 - FIXED_SHARE) * pixels)


def estimate_seconds(steps_at: dict, precision: str = "auto", extra: float = 0.0) -> float:
    """Estimated seconds for {side in px: optimiser steps at that side} on this machine, plus `extra` seconds."""
    return float(extra) + sum(int(n) * step_seconds(side, precision) for side, n in steps_at.items())
