"""benchmarks/: the quick run works end to end (so the benchmark code cannot rot), and its arithmetic is right."""

from __future__ import annotations

import re
import subprocess
import sys

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
    assert re.search(r"\| 64 px \| \d+\.\d+ s \(", text), "per-step table row missing"
    assert re.search(r"TF matmul peak .*: \d+ GFLOP/s", text)
    assert (tmp_path / "time_to_quality_64.png").stat().st_size > 1000
    assert "speedup at 512 px" not in text, "the quick run must not claim the 512 px headline"
