"""Shared machinery for the exercise checks: call the student's function, compare with the reference, explain."""

from __future__ import annotations

import contextlib
import traceback

import numpy as np

#: What a check says when the student's function returns None.
NONE = "returned None: write the function body and `return` the result"


class HelperHidden(RuntimeError):
    """Raised when a student's answer calls the course helper that the exercise asks them to write."""


#: The course's functions hidden by the checks running now (an answer may not be one of them).
_HIDDEN: dict = {}


@contextlib.contextmanager
def hidden(module, *names: str, why: str = "the course's version is hidden while the check runs"):
    """While a check runs, replace module.<name> for each name by a function that raises HelperHidden (saying `why`).

    Handing in the course's function itself as the answer (``check.x(losses.x)``) is refused the same way by `call`.
    """
    saved = {n: getattr(module, n) for n in names}
    short = module.__name__.rsplit(".", 1)[-1]

    def fail_for(name):
        def fail(*args, **kwargs):
            raise HelperHidden(f"calls {short}.{name}; write it yourself ({why})")

        return fail

    try:
        for n in names:
            setattr(module, n, fail_for(n))
            _HIDDEN[id(saved[n])] = f"{short}.{n}"
        yield
    finally:
        for n, fn in saved.items():
            setattr(module, n, fn)
            _HIDDEN.pop(id(fn), None)


def report(name: str, problems: list[str]) -> bool:
    """Print ✓ when `problems` is empty, else ✗ and each problem; return True when there are none."""
    if not problems:
        print(f"✓ {name}: matches the reference.")
        return True
    print(f"✗ {name}: does not match the reference yet.")
    for problem in problems:
        print(f"   - {problem}")
    return False


def call(fn, *args, **kwargs):
    """Call the student's function; return (result, None) or (None, a one-line description of the error)."""
    if id(fn) in _HIDDEN:
        return None, f"is the course's own {_HIDDEN[id(fn)]}; write it yourself (the course's version is hidden while the check runs)"
    try:
        return fn(*args, **kwargs), None
    except HelperHidden as exc:  # the answer called a course function the exercise asks to write: say just that
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - any error in student code is reported, not raised
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"raised {type(exc).__name__}: {exc} (line {frame.lineno} of {frame.filename})"


def compare(got, want, *, rtol: float = 1e-4, atol: float = 1e-6) -> list[str]:
    """Explain how `got` differs from `want` (type, shape, NaN, scale, transpose, values); [] when they agree."""
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        return [f"returned {type(got).__name__}, which is not a tensor or array ({exc})"]
    want_arr = np.asarray(want, dtype=np.float64)
    if got_arr.shape != want_arr.shape:
        hint = ""
        if got_arr.size == want_arr.size:
            hint = " (same number of values: check the axes or a reshape)"
        elif got_arr.ndim == want_arr.ndim - 1:
            hint = " (the batch axis is missing)"
        return [f"shape is {got_arr.shape}, expected {want_arr.shape}{hint}"]
    if not np.all(np.isfinite(got_arr)):
        return ["the result contains NaN or infinite values"]
    if np.allclose(got_arr, want_arr, rtol=rtol, atol=atol):
        return []
    problems = []
    denom = np.sum(want_arr * want_arr)
    if denom > 0 and want_arr.size > 1:  # two single numbers always differ by "some factor": no hint from one pair
        scale = float(np.sum(got_arr * want_arr) / denom)
        if abs(scale) > 1e-12 and np.allclose(got_arr, scale * want_arr, rtol=1e-3, atol=atol):
            problems.append(f"right up to a constant factor: yours is {scale:.6g} x the reference (check the normalisation)")
    if got_arr.ndim >= 2 and got_arr.shape[-1] == got_arr.shape[-2]:
        if np.allclose(np.swapaxes(got_arr, -1, -2), want_arr, rtol=rtol, atol=atol):
            problems.append("it is the transpose of the reference (check the einsum/matmul axes)")
    if not problems:
        err = np.max(np.abs(got_arr - want_arr))
        if want_arr.size == 1:
            problems.append(f"the value differs from the reference by {err:.4g}")
        else:
            span = f"{want_arr.min():.4g} to {want_arr.max():.4g}"
            problems.append(f"values differ: largest absolute difference {err:.4g} (reference values range {span})")
    return problems


def constant_factor(pairs, rtol: float = 1e-3) -> float | None:
    """If got == k * want for one k across all (got, want) pairs of scalars (two or more with want != 0), return k, else None."""
    if any(float(w) == 0.0 and abs(float(g)) > 1e-12 for g, w in pairs):
        return None  # non-zero where the reference is zero: no factor explains that
    ratios = [float(g) / float(w) for g, w in pairs if float(w) != 0.0]
    if len(ratios) < 2 or any(not np.isfinite(r) for r in ratios):
        return None
    k = float(np.median(ratios))
    if abs(k) < 1e-9 or abs(k - 1.0) < rtol or not all(np.isclose(r, k, rtol=rtol) for r in ratios):
        return None  # zero everywhere is a missing answer, not a normalisation slip
    return k


def scalar(value, how: str):
    """(float, None) for a single number, else (None, the problem; `how` says how to reduce a tensor to one number)."""
    if value is None:
        return None, NONE
    try:
        arr = np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - any unconvertible return value is reported
        return None, f"returned {type(value).__name__}, which is not a number or tensor"
    if arr.size != 1:
        return None, f"returned shape {arr.shape}; the loss must be one number ({how})"
    return float(arr.reshape(())), None
