"""Images in and out: load any common file into a [1, H, W, 3] tensor, show it, save it safely."""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from helpers import config, files

#: File formats load_img accepts (PIL format names).
SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "MPO")

#: Largest pixel count load_img will decode (a guard against decompression bombs): 80 megapixels.
MAX_PIXELS = 80_000_000

#: The long side, in pixels, images are scaled to unless a caller asks for another size (max_dim).
#: At 512 px one step of the VGG19 optimiser already takes about a second on a laptop CPU.
DEFAULT_MAX_DIM = 512

#: Smallest side VGG19's features need. Four 2x2 poolings sit before block5, so a 32 px side
#: leaves block5 a 2x2 map; below that the deepest Gram matrices are built from one location.
MIN_SIDE = 32

#: Committed example images by short name: (file, kind, description).
EXAMPLES = {
    "astronaut": ("content/astronaut.png", "content", "portrait: astronaut Eileen Collins (NASA)"),
    "grace_hopper": ("content/grace_hopper.jpg", "content", "portrait: Rear Admiral Grace Hopper"),
    "cat": ("content/chelsea.png", "content", "animal: Chelsea the cat"),
    "rocket": ("content/rocket.jpg", "content", "scene: a rocket on its launch pad"),
    "coffee": ("content/coffee.png", "content", "object: a cup of coffee"),
    "swirls": ("style/swirls.png", "style", "procedural: night-sky swirls (a Starry Night stand-in)"),
    "waves": ("style/waves.png", "style", "procedural: layered waves with foam (a Great Wave stand-in)"),
    "composition": ("style/composition.png", "style", "procedural: circles and bars (a Kandinsky stand-in)"),
    "mosaic": ("style/mosaic.png", "style", "procedural: a coloured Voronoi mosaic"),
    "hubble": ("style/hubble_deep_field.jpg", "style", "photo used as a style: Hubble deep field"),
}

#: Famous public-domain paintings: name -> (url, committed stand-in used offline, label).
PAINTINGS = {
    "starry_night": (
        "https://upload.wikimedia.org/wikipedia/commons/thumb/e/ea/"
        "Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg/"
        "1280px-Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg",
        "swirls",
        "Vincent van Gogh, The Starry Night (1889)",
    ),
    "great_wave": (
        "https://upload.wikimedia.org/wikipedia/commons/thumb/a/a5/"
        "Tsunami_by_hokusai_19th_century.jpg/1280px-Tsunami_by_hokusai_19th_century.jpg",
        "waves",
        "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831)",
    ),
    "kandinsky": (
        "https://storage.googleapis.com/download.tensorflow.org/example_images/"
        "Vassily_Kandinsky%2C_1913_-_Composition_7.jpg",
        "composition",
        "Wassily Kandinsky, Composition VII (1913)",
    ),
}


class ImageLoadError(ValueError):
    """An image file (or array) could not be used; the message names the file and the reason."""


class ImageTooSmallError(ImageLoadError):
    """An image with a side below the smallest VGG19 can use; `source`, `size` (W, H) and `min_side` say which and by how much."""

    def __init__(self, source, size: tuple[int, int], min_side: int, message: str):
        super().__init__(message)
        self.source, self.size, self.min_side = source, size, min_side


def _fail(source, reason: str) -> ImageLoadError:
    """Build an ImageLoadError that names `source` and gives `reason`."""
    return ImageLoadError(f"{source}: {reason}")


def _open_file(path: Path) -> Image.Image:
    """Open and fully decode an image file, turning every failure into ImageLoadError."""
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a directory, not an image file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise _fail(path, "is an empty file (0 bytes)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from exc
    return _decode(io.BytesIO(data), path)


@contextlib.contextmanager
def _pil_pixel_limit_off():
    """Switch off PIL's own decompression-bomb guard, so that MAX_PIXELS (checked on the header) gives the message."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _decode(stream, source) -> Image.Image:
    """Decode an image from a byte stream, with format, bomb and truncation checks."""
    with warnings.catch_warnings(), _pil_pixel_limit_off():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(stream)  # reads the header only; MAX_PIXELS is checked before any pixel is decoded
        except UnidentifiedImageError as exc:
            raise _fail(
                source,
                "is not an image, or not in a supported format "
                f"(supported: {', '.join(f for f in SUPPORTED_FORMATS if f != 'MPO')})",
            ) from exc
        except OSError as exc:
            if "truncated" in str(exc).lower():
                stream.seek(0, io.SEEK_END)
                raise _fail(source, f"is truncated or corrupt: the file ends inside its header ({stream.tell():,} bytes), before any "
                                    "pixel; copy or download the file again") from None
            raise _fail(source, f"cannot be decoded ({exc})") from exc
        if img.format not in SUPPORTED_FORMATS:
            raise _fail(source, f"{img.format} images are not supported (supported: JPEG, PNG, GIF, WEBP, BMP, TIFF)")
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise _fail(
                source,
                f"is {width}x{height} = {width * height:,} pixels, over the course's limit of {MAX_PIXELS:,} "
                "(images.MAX_PIXELS, a guard against decompression bombs); shrink it first",
            )
        try:
            img.seek(0)  # GIF and multi-page TIFF: the first frame
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            if "truncated" in str(exc):
                raise _fail(source, f"is truncated or corrupt: {_how_truncated(stream)}; copy or download the file again") from None
            raise _fail(source, f"is truncated or corrupt ({exc})") from exc
    return img


def _how_truncated(stream) -> str:
    """How much of a truncated image is there, in words: the rows decoded before its data ends (decoded again, tolerantly)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # the decoder fills the rows it never received with one flat colour
    try:
        img = Image.open(stream)
        img.seek(0)
        rows = np.asarray(img.convert("RGB"))
    except Exception:  # noqa: BLE001 - the plain statement below still holds
        return f"the file ends early ({size:,} bytes)"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    height = rows.shape[0]
    flat = np.all(rows == rows[-1, 0], axis=(1, 2))  # rows of the fill colour
    missing = int(np.argmin(flat[::-1])) if not flat.all() else height
    if missing == 0:
        return f"the file ends early ({size:,} bytes), after its pixel data but before its end marker"
    return f"the image data ends after about {height - missing} of its {height} rows ({size:,} bytes in the file)"


def _pil_to_array(img: Image.Image, source) -> np.ndarray:
    """Convert any PIL mode to a float32 [H, W, 3] array in [0, 1] (alpha composited on white)."""
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block should not stop an otherwise good image
        pass
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 65535.0
        elif mode == "I":
            arr = arr / (65535.0 if arr.max(initial=0) > 255 else 255.0)
        else:  # float image: accept [0, 1] or [0, 255]
            if not np.all(np.isfinite(arr)):
                raise _fail(source, "float image contains NaN or infinite values")
            if arr.max(initial=0) > 1.0:
                arr = arr / 255.0
        arr = np.clip(arr, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=-1).astype(np.float32)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if mode in ("LA", "La", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    img = img.convert("RGB")
    return np.asarray(img, dtype=np.float32) / 255.0


def _array_to_array(value, source) -> np.ndarray:
    """Convert a uint8/float array or tensor ([H,W], [H,W,3|4] or [1,H,W,3]) to float32 [H, W, 3] in [0, 1]."""
    arr = np.asarray(value)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise _fail(source, f"a batch of {arr.shape[0]} images was given; pass one image")
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise _fail(source, f"array of shape {tuple(np.asarray(value).shape)} is not an image ([H, W], [H, W, 3] or [1, H, W, 3])")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise _fail(source, "array contains NaN or infinite values")
        if arr.min(initial=0) < 0 or arr.max(initial=0) > 1:
            if np.issubdtype(np.asarray(value).dtype, np.integer) and arr.max() <= 255 and arr.min() >= 0:
                arr = arr / 255.0
            else:
                raise _fail(source, f"float array values lie in [{arr.min():.3g}, {arr.max():.3g}], expected [0, 1]")
    else:
        raise _fail(source, f"unsupported array dtype {arr.dtype}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        alpha = arr[..., 3:4]
        arr = arr[..., :3] * alpha + (1.0 - alpha)
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def scaled_size(height: int, width: int, long_side: int, min_side: int = MIN_SIDE) -> tuple[int, int]:
    """(H, W) with the long side set to `long_side`, aspect kept, but the short side not below min_side (nor its own size)."""
    scale = max(long_side / max(height, width), min(1.0, min_side / min(height, width)))  # a long, thin image keeps min_side
    return max(1, round(height * scale)), max(1, round(width * scale))


def _target_size(height: int, width: int, max_dim: int | None, upscale: bool, min_side: int = MIN_SIDE) -> tuple[int, int]:
    """The (H, W) after scaling the long side to max_dim (only down, unless upscale), as scaled_size does."""
    if not max_dim or (max(height, width) <= max_dim and not upscale):
        return height, width
    return scaled_size(height, width, max_dim, min_side)


def _known_name(source: str) -> str | None:
    """The example or painting name `source` means, matched case-insensitively (" " and "-" as "_"), or None."""
    key = source.strip().lower().replace(" ", "_").replace("-", "_")
    return key if key in EXAMPLES or key in PAINTINGS else None


def resolve(source):
    """What a user named -> a Path (example name, painting name, path with ~), or the PIL image / array unchanged."""
    if isinstance(source, str):
        path = Path(source).expanduser()
        name = _known_name(source) if not path.exists() else None
        if name in EXAMPLES:
            return example_path(name)
        if name in PAINTINGS:
            return painting_path(name)
        if not path.exists() and not path.suffix and os.sep not in source and "/" not in source:
            close = difflib.get_close_matches(source.strip().lower(), [*EXAMPLES, *PAINTINGS], n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ImageLoadError(
                f"{source!r}: unknown image name and no such file.{hint} Name an example "
                f"({', '.join(EXAMPLES)}), a painting ({', '.join(PAINTINGS)}), or give the path of an image file."
            )
        return path
    if isinstance(source, os.PathLike):
        return Path(source).expanduser()
    return source


def name_of(source) -> str:
    """A short label for what a user named: the example or painting name (also for an example's file), a file's stem, or 'PIL image' / 'array'."""
    if isinstance(source, str) and _known_name(source) and not Path(source).expanduser().exists():
        return _known_name(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        for name, (file, _, _) in EXAMPLES.items():  # an example's file is called by the example's name ("cat", not "chelsea")
            if path.name == Path(file).name and path.resolve() == (config.IMAGES_DIR / file).resolve():
                return name
        return path.stem or str(source)
    return "PIL image" if isinstance(source, Image.Image) else "array"


def load_img(path_or_image, max_dim: int | None = DEFAULT_MAX_DIM, *, upscale: bool = False, min_side: int = MIN_SIDE) -> tf.Tensor:
    """Load an example or painting name, a file path (str or Path, ~ expanded), PIL image or array as [1, H, W, 3] in [0, 1], long side <= max_dim.

    A long, thin image keeps its short side at `min_side` (its long side may then exceed max_dim).
    """
    path_or_image = resolve(path_or_image)
    if isinstance(path_or_image, Path):
        source = path_or_image
        arr = _pil_to_array(_open_file(source), source)
    elif isinstance(path_or_image, Image.Image):
        source = "<PIL image>"
        img = path_or_image
        try:
            img.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise _fail(source, f"is truncated or corrupt ({exc})") from exc
        arr = _pil_to_array(img, source)
    elif isinstance(path_or_image, (np.ndarray, tf.Tensor)) or hasattr(path_or_image, "__array__"):
        source = "<array>"
        arr = _array_to_array(path_or_image, source)
    else:
        raise ImageLoadError(f"<{type(path_or_image).__name__}>: not a path, PIL image or array")
    height, width = arr.shape[:2]
    new_h, new_w = _target_size(height, width, max_dim, upscale, min_side)
    if min(new_h, new_w) < min_side:
        raise ImageTooSmallError(source, (width, height), min_side,
                                 f"{source}: is too small ({width}x{height} px); VGG19 features need at least {min_side} px on each "
                                 f"side. Use a larger image, or enlarge this one as it loads: load_img(..., max_dim={max(256, 2 * min_side)}, "
                                 "upscale=True)")
    image = tf.convert_to_tensor(arr[None], dtype=tf.float32)
    if (new_h, new_w) != (height, width):
        image = tf.image.resize(image, (new_h, new_w), method="bilinear", antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image


def check_image(value, name: str = "image", *, batch: bool = False, allow_hwc: bool = True, min_side: int = 1,
                error: type[Exception] = ImageLoadError) -> tf.Tensor:
    """Check an image tensor or array and return it as [1, H, W, 3] float32 in [0, 1] ([B, H, W, 3] if batch=True).

    uint8 is scaled from [0, 255]; [H, W, 3] gains the batch axis if allow_hwc. Every problem raises `error` naming
    `name`: not numbers, the wrong shape, a batch where one image belongs, a side below min_side, NaN, or values far
    outside [0, 1] (pixels in [0, 255] given as floats).
    """
    try:
        t = tf.convert_to_tensor(value)
    except (TypeError, ValueError) as exc:
        raise error(f"{name} must be an image tensor or array, got {type(value).__name__}") from exc
    if t.dtype == tf.uint8:
        t = tf.cast(t, tf.float32) / 255.0
    elif not t.dtype.is_floating:
        raise error(f"{name} must be float in [0, 1] or uint8 (got dtype {t.dtype.name}); load images with images.load_img")
    t = tf.cast(t, tf.float32)
    if t.shape.rank == 3 and allow_hwc:
        t = t[tf.newaxis]
    layout = "[B, H, W, 3]" if batch else "[1, H, W, 3]"
    if t.shape.rank != 4 or t.shape[-1] != 3:
        raise error(f"{name} must have shape {layout} (RGB), got {list(t.shape)}")
    if not batch and t.shape[0] != 1:
        raise error(f"{name} must have shape {layout}: a batch of {t.shape[0]} images was given; pass one image")
    height, width = t.shape[1], t.shape[2]
    if height is not None and width is not None and min(height, width) < min_side:
        raise error(f"{name}: {width}x{height} px is too small; at least {min_side} px on each side are needed")
    if tf.executing_eagerly() and tf.size(t) > 0:
        if not bool(tf.reduce_all(tf.math.is_finite(t))):
            raise error(f"{name} contains NaN or infinite values")
        low, high = float(tf.reduce_min(t)), float(tf.reduce_max(t))
        if high > 1.5 or low < -0.5:
            raise error(f"{name} has values in [{low:.3g}, {high:.3g}]; images are in [0, 1] (divide by 255, or use images.load_img)")
    return t


def fit(image: tf.Tensor, max_dim: int | None = DEFAULT_MAX_DIM, name: str = "image") -> tf.Tensor:
    """Scale a [1, H, W, 3] image down so its long side is at most max_dim (None: as is), saying so once."""
    height, width = int(image.shape[1]), int(image.shape[2])
    new_h, new_w = _target_size(height, width, max_dim, upscale=False)
    if (new_h, new_w) == (height, width):
        return image
    config.notice(
        "size",
        f"{name}: {width}x{height} px scaled to {new_w}x{new_h} (max_dim={max_dim}; each optimiser step costs about "
        "as much as a VGG19 pass at that size; pass max_dim=None to keep the full size).",
        log=False,
    )
    return clip_0_1(tf.image.resize(image, (new_h, new_w), method="bilinear", antialias=True))


def load_sized(source, max_dim: int | None = DEFAULT_MAX_DIM, name: str = "image") -> tf.Tensor:
    """Load what a reader named at full size, then scale it to max_dim, saying so once; a tf.Tensor keeps the size its caller chose."""
    image = load_img(source, max_dim=None)
    return image if isinstance(source, tf.Tensor) else fit(image, max_dim, name)


def clip_0_1(image: tf.Tensor) -> tf.Tensor:
    """Clip pixel values to [0, 1]."""
    return tf.clip_by_value(image, 0.0, 1.0)


def tensor_to_image(tensor) -> Image.Image:
    """Turn a [1, H, W, 3] or [H, W, 3] float image in [0, 1] into a PIL RGB image."""
    arr = np.asarray(tensor, dtype=np.float32)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {arr.shape[0]}")
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an image of shape [1, H, W, 3] or [H, W, 3], got {np.asarray(tensor).shape}")
    return Image.fromarray(np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8), mode="RGB")


def save_image(image, path) -> Path:
    """Write an image (tensor, array or PIL) atomically to `path`, creating folders; format from the suffix."""
    path = Path(path)
    pil = image if isinstance(image, Image.Image) else tensor_to_image(image)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown image suffix {path.suffix!r}; use .png or .jpg")
    with files.atomic_write(path) as fh:
        pil.save(fh, format=fmt)
    return path


def imshow(image, title: str | None = None, ax=None):
    """Show one [1, H, W, 3] image without axes, with an optional title."""
    import matplotlib.pyplot as plt

    arr = np.asarray(image)
    if arr.ndim == 4:
        arr = arr[0]
    ax = ax or plt.gca()
    ax.imshow(np.clip(arr, 0, 1))
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_images(images, titles=None, ncols: int | None = None, size: float = 3.0, suptitle: str | None = None):
    """Show several images in a grid with titles; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    images = list(images)
    titles = list(titles) if titles is not None else [None] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    shapes = [tuple(getattr(img, "shape", ())) for img in images]
    aspects = [s[-3] / s[-2] for s in shapes if len(s) >= 3 and s[-2]]  # height / width of each image
    row_height = size * min(1.0, max(0.25, max(aspects, default=1.0))) + (0.4 if any(titles) else 0.0)  # wide images: shorter rows
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, row_height * nrows + (0.5 if suptitle else 0.0)), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, img, title in zip(axes.flat, images, titles):
        imshow(img, title, ax=ax)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def example_path(name: str) -> Path:
    """The path of a committed example image by short name (see EXAMPLES)."""
    if name not in EXAMPLES:
        raise KeyError(f"unknown example {name!r}; choose from {', '.join(EXAMPLES)}")
    return config.IMAGES_DIR / EXAMPLES[name][0]


def load_example(name: str, max_dim: int | None = DEFAULT_MAX_DIM) -> tf.Tensor:
    """Load a committed example image by short name (see EXAMPLES) as [1, H, W, 3] in [0, 1]."""
    return load_img(example_path(name), max_dim=max_dim)


def list_examples(kind: str | None = None) -> list[str]:
    """Names of the committed examples, optionally only 'content' or 'style' ones."""
    return [name for name, (_, k, _) in EXAMPLES.items() if kind in (None, k)]


def painting_path(name: str) -> Path:
    """Download a famous public-domain painting into the cache (once) and return its path; falls back offline."""
    if name not in PAINTINGS:
        raise KeyError(f"unknown painting {name!r}; choose from {', '.join(PAINTINGS)}")
    url, stand_in, label = PAINTINGS[name]
    target = config.cache_dir() / "paintings" / f"{name}{Path(url).suffix or '.jpg'}"
    if target.exists():
        try:
            _open_file(target)
            return target
        except ImageLoadError:
            target.unlink(missing_ok=True)  # a broken cached copy: fetch it again
    if config.offline():
        reason = "NST_OFFLINE=1"
    else:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            request = urllib.request.Request(url, headers={"User-Agent": "nst-course/1.0 (educational)"})
            with config.network_timeout(), urllib.request.urlopen(request) as response:
                data = response.read()
            _decode(io.BytesIO(data), url)
            return files.write_atomic(target, data)
        except (OSError, ImageLoadError, ValueError) as exc:
            reason = f"download failed: {exc}"
    config.notice(
        f"painting:{name}",
        f"{label} could not be fetched ({reason}); using the committed stand-in '{stand_in}' instead.",
    )
    return example_path(stand_in)


def download_painting(name: str, max_dim: int | None = DEFAULT_MAX_DIM) -> tf.Tensor:
    """Load a famous painting ('starry_night', 'great_wave', 'kandinsky'), downloaded once and cached."""
    return load_img(painting_path(name), max_dim=max_dim)
