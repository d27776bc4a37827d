"""A folder through a model: tf.data pipeline and plain loop agree, batches equal one-by-one, broken files named."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import feedforward, folders, images


@pytest.fixture(scope="module")
def net():
    return feedforward.TransformNet((4, 8, 8), 2, seed=3)


@pytest.fixture()
def folder(tmp_path):
    """Five photos in two sizes, a truncated JPEG, a text file named .png, and a file that is not an image at all."""
    src = tmp_path / "photos"
    src.mkdir()
    for i, name in enumerate(["astronaut", "cat", "coffee"]):
        images.tensor_to_image(images.load_img(name, 48)).resize((48, 36)).save(src / f"{i}_{name}.png")
    for i, name in enumerate(["rocket", "grace_hopper"]):
        images.tensor_to_image(images.load_img(name, 80)).resize((80, 80)).save(src / f"square_{i}.png")  # scaled to 48x48
    images.tensor_to_image(images.load_img("cat", 48)).save(tmp_path / "whole.jpg")
    (src / "truncated.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:300])
    (src / "notes.png").write_text("not a picture")
    (src / "readme.txt").write_text("ignored: not an image name")
    return src


def test_a_batch_gives_each_image_what_it_gets_alone(net):
    batch = tf.concat([images.load_img(n, 40, min_side=16)[:, :24, :40] for n in ("astronaut", "cat", "coffee")], axis=0)
    together = net.infer(batch).numpy()
    alone = np.concatenate([net.infer(batch[i : i + 1]).numpy() for i in range(3)])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # the failure mode of tensorflow/hub #590: pad a smaller image into the batch and instance norm sees the padding
    small = batch[1:2, :16, :32]
    padded = tf.concat([batch[:1], tf.pad(small, [[0, 0], [0, 8], [0, 8], [0, 0]])], axis=0)
    leaked = net.infer(padded).numpy()[1:2, :16, :32]
    assert np.abs(leaked - net.infer(small).numpy()).mean() > 1e-3


def test_pipeline_and_loop_write_the_same_pictures_and_name_the_broken_files(net, folder, tmp_path):
    piped = folders.stylize_folder(net.infer, folder, tmp_path / "piped", max_dim=48, batch_size=4)
    looped = folders.stylize_folder_loop(net.infer, folder, tmp_path / "looped", max_dim=48)
    one_by_one = folders.stylize_folder(net.infer, folder, tmp_path / "single", max_dim=48, batch_size=1)
    for report in (piped, looped, one_by_one):
        assert [p.name for p in report["written"]] == ["0_astronaut.png", "1_cat.png", "2_coffee.png", "square_0.png", "square_1.png"]
        assert set(report["skipped"]) == {"notes.png", "truncated.jpg"}
        assert "not an image" in report["skipped"]["notes.png"] and "truncated" in report["skipped"]["truncated.jpg"].lower()
    assert piped["batches"] == 2 and one_by_one["batches"] == 5  # equal sizes grouped: three 48x36, two 48x48
    for a, b, c in zip(piped["written"], one_by_one["written"], looped["written"]):
        x, y, z = (np.asarray(Image.open(p), np.int16) for p in (a, b, c))
        assert np.abs(x - y).max() <= 1, f"{a.name}: batched and one-by-one outputs differ"
        assert np.abs(x - z).mean() < 2.0, f"{a.name}: pipeline (TF decode) and loop (PIL decode) differ"


def test_one_at_a_time_wraps_a_single_image_model():
    calls = []

    def single(image):
        assert image.shape[0] == 1
        calls.append(1)
        return 1.0 - image

    out = folders.one_at_a_time(single)(tf.zeros([3, 8, 8, 3]))
    assert out.shape == (3, 8, 8, 3) and len(calls) == 3 and float(tf.reduce_min(out)) == 1.0


def test_output_names_do_not_collide(tmp_path):
    names = folders.output_names([tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "b.gif"])
    assert sorted(names.values()) == ["a_jpg.png", "a_png.png", "b.png"]


def test_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        folders.image_files(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no image files"):
        folders.image_files(tmp_path)


def test_a_broken_jpeg_is_named_by_the_course_alone(tmp_path, capfd):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)).save(tmp_path / "good.png")
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(tmp_path / "cut.jpg")
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    capfd.readouterr()
    report = folders.stylize_folder(lambda batch: batch, tmp_path, tmp_path / "out", max_dim=64)
    printed = capfd.readouterr()
    assert [p.name for p in report["written"]] == ["good.png"]
    assert "rows" in report["skipped"]["cut.jpg"] and "bytes not processed" not in report["skipped"]["cut.jpg"]
    # libjpeg's own line ("Input file read error", "Improper call to JPEG library in state 201") does not reach the console
    assert "JPEG" not in printed.err and "Input file read error" not in printed.err, printed.err


def test_bad_arguments_are_refused_before_a_file_is_read(tmp_path):
    Image.new("RGB", (40, 40)).save(tmp_path / "a.png")
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ValueError, match=r"batch_size = '8': a string"):
        folders.stylize_folder(lambda b: b, tmp_path, tmp_path / "out", batch_size="8")
    with pytest.raises(ValueError, match=r"max_dim = 8: must be >= 32"):
        folders.stylize_folder_loop(lambda b: b, tmp_path, tmp_path / "out", max_dim=8)
    with pytest.raises(ValueError, match=r"out_dir = .*taken is a file, not a folder"):
        folders.stylize_folder(lambda b: b, tmp_path, tmp_path / "taken" / "out")
    with pytest.raises(ValueError, match="model = 'hub': not callable"):
        folders.stylize_folder("hub", tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
