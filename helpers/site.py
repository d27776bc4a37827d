"""The course to read without running it, offline: the runner's HTML copies, and the static site of `make site`.

    python -m helpers.site                          # build/notebooks -> build/site (NST_SMOKE=1: build/smoke/...)
    python -m helpers.site --notebooks DIR --out DIR

Both typeset equations with a MathJax that comes from a Python package and is copied next to the pages, so no page
loads anything from the network. Each site page says where its outputs were computed: the runner asks the kernel
that ran the notebook (run_record) and keeps the answer in the executed notebook's metadata.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from helpers import config, files

#: Where the pages find MathJax 3, relative to the folder of the runner's pages and to the site's root.
MATHJAX_DIR = "_static/mathjax"
#: The MathJax 3 files the pages use (from the sphinx-mathjax-offline package): the TeX-to-HTML component, the TeX
#: extensions it loads on demand, its fonts, and the menu's accessibility and speech parts with their local rule files.
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "a11y", "ui", "sre")
#: The executed notebook's metadata key that holds the run record.
RECORD_KEY = "nst_run"
_RECORD_TAG = "nst-run-record"
_RECORD_MARK = "NST_RUN_RECORD "

# The runner's pages: nbconvert's lab template without what it fetches from a CDN (require.js, which no course output
# uses; mermaid, for diagrams the course has none of; the widget renderer, for sliders that need a kernel anyway), and
# with MathJax 3 configured as the notebook front ends do ($...$ inline, $$...$$ displayed, AMS numbering).
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
                        processEscapes: true, processEnvironments: true, tags: "ams"}};
</script>
<script defer src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
"""


def notebook_title(nb) -> str:
    """The notebook's first markdown heading as plain text (code marks, emphasis and links removed)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if re.match(r"#{1,6} ", line):
                text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip())
                return re.sub(r"[`*_]", "", text).strip()
    return "Notebook"


def mathjax_source() -> Path:
    """The folder of MathJax 3 files that the sphinx-mathjax-offline package ships."""
    import importlib.util

    return Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent / "static" / "mathjax"


def copy_mathjax(html_dir) -> Path:
    """Copy MATHJAX_PARTS into html_dir/_static/mathjax once (the pages load it from there); return that folder."""
    target = Path(html_dir) / MATHJAX_DIR
    if not (target / MATHJAX_PARTS[0]).is_file():
        source = mathjax_source()
        for part in MATHJAX_PARTS[1:]:
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        shutil.copy2(source / MATHJAX_PARTS[0], target / MATHJAX_PARTS[0])  # last: its presence means the copy is whole
    return target


def html_page(nb) -> str:
    """An executed notebook as one offline HTML page: titled by its heading, MathJax from ./_static/mathjax, no CDN."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2",
                            mathjax_url=f"{MATHJAX_DIR}/{MATHJAX_PARTS[0]}")
    titled = type(nb)(nb)  # a shallow copy whose metadata carries the title the template puts in <title>
    titled["metadata"] = type(nb.metadata)({**nb.metadata, "title": notebook_title(nb)})
    html, _ = exporter.from_notebook_node(titled)
    return _local_links(html)


def _local_links(html: str) -> str:
    """Links between the course's notebooks point at their HTML copies, and the contents link at the course's README."""
    from helpers import config

    html = re.sub(r'href="(\d\d_[\w-]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m[1]}.html{m[2] or ""}"', html)
    return html.replace('href="../README.md"', f'href="{(config.ROOT / "README.md").as_uri()}"')


def run_record() -> dict:
    """Where this kernel computes: CPU, cores, GPU, TensorFlow, mode and VGG19 precision (called in the kernel)."""
    import platform

    import tensorflow as tf

    from helpers import precision

    gpus = tf.config.list_physical_devices("GPU")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    forced = os.environ.get("NST_PRECISION", "").strip().lower() not in ("", "auto")
    if forced or precision.cached() is not None:  # decided without measuring
        decision = precision.choose()
        vgg, why = decision["choice"], decision["why"]
    else:
        vgg, why = "not chosen", "no VGG19 ran on this machine before this notebook ended"
    return {
        "machine": f"{precision.cpu_name()}, {cores} CPU cores, {f'{len(gpus)} GPU(s)' if gpus else 'no GPU'}, "
                   f"{platform.system()} {platform.machine()}",
        "software": f"TensorFlow {tf.__version__}, Python {platform.python_version()}",
        "mode": "smoke" if config.smoke() else "full",
        "precision": vgg,
        "precision_why": why,
    }


def print_run_record() -> None:
    """Print run_record() as one marked JSON line (the runner's last cell, read back by take_run_record)."""
    print(_RECORD_MARK + json.dumps(run_record()))


def add_run_record(nb) -> None:
    """Append the cell that prints the kernel's run record (take_run_record removes it again)."""
    from nbformat.v4 import new_code_cell

    cell = new_code_cell("from helpers.site import print_run_record\nprint_run_record()")
    cell.metadata["tags"] = [_RECORD_TAG]
    nb.cells.append(cell)


def take_run_record(nb) -> dict | None:
    """Remove the run-record cell and keep what it printed in nb.metadata[RECORD_KEY]; return it (None if it never ran)."""
    record = None
    for cell in [c for c in nb.cells if _RECORD_TAG in c.get("metadata", {}).get("tags", [])]:
        nb.cells.remove(cell)
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(_RECORD_MARK):
                    record = json.loads(line[len(_RECORD_MARK):])
    if record is not None:
        nb.metadata[RECORD_KEY] = record
    return record


def banner(nb, executed: bool = True) -> str:
    """The MyST note a site page carries under its title: where its outputs were computed, or that it has none."""
    record = nb.metadata.get(RECORD_KEY)
    if not executed:
        text = ("This notebook was not run for this site, so the page shows its text and code without outputs. "
                "`make run` executes it; `make site` then shows its outputs.")
    elif record:
        text = (f"Outputs computed on **{record['machine']}** ({record['software']}; {record['mode']} mode).\n"
                f"VGG19 precision on this machine: **{record['precision']}** ({record.get('precision_why', 'no reason recorded')}).")
    else:
        text = ("The run that made these outputs left no record of its machine: it stopped with an error, or it was made before "
                "runs were recorded. The setup cell's output names TensorFlow and the GPU.")
    return f"```{{admonition}} Where these outputs come from\n:class: note run-record\n\n{text}\n```\n"


def _with_banner(nb, executed: bool):
    """The notebook with the banner placed right under its first heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^# ", cell.source, re.M):
            lines = cell.source.splitlines()
            at = next(i for i, line in enumerate(lines) if line.startswith("# ")) + 1
            cell.source = "\n".join(lines[:at] + ["", banner(nb, executed)] + lines[at:])
            break
    return nb


#: Sphinx settings: myst-nb reads the executed notebooks as they are (never runs them); the same MathJax 3 as the
#: runner's pages, copied into _static/mathjax after the build; no widget JavaScript (it would come from a CDN).
SPHINX_CONFIG = {
    "project": "Neural style transfer",
    "extensions": ["myst_nb"],
    "root_doc": "README",
    "exclude_patterns": ["**.ipynb_checkpoints"],
    "nb_execution_mode": "off",
    "nb_ipywidgets_js": {},
    "myst_enable_extensions": ["dollarmath", "amsmath"],
    "myst_heading_anchors": 3,
    "mathjax_path": "mathjax/tex-chtml.js",
    "html_theme": "sphinx_book_theme",
    "html_title": "Neural style transfer",
    "html_context": {"default_mode": "auto"},  # light or dark as the reader's system says (unset, the theme logs an error)
    "html_show_sourcelink": False,  # each page's download button offers the notebook itself
}


def stage(notebooks_dir, src) -> list[str]:
    """Lay out the site's sources in src: README, benchmarks/README, and each course notebook with its banner; return the pages."""
    import nbformat

    from helpers import runner

    src = Path(src)
    (src / "notebooks").mkdir(parents=True, exist_ok=True)
    pages = []
    for path in runner.notebook_paths():
        executed = Path(notebooks_dir) / path.name
        nb = nbformat.read(executed if executed.is_file() else path, as_version=4)
        nbformat.write(_with_banner(nb, executed.is_file()), src / "notebooks" / path.name)
        pages.append(f"notebooks/{path.stem}")
    shutil.copy(config.ROOT / "benchmarks" / "README.md", src / "benchmarks.md")
    readme = (config.ROOT / "README.md").read_text(encoding="utf-8").replace("](benchmarks/README.md", "](benchmarks.md")
    toctree = "\n".join(["", "```{toctree}", ":hidden:", ":caption: Notebooks", "", *pages, "```", "",
                         "```{toctree}", ":hidden:", "", "benchmarks", "```", ""])
    (src / "README.md").write_text(readme + toctree, encoding="utf-8")
    return pages


def build_site(notebooks_dir, out, quiet: bool = True) -> list[str]:
    """Build the static site of the executed notebooks in notebooks_dir into out (never executes); return Sphinx's warnings."""
    from sphinx.application import Sphinx

    out = Path(out)
    warnings = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="nst-site-") as tmp:
        src = Path(tmp) / "src"
        stage(notebooks_dir, src)
        if out.exists():
            shutil.rmtree(out)
        app = Sphinx(str(src), None, str(out), str(Path(tmp) / "doctrees"), "html", confoverrides=dict(SPHINX_CONFIG),
                     status=io.StringIO() if quiet else sys.stdout, warning=warnings, freshenv=True)
        app.build()
    copy_mathjax(out)
    files.write_atomic(out / "index.html", '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                       '<meta http-equiv="refresh" content="0; url=README.html"><title>Neural style transfer</title></head>'
                       '<body><a href="README.html">Neural style transfer: contents</a></body></html>\n')
    return [line for line in warnings.getvalue().splitlines() if line.strip()]


def main(argv=None) -> int:
    """Command line: build the site from a run's executed notebooks and print where it is."""
    base = config.BUILD_DIR / "smoke" if config.smoke() else config.BUILD_DIR
    parser = argparse.ArgumentParser(description="Build the course's static site from the executed notebooks (offline).")
    parser.add_argument("--notebooks", type=Path, default=base / "notebooks", help=f"executed notebooks (default {base / 'notebooks'})")
    parser.add_argument("--out", type=Path, default=base / "site", help=f"the site's folder (default {base / 'site'})")
    args = parser.parse_args(argv)
    executed = sorted(args.notebooks.glob("[0-9][0-9]_*.ipynb")) if args.notebooks.is_dir() else []
    if not executed:
        parser.error(f"no executed notebooks in {args.notebooks}: run `make run` (or NST_SMOKE=1 make run) first")
    print(f"Building the site from {len(executed)} executed notebook(s) in {args.notebooks} ...", flush=True)
    warnings = build_site(args.notebooks, args.out, quiet=True)
    for line in warnings:
        print(f"  warning: {line}")
    print(f"Site: {args.out / 'index.html'} ({len(warnings)} warning(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
