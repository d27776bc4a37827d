"""Training on many devices and machines: the data split, TF_CONFIG, the local launcher, a killed worker, resuming.

The multi-worker test starts real worker processes on 127.0.0.1 (free ports, a deadline, killed cleanly). Losses of a
2-worker run and of one worker with the same global batch agree at step 1 to float rounding (same weights, same
images); later steps may drift apart by RTOL: the all-reduce adds the two halves of a gradient in another order than
one worker does, and Adam, which divides by the gradient's running magnitude, turns those last-digit differences into
small weight differences.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import config, distributed, feedforward, images

#: Relative tolerance between the losses of 1 and 2 workers after the first step (see the module docstring).
RTOL = 2e-2
TINY = dict(global_batch=4, image_size=32, filters=(4, 4, 8), num_residual=1, checkpoint_every=2, weights="random", style_size=48)


def test_tf_config_and_free_ports():
    ports = distributed.free_ports(3)
    assert len(set(ports)) == 3 and all(p > 0 for p in ports)
    cfg = distributed.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1)
    assert cfg == {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match="worker index 2"):
        distributed.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 2)


def test_multiworker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distributed.make_strategy("multiworker")
    with pytest.raises(ValueError, match="unknown strategy"):
        distributed.make_strategy("tpu-pod")


def test_every_split_of_the_data_holds_the_same_images():
    dataset_fn = distributed.crop_batches(config.IMAGES_DIR / "content", size=32, global_batch=4, seed=5)
    whole = next(iter(dataset_fn(tf.distribute.InputContext(1, 0, 1))))
    halves = [next(iter(dataset_fn(tf.distribute.InputContext(2, i, 2)))) for i in range(2)]
    assert whole.shape == (4, 32, 32, 3) and halves[0].shape == (2, 32, 32, 3)
    # pipeline i takes elements i, i+2, ...: together the two first batches are the one worker's first batch
    np.testing.assert_array_equal(tf.stack([halves[0][0], halves[1][0], halves[0][1], halves[1][1]]).numpy(), whole.numpy())
    assert not np.array_equal(whole[0].numpy(), whole[1].numpy())


def test_an_iterator_cannot_be_split_across_replicas():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        net = feedforward.TransformNet((4, 4, 8), 1)
    with pytest.raises(ValueError, match="tf.data.Dataset"):
        feedforward.train(net, "swirls", batches=iter([tf.zeros([2, 32, 32, 3])]), steps=1, strategy=strategy, weights="random",
                          progress=False)


def test_the_launcher_stops_a_job_at_its_deadline(tmp_path):
    job = distributed.job_config(tmp_path, steps=50, **TINY)
    result = distributed.launch(job, workers=2, timeout=1.0)
    assert not result["ok"] and any("did not finish within" in p for p in result["problems"])
    assert all(w["returncode"] not in (None, 0) for w in result["workers"])


def test_two_workers_match_one_and_resume_after_a_killed_worker(tmp_path):
    steps = 6
    reference = distributed.run_job(distributed.job_config(tmp_path / "one", steps=steps, **TINY))
    job = distributed.job_config(tmp_path / "two", steps=steps, crash={1: 3}, **TINY)

    first = distributed.launch(job, workers=2, timeout=240)
    assert not first["ok"]
    assert first["problems"][0].startswith("worker 1 died after step 3 (signal SIGKILL)")
    assert "worker 0 was stopped" in first["problems"][1] and "resume from the last checkpoint (step 2)" in first["problems"][-1]
    assert distributed.latest_checkpoint_step(tmp_path / "two") == 2

    second = distributed.launch({**job, "crash": {}}, workers=2, timeout=240)
    assert second["ok"], second["problems"]
    summary = second["workers"][0]["summary"]
    assert summary["first_step"] == 3 and summary["steps"] == steps and summary["replicas"] == 2
    losses = distributed.step_losses(tmp_path / "two", 0)
    assert sorted(losses) == list(range(1, steps + 1))
    two = np.array([losses[s] for s in range(1, steps + 1)])
    one = np.array(reference["loss"])
    np.testing.assert_allclose(two[0], one[0], rtol=1e-5)  # same weights, same 4 images, split 2 + 2
    np.testing.assert_allclose(two, one, rtol=RTOL)
    assert distributed.step_losses(tmp_path / "two", 1) == pytest.approx(losses, rel=1e-6), "both workers report one loss"
    assert json.loads((tmp_path / "two" / "job.json").read_text())["strategy"] == "multiworker"
    assert not list((tmp_path / "two" / "checkpoints").glob(".worker-*")), "the other worker's scratch checkpoints were removed"


@pytest.mark.parametrize("setting, value, match", [
    ("steps", -1, r"steps = -1: must be >= 1"),
    ("global_batch", 0, r"global_batch = 0: must be >= 1"),
    ("filters", (0, 0, 0), r"filters\[0\] = 0: must be >= 1"),
    ("filters", (8, 8), r"filters = \(8, 8\): not three channel counts"),
    ("checkpoint_every", -3, r"checkpoint_every = -3: must be >= 0; pass a whole number >= 0 \(0: a checkpoint only at the end\)"),
    ("learning_rate", "2e-3", r"learning_rate = '2e-3': a string, not a number; pass the number itself: learning_rate=2e-3"),
    ("image_size", 8, r"image_size = 8: must be >= 16"),
    ("strategy", "Mirrored", r"strategy = 'Mirrored': unknown strategy; use one of default, mirrored, multiworker. Did you mean 'mirrored'"),
    ("style", "swirl", r"Did you mean 'swirls'"),
    ("crash", {1: 0}, r"crash\[1\] = 0: must be >= 1"),
])
def test_job_config_refuses_a_setting_before_any_worker_starts(tmp_path, setting, value, match):
    with pytest.raises(distributed.JobError, match=match):
        distributed.job_config(tmp_path / "job", **{**TINY, setting: value})
    assert not (tmp_path / "job").exists()


def test_job_config_names_a_file_in_the_way_and_a_broken_photo(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(distributed.JobError, match="file is a file, not a folder"):
        distributed.job_config(tmp_path / "file" / "job", **TINY)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    with pytest.raises(distributed.JobError, match="broken.jpg"):
        distributed.job_config(tmp_path / "job", photos=[tmp_path / "broken.jpg"], **TINY)
    job = distributed.job_config(tmp_path / "job", **TINY)
    with pytest.raises(distributed.JobError, match=r"workers = 3: the job's global_batch=4 does not split evenly"):
        distributed.launch(job, workers=3)
    with pytest.raises(distributed.JobError, match=r"steps = 0: must be >= 1"):
        distributed.launch({**job, "steps": 0}, workers=1)  # a job edited by hand is checked again


def test_a_worker_that_fails_reports_its_own_error(tmp_path):
    style = tmp_path / "style.png"
    images.save_image(images.load_img("swirls", 48), style)
    job = distributed.job_config(tmp_path / "job", steps=2, **{**TINY, "style": str(style)})
    style.unlink()  # moved away after the job was made: every run of it fails the same way
    result = distributed.launch(job, workers=1, timeout=120)
    assert not result["ok"]
    first = result["problems"][0]
    assert first.startswith("worker 0 died before its first step (exit code 1): ImageLoadError: ") and "style.png: no such file" in first
    assert "fail in the same way" in result["problems"][-1] and "starts from step 1" not in " ".join(result["problems"])
