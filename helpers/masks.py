"""Masks for spatial control (Gatys, Ecker, Bethge, Hertzmann & Shechtman 2017): load or make one, check it, and
carry it down to every VGG19 layer.

A mask is a ``[1, H, W, 1]`` float32 tensor in [0, 1]: 1 inside a region, 0 outside, grey on a soft edge. It comes from

* a built-in shape (``BUILTINS``): ``"left"``, ``"right"``, ``"top"``, ``"bottom"`` (half of the picture, split by a
  vertical or horizontal line through the middle) or ``"ellipse"`` (the ellipse inscribed in the picture);
* ``"auto"``: the mask painted for a committed example (``EXAMPLE_MASKS``, e.g. the astronaut's person), or the
  ellipse for any other picture;
* a grey or black-and-white image file of any size (white = inside), drawn over the content photo: it is resized to
  the photo, so it must have the photo's shape (aspect ratio);
* an array or tensor ``[H, W]``, ``[H, W, 1]`` or ``[1, H, W, 1]``: bool, uint8 (0-255) or float in [0, 1].

A layer of VGG19 sees the image at a lower resolution, so a region's mask is carried to each layer (``layer_masks``)
in one of the two ways the paper compares (``MODES``):

* ``"simple"``: the mask resized to the layer's size (each value is the share of that neuron's patch of the image
  that lies in the region);
* ``"inside"``: only the neurons whose whole receptive field lies inside the region (the mask thresholded at 0.5 and
  eroded by VGG19's own 3x3 convolutions and 2x2 poolings), so no neuron that also sees the neighbouring region
  counts for either.

Every problem raises ``MaskError`` naming the mask and the reason.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from helpers import config, images, validate, vgg

#: The ways of carrying a mask to a layer's resolution (see the module docstring).
MODES = ("simple", "inside")
#: Built-in shapes by name.
BUILTINS = ("left", "right", "top", "bottom", "ellipse")
#: The name that picks a committed example's own mask, or the ellipse for any other picture.
AUTO = "auto"
#: Masks painted for committed examples (files under images/), by example name.
EXAMPLE_MASKS = {"astronaut": "masks/astronaut_person.png"}
#: Smallest side, in pixels, of a mask given as a file or an array.
MIN_SIDE = 8
#: How far (relative) a mask's aspect ratio may be from the photo's before it is refused.
ASPECT_TOLERANCE = 0.05
#: Threshold that makes a mask black and white for the "inside" mode.
INSIDE_THRESHOLD = 0.5


class MaskError(ValueError):
    """A mask that cannot be used; the message names the mask and the reason."""


# ----------------------------------------------------------------------------------------------- making masks


def builtin(name: str, size: tuple[int, int]) -> tf.Tensor:
    """A built-in shape ('left', 'right', 'top', 'bottom', 'ellipse') of size (H, W) -> [1, H, W, 1] float32 in {0, 1}."""
    height, width = _check_size(size)
    name = validate.choice("mask", name, BUILTINS, error=MaskError, fold_case=True,
                           todo=f"use a built-in shape ({', '.join(BUILTINS)}), {AUTO!r}, an image file or an array")
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    yy, xx = (yy + 0.5) / height, (xx + 0.5) / width  # pixel centres in (0, 1)
    shapes = {
        "left": xx < 0.5,
        "right": xx >= 0.5,
        "top": yy < 0.5,
        "bottom": yy >= 0.5,
        "ellipse": ((xx - 0.5) / 0.5) ** 2 + ((yy - 0.5) / 0.5) ** 2 <= 1.0,
    }
    return tf.constant(shapes[name][None, :, :, None].astype(np.float32))


def invert(mask, name: str = "mask") -> tf.Tensor:
    """The complement 1 - mask of a [1, H, W, 1] mask: the rest of the picture (MaskError if the mask covers all of it)."""
    mask = check_mask(mask, name)
    if float(tf.reduce_min(mask)) >= 1.0:
        raise MaskError(f"{name}: covers the whole picture (every value is 1), so the rest of the picture is empty; "
                        "paint black where the style should go, or use the mask itself instead of its complement")
    return 1.0 - mask


def example_mask_path(name: str) -> Path:
    """The committed mask file of example `name` (see EXAMPLE_MASKS)."""
    if name not in EXAMPLE_MASKS:
        raise MaskError(f"mask {AUTO!r}: example {name!r} has no painted mask; examples with one: {', '.join(EXAMPLE_MASKS)}")
    return config.IMAGES_DIR / EXAMPLE_MASKS[name]


# ----------------------------------------------------------------------------------------------- loading masks


def _check_size(size) -> tuple[int, int]:
    """A mask's size (H, W): two whole numbers >= 1, else MaskError naming size."""
    if not isinstance(size, (tuple, list)) and not (hasattr(size, "__len__") and not isinstance(size, str)):
        raise validate.refuse("size", size, "not a size", "pass (height, width), e.g. image.shape[1:3]", MaskError)
    if len(size) != 2:
        raise validate.refuse("size", tuple(size), f"{len(size)} numbers", "pass (height, width), e.g. image.shape[1:3]", MaskError)
    return tuple(validate.number(f"size[{i}]", int(s) if hasattr(s, "__index__") and not isinstance(s, bool) else s, low=1,
                                 integer=True, error=MaskError) for i, s in enumerate(size))


def _label(source, name: str | None) -> str:
    """How an error names the mask: the caller's name, else the file, shape or 'array'."""
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return "mask array"


def _array_to_mask(value, label: str) -> np.ndarray:
    """An array or tensor -> float32 [H, W] in [0, 1]; MaskError for a wrong dtype, shape or range."""
    arr = np.asarray(value)
    if arr.ndim == 4 and arr.shape[0] == 1 and arr.shape[-1] == 1:
        arr = arr[0, :, :, 0]
    elif arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        hint = " (it looks like a colour image: a mask has one grey channel)" if arr.ndim in (3, 4) and arr.shape[-1] in (3, 4) else ""
        raise MaskError(f"{label}: shape {tuple(np.shape(value))} is not a mask; use [H, W], [H, W, 1] or [1, H, W, 1]{hint}")
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise MaskError(f"{label}: integer mask ({arr.dtype}) with values in [{arr.min()}, {arr.max()}]; "
                            "use 0/1, bool, uint8 (0-255) or floats in [0, 1]")
        return arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.floating):
        raise MaskError(f"{label}: dtype {arr.dtype} is not a mask; use bool, uint8 (0-255) or floats in [0, 1]")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise MaskError(f"{label}: contains NaN or infinite values")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise MaskError(f"{label}: values lie in [{arr.min():.3g}, {arr.max():.3g}]; a mask is in [0, 1] (divide 0-255 values by 255)")
    return arr


def _read_file(path: Path, label: str) -> np.ndarray:
    """A mask image file -> float32 [H, W] in [0, 1] (grey value; a colour file is averaged over R, G, B)."""
    try:
        rgb = images.load_img(path, max_dim=None, min_side=1)  # any format load_img reads, EXIF rotation honoured
    except images.ImageLoadError as exc:
        raise MaskError(f"{label}: {exc}") from exc
    return np.asarray(tf.reduce_mean(rgb, axis=-1))[0]


def load_mask(source, size: tuple[int, int], *, name: str | None = None, content=None) -> tf.Tensor:
    """A mask (built-in name, 'auto', file, PIL image or array) resized to size (H, W) -> [1, H, W, 1] float32 in [0, 1].

    'auto' needs `content` (what the reader named as the photo): the example's painted mask, else the ellipse.
    """
    height, width = _check_size(size)
    label = _label(source, name)
    if isinstance(source, str) and not Path(source).expanduser().exists():
        key = source.strip().lower()
        if key == AUTO:
            if isinstance(content, str) and content in EXAMPLE_MASKS:
                return load_mask(example_mask_path(content), size, name=f"{label} ({content}'s painted mask)")
            return builtin("ellipse", size)
        if key in BUILTINS:
            return _covering(builtin(key, size), label, source)
        if not Path(source).suffix and "/" not in source and os.sep not in source:
            close = difflib.get_close_matches(key, [*BUILTINS, AUTO], n=2, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise MaskError(f"mask {source!r}: unknown name and no such file; use a built-in ({', '.join(BUILTINS)}), "
                            f"{AUTO!r}, or the path of a grey image file.{hint}")
    if isinstance(source, (str, os.PathLike)):
        arr = _read_file(Path(source).expanduser(), label)
    elif isinstance(source, Image.Image):
        arr = np.asarray(source.convert("L"), np.float32) / 255.0
    elif source is None:
        raise MaskError(f"{label}: no mask given (None)")
    else:
        try:
            arr = _array_to_mask(source, label)
        except MaskError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything np.asarray cannot read is reported by name
            raise MaskError(f"{label}: {type(source).__name__} is not a mask ({exc})") from exc
    return _covering(_fit(arr, (height, width), label), label, source)


def _covering(mask: tf.Tensor, label: str, source) -> tf.Tensor:
    """The mask, if it covers something; else MaskError naming it (an all-black file or array, a shape too small for the size)."""
    if float(tf.reduce_sum(mask)) <= 0.0:
        what = "it is black everywhere" if not isinstance(source, str) or Path(source).suffix else "at this size it holds no pixel"
        raise MaskError(f"{label}: covers nothing ({what}); paint white where the region is (white = inside, black = outside)")
    return mask


def _fit(arr: np.ndarray, size: tuple[int, int], label: str) -> tf.Tensor:
    """An [h, w] mask resized to size (H, W) as [1, H, W, 1], after checking its size and shape."""
    h, w = arr.shape
    height, width = size
    if min(h, w) < MIN_SIDE:
        raise MaskError(f"{label}: {w}x{h} px is too thin to resize to the {width}x{height} image; "
                        f"a mask needs at least {MIN_SIDE} px on each side")
    mask_aspect, image_aspect = w / h, width / height
    if abs(mask_aspect / image_aspect - 1.0) > ASPECT_TOLERANCE:
        raise MaskError(f"{label}: {w}x{h} px (aspect {mask_aspect:.2f}) does not have the shape of the {width}x{height} image "
                        f"(aspect {image_aspect:.2f}); draw the mask over the photo itself (any size, same shape)")
    return resize(tf.constant(arr[None, :, :, None]), (height, width))


def check_mask(mask, name: str = "mask") -> tf.Tensor:
    """Check a [1, H, W, 1] mask in [0, 1] covers something; return it as float32 (MaskError names `name`)."""
    try:
        mask = tf.convert_to_tensor(mask, tf.float32)
    except (TypeError, ValueError) as exc:
        raise MaskError(f"{name}: not a tensor or array ({exc})") from exc
    if mask.shape.rank != 4 or mask.shape[0] != 1 or mask.shape[-1] != 1:
        raise MaskError(f"{name}: shape {list(mask.shape)}; expected [1, H, W, 1] (masks.load_mask returns that)")
    if not bool(tf.reduce_all(tf.math.is_finite(mask))):
        raise MaskError(f"{name}: contains NaN or infinite values")
    low, high = float(tf.reduce_min(mask)), float(tf.reduce_max(mask))
    if low < 0.0 or high > 1.0:
        raise MaskError(f"{name}: values lie in [{low:.3g}, {high:.3g}]; a mask is in [0, 1]")
    if float(tf.reduce_sum(mask)) <= 0.0:
        raise MaskError(f"{name}: covers nothing (every value is 0, so its sum is 0); a region needs at least one pixel above 0")
    return mask


# ----------------------------------------------------------------------------------------------- per layer


def layer_sizes(size: tuple[int, int], layers) -> dict:
    """{layer: (h, w)} of VGG19's feature maps for an image of size (H, W): 3x3 convolutions keep it, 2x2 poolings halve it."""
    layers = vgg.check_layers(layers)
    height, width = (int(s) for s in size)
    sizes = {}
    for layer in vgg.ALL_LAYERS[: max(vgg.ALL_LAYERS.index(n) for n in layers) + 1]:
        if layer.endswith("_pool"):
            height, width = height // 2, width // 2
        sizes[layer] = (height, width)
    return {n: sizes[n] for n in layers}


def receptive_field(layer: str) -> int:
    """The side, in image pixels, of the patch one neuron of VGG19 `layer` sees (3x3 convolutions, 2x2 poolings)."""
    (layer,) = vgg.check_layers([layer])
    side, step = 1, 1
    for name in vgg.ALL_LAYERS[: vgg.ALL_LAYERS.index(layer) + 1]:
        if name.endswith("_pool"):
            side, step = side + step, step * 2
        else:
            side += 2 * step
    return side


def _inside(mask: tf.Tensor, layers) -> dict:
    """The 'inside' masks: 1 where a neuron's whole receptive field lies in the region (threshold, then erode layer by layer)."""
    outside = tf.cast(mask < INSIDE_THRESHOLD, tf.float32)
    wanted, found = set(layers), {}
    for name in vgg.ALL_LAYERS[: max(vgg.ALL_LAYERS.index(n) for n in layers) + 1]:
        if name.endswith("_pool"):  # a pooled neuron sees the 2x2 neurons under it
            outside = tf.nn.max_pool2d(outside, ksize=2, strides=2, padding="VALID")
        else:  # a 3x3 convolution: each neuron sees its 3x3 neighbours (zero padding is not "outside")
            outside = tf.nn.max_pool2d(outside, ksize=3, strides=1, padding="SAME")
        if name in wanted:
            found[name] = 1.0 - outside
    return found


def layer_masks(mask, layers, mode: str = "simple", name: str = "mask") -> dict:
    """{layer: [1, h, w, 1]}: a [1, H, W, 1] mask carried to each VGG19 layer's size by `mode` ('simple' or 'inside').

    The 'inside' erosion can leave a narrow region empty at the deep layers (see empty_layers): the region then has no
    style term there. A region that no layer keeps raises MaskError.
    """
    mode = validate.choice("mode", mode, MODES, error=MaskError, fold_case=True,
                           todo=f"use one of {', '.join(MODES)} (how {name} reaches each layer)")
    mask = check_mask(mask, name)
    layers = vgg.check_layers(layers)
    size = tuple(int(s) for s in mask.shape[1:3])
    sizes = layer_sizes(size, layers)
    for layer in layers:
        h, w = sizes[layer]
        if min(h, w) < 1:
            raise MaskError(f"{name}: the image ({size[1]}x{size[0]} px) is too small for {layer}, whose map would be {w}x{h}")
    result = _inside(mask, layers) if mode == "inside" else {n: resize(mask, sizes[n]) for n in layers}
    if len(empty_layers(result)) == len(layers):
        shallowest = min(layers, key=vgg.ALL_LAYERS.index)
        raise MaskError(f"{name}: covers nothing at any style layer after the 'inside' erosion: the region is narrower than the "
                        f"receptive field of {shallowest} ({receptive_field(shallowest)} px); use mode='simple' or a larger region")
    return result


def empty_layers(layer_mask_dict: dict) -> list:
    """The layers at which a region's mask is all zero (the 'inside' erosion removed it): no style term there."""
    return [n for n, m in layer_mask_dict.items() if float(tf.reduce_sum(m)) <= 0.0]


def shares(layer_mask_dict: dict) -> dict:
    """{layer: mean of the mask}: the share of each layer's map a region covers."""
    return {n: float(tf.reduce_mean(m)) for n, m in layer_mask_dict.items()}


def composite(foreground, background, mask) -> tf.Tensor:
    """Paste by the mask: mask * foreground + (1 - mask) * background, images [1, H, W, 3] and mask [1, H, W, 1]."""
    mask = tf.convert_to_tensor(mask, tf.float32)
    fg, bg = tf.convert_to_tensor(foreground, tf.float32), tf.convert_to_tensor(background, tf.float32)
    if fg.shape != bg.shape or tuple(mask.shape[1:3]) != tuple(fg.shape[1:3]):
        raise MaskError(f"composite: images {list(fg.shape)} and {list(bg.shape)} and mask {list(mask.shape)} differ in size")
    return mask * fg + (1.0 - mask) * bg


def resize(mask, size: tuple[int, int]) -> tf.Tensor:
    """A [1, H, W, 1] mask resized to size (h, w): area averaging down, bilinear up; clipped to [0, 1]."""
    mask = tf.convert_to_tensor(mask, tf.float32)
    size = tuple(int(s) for s in size)
    if tuple(mask.shape[1:3]) == size:
        return mask
    method = "area" if mask.shape[1] >= size[0] and mask.shape[2] >= size[1] else "bilinear"
    return tf.clip_by_value(tf.image.resize(mask, size, method=method), 0.0, 1.0)


def for_styles(masks, sizes, *, what: str = "masks", content=None, layers=None, mode: str = "simple") -> list:
    """One mask per style, masks[i] loaded at sizes[i] (H, W) -> list of [1, H, W, 1] (None stays None); MaskError names masks[i].

    A single mask (not a list or tuple) is accepted when there is one style. With `layers`, each mask must also cover
    something at every one of those VGG19 layers when carried there by `mode`.
    """
    count = len(sizes)
    if not isinstance(masks, (list, tuple)):
        if count != 1:
            raise MaskError(f"{what}: one mask given for {count} styles; give a list with one mask per style")
        masks = [masks]
    if len(masks) != count:
        raise MaskError(f"{what}: {len(masks)} mask(s) given for {count} style(s); give exactly one per style (None for the whole image)")
    found = []
    for i, (source, size) in enumerate(zip(masks, sizes)):
        name = f"{what}[{i}]" + (f" ({source})" if isinstance(source, (str, os.PathLike)) else "")
        if source is None:
            found.append(None)
            continue
        mask = check_mask(load_mask(source, size, name=name, content=content), name)
        if layers is not None:
            gone = empty_layers(layer_masks(mask, layers, mode, name))
            if gone:
                config.notice("masks", f"{name}: the 'inside' erosion leaves nothing of this region at "
                              f"{', '.join(gone)} (receptive field {', '.join(f'{receptive_field(n)} px' for n in gone)}), so the "
                              "region has no style term there", log=False)
        found.append(mask)
    return found


def boundary(mask, width: int = 2) -> tf.Tensor:
    """The band of pixels within `width` px of a [1, H, W, 1] mask's edge (where it crosses 0.5) -> [1, H, W, 1] in {0, 1}."""
    inside = tf.cast(tf.convert_to_tensor(mask, tf.float32) >= INSIDE_THRESHOLD, tf.float32)
    size = 2 * int(width) + 1
    grown = tf.nn.max_pool2d(inside, ksize=size, strides=1, padding="SAME")
    shrunk = 1.0 - tf.nn.max_pool2d(1.0 - inside, ksize=size, strides=1, padding="SAME")
    return grown - shrunk
