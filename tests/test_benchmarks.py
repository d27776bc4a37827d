"""benchmarks/: the quick run works end to end (so the benchmark code cannot rot), the report re-renders from kept
measurements, the full run's grep lines have their format, and the arithmetic is right."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pytest

from benchmarks import measure, plans, report, run
from helpers import config

#: The full run's grep lines (benchmarks/RESULTS.md), each with the precision it was measured in.
GREP_LINES = {
    "iteration": re.compile(r"^L-BFGS iteration / evaluation at 512 px: \d+\.\d\dx \((float32|bfloat16)\)$", re.M),
    "speedup 512": re.compile(r"^time-to-quality speedup at 512 px: (\d+\.\dx|0\.0x \(not reached\)) \((float32|bfloat16)\)$", re.M),
    "speedup 256": re.compile(r"^time-to-quality speedup at 256 px: not measured in this run \(--candidates measures it\)$", re.M),
    "memory 1024": re.compile(r"^peak memory of a 1024 px optimisation: \d+ MB \((float32|bfloat16)\)$", re.M),
    "memory 2048": re.compile(r"^peak memory of a 2048 px optimisation: \d+ MB \((float32|bfloat16)\), \d+\.\d s per iteration$", re.M),
    "evaluation": re.compile(r"^optimiser evaluation / bare VGG19 pass at \d+ px: \d+\.\d\dx$", re.M),
}


def test_vgg_flops_match_the_known_figure():
    # VGG19 up to block5_conv2, forward + input gradient, at 512x512: about 388 GFLOP.
    assert round(measure.vgg_flops(512, 512) / 1e9) == 388
    assert measure.vgg_flops(256, 256) * 4 == measure.vgg_flops(512, 512)


def test_time_to_reach():
    history = {"total": [10.0, 5.0, 3.0, 2.0], "seconds": [0.0, 1.0, 2.0, 3.0], "scale": [64, 64, 128, 128]}
    assert report.time_to_reach(history, 3.0, full_side=128) == 2.0
    assert report.time_to_reach(history, 5.0, full_side=128) == 2.0, "a coarse stage does not count"
    assert report.time_to_reach(history, 5.0) == 1.0
    assert report.time_to_reach(history, 1.0, full_side=128) is None


def test_bench_quick_end_to_end(tmp_path):
    """make bench-quick into a temporary folder, once (one test, so that parallel workers never repeat the run), then
    each check of what it wrote."""
    out = tmp_path / "bench-quick"
    proc = subprocess.run([sys.executable, str(config.ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (out / "RESULTS.md").read_text()
    _check_the_quick_results(out, text, proc.stdout)
    _check_the_full_runs_grep_lines(out, tmp_path / "full")
    _check_the_throughput_section(out, tmp_path / "throughput")
    _check_the_report_re_renders_from_the_kept_measurements(out, text)  # last: it rewrites RESULTS.md


def _check_the_quick_results(out, text, said):
    """The quick run's RESULTS.md has every section and table, and none of the full run's grep lines."""
    for heading in ("## 1. Per-step cost", "## 2. Time to quality", "## 3. Offline Magenta model", "## 4. Peak memory"):
        assert heading in text
    assert re.search(r"^VGG19 weights: (packaged|imagenet|file) ", text, re.M), "the weights' kind heads the results"
    assert re.search(r'precision="auto" chose \*\*(float32|bfloat16)\*\* here: one VGG19 pass at \d+ px took', text)
    assert "| + Gram matrices |" in text and "| + scipy's float64 copies of the image and gradient |" in text
    assert re.search(r"With VGG19's first two blocks in stripes of 32 rows \(`memory=\"low\"`, .*\), the evaluation takes \d+\.\d{3} s", text)
    assert re.search(r"\| \*\*course default: L-BFGS in TensorFlow, memory \d+, (float32|bfloat16)\*\* \|", text)
    assert "| scipy's L-BFGS-B, memory" in text and "bounds 'project'" in text and "from the Magenta model's output" in text
    assert re.search(r"\| 64 px \| (float32|bfloat16) \| \d+\.\d+ s \(", text), "per-step table row missing"
    assert re.search(r"TF matmul peak .*: \d+ GFLOP/s", text)
    assert (out / "time_to_quality_64.png").stat().st_size > 1000
    assert re.search(r"\| 50 \| \d+\.\d\d s \| \d+\.\d{3} s \| \d+\.\d{3} s \| \d+\.\d\dx \| \d+\.\d\dx \|", text), "bookkeeping at memory 50"
    for engine in ("L-BFGS in TensorFlow (`optimizer=\"lbfgs\"`)", "scipy's L-BFGS-B (`optimizer=\"lbfgs-scipy\"`)"):
        assert re.search(rf"\| {re.escape(engine)} \| \d+\.\d{{3}} s \| \d+\.\d{{3}} s \| \d+\.\d\d \| \d+\.\d\dx \|", text), engine
    assert re.search(r"The course default took \d+\.\d\d s per iteration in this run", text)
    assert re.search(r"\| 128 px \| low \| stripes of 32 rows \| (float32|bfloat16) \| \d+ \| 2 \| \d+ MB \| \d+\.\d s \|", text)
    assert re.search(r"\| 96 px \| fast \| whole image \| ", text)
    assert re.search(r"\| stage \| whole image \| stripes of 32 rows \|", text)
    assert re.search(r"\| one loss-and-gradient evaluation \(traced and run\) \| \d+ MB \| \d+ MB \|", text)
    for line in ("speedup at 512 px", "speedup at 256 px", "optimiser evaluation / bare", "peak memory of a 1024 px",
                 "peak memory of a 2048 px", "L-BFGS iteration / evaluation at", "## Goals"):
        assert line not in text, "the quick run must not write the full run's grep lines"
    assert re.search(r"^Forecast \(from this machine's timed VGG19 pass\): about \d+\.\d h", said, re.M), "the forecast comes first"
    assert said.index("Forecast") < said.index("  matmul")


def _check_the_report_re_renders_from_the_kept_measurements(out, text):
    """--report-only writes the same RESULTS.md from measurements.json alone, measuring nothing."""
    (out / "RESULTS.md").unlink()
    proc = subprocess.run([sys.executable, str(config.ROOT / "benchmarks" / "run.py"), "--quick", "--report-only", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (out / "RESULTS.md").read_text() == text
    assert "  matmul" not in proc.stdout, "nothing is measured"


def _check_the_full_runs_grep_lines(out, tmp_path):
    """The quick run's measurements, relabelled as the full plan's sizes, render every grep line in its format."""
    tmp_path.mkdir()
    m = json.loads((out / run.MEASUREMENTS).read_text())
    m = copy.deepcopy(m)
    m["meta"].update(mode="full", command="make bench")
    for r in m["iteration"].values():
        r["size"] = 512
    for r, size in zip(m["memory"], (1024, 2048)):
        r["size"], r["memory"] = size, "auto"
    m["ttq"][0]["spec"]["size"] = 512
    m["steps"][0]["size"] = m["bookkeeping"]["size"] = 512  # the evaluation the iteration is compared with
    text = report.render(m, tmp_path).read_text()
    for name, pattern in GREP_LINES.items():
        assert len(pattern.findall(text)) == 1, name
    assert re.search(r"^\| a 1024 px optimisation in at most 4096 MB \| \d+ MB \| (yes|no) \|$", text, re.M)
    assert re.search(r"^\| an L-BFGS iteration at 512 px costs at most 1\.05 evaluations \| \d+\.\d\dx \| (yes|no) \|$", text, re.M)
    # the goal is the one for the precision the run computed in, whichever "auto" chose on this machine
    precision = m["precision"]["choice"]
    goal = report.GOAL_SPEEDUP[precision]
    assert re.search(rf"^\| time to quality at 512 px {goal:.1f}x the tutorial's \({precision}\) \|", text, re.M), precision
    assert "Written by `make bench`; do not edit by hand.\n" in text, "a run that reused nothing says nothing about reuse"
    # and the report of a machine where "auto" chose bfloat16 (faked: the same measurements, relabelled)
    (tmp_path / "bfloat16").mkdir()
    bf16 = report.render(_as_if_auto_chose(m, "bfloat16"), tmp_path / "bfloat16").read_text()
    for name, pattern in GREP_LINES.items():
        assert len(pattern.findall(bf16)) == 1, name
    assert re.search(r'precision="auto" chose \*\*bfloat16\*\* here: one VGG19 pass at 128 px took 0\.400 s in float32 and 0\.100 s', bf16)
    assert "this CPU reports avx512_bf16" in bf16
    assert re.search(r"^time-to-quality speedup at 512 px: (\d+\.\dx|0\.0x \(not reached\)) \(bfloat16\)$", bf16, re.M)
    assert re.search(r"^\| time to quality at 512 px 8\.0x the tutorial's \(bfloat16\) \|", bf16, re.M)
    m["meta"].update(resume=True, command="python benchmarks/run.py --resume --fresh memory_stages")
    (tmp_path / "resumed").mkdir()
    head = report.render(m, tmp_path / "resumed").read_text().splitlines()[2]
    assert "--fresh memory_stages`" in head and "earlier run of this script are reused, except the kinds named after --fresh" in head
    # a run without the 512 px time to quality (python benchmarks/run.py --ttq-sizes 256) still reports the iteration's cost,
    # and its speedup as not measured, never as a goal missed
    m["ttq"] = []
    (tmp_path / "without").mkdir()
    text = report.render(m, tmp_path / "without").read_text()
    assert len(GREP_LINES["iteration"].findall(text)) == 1
    assert "time-to-quality speedup at 512 px: not measured in this run" in text
    assert re.search(rf"^\| time to quality at 512 px {goal:.1f}x the tutorial's \({precision}\) \| not measured in this run \| - \|$", text, re.M)


def _as_if_auto_chose(m: dict, choice: str) -> dict:
    """The measurements `m` as a machine would have recorded them where precision "auto" chose `choice` (the CPU's
    answer faked: a quarter of float32's time per pass for bfloat16, with avx512_bf16), every run of the chosen
    precision relabelled; the tutorial's baseline stays float32, as it always computes."""
    from helpers import precision

    old = m["precision"]["choice"]
    seconds = {"float32": 0.4, "bfloat16": 0.1 if choice == "bfloat16" else 1.6}
    out = copy.deepcopy(m)
    out["precision"] = {**out["precision"], **precision._decide({"side": 128, "seconds": seconds,
                                                                 "flags": ["avx512_bf16"] if choice == "bfloat16" else []})}

    def relabel(node):
        if isinstance(node, dict):
            if node.get("recipe") == "baseline":
                return
            for key, value in node.items():
                if key == "precision" and value == old:
                    node[key] = choice
                else:
                    relabel(value)
        elif isinstance(node, list):
            for item in node:
                relabel(item)

    for key, value in out.items():
        if key != "precision":
            relabel(value)
    return out


def test_report_only_needs_kept_measurements(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run.main(["--quick", "--report-only", "--out", str(tmp_path)])
    assert "measurements.json does not exist; run the benchmark first" in capsys.readouterr().err


def test_resume_reuses_a_kept_measurement_and_only_that_one(tmp_path):
    kept = run._cache_path(tmp_path, "ttq", {"size": 64, "recipe": "baseline", "steps": 3})
    kept.write_text('{"total": [2.0, 1.0], "seconds": [0.0, 1.0]}')
    result = run._spawn("ttq", cache=tmp_path, resume=True, size=64, recipe="baseline", steps=3)
    assert result == {"total": [2.0, 1.0], "seconds": [0.0, 1.0]}
    other = run._cache_path(tmp_path, "ttq", {"size": 64, "recipe": "baseline", "steps": 4})
    assert other != kept, "different arguments must not share a kept result"
    assert run._cache_path(tmp_path, "ttq", {"steps": 3, "recipe": "baseline", "size": 64}) == kept, "argument order must not matter"


def test_fresh_takes_a_kept_kind_again(tmp_path, capsys):
    kept = run._cache_path(tmp_path, "matmul", {"n": 64, "repeats": 1})
    kept.write_text('{"gflops": -1.0}')
    assert run._spawn("matmul", cache=tmp_path, resume=True, n=64, repeats=1) == {"gflops": -1.0}
    again = run._spawn("matmul", cache=tmp_path, resume=True, fresh=frozenset({"matmul"}), n=64, repeats=1)
    assert again["gflops"] > 0, "a kind named by --fresh is measured again"
    assert json.loads(kept.read_text())["gflops"] == again["gflops"], "and the new measurement is the one kept"
    for argv, message in [(["--fresh", "step"], "--fresh: only with --resume"),
                          (["--resume", "--fresh", "step,stpe"], "--fresh: unknown kind(s) stpe")]:
        with pytest.raises(SystemExit):
            run.main(argv)
        assert message in capsys.readouterr().err


def test_a_worker_runs_in_its_own_process_and_is_kept(tmp_path):
    result = run._spawn("matmul", cache=tmp_path, n=64, repeats=1)
    assert result["gflops"] > 0 and result["measured_seconds"] > 0 and result["peak_mb"] > 100
    kept = run._cache_path(tmp_path, "matmul", {"n": 64, "repeats": 1})
    assert json.loads(kept.read_text())["gflops"] == result["gflops"]


def test_a_worker_reports_its_own_peak_memory_not_its_starters(tmp_path):
    held = bytearray(2048 * 2**20)  # 2 GB the starting process touches, so its own peak is far above a small worker's
    held[:: 4096] = b"\1" * len(held[:: 4096])
    starter = measure._peak_mb()
    worker = run._spawn("matmul", cache=tmp_path, n=64, repeats=1)["peak_mb"]
    del held
    assert 100 < worker < starter - 1536, f"the worker reported {worker:.0f} MB beside a starter of {starter:.0f} MB"


def test_peak_memory_is_read_from_the_process_status(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 9999999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n")
    assert measure._peak_mb(status) == 2.0
    assert measure._peak_mb(tmp_path / "absent") > 1, "without /proc it falls back to ru_maxrss"


def test_lead_time():
    baseline = {"total": [10.0, 8.0, 6.0, 4.0], "seconds": [0.0, 10.0, 20.0, 30.0]}
    ahead_then_behind = {"total": [10.0, 7.0, 6.5, 5.5], "seconds": [0.0, 5.0, 15.0, 25.0]}
    # at 5 s the baseline is at 9 (ahead: 7 < 9); at 15 s at 7 (6.5 < 7); at 25 s at 5 (5.5 > 5): behind
    assert report.lead_time(baseline, ahead_then_behind) == 15.0
    assert report.lead_time(baseline, {"total": [10.0, 9.5], "seconds": [0.0, 5.0]}) is None


def test_a_random_weights_run_cannot_pass_for_the_real_one():
    assert report.results_name("packaged") == "RESULTS.md" and report.results_name("imagenet") == "RESULTS.md"
    assert report.results_name("random") == report.RANDOM_RESULTS != "RESULTS.md"
    assert "NOT the trained network" in report.weights_line("random")
    assert report.weights_line("packaged").startswith("VGG19 weights: packaged (ImageNet VGG19, 8-bit")
    assert report.weights_kind_of([{"weights": "packaged"}, {"no": "weights"}, {"weights": "packaged"}]) == "packaged"
    with pytest.raises(RuntimeError, match="different VGG19 weights"):
        report.weights_kind_of([{"weights": "packaged"}, {"weights": "random"}])


def test_the_recipes_put_the_course_default_first():
    from helpers import lbfgs

    full_512, full_256 = plans.PLANS["full"]["ttq"]
    assert full_512["size"] == 512 and full_256["size"] == 256 and full_256["only_with_candidates"]
    lean = plans.ttq_specs(plans.PLANS["full"], [512, 256], with_candidates=False)
    assert [spec["size"] for spec in lean] == [512] and not lean[0]["run_candidates"], "the full plan alone: 512 px, the default"
    rows = plans.recipes(lean[0], "float32", 50)
    assert rows == [("course default: L-BFGS in TensorFlow, memory 50, float32",
                     {"steps": 300, "optimizer": "lbfgs", "lbfgs_memory": 50, "precision": "float32",
                      "line_search": lbfgs.LINE_SEARCH, "bounds": lbfgs.BOUND_HANDLING})]
    wide = plans.ttq_specs(plans.PLANS["full"], [512, 256], with_candidates=True)
    assert [label for label, _ in plans.recipes(wide[0], "float32", 50)][1:] == ["scipy's L-BFGS-B, memory 50, float32"]
    at_256 = [label for label, _ in plans.recipes(wide[1], "float32", 50)]
    assert at_256[0].startswith("course default") and len(at_256) == 6 and not any("bfloat16" in label for label in at_256)
    assert any("float32" in label for label, _ in plans.recipes(wide[1], "bfloat16", 50)[1:]), "bfloat16 runs also get a float32 recipe"
    quick = plans.ttq_specs(plans.PLANS["quick"], [64], with_candidates=False)
    assert any("coarse to fine" in label for label, _ in plans.recipes(quick[0], "float32", 50))


def test_the_full_plan_fits_in_two_and_a_half_hours():
    """At the evaluation time that wrote RESULTS.md (5.7 s at 512 px, 2 cores), the lean plan's forecast stays under 2.5 h."""
    specs = plans.ttq_specs(plans.PLANS["full"], [512, 256], with_candidates=False)
    seconds, parts = plans.forecast(plans.PLANS["full"], specs, lambda side: 5.7 * (side / 512) ** 2)
    assert 1.5 * 3600 < seconds < 2.5 * 3600, (seconds / 3600, parts)
    assert any(part.startswith("baseline at 512 px: 87 min") for part in parts), parts
    wide = plans.ttq_specs(plans.PLANS["full"], [512, 256], with_candidates=True)
    assert plans.forecast(plans.PLANS["full"], wide, lambda side: 5.7 * (side / 512) ** 2)[0] > seconds + 3600


def test_ttq_sizes_must_be_in_the_plan(capsys):
    with pytest.raises(SystemExit):
        run.main(["--quick", "--ttq-sizes", "512"])
    assert "the plan has time-to-quality sizes [64], not [512]" in capsys.readouterr().err


def test_a_slowed_baseline_cannot_flatter_the_speedup():
    history = {"seconds": [1.0, 2.0, 120.0], "total": [3.0, 2.0, 1.0]}
    assert report.fair_baseline_seconds(history, 100, 1.0) == 100.0, "100 steps of 1 s: the 120 s measured were slowed"
    assert report.fair_baseline_seconds(history, 100, 1.5) == 120.0
    assert report.fair_baseline_seconds(history, 100, None) == 120.0


def test_the_iteration_accounting_adds_up():
    steps = [{"size": 64, "precision": "float32", "lbfgs_eval": [1.0, 1.0, 1.0]}]
    bookkeeping = {"size": 64, "memories": {"50": {"first_iteration": 0.5, "per_iteration": 0.5}},
                   "tensorflow": {"50": {"first_iteration": 0.5, "per_iteration": 0.25}}}
    hist = {"seconds": [0.0, 30.0], "step": [0, 10], "evaluations": 12, "lbfgs_memory": 50, "precision": "float32", "head_start": 5.0,
            "optimizer": "lbfgs"}
    runs = {"baseline": {}, "course default: L-BFGS": hist}
    text = " ".join(report.iteration_accounting(runs, 64, steps, bookkeeping))
    # (30 - 5) / 10 = 2.5 s per iteration; 1.2 evaluations of 1 s; 0.25 s of the TensorFlow engine; 1.05 s (42%) left
    assert "took 2.50 s per iteration" in text and "take 1.20 s" in text and "50 0.25 s" in text and "remaining 1.05 s per iteration (42%)" in text
    hist["optimizer"] = "lbfgs-scipy"
    assert "remaining 0.80 s per iteration (32%)" in " ".join(report.iteration_accounting(runs, 64, steps, bookkeeping)), "scipy's own"
    assert report.iteration_accounting(runs, 128, steps, bookkeeping) == [], "no accounting from timings at another size"
    hist["lbfgs_memory"] = 10
    assert report.iteration_accounting(runs, 64, steps, bookkeeping) == [], "no bookkeeping timed at that memory"


def test_an_iteration_cheaper_than_its_parts_is_not_called_overhead():
    steps = [{"size": 64, "precision": "float32", "lbfgs_eval": [1.9, 2.0, 2.3]}]
    bookkeeping = {"size": 64, "tensorflow": {"50": {"first_iteration": 0.5, "per_iteration": 0.1}}}
    hist = {"seconds": [0.0, 19.0], "step": [0, 10], "evaluations": 10, "lbfgs_memory": 50, "precision": "float32", "optimizer": "lbfgs"}
    runs = {"baseline": {}, "course default: L-BFGS": hist}
    # 1.90 s per iteration against 2.00 s of evaluation and 0.10 s of bookkeeping: 0.20 s (11%) less than the parts
    text = " ".join(report.iteration_accounting(runs, 64, steps, bookkeeping))
    assert "remaining" not in text and "-0." not in text
    assert "came out 0.20 s per iteration (11%) cheaper" in text and "within the spread" in text and "(1.900-2.300 s" in text
    hist["seconds"] = [0.0, 12.0]  # 0.9 s less per iteration than the parts: beyond the 0.4 s spread of their timings
    assert "more than the spread" in " ".join(report.iteration_accounting(runs, 64, steps, bookkeeping))


def test_the_baseline_forecast_uses_the_timed_adam_step():
    steps = [{"size": 256, "precision": "float32", "adam_step": 1.2}, {"size": 512, "precision": "float32", "adam_step": 4.8}]
    specs = [{"size": 256, "baseline_steps": 1000}, {"size": 512, "baseline_steps": 1000}]
    assert "about 100 min here (1000 x 1.20 s at 256 px; 1000 x 4.80 s at 512 px)" in report.baseline_forecast(specs, steps)
    assert "about 20 min" in report.baseline_forecast(specs[:1], steps)


def test_the_bookkeeping_needs_iterations_after_the_memory_fills():
    with pytest.raises(ValueError, match="too few"):
        measure.work_bookkeeping(8, [50], 40)


def test_the_time_line_counts_every_measurement():
    # the throughput measurement kept by benchmarks/throughput.py's own command records "seconds" as one number
    results = [{"measured_seconds": 100.0}, {"seconds": [0.0, 50.0]}, {"measured_seconds": 30.0}, {"no": "time"}, {"seconds": 20.0}]
    line = report.time_line(results, candidates=[results[2]])
    assert "total benchmark time: 200 s (0.1 h)" in line and "without the --candidates recipes (30 s) it is 170 s" in line
    assert "1 measurement(s) kept from an interrupted invocation" in line and "1 measurement(s) with no recorded duration" in line
    assert report.time_line(results[:1]) == "- total benchmark time: 100 s (0.0 h), summed over the measurements"


def _check_the_throughput_section(out, tmp_path):
    """The throughput section appears exactly when its measurement exists."""
    tmp_path.mkdir()
    m = json.loads((out / run.MEASUREMENTS).read_text())
    assert "Beyond one picture" not in report.render(m, tmp_path).read_text()
    m["throughput"] = {
        "folder": {"images": 6, "photo": [48, 64], "max_dim": 48, "batch_size": 3, "model": "TransformNet(4, 8, 8)",
                   "loop_images_per_second": 10.0, "pipeline_images_per_second": 13.0, "speedup": 1.3},
        "training": {"steps": 4, "global_batch": 2, "image_size": 32, "filters": [4, 4, 8], "one_worker_steps_per_second": 2.5,
                     "two_worker_steps_per_second": 1.0, "cores": 2},
        "measured_seconds": 12.0,
    }
    assert "folder stylisation, tf.data vs loop: 1.3x" in report.render(m, tmp_path).read_text()
