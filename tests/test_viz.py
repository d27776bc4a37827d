"""The plotting helpers draw what they are given, label it, and reject bad shapes with a clear error."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _features(h=6, w=5, c=8, seed=0):
    return np.random.default_rng(seed).uniform(size=(1, h, w, c)).astype(np.float32)


def test_strongest_channels_orders_by_mean():
    f = np.zeros((1, 4, 4, 5), np.float32)
    f[..., 3] = 2.0
    f[..., 1] = 1.0
    assert viz.strongest_channels(f, 2) == [3, 1]


def test_feature_grid_rows_and_labels():
    fig = viz.feature_grid({"a": _features(c=8), "b": _features(3, 3, 4)}, channels=3, suptitle="maps")
    axes = np.array(fig.axes).reshape(2, 3)
    assert "a" in axes[0, 0].get_ylabel() and "6x5, 8 ch" in axes[0, 0].get_ylabel()
    assert axes[1, 0].get_title().startswith("channel")
    assert fig._suptitle.get_text() == "maps"


def test_feature_grid_explicit_channels():
    fig = viz.feature_grid({"a": _features()}, channels={"a": [2, 5]})
    assert [ax.get_title() for ax in fig.axes] == ["channel 2", "channel 5"]


def test_feature_grid_rejects_a_batch():
    with pytest.raises(ValueError, match="batch of 2"):
        viz.feature_grid({"a": np.zeros((2, 4, 4, 3))}, 2)


def test_gram_heatmaps_share_a_scale_and_label_axes():
    g1, g2 = np.eye(4)[None] * 2.0, np.ones((1, 4, 4))
    fig = viz.gram_heatmaps([g1, g2], ["one", "two"], suptitle="grams")
    heat = [ax for ax in fig.axes if ax.get_title() in ("one", "two")]
    assert len(heat) == 2
    assert all(ax.get_xlabel() == "channel d" and ax.get_ylabel() == "channel c" for ax in heat)
    limits = {ax.images[0].norm.vmax for ax in heat}
    assert limits == {2.0}


def test_gram_heatmaps_crop_and_title_count():
    fig = viz.gram_heatmaps([np.ones((6, 6))], max_channels=3)
    assert fig.axes[0].images[0].get_array().shape == (3, 3)
    with pytest.raises(ValueError, match="titles"):
        viz.gram_heatmaps([np.ones((3, 3))], ["a", "b"])


def test_gram_heatmaps_symmetric_scale_for_centred_grams():
    g1, g2 = np.array([[1.0, -3.0], [-3.0, 2.0]]), np.array([[0.5, 1.0], [1.0, 0.5]])
    fig = viz.gram_heatmaps([g1, g2], ["a", "b"], symmetric=True, cmap="RdBu_r", label="centred")
    heat = [ax for ax in fig.axes if ax.get_title() in ("a", "b")]
    assert {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in heat} == {(-3.0, 3.0)}
    assert not any(type(ax.images[0].norm).__name__ == "PowerNorm" for ax in heat)
    assert any(ax.get_ylabel() == "centred" for ax in fig.axes if ax not in heat)


def test_gram_heatmaps_percentile_keeps_one_outlier_from_setting_the_scale():
    rng = np.random.default_rng(0)
    g = rng.normal(0.0, 1.0, (20, 20))
    g = (g + g.T) / 2
    g[3, 3] = 1000.0  # one outlier, as the centred Gram of a strongly varying channel has
    fig = viz.gram_heatmaps([g], ["a"], symmetric=True, cmap="RdBu_r", label="centred", percentile=99)
    heat = next(ax for ax in fig.axes if ax.get_title() == "a")
    top = float(np.percentile(np.abs(g), 99))
    assert (heat.images[0].norm.vmin, heat.images[0].norm.vmax) == pytest.approx((-top, top))
    assert top < 10, "the limit must come from the bulk of the entries, not the outlier"
    bar = next(ax for ax in fig.axes if ax is not heat)
    assert "centred" in bar.get_ylabel() and "99th percentile" in bar.get_ylabel() and "saturates" in bar.get_ylabel()


def test_gram_heatmaps_percentile_on_a_power_scale_and_without_outliers():
    g = np.arange(16, dtype=np.float32).reshape(4, 4)
    fig = viz.gram_heatmaps([g], ["a"], percentile=50)
    heat = next(ax for ax in fig.axes if ax.get_title() == "a")
    assert heat.images[0].norm.vmax == pytest.approx(np.percentile(g, 50))
    flat = viz.gram_heatmaps([np.ones((3, 3))], ["b"], percentile=99)   # nothing beyond the limit: no note
    assert not any("percentile" in ax.get_ylabel() for ax in flat.axes)
    with pytest.raises(ValueError, match="percentile"):
        viz.gram_heatmaps([g], percentile=0)


def test_image_grid_titles_and_labels():
    img = np.full((1, 8, 8, 3), 0.5, np.float32)
    fig = viz.image_grid([[img, (img, "own title")], [img]], row_labels=["r1", "r2"], col_titles=["c1", "c2"])
    axes = np.array(fig.axes).reshape(2, 2)
    assert axes[0, 0].get_title() == "c1" and axes[0, 1].get_title() == "own title"
    assert axes[1, 0].get_ylabel() == "r2"
    assert not axes[1, 1].axison


def test_loss_curves_and_bar_chart_label_axes():
    ax = viz.loss_curves({"a": [3.0, 2.0, 1.0], "b": [1.0, 0.5, 0.0]})
    assert ax.get_xlabel() == "step" and ax.get_yscale() == "log" and len(ax.lines) == 2
    ax = viz.bar_chart({"x": {"s": 1.0, "t": 2.0}, "y": {"s": 3.0, "t": 4.0}}, "title", "value")
    assert ax.get_title() == "title" and ax.get_ylabel() == "value" and len(ax.patches) == 4


def test_the_comparison_figure_puts_every_difference_map_on_one_colour_scale():
    import tensorflow as tf

    content = tf.zeros([1, 16, 16, 3])
    faint = {"a": tf.fill([1, 16, 16, 3], 0.1), "b": tf.zeros([1, 16, 16, 3])}
    strong = {"a": tf.fill([1, 16, 16, 3], 0.9), "b": tf.zeros([1, 16, 16, 3])}
    fig = viz.comparison_figure([(content, content, faint), (content, content, strong)])
    maps = [ax.images[0] for ax in fig.axes if ax.images and ax.images[0].get_cmap().name == "magma"]
    assert len(maps) == 2 and maps[0].get_clim() == maps[1].get_clim() == (0.0, pytest.approx(0.9))
    plt.close(fig)
    # the scale ends at the 99th percentile of the brightest row: one extreme pixel does not darken every map
    spot = tf.tensor_scatter_nd_update(tf.fill([1, 16, 16, 3], 0.3), [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 2]], [1.0, 1.0, 1.0])
    fig = viz.comparison_figure([(content, content, faint), (content, content, {"a": spot, "b": tf.zeros([1, 16, 16, 3])})])
    maps = [ax.images[0] for ax in fig.axes if ax.images and ax.images[0].get_cmap().name == "magma"]
    assert maps[0].get_clim() == maps[1].get_clim() == (0.0, pytest.approx(0.3, abs=0.05))
    plt.close(fig)


def test_a_live_preview_updates_in_place_and_closes(monkeypatch):
    import IPython.display

    from helpers import viz

    shown = []  # one entry per display: [what it shows now]

    class Handle:
        def __init__(self, obj):
            self.slot = [obj]
            shown.append(self.slot)

        def update(self, obj):
            self.slot[0] = obj

    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=False: Handle(obj))
    preview = viz.live_preview(1.0, label="test run")
    preview.close()  # before any step: nothing shown, nothing to take away
    assert shown == []
    image = np.zeros([1, 40, 40, 3], np.float32)
    preview(1, image, {})
    preview(2, image, {})
    assert len(shown) == 2, "a caption and a picture, updated in place"
    assert "test run, step 2" in shown[0][0].data and hasattr(shown[1][0], "size")
    preview.close()
    assert "the preview ended at step 2" in shown[0][0].data and shown[1][0].data == ""
