"""Every notebook: stored without outputs, follows the course skeleton, and runs in smoke mode."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers import runner

NOTEBOOKS = runner.notebook_paths()
IDS = [p.name for p in NOTEBOOKS]
#: The notebooks whose optimiser or measurements use VGG19 features (they must run on trained ImageNet weights).
VGG_NOTEBOOKS = ("01", "03", "04", "05", "06", "07", "08", "09")
NAV = re.compile(r"\[Contents\]\(\.\./README\.md(#[^)]*)?\)")


def _cells(path):
    """The notebook's cells as parsed JSON."""
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell):
    """A cell's source as one string."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"
    assert NOTEBOOKS[0].name.startswith("00_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs; clear them before committing"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_is_a_valid_notebook_whose_cells_have_unique_ids(path):
    # nbformat 4.5 gives every cell an id (links and Jupyter's collaboration rely on it); a cell added without one is a
    # warning today and an error in later nbformat versions
    nbformat.validate(nbformat.read(path, as_version=4))
    ids = [cell.get("id") for cell in _cells(path)]   # the file as stored: nbformat.read would fill in missing ids
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: cells without an id or with a repeated one"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_follows_the_skeleton(path):
    cells = _cells(path)
    first, last = cells[0], cells[-1]
    assert first["cell_type"] == "markdown" and _source(first).lstrip().startswith("# "), "first cell must be the H1 title"
    assert NAV.search(_source(first)), "navigation line missing at the top"
    assert last["cell_type"] == "markdown" and NAV.search(_source(last)), "navigation line missing at the bottom"
    headings = [
        line.lstrip("#").strip().lower()
        for c in cells
        if c["cell_type"] == "markdown"
        for line in _source(c).splitlines()
        if line.startswith("#")
    ]
    for needed in ("setup", "parameters", "summary", "exercises"):
        assert any(h.startswith(needed) or needed in h for h in headings), f"no '{needed}' heading"
    tagged = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one code cell must be tagged 'parameters'"
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    code_before = sum(1 for c in cells[: tagged[0]] if c["cell_type"] == "code")
    assert code_before <= 2, f"the parameters cell should come early (it is code cell #{code_before + 1}, first code at {first_code})"
    assert "SMOKE" in _source(cells[tagged[0]]), "the parameters cell must shrink work in smoke mode"
    overview = " ".join(_source(c) for c in cells[:3] if c["cell_type"] == "markdown").lower()
    assert "min" in overview or "second" in overview, "the overview must say how long the notebook takes"


def _run_smoke(path, tmp_path, parameters=None):
    """Execute a notebook in smoke mode into tmp_path; return (executed notebook, the VGG19 notices it logged)."""
    log = tmp_path / "models.jsonl"
    # everything the notebook writes goes to tmp_path (so two runs of one notebook never share a folder); the
    # kernel's own stderr (TensorFlow's C++ start-up lines, Jupyter's transport warning) goes to a file there
    nb, seconds = runner.execute_notebook(path, out_dir=tmp_path / "out", smoke=True, timeout=600, model_log=log,
                                          parameters=parameters, kernel_log=tmp_path / "kernel.log")
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), "a cell did not run"
    vgg_notices = [e["message"] for e in map(json.loads, log.read_text().splitlines()) if e["kind"] == "vgg19"] if log.exists() else []
    print(f"{path.name}: {seconds:.1f} s in smoke mode")
    return nb, vgg_notices


def _estimate_line(path) -> str:
    """The code line of a notebook that prints its clock's estimate."""
    return next(line for cell in _cells(path) if cell["cell_type"] == "code"
                for line in "".join(cell["source"]).splitlines() if "clock.estimate(" in line)


def _pins_float32(path) -> bool:
    """Whether the notebook's VGG19 runs in float32 whatever the machine chose (09's training loss), as its estimate says."""
    return re.search(r"""precision\s*=\s*["']float32["']""", _estimate_line(path)) is not None


def _check_vgg(path, nb, vgg_notices, precision):
    """The notebook used trained VGG19 (never the random fallback) and said which precision it computes in (its own
    pinned float32, where it pins one)."""
    precision = "float32" if _pins_float32(path) else precision
    fallback = [m for m in vgg_notices if "random He-normal" in m and "as requested" not in m]
    assert not fallback, f"{path.name} fell back to random VGG19 weights: {fallback}"
    if path.name[:2] in VGG_NOTEBOOKS:
        assert any(m.startswith("ImageNet VGG19") for m in vgg_notices), f"{path.name} did not use trained VGG19: {vgg_notices}"
        printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
        assert f"VGG19 precision: {precision}" in printed, "the setup cell must say which precision VGG19 computes in"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    # Machines differ: where precision="auto" picks bfloat16, every number moves. This run pins float32; the run on
    # the reader's own photos below pins bfloat16, so every notebook runs in both, and every cell that shows an
    # equivalence must pin float32 itself.
    monkeypatch.setenv("NST_PRECISION", "float32")
    nb, notices = _run_smoke(path, tmp_path)
    _check_vgg(path, nb, notices, "float32")


# --- your own photos: the same parameter names everywhere, and any image the reader names ---------------------------

PARAMETERS = re.compile(r"^(CONTENT|STYLE)\s*=", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_names_content_and_style(path):
    cells = _cells(path)
    params = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    assert set(PARAMETERS.findall(_source(params))) == {"CONTENT", "STYLE"}, "the parameters cell must set CONTENT and STYLE"
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    # images the reader names go through the one loader, which takes names, paths, PIL images and arrays
    assert "load_img(CONTENT" in code and "load_img(STYLE" in code
    for helper in ("load_example(", "example_path(", "download_painting(", "STYLE_NAME"):
        assert helper not in code, f"{path.name} uses {helper}; use images.load_img, which accepts every kind of input"
    assert "outputs/" not in code, "notebooks write under build/ (config.BUILD_DIR), the one output folder"


@pytest.fixture(scope="module")
def own_photos(tmp_path_factory):
    """A reader's own files, in a folder whose name has a space: a non-square RGBA PNG and a grayscale JPEG."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("my photos")
    y, x = np.mgrid[0:180, 0:300]
    rgba = np.stack([x * 255 // 299, y * 255 // 179, (x + y) % 256, np.where(x < 60, 0, 255)], axis=-1).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(folder / "holiday snap.png")
    gray = ((np.sin(np.mgrid[0:240, 0:160][0] / 7.0) * np.cos(np.mgrid[0:240, 0:160][1] / 5.0) + 1) * 127).astype(np.uint8)
    Image.fromarray(gray, "L").save(folder / "pencil sketch.jpg")
    return {"CONTENT": str(folder / "holiday snap.png"), "STYLE": str(folder / "pencil sketch.jpg")}


def fake_a_bfloat16_cpu(cache) -> None:
    """Keep in `cache` the answer a CPU with native bfloat16 gives precision="auto" (a VGG19 pass in a quarter of
    float32's time, avx512_bf16 reported), under this machine's key, so "auto" takes its bfloat16 branch here."""
    from helpers import precision

    record = {"side": precision.MEASURE_SIDE, "seconds": {"float32": 0.4, "bfloat16": 0.1}, "flags": ["avx512_bf16"],
              "gpus": 0, "machine": precision._machine_key()}
    (cache / "precision.json").write_text(json.dumps({record["machine"]: record}))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_with_the_readers_own_photos_in_bfloat16(path, own_photos, tmp_path, monkeypatch):
    # A reader's files instead of the course's examples, on a machine where precision="auto" chooses bfloat16 (the
    # CPU's answer faked in the cache, so the auto branch runs as it does there: the choice, its reason, the estimate)
    cache = tmp_path / "cache"
    cache.mkdir()
    fake_a_bfloat16_cpu(cache)
    monkeypatch.setenv("NST_CACHE", str(cache))
    monkeypatch.delenv("NST_PRECISION", raising=False)
    nb, notices = _run_smoke(path, tmp_path, parameters=own_photos)
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    assert "Estimated time for this notebook on this machine:" in printed
    # a notebook whose estimate counts optimiser steps says their precision: the one auto chose, bfloat16, unless its
    # estimate pins the precision its VGG19 runs in (09's training loss is float32); one without steps (00, 02) names none
    steps = "clock.estimate(extra_seconds=" not in _estimate_line(path)
    pinned = _pins_float32(path)
    said = printed.split("Estimated time", 1)[1]
    assert (f"VGG19 in {'float32' if pinned else 'bfloat16'}" in said) if steps else ("VGG19 in float32" not in said)
    assert "Measured time for this notebook on this machine:" in printed
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "holiday snap.png" in injected[0].source
    _check_vgg(path, nb, notices, "bfloat16")
