"""helpers.runner: executes notebooks through a real kernel, writes build outputs, reports models and failures."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import runner


def _write(path, *sources):
    nb = new_notebook(cells=[new_markdown_cell("# t")] + [new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_runner_executes_writes_and_reports(tmp_path, capsys):
    good = _write(
        tmp_path / "01_good.ipynb",
        "from helpers import config\nconfig.notice('vgg19', 'VGG19 with random weights, for the test.')\nprint(config.smoke())",
    )
    bad = _write(tmp_path / "02_bad.ipynb", "raise RuntimeError('broken on purpose')")
    out = tmp_path / "build"
    status = runner.main([str(good), str(bad), "--out", str(out), "--timeout", "120"])
    text = capsys.readouterr().out
    assert status == 1
    assert "01_good.ipynb ... ok" in text and "02_bad.ipynb ... FAILED" in text
    assert "[vgg19] VGG19 with random weights, for the test." in text.split("Models used:")[1]
    assert (out / "notebooks" / "01_good.ipynb").exists() and (out / "html" / "01_good.html").exists()
    executed = nbformat.read(out / "notebooks" / "01_good.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[1].outputs)
    assert "VGG19 with random weights" in printed
    # the failed notebook is still written, with its error, for the reader to inspect
    failed = nbformat.read(out / "notebooks" / "02_bad.ipynb", as_version=4)
    assert any(o.output_type == "error" for o in failed.cells[1].outputs)


def test_smoke_flag_reaches_the_kernel(tmp_path):
    nb_path = _write(tmp_path / "03_smoke.ipynb", "from helpers import config\nassert config.smoke()")
    nb, seconds = runner.execute_notebook(nb_path, smoke=True, timeout=120)
    assert seconds > 0 and not any(o.output_type == "error" for o in nb.cells[1].outputs)


def test_notebook_paths_in_order():
    names = [p.name for p in runner.notebook_paths()]
    assert names == sorted(names) and all(n[:2].isdigit() for n in names)
