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
    assert re.search(r"\| \*\*course default: L-BFGS.*\*\* \(memory \d+, (float32|bfloat16)\) \|", text)
    assert "| course defaults | " in text and "| without recomputation | " in text
    assert re.search(r"\| 64 px \| (float32|bfloat16) \| \d+\.\d+ s \(", text), "per-step table row missing"
    assert re.search(r"TF matmul peak .*: \d+ GFLOP/s", text)
    assert (tmp_path / "time_to_quality_64.png").stat().st_size > 1000
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
    assert rows[0][0] == "course default: L-BFGS = L-BFGS, memory 50, float32", "the default's own run, not a second one"
    assert len(rows) == 3 and not any("bfloat16" in label for label, _ in rows)
    assert any("coarse to fine" in label for label, _ in run._candidates(run.PLANS["quick"]["ttq"][0], "float32"))
    assert any("bfloat16" in label for label, _ in run._candidates(spec, "bfloat16"))
    monkeypatch.setattr(optimize, "LBFGS_MEMORY", 20)
    rows = run._candidates(spec, "float32")
    assert rows[0] == ("course default: L-BFGS", {"steps": 300, "lbfgs_memory": 20, "precision": "float32"}) and len(rows) == 4
    assert run._candidates(run.PLANS["full"]["ttq"][1], "float32") == [
        ("course default: L-BFGS", {"steps": 300, "lbfgs_memory": 20, "precision": "float32"})]


def test_ttq_sizes_must_be_in_the_plan(capsys):
    with pytest.raises(SystemExit):
        run.main(["--quick", "--ttq-sizes", "512"])
    assert "the plan has time-to-quality sizes [64], not [512]" in capsys.readouterr().err


def test_a_slowed_baseline_cannot_flatter_the_speedup():
    history = {"seconds": [1.0, 2.0, 120.0], "total": [3.0, 2.0, 1.0]}
    assert run.fair_baseline_seconds(history, 100, 1.0) == 100.0, "100 steps of 1 s: the 120 s measured were slowed"
    assert run.fair_baseline_seconds(history, 100, 1.5) == 120.0
    assert run.fair_baseline_seconds(history, 100, None) == 120.0
