"""Notebook 08 with a reader's own video: it reads the file, estimates the flow, and writes its clips, curves and maps."""

from __future__ import annotations

import ast

import nbformat
import numpy as np
import pytest

from helpers import images, runner, temporal, video

NOTEBOOK = runner.NOTEBOOKS_DIR / "08_video.ipynb"


@pytest.fixture()
def own_video(tmp_path):
    """A phone-like clip: a photo panned sideways, 100x150 px at 8 frames per second, in a .mov container."""
    photo = np.asarray(images.load_img("coffee", 200))[0]
    frames = [photo[20:120, 10 + 3 * t : 160 + 3 * t] for t in range(12)]
    return video.write_video(tmp_path / "my holiday.mov", frames, fps=8)


@pytest.mark.notebook
def test_runs_with_the_readers_own_video(own_video, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("NST_OUT", str(out))
    nb, _ = runner.execute_notebook(NOTEBOOK, smoke=True, timeout=600, parameters={"VIDEO": str(own_video)},
                                    kernel_log=tmp_path / "k.log")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert "my holiday: 8 frames" in text and "exact flow: no" in text
    assert "no second flow is at hand" in text   # the DIS check needs a flow the loss did not use
    written = {p.name for p in (out / "08").iterdir()}
    for name in ("clip.mp4", "stylised_per_frame.mp4", "feedforward_before_after.mp4", "optimizer_before_after.mp4",
                 "flicker_feedforward.png", "flicker_optimizer.png", "flicker_maps.png"):
        assert name in written, f"{name} missing from {sorted(written)}"
    clip = video.read_video(out / "08" / "clip.mp4", max_frames=None, max_dim=None)
    assert len(clip) == 8 and clip.fps == pytest.approx(8.0)


def test_parameter_values_are_the_helpers_defaults():
    """The parameters cell shows BLEND and TEMPORAL_WEIGHT as numbers; they must stay the helper's defaults."""
    cell = next(c for c in nbformat.read(NOTEBOOK, 4).cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {node.targets[0].id: node.value for node in ast.parse(cell.source).body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert ast.literal_eval(values["BLEND"]) == temporal.BLEND
    assert ast.literal_eval(values["TEMPORAL_WEIGHT"]) == temporal.TEMPORAL_WEIGHT
