"""Notebook 09 with a reader's own folder: photos of mixed sizes and formats, one broken file, a name with a space."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import runner

NOTEBOOK = runner.NOTEBOOKS_DIR / "09_folders_and_training_at_scale.ipynb"


@pytest.fixture()
def own_folder(tmp_path):
    """Five photos (two of one size, a portrait, a grey JPEG, an RGBA PNG) and a JPEG cut short."""
    folder = tmp_path / "trip photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, size, mode in (("beach 1.jpg", (120, 90), "RGB"), ("beach 2.jpg", (120, 90), "RGB"), ("tower.jpg", (70, 130), "RGB"),
                             ("old print.jpg", (100, 100), "L"), ("logo.png", (80, 60), "RGBA")):
        channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
        pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode).save(folder / name)
    (folder / "cut short.jpg").write_bytes((folder / "beach 1.jpg").read_bytes()[:300])
    return folder


@pytest.mark.notebook
def test_runs_with_the_readers_own_folder(own_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("NST_OUT", str(out))
    nb, _ = runner.execute_notebook(NOTEBOOK, smoke=True, timeout=600, parameters={"FOLDER": str(own_folder)},
                                    kernel_log=tmp_path / "k.log")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("name") == "stdout")
    assert "6 files in" in text and "skipped cut short.jpg" in text
    assert "tf.data pipeline: 5 images" in text and "plain loop: 5 images" in text
    written = {p.name for p in (out / "09" / "folder_pipeline").iterdir()}
    assert len(written) == 5 and not any("cut short" in name for name in written), sorted(written)
    assert (out / "09" / "training_losses.png").is_file()


def test_step_seconds_reads_the_log_and_skips_a_cut_line(tmp_path):
    from helpers import distributed

    (tmp_path / "worker-0.jsonl").write_text('{"step": 1, "loss": 2.0, "seconds": 4.0}\n{"step": 2, "loss": 1.5, "seconds": 5.5}\n'
                                             '{"step": 2, "loss": 1.4, "seconds": 1.5}\n{"step": 3, "lo', encoding="utf-8")
    assert distributed.step_seconds(tmp_path) == {1: 4.0, 2: 1.5}
    assert distributed.step_seconds(tmp_path, worker=1) == {}
