"""helpers.runner: executes notebooks through a real kernel, writes build outputs, reports models and failures."""

from __future__ import annotations

import re

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
    captured = capsys.readouterr()
    text = captured.out
    assert status == 1
    lines = text.splitlines()
    # one line per notebook: its name, a dot per code cell started, then the status and the time
    assert any(re.fullmatch(r"  01_good\.ipynb +\. ok +\d+ s", line) for line in lines), text
    assert any(re.fullmatch(r"  02_bad\.ipynb +\. FAILED +\d+ s", line) for line in lines), text
    # the failing cell's error in full, then where the kernel's own log is
    assert "raise RuntimeError('broken on purpose')" in text and "RuntimeError: broken on purpose" in text
    assert "\x1b[" not in text  # no colour codes in a log
    assert "1 of 2 notebook(s) ran in" in text and "FAILED: 02_bad.ipynb" in text
    assert "[vgg19] VGG19 with random weights, for the test." in text.split("Models used:")[1]
    # the kernel's transport warning and TensorFlow's C++ log go to the kernel log, not to the console
    assert "without encryption" not in text + captured.err
    assert "without encryption" in (out / "logs" / "01_good.log").read_text()
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


def test_parameters_are_injected_after_the_parameters_cell(tmp_path, capsys):
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("CONTENT = 'astronaut'\nSTEPS = 3"),
                             new_code_cell("print(f'{CONTENT}|{STEPS}')")])
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "04_params.ipynb"
    nbformat.write(nb, path)
    executed, _ = runner.execute_notebook(path, parameters={"CONTENT": "~/me.jpg", "STEPS": 7}, timeout=120)
    assert executed.cells[2].metadata["tags"] == ["injected-parameters"]
    assert executed.cells[3].outputs[0]["text"] == "~/me.jpg|7\n"
    status = runner.main([str(path), "--out", str(tmp_path / "build"), "-p", "CONTENT=my photo.png", "-p", "STEPS=2"])
    assert status == 0
    assert "Parameters: CONTENT='my photo.png', STEPS=2" in capsys.readouterr().out
    saved = nbformat.read(tmp_path / "build" / "notebooks" / "04_params.ipynb", as_version=4)
    assert saved.cells[3].outputs[0]["text"] == "my photo.png|2\n"


def test_injection_needs_a_parameters_cell():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    import pytest

    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        runner.inject_parameters(nb, {"x": 2})


def test_everything_a_notebook_writes_goes_to_out(tmp_path):
    nb = _write(tmp_path / "09_writes.ipynb",
                "from helpers import config\n(config.output_dir('09') / 'result.txt').write_text('made here')")
    out = tmp_path / "elsewhere"
    runner.execute_notebook(nb, out, smoke=True, timeout=120, kernel_log=tmp_path / "k.log")
    assert (out / "09" / "result.txt").read_text() == "made here", "--out is the run's folder: no smoke/ inside it"
    assert (out / "notebooks" / "09_writes.ipynb").is_file()
    assert not any("smoke" in p.relative_to(out).parts for p in out.rglob("*")), "the runner chose the folder; nothing adds smoke/ to it"


def test_default_output_folders_keep_runs_apart(monkeypatch):
    monkeypatch.delenv("NST_SMOKE", raising=False)
    assert runner.default_out_dir({}) == runner.config.BUILD_DIR
    own = runner.default_out_dir({"CONTENT": "~/Pictures/my dog.jpg", "STYLE": "starry_night"})
    assert own.parent == runner.config.BUILD_DIR / "runs" and own.name == "CONTENT-my-dog_STYLE-starry_night"
    monkeypatch.setenv("NST_SMOKE", "1")
    smoke = runner.config.BUILD_DIR / "smoke"
    assert runner.default_out_dir({}) == smoke
    own_smoke = runner.default_out_dir({"CONTENT": "~/Pictures/my dog.jpg", "STYLE": "starry_night"})
    assert own_smoke == smoke / "runs" / "CONTENT-my-dog_STYLE-starry_night", "a smoke run with -p values never shares the full run's folder"
    monkeypatch.delenv("NST_OUT", raising=False)
    assert runner.config.output_dir("03") == smoke / "03", "in Jupyter, smoke mode writes under build/smoke/, with smoke once in the path"


def test_smoke_and_full_runs_never_share_an_out_folder(tmp_path, monkeypatch, capsys):
    import pytest

    nb = _write(tmp_path / "05_tiny.ipynb", "print('ran')")
    out = tmp_path / "mine"
    monkeypatch.setenv("NST_SMOKE", "1")
    assert runner.main([str(nb), "--out", str(out), "--timeout", "120"]) == 0
    assert (out / runner.MODE_FILE).read_text() == "smoke\n"
    monkeypatch.setenv("NST_SMOKE", "0")
    with pytest.raises(SystemExit):
        runner.main([str(nb), "--out", str(out), "--timeout", "120"])
    err = capsys.readouterr().err
    assert f"--out {out} holds a smoke run's files, and this is a full run" in err and "Choose another --out" in err
    assert runner.main([str(nb), "--out", str(tmp_path / "full"), "--timeout", "120"]) == 0
