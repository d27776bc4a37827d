"""helpers/masks.py: built-in and loaded masks, their checks, and carrying a mask to every VGG19 layer."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import config, masks, vgg

# ----------------------------------------------------------------------------------------------- built-in shapes


def test_builtin_halves_are_complementary_and_cover_half():
    size = (20, 30)
    left, right = masks.builtin("left", size), masks.builtin("right", size)
    top, bottom = masks.builtin("top", size), masks.builtin("bottom", size)
    assert left.shape == (1, 20, 30, 1)
    np.testing.assert_array_equal((left + right).numpy(), np.ones((1, 20, 30, 1)))
    np.testing.assert_array_equal((top + bottom).numpy(), np.ones((1, 20, 30, 1)))
    assert float(tf.reduce_mean(left)) == pytest.approx(0.5)
    assert float(left[0, 5, 0, 0]) == 1.0 and float(left[0, 5, 29, 0]) == 0.0
    assert float(top[0, 0, 7, 0]) == 1.0 and float(top[0, 19, 7, 0]) == 0.0


def test_builtin_ellipse_is_inscribed():
    ellipse = masks.builtin("ellipse", (40, 80)).numpy()[0, :, :, 0]
    assert ellipse[20, 40] == 1.0 and ellipse[0, 0] == 0.0 and ellipse[39, 79] == 0.0
    assert ellipse.mean() == pytest.approx(np.pi / 4, abs=0.03)  # an inscribed ellipse covers pi/4 of its box


def test_invert_and_composite():
    mask = masks.builtin("left", (8, 8))
    np.testing.assert_array_equal(masks.invert(mask).numpy(), masks.builtin("right", (8, 8)).numpy())
    a, b = tf.ones((1, 8, 8, 3)), tf.zeros((1, 8, 8, 3))
    pasted = masks.composite(a, b, mask).numpy()
    assert pasted[0, 3, 0, 0] == 1.0 and pasted[0, 3, 7, 0] == 0.0
    with pytest.raises(masks.MaskError, match="differ in size"):
        masks.composite(a, tf.zeros((1, 8, 9, 3)), mask)


# ----------------------------------------------------------------------------------------------- loading


def test_load_mask_from_a_grey_file_of_another_size(tmp_path):
    arr = np.zeros((100, 150), np.uint8)
    arr[:, :75] = 255
    path = tmp_path / "my mask.png"
    Image.fromarray(arr, "L").save(path)
    mask = masks.load_mask(str(path), (40, 60))
    assert mask.shape == (1, 40, 60, 1) and mask.dtype == tf.float32
    values = mask.numpy()[0, :, :, 0]
    assert values[:, :29].min() == pytest.approx(1.0) and values[:, 31:].max() == pytest.approx(0.0)
    assert values.mean() == pytest.approx(0.5, abs=0.02)


def test_load_mask_from_a_colour_file_uses_its_grey_value(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:16] = (255, 255, 255)
    path = tmp_path / "painted.jpg"
    Image.fromarray(rgb, "RGB").save(path, quality=95)
    values = masks.load_mask(path, (32, 32)).numpy()[0, :, :, 0]
    assert values[:12].mean() > 0.95 and values[20:].mean() < 0.05


# made inside the test, not at collection: a tensor made while pytest collects runs TensorFlow in the collecting process,
# which mutation testing forks (tests/README.md)
@pytest.mark.parametrize("make", [
    lambda: np.ones((16, 24), bool),
    lambda: np.full((16, 24), 255, np.uint8),
    lambda: np.ones((16, 24, 1), np.float32),
    lambda: np.ones((1, 16, 24, 1), np.float64),
    lambda: np.ones((16, 24), np.int64),
    lambda: tf.ones((1, 16, 24, 1)),
], ids=["bool", "uint8", "float32 HW1", "float64 1HW1", "int64", "tensor"])
def test_load_mask_from_arrays(make):
    mask = masks.load_mask(make(), (8, 12))
    np.testing.assert_allclose(mask.numpy(), np.ones((1, 8, 12, 1)), atol=1e-6)


def test_auto_is_the_examples_own_mask_or_the_ellipse():
    person = masks.load_mask("auto", (64, 64), content="astronaut")
    from_file = masks.load_mask(masks.example_mask_path("astronaut"), (64, 64))
    np.testing.assert_array_equal(person.numpy(), from_file.numpy())
    assert 0.3 < float(tf.reduce_mean(person)) < 0.8  # the person fills a large part of the portrait, not all of it
    np.testing.assert_array_equal(masks.load_mask("auto", (30, 40), content="~/my photo.jpg").numpy(),
                                  masks.builtin("ellipse", (30, 40)).numpy())


def test_committed_astronaut_mask_matches_the_painter():
    spec = importlib.util.spec_from_file_location("make_images", config.IMAGES_DIR / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    painted = np.asarray(module.paint_astronaut_mask(), np.int16)
    committed = np.asarray(Image.open(masks.example_mask_path("astronaut")).convert("L"), np.int16)
    assert painted.shape == committed.shape == (512, 512)
    assert np.mean(np.abs(painted - committed)) < 1.0


# ----------------------------------------------------------------------------------------------- bad masks


def _write(tmp_path, name, arr):
    path = tmp_path / name
    Image.fromarray(arr).save(path)
    return str(path)


@pytest.mark.parametrize("make, match", [
    (lambda p: np.zeros((3, 40)), "too thin"),
    (lambda p: np.ones((40, 90)), "does not have the shape"),
    (lambda p: np.ones((40, 40, 3), np.float32), "colour image"),
    (lambda p: np.ones((2, 40, 40, 1)), "is not a mask"),
    (lambda p: np.ones((40, 40), np.complex64), "dtype complex64"),
    (lambda p: np.array([["a"] * 40] * 40), "dtype <U1"),
    (lambda p: np.full((40, 40), 2.0), r"values lie in \[2, 2\]"),
    (lambda p: np.full((40, 40), np.nan), "NaN"),
    (lambda p: np.full((40, 40), 7, np.int32), "integer mask"),
    (lambda p: "no_such_shape", "unknown name"),
    (lambda p: str(p / "missing.png"), "missing.png"),
    (lambda p: _write(p, "thin.png", np.zeros((4, 40), np.uint8)), "too thin"),
    (lambda p: None, "no mask given"),
])
def test_bad_masks_raise_a_clear_error_naming_the_mask(tmp_path, make, match):
    with pytest.raises(masks.MaskError, match=match) as info:
        masks.load_mask(make(tmp_path), (40, 40), name="sky mask")
    if "unknown name" not in match:
        assert "sky mask" in str(info.value)


def test_a_mask_covering_nothing_is_refused():
    with pytest.raises(masks.MaskError, match=r"empty: covers nothing \(it is black everywhere\)"):
        masks.load_mask(np.zeros((40, 40)), (40, 40), name="empty")
    with pytest.raises(masks.MaskError, match="empty: covers nothing"):
        masks.check_mask(tf.zeros([1, 40, 40, 1]), "empty")
    with pytest.raises(masks.MaskError, match=r"masks\[1\].*covers nothing"):
        masks.for_styles(["left", np.zeros((40, 40))], [(40, 40)] * 2)


def test_wrong_number_of_masks():
    with pytest.raises(masks.MaskError, match=r"masks: 1 mask\(s\) given for 2 style\(s\)"):
        masks.for_styles(["left"], [(40, 40)] * 2)
    with pytest.raises(masks.MaskError, match="one mask given for 2 styles"):
        masks.for_styles("left", [(40, 40)] * 2)
    found = masks.for_styles("left", [(40, 40)])
    assert len(found) == 1 and found[0].shape == (1, 40, 40, 1)
    assert masks.for_styles([None, "top"], [(40, 40), (20, 20)])[0] is None


def test_inside_erosion_leaves_deep_layers_out_and_refuses_a_region_it_erases_everywhere(capsys):
    thin = np.zeros((64, 64), np.float32)
    thin[:, 28:36] = 1.0  # 8 px wide: block1_conv1 sees 3 px, block2_conv1 already 10 px
    mask = masks.load_mask(thin, (64, 64))
    layered = masks.layer_masks(mask, vgg.STYLE_LAYERS, "inside", "stripe")
    assert masks.empty_layers(layered) == vgg.STYLE_LAYERS[1:]
    found = masks.for_styles([thin], [(64, 64)], layers=vgg.STYLE_LAYERS, mode="inside")
    assert found[0].shape == (1, 64, 64, 1)
    assert "masks[0]: the 'inside' erosion leaves nothing of this region at block2_conv1" in capsys.readouterr().out
    hair = np.zeros((64, 64), np.float32)
    hair[:, 31:33] = 1.0  # 2 px wide: narrower than block1_conv1's 3 px
    with pytest.raises(masks.MaskError, match=r"hair: covers nothing at any style layer.*block1_conv1 \(3 px\)"):
        masks.layer_masks(masks.load_mask(hair, (64, 64)), vgg.STYLE_LAYERS, "inside", "hair")
    layered = masks.layer_masks(mask, vgg.STYLE_LAYERS, "simple", "stripe")  # the simple resize keeps every layer
    assert not masks.empty_layers(layered)
    with pytest.raises(masks.MaskError, match="unknown mode"):
        masks.layer_masks(mask, vgg.STYLE_LAYERS, "outside", "stripe")


# ----------------------------------------------------------------------------------------------- per layer


def test_receptive_fields_of_the_style_layers():
    assert [masks.receptive_field(n) for n in vgg.STYLE_LAYERS] == [3, 10, 24, 68, 156]


@pytest.mark.parametrize("mode", masks.MODES)
def test_masks_are_resized_to_every_layers_size(mode):
    size = (45, 70)  # odd sizes: each pooling rounds down
    model = vgg.StyleContentModel(vgg.STYLE_LAYERS, [], weights="random")
    features = model.features(tf.zeros((1, *size, 3)))["style"]
    sizes = masks.layer_sizes(size, vgg.STYLE_LAYERS)
    # the inside mode erases an ellipse this small at block4 (receptive field 68 px): the whole picture stays whole
    region = masks.builtin("ellipse", size) if mode == "simple" else tf.ones((1, *size, 1))
    layered = masks.layer_masks(region, vgg.STYLE_LAYERS, mode)
    for name in vgg.STYLE_LAYERS:
        assert tuple(features[name].shape[1:3]) == sizes[name]
        assert layered[name].shape == (1, *sizes[name], 1), name
        values = layered[name].numpy()
        assert values.min() >= 0.0 and values.max() <= 1.0


def test_simple_mode_keeps_the_regions_share():
    mask = masks.builtin("ellipse", (64, 96))
    share = float(tf.reduce_mean(mask))
    for name, layer_share in masks.shares(masks.layer_masks(mask, vgg.STYLE_LAYERS, "simple")).items():
        assert layer_share == pytest.approx(share, abs=0.03), name


def test_inside_mode_keeps_exactly_the_neurons_that_see_only_the_region():
    """The paper's probe: a neuron is inside when noise outside the region does not change it."""
    size, layers = (40, 48), ["block1_conv1", "block2_conv1", "block3_conv1"]
    region = masks.builtin("left", size)
    model = vgg.StyleContentModel(layers, [], weights="random")
    rng = np.random.default_rng(0)
    inside_pixels = rng.uniform(size=(1, *size, 3)).astype(np.float32)
    probes = [model.features(tf.constant(np.where(region.numpy() > 0.5, inside_pixels, rng.uniform(size=(1, *size, 3)))
                                         .astype(np.float32)))["style"] for _ in range(2)]
    layered = masks.layer_masks(region, layers, "inside")
    for name in layers:
        changed = np.abs(probes[0][name].numpy() - probes[1][name].numpy()).max(axis=-1)[0]
        inside = layered[name].numpy()[0, :, :, 0] > 0.5
        assert inside.any() and (~inside).any(), name
        assert changed[inside].max() == 0.0, f"{name}: a neuron marked inside sees the outside"
        assert changed[~inside].min() > 0.0, f"{name}: a neuron marked outside does not see the outside"


def test_boundary_is_a_band_along_the_edge():
    band = masks.boundary(masks.builtin("left", (12, 20)), width=2).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(band[5], [0] * 8 + [1] * 4 + [0] * 8)  # two pixels each side of x = 10
    assert masks.boundary(tf.ones((1, 12, 20, 1))).numpy().sum() == 0  # a mask of ones has no edge inside the picture


def test_shape_names_in_any_case_and_a_near_miss_suggested():
    np.testing.assert_array_equal(masks.load_mask("Left", (8, 8)).numpy(), masks.builtin("left", (8, 8)).numpy())
    np.testing.assert_array_equal(masks.load_mask("AUTO", (8, 8)).numpy(), masks.builtin("ellipse", (8, 8)).numpy())
    with pytest.raises(masks.MaskError, match=r"unknown name.*Did you mean 'ellipse'\?"):
        masks.load_mask("elipse", (8, 8))
    with pytest.raises(masks.MaskError, match=r"size\[0\] = 0: must be >= 1"):
        masks.load_mask("left", (0, 8))


def test_a_mask_covering_the_whole_picture_cannot_be_inverted(tmp_path):
    path = _write(tmp_path, "white.png", np.full((40, 40), 255, np.uint8))
    whole = masks.load_mask(path, (40, 40), name="MASK (white.png)")
    assert float(tf.reduce_min(whole)) == 1.0  # a valid mask: the style goes nowhere else
    with pytest.raises(masks.MaskError, match=r"MASK \(white.png\): covers the whole picture"):
        masks.invert(whole, name="MASK (white.png)")
    black = _write(tmp_path, "black.png", np.zeros((40, 40), np.uint8))
    with pytest.raises(masks.MaskError, match=r"MASK: covers nothing \(it is black everywhere\)"):
        masks.load_mask(black, (40, 40), name="MASK")


def test_composite_mixes_by_the_masks_grey_values():
    fg, bg = tf.fill((1, 2, 2, 3), 0.2), tf.fill((1, 2, 2, 3), 0.7)
    mask = tf.constant([[0.0, 0.25], [0.5, 1.0]])[None, ..., None]
    pasted = masks.composite(fg, bg, mask).numpy()[0, ..., 0]
    np.testing.assert_allclose(pasted, [[0.7, 0.25 * 0.2 + 0.75 * 0.7], [0.45, 0.2]], atol=1e-6)
    from_arrays = masks.composite(np.full((1, 2, 2, 3), 0.2), np.full((1, 2, 2, 3), 0.7), np.asarray(mask, np.float64))
    assert from_arrays.dtype == tf.float32


def test_resize_averages_areas_down_and_interpolates_up():
    mask = np.zeros((1, 4, 4, 1), np.float32)
    mask[0, 0, 0, 0] = 1.0
    down = masks.resize(mask, (2, 2)).numpy()[0, ..., 0]
    np.testing.assert_allclose(down, [[0.25, 0.0], [0.0, 0.0]], atol=1e-6)   # each value: the share of its 2x2 block
    small = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)[None, ..., None]
    up = masks.resize(small, (4, 4)).numpy()[0, ..., 0]
    np.testing.assert_allclose(up, tf.image.resize(small, (4, 4), method="bilinear").numpy()[0, ..., 0], atol=1e-6)
    assert 0 < up[1, 1] < 1, "upsampled by interpolation: a soft edge, not blocks"
    for shape, size in (((1, 8, 2, 1), (4, 4)), ((1, 2, 8, 1), (4, 4))):   # down along one side, up along the other
        tall = np.random.default_rng(1).random(shape).astype(np.float32)
        np.testing.assert_allclose(masks.resize(tall, size).numpy(),
                                   np.clip(tf.image.resize(tall, size, method="bilinear").numpy(), 0, 1), atol=1e-6)
    for shape in ((1, 4, 8, 1), (1, 8, 4, 1)):   # one side kept, the other shrunk: still area averaging
        wide = np.random.default_rng(2).random(shape).astype(np.float32)
        np.testing.assert_allclose(masks.resize(wide, (4, 4)).numpy(), tf.image.resize(wide, (4, 4), method="area").numpy(), atol=1e-6)
    np.testing.assert_allclose(masks.resize(mask, (4, 4)).numpy(), mask)


def test_builtin_halves_split_odd_sizes_at_the_pixel_centres_and_names_fold_case():
    left = masks.builtin("left", (4, 5)).numpy()[0, 0, :, 0]
    np.testing.assert_array_equal(left, [1, 1, 0, 0, 0])   # centres 0.1, 0.3 | 0.5, 0.7, 0.9: the middle column is right's
    top = masks.builtin("top", (5, 4)).numpy()[0, :, 0, 0]
    np.testing.assert_array_equal(top, [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(masks.builtin("BOTTOM", (5, 4)).numpy()[0, :, 0, 0], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(masks.builtin("Right", (4, 5)).numpy()[0, 0, :, 0], [0, 0, 1, 1, 1])


def test_layer_masks_accept_a_one_pixel_map_and_any_case_of_the_mode():
    mask = masks.builtin("left", (16, 16))
    carried = masks.layer_masks(mask, ["block5_conv1"], mode="SIMPLE")
    assert tuple(carried["block5_conv1"].shape[1:3]) == (1, 1)


def test_a_size_is_two_whole_numbers_given_as_a_tuple_list_array_or_tensor_shape():
    shapes = {"tuple": (6, 8), "list": [6, 8], "array": np.array([6, 8]), "numpy ints": (np.int64(6), np.int32(8))}
    for how, size in shapes.items():
        assert tuple(masks.load_mask("ellipse", size).shape) == (1, 6, 8, 1), how
    assert tuple(masks.load_mask("ellipse", tf.zeros((1, 6, 8, 3)).shape[1:3]).shape) == (1, 6, 8, 1)
    for bad, said in [("6x8", "size = '6x8': not a size; pass (height, width), e.g. image.shape[1:3]"), (6, "size = 6: not a size"),
                      ((6, 8, 3), "size = (6, 8, 3): 3 numbers; pass (height, width)"), ((6.5, 8), "size[0] = 6.5"),
                      ((True, 8), "size[0] = True"), ((0, 8), "size[0] = 0")]:
        with pytest.raises(masks.MaskError) as info:
            masks.load_mask("ellipse", bad)
        assert str(info.value).startswith(said), (bad, str(info.value))


def test_an_array_mask_is_refused_by_shape_range_and_dtype_with_the_reason():
    def refused(value):
        with pytest.raises(masks.MaskError) as info:
            masks.load_mask(value, (8, 8))
        return str(info.value)

    assert refused(np.ones((8, 8, 3), np.float32)).startswith("mask array: shape (8, 8, 3) is not a mask")
    assert "looks like a colour image" in refused(np.ones((1, 8, 8, 4), np.float32))
    assert "looks like a colour image" not in refused(np.ones((2, 3, 4, 5), np.float32))
    assert "looks like a colour image" not in refused(np.ones((8, 8, 2), np.float32))
    assert refused(np.full((8, 8), 1.5, np.float32)).startswith("mask array: values lie in [1.5, 1.5]")
    assert refused(np.full((8, 8), -0.5, np.float32)).startswith("mask array: values lie in [-0.5, -0.5]")
    assert refused(np.full((8, 8), 2, np.int64)).startswith("mask array: integer mask (int64) with values in [2, 2]")
    edge = np.zeros((8, 8), np.float32)
    edge[:, 4:] = 1.0  # exactly 0 and exactly 1: a valid float mask
    np.testing.assert_allclose(masks.load_mask(edge, (8, 8)).numpy()[0, :, :, 0], edge, atol=1e-6)
    ones = np.zeros((8, 8), np.int64)
    ones[2:6, 2:6] = 1  # 0/1 integers are taken as they are
    np.testing.assert_allclose(masks.load_mask(ones, (8, 8)).numpy()[0, :, :, 0], ones, atol=1e-6)
    np.testing.assert_allclose(masks.load_mask(ones.astype(bool), (8, 8)).numpy()[0, :, :, 0], ones, atol=1e-6)


def test_a_pil_image_mask_is_its_grey_value_over_255():
    from PIL import Image

    grey = np.zeros((8, 8), np.uint8)
    grey[:, :4] = 255
    grey[:, 4:6] = 51  # 0.2 of white
    mask = masks.load_mask(Image.fromarray(grey).convert("RGB"), (8, 8)).numpy()[0, :, :, 0]
    np.testing.assert_allclose(mask, grey / 255.0, atol=1e-6)


def test_check_mask_refuses_each_wrong_shape_and_range_by_its_name():
    ok = np.zeros((1, 4, 4, 1), np.float32)
    ok[0, 1, 1, 0] = 0.5  # a region of half a pixel still covers something
    assert float(tf.reduce_sum(masks.check_mask(ok))) == 0.5
    for bad, said in [(np.ones((2, 4, 4, 1), np.float32), "region: shape [2, 4, 4, 1]; expected [1, H, W, 1]"),
                      (np.ones((1, 4, 4, 3), np.float32), "region: shape [1, 4, 4, 3]; expected [1, H, W, 1]"),
                      (np.full((1, 4, 4, 1), -0.5, np.float32), "region: values lie in [-0.5, -0.5]"),
                      (np.full((1, 4, 4, 1), 1.5, np.float32), "region: values lie in [1.5, 1.5]"),
                      (np.zeros((1, 4, 4, 1), np.float32), "region: covers nothing")]:
        with pytest.raises(masks.MaskError) as info:
            masks.check_mask(bad, "region")
        assert str(info.value).startswith(said), str(info.value)
    with pytest.raises(masks.MaskError, match="^mask: covers nothing"):
        masks.check_mask(np.zeros((1, 4, 4, 1), np.float32))


def test_a_uint8_mask_is_divided_by_255_and_one_pixel_is_a_region():
    ones = np.zeros((8, 8), np.uint8)
    ones[2:6, 2:6] = 255
    np.testing.assert_allclose(masks.load_mask(ones, (8, 8)).numpy()[0, :, :, 0], ones / 255.0, atol=1e-6)
    dot = np.zeros((8, 8), np.float32)
    dot[3, 3] = 1.0  # a single pixel covers something: it is accepted, not called empty
    assert float(tf.reduce_sum(masks.load_mask(dot, (8, 8)))) == pytest.approx(1.0)


def test_loading_names_each_source_in_its_refusal_and_keeps_thin_features(tmp_path):
    """What the loading functions' mutation run showed was loose (tests/README.md): names in messages, sizes, defaults."""
    with pytest.raises(masks.MaskError, match=r"^mask 'auto': example 'cat' has no painted mask; examples with one: astronaut$"):
        masks.example_mask_path("cat")
    column = np.zeros((20, 700), np.uint8)                       # wider than load_img's default long side: read as it is
    column[:, 350] = 255
    Image.fromarray(column).save(tmp_path / "column.png")
    np.testing.assert_array_equal(masks.load_mask(tmp_path / "column.png", (20, 700)).numpy()[0, :, :, 0], column / 255.0)
    Image.fromarray(np.full((1, 20), 255, np.uint8)).save(tmp_path / "line.png")
    with pytest.raises(masks.MaskError, match=r"line\.png: 20x1 px is too thin"):  # read, then refused by the course's own rule
        masks.load_mask(tmp_path / "line.png", (8, 160))
    Image.fromarray(np.full((20, 40), 255, np.uint8)).save(tmp_path / "wide.png")   # the photo's shape at another size
    assert masks.load_mask(tmp_path / "wide.png", (10, 20)).shape == (1, 10, 20, 1)
    with pytest.raises(masks.MaskError, match=r"^nosuch\.png: ") as info:          # a file name, not an unknown shape name
        masks.load_mask("nosuch.png", (8, 8))
    assert "unknown name" not in str(info.value)
    with pytest.raises(masks.MaskError) as info:
        masks.load_mask("zzzzzz", (8, 8))
    assert str(info.value).endswith("or the path of a grey image file.") and "Did you mean" not in str(info.value)
    class Unreadable:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("no pixels here")

    with pytest.raises(masks.MaskError, match=r"^mask array: Unreadable is not a mask \(no pixels here\)$"):
        masks.load_mask(Unreadable(), (8, 8))
    with pytest.raises(masks.MaskError, match=r"^left: covers nothing \(at this size it holds no pixel\)"):
        masks.load_mask("left", (8, 1))                        # one pixel wide: its centre is on the right half's side
    with pytest.raises(masks.MaskError, match=r"^masks\[0\] \(nosuch\.png\): "):
        masks.for_styles(["nosuch.png"], [(8, 8)])


def test_check_mask_returns_float32_and_says_what_is_wrong():
    assert masks.check_mask(np.ones((1, 4, 4, 1), np.float64)).dtype == tf.float32
    with pytest.raises(masks.MaskError, match=r"^mask: not a tensor or array \("):
        masks.check_mask("left")
    with pytest.raises(masks.MaskError, match=r"^region: contains NaN or infinite values$"):
        masks.check_mask(np.full((1, 4, 4, 1), np.nan), "region")


def test_for_styles_keeps_none_in_place_reads_auto_with_the_content_and_carries_masks_in_the_simple_mode():
    found = masks.for_styles([None, "left", None], [(8, 8)] * 3)
    assert found[0] is None and found[2] is None
    np.testing.assert_array_equal(found[1].numpy(), masks.builtin("left", (8, 8)).numpy())
    size = (48, 48)
    (auto,) = masks.for_styles(["auto"], [size], content="astronaut")
    np.testing.assert_array_equal(auto.numpy(), masks.load_mask("auto", size, content="astronaut").numpy())
    assert not np.array_equal(auto.numpy(), masks.builtin("ellipse", size).numpy()), "the astronaut's painted mask, not the ellipse"
    (carried,) = masks.for_styles(["left"], [(32, 32)], layers=["block1_conv1", "block2_conv1"])   # mode left at its default
    np.testing.assert_array_equal(carried.numpy(), masks.builtin("left", (32, 32)).numpy())
