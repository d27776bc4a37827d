"""The README's lab plan: which notebooks fit a 90-minute session, from the estimate each notebook prints.

    python -m helpers.lab_plan           # run each notebook up to its estimate here (full mode), write the plan into the README
    python -m helpers.lab_plan --print   # the same, printed only (a teacher's own laptop: what fits there)
    python -m helpers.lab_plan --check   # exit 1 unless the README's plan is the one its kept record gives (runs nothing)

Each notebook prints `clock.estimate(...)` right after its parameters (helpers/timing.py): this command runs every
notebook in full mode only as far as that cell, which takes seconds, and keeps `clock.estimated`. The record (machine
and seconds) is kept in the README as a comment above the table, so a test can check that the table is the one it
gives. A notebook takes its run time plus READING_MINUTES of reading (the course's budget for one notebook's main
path); sessions are filled in reading order.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from helpers import config, timing

SESSION_MINUTES = 90
#: Minutes a student reads one notebook's main path (the course writes each notebook for one sitting of about this).
READING_MINUTES = 25
README = config.ROOT / "README.md"
BEGIN, END = "<!-- lab plan: written by python -m helpers.lab_plan -->", "<!-- end of the lab plan -->"
_RECORD = re.compile(r"<!-- lab plan record: (\{.*?\}) -->", re.S)


def _estimate_cell(nb) -> int:
    """The index of the notebook's first code cell that prints clock.estimate(...)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "clock.estimate(" in cell.source:
            return i
    raise ValueError("the notebook prints no clock.estimate(...)")


def measure(paths=None) -> dict:
    """Run each notebook in full mode up to its estimate; {"machine", "precision", "seconds": {name: estimated seconds}}."""
    import nbformat
    from nbformat.v4 import new_code_cell

    from helpers import runner, site

    for name in ("NST_SMOKE", "NST_PRECISION"):  # full mode, VGG19 in the precision this machine chooses
        os.environ.pop(name, None)
    record = {"machine": "", "precision": "", "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths or runner.notebook_paths():
            nb = nbformat.read(path, as_version=4)
            nb.cells = nb.cells[: _estimate_cell(nb) + 1] + [new_code_cell('print("LAB-PLAN-ESTIMATE", clock.estimated)')]
            short = Path(tmp) / path.name
            nbformat.write(nb, short)
            executed, _ = runner.execute_notebook(short, out_dir=Path(tmp) / "out", smoke=False, timeout=600)
            printed = "".join(o.get("text", "") for o in executed.cells[-1].get("outputs", []))
            seconds = float(re.search(r"LAB-PLAN-ESTIMATE (\S+)", printed).group(1))
            record["seconds"][path.name] = round(seconds, 1)
            run = executed.metadata.get(site.RECORD_KEY, {})
            record["machine"] = run.get("machine", record["machine"])
            if run.get("precision") not in (None, "not chosen"):
                record["precision"] = run["precision"]
            print(f"  {path.name}: {timing.duration(seconds)}", flush=True)
    return record


def sessions(seconds: dict) -> dict[str, int | None]:
    """{notebook: session number}, filling 90-minute sessions in reading order; None for a notebook that fits none."""
    plan, session, used = {}, 0, None
    for name in sorted(seconds):
        minutes = seconds[name] / 60 + READING_MINUTES
        if minutes > SESSION_MINUTES:
            plan[name] = None
            used = None
            continue
        if used is None or used + minutes > SESSION_MINUTES:
            session, used = session + 1, 0.0
        used += minutes
        plan[name] = session
    return plan


def _title(name: str) -> str:
    """'03' from '03_hand_built_vgg19_optimizer.ipynb'."""
    return name.split("_", 1)[0]


def render(record: dict) -> str:
    """The README's lab plan (between BEGIN and END) for `record`, the record itself kept in a comment."""
    seconds = record["seconds"]
    plan = sessions(seconds)
    rows = ["| notebook | its estimate (full mode) | with reading | in a lab |", "|---|---|---|---|"]
    for name in sorted(seconds):
        where = f"session {plan[name]}" if plan[name] else "longer than one session: run it beforehand (see below)"
        with_reading = timing.duration(seconds[name] + READING_MINUTES * 60)
        rows.append(f"| [{_title(name)}](notebooks/{name}) | {timing.duration(seconds[name])} | {with_reading} | {where} |")
    groups: dict[int, list[str]] = {}
    for name, number in plan.items():
        if number:
            groups.setdefault(number, []).append(_title(name))
    said = "; ".join(f"session {n}: {' + '.join(names)}" for n, names in sorted(groups.items()))
    precision = f", VGG19 in {record['precision']}" if record.get("precision") else ""
    return "\n".join([
        BEGIN,
        f"<!-- lab plan record: {json.dumps(record, sort_keys=True)} -->",
        f"Measured by `python -m helpers.lab_plan` on {record['machine']}{precision}: each notebook's own estimate of its full "
        f"run, plus {READING_MINUTES} min to read its main path, packed in reading order into sessions of {SESSION_MINUTES} min "
        f"({said}).",
        "",
        *rows,
        END,
    ])


def kept_record(text: str) -> dict | None:
    """The record kept in the README's lab plan, or None when it has none."""
    match = _RECORD.search(text)
    return json.loads(match.group(1)) if match else None


def replace_plan(text: str, plan: str) -> str:
    """`text` with the block between BEGIN and END replaced by `plan`."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + plan + text[end:]


def main(argv=None) -> int:
    """Command line: measure and write the plan, print it, or check the README's."""
    parser = argparse.ArgumentParser(description="Which notebooks fit a 90-minute lab, from each notebook's own estimate here.")
    parser.add_argument("--print", action="store_true", help="print the plan for this machine; leave the README alone")
    parser.add_argument("--check", action="store_true", help="run nothing; exit 1 unless the README's plan is its record's")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    if args.check:
        record = kept_record(text)
        ok = record is not None and replace_plan(text, render(record)) == text
        print("the README's lab plan is its record's" if ok else "the README's lab plan differs: run python -m helpers.lab_plan")
        return 0 if ok else 1
    plan = render(measure())
    if args.print:
        print(plan)
    else:  # read again: the measuring took minutes
        README.write_text(replace_plan(README.read_text(encoding="utf-8"), plan), encoding="utf-8")
        print("wrote the lab plan into README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
