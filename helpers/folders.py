"""A folder of photos through a stylisation model: the plain Python loop, and a tf.data pipeline that keeps the model busy.

    report = stylize_folder(net.infer, "~/Pictures/trip", "build/09/trip", max_dim=256, batch_size=8)
    report["written"], report["skipped"], report["images_per_second"]

The pipeline decodes and resizes several files in parallel, groups images *of equal size* into batches and prepares
the next batch while the model works on this one. It never pads images to a common size: a network with instance
normalisation (every model in this course) computes each image's statistics over the whole picture, so padding would
change the output (the corrupted batches of tensorflow/hub issue #590). A file that cannot be used is skipped and named,
with the reason, and the rest are stylised.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import config, images, validate

#: File name endings treated as images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def image_files(folder) -> list[Path]:
    """The image files directly in `folder`, sorted by name (ValueError naming the folder if it is missing or has none)."""
    if not isinstance(folder, (str, Path)):
        raise validate.refuse("folder", folder, "not a path", "pass the path of a folder of images")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder" + (" (it is a file; pass the folder it is in)" if folder.is_file() else ""))
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return paths


def output_names(paths) -> dict[Path, str]:
    """The PNG name each input gets: its stem, or stem_suffix where two inputs share a stem."""
    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    return {p: (f"{p.stem}_{p.suffix.lstrip('.').lower()}.png" if stems.count(p.stem) > 1 else f"{p.stem}.png") for p in paths}


def one_at_a_time(model):
    """Wrap a model that takes one image [1, H, W, 3] so that it takes a batch [B, H, W, 3] (one call per image)."""
    def batched(batch):
        batch = tf.convert_to_tensor(batch, tf.float32)
        return tf.concat([model(batch[i : i + 1]) for i in range(int(batch.shape[0]))], axis=0)

    return batched


def _reason(path: Path) -> str:
    """Why a file was skipped: the course loader's own message, or that only TensorFlow's decoders cannot read it."""
    try:
        image = images.load_img(path, max_dim=None)
    except images.ImageLoadError as exc:
        return str(exc).removeprefix(f"{path}: ")
    if min(image.shape[1:3]) < images.MIN_SIDE:  # pragma: no cover - load_img already refuses these
        return "too small"
    return "the pipeline could not decode it (TensorFlow reads JPEG, PNG, GIF and BMP); the plain loop (PIL) can"


@contextlib.contextmanager
def decoder_messages():
    """Collect what the C image decoders write to the console (libjpeg's bare "Input file read error") while the block runs.

    Yields a list that holds those lines once the block ends; the caller decides whether they add anything to the
    course's own message naming the file, and prints them if so.
    """
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nst-decode-") as folder:
        log = Path(folder) / "decoders.log"
        try:
            with config.native_log_to(log):
                yield lines
        finally:
            if log.exists():
                lines.extend(line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())


def _finish(written: list[Path], skipped: dict[str, str], seconds: float, batches: int) -> dict:
    """The report both ways return."""
    return {"written": written, "skipped": skipped, "seconds": seconds, "batches": batches,
            "images_per_second": len(written) / seconds if seconds > 0 else float("nan")}


def stylize_folder_loop(model, folder, out_dir, max_dim: int = 256) -> dict:
    """The plain loop: for each file, load (PIL), stylise, save a PNG in out_dir. Returns the report (see stylize_folder)."""
    paths = image_files(folder)
    max_dim = validate.number("max_dim", max_dim, low=images.MIN_SIDE, integer=True)
    if not callable(model):
        raise validate.refuse("model", model, "not callable", "pass a function or network that maps [1, H, W, 3] to [1, H, W, 3]")
    names = output_names(paths)
    out_dir = validate.folder_path("out_dir", out_dir)
    written, skipped = [], {}
    start = time.perf_counter()
    for path in paths:
        try:
            image = images.load_img(path, max_dim=max_dim)
        except images.ImageLoadError as exc:
            skipped[path.name] = str(exc).removeprefix(f"{path}: ")
            continue
        written.append(images.save_image(model(image), out_dir / names[path]))
    return _finish(written, skipped, time.perf_counter() - start, len(written))


def _decode(max_dim: int):
    """The pipeline's map function: path -> (path, image [H, W, 3] in [0, 1], long side <= max_dim); fails on a bad file."""
    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        shape = tf.shape(image)
        height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
        tf.debugging.assert_greater_equal(tf.minimum(shape[0], shape[1]), images.MIN_SIDE, message="too small")
        scale = tf.minimum(1.0, float(max_dim) / tf.maximum(height, width))
        # a long, thin image keeps a MIN_SIDE short side, as images.scaled_size does
        scale = tf.maximum(scale, tf.minimum(1.0, images.MIN_SIDE / tf.minimum(height, width)))
        size = tf.cast(tf.maximum(1.0, tf.round(tf.stack([height, width]) * scale)), tf.int32)
        image = tf.cond(tf.reduce_all(size == shape[:2]), lambda: image,
                        lambda: tf.image.resize(image[None], size, method="bilinear", antialias=True)[0])
        return path, tf.clip_by_value(image, 0.0, 1.0)

    return decode


def _check_sizes(max_dim, batch_size) -> tuple[int, int]:
    """max_dim (a long side of at least images.MIN_SIDE px) and batch_size (>= 1), checked; ArgumentError names the wrong one."""
    return (validate.number("max_dim", max_dim, low=images.MIN_SIDE, integer=True),
            validate.number("batch_size", batch_size, low=1, integer=True))


def folder_dataset(paths, max_dim: int = 256, batch_size: int = 8) -> tf.data.Dataset:
    """(paths [B], images [B, H, W, 3]) batches: parallel decode and resize, bad files dropped, equal sizes grouped, prefetched."""
    max_dim, batch_size = _check_sizes(max_dim, batch_size)
    dataset = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    dataset = dataset.map(_decode(int(max_dim)), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.ignore_errors()  # bad files are named afterwards, from what did not come out

    def size_key(path, image):
        shape = tf.cast(tf.shape(image), tf.int64)
        return shape[0] * 1_000_000 + shape[1]

    dataset = dataset.group_by_window(size_key, lambda _key, window: window.batch(int(batch_size)), window_size=int(batch_size))
    return dataset.prefetch(tf.data.AUTOTUNE)


def stylize_folder(model, folder, out_dir, max_dim: int = 256, batch_size: int = 8) -> dict:
    """Stylise every image in `folder` with `model` ([B, H, W, 3] -> [B, H, W, 3]) through folder_dataset; PNGs in out_dir.

    Returns {'written': [output paths], 'skipped': {file name: reason}, 'seconds', 'images_per_second', 'batches'}.
    A model that takes one image at a time can be wrapped with one_at_a_time.
    """
    paths = image_files(folder)
    max_dim, batch_size = _check_sizes(max_dim, batch_size)  # before any file is read
    if not callable(model):
        raise validate.refuse("model", model, "not callable", "pass a function or network that maps [B, H, W, 3] to [B, H, W, 3]")
    names = output_names(paths)
    out_dir = validate.folder_path("out_dir", out_dir)
    written, done, batches = [], set(), 0
    start = time.perf_counter()
    with decoder_messages() as native:  # a broken file is named below, with the reason, instead of a bare libjpeg line
        for batch_paths, batch in folder_dataset(paths, max_dim, batch_size):
            result = np.asarray(model(batch), np.float32)
            batches += 1
            for raw, image in zip(batch_paths.numpy(), result):
                path = Path(raw.decode("utf-8"))
                done.add(path)
                written.append(images.save_image(image, out_dir / names[path]))
    seconds = time.perf_counter() - start
    skipped = {path.name: _reason(path) for path in paths if path not in done}
    if native and not skipped:  # nothing was skipped, so these lines are not about a broken file: show them
        print("\n".join(native), file=sys.stderr)
    order = {out_dir / names[p]: i for i, p in enumerate(paths)}
    return _finish(sorted(written, key=order.get), skipped, seconds, batches)
