"""helpers.images: every supported kind of file loads right, every bad file gives ImageLoadError naming it."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import config, images
from helpers.images import ImageLoadError, load_img


def _gradient(w=80, h=60):
    """A uint8 RGB test pattern with distinct rows and columns."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], axis=-1).astype(np.uint8)


def _assert_image(t, h, w):
    assert isinstance(t, tf.Tensor)
    assert t.shape == (1, h, w, 3)
    assert t.dtype == tf.float32
    assert float(tf.reduce_min(t)) >= 0.0 and float(tf.reduce_max(t)) <= 1.0


# ---------------------------------------------------------------- good inputs


@pytest.mark.parametrize("suffix,fmt", [(".jpg", "JPEG"), (".png", "PNG"), (".gif", "GIF"), (".webp", "WEBP"), (".bmp", "BMP"), (".tif", "TIFF")])
def test_formats_load(tmp_path, suffix, fmt):
    path = tmp_path / f"pattern{suffix}"
    Image.fromarray(_gradient()).save(path, format=fmt)
    t = load_img(path)
    _assert_image(t, 60, 80)
    # lossless formats come back exactly; lossy ones closely
    expected = _gradient() / 255.0
    tol = 0.08 if fmt in ("JPEG", "WEBP") else (0.25 if fmt == "GIF" else 1e-6)
    assert np.mean(np.abs(t.numpy()[0] - expected)) < tol


def test_png_roundtrip_exact(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(_gradient()).save(path)
    np.testing.assert_allclose(load_img(path).numpy()[0], _gradient() / 255.0, atol=1e-6)


def test_gif_first_frame(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    t = load_img(path).numpy()[0]
    assert t[..., 0].mean() > 0.9 and t[..., 2].mean() < 0.1, "expected the first (red) frame"


def test_grayscale_becomes_three_equal_channels(tmp_path):
    path = tmp_path / "g.png"
    Image.fromarray(_gradient()[..., 0], mode="L").save(path)
    t = load_img(path).numpy()[0]
    assert t.shape == (60, 80, 3)
    np.testing.assert_array_equal(t[..., 0], t[..., 1])
    np.testing.assert_array_equal(t[..., 1], t[..., 2])


def test_transparency_composited_on_white(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255  # red, but fully transparent on the left half
    rgba[:, 20:, 3] = 255
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    t = load_img(path).numpy()[0]
    np.testing.assert_allclose(t[:, :20], 1.0)  # white
    np.testing.assert_allclose(t[:, 20:], np.broadcast_to([1.0, 0.0, 0.0], (40, 20, 3)))  # opaque red


def test_grayscale_alpha_and_palette_transparency(tmp_path):
    la = Image.new("LA", (40, 40), (0, 0))  # black, fully transparent
    la.save(tmp_path / "la.png")
    np.testing.assert_allclose(load_img(tmp_path / "la.png").numpy(), 1.0)
    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    np.testing.assert_allclose(load_img(tmp_path / "p.png").numpy(), 1.0)


def test_cmyk_and_one_bit(tmp_path):
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    t = load_img(tmp_path / "cmyk.jpg").numpy()[0]
    assert t[..., 0].mean() > 0.8 and t[..., 1].mean() < 0.2  # red
    one = Image.new("1", (40, 40), 1)
    one.save(tmp_path / "one.png")
    np.testing.assert_allclose(load_img(tmp_path / "one.png").numpy(), 1.0)


def test_sixteen_bit_and_float(tmp_path):
    arr16 = np.full((40, 40), 65535 // 2, np.uint16)
    Image.fromarray(arr16).save(tmp_path / "sixteen.png")
    np.testing.assert_allclose(load_img(tmp_path / "sixteen.png").numpy(), 0.5, atol=1e-3)
    arrf = np.full((40, 40), 0.25, np.float32)
    Image.fromarray(arrf, mode="F").save(tmp_path / "float.tif")
    np.testing.assert_allclose(load_img(tmp_path / "float.tif").numpy(), 0.25, atol=1e-6)


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.fromarray(_gradient(80, 40))  # landscape 80x40
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "rot.jpg", exif=exif.tobytes())
    assert load_img(tmp_path / "rot.jpg").shape == (1, 80, 40, 3)


def test_scaling_keeps_aspect_and_never_upscales(tmp_path):
    path = tmp_path / "wide.png"
    Image.fromarray(_gradient(400, 100)).save(path)
    _assert_image(load_img(path, max_dim=200), 50, 200)
    _assert_image(load_img(path, max_dim=1000), 100, 400)  # not upscaled
    _assert_image(load_img(path, max_dim=800, upscale=True), 200, 800)
    _assert_image(load_img(path, max_dim=None), 100, 400)


def test_pil_and_array_inputs():
    arr = _gradient()
    a = load_img(arr)
    b = load_img(Image.fromarray(arr))
    c = load_img(arr.astype(np.float32) / 255.0)
    d = load_img(tf.constant(arr[None].astype(np.float32) / 255.0))
    for t in (a, b, c, d):
        _assert_image(t, 60, 80)
        np.testing.assert_allclose(t.numpy(), a.numpy(), atol=1e-6)
    with pytest.raises(ImageLoadError, match="expected \\[0, 1\\]"):
        load_img(np.full((40, 40, 3), 7.5, np.float32))
    with pytest.raises(ImageLoadError, match="not an image"):
        load_img(np.zeros((40, 40, 7), np.uint8))


# ---------------------------------------------------------------- bad inputs


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match=r"nope\.jpg: no such file"):
        load_img(tmp_path / "nope.jpg")


def test_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="is a directory"):
        load_img(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.png: is an empty file"):
        load_img(path)


@pytest.mark.parametrize(
    "name,content",
    [
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'),
        ("page.jpg", b"<!DOCTYPE html><html><body>404 Not Found</body></html>"),
        ("notes.png", b"just some text, not an image at all"),
    ],
)
def test_not_an_image(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=rf"{name.replace('.', '[.]')}: is not an image"):
        load_img(path)


def test_unsupported_format(tmp_path):
    path = tmp_path / "image.ico"
    Image.fromarray(_gradient(48, 48)).save(path, format="ICO")
    with pytest.raises(ImageLoadError, match="not supported"):
        load_img(path)


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_file(tmp_path, fmt, suffix):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buf, format=fmt)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match=r"cut\.(jpg|png): is truncated or corrupt"):
        load_img(path)


def _png_header_only(width, height):
    """A PNG that declares a huge size but carries almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(20000, 20000))
    with pytest.raises(ImageLoadError, match=r"bomb\.png: is 20000x20000 = 400,000,000 pixels, over the course's limit of 80,000,000") as info:
        load_img(path)
    assert "DOS attack" not in str(info.value)  # the course's message, not PIL's
    assert Image.MAX_IMAGE_PIXELS is not None  # PIL's own guard is back on afterwards


def test_too_small(tmp_path):
    path = tmp_path / "tiny.png"
    Image.fromarray(_gradient(20, 15)).save(path)
    with pytest.raises(ImageLoadError, match=r"tiny\.png: is too small \(20x15 px\).*at least 32 px"):
        load_img(path)
    wide = tmp_path / "strip.png"
    Image.fromarray(_gradient(1000, 37)).save(wide)
    # scaled to max_dim its short side would be 19 px: it keeps 32 px, and the long side follows the aspect ratio
    assert load_img(wide, max_dim=512).shape == (1, 32, 865, 3)
    assert load_img(wide, max_dim=None).shape == (1, 37, 1000, 3)


def test_only_image_load_error_escapes(tmp_path):
    """Random garbage of many kinds never raises anything but ImageLoadError."""
    rng = np.random.default_rng(1)
    good = io.BytesIO()
    Image.fromarray(_gradient()).save(good, format="PNG")
    data = good.getvalue()
    for i in range(20):
        corrupt = bytearray(data)
        for pos in rng.integers(8, len(corrupt), 12):
            corrupt[pos] = rng.integers(0, 256)
        path = tmp_path / f"corrupt{i}.png"
        path.write_bytes(bytes(corrupt))
        try:
            load_img(path)
        except ImageLoadError as exc:
            assert f"corrupt{i}.png" in str(exc)


# ---------------------------------------------------------------- output


def test_tensor_to_image_and_save_roundtrip(tmp_path):
    t = load_img(_gradient())
    pil = images.tensor_to_image(t)
    assert pil.size == (80, 60) and pil.mode == "RGB"
    out = images.save_image(t, tmp_path / "deep" / "folder" / "out.png")
    assert out.exists()
    np.testing.assert_allclose(load_img(out).numpy(), t.numpy(), atol=1 / 255 + 1e-6)
    assert not [p for p in out.parent.iterdir() if p.name != "out.png"], "temporary files left behind"


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    images.save_image(load_img(_gradient()), target)
    before = target.read_bytes()

    def boom(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        images.save_image(load_img(_gradient(40, 40)), target)
    assert target.read_bytes() == before, "the old file must survive a failed write"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"], "no temporary file may be left"


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="unknown image suffix"):
        images.save_image(load_img(_gradient()), tmp_path / "x.notanimage")


def test_show_images_grid():
    import matplotlib

    matplotlib.use("Agg")
    t = load_img(_gradient())
    fig = images.show_images([t, t, t], ["a", "b", "c"], ncols=2)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled == ["a", "b", "c"]
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="titles"):
        images.show_images([t, t], ["only one"])


# ---------------------------------------------------------------- examples and paintings


def test_every_example_loads():
    contents = images.list_examples("content")
    styles = images.list_examples("style")
    assert len(contents) >= 4 and len(styles) >= 4
    for name in images.EXAMPLES:
        t = images.load_example(name, max_dim=128)
        assert t.shape[0] == 1 and max(t.shape[1:3]) == 128


def test_example_images_are_documented_and_small():
    sources = (config.IMAGES_DIR / "SOURCES.md").read_text(encoding="utf-8")
    total = 0
    for path in sorted(config.IMAGES_DIR.rglob("*")):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            assert path.name in sources, f"{path.name} has no line in images/SOURCES.md"
            with Image.open(path) as img:
                assert max(img.size) <= 1024
            total += path.stat().st_size
    assert total <= 5 * 1024 * 1024


def test_unknown_example():
    with pytest.raises(KeyError, match="choose from"):
        images.load_example("mona_lisa")


def test_painting_offline_falls_back_with_one_notice(capsys):
    assert config.offline()
    path = images.painting_path("starry_night")
    assert path == images.example_path("swirls")
    out = capsys.readouterr().out
    assert "Starry Night" in out and "swirls" in out
    images.painting_path("starry_night")
    assert capsys.readouterr().out == "", "the notice is printed once"


def test_painting_download_failure_falls_back(monkeypatch, capsys):
    monkeypatch.setenv("NST_OFFLINE", "0")

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(images.urllib.request, "urlopen", refuse)
    assert images.painting_path("great_wave") == images.example_path("waves")
    assert "network unreachable" in capsys.readouterr().out


def test_painting_download_is_cached_and_verified(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_OFFLINE", "0")
    monkeypatch.setenv("NST_CACHE", str(tmp_path))
    buf = io.BytesIO()
    Image.fromarray(_gradient(64, 64)).save(buf, format="JPEG")
    calls = []

    class FakeResponse(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request):
        calls.append(request.full_url)
        return FakeResponse(buf.getvalue())

    monkeypatch.setattr(images.urllib.request, "urlopen", fake_urlopen)
    path = images.painting_path("kandinsky")
    assert path.parent == tmp_path / "paintings" and path.exists()
    images.painting_path("kandinsky")
    assert len(calls) == 1, "the second call must come from the cache"
    assert images.download_painting("kandinsky").shape == (1, 64, 64, 3)
    # a broken cached copy is replaced
    path.write_bytes(b"garbage")
    images.painting_path("kandinsky")
    assert len(calls) == 2 and load_img(path).shape == (1, 64, 64, 3)
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]
    assert os.environ["NST_CACHE"] == str(tmp_path)


# --- one loader for whatever a user names ---------------------------------------------------------------------------


def test_load_img_accepts_every_kind_of_source(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_OFFLINE", "1")
    by_name = load_img("astronaut", max_dim=64)
    assert by_name.shape[0] == 1 and max(by_name.shape[1:3]) == 64
    np.testing.assert_allclose(by_name.numpy(), images.load_example("astronaut", 64).numpy())
    painting = load_img("great_wave", max_dim=48)  # offline: the committed stand-in, said once
    np.testing.assert_allclose(painting.numpy(), images.load_example("waves", 48).numpy())
    path = tmp_path / "photo.png"
    Image.fromarray(_gradient(100, 60)).save(path)
    want = load_img(path, max_dim=80).numpy()
    np.testing.assert_allclose(load_img(str(path), max_dim=80).numpy(), want)
    monkeypatch.setenv("HOME", str(tmp_path))
    np.testing.assert_allclose(load_img("~/photo.png", max_dim=80).numpy(), want)
    np.testing.assert_allclose(load_img(Path("~") / "photo.png", max_dim=80).numpy(), want)
    np.testing.assert_allclose(load_img(Image.open(path), max_dim=80).numpy(), want)
    np.testing.assert_allclose(load_img(np.asarray(Image.open(path)), max_dim=80).numpy(), want)
    assert load_img(path, max_dim=80).shape == (1, 48, 80, 3)


def test_unknown_name_lists_the_names_and_mentions_paths():
    with pytest.raises(ImageLoadError, match="'mona_lisa': unknown image name") as info:
        load_img("mona_lisa")
    message = str(info.value)
    for name in [*images.EXAMPLES, *images.PAINTINGS]:
        assert name in message
    assert "path of an image file" in message


def test_missing_home_path_names_the_expanded_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ImageLoadError, match=f"{tmp_path}/Pictures/x.jpg: no such file"):
        load_img("~/Pictures/x.jpg")


def test_name_of():
    assert images.name_of("astronaut") == "astronaut"
    assert images.name_of("~/Pictures/my cat.jpg") == "my cat"
    assert images.name_of(Path("/a/b.png")) == "b"
    assert images.name_of(np.zeros((4, 4, 3))) == "array"


def test_fit_scales_down_only_and_says_so_once(capsys):
    from helpers import config

    config._NOTICES.pop("size", None)
    big = tf.zeros([1, 300, 400, 3])
    assert images.fit(big, 100, "content").shape == (1, 75, 100, 3)
    assert images.fit(big, 100, "content").shape == (1, 75, 100, 3)
    assert images.fit(big, None).shape == big.shape
    assert images.fit(big, 1000).shape == big.shape
    out = capsys.readouterr().out
    assert out.count("content: 400x300 px scaled to 100x75 (max_dim=100") == 1, out


def test_check_image_is_the_one_set_of_rules():
    as_uint8 = images.check_image(np.full((20, 30, 3), 255, np.uint8))
    assert as_uint8.shape == (1, 20, 30, 3) and float(tf.reduce_max(as_uint8)) == 1.0
    with pytest.raises(ImageLoadError, match=r"must have shape \[1, H, W, 3\] \(RGB\)"):
        images.check_image(tf.zeros([20, 30, 3]), allow_hwc=False)
    with pytest.raises(ImageLoadError, match="a batch of 2 images"):
        images.check_image(tf.zeros([2, 20, 30, 3]))
    assert images.check_image(tf.zeros([2, 20, 30, 3]), batch=True).shape == (2, 20, 30, 3)
    with pytest.raises(ImageLoadError, match=r"photo must have shape \[B, H, W, 3\] \(RGB\), got \[1, 20, 30, 4\]"):
        images.check_image(tf.zeros([1, 20, 30, 4]), "photo", batch=True)
    with pytest.raises(ValueError, match=r"has values in \[0, 255\]; images are in \[0, 1\]") as info:
        images.check_image(np.linspace(0, 255, 20 * 30 * 3, dtype=np.float32).reshape(20, 30, 3), error=ValueError)
    assert type(info.value) is ValueError
    with pytest.raises(ImageLoadError, match="NaN"):
        images.check_image(np.full((20, 30, 3), np.nan, np.float32))
    with pytest.raises(ImageLoadError, match="30x20 px is too small; at least 32 px"):
        images.check_image(tf.zeros([1, 20, 30, 3]), min_side=32)
    with pytest.raises(ImageLoadError, match="must be float in \\[0, 1\\] or uint8"):
        images.check_image(np.zeros((20, 30, 3), np.int64))


def test_names_match_case_insensitively_and_unknown_ones_get_a_suggestion():
    assert images.resolve("Astronaut") == images.example_path("astronaut")
    assert images.name_of("Grace Hopper") == "grace_hopper"
    with pytest.raises(images.ImageLoadError, match=r"Did you mean 'starry_night'\?"):
        images.load_img("starry_nite")
    with pytest.raises(images.ImageLoadError, match="unknown image name") as err:
        images.load_img("zzzz")
    assert "Did you mean" not in str(err.value)


def test_an_example_file_is_labelled_by_its_example_name():
    assert images.name_of(images.example_path("cat")) == "cat"
    assert images.name_of(str(images.example_path("cat"))) == "cat"


def test_a_too_small_image_says_what_to_do_and_upscale_does_it():
    tiny = np.zeros((20, 24, 3), np.uint8)
    with pytest.raises(images.ImageLoadError, match=r"upscale=True"):
        images.load_img(tiny)
    assert images.load_img(tiny, max_dim=64, upscale=True).shape == (1, 53, 64, 3)


def test_a_truncated_jpeg_says_how_much_of_it_is_there(tmp_path):
    path = tmp_path / "half.jpg"
    Image.fromarray((np.random.default_rng(0).random((80, 60, 3)) * 255).astype(np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match=r"half\.jpg: is truncated or corrupt: the image data ends after about \d+ of its 80 rows"):
        images.load_img(path)
