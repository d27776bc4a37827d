"""The one place that reads the environment: smoke mode, offline mode, cache and weight paths.

Variables:
    NST_SMOKE=1          shrink sizes and steps so every notebook runs in seconds (tests, CI).
    NST_OFFLINE=1        never touch the network; use offline fallbacks straight away.
    NST_CACHE            where downloads and exported models live (default ~/.cache/nst).
    NST_VGG19_WEIGHTS    a local Keras VGG19 .h5 weights file to use when ImageNet cannot be downloaded.
    NST_HUB_HANDLE       a Hub URL or a local SavedModel folder to try first for the Magenta model.
    NST_MODEL_LOG        if set, a file to which every model notice is appended (used by `make run`).
    NST_OUT              the folder notebooks write their files under (default build/, or build/smoke/ in smoke mode;
                         `runner --out` sets it).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}

#: Seconds one network attempt may take before the course gives up and falls back.
NETWORK_TIMEOUT = 10.0

#: The repository root (the folder that holds helpers/, notebooks/, images/).
ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = ROOT / "images"
BUILD_DIR = ROOT / "build"


def _flag(name: str) -> bool:
    """True when environment variable `name` is set to 1/true/yes/on."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def smoke() -> bool:
    """True in smoke mode (NST_SMOKE=1): tiny sizes, few steps, same code paths."""
    return _flag("NST_SMOKE")


def offline() -> bool:
    """True when NST_OFFLINE=1: no network access is attempted at all."""
    return _flag("NST_OFFLINE")


def pick(full, smoke_value):
    """Return `smoke_value` in smoke mode, else `full` (for the notebooks' parameter cells)."""
    return smoke_value if smoke() else full


def run_dir() -> Path:
    """The folder a run writes under: NST_OUT if set (the runner sets it), else build/, or build/smoke/ in smoke mode."""
    value = os.environ.get("NST_OUT", "").strip()
    if value:
        return Path(value).expanduser()
    return BUILD_DIR / "smoke" if smoke() else BUILD_DIR


def output_dir(notebook: str) -> Path:
    """Where notebook `notebook` (e.g. "03") writes its files: run_dir()/<notebook>; created."""
    path = run_dir() / notebook
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """The course's cache folder (NST_CACHE, default ~/.cache/nst), created if missing."""
    path = Path(os.environ.get("NST_CACHE") or Path.home() / ".cache" / "nst").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def vgg19_weights_file() -> Path | None:
    """The path in NST_VGG19_WEIGHTS, or None when it is unset."""
    value = os.environ.get("NST_VGG19_WEIGHTS", "").strip()
    return Path(value).expanduser() if value else None


def hub_handle() -> str | None:
    """The handle in NST_HUB_HANDLE, or None when it is unset."""
    value = os.environ.get("NST_HUB_HANDLE", "").strip()
    return value or None


_NOTICES: dict[str, list[str]] = {}


def notice(kind: str, message: str, log: bool = True) -> None:
    """Print `message` once per process (e.g. kind 'vgg19' or 'hub'), and log it for `make run`'s summary if `log`."""
    seen = _NOTICES.setdefault(kind, [])
    if message in seen:
        seen.remove(message)
        seen.append(message)  # the latest one is what notices() reports
        return
    seen.append(message)
    print(f"[{kind}] {message}", flush=True)
    path = os.environ.get("NST_MODEL_LOG", "").strip() if log else ""
    if path:
        with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"kind": kind, "message": message}) + "\n")


def notices() -> dict[str, str]:
    """The latest notice of each kind in this process: which models and images were used."""
    return {kind: seen[-1] for kind, seen in _NOTICES.items() if seen}


@contextlib.contextmanager
def network_timeout(seconds: float = NETWORK_TIMEOUT):
    """Within this block, every socket operation gives up after `seconds`."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextlib.contextmanager
def native_log_to(path):
    """Within this block, send what native libraries write to file descriptor 2 (TensorFlow's C++ log) to `path`."""
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 2)
            yield path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def send_native_log_to(path) -> Path:
    """From now on, send what native libraries write to file descriptor 2 (TensorFlow's C++ start-up log) to `path`.

    Python's own sys.stderr keeps writing to the terminal; for command lines, before TensorFlow is imported.
    """
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8")
    with open(path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 2)
    return path


def describe() -> str:
    """One line describing the mode: smoke or full, online or offline, and the cache folder."""
    mode = "smoke" if smoke() else "full"
    net = "off (NST_OFFLINE=1)" if offline() else "tried when a model or painting is needed (NST_OFFLINE=1 turns it off)"
    return f"mode: {mode}; network: {net}; cache: {cache_dir()}"
