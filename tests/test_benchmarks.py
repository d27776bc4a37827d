"""benchmarks/: the quick run works end to end (so the benchmark code cannot rot), and its arithmetic is right."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from benchmarks import run
from helpers import config


def test_vgg_flops_match_the_known_figure():
    # VGG19 up to block5_conv2, forward + input gradient, at 512x512: about 388 GFLOP.
    assert round(run._vgg_flops(512, 512) / 1e9) == 388
    assert run._vgg_flops(256, 256) * 4 == run._vgg_flops(512, 512)


def test_time_to_reach():
    history = {"total": [10.0, 5.0, 3.0, 2.0], "seconds": [0.0, 1.0, 2.0, 3.0], "scale": [64, 64, 128, 128]}
    assert run.time_to_reach(history, 3.0, full_side=128) == 2.0
    assert run.time_to_reach(history, 5.0, full_side=128) == 2.0, "a coarse stage does not count"
    assert run.time_to_reach(history, 5.0) == 1.0
    assert run.time_to_reach(history, 1.0, full_side=128) is None


def test_bench_quick_end_to_end(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(config.ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (tmp_path / "RESULTS.md").read_text()
    for heading in ("## 1. Per-step cost", "## 2. Time to quality", "## 3. Offline Magenta model", "## 4. Peak memory"):
        assert heading in text
    assert re.search(r"^VGG19 weights: (packaged|imagenet|file) ", text, re.M), "the weights' kind heads the results"
    assert re.search(r'precision="auto" chose \*\*(float32|bfloat16)\*\* here: one VGG19 pass at \d+ px took', text)
    assert "| + Gram matrices |" in text and "With activation recomputation" in text
    assert re.search(r"\| \*\*course default: L-BFGS(, memory \d+, (float32|bfloat16)\*\*|\*\* \(memory \d+, (float32|bfloat16)\)) \|", text)
    assert re.search(r"\| course defaults \| (float32|bfloat16) \| False \| ", text) and "| with recomputation | " in text
    assert re.search(r"\| 64 px \| (float32|bfloat16) \| \d+\.\d+ s \(", text), "per-step table row missing"
    assert re.search(r"TF matmul peak .*: \d+ GFLOP/s", text)
    assert (tmp_path / "time_to_quality_64.png").stat().st_size > 1000
    assert re.search(r"\| 50 \| \d+\.\d\d s \| \d+\.\d{3} s \| \d+\.\d\dx \|", text), "scipy's bookkeeping at memory 50 missing"
    assert re.search(r"The course default took \d+\.\d\d s per iteration in this run", text)
    assert re.search(r"\| one loss-and-gradient evaluation \(traced and run\) \| \d+ MB \| \d+ MB \|", text)
    for headline in ("speedup at 512 px", "speedup at 256 px", "optimiser evaluation / bare", "peak memory of a 1024 px"):
        assert headline not in text, "the quick run must not write the full run's grep lines"


def test_resume_reuses_a_kept_measurement_and_only_that_one(tmp_path):
    kept = run._cache_path(tmp_path, "ttq", {"size": 64, "recipe": "baseline", "steps": 3})
    kept.write_text('{"total": [2.0, 1.0], "seconds": [0.0, 1.0]}')
    result = run._spawn("ttq", cache=tmp_path, resume=True, size=64, recipe="baseline", steps=3)
    assert result == {"total": [2.0, 1.0], "seconds": [0.0, 1.0]}
    other = run._cache_path(tmp_path, "ttq", {"size": 64, "recipe": "baseline", "steps": 4})
    assert other != kept, "different arguments must not share a kept result"
    assert run._cache_path(tmp_path, "ttq", {"steps": 3, "recipe": "baseline", "size": 64}) == kept, "argument order must not matter"


def test_lead_time():
    baseline = {"total": [10.0, 8.0, 6.0, 4.0], "seconds": [0.0, 10.0, 20.0, 30.0]}
    ahead_then_behind = {"total": [10.0, 7.0, 6.5, 5.5], "seconds": [0.0, 5.0, 15.0, 25.0]}
    # at 5 s the baseline is at 9 (ahead: 7 < 9); at 15 s at 7 (6.5 < 7); at 25 s at 5 (5.5 > 5): behind
    assert run.lead_time(baseline, ahead_then_behind) == 15.0
    assert run.lead_time(baseline, {"total": [10.0, 9.5], "seconds": [0.0, 5.0]}) is None


def test_a_random_weights_run_cannot_pass_for_the_real_one():
    assert run.results_name("packaged") == "RESULTS.md" and run.results_name("imagenet") == "RESULTS.md"
    assert run.results_name("random") == run.RANDOM_RESULTS != "RESULTS.md"
    assert "NOT the trained network" in run.weights_line("random")
    assert run.weights_line("packaged").startswith("VGG19 weights: packaged (ImageNet VGG19, 8-bit")
    assert run.weights_kind_of([{"weights": "packaged"}, {"no": "weights"}, {"weights": "packaged"}]) == "packaged"
    with pytest.raises(RuntimeError, match="different VGG19 weights"):
        run.weights_kind_of([{"weights": "packaged"}, {"weights": "random"}])


def test_the_candidates_put_the_course_default_first(monkeypatch):
    from helpers import optimize

    spec = {**run.PLANS["full"]["ttq"][0], "candidates": True}  # as with --candidates
    assert run.PLANS["full"]["ttq"][0]["size"] == 256
    monkeypatch.setattr(optimize, "LBFGS_MEMORY", 50)
    rows = run._candidates(spec, "float32")
    assert rows[0][0] == "course default: L-BFGS, memory 50, float32", "the default's own run, not a second one"
    assert len(rows) == 3 and not any("bfloat16" in label for label, _ in rows)
    assert any("coarse to fine" in label for label, _ in run._candidates(run.PLANS["quick"]["ttq"][0], "float32"))
    assert any("bfloat16" in label for label, _ in run._candidates(spec, "bfloat16"))
    monkeypatch.setattr(optimize, "LBFGS_MEMORY", 20)
    rows = run._candidates(spec, "float32")
    assert rows[0] == ("course default: L-BFGS", {"steps": 300, "lbfgs_memory": 20, "precision": "float32"}) and len(rows) == 4
    assert run._candidates(run.PLANS["full"]["ttq"][1], "float32") == [
        ("course default: L-BFGS", {"steps": 300, "lbfgs_memory": 20, "precision": "float32"})]
    at_512 = {**run.PLANS["full"]["ttq"][1], "candidates": run.PLANS["full"]["ttq"][1]["with_candidates"]}  # as with --candidates
    assert [label for label, _ in run._candidates(at_512, "float32")] == [
        "course default: L-BFGS", "L-BFGS, memory 10, float32", "L-BFGS, memory 50, float32"], "512 px: the memories only"


def test_ttq_sizes_must_be_in_the_plan(capsys):
    with pytest.raises(SystemExit):
        run.main(["--quick", "--ttq-sizes", "512"])
    assert "the plan has time-to-quality sizes [64], not [512]" in capsys.readouterr().err


def test_a_slowed_baseline_cannot_flatter_the_speedup():
    history = {"seconds": [1.0, 2.0, 120.0], "total": [3.0, 2.0, 1.0]}
    assert run.fair_baseline_seconds(history, 100, 1.0) == 100.0, "100 steps of 1 s: the 120 s measured were slowed"
    assert run.fair_baseline_seconds(history, 100, 1.5) == 120.0
    assert run.fair_baseline_seconds(history, 100, None) == 120.0


def test_the_iteration_accounting_adds_up():
    steps = [{"size": 64, "precision": "float32", "lbfgs_eval": [1.0, 1.0, 1.0]}]
    bookkeeping = {"size": 64, "memories": {"50": {"first_iteration": 0.5, "per_iteration": 0.25}}}
    hist = {"seconds": [0.0, 30.0], "step": [0, 10], "evaluations": 12, "lbfgs_memory": 50, "precision": "float32", "head_start": 5.0}
    runs = {"baseline": {}, "course default: L-BFGS": hist}
    text = " ".join(run.iteration_accounting(runs, 64, steps, bookkeeping))
    # (30 - 5) / 10 = 2.5 s per iteration; 1.2 evaluations of 1 s; 0.25 s of scipy; 1.05 s (42%) left
    assert "took 2.50 s per iteration" in text and "take 1.20 s" in text and "50 0.25 s" in text and "remaining 1.05 s per iteration (42%)" in text
    assert run.iteration_accounting(runs, 128, steps, bookkeeping) == [], "no accounting from timings at another size"
    hist["lbfgs_memory"] = 10
    assert run.iteration_accounting(runs, 64, steps, bookkeeping) == [], "no bookkeeping timed at that memory"


def test_the_baseline_forecast_uses_the_timed_adam_step():
    steps = [{"size": 256, "precision": "float32", "adam_step": 1.2}, {"size": 512, "precision": "float32", "adam_step": 4.8}]
    line = run.baseline_forecast(run.PLANS["full"], steps, [256, 512])
    assert "about 100 min here (1000 x 1.20 s at 256 px; 1000 x 4.80 s at 512 px)" in line
    assert "about 20 min" in run.baseline_forecast(run.PLANS["full"], steps, [256])


def test_the_bookkeeping_needs_iterations_after_the_memory_fills():
    with pytest.raises(ValueError, match="too few"):
        run.work_bookkeeping(8, [50], 40)


def test_the_time_line_counts_every_measurement():
    results = [{"measured_seconds": 100.0}, {"seconds": [0.0, 50.0]}, {"measured_seconds": 30.0}, {"no": "time"}]
    line = run.time_line(results, candidates=[results[2]])
    assert "total benchmark time: 180 s (0.1 h)" in line and "without the --candidates recipes (30 s) it is 150 s" in line
    assert "1 measurement(s) kept from an interrupted invocation" in line and "1 measurement(s) with no recorded duration" in line
    assert run.time_line(results[:1]) == "- total benchmark time: 100 s (0.0 h), summed over the measurements"
