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


#: Per optimiser step, the work beyond VGG19 itself (Gram matrices, losses, the optimiser's bookkeeping) costs about
#: this many float32 VGG19 passes. It runs in float32 whatever precision VGG19 computes in, so bfloat16 does not shrink it.
STEP_OVERHEAD = 0.2
#: The share of a small VGG19 pass that does not grow with the pixels (per-op costs): it makes 256 px cost about 3x,
#: not 4x, a 128 px pass on a CPU.
FIXED_SHARE = 0.35
#: A notebook's work that is not optimiser steps (kernel start, imports, the Hub model, figures) is given in seconds on a
#: machine whose float32 VGG19 pass at the measuring size took this long; it is scaled by this machine's float32 pass.
REFERENCE_PASS = 0.40
#: A notebook without optimiser steps (02 runs no VGG19) is not made to time VGG19: on a machine without a kept precision
#: record it times `probe_seconds` instead; one float32 VGG19 pass at the measuring size cost about this many probes
#: (6.9 on a 2-core AMD EPYC: `timing.probe_seconds()` and `precision.measure()` timed in one process).
PASS_PER_PROBE = 7.0


def _record_and_choice(precision: str) -> tuple[dict, str]:
    """This machine's timed VGG19 pass (precision.measured) and the precision `precision` stands for."""
    from helpers import precision as precisions

    chosen = precisions.resolve(precision) if precision != "auto" else precisions.choose()["choice"]
    return precisions.measured(), chosen


#: The factor busy_factor measured in this process (None until a notebook's clock asks for it).
_BUSY: float | None = None
#: RunClock.finish reports a load change when busy_factor at the end differs from the start's by more than this factor.
LOAD_CHANGE = 1.5
#: busy_factor is kept between these bounds: one slow or fast probe must not make an estimate absurd.
BUSY_BOUNDS = (0.5, 4.0)


def busy_factor(refresh: bool = False) -> float:
    """How much slower this machine runs now than when its VGG19 pass was timed: a probe now over the probe kept with the pass.

    Measured once per process (a notebook's clock asks at its start); 1.0 for a record kept without a probe.
    """
    global _BUSY
    if _BUSY is not None and not refresh:
        return _BUSY
    from helpers import precision

    record = precision.cached() or {}
    kept = record.get("probe")
    if not kept:
        _BUSY = 1.0
    else:
        _BUSY = float(min(max(probe_seconds(repeats=5) / float(kept), BUSY_BOUNDS[0]), BUSY_BOUNDS[1]))
    return _BUSY


def step_seconds(side: int, precision: str = "auto") -> float:
    """Estimated seconds of one optimiser step at `side` px here: VGG19 in its precision plus the float32 work around it,
    times busy_factor if the clock has measured it."""
    record, chosen = _record_and_choice(precision)
    pixels = FIXED_SHARE + (1 - FIXED_SHARE) * (int(side) / record["side"]) ** 2
    return (record["seconds"][chosen] + STEP_OVERHEAD * record["seconds"]["float32"]) * pixels * (_BUSY or 1.0)


def fixed_seconds(reference_seconds: float) -> float:
    """`reference_seconds` of work outside the optimiser (see REFERENCE_PASS), scaled to this machine's float32 pass (and busy_factor)."""
    record, _ = _record_and_choice("float32")
    return float(reference_seconds) * record["seconds"]["float32"] / REFERENCE_PASS * (_BUSY or 1.0)


def probe_seconds(repeats: int = 3) -> float:
    """Median seconds of a small float32 convolution stack: this machine's speed without loading VGG19."""
    import tensorflow as tf

    image = tf.random.stateless_uniform((1, 128, 128, 64), seed=(0, 1))
    kernel = tf.random.stateless_normal((3, 3, 64, 64), seed=(0, 2), stddev=0.05)

    @tf.function
    def stack(x):
        for _ in range(4):
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
        return tf.reduce_sum(x)

    return median_seconds(lambda: stack(image).numpy(), repeats=repeats, warmups=1)


def estimate_seconds(steps_at: dict, precision: str = "auto", extra: float = 0.0) -> float:
    """Estimated seconds for {side in px: optimiser steps at that side} here, plus `extra` reference seconds of other work."""
    return fixed_seconds(extra) + sum(int(n) * step_seconds(side, precision) for side, n in steps_at.items())


def duration(seconds: float) -> str:
    """Seconds in words, rounded as an estimate is: 'about 40 s', 'about 6 min'."""
    if seconds < 20:  # short runs: to the second, so a 7 s notebook is not 'about 5 s'
        return f"about {max(1, round(seconds)):.0f} s"
    if seconds < 90:
        return f"about {5 * round(seconds / 5):.0f} s"
    return f"about {seconds / 60:.0f} min"


def measured(seconds: float) -> str:
    """Seconds as a measurement: '47 s' under two minutes, else '6.3 min'."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class RunClock:
    """A notebook's clock: the estimate it prints near its top and the time it prints at its end, in one wording."""

    def __init__(self):
        self.start = time.perf_counter()
        self.estimated: float | None = None
        self.uses_vgg = True
        self.precision = "auto"
        self.busy: float | None = None   # busy_factor at the estimate, when it was measured

    def _mode(self) -> str:
        """'full mode, VGG19 in float32' (or smoke, bfloat16; just 'full mode' without optimiser steps): what the time depends on."""
        from helpers import config

        mode = f"{'smoke' if config.smoke() else 'full'} mode"
        if not self.uses_vgg:
            return mode
        _, chosen = _record_and_choice(self.precision)
        return f"{mode}, VGG19 in {chosen}"

    def estimate(self, steps_at: dict | None = None, extra_seconds: float = 0.0, budget_seconds: float = 0.0,
                 precision: str = "auto") -> str:
        """The estimate line: {side px: optimiser steps} in VGG19's `precision`, `extra_seconds` of other work (reference seconds), a budget."""
        from helpers import precision as precisions

        self.precision = precision

        if not steps_at and precisions.cached() is None:  # no VGG19 work and no kept record: a small probe, not a VGG19 pass
            self.uses_vgg = False
            started = time.perf_counter()
            pass_seconds = probe_seconds() * PASS_PER_PROBE
            self.estimated = float(extra_seconds) * pass_seconds / REFERENCE_PASS + float(budget_seconds)
            return (f"Estimated time for this notebook on this machine: {duration(self.estimated)} ({self._mode()}; this machine's "
                    f"speed from a small timed convolution, {time.perf_counter() - started:.1f} s, scaled to the work of this notebook). "
                    "A cell at the end of the run prints the measured time beside this estimate.")
        self.uses_vgg = bool(steps_at)
        record = precisions.measured()
        timed_now = float(record.get("measure_seconds", 0.0))  # the first notebook on this machine times that pass now
        busy = self.busy = busy_factor(refresh=True)
        self.estimated = estimate_seconds(steps_at or {}, precision, extra=extra_seconds) + float(budget_seconds) + timed_now
        basis = "one timed VGG19 pass scaled to the Parameters cell's sizes and steps" if steps_at else \
            "this machine's speed, read from the timing record the notebooks share, scaled to the work of this notebook"
        line = (f"Estimated time for this notebook on this machine: {duration(self.estimated)} ({self._mode()}; {basis}). "
                "A cell at the end of the run prints the measured time beside this estimate.")
        if not 0.8 <= busy <= 1.25:
            line += (f"\nThis machine is {'busier' if busy > 1 else 'less busy'} now than when the course first timed it: a small timed "
                     f"convolution took {busy:.1f} times as long as it did then "
                     f"({f'{busy:.1f}x slower' if busy > 1 else f'{1 / busy:.1f}x faster'}), so the estimate is scaled by {busy:.1f}.")
        if timed_now:
            line += (f"\n(That VGG19 pass was timed just now, in float32 and in bfloat16, which took {timed_now:.0f} s "
                     "of this run and is counted in the estimate: once per machine; every later notebook reads it from the course cache.)")
        return line

    def finish(self) -> str:
        """The closing line: the measured time since the clock started, next to the estimate (and a load that changed meanwhile)."""
        seconds = time.perf_counter() - self.start
        said = f"; estimated at the top: {duration(self.estimated)}" if self.estimated else ""
        line = f"Measured time for this notebook on this machine: {measured(seconds)} ({self._mode()}){said}."
        if self.busy is not None:   # the probe again: did other programs start or stop while the notebook ran?
            now = busy_factor(refresh=True)
            if not 1 / LOAD_CHANGE <= now / self.busy <= LOAD_CHANGE:
                line += (f"\nThe machine's load changed during the run: against the course's first timing, the small timed convolution "
                         f"took {self.busy:.1f} times as long at the top of this notebook and {now:.1f} times as long now, so the "
                         "estimate and the measured time can differ for that reason.")
        return line
