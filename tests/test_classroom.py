"""The classroom kit (helpers/classroom.py, docs/grading.md): the student release carries the checks but no model
answer, and grading five made submissions of notebook 02 gives the table a teacher expects for each."""

from __future__ import annotations

import csv
import json
import time

import nbformat
import numpy as np
import pytest
import tensorflow as tf

from helpers import check, classroom, config
from helpers.check import solutions_stylization as solutions

NOTEBOOK = config.ROOT / "notebooks" / "02_tfhub_arbitrary_stylization.ipynb"
NAME = NOTEBOOK.stem
CHECKS = ["interpolate", "blend", "blur_style"]
#: Seconds a graded cell may run in the test: above the slowest cell of 02 in smoke mode (its setup, about 10 s on
#: 2 busy cores), far below what a test may wait.
TIMEOUT = 45


# --- fast: the model answers and the release's pieces ----------------------------------------------------------------


@pytest.mark.parametrize("name", CHECKS)
def test_model_answers_of_02_pass_their_checks(name, capsys):
    assert getattr(check, name)(getattr(solutions, name))
    assert "✓" in capsys.readouterr().out


def test_an_exercise_cell_splits_into_answer_and_checks():
    answer, checks = classroom.split_exercise("def f(x):\n    return None\n\n\ncheck.a(f)\ncheck.b(\n    f, 2)\n")
    assert answer == "def f(x):\n    return None"
    assert checks == [("a", "check.a(f)"), ("b", "check.b(\n    f, 2)")]


def test_source_notebook_holds_answers_between_markers_and_one_test_cell_per_check():
    nb, stubs, exercises = classroom.source_notebook(NOTEBOOK)
    assert [e["check"] for e in exercises] == CHECKS and all(e["solution"] for e in exercises)
    meta = [c.metadata["nbgrader"] for c in nb.cells]
    assert all(m["locked"] for m in meta if not m["solution"]), "every cell but the answers is read-only"
    tests = [c for c in nb.cells if c.metadata["nbgrader"]["grade"]]
    assert [c.source.splitlines()[-1] for c in tests] == [f"assert check.{n}({n})" for n in CHECKS]
    answers = [c for c in nb.cells if c.metadata["nbgrader"]["solution"]]
    assert all(classroom.BEGIN in c.source and classroom.END in c.source for c in answers)
    assert set(stubs) == {f"answer_{n}" for n in CHECKS} and all("return None" in s for s in stubs.values())


@pytest.mark.parametrize("path", classroom.exercise_notebooks(), ids=lambda p: p.name[:2])
def test_every_pasted_model_answer_passes_its_check(path, capsys):
    """Each source answer cell, run on its own (only tf, np and check given), passes the test cell that follows it."""
    nb, _stubs, exercises = classroom.source_notebook(path)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    for exercise in (e for e in exercises if e["solution"]):
        namespace = {"tf": tf, "np": np, "check": check}
        exec(cells[exercise["answer_id"]].source, namespace)
        exec(cells[exercise["grade_id"]].source, namespace)  # `assert check.<name>(...)`
        assert "✗" not in capsys.readouterr().out


def test_a_notebook_without_model_answers_keeps_its_stubs():
    _nb, _stubs, exercises = classroom.source_notebook(config.ROOT / "notebooks" / "00_start_here.ipynb")
    assert [e["check"] for e in exercises] == ["image_tensor", "image_tensor_2"]  # one check used twice: two grade ids
    assert not any(e["solution"] for e in exercises)


def test_collect_reads_nbgraders_layout_and_a_flat_folder(tmp_path):
    released = {NAME: tmp_path / "source" / NAME / NOTEBOOK.name}
    nested = tmp_path / "hand-in" / "submitted" / "ada" / NAME / "my copy.ipynb"  # a renamed notebook still counts
    nested.parent.mkdir(parents=True)
    nested.write_text("{}")
    assert classroom.collect(tmp_path / "hand-in", released) == [("ada", NAME, nested)]
    flat = tmp_path / NAME
    flat.mkdir()
    (flat / "ben.ipynb").write_text("{}")
    assert classroom.collect(flat, released) == [("ben", NAME, flat / "ben.ipynb")]  # the folder names the assignment
    assert classroom.collect(flat, released, assignment="other") == [("ben", "other", flat / "ben.ipynb")]


def test_a_checks_printout_becomes_one_line():
    assert classroom._hint("✓ blend: matches the reference.\n") == "✓ blend: matches the reference."
    printed = "✗ blend: does not match the reference yet.\n   - first problem\n   - second problem\n"
    assert classroom._hint(printed) == "✗ first problem; second problem"


# --- slow: release 02, make five submissions, grade them ---------------------------------------------------------------


def _set_answer(nb, grade_id: str, source: str) -> None:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = source


def _submissions(course, folder):
    """Five students' copies of the release: correct, typical mistakes, an error in an early cell, not a notebook, an endless loop."""
    release = nbformat.read(course / "release" / NAME / NOTEBOOK.name, as_version=4)
    source = nbformat.read(course / "source" / NAME / NOTEBOOK.name, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells if c.metadata["nbgrader"]["solution"]}

    def save(student, nb):
        path = folder / "submitted" / student / NAME / NOTEBOOK.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))

    correct = nbformat.from_dict(json.loads(nbformat.writes(release)))
    for grade_id, text in answers.items():  # the model answers, as a student would type them (no markers)
        _set_answer(correct, grade_id, "\n".join(line for line in text.splitlines() if "### " not in line))
    save("ada", correct)

    mistakes = nbformat.from_dict(json.loads(nbformat.writes(correct)))
    _set_answer(mistakes, "answer_interpolate", "def interpolate(v1, v2, t):\n    return t * v1 + (1 - t) * v2\n")
    _set_answer(mistakes, "answer_blend", "def blend(vectors, weights):\n    if sum(weights) != 1:\n"
                "        raise ValueError('weights must sum to 1')\n    return sum(w * v for v, w in zip(vectors, weights))\n")
    save("ben", mistakes)

    broken = nbformat.from_dict(json.loads(nbformat.writes(release)))  # no answer written yet
    setup = next(i for i, c in enumerate(broken.cells) if c.cell_type == "code")
    broken.cells.insert(setup + 1, nbformat.v4.new_code_cell("style = load_style('waves')  # a name the student never defined"))
    broken.cells[0].source = "# my notes"  # an edit to a read-only cell: grading restores it
    save("cho", broken)

    unreadable = folder / "submitted" / "eli" / NAME / NOTEBOOK.name  # cut off while copying: not JSON
    unreadable.parent.mkdir(parents=True)
    unreadable.write_text(nbformat.writes(correct)[:500], encoding="utf-8")

    endless = nbformat.from_dict(json.loads(nbformat.writes(correct)))
    _set_answer(endless, "answer_blur_style", "def blur_style(style):\n    while True:\n        pass\n")
    save("dev", endless)


@pytest.mark.notebook
def test_release_and_grade_five_submissions(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_PRECISION", "float32")
    course = tmp_path / "classroom"
    made = classroom.release([NOTEBOOK], course, quiet=True)
    assert [e["check"] for e in made[NAME]] == CHECKS

    released = (course / "release" / NAME / NOTEBOOK.name).read_text(encoding="utf-8")
    source = (course / "source" / NAME / NOTEBOOK.name).read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" in source and "tf.add_n" in source
    for leak in ("BEGIN SOLUTION", "END SOLUTION", "tf.add_n", "extrapolate beyond either style\"", "total / count"):
        assert leak not in released, f"the release shows the model answer ({leak!r})"
    student = nbformat.read(course / "release" / NAME / NOTEBOOK.name, as_version=4)
    tests = [c.source for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [t.splitlines()[-1] for t in tests] == [f"assert check.{n}({n})" for n in CHECKS]
    assert all(c.metadata.get("editable") is False for c in student.cells if c.metadata["nbgrader"]["locked"])

    _submissions(course, tmp_path / "hand-in")
    start = time.perf_counter()
    rows = classroom.grade(tmp_path / "hand-in", course, timeout=TIMEOUT, jobs=2, quiet=True)
    print(f"graded 5 submissions of {NAME} in {time.perf_counter() - start:.0f} s")

    with open(course / "grades.csv", encoding="utf-8") as table:
        written = list(csv.DictReader(table))
    assert len(written) == len(rows) == 5 * len(CHECKS)
    grades = {(r["student"], r["check"]): r for r in written}
    status = {r["student"]: r["status"] for r in written}

    # ada: everything right
    assert status["ada"] == "ran"
    for name in CHECKS:
        assert grades["ada", name]["points"] == grades["ada", name]["max_points"] == "1", grades["ada", name]
        assert grades["ada", name]["hint"].startswith("✓")
    # ben: swapped weights and an exact test for the sum; the checks' hints reach the table
    assert status["ben"] == "ran"
    assert grades["ben", "interpolate"]["points"] == "0"
    assert "you return t * v1 + (1 - t) * v2" in grades["ben", "interpolate"]["hint"]
    assert grades["ben", "blend"]["points"] == "0" and "allow a small rounding error" in grades["ben", "blend"]["hint"]
    assert grades["ben", "blur_style"]["points"] == "1"
    # cho: an added cell raises right after the setup, and no answer was written; the table names the error and the cell
    assert status["cho"].startswith("error: NameError") and "load_style" in status["cho"], status["cho"]
    assert all(grades["cho", n]["points"] == "0" and "returned None" in grades["cho", n]["hint"] for n in CHECKS)
    graded = nbformat.read(course / "autograded" / "cho" / NAME / NOTEBOOK.name, as_version=4)
    assert graded.cells[0].source == student.cells[0].source, "grading restores a read-only cell the student edited"
    # eli: the file is not a notebook; nbgrader's reason reaches the table
    assert status["eli"].startswith("error: not graded (NotJSONError"), status["eli"]
    assert all(grades["eli", n]["points"] == "0" and grades["eli", n]["hint"] == "not graded" for n in CHECKS)
    # dev: an endless loop in an answer is cut off after TIMEOUT seconds; the other exercises still count
    assert status["dev"].startswith("timed out"), status["dev"]
    assert grades["dev", "blur_style"]["points"] == "0" and "timed out" in grades["dev", "blur_style"]["hint"]
    assert grades["dev", "interpolate"]["points"] == "1"

    markdown = (course / "grades.md").read_text(encoding="utf-8")
    assert f"## {NAME}" in markdown and "| ada | ran | 3 / 3 |" in markdown and "| ben | ran | 1 / 3 |" in markdown
