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


@pytest.fixture(autouse=True)
def _no_busy_factor_between_tests(monkeypatch):
    """busy_factor is kept per process: each test starts without one."""
    monkeypatch.setattr(timing, "_BUSY", None)


def _record(monkeypatch, seconds, choice):
    """precision.measured() returns a record with these timed passes; "auto" resolves to `choice`."""
    from helpers import precision

    record = {"side": 128, "seconds": seconds, "choice": choice}
    monkeypatch.setattr(precision, "measured", lambda refresh=False: record)
    monkeypatch.setattr(precision, "cached", lambda: record)
    monkeypatch.setattr(precision, "choose", lambda refresh=False: {"choice": choice, "why": "faked"})
    monkeypatch.delenv("NST_PRECISION", raising=False)
    return record


def test_step_estimates_scale_with_pixels_and_steps(monkeypatch):
    _record(monkeypatch, {"float32": 0.4, "bfloat16": 0.1}, "float32")
    at_128, at_256 = timing.step_seconds(128), timing.step_seconds(256)
    assert at_128 == pytest.approx((1 + timing.STEP_OVERHEAD) * 0.4), "float32: the pass plus the float32 work around it"
    assert 2.5 < at_256 / at_128 < 4.0, "a step at twice the side costs less than 4x (fixed per-op costs), more than 2.5x"
    assert timing.estimate_seconds({256: 10, 128: 5}, extra=3) == pytest.approx(3 + 10 * at_256 + 5 * at_128), \
        "on the reference machine, extra seconds are seconds"


def test_bfloat16_shrinks_only_the_vgg19_part_of_a_step(monkeypatch):
    # the precision record of a CPU with native bfloat16 (a quarter of float32's time per pass); the Gram matrices,
    # losses and the optimiser's bookkeeping stay in float32, so a step costs the bfloat16 pass plus the float32 overhead
    _record(monkeypatch, {"float32": 0.2, "bfloat16": 0.05}, "bfloat16")
    assert timing.step_seconds(128) == pytest.approx(0.05 + timing.STEP_OVERHEAD * 0.2)
    assert timing.step_seconds(128, precision="float32") == pytest.approx((1 + timing.STEP_OVERHEAD) * 0.2)
    # work outside the optimiser scales with this machine's float32 pass: half the reference pass, half the seconds
    assert timing.fixed_seconds(60) == pytest.approx(60 * 0.2 / timing.REFERENCE_PASS)
    assert timing.estimate_seconds({128: 100}, extra=60) == pytest.approx(
        60 * 0.2 / timing.REFERENCE_PASS + 100 * (0.05 + timing.STEP_OVERHEAD * 0.2))


def test_the_clock_says_the_estimate_and_the_measured_time_in_one_wording(monkeypatch):
    from helpers import precision

    _record(monkeypatch, {"float32": timing.REFERENCE_PASS, "bfloat16": 2.0}, "float32")
    monkeypatch.setenv("NST_SMOKE", "0")
    clock = timing.RunClock()
    line = clock.estimate({128: 0}, extra_seconds=600)
    assert "timed just now" not in line, "a pass read from the cache costs this run nothing"
    assert line.startswith("Estimated time for this notebook on this machine: about 10 min (full mode, VGG19 in float32;")
    assert clock.estimated == pytest.approx(600)
    no_steps = timing.RunClock()
    assert no_steps.estimate(extra_seconds=600).startswith(
        "Estimated time for this notebook on this machine: about 10 min (full mode; this machine's speed, read from the timing record"), \
        "a notebook without optimiser steps does not say it depends on VGG19's precision"
    assert no_steps.finish().endswith("(full mode); estimated at the top: about 10 min.")
    assert "about 40 s" in timing.RunClock().estimate(extra_seconds=41) and "about 1 s" in timing.RunClock().estimate()
    assert [timing.duration(s) for s in (0.2, 6.6, 19.4, 21, 89, 95)] == \
        ["about 1 s", "about 7 s", "about 19 s", "about 20 s", "about 90 s", "about 2 min"]
    assert timing.RunClock().estimate(budget_seconds=120).startswith("Estimated time for this notebook on this machine: about 2 min"), \
        "a time budget (training seconds) is not scaled"
    clock.start -= 300  # five minutes have passed
    done = clock.finish()
    assert done == "Measured time for this notebook on this machine: 5.0 min (full mode, VGG19 in float32); estimated at the top: about 10 min."
    monkeypatch.setenv("NST_SMOKE", "1")
    precision.measured().update(measure_seconds=12.4)  # the first notebook on a machine times the pass itself
    first = timing.RunClock()
    line = first.estimate()
    assert "(That VGG19 pass was timed just now, in float32 and in bfloat16, which took 12 s of this run and is counted" in line
    assert first.estimated == pytest.approx(12.4) and "about 12 s" in line, "the pass timed in this run is part of its estimate"
    late = timing.RunClock()
    assert late.finish().startswith("Measured time for this notebook on this machine: 0 s (smoke mode, VGG19 in float32).")


def test_a_notebook_without_optimiser_steps_times_a_probe_not_vgg19(monkeypatch):
    from helpers import precision

    def no_vgg19(refresh=False):
        raise AssertionError("a notebook that runs no VGG19 must not time VGG19")

    monkeypatch.setattr(precision, "cached", lambda: None)
    monkeypatch.setattr(precision, "measured", no_vgg19)
    monkeypatch.setattr(precision, "choose", no_vgg19)
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: timing.REFERENCE_PASS / timing.PASS_PER_PROBE / 2)
    monkeypatch.setenv("NST_SMOKE", "0")
    clock = timing.RunClock()
    line = clock.estimate(extra_seconds=120)
    assert clock.estimated == pytest.approx(60), "a machine twice as fast as the reference: half the reference seconds"
    assert line.startswith("Estimated time for this notebook on this machine: about 60 s (full mode; this machine's speed from a small "
                           "timed convolution"), line
    assert clock.finish().startswith("Measured time for this notebook on this machine: 0 s (full mode); estimated at the top: about 60 s")


def test_the_probe_times_real_work():
    seconds = timing.probe_seconds(repeats=1)
    assert 0 < seconds < 30


def test_every_notebook_prints_the_estimate_near_its_top_and_the_measured_time_at_its_end():
    import json

    from helpers import runner

    for path in runner.notebook_paths():
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code" and c.get("id") != "open-anywhere"]
        code = ["".join(c["source"]) for c in cells]
        assert "clock = timing.RunClock()" in code[0], f"{path.name}: the setup cell starts the clock"
        first = next(i for i, c in enumerate(code) if "clock.estimate(" in c)
        assert first <= 3, f"{path.name}: the estimate comes right after the parameters (code cell {first})"
        assert "print(clock.finish())" in code[-1] or any("print(clock.finish())" in c for c in code[-3:]), path.name


def test_a_notebook_whose_vgg19_runs_in_float32_is_estimated_in_float32_on_a_bfloat16_machine(monkeypatch):
    # notebook 09 trains with a float32 loss whatever `auto` chose: its estimate and its closing line say float32
    _record(monkeypatch, {"float32": timing.REFERENCE_PASS, "bfloat16": 0.1}, "bfloat16")
    monkeypatch.setenv("NST_SMOKE", "0")
    auto, pinned = timing.RunClock(), timing.RunClock()
    assert "VGG19 in bfloat16" in auto.estimate({128: 100})
    assert "VGG19 in float32" in pinned.estimate({128: 100}, precision="float32")
    assert auto.estimated == pytest.approx(100 * timing.step_seconds(128, "bfloat16"))
    assert pinned.estimated == pytest.approx(100 * (1 + timing.STEP_OVERHEAD) * timing.REFERENCE_PASS)
    assert pinned.estimated > 2 * auto.estimated
    assert "VGG19 in float32" in pinned.finish() and "VGG19 in bfloat16" in auto.finish()


def test_a_busier_machine_scales_the_estimate_by_how_much_slower_a_probe_runs_now(monkeypatch):
    # the record keeps the probe timed beside its VGG19 pass; a notebook's clock times the probe again at its start
    record = _record(monkeypatch, {"float32": timing.REFERENCE_PASS, "bfloat16": 2.0}, "float32")
    monkeypatch.setenv("NST_SMOKE", "0")
    quiet = timing.RunClock()
    quiet.estimate({128: 100}, extra_seconds=60)                     # no probe kept: no scaling, no sentence
    assert timing.busy_factor() == 1.0
    record["probe"] = 0.05
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: 0.10)   # twice as slow now
    busy = timing.RunClock()
    line = busy.estimate({128: 100}, extra_seconds=60)
    assert busy.estimated == pytest.approx(2 * quiet.estimated)
    assert "busier now than when the course first timed it" in line, line
    assert "took 2.0 times as long as it did then (2.0x slower)" in line and "scaled by 2.0" in line, line
    assert timing.step_seconds(128) == pytest.approx(2 * (1 + timing.STEP_OVERHEAD) * timing.REFERENCE_PASS), \
        "the notebooks' own step estimates follow the clock's factor"
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: 0.052)  # within the probe's noise: scaled, not said
    near = timing.RunClock()
    assert "busier" not in near.estimate({128: 100}) and timing.busy_factor() == pytest.approx(1.04)
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: 5.0)    # a hundredfold: held at the upper bound
    far = timing.RunClock()
    far.estimate({128: 100})
    assert timing.busy_factor() == timing.BUSY_BOUNDS[1]
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: 0.02)   # quieter than when it was timed
    quieter = timing.RunClock().estimate({128: 100})
    assert "less busy now" in quieter and "took 0.5 times as long as it did then (2.0x faster)" in quieter, quieter   # held at the lower bound


def test_the_precision_record_keeps_a_probe_timed_beside_its_pass(monkeypatch, tmp_path):
    from helpers import config, precision

    monkeypatch.setattr(config, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(precision, "_DECISION", None)
    monkeypatch.setattr(precision, "measure", lambda: {"side": 128, "seconds": {"float32": 0.3, "bfloat16": 0.9}})
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: 0.04)
    record = precision.measured(refresh=True)
    assert record["probe"] == 0.04 and precision.cached()["probe"] == 0.04


def test_the_closing_line_says_when_the_load_changed_during_the_run(monkeypatch):
    # the probe is timed again at the end: a change beyond LOAD_CHANGE either way is said, a smaller one is not
    record = _record(monkeypatch, {"float32": timing.REFERENCE_PASS, "bfloat16": 2.0}, "float32")
    monkeypatch.setenv("NST_SMOKE", "0")
    record["probe"] = 0.05
    for start, end, said in ((0.05, 0.05, None), (0.05, 0.07, None), (0.05, 0.08, ("1.0", "1.6")),
                             (0.10, 0.06, ("2.0", "1.2")), (0.10, 0.07, None)):
        monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3, t=start: t)
        clock = timing.RunClock()
        clock.estimate({128: 100})
        monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3, t=end: t)
        closing = clock.finish()
        assert closing.startswith("Measured time for this notebook on this machine:"), closing
        if said is None:
            assert "load changed" not in closing, (start, end, closing)
        else:
            assert (f"The machine's load changed during the run: against the course's first timing, the small timed convolution "
                    f"took {said[0]} times as long at the top of this notebook and {said[1]} times as long now") in closing, (start, end, closing)
    monkeypatch.setattr(timing, "probe_seconds", lambda repeats=3: pytest.fail("a clock without an estimate times no probe"))
    assert "load changed" not in timing.RunClock().finish()
