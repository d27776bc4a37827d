"""images/make_images.py: the committed procedural styles are exactly what the script paints."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from helpers import config


def _module():
    spec = importlib.util.spec_from_file_location("make_images", config.IMAGES_DIR / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["swirls", "waves", "composition", "mosaic"])
def test_committed_style_matches_the_painter(name):
    painted = np.asarray(getattr(_module(), f"paint_{name}")(), dtype=np.int16)
    committed = np.asarray(Image.open(config.IMAGES_DIR / "style" / f"{name}.png").convert("RGB"), dtype=np.int16)
    assert painted.shape == committed.shape
    assert np.mean(np.abs(painted - committed)) < 1.0, f"{name}.png differs from what make_images.py paints"
