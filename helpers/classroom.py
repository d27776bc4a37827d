"""A teacher's release of the exercises and autograding of submissions, with nbgrader (docs/grading.md).

    python -m helpers.classroom release [NN ...]     # every notebook with checked exercises, or those named (e.g. 02)
        # build/classroom/source/<notebook>/ (nbgrader source, with model answers) and release/<notebook>/ (for students)
    python -m helpers.classroom grade SUBMISSIONS [--timeout 120] [--assignment NAME]
        # autogrades submitted/<student>/<notebook>/<notebook>.ipynb (or a flat folder of <student>.ipynb) in smoke
        # mode, each cell cut off after --timeout seconds; writes build/classroom/grades.csv and grades.md

The course notebooks stay the only source: each exercise cell (a student's function, then ``check.<name>(...)``) is
split into an "autograded answer" cell (the model answer from helpers/check/solutions_*.py between nbgrader's
solution markers, where one exists) and one "autograded tests" cell per check (``assert check.<name>(...)``); every
other cell is read-only. nbgrader's generate_assignment strips the answers, and the release gets the course's own
stub back (with its hints) in each answer cell.
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import config

#: The nbgrader course folder: source/, release/, submitted/, autograded/, gradebook.db, grades.csv.
COURSE_DIR = config.BUILD_DIR / "classroom"
#: Points per check (one "autograded tests" cell each); a check not named here is worth DEFAULT_POINTS.
POINTS: dict[str, int] = {}
DEFAULT_POINTS = 1
#: Seconds one cell of a submission may run while grading before it is interrupted.
DEFAULT_TIMEOUT = 120
#: Submissions graded at once: each runs a kernel that keeps about two cores busy.
DEFAULT_JOBS = max(1, (os.cpu_count() or 2) // 2)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SCHEMA = 3  # nbgrader's cell metadata schema version


def _start_nbgrader(args: list[str], course_dir: Path, log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start `python -m nbgrader <args>` on course_dir, its log into `log`."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_dir}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(env or {})}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # nbgrader runs `alembic` from it
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(command, cwd=course_dir, env=env, stdout=out, stderr=subprocess.STDOUT)


def _run_nbgrader(args: list[str], course_dir: Path, log: Path, env: dict | None = None) -> int:
    """Run `python -m nbgrader <args>` on course_dir, its log into `log`; return its exit status."""
    return _start_nbgrader(args, course_dir, log, env).wait()


# --- the release ---------------------------------------------------------------------------------------------------


def exercise_notebooks() -> list[Path]:
    """The course notebooks whose exercises have checks."""
    from helpers import runner

    return [p for p in runner.notebook_paths() if _exercises(_read(p))]


def _read(path):
    """A notebook, as nbformat version 4."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def _exercise_start(nb) -> int | None:
    """Index of the markdown cell that opens the "Exercises" section, or None."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.search(r"^#+\s*Exercises?\b", cell.source, re.M):
            return i
    return None


def _check_calls(source: str) -> list[ast.Expr]:
    """The top-level statements of a cell that are a call `check.<name>(...)`, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        node
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
        and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == "check"
    ]


def _exercises(nb) -> list[int]:
    """Indexes of the code cells of the Exercises section that call a check."""
    start = _exercise_start(nb)
    if start is None:
        return []
    return [i for i in range(start, len(nb.cells)) if nb.cells[i].cell_type == "code" and _check_calls(nb.cells[i].source)]


def _lines(source: str, first: int, last: int) -> str:
    """Lines first..last (1-based, inclusive) of source."""
    return "\n".join(source.splitlines()[first - 1:last])


def split_exercise(source: str) -> tuple[str, list[tuple[str, str]]]:
    """An exercise cell -> (the answer part before the first check, [(check name, the check's call source)])."""
    calls = _check_calls(source)
    answer = _lines(source, 1, calls[0].lineno - 1).rstrip() if calls else source
    return answer, [(c.value.func.attr, _lines(source, c.lineno, c.end_lineno)) for c in calls]


def _solution_function(check_name: str):
    """The model answer for check `check_name` from helpers/check/solutions_<topic>.py, or None."""
    from helpers import check

    checker = getattr(check, check_name, None)
    if checker is None:
        return None
    topic = checker.__module__.rsplit(".", 1)[-1]
    try:
        module = importlib.import_module(f"helpers.check.solutions_{topic}")
    except ImportError:
        return None
    fn = getattr(module, check_name, None)
    return fn if inspect.isfunction(fn) else None


def solution_lines(fn, params: list[str]) -> list[str] | None:
    """The body of model answer `fn` as lines to paste into a function with parameters `params` (None if they do not fit).

    Names the answer takes from its module (NumPy, a helper next to it) are imported first; a parameter named otherwise,
    or one the student's function lacks but that has a default, is assigned.
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    fdef = tree.body[0]
    args = fdef.args.args
    defaults = dict(zip([a.arg for a in args][len(args) - len(fdef.args.defaults):], fdef.args.defaults))
    lines = []
    for i, arg in enumerate(a.arg for a in args):
        if i < len(params):
            if params[i] != arg:
                lines.append(f"{arg} = {params[i]}")
        elif arg in defaults:
            lines.append(f"{arg} = {ast.unparse(defaults[arg])}")
        else:
            return None
    if len(params) > len(args):
        return None
    module = sys.modules[fn.__module__]
    used = sorted({n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})
    imports, from_imports = [], []
    for name in used:
        if name in params or name not in vars(module):
            continue
        obj = vars(module)[name]
        if inspect.ismodule(obj):
            imports.append(f"import {obj.__name__}" + (f" as {name}" if obj.__name__ != name else ""))
        else:
            from_imports.append(f"from {module.__name__} import {name}")
    body = fdef.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    source = textwrap.dedent(inspect.getsource(fn)).splitlines()
    code = textwrap.dedent("\n".join(source[body[0].lineno - 1:fdef.end_lineno])).splitlines()
    return imports + from_imports + lines + code


def answer_with_solution(answer: str, function: str | None, check_name: str) -> str | None:
    """The answer part with the model answer of `check_name` between nbgrader's solution markers, or None if there is none."""
    fn = _solution_function(check_name)
    if fn is None or function is None:
        return None
    tree = ast.parse(answer)
    fdef = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if fdef is None:
        return None
    lines = solution_lines(fn, [a.arg for a in fdef.args.args])
    if lines is None:
        return None
    body = fdef.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # keep the student's docstring
    first = body[0].lineno
    indent = " " * body[0].col_offset
    source = answer.splitlines()
    region = [BEGIN, *lines, END]
    return "\n".join(source[:first - 1] + [indent + line if line else line for line in region] + source[fdef.end_lineno:])


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    """nbgrader's metadata of one cell (schema 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def source_notebook(path) -> tuple[object, dict[str, str], list[dict]]:
    """The nbgrader source version of a course notebook -> (notebook, {answer grade_id: course stub}, exercises).

    Each exercise is {"check", "grade_id", "points", "answer_id", "solution": bool}.
    """
    from nbformat.v4 import new_code_cell

    nb = _read(path)
    exercise_cells = set(_exercises(nb))
    cells, stubs, exercises, times = [], {}, [], {}
    for i, cell in enumerate(nb.cells):
        if i not in exercise_cells:
            cell.metadata["nbgrader"] = _meta(f"cell_{cell.get('id') or i}", locked=True)
            cells.append(cell)
            continue
        answer, checks = split_exercise(cell.source)
        labels = []  # a check used twice (00 checks two images) is told apart by a number: image_tensor, image_tensor_2
        for name, _call in checks:
            times[name] = times.get(name, 0) + 1
            labels.append(name if times[name] == 1 else f"{name}_{times[name]}")
        if answer.strip():
            answer_id = f"answer_{labels[0]}"
            # one answer cell may hold several functions (03: the TV loss and the train step): a solution for each
            solved = answer
            found = []
            for name, call in checks:
                node = _check_calls(call)[0].value
                fname = node.args[0].id if node.args and isinstance(node.args[0], ast.Name) else None
                new = answer_with_solution(solved, fname, name)
                found.append(new is not None)
                solved = new or solved
            cell.source = solved
            cell.metadata["nbgrader"] = _meta(answer_id, solution=True)
            cells.append(cell)
            stubs[answer_id] = answer
        else:
            answer_id, found = None, [False] * len(checks)
        for k, ((name, call), label) in enumerate(zip(checks, labels)):
            points = POINTS.get(name, DEFAULT_POINTS)
            test = new_code_cell(f"# Autograded ({points} point{'s' * (points != 1)}): passes when the check prints ✓.\n"
                                 f"assert {call}")
            test.id = f"{cell.get('id') or i}-check-{k}"[:64]
            test.metadata["nbgrader"] = _meta(f"check_{label}", grade=True, locked=True, points=points)
            cells.append(test)
            exercises.append({"check": label, "grade_id": f"check_{label}", "points": points, "answer_id": answer_id,
                              "solution": found[k]})
    nb.cells = cells
    return nb, stubs, exercises


def release(notebooks=None, course_dir: Path = COURSE_DIR, quiet: bool = False) -> dict[str, list[dict]]:
    """Write nbgrader source notebooks and generate the student release; return {assignment: exercises}."""
    import nbformat
    from nbgrader.utils import compute_checksum

    course_dir = Path(course_dir)
    paths = [Path(p) for p in notebooks] if notebooks else exercise_notebooks()
    made = {}
    for path in paths:
        name = path.stem
        nb, stubs, exercises = source_notebook(path)
        if not exercises:
            raise ValueError(f"{path.name} has no exercise with a check")
        folder = course_dir / "source" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / path.name))
        status = _run_nbgrader(["generate_assignment", name, "--force", "--create"], course_dir,
                               course_dir / "logs" / f"release_{name}.log")
        released = course_dir / "release" / name / path.name
        if status or not released.exists():
            raise RuntimeError(f"nbgrader generate_assignment failed for {name}; see {course_dir / 'logs' / f'release_{name}.log'}")
        student = _read(released)
        for cell in student.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") in stubs:  # the course's stub, with its hints, instead of nbgrader's generic one
                cell.source = stubs[meta["grade_id"]]
                meta["checksum"] = compute_checksum(cell)
        nbformat.write(student, str(released))
        made[name] = exercises
        if not quiet:
            solved = sum(e["solution"] for e in exercises)
            print(f"{name}: {len(exercises)} checked exercise(s), {solved} with a model answer in the source -> {released}")
    return made


# --- grading -------------------------------------------------------------------------------------------------------


def _released(course_dir: Path) -> dict[str, Path]:
    """{assignment: its source notebook} for every assignment released into course_dir."""
    return {p.parent.name: p for p in sorted((course_dir / "source").glob("*/*.ipynb"))}


def _guess_assignment(path: Path, released: dict[str, Path]) -> str | None:
    """The released assignment whose test cells a submitted notebook carries, or None."""
    try:
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in json.loads(path.read_text("utf-8"))["cells"]}
    except (ValueError, KeyError, OSError):
        return None
    for name, source in released.items():
        tests = {c.metadata["nbgrader"]["grade_id"] for c in _read(source).cells if c.metadata.get("nbgrader", {}).get("grade")}
        if tests and tests <= ids:
            return name
    return None


def collect(submissions, released: dict[str, Path], assignment: str | None = None) -> list[tuple[str, str, Path]]:
    """[(student, assignment, notebook)] found in a folder of submissions.

    Layouts: <folder>/submitted/<student>/<assignment>/*.ipynb, <folder>/<student>/<assignment>/*.ipynb, or a flat
    <folder>/<student>.ipynb (the assignment from --assignment, the folder's name, or the test cells it carries).
    """
    root = Path(submissions)
    if (root / "submitted").is_dir():
        root = root / "submitted"
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            for sub in sorted(entry.iterdir()):
                notebooks = sorted(sub.glob("*.ipynb")) if sub.is_dir() else []
                if notebooks and (assignment is None or sub.name == assignment):
                    found.append((entry.name, sub.name, notebooks[0]))
        elif entry.suffix == ".ipynb":
            name = assignment or (root.name if root.name in released else None) or _guess_assignment(entry, released)
            found.append((entry.stem, name or "?", entry))
    return found


def _text(outputs) -> str:
    """What the cell printed to stdout."""
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _errors(cell) -> list[dict]:
    """The error outputs of a cell."""
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def _hint(printed: str) -> str:
    """What a check printed, on one line: '✓ ...', or '✗' and each problem it named."""
    lines = [line.strip() for line in printed.strip().splitlines() if line.strip()]
    marks = [i for i, line in enumerate(lines) if line.startswith(("✓", "✗"))]
    if not marks:
        return " ".join(lines)
    lines = lines[marks[-1]:]
    if lines[0].startswith("✓"):
        return lines[0]
    return "✗ " + "; ".join(line.lstrip("- ").strip() for line in lines[1:]) if len(lines) > 1 else lines[0]


def results(notebook, timeout: int) -> tuple[str, list[dict]]:
    """An autograded notebook -> (status, one row per test cell: check, points, max_points, hint)."""
    from nbgrader.utils import determine_grade, is_grade

    status, rows, code = "ran", [], 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code += 1
        errors = _errors(cell)
        first_line = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
        timed_out = any(e.get("ename") == "CellTimeoutError" for e in errors)
        graded = is_grade(cell)
        if timed_out and not status.startswith("timed out"):
            status = f"timed out: code cell {code} ran over {timeout} s (`{first_line.strip()[:60]}`)"
        elif errors and status == "ran" and not (graded and errors[0].get("ename") == "AssertionError"):
            status = f"error: {errors[0].get('ename')}: {errors[0].get('evalue', '')[:120]} (code cell {code}: `{first_line.strip()[:60]}`)"
        if not graded:
            continue
        points, max_points = determine_grade(cell)
        if timed_out:
            hint = f"timed out after {timeout} s"
        elif cell.get("execution_count") is None and not cell.get("outputs"):
            hint = "did not run"
        elif errors and errors[0].get("ename") != "AssertionError":
            hint = f"{errors[0].get('ename')}: {errors[0].get('evalue', '')}"
        else:
            hint = _hint(_text(cell.get("outputs", [])))
            stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr").strip()
            if stderr and hint.startswith("✓"):  # nbgrader scores a test cell that wrote to stderr 0
                hint += f" (but the cell wrote to stderr, so nbgrader gave no points: {stderr.splitlines()[-1][:120]})"
        rows.append({"check": cell.metadata["nbgrader"]["grade_id"].removeprefix("check_"), "points": points or 0,
                     "max_points": max_points, "hint": hint})
    return status, rows


def _log_error(log: Path, student: str) -> str:
    """The exception nbgrader's log names for a submission it could not grade (e.g. a notebook that is not JSON)."""
    if not log.exists():
        return "nbgrader did not run"
    lines = log.read_text("utf-8", "replace").splitlines()
    end = next((i for i, line in enumerate(lines) if f"for student '{student}'" in line), len(lines))
    exception = re.compile(r"^\s*(?:[\w]+\.)*(\w*(?:Error|Exception)): (.+)")
    for line in reversed(lines[:end]):
        if match := exception.match(line):
            return f"{match.group(1)}: {match.group(2)}"[:200]
    return f"see {log}"


def grade(submissions, course_dir: Path = COURSE_DIR, timeout: int = DEFAULT_TIMEOUT, assignment: str | None = None,
          jobs: int = 1, quiet: bool = False) -> list[dict]:
    """Autograde a folder of submissions in smoke mode; write grades.csv and grades.md; return the table's rows.

    `jobs` nbgrader runs grade at once, each its share of the students (one kernel each: about one per two cores).
    """
    course_dir = Path(course_dir).resolve()
    released = _released(course_dir)
    if not released:
        raise SystemExit(f"nothing released in {course_dir}: run `python -m helpers.classroom release` first")
    found = collect(submissions, released, assignment)
    if not found:
        raise SystemExit(f"no submitted notebook found in {submissions} (docs/grading.md shows the layouts)")
    for folder in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course_dir / folder, ignore_errors=True)
    for old in (course_dir / "logs").glob("autograde_*.log"):
        old.unlink()
    unknown = []
    for student, name, path in found:
        if name not in released:
            unknown.append((student, name))
            continue
        target = course_dir / "submitted" / student / name / released[name].name  # the name nbgrader expects
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    scratch = course_dir / "outputs"  # what the notebooks write while graded
    env = {
        "NST_SMOKE": "1",
        "NST_OUT": str(scratch),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(config.ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    options = [f"--Execute.timeout={int(timeout)}", "--Execute.interrupt_on_timeout=True",
               # TensorFlow's C++ log goes to the kernel's own stderr, never into a graded cell (stderr there scores 0)
               "--Execute.extra_arguments=['--IPKernelApp.capture_fd_output=False', '--HistoryManager.hist_file=:memory:']"]
    # a shared gradebook written by parallel runs: wait for its lock instead of failing
    options.append(f"--CourseDirectory.db_url=sqlite:///{course_dir / 'gradebook.db'}?timeout=120")
    logs = {}
    for name in sorted({n for _, n, _ in found if n in released}):
        students = [s for s, n, _ in found if n == name]
        groups = [students[k::jobs] for k in range(min(max(1, jobs), len(students)))]
        if not quiet:
            print(f"grading {name}: {len(students)} submission(s) in {len(groups)} run(s) at a time, "
                  f"each cell cut off after {timeout} s ...", flush=True)
        runs = []
        for k, group in enumerate(groups):
            folder = "submitted" if len(groups) == 1 else f"submitted_part{k + 1}"
            if len(groups) > 1:  # each run grades its own share of the students, from its own folder
                for student in group:
                    shutil.copytree(course_dir / "submitted" / student / name, course_dir / folder / student / name)
            log = course_dir / "logs" / (f"autograde_{name}.log" if len(groups) == 1 else f"autograde_{name}_part{k + 1}.log")
            logs.setdefault(name, {}).update({student: log for student in group})
            runs.append(_start_nbgrader(["autograde", name, "--force", "--create", *options,
                                         f"--CourseDirectory.submitted_directory={folder}"], course_dir, log, env))
        for run in runs:
            run.wait()
        for k in range(len(groups) if len(groups) > 1 else 0):
            shutil.rmtree(course_dir / f"submitted_part{k + 1}", ignore_errors=True)
    rows = []
    for student, name, _path in found:
        if (student, name) in unknown:
            rows.append({"student": student, "assignment": name, "check": "", "points": 0, "max_points": 0,
                         "status": "error: not a released assignment (run release for it, or pass --assignment)", "hint": ""})
            continue
        graded = course_dir / "autograded" / student / name / released[name].name
        exercises = [c.metadata["nbgrader"] for c in _read(released[name]).cells if c.metadata.get("nbgrader", {}).get("grade")]
        if graded.exists():
            status, per_check = results(_read(graded), timeout)
        else:
            status, per_check = f"error: not graded ({_log_error(logs[name][student], student)})", []
        by_check = {r["check"]: r for r in per_check}
        missing = "missing from the submission" if graded.exists() else "not graded"
        for meta in exercises:
            check = meta["grade_id"].removeprefix("check_")
            row = by_check.get(check, {"points": 0, "max_points": float(meta["points"]), "hint": missing})
            rows.append({"student": student, "assignment": name, "check": check, "points": row["points"],
                         "max_points": row["max_points"], "status": status, "hint": row["hint"]})
    write_table(rows, course_dir)
    if not quiet:
        print(f"grade table: {course_dir / 'grades.csv'} and {course_dir / 'grades.md'}")
    return rows


def _number(x) -> str:
    """1.0 -> '1', 0.5 -> '0.5'."""
    return f"{float(x):g}"


def write_table(rows: list[dict], course_dir: Path) -> None:
    """grades.csv (one row per student and exercise) and grades.md (one table per assignment, then the hints)."""
    fields = ["student", "assignment", "check", "points", "max_points", "status", "hint"]
    with open(course_dir / "grades.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "points": _number(row["points"]), "max_points": _number(row["max_points"])})

    def cell(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    md = ["# Grades", ""]
    for name in dict.fromkeys(r["assignment"] for r in rows):
        mine = [r for r in rows if r["assignment"] == name]
        checks = list(dict.fromkeys(r["check"] for r in mine if r["check"]))
        md += [f"## {name}", "", "| student | status | total | " + " | ".join(f"`{c}`" for c in checks) + " |",
               "|---|---|---|" + "---|" * len(checks)]
        students = list(dict.fromkeys(r["student"] for r in mine))
        for student in students:
            own = [r for r in mine if r["student"] == student]
            total = f"{_number(sum(r['points'] for r in own))} / {_number(sum(r['max_points'] for r in own))}"
            scores = [next((f"{_number(r['points'])} / {_number(r['max_points'])}" for r in own if r["check"] == c), "") for c in checks]
            md.append(f"| {cell(student)} | {cell(own[0]['status'])} | {total} | " + " | ".join(scores) + " |")
        md += ["", "What each check said:", ""]
        for student in students:
            for r in mine:
                if r["student"] == student and r["check"]:
                    md.append(f"- {cell(student)}, `{r['check']}`: {cell(r['hint'])}")
        md.append("")
    (course_dir / "grades.md").write_text("\n".join(md), encoding="utf-8")


def main(argv=None) -> int:
    """The command line: release or grade."""
    parser = argparse.ArgumentParser(prog="python -m helpers.classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-dir", type=Path, default=COURSE_DIR, help="the nbgrader course folder (default build/classroom)")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="make the nbgrader source and the student release of the exercises")
    rel.add_argument("notebooks", nargs="*", help="notebook paths or two-digit prefixes (default: every notebook with checks)")
    gr = commands.add_parser("grade", help="autograde a folder of submissions and write the grade table")
    gr.add_argument("submissions", type=Path)
    gr.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help=f"seconds a cell may run (default {DEFAULT_TIMEOUT})")
    gr.add_argument("--assignment", help="the assignment of a flat folder of <student>.ipynb")
    gr.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help=f"submissions graded at once (default {DEFAULT_JOBS}: half the cores)")
    args = parser.parse_args(argv)
    if args.command == "release":
        paths = []
        for item in args.notebooks:
            matches = [p for p in exercise_notebooks() if p.name.startswith(item) or p.stem == Path(item).stem]
            if not matches:
                parser.error(f"no notebook with checked exercises matches {item!r}")
            paths += matches
        release(paths or None, args.course_dir)
    else:
        grade(args.submissions, args.course_dir, args.timeout, args.assignment, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
