"""Execute the course notebooks headless through a real Jupyter kernel (``make run``, and the tests).

    python -m helpers.runner                 # every notebook, full size, into build/
    NST_SMOKE=1 python -m helpers.runner     # the quick pass
    python -m helpers.runner notebooks/01_theory_content_and_style.ipynb
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from helpers import config

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


def _write_atomic(path: Path, text: str) -> None:
    """Write text to path through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def execute_notebook(path, out_dir=None, smoke: bool | None = None, timeout: int = 1800, model_log=None):
    """Run one notebook in a fresh kernel (cwd = its folder); return (executed notebook, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(config.ROOT), os.environ.get("PYTHONPATH")]))}
    if smoke is not None:
        env["NST_SMOKE"] = "1" if smoke else "0"
    if model_log is not None:
        env["NST_MODEL_LOG"] = str(model_log)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # TensorFlow's C++ start-up log (CUDA probing, oneDNN) is written straight to file descriptor 2; keep it
        # in this terminal rather than in the saved pages. Python's own warnings and errors still reach the notebook.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
    )
    start = time.perf_counter()
    try:
        with _environ(**env):
            client.execute()
    finally:
        seconds = time.perf_counter() - start
        if out_dir is not None:
            save_outputs(nb, Path(out_dir), path.stem)
    return nb, seconds


def save_outputs(nb, out_dir: Path, stem: str) -> None:
    """Write an executed notebook and its HTML rendering into out_dir/notebooks and out_dir/html."""
    import nbformat
    from nbconvert import HTMLExporter

    _write_atomic(out_dir / "notebooks" / f"{stem}.ipynb", nbformat.writes(nb))
    html, _ = HTMLExporter().from_notebook_node(nb)
    _write_atomic(out_dir / "html" / f"{stem}.html", html)


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


def main(argv=None) -> int:
    """Command line: execute notebooks into build/ and report times and models used."""
    parser = argparse.ArgumentParser(description="Execute the course notebooks headless into build/.")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all, in order)")
    parser.add_argument("--out", type=Path, default=config.BUILD_DIR, help="output folder (default: build/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebook_paths()
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(map(str, missing))}")
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "models_used.jsonl"
    log.unlink(missing_ok=True)
    print(f"Running {len(paths)} notebook(s); {config.describe()}", flush=True)
    failures, times = [], []
    for path in paths:
        print(f"  {path.name} ...", end=" ", flush=True)
        try:
            _, seconds = execute_notebook(path, args.out, model_log=log, timeout=args.timeout)
            print(f"ok ({seconds:.0f} s)", flush=True)
            times.append((path.name, seconds, "ok"))
        except Exception as exc:  # noqa: BLE001 - report and go on with the next notebook
            print("FAILED", flush=True)
            print(f"    {type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}", flush=True)
            failures.append(path.name)
            times.append((path.name, float("nan"), "failed"))
    print()
    print(f"Executed notebooks: {args.out / 'notebooks'}")
    print(f"HTML copies:        {args.out / 'html'}")
    print("Time per notebook:")
    for name, seconds, status in times:
        print(f"  {name:50s} {seconds:7.0f} s  {status}")
    print("Models used:")
    for line in _models_used(log) or ["  (no model notices were logged)"]:
        print(f"  {line}")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
