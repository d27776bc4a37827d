"""Checking the arguments of a public function: each refusal names the argument and its value, says why, and what to do.

    steps = validate.number("steps", steps, low=1, integer=True, error=TransferError)
    shape = validate.choice("shape", "Elipse", BUILTINS, error=MaskError, fold_case=True)   # "Did you mean 'ellipse'?"

A refusal reads ``NAME = VALUE: why; what to do``. A string that spells a number ("1e4") is refused, not converted,
and so is a bool (True is not a count of steps): a value is used as given or not at all.
"""

from __future__ import annotations

import difflib
import math
import numbers
from pathlib import Path

import numpy as np


class ArgumentError(ValueError):
    """A bad argument; the message reads 'NAME = VALUE: why; what to do'."""

    #: Raised while tf.function traces (a check of a static shape), the error reaches the caller as itself, not wrapped
    #: in AutoGraph's StagingError: AutoGraph leaves exceptions with this attribute alone.
    ag_pass_through = True


def show(value, limit: int = 60) -> str:
    """A short repr of `value` for a message (long ones cut with '...')."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"<array {value.dtype} of shape {list(value.shape)}>"
    if _is_tensor(value):
        shape = getattr(value.shape, "as_list", lambda: None)() if getattr(value.shape, "rank", 0) is not None else None
        return f"<tensor {getattr(value.dtype, 'name', value.dtype)} of shape {'unknown' if shape is None else shape}>"
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) or _is_tensor(v) for v in value):  # each image by its shape
        inner = ", ".join(show(v, limit) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
        return text if len(text) <= 2 * limit else text[: 2 * limit - 3] + "..."
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def refuse(name: str, value, why: str, todo: str, error: type[Exception] = ArgumentError) -> Exception:
    """The error (of class `error`) for a refused argument: 'NAME = VALUE: why; todo' (raise it)."""
    return error(f"{name} = {show(value)}: {why}; {todo}")


def _bounds(low, high, low_open: bool, high_open: bool) -> str:
    """'>= 1', '> 0', 'in (0, 1]' ...: the range a number must lie in, in words."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return "finite"


def number(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False, integer: bool = False,
           error: type[Exception] = ArgumentError, todo: str = ""):
    """`value` as an int (integer=True) or float if it is a finite number in the range, else `error` naming `name`."""
    kind = "a whole number" if integer else "a number"
    wanted = f"{kind} {_bounds(low, high, low_open, high_open)}".replace(" finite", "")
    todo = todo or f"pass {wanted}"
    if isinstance(value, (bool, np.bool_)):
        raise refuse(name, value, f"a bool is not {kind}", todo, error)
    if isinstance(value, (str, bytes)):
        try:
            spelled = float(value)
        except ValueError:
            raise refuse(name, value, f"a string, not {kind}", todo, error) from None
        hint = str(value).strip() if not integer or spelled.is_integer() else "a whole number"
        raise refuse(name, value, f"a string, not {kind}", f"pass the number itself: {name}={hint}", error)
    if integer:
        if isinstance(value, (numbers.Integral, np.integer)):
            result = int(value)
        elif isinstance(value, (numbers.Real, np.floating)) and math.isfinite(float(value)) and float(value).is_integer():
            raise refuse(name, value, f"a float, not {kind}", f"pass {name}={int(value)}", error)
        else:
            raise refuse(name, value, f"not {kind}", todo, error)
    else:
        if not isinstance(value, (numbers.Real, np.number)):
            try:
                as_array = np.asarray(value)
            except Exception:  # noqa: BLE001 - whatever cannot become an array is not a number
                as_array = np.asarray(None)
            if as_array.ndim != 0 or as_array.dtype.kind not in "iuf":
                raise refuse(name, value, f"not {kind} ({type(value).__name__})", todo, error)
            value = as_array.item()
        result = float(value)
        if not math.isfinite(result):
            raise refuse(name, value, "not a finite number", todo, error)
    too_low = low is not None and (result <= low if low_open else result < low)
    too_high = high is not None and (result >= high if high_open else result > high)
    if too_low or too_high:
        raise refuse(name, value, f"must be {_bounds(low, high, low_open, high_open)}", todo, error)
    return result


def optional_number(name: str, value, **kwargs):
    """None, or `value` checked by `number` (same keywords)."""
    return None if value is None else number(name, value, **kwargs)


def choice(name: str, value, options, *, error: type[Exception] = ArgumentError, fold_case: bool = False, todo: str = ""):
    """`value` if it is one of `options` (matched case-insensitively with fold_case; the option is returned), else
    `error` naming `name` with the options and a 'Did you mean' for a near miss."""
    options = list(options)
    if value in options:
        return value
    if fold_case and isinstance(value, str):
        folded = {str(o).lower(): o for o in options}
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in folded:
            return folded[key]
    names = [str(o) for o in options]
    close = difflib.get_close_matches(str(value).strip().lower(), names, n=2, cutoff=0.6) if isinstance(value, str) else []
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise refuse(name, value, f"unknown {name}", (todo or f"use one of {', '.join(names)}") + "." + hint, error)


def writable_path(name: str, path, error: type[Exception] = ArgumentError) -> Path:
    """`path` (~ expanded) if a file can be created there: no folder on the way is a file, and `path` is not a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise refuse(name, str(path), "is a folder", "give the name of a file inside it", error)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise refuse(name, str(path), f"{parent} is a file, not a folder, so nothing can be written under it",
                             "choose another folder, or move that file away", error)
            break
    return path


def folder_path(name: str, path, error: type[Exception] = ArgumentError) -> Path:
    """`path` (~ expanded) if it is a folder or can become one: neither it nor a folder above it is a file."""
    if not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
        raise refuse(name, path, "not a path", "pass the path of a folder, e.g. 'build/out'", error)
    folder = Path(path).expanduser()
    for step in (folder, *folder.parents):
        if step.exists():
            if not step.is_dir():
                raise refuse(name, str(path), f"{step} is a file, not a folder", "choose another folder, or move that file away", error)
            break
    return folder


def _is_tensor(value) -> bool:
    """A TensorFlow tensor or variable (told by duck typing, so this module needs no TensorFlow)."""
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "shape") and hasattr(value, "dtype")


def array(name: str, value, *, rank=None, layout: str = "", floating: bool = False, finite: bool = True,
          error: type[Exception] = ArgumentError):
    """`value` (a tensor, array or nested list) if it is numeric with the given rank, else `error` naming `name`.

    Everything checked is static: the rank and the dtype, and, for a value that is not a tensor (an array or a list,
    what a reader passes), that every entry is finite. A tensor is returned as it is and a NumPy array as a NumPy array
    (float64 stays float64), so the check costs nothing inside tf.function and adds no step to a graph; a tensor's values
    are not read (NaN in a tensor gives a NaN loss, which the optimisers report as 'the loss became non-finite').
    `rank` is an int or a tuple of allowed ranks; `layout` names the axes in messages ("[B, H, W, C]").
    """
    ranks = (rank,) if isinstance(rank, int) else rank
    want = layout or (f"rank {' or '.join(str(r) for r in ranks)}" if ranks else "numbers")
    if value is None or isinstance(value, (str, bytes, bool, dict, np.bool_)):
        raise refuse(name, value, f"not an array of numbers ({type(value).__name__})", f"pass a tensor or array {want}", error)
    if _is_tensor(value):
        dtype = value.dtype
        kind = "f" if dtype.is_floating else "i" if dtype.is_integer else "b" if dtype.is_bool else "c" if dtype.is_complex else "O"
        shape = value.shape
        known_rank = shape.rank
    else:
        try:
            as_array = np.asarray(value)
        except Exception:  # noqa: BLE001 - ragged lists and the like: not an array of numbers
            raise refuse(name, value, "not an array of numbers (ragged or mixed)", f"pass a tensor or array {want}", error) from None
        kind, known_rank = as_array.dtype.kind, as_array.ndim
        if kind in "fiu":
            value = as_array
    if kind not in ("f" if floating else "fiu"):
        what = "not floats" if kind in "iu" else "not numbers"
        todo = "cast them first: tf.cast(x, tf.float32)" if kind in "iub" else f"pass a tensor or array {want}"
        raise refuse(name, value, f"{getattr(getattr(value, 'dtype', None), 'name', None) or type(value).__name__} values, {what}", todo, error)
    if ranks and known_rank is not None and known_rank not in ranks:
        raise refuse(name, value, f"rank {known_rank}, not {' or '.join(str(r) for r in ranks)}", f"pass {want}", error)
    if finite and isinstance(value, np.ndarray) and kind == "f" and not np.isfinite(value).all():
        bad = int(np.size(value) - np.isfinite(value).sum())
        raise refuse(name, value, f"{bad} of its {value.size} values are NaN or infinite", "find where they came from and pass finite values", error)
    return value


def flag(name: str, value, error: type[Exception] = ArgumentError) -> bool:
    """`value` if it is True or False (NumPy's bools too), else `error`: 'False' and 0 are not read as switches."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise refuse(name, value, "not True or False", f"pass {name}=True or {name}=False", error)
