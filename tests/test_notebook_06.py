"""Notebook 06 runs in smoke mode with a reader's own photo AND own mask injected, and writes its two figures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import config, runner

NOTEBOOK = config.ROOT / "notebooks" / "06_controlling_style.ipynb"


@pytest.fixture()
def own_files(tmp_path):
    """A reader's landscape photo (RGB JPEG, not square), a style, and a hand-drawn mask at another size, same shape."""
    folder = tmp_path / "my files"
    folder.mkdir()
    y, x = np.mgrid[0:150, 0:240]
    photo = np.stack([x * 255 // 239, y * 255 // 149, ((x // 20 + y // 20) % 2) * 200], axis=-1).astype(np.uint8)
    Image.fromarray(photo, "RGB").save(folder / "garden.jpg", quality=90)
    stripes = ((np.sin(np.mgrid[0:200, 0:200][1] / 3.0) + 1) * 127).astype(np.uint8)
    Image.fromarray(np.stack([stripes, 255 - stripes, stripes // 2], axis=-1), "RGB").save(folder / "stripes.png")
    my, mx = np.mgrid[0:300, 0:480]
    mask = (((mx - 300) / 120.0) ** 2 + ((my - 170) / 90.0) ** 2 <= 1).astype(np.uint8) * 255  # a white blob: stays a photo
    Image.fromarray(mask, "L").save(folder / "blob mask.png")
    return {"CONTENT": str(folder / "garden.jpg"), "STYLE": str(folder / "stripes.png"), "MASK": str(folder / "blob mask.png")}


@pytest.mark.notebook
def test_runs_with_the_readers_own_photo_and_mask(own_files, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_OUT", str(tmp_path / "out"))
    nb, _ = runner.execute_notebook(NOTEBOOK, smoke=True, timeout=600, parameters=own_files, kernel_log=tmp_path / "k.log")
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "blob mask.png" in injected[0].source
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), "a cell did not run"
    text = "".join(out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.get("outputs", []))
    assert "content garden, styles stripes" in text
    for name in ("spatial_control.png", "style_scale.png"):
        assert (tmp_path / "out" / "06" / name).is_file(), name
