"""Properties of the public functions under generated input: each call is either accepted with a valid result, or
refused with the course's error naming the argument. Nothing in between, and nothing half-written on disk.

The examples come from a fixed seed and count (the "ci" profile in conftest.py); HYPOTHESIS_PROFILE=explore tries more.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from helpers import distributed, images, masks, optimize, validate, video

# --------------------------------------------------------------------------------------------- generated values

#: Anything a student might pass where a number belongs: numbers in and out of range, NaN, bools, spelled numbers, junk.
loose_numbers = st.one_of(
    st.integers(-10, 10_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["10", "1e4", " 3 ", "ten", "", "nan"]),
    st.none(),
    st.lists(st.integers(0, 5), max_size=2),
    st.sampled_from([np.int64(4), np.float32(0.5), np.float64(-1.0)]),
)


def _is_real(value) -> bool:
    """A real number, not a bool (what validate.number reads)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_whole(value) -> bool:
    """An int (not a bool, not a float with a whole value)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@st.composite
def image_arrays(draw, max_side: int = 48):
    """Arrays a student might call an image: 1..max_side px sides, 1-4 channels, uint8 or float, in or out of [0, 1], NaN."""
    height, width = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64]))
    if dtype is np.uint8:
        return draw(hnp.arrays(np.uint8, shape))
    low, high = draw(st.sampled_from([(0.0, 1.0), (0.0, 255.0), (-1.0, 2.0)]))
    arr = draw(hnp.arrays(dtype, shape, elements=st.floats(low, high, width=32)))
    if draw(st.booleans()) and arr.size:
        arr = arr.copy()
        arr.flat[draw(st.integers(0, arr.size - 1))] = np.nan
    return arr


def _refused_naming(error: type[Exception], name: str, call):
    """Call `call`; it must raise `error` whose message names `name`. Returns the message."""
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), f"{name!r} not in {str(info.value)!r}"
    return str(info.value)


# --------------------------------------------------------------------------------------------- validate


@given(value=loose_numbers, low=st.sampled_from([None, 0, 1]), integer=st.booleans())
def test_a_number_is_used_as_given_or_refused_by_name(value, low, integer):
    valid = (_is_whole(value) if integer else _is_real(value) and math.isfinite(float(value))) and (low is None or value >= low)
    if valid:
        result = validate.number("knob", value, low=low, integer=integer)
        assert result == value and type(result) is (int if integer else float)
    else:
        message = _refused_naming(validate.ArgumentError, "knob = ", lambda: validate.number("knob", value, low=low, integer=integer))
        assert "; " in message  # why; what to do


@given(word=st.sampled_from(masks.BUILTINS), case=st.sampled_from([str.lower, str.upper, str.title]), typo=st.booleans())
def test_a_choice_matches_in_any_case_and_suggests_a_near_miss(word, case, typo):
    spelled = case(word[:-1] if typo else word)
    if typo:
        message = _refused_naming(validate.ArgumentError, "shape = ", lambda: validate.choice("shape", spelled, masks.BUILTINS, fold_case=True))
        assert f"Did you mean {word!r}" in message or "Did you mean" in message
    else:
        assert validate.choice("shape", spelled, masks.BUILTINS, fold_case=True) == word


# --------------------------------------------------------------------------------------------- images


@given(arr=image_arrays())
def test_an_image_array_is_loaded_valid_or_refused_by_name(arr):
    bad_float = arr.dtype != np.uint8 and (np.isnan(arr).any() or arr.min() < 0 or arr.max() > 1)
    bad_shape = arr.ndim == 3 and arr.shape[-1] == 2
    too_small = min(arr.shape[:2]) < images.MIN_SIDE
    if bad_float or bad_shape or too_small:
        message = _refused_naming(images.ImageLoadError, "<array>", lambda: images.load_img(arr, max_dim=None))
        assert "clip" not in message
        return
    image = images.load_img(arr, max_dim=None).numpy()
    assert image.shape == (1, *arr.shape[:2], 3) and image.dtype == np.float32
    assert np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0


@given(arr=image_arrays(max_side=40))
def test_check_image_returns_a_valid_batch_or_names_the_argument(arr):
    try:
        image = images.check_image(arr, "photo")
    except images.ImageLoadError as exc:
        assert str(exc).startswith("photo")
        return
    assert image.shape[0] == 1 and image.shape[-1] == 3 and image.dtype == tf.float32
    assert bool(tf.reduce_all(tf.math.is_finite(image)))


@given(keep=st.floats(0.2, 0.95), fmt=st.sampled_from(["JPEG", "PNG"]))
def test_a_truncated_file_is_named_with_how_much_is_there(tmp_path_factory, keep, fmt):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("cut") / f"cut.{fmt.lower()}"
    Image.fromarray((rng.random((64, 48, 3)) * 255).astype(np.uint8)).save(path, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: max(64, int(len(data) * keep))])
    message = _refused_naming(images.ImageLoadError, str(path), lambda: images.load_img(path))
    assert "bytes not processed" not in message and ("rows" in message or "ends early" in message or "truncated" in message)


# --------------------------------------------------------------------------------------------- masks


@st.composite
def mask_arrays(draw):
    """Masks: empty, full, grey, random; bool, uint8, float (in or out of [0, 1], NaN); the right or a wrong shape."""
    side = draw(st.integers(1, 40))
    shape = draw(st.sampled_from([(side, side), (side, side, 1), (1, side, side, 1), (side, side, 3), (side, 2 * side + 3)]))
    fill = draw(st.sampled_from(["empty", "full", "grey", "random", "out of range", "nan"]))
    dtype = draw(st.sampled_from([np.bool_, np.uint8, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = {"empty": np.zeros(shape), "full": np.ones(shape), "grey": np.full(shape, 0.5), "random": rng.random(shape),
              "out of range": rng.random(shape) * 3 - 1, "nan": np.full(shape, np.nan)}[fill]
    if dtype is np.bool_:
        return np.nan_to_num(values) > 0.5
    if dtype is np.uint8:
        return np.round(np.clip(np.nan_to_num(values), 0, 1) * 255).astype(np.uint8)
    return values.astype(np.float32)


@given(arr=mask_arrays())
def test_a_mask_is_loaded_valid_or_refused_by_name(arr):
    try:
        mask = masks.load_mask(arr, (40, 40), name="MASK")
    except masks.MaskError as exc:
        assert str(exc).startswith("MASK"), str(exc)
        return
    values = mask.numpy()
    assert values.shape == (1, 40, 40, 1) and np.isfinite(values).all()
    assert values.min() >= 0.0 and values.max() <= 1.0 and values.sum() > 0  # an accepted mask covers something
    if values.min() >= 1.0:
        _refused_naming(masks.MaskError, "MASK: covers the whole picture", lambda: masks.invert(mask, name="MASK"))
    else:
        assert float(tf.reduce_sum(masks.invert(mask, name="MASK"))) > 0


@given(name=st.sampled_from([*masks.BUILTINS, masks.AUTO]), case=st.sampled_from([str.lower, str.upper, str.title]),
       size=st.tuples(st.integers(2, 48), st.integers(2, 48)))
def test_a_shape_name_works_in_any_case(name, case, size):
    mask = masks.load_mask(case(name), size, name="MASK")
    assert tuple(mask.shape) == (1, *size, 1) and float(tf.reduce_sum(mask)) > 0


# --------------------------------------------------------------------------------------------- video


@st.composite
def frame_stacks(draw):
    """Frame stacks: zero frames, mixed sizes, uint8 or float in or out of [0, 1], NaN, not RGB."""
    count = draw(st.integers(0, 4))
    sizes = draw(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 12)), min_size=1, max_size=2))
    channels = draw(st.sampled_from([3, 3, 3, 1]))
    kind = draw(st.sampled_from(["uint8", "unit", "0-255 floats", "slightly over", "nan"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    frames = []
    for i in range(count):
        h, w = sizes[i % len(sizes)]
        base = rng.random((h, w, channels))
        frames.append({"uint8": (base * 255).astype(np.uint8), "unit": base.astype(np.float32),
                       "0-255 floats": (base * 255).astype(np.float32), "slightly over": (base + 1e-4).astype(np.float32),
                       "nan": np.where(base > 0.5, np.nan, base).astype(np.float32)}[kind])
    return frames if draw(st.booleans()) or len({f.shape for f in frames}) > 1 or not frames else np.stack(frames)


@given(frames=frame_stacks())
def test_frames_are_checked_valid_or_refused_by_name(frames):
    items = list(frames)
    valid = (items and len({f.shape for f in items}) == 1 and items[0].shape[-1] == 3
             and all(f.dtype == np.uint8 or (np.isfinite(f).all() and f.min() >= -video.TOLERANCE and f.max() <= 1 + video.TOLERANCE)
                     for f in items))
    if not valid:
        message = _refused_naming(video.VideoError, "clip", lambda: video.check_frames(frames, "clip"))
        if any(f.dtype != np.uint8 and np.isfinite(f).all() and f.max() > 2 for f in items) and len({f.shape for f in items}) == 1 \
                and items[0].shape[-1] == 3:
            assert "divide 0-255 values by 255" in message
        return
    out = video.check_frames(frames, "clip")
    assert out.shape == (len(items), *items[0].shape) and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


@given(frames=frame_stacks(), where=st.sampled_from(["ok", "under a file", "wrong suffix"]))
def test_a_failed_write_leaves_no_file_and_no_temporary(tmp_path_factory, frames, where):
    folder = tmp_path_factory.mktemp("write")
    (folder / "notes.txt").write_text("a file, not a folder")
    target = {"ok": folder / "clip.mp4", "under a file": folder / "notes.txt" / "clip.mp4", "wrong suffix": folder / "clip.gif"}[where]
    try:
        written = video.write_video(target, frames, fps=6)
    except video.VideoError as exc:
        assert str(target) in str(exc) or "path = " in str(exc) or "clip" in str(exc)
        assert sorted(p.name for p in folder.rglob("*")) == ["notes.txt"], "a refused write left something behind"
        return
    assert written == target and target.stat().st_size > 0
    assert sorted(p.name for p in folder.rglob("*")) == ["clip.mp4", "notes.txt"], "the temporary file was left behind"


# --------------------------------------------------------------------------------------------- distributed training


@pytest.fixture(scope="module")
def tiny_style(tmp_path_factory):
    """A small style image and a training photo on disk (job_config opens each file it is given)."""
    path = tmp_path_factory.mktemp("job") / "style.png"
    Image.fromarray((np.random.default_rng(1).random((40, 40, 3)) * 255).astype(np.uint8)).save(path)
    return path


SETTINGS = {"steps": 1, "global_batch": 1, "checkpoint_every": 0, "num_residual": 0, "image_size": 16, "style_size": 32, "devices": 1}


@given(setting=st.sampled_from(sorted(SETTINGS)), value=loose_numbers)
def test_a_job_setting_is_kept_or_refused_before_any_worker_starts(tmp_path_factory, tiny_style, setting, value):
    out = tmp_path_factory.mktemp("out")
    make = lambda: distributed.job_config(out, style=tiny_style, photos=[tiny_style], weights="random",  # noqa: E731
                                          **{**SETTINGS, setting: value})
    if _is_whole(value) and value >= SETTINGS[setting]:
        assert make()[setting] == value
    else:
        _refused_naming(distributed.JobError, f"{setting} = ", make)
    assert not list(out.iterdir()), "job_config writes nothing"


@given(filters=st.lists(st.one_of(st.integers(-2, 16), st.floats(0, 8), st.text(max_size=2)), max_size=4))
def test_filters_are_three_positive_channel_counts_or_refused(tmp_path_factory, tiny_style, filters):
    make = lambda: distributed.job_config(tmp_path_factory.mktemp("out"), style=tiny_style, photos=[tiny_style],  # noqa: E731
                                          weights="random", filters=filters)
    if len(filters) == 3 and all(_is_whole(f) and f >= 1 for f in filters):
        assert make()["filters"] == list(filters)
    else:
        _refused_naming(distributed.JobError, "filters", make)


# --------------------------------------------------------------------------------------------- the optimiser's arguments


@pytest.fixture(scope="module")
def pair():
    return images.load_img("cat", 32), images.load_img("swirls", 32)


@given(name=st.sampled_from(["style_weight", "content_weight", "tv_weight"]), value=loose_numbers)
def test_a_loss_weight_is_used_as_given_or_refused_by_name(pair, name, value):
    if value is None:
        return  # the default: DEFAULTS for the weights kind
    if _is_real(value) and math.isfinite(float(value)) and value >= 0:
        assert optimize.resolve_settings("random", **{name: value})[name] == float(value)
    else:
        _refused_naming(optimize.TransferError, f"{name} = ", lambda: optimize.transfer(*pair, progress=False, steps=1, **{name: value}))


@given(name=st.sampled_from(["steps", "callback_every", "lbfgs_memory", "learning_rate", "beta_1", "epsilon", "seed", "max_dim"]),
       value=loose_numbers)
def test_an_optimiser_argument_out_of_its_range_is_refused_by_name(pair, name, value):
    valid = {"steps": lambda v: _is_whole(v) and v >= 1, "callback_every": lambda v: _is_whole(v) and v >= 1,
             "lbfgs_memory": lambda v: _is_whole(v) and v >= 1, "seed": lambda v: _is_whole(v) and v >= 0,
             "max_dim": lambda v: v is None or _is_whole(v) and v >= images.MIN_SIDE,
             "learning_rate": lambda v: _is_real(v) and 0 < v <= 1, "beta_1": lambda v: _is_real(v) and 0 <= v < 1,
             "epsilon": lambda v: v is None or _is_real(v) and 0 < v < math.inf}[name](value) or (
                 value is None and name in ("steps", "lbfgs_memory"))  # None: the default
    if name == "steps" and isinstance(value, list):
        return  # one count per scale: tests/test_optimize.py
    if valid:
        return  # accepted values run the optimiser: tests/test_optimize.py covers them
    kwargs = {"steps": 1, name: value}
    _refused_naming(optimize.TransferError, f"{name} = ", lambda: optimize.transfer(*pair, optimizer="adam", progress=False, **kwargs))
