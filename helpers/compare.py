"""Compare the Hub model and the hand-built optimiser on the same inputs, and measure both the same way.

"Matched" means both methods receive exactly the same two tensors:

* the content image, loaded with its long side at most ``size`` px (aspect ratio kept, never enlarged);
* the style image prepared the way the TF-Hub model expects it: the central square cropped,
  resized to ``style_size`` x ``style_size`` (256 by default, the size the Hub model was trained with)
  and blurred with a 3x3 average pool (``blur=True``), as in the TF-Hub example.

Every output is then measured by one judge (:class:`Judge`): one VGG19 feature extractor, the same
layers (``vgg.STYLE_LAYERS``, ``vgg.CONTENT_LAYERS``) and one loss form (``"relative"``), whatever
method produced the image, so the numbers can be compared across methods:

* ``seconds``: wall time from the two tensors to the output, model already loaded. For the Hub model it is
  the median of ``repeats`` warm calls (the first call per input shape, which traces the graph, is not timed);
  for the optimiser it is one whole ``optimize.transfer`` call, *including* its set-up (building the targets
  and tracing its tf.functions, which every call does anew). The ``timing`` column says which;
* ``style_loss``: mean over the style layers of ||G - A||^2 / ||A||^2 against the prepared style image;
* ``content_loss``: ||F - P||^2 / ||P||^2 at the content layer against the content image;
* ``ssim``: structural similarity with the content image (1 = identical structure);
* ``hist_distance``: colour-histogram distance to the style image (0 = same colours, at most 1).

Command line (``python -m helpers.compare --help`` explains every option)::

    python -m helpers.compare images/content/astronaut.png --style images/style --out build/compare --size 128
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import config, images, losses, vgg
from helpers.progress import progress_bar

#: The methods the comparison knows, in the order they are run and shown.
METHODS = ("hub", "optimizer")
#: The loss form the judge uses for every method (see helpers.losses).
JUDGE_FORM = "relative"
#: Style size the TF-Hub model was trained with.
HUB_STYLE_SIZE = 256
#: Bins per channel of the colour histograms.
HIST_BINS = 64
#: File suffixes picked up when a folder is given on the command line.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
#: Columns of metrics.csv, in order.
CSV_COLUMNS = (
    "content", "style", "method", "seconds", "style_loss", "content_loss", "ssim", "hist_distance",
    "height", "width", "style_size", "blur", "steps", "stopped", "timing", "model", "judge", "output",
)


# --------------------------------------------------------------------------------------------------
# Matched inputs
# --------------------------------------------------------------------------------------------------


def blur(image: tf.Tensor) -> tf.Tensor:
    """3x3 average pool, stride 1, of [1, H, W, 3] (edges average the pixels that exist); same shape."""
    return tf.nn.avg_pool2d(tf.convert_to_tensor(image, tf.float32), ksize=3, strides=1, padding="SAME")


def prepare_style(style, size: int = HUB_STYLE_SIZE, blurred: bool = True) -> tf.Tensor:
    """The style image as the Hub model wants it: central square, size x size, 3x3 blur -> [1, size, size, 3] in [0, 1]."""
    image = images.load_img(style, max_dim=None) if not isinstance(style, tf.Tensor) else tf.convert_to_tensor(style, tf.float32)
    if image.shape.rank != 4 or image.shape[0] != 1 or image.shape[-1] != 3:
        raise ValueError(f"style image must have shape [1, H, W, 3], got {image.shape}")
    if int(size) < images.MIN_SIDE:
        raise ValueError(f"style size must be at least {images.MIN_SIDE} px, got {size}")
    height, width = int(image.shape[1]), int(image.shape[2])
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[:, top : top + side, left : left + side, :]
    square = tf.image.resize(square, (int(size), int(size)), method="bilinear", antialias=True)
    square = images.clip_0_1(square)
    return blur(square) if blurred else square


def load_content(path, size: int) -> tf.Tensor:
    """Load a content image with its long side at most `size` px -> [1, H, W, 3] in [0, 1] (ImageLoadError names the file)."""
    return images.load_img(path, max_dim=size)


# --------------------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------------------


def _as_image(image, name: str) -> tf.Tensor:
    """Check and convert a [1, H, W, 3] image."""
    image = tf.convert_to_tensor(image, tf.float32)
    if image.shape.rank != 4 or image.shape[0] != 1 or image.shape[-1] != 3:
        raise ValueError(f"{name} must have shape [1, H, W, 3], got {image.shape}")
    return image


def match_size(image, like) -> tf.Tensor:
    """Resize [1, H, W, 3] `image` to the height and width of `like` (bilinear) when they differ."""
    image, like = _as_image(image, "image"), _as_image(like, "reference")
    if image.shape[1:3] == like.shape[1:3]:
        return image
    return images.clip_0_1(tf.image.resize(image, like.shape[1:3], method="bilinear", antialias=True))


def ssim(image, reference) -> float:
    """Structural similarity of two [1, H, W, 3] images in [0, 1] (1 = identical; symmetric)."""
    image, reference = _as_image(image, "image"), _as_image(reference, "reference")
    if image.shape != reference.shape:
        raise ValueError(f"ssim needs images of the same shape, got {image.shape} and {reference.shape}")
    if min(image.shape[1:3]) < 11:
        raise ValueError(f"ssim needs images at least 11 px on each side, got {image.shape[1:3]}")
    return float(tf.image.ssim(image, reference, max_val=1.0)[0])


def color_histograms(image, bins: int = HIST_BINS) -> np.ndarray:
    """Per-channel colour histograms of a [1, H, W, 3] image in [0, 1]: [3, bins], each row sums to 1."""
    arr = np.asarray(_as_image(image, "image"))[0].reshape(-1, 3)
    edges = np.linspace(0.0, 1.0, bins + 1)
    hist = np.stack([np.histogram(np.clip(arr[:, c], 0.0, 1.0), bins=edges)[0] for c in range(3)]).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def histogram_distance(image, other, bins: int = HIST_BINS) -> float:
    """Colour distance of two [1, H, W, 3] images: earth mover's distance between channel histograms, mean over R, G, B, in [0, 1]."""
    cdf_a = np.cumsum(color_histograms(image, bins), axis=1)
    cdf_b = np.cumsum(color_histograms(other, bins), axis=1)
    return float(np.mean(np.sum(np.abs(cdf_a - cdf_b), axis=1)) / bins)


def difference_map(image, other) -> np.ndarray:
    """Mean absolute difference over RGB of two [1, H, W, 3] images (other resized to image's size): [H, W] in [0, 1]."""
    image = _as_image(image, "image")
    other = match_size(other, image)
    return np.mean(np.abs(np.asarray(image)[0] - np.asarray(other)[0]), axis=-1)


class Judge:
    """One VGG19 feature extractor that measures every output with the same layers and loss form."""

    def __init__(self, weights="auto", pooling: str = "max", style_layers=None, content_layers=None, form: str = JUDGE_FORM):
        self.model = vgg.StyleContentModel(style_layers, content_layers, weights=weights, pooling=pooling)
        self.weights_kind = self.model.weights_kind
        self.form = form
        self.description = f"VGG19 {self.weights_kind} weights, {pooling} pooling, '{form}' losses"

    def style_loss(self, image, style) -> float:
        """Style loss of [1, H, W, 3] `image` against `style` (any size): mean over layers of ||G - A||^2 / ||A||^2 by default."""
        out = self.model(_as_image(image, "image"))["style"]
        target = self.model(_as_image(style, "style"))["style"]
        return float(losses.style_loss(out, target, form=self.form))

    def content_loss(self, image, content) -> float:
        """Content loss of `image` against `content` ([1, H, W, 3]; image resized to the content's size if needed)."""
        content = _as_image(content, "content")
        out = self.model(match_size(image, content))["content"]
        target = self.model(content)["content"]
        return float(losses.content_loss(out, target, form=self.form))

    def measure(self, image, content, style) -> dict:
        """All image measures of an output: style_loss, content_loss, ssim (vs content), hist_distance (vs style)."""
        image = match_size(image, content)
        return {
            "style_loss": self.style_loss(image, style),
            "content_loss": self.content_loss(image, content),
            "ssim": ssim(image, content),
            "hist_distance": histogram_distance(image, style),
        }


# --------------------------------------------------------------------------------------------------
# The two methods
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class MethodOutput:
    """What one method returned for one (content, style) pair."""

    image: tf.Tensor  # [1, H, W, 3] float32 in [0, 1]
    seconds: float  # wall time of the stylisation itself
    model: str  # which model actually ran
    history: dict | None = None  # the optimiser's per-step losses, if any
    timings: list = dataclasses.field(default_factory=list)  # every timed call (the Hub model repeats its call)
    timing: str = ""  # what `seconds` includes, in words
    stopped: str = ""  # the optimiser: "finished", or how and when it stopped early
    setup_seconds: float = 0.0  # the optimiser: time before its first step (targets, tracing, first evaluation) and after its last
    steps_done: int = 0  # the optimiser: iterations it completed


class HubMethod:
    """The TF-Hub arbitrary stylisation model (or its offline twin), loaded once, timed per call."""

    name = "hub"

    def __init__(self, handle=None, module=None, repeats: int = 3):
        self.handle = handle
        self._module = module
        self.repeats = max(1, int(repeats))
        self._warm: set = set()
        self.load_seconds = 0.0

    @property
    def module(self):
        """The loaded module (loaded on first use)."""
        if self._module is None:
            from helpers import hub

            start = time.perf_counter()
            self._module = hub.load_hub_module(self.handle)
            self.load_seconds = time.perf_counter() - start
        return self._module

    @property
    def source(self) -> str:
        """Which model runs: the module's `.source`."""
        return str(getattr(self.module, "source", type(self.module).__name__))

    def __call__(self, content, style) -> MethodOutput:
        """Stylise [1, H, W, 3] content with [1, h, w, 3] style; an untimed warm-up per shape, then the median of `repeats` calls."""
        module = self.module
        content, style = tf.constant(content, tf.float32), tf.constant(style, tf.float32)
        key = (tuple(content.shape), tuple(style.shape))
        if key not in self._warm:
            module(content, style)  # graph tracing and one-off set-up are not part of the per-image time
            self._warm.add(key)
        timings = []
        for _ in range(self.repeats):
            start = time.perf_counter()
            out = module(content, style)[0]
            out = images.clip_0_1(tf.convert_to_tensor(out, tf.float32))
            timings.append(time.perf_counter() - start)
        seconds = float(np.median(timings))
        timing = (f"median of {len(timings)} warm calls ({min(timings):.3g}-{max(timings):.3g} s)" if len(timings) > 1
                  else "one warm call")
        return MethodOutput(out, seconds, self.source, timings=timings, timing=timing)


class OptimizerMethod:
    """The hand-built optimiser (helpers.optimize.transfer) with fixed settings, timed per call; Ctrl-C stops the comparison."""

    name = "optimizer"

    def __init__(self, steps=None, optimizer: str = "lbfgs", init="content", weights="auto", seed: int = 0, progress: bool = False, **options):
        self.steps = steps
        self.optimizer = optimizer
        self.init = init
        self.weights = weights
        self.seed = seed
        self.progress = progress
        self.options = options

    @property
    def source(self) -> str:
        """Which model runs: the optimiser and the VGG19 weights it fits."""
        steps = "default steps" if self.steps is None else f"{self.steps} steps"
        return f"{self.optimizer} optimiser, {steps}, VGG19 {vgg.weights_kind(self.weights)} weights"

    def __call__(self, content, style, **overrides) -> MethodOutput:
        """Run transfer(content, style) ([1, H, W, 3] in [0, 1]); keyword overrides (e.g. init=) apply to this call only."""
        from helpers import optimize

        kwargs = dict(optimizer=self.optimizer, steps=self.steps, init=self.init, weights=self.weights,
                      seed=self.seed, **self.options)
        kwargs.update(overrides)
        show = bool(kwargs.pop("progress", self.progress))
        requested = kwargs["steps"] if kwargs["steps"] is not None else optimize.DEFAULT_STEPS[kwargs["optimizer"]]
        total = sum(requested) if isinstance(requested, (list, tuple)) else int(requested)
        bar = progress_bar(total=total, desc="style transfer", unit="step", leave=True) if show else None
        if bar is not None and "callback" not in kwargs:
            def advance(step, _image, parts):
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{parts['total']:.4g}", refresh=False)

            kwargs.update(callback=advance, callback_every=1)
        start = time.perf_counter()
        try:
            result = optimize.transfer(content, style, progress=False, **kwargs)
        finally:
            seconds = time.perf_counter() - start
            if bar is not None:
                bar.close()
        stopped = result.settings.get("stopped", "finished")
        if stopped == "interrupted":  # transfer keeps the best image on Ctrl-C; a truncated run is no fair comparison
            raise KeyboardInterrupt
        history = result.history
        done = int(history["step"][-1]) if history.get("step") else 0
        loop = float(history["seconds"][-1] - history["seconds"][0]) if history.get("seconds") else 0.0
        stopped = describe_stop(stopped, done, total, result.settings.get("lbfgs_message", ""))
        image = images.clip_0_1(tf.convert_to_tensor(result.image, tf.float32))
        model = self.source if stopped == "finished" else f"{self.source} ({stopped})"
        timing = f"one call incl. {seconds - loop:.3g} s set-up and tracing; {loop / max(1, done):.3g} s per step"
        return MethodOutput(image, seconds, model, history=history, timings=[seconds], timing=timing, stopped=stopped,
                            setup_seconds=seconds - loop, steps_done=done)


def describe_stop(stopped: str, done: int, requested: int, lbfgs_message: str = "") -> str:
    """'finished' when a run did all `requested` steps, else 'stopped early after done of requested steps: reason'."""
    if stopped == "finished" and done >= requested:
        return "finished"
    if stopped.startswith("lbfgs stopped early"):  # optimize already said how far it got; keep scipy's reason only
        stopped = lbfgs_message.strip() or stopped
    reason = stopped if stopped != "finished" else (lbfgs_message.strip() or "the optimiser stopped by itself")
    return f"stopped early after {done} of {requested} steps: {reason}"


def make_methods(names=METHODS, *, steps=None, optimizer: str = "lbfgs", init="content", weights="auto", seed: int = 0,
                 hub_handle=None, progress: bool = False) -> dict:
    """{name: callable} for the requested methods ('hub', 'optimizer'), ready for compare_pair."""
    names = parse_methods(names)
    made = {}
    for name in names:
        if name == "hub":
            made[name] = HubMethod(hub_handle)
        else:
            made[name] = OptimizerMethod(steps, optimizer, init, weights, seed, progress)
    return made


def parse_methods(value) -> list[str]:
    """'hub,optimizer' or a list -> a list of known method names (ValueError naming the unknown ones)."""
    names = [n.strip().lower() for n in (value.split(",") if isinstance(value, str) else value) if n.strip()]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if not names:
        raise ValueError(f"no method given; choose from {', '.join(METHODS)}")
    return list(dict.fromkeys(names))


@dataclasses.dataclass
class Measurement:
    """One row of the comparison: a method's output for one (content, style) pair and its measures."""

    content: str
    style: str
    method: str
    seconds: float
    style_loss: float
    content_loss: float
    ssim: float
    hist_distance: float
    height: int
    width: int
    style_size: int
    blur: bool
    steps: str
    model: str
    judge: str
    output: str = ""
    stopped: str = ""
    timing: str = ""

    def as_row(self) -> dict:
        """The row as a {column: text} dict for metrics.csv."""
        row = dataclasses.asdict(self)
        for key in ("seconds", "style_loss", "content_loss", "ssim", "hist_distance"):
            row[key] = f"{row[key]:.6g}"
        return row


def compare_pair(content, style, methods: dict, judge: Judge, *, content_name: str | None = None, style_name: str | None = None,
                 blurred: bool = True, max_dim: int | None = images.DEFAULT_MAX_DIM) -> tuple[dict, list[Measurement]]:
    """Run every method on one (content, style) pair and measure each output -> ({method: MethodOutput}, rows).

    Tensors are used as given (a style tensor as prepared by prepare_style). A name, path, PIL image or array is loaded:
    the content scaled to a long side of at most `max_dim` (default 512 px), the style prepared by prepare_style.
    """
    content_name = content_name or (images.name_of(content) if not isinstance(content, tf.Tensor) else "content")
    style_name = style_name or (images.name_of(style) if not isinstance(style, tf.Tensor) else "style")
    if not isinstance(content, tf.Tensor):
        content = images.fit(images.load_img(content, max_dim=None), max_dim, "content")
    if not isinstance(style, tf.Tensor):
        style = prepare_style(style, HUB_STYLE_SIZE, blurred)
    content, style = _as_image(content, "content"), _as_image(style, "style")
    outputs, rows = {}, []
    for name, method in methods.items():
        out = method(content, style)
        outputs[name] = out
        rows.append(measure_output(out, content, style, judge, method=name, content_name=content_name,
                                   style_name=style_name, blurred=blurred,
                                   steps=getattr(method, "steps", None) if name != "hub" else None))
    return outputs, rows


def measure_output(out: MethodOutput, content, style, judge: Judge, *, method: str, content_name: str = "content",
                   style_name: str = "style", blurred: bool = True, steps=None) -> Measurement:
    """Measure one MethodOutput with the judge and wrap it as a Measurement row."""
    values = judge.measure(out.image, content, style)
    return Measurement(
        content=content_name, style=style_name, method=method, seconds=out.seconds, **values,
        height=int(content.shape[1]), width=int(content.shape[2]), style_size=int(style.shape[1]), blur=bool(blurred),
        steps="" if steps is None else str(steps), model=out.model, judge=judge.description,
        stopped=out.stopped, timing=out.timing,
    )


# --------------------------------------------------------------------------------------------------
# Tables and figures
# --------------------------------------------------------------------------------------------------

_TABLE = (("content", "content", "{}"), ("style", "style", "{}"), ("method", "method", "{}"), ("seconds", "time (s)", "{:.2f}"),
          ("style_loss", "style loss", "{:.3g}"), ("content_loss", "content loss", "{:.3g}"), ("ssim", "SSIM", "{:.3f}"),
          ("hist_distance", "colour dist.", "{:.3f}"))


def metrics_table(rows, markdown: bool = False) -> str:
    """The measurements as an aligned text table (or a Markdown table) with one line per row."""
    header = [title for _, title, _ in _TABLE]
    body = [[fmt.format(getattr(r, key)) for key, _, fmt in _TABLE] for r in rows]
    for cells, r in zip(body, rows):
        if r.stopped.startswith("stopped early"):
            cells[2] += " (stopped early)"
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    fmt_line = lambda cells: "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([fmt_line(header), fmt_line(["-" * w for w in widths])] + [fmt_line(b) for b in body])


def _diff_panel(ax, diff: np.ndarray, title: str):
    """Draw a difference map with a colour bar."""
    import matplotlib.pyplot as plt

    shown = ax.imshow(diff, cmap="magma", vmin=0.0, vmax=max(0.25, float(diff.max())))
    ax.set_title(title)
    ax.set_axis_off()
    plt.colorbar(shown, ax=ax, fraction=0.046, pad=0.02, label="mean |Δ| over RGB")


def comparison_figure(pairs, suptitle: str | None = None, size: float = 2.6):
    """One row per (content, style, {method: image}) triple: content | style | each method | difference map; returns the figure."""
    import matplotlib.pyplot as plt

    pairs = list(pairs)
    if not pairs:
        raise ValueError("nothing to show: no (content, style, outputs) triples")
    names = list(pairs[0][2])
    ncols = 2 + len(names) + 1
    fig, axes = plt.subplots(len(pairs), ncols, figsize=(size * ncols, size * len(pairs)), squeeze=False)
    for row, (content, style, outputs) in zip(axes, pairs):
        images.imshow(content, "content", ax=row[0])
        images.imshow(style, "style (as fed)", ax=row[1])
        for ax, name in zip(row[2:], names):
            image = outputs[name].image if isinstance(outputs[name], MethodOutput) else outputs[name]
            images.imshow(image, name, ax=ax)
        first = outputs[names[0]]
        first = first.image if isinstance(first, MethodOutput) else first
        if len(names) >= 2:
            second = outputs[names[1]]
            second = second.image if isinstance(second, MethodOutput) else second
            diff, title = difference_map(first, second), f"|{names[0]} − {names[1]}|"
        else:
            diff, title = difference_map(first, content), f"|{names[0]} − content|"
        _diff_panel(row[-1], diff, f"{title}\nmean {diff.mean():.3f}")
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


# --------------------------------------------------------------------------------------------------
# Atomic files
# --------------------------------------------------------------------------------------------------


def _write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write bytes through a temporary file in the same folder and a rename, so no partial file is ever visible."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv(rows, path) -> Path:
    """Write measurements to a CSV file (CSV_COLUMNS) atomically: the old file or the whole new one, never half."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_row() if isinstance(row, Measurement) else row)
    return _write_bytes_atomic(Path(path), buffer.getvalue().encode("utf-8"))


def save_figure(fig, path) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return _write_bytes_atomic(Path(path), buffer.getvalue())


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def expand_inputs(paths) -> list[Path]:
    """Files as given, folders replaced by the image files directly inside them (sorted; hidden files skipped)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                                and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _unique_names(paths) -> dict:
    """{path: short name} from file stems, with a numeric suffix where two stems collide."""
    names, used = {}, set()
    for path in paths:
        base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(path).stem) or "image"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[path] = name
    return names


def _positive(minimum: int):
    """An argparse type: an integer >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _methods_arg(text: str) -> list[str]:
    """argparse type for --methods."""
    try:
        return parse_methods(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line's argument parser (every option documented for --help)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.compare",
        description=(
            "Stylise every CONTENT image with every --style image by the TF-Hub model and by the hand-built VGG19 "
            "optimiser, from the same matched inputs, and measure each output the same way: wall time, style and "
            "content loss under one shared VGG19 judge, SSIM against the content image and a colour-histogram "
            "distance to the style image."
        ),
        epilog=(
            "Writes into --out: images/CONTENT__STYLE__METHOD.png for every output, grid_STYLE.png per style "
            "(content | style | methods | difference map) and metrics.csv (one row per content, style and method, "
            "with the model that actually ran). Files are written atomically; metrics.csv is rewritten after every row, "
            "so an interrupted run keeps what it finished. Exit status: 0 when every input worked, 1 when some input "
            "or run failed (each is reported with its file name and the reason), 2 for bad usage, 130 when interrupted "
            "with Ctrl-C."
        ),
    )
    parser.add_argument("content", nargs="+", metavar="CONTENT", type=Path,
                        help="content images, or folders of images (every .png/.jpg/... directly inside)")
    parser.add_argument("--style", nargs="+", required=True, metavar="STYLE", type=Path,
                        help="style images, or folders of images; each is paired with every content image")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--size", type=_positive(images.MIN_SIDE), default=256, metavar="PX",
                        help="long side of the content images and outputs in px, never enlarged (default 256)")
    parser.add_argument("--style-size", type=_positive(images.MIN_SIDE), default=HUB_STYLE_SIZE, metavar="PX",
                        help="the style image is centre-cropped to a square of this size for both methods (default 256, "
                             "the size the Hub model was trained with)")
    parser.add_argument("--no-blur", dest="blur", action="store_false",
                        help="do not blur the style image with a 3x3 average pool (the Hub example blurs it)")
    parser.add_argument("--steps", type=_positive(1), default=100, metavar="N",
                        help="optimiser steps per image (default 100; about 0.4 s each at 256 px on a 2-core CPU)")
    parser.add_argument("--methods", type=_methods_arg, default=list(METHODS), metavar="LIST",
                        help="comma-separated methods to run: hub, optimizer (default: hub,optimizer)")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                        help="the optimiser's algorithm (default lbfgs)")
    parser.add_argument("--init", choices=("content", "noise", "blend"), default="content",
                        help="the optimiser's starting image (default content)")
    parser.add_argument("--weights", default="auto", metavar="W",
                        help="VGG19 weights for the optimiser and the judge: auto, imagenet, packaged, random, or a .h5 file "
                             "(default auto: the exact ImageNet file if cached, else the packaged 8-bit ImageNet copy)")
    parser.add_argument("--hub-handle", default=None, metavar="HANDLE",
                        help="Hub URL or SavedModel folder to try first (default: NST_HUB_HANDLE, then the public handles, "
                             "then the offline model)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the optimiser (default 0)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    return parser


def _report(message: str) -> None:
    """Print one failure line on stderr without breaking the progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(f"error: {message}", file=sys.stderr)


def _load_all(paths, loader, failures: list) -> dict:
    """{path: tensor} for the paths that load; each failure is reported and appended to `failures`."""
    loaded = {}
    for path in paths:
        try:
            loaded[path] = loader(path)
        except (images.ImageLoadError, ValueError, OSError) as exc:
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            _report(message)
            failures.append(message)
    return loaded


def run(args) -> int:
    """Run the comparison the parsed arguments describe; return the exit status (0 all worked, 1 some failed)."""
    from tqdm.auto import tqdm

    out = args.out
    failures: list[str] = []
    for folder in [p for p in [*args.content, *args.style] if p.is_dir() and not expand_inputs([p])]:
        message = f"{folder}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})"
        _report(message)
        failures.append(message)
    contents = _load_all(expand_inputs(args.content), lambda p: load_content(p, args.size), failures)
    styles = _load_all(expand_inputs(args.style), lambda p: prepare_style(images.load_img(p, max_dim=None), args.style_size, args.blur),
                       failures)
    if not contents or not styles:
        _report("nothing to compare: " + ("no readable content image" if not contents else "no readable style image"))
        return 1
    content_names, style_names = _unique_names(contents), _unique_names(styles)
    methods = make_methods(args.methods, steps=args.steps, optimizer=args.optimizer, init=args.init, weights=args.weights,
                           seed=args.seed, hub_handle=args.hub_handle)
    judge = Judge(args.weights)
    rows: list[Measurement] = []
    csv_path = out / "metrics.csv"
    write_csv(rows, csv_path)  # a valid (header-only) file from the start
    total = len(contents) * len(styles) * len(methods)
    try:
        with tqdm(total=total, desc="stylising", unit="image", disable=not args.progress, file=sys.stderr) as bar:
            for style_path, style in styles.items():
                sname = style_names[style_path]
                grid = []
                for content_path, content in contents.items():
                    cname = content_names[content_path]
                    outputs = {}
                    for mname, method in methods.items():
                        bar.set_postfix_str(f"{cname} + {sname}: {mname}")
                        try:
                            result = method(content, style)
                            row = measure_output(result, content, style, judge, method=mname, content_name=cname,
                                                 style_name=sname, blurred=args.blur,
                                                 steps=args.steps if mname == "optimizer" else None)
                            target = out / "images" / f"{cname}__{sname}__{mname}.png"
                            images.save_image(result.image, target)
                            row.output = str(target.relative_to(out))
                            rows.append(row)
                            write_csv(rows, csv_path)
                            outputs[mname] = result
                        except (KeyboardInterrupt, SystemExit):
                            raise
                        except Exception as exc:  # noqa: BLE001 - one failed run is reported, the batch goes on
                            message = f"{content_path} + {style_path} ({mname}): {type(exc).__name__}: {exc}"
                            _report(message)
                            failures.append(message)
                        bar.update(1)
                    if outputs:
                        grid.append((content, style, outputs))
                complete = [g for g in grid if len(g[2]) == len(methods)]  # rows where every method worked
                if complete:
                    save_figure(comparison_figure(complete, suptitle=f"style: {sname}"), out / f"grid_{sname}.png")
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(rows)} finished row(s) kept in {csv_path}", file=sys.stderr)
        return 130
    print(metrics_table(rows))
    print(f"\n{len(rows)} row(s) in {csv_path}; judge: {judge.description}")
    for name, method in methods.items():
        if name == "hub" and isinstance(method, HubMethod) and method._module is not None:
            print(f"hub model: {method.source} (loaded in {method.load_seconds:.1f} s, not counted per image)")
    if failures:
        print(f"{len(failures)} input(s) or run(s) failed:", file=sys.stderr)
        for message in failures:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    """Command-line entry point: parse arguments (exit 2 on bad usage) and run the comparison."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    weights = args.weights
    if weights not in vgg.NAMED_WEIGHTS and not Path(weights).expanduser().is_file():
        parser.error(f"--weights {weights}: not {', '.join(vgg.NAMED_WEIGHTS)}, or an existing .h5 file")
    args.out.mkdir(parents=True, exist_ok=True)
    print(config.describe(), flush=True)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
