"""Notebook 07 (what is style?): its teaching functions do what its text says, its shuffle is notebook 01's, and its
parameters name statistics and layers the helpers know."""

from __future__ import annotations

import ast

import nbformat
import numpy as np
import pytest
import tensorflow as tf

from helpers import runner, style_stats, vgg

NOTEBOOK = runner.NOTEBOOKS_DIR / "07_what_is_style.ipynb"
THEORY = runner.NOTEBOOKS_DIR / "01_theory_content_and_style.ipynb"


def _function(path, name):
    """The function `name` defined in a code cell of the notebook at `path`, compiled on its own (with np and tf)."""
    for cell in nbformat.read(path, 4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                namespace = {"np": np, "tf": tf}
                exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
                return namespace[name]
    raise AssertionError(f"{name} is not defined in {path.name}")


def _parameters():
    """The literal values of the notebook's parameters cell (those ast can read without running it)."""
    cell = next(c for c in nbformat.read(NOTEBOOK, 4).cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


@pytest.fixture(scope="module")
def feats():
    """Non-negative features [1, 9, 8, 6] with channels of different spreads, float32."""
    rng = np.random.default_rng(0)
    return tf.constant(np.maximum(rng.normal(0.2, 1.0, (1, 9, 8, 6)) * rng.uniform(0.5, 2, 6), 0).astype(np.float32))


def test_shuffle_locations_moves_vectors_without_changing_them(feats):
    shuffled = _function(NOTEBOOK, "shuffle_locations")(feats, seed=3)
    assert shuffled.shape == feats.shape and not np.array_equal(shuffled.numpy(), feats.numpy())
    rows = lambda x: sorted(map(tuple, x.numpy().reshape(-1, x.shape[-1])))  # noqa: E731
    assert rows(shuffled) == rows(feats)


@pytest.mark.parametrize("statistic, options", [("gram", {}), ("mean_std", {}), ("mean_cov", {}),
                                                ("sliced_wasserstein", {"projections": 8})])
def test_a_distribution_statistic_cannot_see_the_shuffle(feats, statistic, options):
    # section 1's claim: float32 rounding, below ROUNDING (1e-4) of another map's distance
    shuffled = _function(NOTEBOOK, "shuffle_locations")(feats, seed=3)
    other = tf.reverse(feats, axis=[-1])   # the same pixels with the channels swapped round: another distribution
    moved = float(style_stats.style_distance(shuffled, feats, statistic, **options))
    assert moved < 1e-4 * float(style_stats.style_distance(other, feats, statistic, **options))


def test_the_mrf_loss_sees_the_shuffle(feats):
    shuffled = _function(NOTEBOOK, "shuffle_locations")(feats, seed=3)
    assert float(style_stats.style_distance(feats, feats, "mrf")) == pytest.approx(0.0, abs=1e-6)
    assert float(style_stats.style_distance(shuffled, feats, "mrf")) > 1e-3


def test_shuffle_tiles_is_notebook_01s():
    image = tf.random.stateless_uniform([1, 40, 56, 3], seed=(1, 2))
    ours, theirs = _function(NOTEBOOK, "shuffle_tiles"), _function(THEORY, "shuffle_tiles")
    np.testing.assert_array_equal(ours(image, 8, seed=5).numpy(), theirs(image, 8, seed=5).numpy())


def test_parameters_name_what_the_helpers_know():
    values = _parameters()
    assert set(values["STATISTICS"]) <= set(style_stats.STATISTICS)
    assert set(values["MRF_LAYERS"]) <= set(vgg.STYLE_LAYERS) and values["PROBE_LAYER"] in vgg.STYLE_LAYERS
    assert values["MRF_STRIDE"] >= 1 and values["PROJECTIONS"] >= 1 and 0 < values["ZOOM"] <= 1


def test_the_collage_pastes_each_patchs_match():
    collage = _function(NOTEBOOK, "collage")
    collage.__globals__.update(style_stats=style_stats, features=lambda image: {"pooled": tf.nn.avg_pool2d(image, 4, 4, "VALID")})
    painting = tf.random.stateless_uniform([1, 64, 64, 3], seed=(3, 4))
    # matched with itself, every patch finds itself: the collage is the painting
    np.testing.assert_allclose(collage(painting, painting, "pooled").numpy(), painting.numpy(), atol=1e-6)
    # a picture holding one piece of the painting gets that piece back in the same place
    piece = painting[:, 20:32, 36:48, :]
    image = tf.pad(piece, [[0, 0], [8, 44], [4, 48], [0, 0]], constant_values=0.5)
    pasted = collage(image, painting, "pooled").numpy()
    np.testing.assert_allclose(pasted[0, 12:16, 8:12], painting.numpy()[0, 24:28, 40:44], atol=1e-6)
