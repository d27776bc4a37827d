"""benchmarks/style_statistics.py: one line per style statistic, its RESULTS.md section replaced (never repeated), and its arguments checked."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import nbformat

from benchmarks import style_statistics
from helpers import config

LINE = re.compile(r"^style statistic (gram|mean_std|mean_cov|sliced_wasserstein|mrf) at (\d+) px: \d+\.\d{3} s per evaluation, "
                  r"\d+ MB peak \((float32|bfloat16)\)$")


def _run(statistic: str, seconds: float, refused: str | None = None) -> dict:
    run = {"statistic": statistic, "size": 512, "content": [512, 512], "style": [512, 512],
           "layers": list(style_statistics.layers_of(statistic)), "options": style_statistics.options_of(statistic),
           "deepest_layer": "block5_conv1", "precision": "float32", "weights": "packaged", "repeats": 3, "warmups": 2,
           "tensorflow": "2.21.0", "refused": refused, "peak_mb": 2345.4}
    if refused is None:
        run.update(samples=[seconds, seconds * 1.1, seconds * 0.9], seconds=seconds, alone_seconds=seconds / 10, multiply_adds=3e9,
                   step_bytes=2**21)
    return run


def _measured(seconds: float, refused_mrf: str | None = None) -> dict:
    runs = [_run(s, seconds) for s in style_statistics.STATISTICS[:-1]] + [_run("mrf", seconds, refused_mrf)]
    return {"statistics": runs, "quick": False, "machine": "AMD EPYC", "cores": 2, "precision_why": "as asked with --precision"}


def test_report_lines_give_one_line_per_statistic_in_the_format():
    lines = style_statistics.report_lines(_measured(4.8125))
    matched = [LINE.match(line) for line in lines]
    assert [m.group(1) for m in matched if m] == list(style_statistics.STATISTICS)
    assert "style statistic gram at 512 px: 4.812 s per evaluation, 2345 MB peak (float32)" in lines


def test_a_refused_statistic_says_why_instead_of_a_number():
    why = "features = a [1, 256, 256, 256] tensor: 64516 output patches x 16129 style patches need a 3969 MiB similarity matrix"
    lines = style_statistics.report_lines(_measured(4.8, refused_mrf=why))
    assert f"style statistic mrf at 512 px: refused ({why})" in lines
    assert sum(bool(LINE.match(line)) for line in lines) == 4


def test_the_section_replaces_its_old_self_or_is_appended():
    head = "# Benchmark results\n\n## 1. Per-step cost\n\ntable\n"
    once = style_statistics.with_section(head, _measured(4.8125), "python benchmarks/style_statistics.py --results RESULTS.md")
    assert once.startswith(head) and once.count(style_statistics.SECTION) == 1 and "4.812 s per evaluation" in once
    assert "Measured by `python benchmarks/style_statistics.py --results RESULTS.md`" in once
    tail = "\n## Goals\n\n- a goal\n"
    twice = style_statistics.with_section(once + tail, _measured(7.25), "cmd")
    assert twice.count(style_statistics.SECTION) == 1, "the old section is replaced, not repeated"
    assert "4.812 s" not in twice and "7.250 s per evaluation" in twice
    assert twice.startswith(head) and twice.endswith(tail), "what comes before and after the section is kept"


def test_quick_run_measures_every_statistic_and_replaces_the_section(tmp_path):
    out = tmp_path / "style_statistics.json"
    results = tmp_path / "RESULTS.md"
    head, tail = "# Benchmark results\n\n## 1. Per-step cost\n", "\n## Goals\n\n- a goal\n"
    results.write_text(style_statistics.with_section(head, _measured(99.5), "an older run") + tail)
    done = subprocess.run([sys.executable, "benchmarks/style_statistics.py", "--quick", "--out", str(out), "--results", str(results)],
                          cwd=config.ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = [m for m in map(LINE.match, done.stdout.splitlines()) if m]
    assert [m.group(1) for m in printed] == list(style_statistics.STATISTICS), done.stdout
    assert {m.group(2) for m in printed} == {str(style_statistics.SIZES["quick"]["size"])}, "the quick run says its own size"
    written = results.read_text()
    assert written.startswith(head) and written.endswith(tail) and written.count(style_statistics.SECTION) == 1, written
    assert "99.500 s" not in written and "an older run" not in written, "the older section is gone"
    assert "quick check" in written and "--quick" in written, "a quick run is labelled as such"
    assert sum(bool(LINE.match(line)) for line in written.splitlines()) == len(style_statistics.STATISTICS)
    measured = json.loads(out.read_text())
    assert measured["quick"] is True
    for run in measured["statistics"]:
        assert run["refused"] is None and run["seconds"] > 0 and run["alone_seconds"] > 0 and run["peak_mb"] > 100
        assert run["layers"] == list(style_statistics.layers_of(run["statistic"]))


def test_a_bad_size_is_refused_by_name():
    for bad, said in (("10", "outside"), ("lots", "not a whole number")):
        done = subprocess.run([sys.executable, "benchmarks/style_statistics.py", "--size", bad], cwd=config.ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and "--size" in done.stderr and said in done.stderr, done.stderr


def test_unknown_statistics_and_a_missing_results_file_are_refused(tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/style_statistics.py", "--statistics", "gram,gramm"], cwd=config.ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--statistics: gramm" in done.stderr
    done = subprocess.run([sys.executable, "benchmarks/style_statistics.py", "--results", str(tmp_path / "nope.md")], cwd=config.ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nope.md does not exist" in done.stderr


def test_the_layers_and_options_are_notebook_07s():
    notebook = nbformat.read(config.ROOT / "notebooks" / "07_what_is_style.ipynb", as_version=4)
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    found.setdefault(node.targets[0].id, ast.literal_eval(node.value))
                except (ValueError, TypeError, SyntaxError):
                    pass
    assert tuple(found["MRF_LAYERS"]) == style_statistics.MRF_LAYERS
    assert found["MRF_STRIDE"] == style_statistics.MRF_STRIDE and found["PROJECTIONS"] == style_statistics.PROJECTIONS
    assert found["SEED"] == style_statistics.SEED
    assert (found["CONTENT"], found["STYLE"]) == (style_statistics.CONTENT, style_statistics.STYLE)
    assert tuple(found["STATISTICS"]) == style_statistics.STATISTICS
