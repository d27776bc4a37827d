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
                  label: str = "G[c, d]", percentile: float | None = None):
    """Show Gram matrices ([1, C, C] or [C, C]) side by side on one colour scale with labelled axes.

    Non-negative matrices use a power-law scale (colour ~ value**gamma); with `symmetric=True` (or any negative entry)
    the scale is linear, and `symmetric` centres it on zero (-m .. m), for centred Gram matrices and a diverging cmap.
    `percentile` (e.g. 99) sets the limits at that percentile of |value| over all matrices instead of the extreme, so
    one outlier cannot wash out the rest; the entries beyond saturate, and the colour bar's label says so.
    """
    plt = _plt()
    from matplotlib.colors import PowerNorm

    mats = [_squeeze_batch(g, f"gram {i}", 2) for i, g in enumerate(grams)]
    if not mats:
        raise ValueError("gram_heatmaps: no Gram matrices given")
    if percentile is not None and not 0 < percentile <= 100:
        raise ValueError(f"gram_heatmaps: percentile must be in (0, 100], got {percentile}")
    if max_channels:
        mats = [m[:max_channels, :max_channels] for m in mats]
    titles = list(titles) if titles is not None else [None] * len(mats)
    if len(titles) != len(mats):
        raise ValueError(f"gram_heatmaps: {len(mats)} matrices but {len(titles)} titles")
    magnitudes = np.abs(np.concatenate([m.ravel() for m in mats]))
    if percentile is not None:
        top = float(np.percentile(magnitudes, percentile)) or float(magnitudes.max())
    else:
        top = float(magnitudes.max())
    vmax = min(max(float(m.max()) for m in mats), top)
    vmin = max(min(0.0, min(float(m.min()) for m in mats)), -top)
    if symmetric:
        vmax = top or 1.0
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
    clipped = percentile is not None and top < float(magnitudes.max())
    extend = ("both" if vmin < 0 else "max") if clipped else "neither"
    text = label + (f" (colour ~ value^{gamma:g})" if norm else "")
    if clipped:
        text += f"\ncolour saturates beyond the\n{percentile:g}th percentile of |value|"
    fig.colorbar(image, ax=list(axes[0]), shrink=0.85, label=text, extend=extend)
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


# --- comparing methods (helpers.compare) ----------------------------------------------------------------------------


def _diff_panel(ax, diff: np.ndarray, title: str, vmax: float | None = None):
    """Draw a difference map with a colour bar (from 0 to `vmax`, by default the map's own maximum, at least 0.25)."""
    import matplotlib.pyplot as plt

    shown = ax.imshow(diff, cmap="magma", vmin=0.0, vmax=vmax if vmax is not None else max(0.25, float(diff.max())))
    ax.set_title(title)
    ax.set_axis_off()
    plt.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, label="mean |Δ| over RGB")


def comparison_figure(pairs, suptitle: str | None = None, size: float = 2.6):
    """One row per (content, style, {method: image}) triple: content | style | each method | difference map; returns the figure."""
    import matplotlib.pyplot as plt

    from helpers import compare, images

    pairs = list(pairs)
    if not pairs:
        raise ValueError("nothing to show: no (content, style, outputs) triples")
    names = list(pairs[0][2])
    ncols = 2 + len(names) + 1
    fig, axes = plt.subplots(len(pairs), ncols, figsize=(size * ncols, size * len(pairs)), squeeze=False)
    diffs = []
    for content, _, outputs in pairs:
        first = getattr(outputs[names[0]], "image", outputs[names[0]])  # a compare.MethodOutput or an image
        if len(names) >= 2:
            second = getattr(outputs[names[1]], "image", outputs[names[1]])
            diffs.append((compare.difference_map(first, second), f"|{names[0]} − {names[1]}|"))
        else:
            diffs.append((compare.difference_map(first, content), f"|{names[0]} − content|"))
    # one colour scale for every row, so rows compare; it ends at the largest row's 99th percentile, so that a few extreme
    # pixels of one row do not leave the others dark
    vmax = max(0.05, *(float(np.percentile(diff, 99)) for diff, _ in diffs))
    for row, (content, style, outputs), (diff, title) in zip(axes, pairs, diffs):
        images.imshow(content, "content", ax=row[0])
        images.imshow(style, "style (as fed)", ax=row[1])
        for ax, name in zip(row[2:], names):
            image = getattr(outputs[name], "image", outputs[name])
            images.imshow(image, name, ax=ax)
        _diff_panel(row[-1], diff, f"{title}\nmean {diff.mean():.3f}", vmax=vmax)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def loss_bars(rows, axes=None):
    """Bar charts of style loss and content loss per (pair, method) under the shared judge; returns the figure."""
    import matplotlib.pyplot as plt

    rows = list(rows)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    fig = axes[0].figure
    methods = list(dict.fromkeys(r.method for r in rows))
    pairs = list(dict.fromkeys((r.content, r.style) for r in rows))
    x = np.arange(len(pairs))
    width = 0.8 / max(1, len(methods))
    for ax, key, title in zip(axes, ("style_loss", "content_loss"), ("Style loss (lower = closer to the style)",
                                                                      "Content loss (lower = closer to the photo)")):
        for i, method in enumerate(methods):
            values = [next((getattr(r, key) for r in rows if (r.content, r.style) == p and r.method == method), np.nan) for p in pairs]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, values, width, label=method)
        ax.set_xticks(x, [f"{c}\n+ {s}" for c, s in pairs])
        ax.set_ylabel(f"{key.replace('_', ' ')} (shared VGG19 judge)")
        ax.set_xlabel("content + style")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    return fig


def time_vs_style(rows, ax=None):
    """Scatter of wall time (log scale) against style loss, one marker per output, coloured by method; returns the figure."""
    import matplotlib.pyplot as plt

    rows = list(rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(r.method for r in rows):
        chosen = [r for r in rows if r.method == method]
        ax.scatter([r.seconds for r in chosen], [r.style_loss for r in chosen], label=method, s=50)
        for r in chosen:
            ax.annotate(r.style, (r.seconds, r.style_loss), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("wall time per image (s, log scale)")
    ax.set_ylabel("style loss (shared VGG19 judge)")
    ax.set_title("Time against style loss")
    ax.legend()
    ax.figure.tight_layout()
    return ax.figure


# --- watching an optimisation or a training run ---------------------------------------------------------------------


def live_preview(size: float = 3.0, label: str = "live preview"):
    """A callback for `transfer` that shows the image as it forms, under a caption '<label>, step N' (updates in place);
    its close() takes the picture away when the run has ended."""
    from IPython.display import Markdown, display

    from helpers import images

    state = {"handle": None, "caption": None, "step": None}

    def show(step, image, parts):
        pil = images.tensor_to_image(image)
        scale = size * 96 / max(pil.size)
        if scale < 1:
            pil = pil.resize((max(1, round(pil.size[0] * scale)), max(1, round(pil.size[1] * scale))))
        caption = Markdown(f"*{label}, step {step}* (the image as it forms; it stays at its last step)")
        state["step"] = step
        if state["handle"] is None:
            state["caption"] = display(caption, display_id=True)
            state["handle"] = display(pil, display_id=True)
        else:
            state["caption"].update(caption)
            state["handle"].update(pil)

    def close():
        """Take the picture away once the run has ended, leaving one line that says where it stopped."""
        if state["handle"] is not None:
            state["caption"].update(Markdown(f"*{label}: the preview ended at step {state['step']}; the figure below shows the result.*"))
            state["handle"].update(Markdown(""))

    show.close = close
    return show


def plot_history(history: dict, ax=None, title: str = "Training loss", smooth: int | None = None):
    """Plot the total loss and its parts against the step (log scale; faint: per step, bold: moving average)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    steps = np.arange(1, len(history["loss"]) + 1)
    window = max(1, int(smooth) if smooth else len(steps) // 20)
    for key, color in (("loss", "C0"), ("style", "C1"), ("content", "C2"), ("tv", "C3")):
        values = np.asarray(history[key], dtype=np.float64)
        if not values.size or not np.all(values > 0):
            continue
        label = "total" if key == "loss" else key
        if window > 1:
            ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
            kernel = np.ones(window) / window
            ax.plot(steps[window - 1 :], np.convolve(values, kernel, mode="valid"), color=color, label=f"{label} (mean of {window})")
        else:
            ax.plot(steps, values, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


# --- notebook 02: the arbitrary-stylisation model -------------------------------------------------------------------


def magenta_diagram(offline: bool):
    """The arbitrary-stylisation model as boxes and arrows: style -> P -> S -> T <- content -> stylised image."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.2)
    ax.set_axis_off()
    boxes = {
        "style": (0.2, 2.0, "style image s\n256 x 256", "#f2e6c9"),
        "P": (2.6, 2.0, "P: style prediction\n" + ("MobileNetV2 (distilled)" if offline else "InceptionV3"), "#cfe3f7"),
        "S": (5.2, 2.0, "style vector S\n100 numbers", "#fde2e2"),
        "content": (0.2, 0.3, "content image c\nany size", "#e4f2dc"),
        "T": (5.2, 0.3, ("T: transformer\n(slimmed, 1/4 width)" if offline else "T: transformer") + "\nconv + CIN(x; S)", "#cfe3f7"),
        "out": (7.8, 0.3, "stylised image\nsame size as c", "#efe0f7"),
    }
    for x, y, text, fill in boxes.values():
        ax.add_patch(FancyBboxPatch((x, y), 1.9, 0.9, boxstyle="round,pad=0.05", fc=fill, ec="0.3"))
        ax.text(x + 0.95, y + 0.45, text, ha="center", va="center", fontsize=9)
    for a, b in [("style", "P"), ("P", "S"), ("content", "T"), ("T", "out")]:
        (xa, ya, *_), (xb, yb, *_) = boxes[a], boxes[b]
        ax.add_patch(FancyArrowPatch((xa + 1.95, ya + 0.45), (xb - 0.05, yb + 0.45), arrowstyle="-|>", mutation_scale=14))
    ax.add_patch(FancyArrowPatch((6.15, 1.95), (6.15, 1.25), arrowstyle="-|>", mutation_scale=14))
    ax.text(6.3, 1.6, "gamma(S), beta(S)", fontsize=8)
    version = "offline version" if offline else "TF-Hub version"
    ax.set_title(f"Arbitrary style transfer: P predicts a style vector, T applies it ({version})")
    return fig


def brightness_correlation(image, reference, shrink: int = 1) -> float:
    """Pearson correlation of the brightness (luminance) of two [1, H, W, 3] images in [0, 1]; 1 = the same up to contrast.

    With `shrink` > 1 both are first averaged over `shrink` x `shrink` blocks, which keeps only where the light and dark
    regions are (the layout) and drops finer detail. `image` is resized to `reference`'s size if they differ.
    """
    import tensorflow as tf

    image = tf.convert_to_tensor(image, tf.float32)
    reference = tf.convert_to_tensor(reference, tf.float32)
    if image.shape[1:3] != reference.shape[1:3]:
        image = tf.image.resize(image, reference.shape[1:3], antialias=True)
    weights = tf.constant([0.299, 0.587, 0.114])
    pair = tf.stack([tf.reduce_sum(image * weights, -1), tf.reduce_sum(reference * weights, -1)], axis=-1)  # [1, H, W, 2]
    block = max(1, min(int(shrink), *pair.shape[1:3]))
    if block > 1:
        pair = tf.nn.avg_pool2d(pair, block, block, "VALID")
    a, b = (np.ravel(pair[..., k].numpy()).astype(np.float64) for k in (0, 1))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
