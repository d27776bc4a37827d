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

The figures of a comparison are in :mod:`helpers.viz`; the command line that runs one over folders of images and
writes the files is :mod:`helpers.compare_cli`.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line used to live here
    raise SystemExit("helpers.compare is the comparison's library; its command line is: python -m helpers.compare_cli --help")

import dataclasses
import time

import numpy as np
import tensorflow as tf

from helpers import images, losses, timing, vgg
from helpers.progress import progress_bar

#: The methods the comparison knows, in the order they are run and shown.
METHODS = ("hub", "optimizer")
#: The loss form the judge uses for every method (see helpers.losses).
JUDGE_FORM = "relative"
#: Style size the TF-Hub model was trained with.
HUB_STYLE_SIZE = 256
#: Bins per channel of the colour histograms.
HIST_BINS = 64

# --------------------------------------------------------------------------------------------------
# Matched inputs
# --------------------------------------------------------------------------------------------------


def blur(image: tf.Tensor) -> tf.Tensor:
    """3x3 average pool, stride 1, of [1, H, W, 3] (edges average the pixels that exist); same shape."""
    return tf.nn.avg_pool2d(tf.convert_to_tensor(image, tf.float32), ksize=3, strides=1, padding="SAME")


def prepare_style(style, size: int = HUB_STYLE_SIZE, blurred: bool = True) -> tf.Tensor:
    """The style image as the Hub model wants it: central square, size x size, 3x3 blur -> [1, size, size, 3] in [0, 1]."""
    image = images.load_img(style, max_dim=None) if not isinstance(style, tf.Tensor) else images.check_image(
        style, "style image", allow_hwc=False, error=ValueError)
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
    """A [1, H, W, 3] image (images.check_image's rules; no [H, W, 3] here: the measures compare whole tensors)."""
    return images.check_image(image, name, allow_hwc=False, error=ValueError)


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


def stroke_size(image, reference=None, sigma: float = 2.0) -> float:
    """The mean spacing, in px, of the edges in a [1, H, W, 3] image's luminance (of image - reference if given): for stripes, their period.

    Edges are found by Canny's detector after a Gaussian blur of `sigma` px (which ignores a finer grain); their length
    per unit area L_A is counted with Crofton's formula from the edges crossed along rows, columns and both diagonals,
    L_A = (pi / 2) x crossings per unit length; the spacing is 2 / L_A (stripes have two edges per period).
    """
    from skimage.feature import canny

    from helpers import colour

    image = _as_image(image, "image")
    luminance = np.asarray(colour.rgb_to_yiq(image)[0, :, :, 0], np.float64)
    if reference is not None:
        luminance = luminance - np.asarray(colour.rgb_to_yiq(match_size(reference, image))[0, :, :, 0], np.float64)
    edges = canny(luminance, sigma=float(sigma))
    height, width = edges.shape

    def crossings(lines) -> int:
        """Runs of edge pixels met along each line (a thin edge crossed once counts once)."""
        return sum(int(line[0]) + int(np.count_nonzero(line[1:] & ~line[:-1])) for line in lines if line.size)

    diagonals = [np.diagonal(edges, k) for k in range(-height + 1, width)]
    anti = [np.diagonal(edges[:, ::-1], k) for k in range(-height + 1, width)]
    area = height * width
    per_length = (crossings(edges) / area + crossings(edges.T) / area
                  + (crossings(diagonals) + crossings(anti)) / (area * np.sqrt(2))) / 4  # a diagonal step is sqrt(2) long
    if per_length == 0:
        return float("inf")
    return float(2.0 / (np.pi / 2 * per_length))


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
        outputs = []

        def stylise():
            outputs.append(images.clip_0_1(tf.convert_to_tensor(module(content, style)[0], tf.float32)))

        # graph tracing and one-off set-up (once per shape) are not part of the per-image time
        timings = timing.time_calls(stylise, self.repeats, warmups=0 if key in self._warm else 1)
        self._warm.add(key)
        out = outputs[-1]
        seconds = float(np.median(timings))
        how = (f"median of {len(timings)} warm calls ({min(timings):.3g}-{max(timings):.3g} s)" if len(timings) > 1
               else "one warm call")
        return MethodOutput(out, seconds, self.source, timings=timings, timing=how)


class OptimizerMethod:
    """The hand-built optimiser (helpers.optimize.transfer) with fixed settings, timed per call; Ctrl-C stops the comparison."""

    name = "optimizer"

    def __init__(self, steps=None, optimizer="lbfgs", init="content", weights="auto", seed: int = 0, progress: bool = False, **options):
        self.steps = steps
        self.optimizer = optimizer
        self.init = init
        self.weights = weights
        self.seed = seed  # the noise of init="noise" or "blend"
        self.progress = progress
        self.options = options  # more of transfer()'s arguments, e.g. style_weight

    @property
    def source(self) -> str:
        """Which model runs: the optimiser and the VGG19 weights it fits."""
        steps = "default steps" if self.steps is None else f"{self.steps} steps"
        name = self.optimizer if isinstance(self.optimizer, str) else type(self.optimizer).__name__
        return f"{name} optimiser, {steps}, VGG19 {vgg.weights_kind(self.weights)} weights"

    def __call__(self, content, style, **overrides) -> MethodOutput:
        """Run transfer(content, style) ([1, H, W, 3] in [0, 1]); keyword overrides (e.g. init=) apply to this call only."""
        from helpers import optimize

        kwargs = dict(optimizer=self.optimizer, steps=self.steps, init=self.init, network=optimize.Network(weights=self.weights),
                      **self.options)
        kwargs.update(overrides)
        if isinstance(kwargs["init"], str) and kwargs["init"] != "content" and self.seed != 0:
            kwargs["init"] = optimize.initial_image(content, kwargs["init"], self.seed)
        show = bool(kwargs.pop("progress", self.progress))
        name = optimize._check_optimizer(kwargs["optimizer"])[0]
        requested = kwargs["steps"] if kwargs["steps"] is not None else optimize.DEFAULT_STEPS[name]
        total = sum(requested.values()) if isinstance(requested, dict) else int(requested)
        bar = progress_bar(total=total, desc="style transfer", unit="step", leave=True) if show else None
        if bar is not None and "callback" not in kwargs:
            def advance(step, _image, parts):
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{parts['total']:.4g}", refresh=False)

            kwargs.update(callback=optimize.every(1, advance))
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
        content = images.load_sized(content, max_dim, "content")
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
# Tables
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


# --------------------------------------------------------------------------------------------------
# The finest detail, and a mask's edge
# --------------------------------------------------------------------------------------------------


def neighbour_jumps(image) -> np.ndarray:
    """Per pixel, the size of the jump to its right and lower neighbours of a [1, H, W, 3] image: [H-1, W-1], RGB averaged.

    sqrt(mean over RGB of dx^2 + dy^2): a map of the image's finest detail (brighter = larger jump between neighbours).
    """
    arr = np.asarray(_as_image(image, "image"), np.float64)[0]
    dx, dy = arr[:-1, 1:] - arr[:-1, :-1], arr[1:, :-1] - arr[:-1, :-1]
    return np.sqrt(np.mean(dx * dx + dy * dy, axis=-1))


def high_frequency_energy(image) -> float:
    """The mean squared jump between neighbouring pixels of a [1, H, W, 3] image in [0, 1] (RGB averaged): its finest grain."""
    return float(np.mean(np.square(neighbour_jumps(image))))


def edge_jump(image, mask) -> float:
    """Mean |difference| (RGB averaged, 0-1 scale) of the neighbouring pixels of a [1, H, W, 3] image that straddle a mask's edge.

    The mask is [1, H, W, 1], its edge where it crosses 0.5. A paste along the edge adds to the jump the image already
    has there, so compare the value with the original picture's.
    """
    arr = np.asarray(_as_image(image, "image"), np.float64)[0]
    inside = np.asarray(mask, np.float64)[0, :, :, 0] >= 0.5
    if inside.shape != arr.shape[:2]:
        raise ValueError(f"edge_jump: image {arr.shape[:2]} and mask {inside.shape} differ in size")
    across = [np.mean(np.abs(arr[:, 1:] - arr[:, :-1]), axis=-1)[inside[:, 1:] != inside[:, :-1]],
              np.mean(np.abs(arr[1:] - arr[:-1]), axis=-1)[inside[1:] != inside[:-1]]]
    across = np.concatenate(across)
    if across.size == 0:
        raise ValueError("edge_jump: the mask has no edge (it covers everything or nothing)")
    return float(np.mean(across))
