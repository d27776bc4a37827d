"""Execute the course notebooks headless through a real Jupyter kernel (``make run``, and the tests).

    python -m helpers.runner                 # every notebook, full size, into build/
    NST_SMOKE=1 python -m helpers.runner     # the quick pass, into build/smoke/ (never into a full run's folder)
    python -m helpers.runner notebooks/01_theory_content_and_style.ipynb
    python -m helpers.runner notebooks/03_hand_built_vgg19_optimizer.ipynb -p CONTENT=~/me.jpg -p STYLE=starry_night
        # -> build/runs/CONTENT-me_STYLE-starry_night/, so the full run in build/ is never overwritten

Each notebook gets one line that shows its progress and ends with its status and time. What the kernel writes
straight to its error stream (TensorFlow's C++ start-up log, Jupyter's transport warning) goes to build/logs/;
a failing notebook's error is printed in full.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

from helpers import config, files, site

NOTEBOOKS_DIR = config.ROOT / "notebooks"


def notebook_paths() -> list[Path]:
    """The course notebooks in reading order (notebooks/NN_*.ipynb)."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@contextlib.contextmanager
def _environ(**values):
    """Temporarily set environment variables (None removes one)."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def inject_parameters(nb, parameters: dict) -> None:
    """Insert a cell that sets `parameters` right after the cell tagged 'parameters' (as papermill does)."""
    from nbformat.v4 import new_code_cell

    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters' to inject values after")
    source = "# Injected parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


def kernel_log_path(out_dir, notebook) -> Path:
    """Where a run into `out_dir` keeps what the notebook's kernel wrote to its error stream."""
    return Path(out_dir) / "logs" / f"{Path(notebook).stem}.log"


def execute_notebook(path, out_dir=None, smoke: bool | None = None, timeout: int = 1800, model_log=None,
                     parameters: dict | None = None, on_cell=None, kernel_log=None):
    """Run one notebook in a fresh kernel (cwd = its folder); return (executed notebook, seconds).

    `parameters` are injected after the parameters cell; `on_cell(index, total)` is called as each code cell starts;
    the kernel's own error stream goes to `kernel_log` (default: out_dir/logs/<name>.log; with neither, to this
    process's error stream, where pytest captures it and shows it with a failure).
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(config.ROOT), os.environ.get("PYTHONPATH")]))}
    if smoke is not None:
        env["NST_SMOKE"] = "1" if smoke else "0"
    if model_log is not None:
        env["NST_MODEL_LOG"] = str(model_log)
    if out_dir is not None:  # everything the notebook writes goes there too (config.output_dir)
        env["NST_OUT"] = str(Path(out_dir).resolve())
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    site.add_run_record(nb)  # a last cell asks the kernel where it ran; taken out again below

    def cell_started(cell, cell_index):
        if on_cell is not None and cell_index in code_cells:
            on_cell(code_cells.index(cell_index) + 1, len(code_cells))

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # TensorFlow's C++ start-up log (CUDA probing, oneDNN) is written straight to file descriptor 2; it goes to
        # the kernel log, not into the saved pages. Python's own warnings and errors still reach the notebook.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        on_cell_start=cell_started,
    )
    if kernel_log is None and out_dir is not None:
        kernel_log = kernel_log_path(out_dir, path)
    if kernel_log is not None:
        Path(kernel_log).parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        with _environ(**env), (open(kernel_log, "w", encoding="utf-8") if kernel_log else contextlib.nullcontext()) as err:
            client.execute(stderr=err)
    finally:
        seconds = time.perf_counter() - start
        site.take_run_record(nb)
        if out_dir is not None:
            save_outputs(nb, Path(out_dir), path.stem)
    return nb, seconds


def save_outputs(nb, out_dir: Path, stem: str) -> None:
    """Write an executed notebook and its offline HTML rendering (helpers/site.py) into out_dir/notebooks and out_dir/html."""
    import nbformat

    files.write_atomic(out_dir / "notebooks" / f"{stem}.ipynb", nbformat.writes(nb))
    files.write_atomic(out_dir / "html" / f"{stem}.html", site.html_page(nb))
    site.copy_mathjax(out_dir / "html")


def _models_used(log: Path) -> list[str]:
    """The distinct model notices logged during the run, in order."""
    if not log.exists():
        return []
    seen: list[str] = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        text = f"[{entry['kind']}] {entry['message']}"
        if text not in seen:
            seen.append(text)
    return seen


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _ProgressLine:
    """One terminal line per notebook: its name, then progress (rewritten in place on a terminal, dots elsewhere)."""

    def __init__(self, name: str, stream=None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.label = f"  {name:44s}"
        self.start = time.perf_counter()
        self.cell, self.total = 0, 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.stream.write(self.label if not self.live else "")
        self.stream.flush()
        if self.live:
            threading.Thread(target=self._tick, daemon=True).start()

    def _elapsed(self) -> str:
        seconds = int(time.perf_counter() - self.start)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                where = f"cell {self.cell}/{self.total}" if self.total else "starting the kernel"
                self.stream.write(f"\r{self.label} {where}  {self._elapsed()} \x1b[K")
                self.stream.flush()

    def __call__(self, cell: int, total: int) -> None:
        """A code cell started."""
        self.cell, self.total = cell, total
        if self.live:
            self._draw()
        else:
            self.stream.write(".")
            self.stream.flush()

    def end(self, status: str, seconds: float) -> None:
        """Finish the line with the status and the time."""
        with self._lock:
            self._stop.set()
            prefix = f"\r{self.label}\x1b[K" if self.live else " "
            self.stream.write(f"{prefix}{status:6s} {seconds:5.0f} s\n")
            self.stream.flush()


def default_out_dir(parameters: dict) -> Path:
    """Where a run goes unless --out says: build/ (build/smoke/ in smoke mode), and runs/<parameters>/ under it with -p values."""
    base = config.BUILD_DIR / "smoke" if config.smoke() else config.BUILD_DIR
    if parameters:
        slug = "_".join(f"{k}-{Path(str(v)).stem if isinstance(v, str) else v}" for k, v in parameters.items())
        return base / "runs" / (re.sub(r"[^A-Za-z0-9_.-]+", "-", slug).strip("-")[:80] or "parameters")
    return base


#: The file in an output folder that says which mode (smoke or full) wrote it, so the two never share a folder.
MODE_FILE = "run_mode.txt"


def claim_out_dir(out: Path, smoke: bool) -> str | None:
    """Mark `out` as a smoke or full run's folder; return why not (a sentence) if it already holds the other mode's run."""
    mode = "smoke" if smoke else "full"
    marker = Path(out) / MODE_FILE
    kept = marker.read_text(encoding="utf-8").strip() if marker.is_file() else mode
    if kept != mode:
        return (f"--out {out} holds a {kept} run's files, and this is a {mode} run: smoke and full runs never share a folder. "
                f"Choose another --out, or remove {out} first.")
    out.mkdir(parents=True, exist_ok=True)
    files.write_atomic(marker, mode + "\n")
    return None


def _parse_parameter(text: str) -> tuple[str, object]:
    """NAME=VALUE from the command line; VALUE is a Python literal if it parses as one, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def _minutes(seconds: float) -> str:
    """Seconds as '41 min 5 s' or '37 s'."""
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.0f} s"


def main(argv=None) -> int:
    """Command line: execute notebooks into build/, one progress line each, then a summary of times and models."""
    parser = argparse.ArgumentParser(description="Execute the course notebooks headless into build/.")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all, in order)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the executed notebooks, their HTML and every file they write (default: build/, "
                             "build/smoke/ in smoke mode, and runs/<parameters>/ under it when -p is given)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    parser.add_argument("-p", "--param", action="append", default=[], type=_parse_parameter, metavar="NAME=VALUE",
                        help="set a parameter after each notebook's parameters cell, e.g. -p CONTENT=~/me.jpg (repeatable)")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(map(str, missing))}")
    parameters = dict(args.param)
    args.out = args.out or default_out_dir(parameters)
    refused = claim_out_dir(args.out, config.smoke())
    if refused:
        parser.error(refused)
    log = args.out / "models_used.jsonl"
    log.unlink(missing_ok=True)
    print(f"Running {len(paths)} notebook(s) into {args.out}; {config.describe()}", flush=True)
    if parameters:
        print("Parameters: " + ", ".join(f"{k}={v!r}" for k, v in parameters.items()), flush=True)
    failures, total = [], 0.0
    for path in paths:
        line = _ProgressLine(path.name)
        try:
            _, seconds = execute_notebook(path, args.out, model_log=log, timeout=args.timeout, parameters=parameters,
                                          on_cell=line)
            line.end("ok", seconds)
        except KeyboardInterrupt:
            line.end("STOPPED", time.perf_counter() - line.start)
            raise
        except Exception as exc:  # noqa: BLE001 - report in full and go on with the next notebook
            seconds = time.perf_counter() - line.start
            line.end("FAILED", seconds)
            detail = _ANSI.sub("", str(exc)).strip() or type(exc).__name__
            print("    " + detail.replace("\n", "\n    "), flush=True)
            kernel_log = kernel_log_path(args.out, path)
            if kernel_log.is_file():
                print(f"    kernel log: {kernel_log}", flush=True)
            failures.append(path.name)
        total += seconds
    print()
    print(f"{len(paths) - len(failures)} of {len(paths)} notebook(s) ran in {_minutes(total)}.")
    print(f"Executed notebooks: {args.out / 'notebooks'}   HTML: {args.out / 'html'}   kernel logs: {args.out / 'logs'}")
    print("Models used:")
    for entry in _models_used(log) or ["(no model notices were logged)"]:
        print(f"  {entry}")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
