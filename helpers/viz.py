"""Figures that are more than an image grid: feature maps, Gram matrices as heatmaps, labelled image grids, loss curves."""

from __future__ import annotations

import numpy as np


def _plt():
    """matplotlib.pyplot, imported on first use so the helpers load fast."""
    import matplotlib.pyplot as plt

    return plt


def _squeeze_batch(array, name: str, rank: int) -> np.ndarray:
    """Drop a leading batch axis of size 1 and check the rank; ValueError naming `name` otherwise."""
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim == rank + 1:
        if arr.shape[0] != 1:
            raise ValueError(f"{name}: expected one item, got a batch of {arr.shape[0]}")
        arr = arr[0]
    if arr.ndim != rank:
        raise ValueError(f"{name}: expected {rank} axes (plus an optional batch axis of 1), got shape {np.asarray(array).shape}")
    return arr


def strongest_channels(features, count: int) -> list[int]:
    """Indices of the `count` channels of [1, h, w, C] features with the largest mean activation, strongest first."""
    arr = _squeeze_batch(features, "features", 3)
    return [int(i) for i in np.argsort(-arr.mean(axis=(0, 1)), kind="stable")[:count]]


def feature_grid(features: dict, channels: int | dict = 6, size: float = 1.6, suptitle: str | None = None, cmap: str = "viridis"):
    """One row per layer of {layer: [1, h, w, C]} features, showing `channels` maps each (int: the strongest); returns the figure."""
    plt = _plt()
    if not features:
        raise ValueError("feature_grid: no layers given")
    picks = {}
    for name, value in features.items():
        if isinstance(channels, dict):
            picks[name] = list(channels[name])
        else:
            picks[name] = strongest_channels(value, int(channels))
    ncols = max(len(p) for p in picks.values())
    fig, axes = plt.subplots(len(features), ncols, figsize=(size * ncols, size * len(features) + 0.6), squeeze=False)
    for row, (name, value) in zip(axes, features.items()):
        arr = _squeeze_batch(value, name, 3)
        for col, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(picks[name]):
                ax.set_axis_off()
                continue
            channel = picks[name][col]
            ax.imshow(arr[..., channel], cmap=cmap)
            ax.set_title(f"channel {channel}", fontsize=8)
        row[0].set_ylabel(f"{name}\n{arr.shape[0]}x{arr.shape[1]}, {arr.shape[2]} ch", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def gram_heatmaps(grams, titles=None, max_channels: int | None = None, size: float = 3.4, suptitle: str | None = None,
                  cmap: str = "magma", gamma: float = 0.5, symmetric: bool = False,
                  label: str = "G[c, d]"):
    """Show Gram matrices ([1, C, C] or [C, C]) side by side on one colour scale with labelled axes.

    Non-negative matrices use a power-law scale (colour ~ value**gamma); with `symmetric=True` (or any negative entry)
    the scale is linear, and `symmetric` centres it on zero (-m .. m), for centred Gram matrices and a diverging cmap.
    """
    plt = _plt()
    from matplotlib.colors import PowerNorm

    mats = [_squeeze_batch(g, f"gram {i}", 2) for i, g in enumerate(grams)]
    if not mats:
        raise ValueError("gram_heatmaps: no Gram matrices given")
    if max_channels:
        mats = [m[:max_channels, :max_channels] for m in mats]
    titles = list(titles) if titles is not None else [None] * len(mats)
    if len(titles) != len(mats):
        raise ValueError(f"gram_heatmaps: {len(mats)} matrices but {len(titles)} titles")
    vmax = max(float(m.max()) for m in mats)
    vmin = min(0.0, min(float(m.min()) for m in mats))
    if symmetric:
        vmax = max(float(np.abs(m).max()) for m in mats) or 1.0
        vmin = -vmax
    norm = PowerNorm(gamma, vmin=vmin, vmax=vmax) if vmin >= 0 and gamma != 1 and not symmetric else None
    fig, axes = plt.subplots(1, len(mats), figsize=(size * len(mats) + 1.0, size + 0.4), squeeze=False, layout="constrained")
    image = None
    for ax, mat, title in zip(axes[0], mats, titles):
        image = ax.imshow(mat, cmap=cmap, norm=norm) if norm else ax.imshow(mat, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_xlabel("channel d")
        ax.set_ylabel("channel c")
        if title:
            ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=list(axes[0]), shrink=0.85, label=label + (f" (colour ~ value^{gamma:g})" if norm else ""))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def image_grid(rows, row_labels=None, col_titles=None, size: float = 2.4, suptitle: str | None = None):
    """A grid of [1, H, W, 3] images in [0, 1]: `rows` is a list of lists; labels on the left, titles on top; returns the figure."""
    plt = _plt()
    rows = [list(r) for r in rows]
    if not rows or not any(rows):
        raise ValueError("image_grid: no images given")
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(size * ncols, size * len(rows) + 0.5), squeeze=False)
    for r, (row_axes, row) in enumerate(zip(axes, rows)):
        for c, ax in enumerate(row_axes):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c >= len(row):
                ax.set_axis_off()
                continue
            item = row[c]
            title = None
            if isinstance(item, tuple):
                item, title = item
            arr = _squeeze_batch(item, f"image ({r}, {c})", 3)
            ax.imshow(np.clip(arr, 0.0, 1.0))
            if title is None and col_titles is not None and r == 0 and c < len(col_titles):
                title = col_titles[c]
            if title:
                ax.set_title(title, fontsize=9)
        if row_labels is not None and r < len(row_labels):
            row_axes[0].set_ylabel(row_labels[r], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def loss_curves(curves: dict, title: str = "Loss during optimisation", ylabel: str = "loss (log scale)", ax=None):
    """Plot {label: list of loss values} against the step on a log scale; returns the axes."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        values = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(1, len(values) + 1), np.where(values > 0, values, np.nan), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def bar_chart(values: dict, title: str, ylabel: str, ax=None, log: bool = False):
    """Bars for {label: number} (or {label: {series: number}} for grouped bars), with title and labelled axes; returns the axes."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    labels = list(values)
    first = values[labels[0]] if labels else None
    if isinstance(first, dict):
        series = list(first)
        width = 0.8 / len(series)
        x = np.arange(len(labels))
        for k, name in enumerate(series):
            ax.bar(x + (k - (len(series) - 1) / 2) * width, [values[label][name] for label in labels], width, label=name)
        ax.set_xticks(x, labels, rotation=20, ha="right")
        ax.legend(fontsize=8)
    else:
        ax.bar(labels, [values[label] for label in labels])
        ax.tick_params(axis="x", rotation=20)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    return ax


def first_layer_filters(kernels: dict, count: int = 32, size: float = 0.55, suptitle: str | None = None):
    """Draw the first `count` 3x3 RGB filters of each kernel [3, 3, 3, C] in {title: kernel} as small colour tiles."""
    plt = _plt()
    ncols = 16
    nrows = -(-count // ncols)
    fig = plt.figure(figsize=(ncols * size + 0.4, len(kernels) * (nrows * size + 0.45) + 0.4), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(len(kernels), 1))
    for sub, (title, kernel) in zip(subfigs, kernels.items()):
        k = np.asarray(kernel, np.float32)
        if k.ndim != 4 or k.shape[:3] != (3, 3, 3):
            raise ValueError(f"{title}: expected a first-layer kernel of shape [3, 3, 3, C], got {k.shape}")
        k = k[:, :, ::-1, :]  # VGG19's input is BGR: show the filters in RGB
        axes = sub.subplots(nrows, ncols, squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if i < min(count, k.shape[-1]):
                f = k[..., i]
                lo, hi = f.min(), f.max()
                ax.imshow((f - lo) / (hi - lo + 1e-12), interpolation="nearest")
        sub.suptitle(title)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
