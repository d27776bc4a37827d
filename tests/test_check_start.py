"""The checks of notebook 00: an honest answer passes, and each typical mistake is caught with a hint that names it."""

from __future__ import annotations

import numpy as np

from helpers import check, images


def _said(capsys):
    return capsys.readouterr().out


def test_the_loaded_example_passes_and_typical_mistakes_are_named(capsys):
    assert check.image_tensor(images.load_img("cat", max_dim=300), max_dim=300, source="cat")
    assert "✓ image_tensor" in _said(capsys)
    assert not check.image_tensor(None, max_dim=300, source="cat")
    assert "still None" in _said(capsys)
    assert not check.image_tensor(images.load_img("cat", max_dim=100), max_dim=300, source="cat")
    assert "load_img of that source with max_dim=300 gives (1, 200, 300, 3)" in _said(capsys)
    assert not check.image_tensor(images.load_img("cat", max_dim=300)[..., ::-1], max_dim=300, source="cat")
    assert "channels reversed" in _said(capsys)
    raw = np.asarray(images.load_img("cat", max_dim=300)) * 255
    assert not check.image_tensor(raw, max_dim=300, source="cat")
    assert "expected [0, 1] (divide uint8 by 255)" in _said(capsys)


def test_an_array_through_the_loader(capsys):
    array = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    assert check.image_tensor(images.load_img(array), max_dim=512, source=array)
    assert not check.image_tensor(array, max_dim=512, source=array)
    said = _said(capsys)
    assert "shape is (200, 300, 3), expected (1, H, W, 3)" in said and "dtype is uint8" in said


def test_the_exercises_array_must_have_the_asked_shape_and_dtype(capsys):
    asked = (200, 300, 3)
    array = np.random.default_rng(0).integers(0, 256, asked, dtype=np.uint8)
    assert check.image_tensor(images.load_img(array), max_dim=512, source=array, source_shape=asked)
    assert "✓ image_tensor" in _said(capsys)
    turned = np.random.default_rng(0).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    assert not check.image_tensor(images.load_img(turned), max_dim=512, source=turned, source_shape=asked)
    assert "shape (300, 200, 3)" in _said(capsys)
    as_int64 = array.astype(np.int64)
    assert not check.image_tensor(images.load_img(as_int64), max_dim=512, source=as_int64, source_shape=asked)
    assert "dtype int64" in _said(capsys)
    assert not check.image_tensor(None, max_dim=512, source=None, source_shape=asked)
    assert "array is still None" in _said(capsys)
