"""benchmarks/throughput.py at tiny sizes: it measures, keeps its JSON, and prints the two result lines RESULTS.md needs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from benchmarks import throughput
from helpers import config

FOLDER_LINE = re.compile(r"^folder stylisation, tf\.data vs loop: \d+\.\dx$")
TRAINING_LINE = re.compile(r"^2-worker training on this machine: \d+\.\d steps/s vs 1 worker \d+\.\d steps/s$")


def test_report_lines_render_the_two_result_lines():
    measurements = {
        "folder": {"images": 48, "photo": [384, 512], "max_dim": 256, "batch_size": 8, "model": "TransformNet(16, 32, 64)",
                   "loop_images_per_second": 10.0, "pipeline_images_per_second": 13.04, "speedup": 1.304},
        "training": {"steps": 30, "global_batch": 4, "image_size": 96, "filters": [16, 32, 64],
                     "one_worker_steps_per_second": 2.46, "two_worker_steps_per_second": 1.04, "cores": 2},
    }
    lines = throughput.report_lines(measurements)
    assert "folder stylisation, tf.data vs loop: 1.3x" in lines
    assert "2-worker training on this machine: 1.0 steps/s vs 1 worker 2.5 steps/s" in lines


def _measured(speedup):
    return {"folder": {"images": 6, "photo": [48, 64], "max_dim": 48, "batch_size": 3, "model": "TransformNet(4, 8, 8)",
                       "loop_images_per_second": 10.0, "pipeline_images_per_second": 10.0 * speedup, "speedup": speedup},
            "training": {"steps": 4, "global_batch": 2, "image_size": 32, "filters": [4, 4, 8],
                         "one_worker_steps_per_second": 2.5, "two_worker_steps_per_second": 1.0, "cores": 2}}


def test_the_section_replaces_its_old_self_or_is_appended():
    head = "# Benchmark results\n\n## 1. Per-step cost\n\ntable\n"
    once = throughput.with_section(head, _measured(1.3), "python benchmarks/throughput.py --results RESULTS.md")
    assert once.startswith(head) and once.count(throughput.SECTION) == 1 and "tf.data vs loop: 1.3x" in once
    assert "Measured by `python benchmarks/throughput.py --results RESULTS.md`" in once
    tail = "\n## Goals\n\n- a goal\n"
    twice = throughput.with_section(once + tail, _measured(2.1), "cmd")
    assert twice.count(throughput.SECTION) == 1, "the old section is replaced, not repeated"
    assert "1.3x" not in twice and "tf.data vs loop: 2.1x" in twice
    assert twice.startswith(head) and twice.endswith(tail), "what comes before and after the section is kept"


def test_quick_run_measures_and_prints_the_lines(tmp_path):
    out = tmp_path / "throughput.json"
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## 1. Per-step cost\n")
    done = subprocess.run([sys.executable, "benchmarks/throughput.py", "--quick", "--out", str(out), "--results", str(results)],
                          cwd=config.ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    written = results.read_text()
    assert written.startswith("# Benchmark results\n\n## 1. Per-step cost\n") and throughput.SECTION in written
    assert any(FOLDER_LINE.match(line) for line in written.splitlines()), written
    lines = done.stdout.splitlines()
    assert any(FOLDER_LINE.match(line) for line in lines), done.stdout
    assert any(TRAINING_LINE.match(line) for line in lines), done.stdout
    measured = json.loads(out.read_text())
    assert measured["quick"] is True and measured["folder"]["images"] == throughput.SIZES["quick"]["images"]
    assert measured["training"]["one_worker_steps_per_second"] > 0 and measured["training"]["two_worker_steps_per_second"] > 0


def test_results_must_exist(tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/throughput.py", "--quick", "--results", str(tmp_path / "nope.md")],
                          cwd=config.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nope.md does not exist" in done.stderr
