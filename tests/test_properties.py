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

from helpers import colour, distributed, images, lbfgs, losses, masks, optimize, temporal, validate, video
from helpers import flow as flows

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


#: Where each optimiser setting goes in transfer's call, and the name its refusal gives.
_SETTINGS = {
    "steps": (lambda v: {"steps": v}, "steps"),
    "every": (lambda v: {"callback": optimize.every(v, print)}, "every"),
    "LBFGS.memory": (lambda v: {"optimizer": optimize.LBFGS(memory=v)}, "LBFGS.memory"),
    "Adam.learning_rate": (lambda v: {"optimizer": optimize.Adam(learning_rate=v)}, "Adam.learning_rate"),
    "Adam.beta_1": (lambda v: {"optimizer": optimize.Adam(beta_1=v)}, "Adam.beta_1"),
    "Adam.epsilon": (lambda v: {"optimizer": optimize.Adam(epsilon=v)}, "Adam.epsilon"),
}


@given(name=st.sampled_from(sorted(_SETTINGS)), value=loose_numbers)
def test_an_optimiser_argument_out_of_its_range_is_refused_by_name(pair, name, value):
    valid = {"steps": lambda v: _is_whole(v) and v >= 1, "every": lambda v: _is_whole(v) and v >= 1,
             "LBFGS.memory": lambda v: _is_whole(v) and v >= 1,
             "Adam.learning_rate": lambda v: _is_real(v) and 0 < v <= 1, "Adam.beta_1": lambda v: _is_real(v) and 0 <= v < 1,
             "Adam.epsilon": lambda v: v is None or _is_real(v) and 0 < v < math.inf}[name](value) or (
                 value is None and name in ("steps", "LBFGS.memory"))  # None: the default
    if name == "steps" and isinstance(value, dict):
        return  # one count per scale: tests/test_optimize.py
    if valid:
        return  # accepted values run the optimiser: tests/test_optimize.py covers them
    make, named = _SETTINGS[name]

    def call():
        return optimize.transfer(*pair, progress=False, **{"steps": 1, **make(value)})

    _refused_naming(optimize.TransferError, f"{named} = ", call)


# --------------------------------------------------------------------------------------------- losses


@st.composite
def feature_arrays(draw):
    """What might be passed as features: rank 2-5, sides 0-5, float32/float64/int32, NaN or not, as an array or a tensor."""
    rank = draw(st.sampled_from([2, 3, 4, 4, 4, 5]))
    shape = tuple(draw(st.integers(1, 2)) if i == 0 else draw(st.integers(0, 5)) for i in range(rank))
    dtype = draw(st.sampled_from([np.float32, np.float32, np.float64, np.int32]))
    arr = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape).astype(dtype)
    if dtype is not np.int32 and arr.size and draw(st.booleans()):
        arr.flat[draw(st.integers(0, arr.size - 1))] = np.nan
    return tf.constant(arr) if draw(st.booleans()) else arr


@given(features=feature_arrays())
def test_gram_matrix_is_the_mean_outer_product_or_refuses_the_features(features):
    arr = np.asarray(features)
    valid = arr.ndim == 4 and arr.dtype.kind == "f" and min(arr.shape[1:3]) > 0 and (tf.is_tensor(features) or np.isfinite(arr).all())
    if not valid:
        _refused_naming(losses.LossError, "input_tensor = ", lambda: losses.gram_matrix(features))
        return
    gram = losses.gram_matrix(features).numpy()
    b, h, w, c = arr.shape
    flat = arr.reshape(b, h * w, c).astype(np.float64)
    assert gram.shape == (b, c, c) and gram.dtype == arr.dtype
    if not np.isfinite(arr).all():
        assert not np.isfinite(gram).all()  # NaN in a tensor is not read (that would cost a step): it shows in the result
        return
    np.testing.assert_allclose(gram, np.einsum("bmc,bmd->bcd", flat, flat) / (h * w), rtol=1e-4, atol=1e-5)


@given(image=feature_arrays())
def test_total_variation_is_tfs_or_refuses_the_image(image):
    arr = np.asarray(image)
    valid = arr.ndim == 4 and arr.dtype.kind == "f" and (tf.is_tensor(image) or np.isfinite(arr).all())
    if not valid:
        _refused_naming(losses.LossError, "image = ", lambda: losses.total_variation_loss(image))
        return
    got = float(losses.total_variation_loss(image))
    want = float(np.abs(np.diff(arr.astype(np.float32), axis=1)).sum() + np.abs(np.diff(arr.astype(np.float32), axis=2)).sum())
    assert got == pytest.approx(want, rel=1e-4, abs=1e-4, nan_ok=True)


@given(shapes=st.tuples(*[st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))] * 2),
       form=st.sampled_from(losses.FORMS))
def test_content_loss_compares_features_of_one_shape_or_refuses_the_targets(shapes, form):
    (ob, *orest), (tb, *trest) = shapes
    out = np.random.default_rng(ob).normal(size=shapes[0]).astype(np.float32)
    target = np.random.default_rng(tb + 7).normal(size=shapes[1]).astype(np.float32)
    if orest != trest or (ob != tb and 1 not in (ob, tb)):
        _refused_naming(losses.LossError, "targets['content'] = ", lambda: losses.content_loss(out, target, form))
        return
    diff = np.broadcast_to(out, np.broadcast_shapes(out.shape, target.shape)) - target
    want = {"mean": np.mean(diff**2), "paper": 0.5 * np.sum(diff**2), "relative": np.sum(diff**2) / (np.sum(target**2) + 1e-12)}[form]
    assert float(losses.content_loss(out, target, form)) == pytest.approx(want, rel=1e-4)


@given(weight=loose_numbers, form=st.sampled_from(losses.FORMS))
def test_a_style_layer_weight_is_used_as_given_or_refused_by_name(weight, form):
    rng = np.random.default_rng(3)
    a = {n: losses.gram_matrix(rng.normal(size=(1, 3, 3, 2)).astype(np.float32)) for n in ("l1", "l2")}
    b = {n: losses.gram_matrix(rng.normal(size=(1, 3, 3, 2)).astype(np.float32)) for n in ("l1", "l2")}
    if not (_is_real(weight) and math.isfinite(float(weight)) and weight >= 0):
        _refused_naming(losses.LossError, "layer_weights", lambda: losses.style_loss(a, b, [weight, 1.0], form))
        return
    want = float(weight) * float(losses.style_layer_loss(a["l1"], b["l1"], form)) + float(losses.style_layer_loss(a["l2"], b["l2"], form))
    with np.errstate(over="ignore"):  # a weight near float32's largest: the loss overflows to inf, as float32 does
        got = float(losses.style_loss(a, b, [weight, 1.0], form))
    assert got == pytest.approx(want, rel=1e-5) if want < np.finfo(np.float32).max / 2 else math.isinf(got)


# --------------------------------------------------------------------------------------------- optical flow and flicker


@given(image_side=st.tuples(st.integers(0, 6), st.integers(1, 6), st.integers(0, 4)), flow_side=st.tuples(st.integers(1, 6), st.integers(1, 6)),
       batch=st.booleans(), nan=st.sampled_from([None, "image", "flow"]), seed=st.integers(0, 2**16))
def test_warp_returns_a_warped_image_or_refuses_the_image_or_flow(image_side, flow_side, batch, nan, seed):
    rng = np.random.default_rng(seed)
    image = rng.random(image_side, dtype=np.float32)
    flow_ = rng.normal(0, 2, (*flow_side, 2)).astype(np.float32)
    if nan == "image" and image.size:
        image.flat[0] = np.nan
    if nan == "flow":
        flow_.flat[-1] = np.nan
    arg = image[None] if batch else image
    if 0 in image.shape or (nan == "image" and image.size):
        _refused_naming(flows.FlowError, "image = ", lambda: flows.warp(arg, flow_))
        return
    if image.shape[:2] != flow_side or nan == "flow":
        _refused_naming(flows.FlowError, "flow = ", lambda: flows.warp(arg, flow_))
        return
    warped, inside = flows.warp(arg, flow_)
    assert warped.shape == image.shape and inside.shape == flow_side and inside.dtype == bool
    assert warped.min() >= image.min() - 1e-6 and warped.max() <= image.max() + 1e-6  # bilinear: inside the values' range
    np.testing.assert_allclose(flows.warp(image, np.zeros_like(flow_))[0], image)


@given(kind=st.sampled_from(["bool", "0/1 ints", "0/1 floats", "grey", "2", "nan", "short"]), seed=st.integers(0, 2**16))
def test_a_reliability_mask_is_read_as_given_or_refused(kind, seed):
    rng = np.random.default_rng(seed)
    frames = rng.random((2, 8, 8, 3), dtype=np.float32)
    on = rng.random((2, 8, 8)) > 0.5
    masks = {"bool": on, "0/1 ints": on.astype(np.int64), "0/1 floats": on.astype(np.float32), "grey": np.where(on, 0.5, 0.0),
             "2": np.where(on, 2, 0), "nan": np.where(on, np.nan, 0.0), "short": on[:, :4]}[kind]
    flows_zero = np.zeros((2, 8, 8, 2), np.float32)
    if kind in ("grey", "2", "nan", "short") and (kind == "short" or on.any()):
        _refused_naming(temporal.TemporalError, "masks = ", lambda: temporal.warping_error(frames, flows_zero, masks))
        return
    want = [float(np.mean(np.square(frames[1] - frames[0])[on[1]])) if on[1].any() else np.nan]
    np.testing.assert_allclose(temporal.warping_error(frames, flows_zero, masks), want, rtol=1e-5)


# --------------------------------------------------------------------------------------------- L-BFGS


def _bowl(x):
    """A quadratic with its minimum at 0.25 in every entry: (loss, parts, gradient)."""
    return tf.reduce_sum(tf.square(x - 0.25)), {}, 2.0 * (x - 0.25)


@pytest.fixture(scope="module")
def started_engine():
    """One engine for every generated iteration count, so its iterations are traced once."""
    engine = lbfgs.LBFGS(_bowl, tf.fill([4], 0.5), 3)
    engine.start()
    return engine


@given(name=st.sampled_from(["memory", "lower", "upper", "iterations"]), value=loose_numbers)
def test_an_lbfgs_argument_is_used_as_given_or_refused_by_name(started_engine, name, value):
    valid = {"memory": lambda v: _is_whole(v) and v >= 1, "iterations": lambda v: _is_whole(v) and v >= 0,
             "lower": lambda v: _is_real(v) and not math.isnan(v) and v < 1.0,
             "upper": lambda v: _is_real(v) and not math.isnan(v) and v > 0.0}[name](value)
    if name == "iterations":
        make = lambda: started_engine.run(value)  # noqa: E731
    else:
        make = lambda: lbfgs.LBFGS(_bowl, tf.fill([4], 0.5), **{"memory": 3, name: value})  # noqa: E731
    if not valid:
        bound_too_high = name == "lower" and _is_real(value) and not math.isnan(value)  # then upper is not above it
        _refused_naming(lbfgs.LBFGSError, "upper = " if bound_too_high else f"{name} = ", make)
        return
    out = make()
    if name == "iterations":
        assert out["done"] <= value and out["status"] in lbfgs.MESSAGES
    else:
        loss, _ = out.start()
        x = float(np.clip(0.5, out.lower, out.upper))
        assert loss == pytest.approx(4 * (x - 0.25) ** 2, rel=1e-5)


# --------------------------------------------------------------------------------------------- colour


@given(style_spread=st.floats(0.01, 0.5), outliers=st.floats(0.0, 0.2), content_mean=st.floats(0.1, 0.9), content_spread=st.floats(0.0, 0.3),
       seed=st.integers(0, 2**16))
def test_matched_luminance_stays_in_zero_one(style_spread, outliers, content_mean, content_spread, seed):
    rng = np.random.default_rng(seed)
    style = np.clip(rng.normal(0.3, style_spread, (32, 32, 1)), 0, 1) * np.ones(3)
    style[rng.random((32, 32)) < outliers] = 1.0  # a few bright pixels stretch the style's spread upwards
    content = np.clip(rng.normal(content_mean, content_spread, (32, 32, 1)), 0, 1) * np.ones(3)
    out = colour.match_luminance(style.astype(np.float32), content.astype(np.float32)).numpy()
    assert out.shape == (1, 32, 32, 3) and out.min() >= 0.0 and out.max() <= 1.0


def test_matched_luminance_is_clipped_where_the_matched_values_pass_one():
    """A dark style with 5 % white pixels matched to a bright content: unclipped, the white pixels would land near 1.45."""
    style = np.full((40, 40, 3), 0.1, np.float32)
    style[:2] = 1.0
    content = np.clip(np.random.default_rng(0).normal(0.8, 0.15, (40, 40, 1)), 0, 1).astype(np.float32) * np.ones(3, np.float32)
    out = colour.match_luminance(style, content).numpy()
    assert out.max() == pytest.approx(1.0) and out[0, :2].min() == pytest.approx(1.0)
