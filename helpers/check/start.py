"""Exercise checks for notebook 00 (getting started)."""

from __future__ import annotations

import numpy as np

from helpers.check._common import report

__all__ = ["image_tensor"]


def image_tensor(image, max_dim: int | None = None, source=None, source_shape: tuple | None = None) -> bool:
    """Check that `image` is what the course's functions expect: [1, H, W, 3] float32 in [0, 1], long side <= max_dim;
    with `source` (a name, path or array), also that it is images.load_img(source, max_dim=max_dim); with
    `source_shape`, also that `source` is a uint8 array of that shape."""
    if source_shape is not None:
        if source is None:
            return report("image_tensor", ["the array is still None: replace None in the cell with your code"])
        if np.shape(source) != tuple(source_shape) or getattr(source, "dtype", None) != np.uint8:
            return report("image_tensor", [f"the array is {type(source).__name__} of shape {np.shape(source)} and dtype "
                                           f"{getattr(source, 'dtype', 'none')}; the exercise asks for shape {tuple(source_shape)} and "
                                           "dtype uint8 (np.random.default_rng(0).integers(0, 256, size=..., dtype=np.uint8))"])
    if image is None:
        return report("image_tensor", ["the answer is still None: replace None in the cell with your code"])
    problems = []
    shape = tuple(getattr(image, "shape", ()))
    dtype = str(getattr(image, "dtype", type(image).__name__))
    if len(shape) != 4 or shape[0] != 1 or shape[-1] != 3:
        problems.append(f"shape is {shape}, expected (1, H, W, 3): one image, height, width, RGB")
    if "float32" not in dtype:
        problems.append(f"dtype is {dtype}, expected float32 (images.load_img converts for you)")
    if not problems:
        arr = np.asarray(image)
        if arr.min() < 0 or arr.max() > 1:
            problems.append(f"values range from {arr.min():.3g} to {arr.max():.3g}, expected [0, 1] (divide uint8 by 255)")
        if max_dim is not None and max(shape[1:3]) > max_dim:
            problems.append(f"the long side is {max(shape[1:3])} px, more than max_dim={max_dim}")
    if not problems and source is not None:
        from helpers import images

        reference = images.load_img(source, max_dim=max_dim) if max_dim is not None else images.load_img(source)
        if tuple(reference.shape) != shape:
            problems.append(f"shape is {shape}, but load_img of that source with max_dim={max_dim} gives {tuple(reference.shape)}: "
                            "was max_dim passed, and the same one?")
        elif not np.allclose(np.asarray(image), np.asarray(reference), atol=1e-3):
            problems.append("the shape is right but the pixels differ from load_img's: another image, or changed after loading "
                            "(channels reversed, flipped, scaled)?")
    return report("image_tensor", problems)
