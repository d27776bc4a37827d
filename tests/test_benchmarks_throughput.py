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


def test_quick_run_measures_and_prints_the_lines(tmp_path):
    out = tmp_path / "throughput.json"
    done = subprocess.run([sys.executable, "benchmarks/throughput.py", "--quick", "--out", str(out)], cwd=config.ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(FOLDER_LINE.match(line) for line in lines), done.stdout
    assert any(TRAINING_LINE.match(line) for line in lines), done.stdout
    measured = json.loads(out.read_text())
    assert measured["quick"] is True and measured["folder"]["images"] == throughput.SIZES["quick"]["images"]
    assert measured["training"]["one_worker_steps_per_second"] > 0 and measured["training"]["two_worker_steps_per_second"] > 0
