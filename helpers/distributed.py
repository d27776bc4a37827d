"""Training on many devices and many machines with tf.distribute: strategies, TF_CONFIG, a local launcher, checkpoints.

    strategy = distributed.make_strategy("mirrored")   # "default", "mirrored" (GPUs, or CPU halves) or "multiworker"
    with strategy.scope():
        net = feedforward.TransformNet()
        loss = feedforward.PerceptualLoss(style, per_image=True)
    feedforward.train(net, style, loss=loss, batches=distributed.crop_batches(folder, 128, 8), strategy=strategy,
                      checkpoint_dir="build/09/ckpt", checkpoint_every=10)

    result = distributed.launch(job, workers=2)   # the same training in two local processes on 127.0.0.1 (TF_CONFIG)

Every element of the training data is a function of its index alone (stateless random crops and flips), so one
worker with a global batch of B and two workers with B/2 each see the same images in every step: their losses agree.
A job is a dict (see `job_config`); `run_job` runs it in this process, `launch` runs it in worker processes
(``python -m helpers.distributed --job JOB.json --worker I``) with a deadline, and stops them all if one dies.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf

from helpers import config, feedforward, files, folders, images, validate, vgg

#: What `make_strategy` builds.
STRATEGIES = ("default", "mirrored", "multiworker")
#: Seconds a collective operation (the all-reduce of the gradients) waits for the other workers before it fails.
COLLECTIVE_TIMEOUT = 60
#: Seconds the launcher lets the other workers run after one has died, before it stops them.
GRACE = 2.0


class JobError(ValueError):
    """A training job that cannot run as configured; the message names the setting, its value, why and what to do."""


class WorkerError(RuntimeError):
    """A training job could not start or finish; the message names the worker, how it ended and its log file."""


# --- devices and strategies ---------------------------------------------------------------------------------------


def split_cpu(count: int = 2) -> list[str]:
    """Split the CPU into `count` logical devices (call before TensorFlow runs anything); returns their names."""
    if int(count) < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != int(count):
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))
        except RuntimeError as exc:
            have = len(tf.config.list_logical_devices("CPU"))
            if have != int(count):
                raise RuntimeError(f"the CPU is already in use as {have} logical device(s), so it cannot be split into {count} now "
                                   "(TensorFlow fixes its devices when it runs its first operation): restart the kernel or "
                                   "process and call split_cpu first") from exc
    return [d.name for d in tf.config.list_logical_devices("CPU")]


@contextlib.contextmanager
def _quiet():
    """Keep TensorFlow's INFO lines (devices chosen, all-reduce plans) out of the notebook while a strategy is built or runs."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def make_strategy(kind: str = "default", timeout: float = COLLECTIVE_TIMEOUT) -> tf.distribute.Strategy:
    """'default' (one device), 'mirrored' (every GPU, else every logical CPU) or 'multiworker' (the cluster in TF_CONFIG)."""
    with _quiet():
        return _make_strategy(kind, timeout)


def _make_strategy(kind: str, timeout: float) -> tf.distribute.Strategy:
    """make_strategy, without the quieting."""
    if kind not in STRATEGIES:
        raise ValueError(f"unknown strategy {kind!r}; use one of {', '.join(STRATEGIES)}")
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if not os.environ.get("TF_CONFIG"):
        raise ValueError("strategy 'multiworker' reads the cluster from the TF_CONFIG environment variable, which is not set "
                         "(see distributed.tf_config)")
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(timeout))
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct TCP ports that are free on `host` now (the system picks them)."""
    sockets, ports = [], []
    try:
        for _ in range(int(count)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def tf_config(addresses: list[str], index: int) -> dict:
    """The TF_CONFIG of worker `index` in a cluster of workers at `addresses` ('host:port'); worker 0 is the chief."""
    if not 0 <= int(index) < len(addresses):
        raise ValueError(f"worker index {index} is not in a cluster of {len(addresses)} worker(s)")
    return {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": int(index)}}


# --- the input pipeline -------------------------------------------------------------------------------------------


def load_photos(paths, side: int) -> tf.Tensor:
    """The photos as [P, side, side, 3] in [0, 1]: decoded and square-cropped by a tf.data pipeline (parallel, in order)."""
    paths = [str(p) for p in paths]

    def square(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        shape = tf.shape(image)
        short = tf.minimum(shape[0], shape[1])
        image = tf.image.resize_with_crop_or_pad(image, short, short)
        return tf.image.resize(image, (side, side), method="bilinear", antialias=True)

    dataset = tf.data.Dataset.from_tensor_slices(paths).map(square, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    try:
        with folders.decoder_messages():  # a broken file is named below, not by a bare libjpeg line
            return tf.clip_by_value(tf.stack(list(dataset)), 0.0, 1.0)
    except tf.errors.OpError as exc:
        reasons = []
        for path in paths:
            try:
                images.load_img(path, max_dim=None, min_side=1)
            except images.ImageLoadError as error:
                reasons.append(str(error))
        raise ValueError("a training photo could not be decoded: " + ("; ".join(reasons) if reasons else
                         f"{exc.message.splitlines()[0]} (check the files: {', '.join(Path(p).name for p in paths)})")) from None


def crop_batches(source, size: int, global_batch: int, seed: int = 0):
    """A dataset function for feedforward.train: random square crops (50-100 % of a side), resized to size, maybe flipped.

    `source` is a folder or a list of image files. Element k is made from photo k mod P with seeds (seed, k) only, so
    it is the same image on every worker; each input pipeline takes every n-th element (n pipelines) and batches them
    per replica, so the replicas of one step together hold elements k..k+global_batch-1, whatever the split.
    """
    paths = folders.image_files(source) if not isinstance(source, (list, tuple)) else [Path(p) for p in source]
    size, global_batch = int(size), int(global_batch)
    if size < feedforward.MIN_SIDE or global_batch < 1:
        raise ValueError(f"size must be >= {feedforward.MIN_SIDE} and global_batch >= 1, got {size}, {global_batch}")
    photos = load_photos(paths, 2 * size)
    count = int(photos.shape[0])

    def crop(k):
        seeds = tf.stack([tf.constant(int(seed), tf.int64), k])
        photo = tf.gather(photos, k % count)
        side = tf.random.stateless_uniform([], seed=seeds, minval=size, maxval=2 * size + 1, dtype=tf.int32)
        piece = tf.image.stateless_random_crop(photo, tf.stack([side, side, 3]), seed=seeds + 1)
        piece = tf.image.resize(piece[None], (size, size), method="bilinear", antialias=True)[0]
        piece = tf.image.stateless_random_flip_left_right(piece, seed=seeds + 2)
        return tf.ensure_shape(tf.clip_by_value(piece, 0.0, 1.0), [size, size, 3])

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        dataset = tf.data.Dataset.range(2**62).shard(context.num_input_pipelines, context.input_pipeline_id)
        dataset = dataset.map(crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.batch(context.get_per_replica_batch_size(global_batch), drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    return dataset_fn


# --- one training job ---------------------------------------------------------------------------------------------


def job_config(out_dir, *, style="swirls", photos=None, steps: int = 20, global_batch: int = 4, image_size: int = 64,
               filters=(8, 8, 16), num_residual: int = 2, learning_rate: float = 2e-3, seed: int = 0, weights="auto",
               checkpoint_every: int = 5, style_size: int = 128, strategy: str = "default", devices: int = 2,
               crash: dict | None = None) -> dict:
    """A training job as a plain dict (it travels to the workers as JSON); `crash` = {worker: step} kills that worker there.

    Every setting is checked here, before any worker starts: JobError names the one that is wrong. The style image and
    every photo are opened once, so a missing or broken file is named now rather than in a worker's log.
    """
    strategy = validate.choice("strategy", strategy, STRATEGIES, error=JobError)
    out = validate.folder_path("out_dir", out_dir, JobError)
    settings = _check_settings(steps=steps, global_batch=global_batch, image_size=image_size, filters=filters, num_residual=num_residual,
                               learning_rate=learning_rate, seed=seed, checkpoint_every=checkpoint_every, style_size=style_size,
                               strategy=strategy, devices=devices, crash=crash)
    if not (isinstance(weights, (str, os.PathLike))):
        raise validate.refuse("weights", weights, "not a weights name or file", f"use one of {', '.join(vgg.WEIGHT_CHOICES)}", JobError)
    try:
        vgg.resolve_weights(weights)
        photos = [str(p) for p in (folders.image_files(config.IMAGES_DIR / "content") if photos is None else
                                   (folders.image_files(photos) if not isinstance(photos, (list, tuple)) else photos))]
        if not photos:
            raise ValueError("photos: an empty list; give at least one training photo")
        for path in [style, *photos]:
            images.load_img(path, max_dim=None, min_side=1)  # a broken or missing file is named here, not in a worker's log
    except ValueError as exc:
        raise JobError(str(exc)) from None
    style_path = images.resolve(style)
    return {"out_dir": str(out), "style": str(style_path) if isinstance(style_path, Path) else style, "photos": photos,
            **settings, "weights": str(weights), "strategy": strategy}


def _check_settings(*, steps, global_batch, image_size, filters, num_residual, learning_rate, seed, checkpoint_every, style_size,
                    strategy, devices, crash) -> dict:
    """A job's numbers, checked (JobError names the first wrong one) and as they travel in the job's JSON."""
    def count(name, value, low=1, **kwargs):
        return validate.number(name, value, low=low, integer=True, error=JobError, **kwargs)

    settings = {
        "steps": count("steps", steps), "global_batch": count("global_batch", global_batch),
        "image_size": count("image_size", image_size, feedforward.MIN_SIDE), "num_residual": count("num_residual", num_residual, 0),
        "learning_rate": validate.number("learning_rate", learning_rate, low=0, low_open=True, high=1, error=JobError),
        "seed": count("seed", seed, 0), "checkpoint_every": count("checkpoint_every", checkpoint_every, 0,
                                                                  todo="pass a whole number >= 0 (0: a checkpoint only at the end)"),
        "style_size": count("style_size", style_size, images.MIN_SIDE), "devices": count("devices", devices),
    }
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") or len(filters) != 3:
        raise validate.refuse("filters", filters, "not three channel counts", "pass three whole numbers >= 1, e.g. (8, 8, 16)", JobError)
    settings["filters"] = [count(f"filters[{i}]", f) for i, f in enumerate(filters)]
    if strategy == "mirrored" and settings["global_batch"] % settings["devices"]:
        raise validate.refuse("global_batch", global_batch, f"does not split evenly over devices={devices}",
                              f"pass a multiple of {devices}", JobError)
    if not isinstance(crash, (dict, type(None))):
        raise validate.refuse("crash", crash, "not a dict", "pass None, or {worker: step}", JobError)
    # keys are worker indices (strings once the job has been through JSON)
    settings["crash"] = {str(count(f"crash key {k!r}", int(k) if isinstance(k, str) and k.isdigit() else k, 0)): count(f"crash[{k!r}]", v)
                         for k, v in (crash or {}).items()}
    return settings


def _log_path(job: dict, worker: int) -> Path:
    """The per-step log of one worker (JSON lines, appended as it trains, kept when the worker dies)."""
    return Path(job["out_dir"]) / f"worker-{worker}.jsonl"


def run_job(job: dict, strategy: tf.distribute.Strategy | None = None, worker: int = 0) -> dict:
    """Train the job's network under `strategy` in this process; returns its summary (also written to out_dir/worker-I.json)."""
    strategy = strategy or tf.distribute.get_strategy()
    out = Path(job["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    style = images.load_img(job["style"], max_dim=job["style_size"])
    with strategy.scope():
        net = feedforward.TransformNet(job["filters"], job["num_residual"], seed=job["seed"])
        loss = feedforward.PerceptualLoss(style, weights=job["weights"], precision="float32", per_image=True)
    crash_at = job["crash"].get(str(worker))
    log = _log_path(job, worker)

    def record(step, _net, history):
        entry = {"step": step, "loss": history["loss"][-1], "seconds": history["seconds"][-1],
                 **{k: history[k][-1] for k in ("style", "content", "tv")}}
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
        if crash_at is not None and step == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)  # as a machine that loses power: no clean-up, no message

    with _quiet():
        history = feedforward.train(net, style, loss=loss, batches=crop_batches(job["photos"], job["image_size"], job["global_batch"],
                                                                                job["seed"]),
                                    steps=job["steps"], learning_rate=job["learning_rate"], strategy=strategy,
                                    checkpoint_dir=out / "checkpoints", checkpoint_every=job["checkpoint_every"],
                                    preview_every=1, callback=record, progress=False)
    seconds = history["seconds"]
    summary = {"worker": worker, "strategy": type(strategy).__name__, "replicas": history["replicas"],
               "first_step": history["first_step"], "steps": history["steps"], "loss": history["loss"],
               "stopped": history["stopped"], "total_seconds": history["total_seconds"],
               # steady speed: the first step of a run traces the graph, so it is left out (unless it is the only one)
               "steps_per_second": ((len(seconds) - 1) / (seconds[-1] - seconds[0]) if len(seconds) >= 2
                                    else 1.0 / seconds[0] if seconds else None)}
    files.write_atomic(out / f"worker-{worker}.json", json.dumps(summary, indent=1))
    return summary


def step_losses(out_dir, worker: int = 0) -> dict[int, float]:
    """{step: loss} from a worker's per-step log; a step trained twice (after a restart) keeps its latest loss."""
    return _step_log(out_dir, worker, "loss")


def _step_log(out_dir, worker: int, field: str, skip=(json.JSONDecodeError,)) -> dict[int, float]:
    """{step: entry[field]} from a worker's per-step log, sorted; a step logged twice keeps its latest entry."""
    path = Path(out_dir) / f"worker-{worker}.jsonl"
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(*skip):  # a line cut short by a killed worker
            entry = json.loads(line)
            values[int(entry["step"])] = float(entry[field])
    return dict(sorted(values.items()))


def latest_checkpoint_step(out_dir) -> int | None:
    """The step of the last checkpoint the chief wrote in out_dir/checkpoints, or None."""
    latest = tf.train.latest_checkpoint(str(Path(out_dir) / "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else None


# --- the launcher -------------------------------------------------------------------------------------------------


def _signal_name(code: int) -> str:
    """How a process ended, from its return code: 'exit code N' or 'signal SIGKILL'."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"exit code {code}"


def _stop(process: subprocess.Popen) -> None:
    """Terminate one worker process we started (SIGTERM, then SIGKILL after 5 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_reason(log_path: Path) -> str | None:
    """The exception a worker's log ends with ('ValueError: ...'), or None when it ended without one (killed, lost power)."""
    try:
        lines = [line.rstrip() for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return None
    if not any(line.startswith("Traceback (most recent call last)") for line in lines):
        return None
    last = len(lines) - 1 - [line.startswith("Traceback") for line in lines][::-1].index(True)
    tail = [line for line in lines[last + 1:] if line and not line.startswith((" ", "\t"))]
    return re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", tail[-1])[:400] if tail else None  # "helpers.images.ImageLoadError: " -> "ImageLoadError: "


def launch(job: dict, workers: int = 2, timeout: float = 300.0, grace: float = GRACE) -> dict:
    """Run `job` as `workers` local processes on 127.0.0.1 (MultiWorkerMirroredStrategy through TF_CONFIG), within `timeout` s.

    If one worker dies, the others are stopped after `grace` seconds (their all-reduce cannot finish without it); at the
    deadline every worker is stopped. Returns {'ok', 'seconds', 'problems': [sentences], 'workers': [{'index',
    'returncode', 'ended', 'log', 'summary'}]}; the per-step losses stay in out_dir (see step_losses).
    """
    workers = validate.number("workers", workers, low=1, high=64, integer=True, error=JobError)
    timeout = validate.number("timeout", timeout, low=0, low_open=True, error=JobError, todo="pass a number of seconds > 0")
    grace = validate.number("grace", grace, low=0, error=JobError, todo="pass a number of seconds >= 0")
    missing = [key for key in job_config.__kwdefaults__ if key not in job] if isinstance(job, dict) else None
    if missing is None or "out_dir" not in job or missing:
        raise validate.refuse("job", job, "not a job made by job_config", "build it with distributed.job_config(out_dir, ...)", JobError)
    _check_settings(**{k: job[k] for k in inspect.signature(_check_settings).parameters})  # a job edited by hand is checked again
    if job["global_batch"] % workers:
        raise validate.refuse("workers", workers, f"the job's global_batch={job['global_batch']} does not split evenly over them",
                              "use a number of workers that divides global_batch, or change global_batch", JobError)
    out = Path(job["out_dir"])
    (out / "logs").mkdir(parents=True, exist_ok=True)
    job = {**job, "strategy": "multiworker" if int(workers) > 1 else job["strategy"]}
    job_file = files.write_atomic(out / "job.json", json.dumps(job, indent=1))
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    processes, logs = [], []
    start = time.perf_counter()
    problems: list[str] = []
    try:
        for index in range(int(workers)):
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(config.ROOT), os.environ.get("PYTHONPATH")]))}
            if int(workers) > 1:
                env["TF_CONFIG"] = json.dumps(tf_config(addresses, index))
            else:
                env.pop("TF_CONFIG", None)
            log_path = out / "logs" / f"worker-{index}.log"
            logs.append(log_path)
            with open(log_path, "a", encoding="utf-8") as log:
                processes.append(subprocess.Popen([sys.executable, "-m", "helpers.distributed", "--job", str(job_file), "--worker", str(index)],
                                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=config.ROOT))
        first_death = None
        while any(p.poll() is None for p in processes):
            now = time.perf_counter()
            dead = [i for i, p in enumerate(processes) if p.poll() not in (None, 0)]
            if dead and first_death is None:
                first_death = now
            if first_death is not None and now - first_death > grace:
                for i, p in enumerate(processes):
                    if p.poll() is None:
                        _stop(p)
                        problems.append(f"worker {i} was stopped by the launcher: the job cannot go on without every worker "
                                        "(each step's all-reduce waits for all of them)")
                break
            if now - start > timeout:
                for p in processes:
                    _stop(p)
                problems.append(f"the job did not finish within {timeout:.0f} s, so every worker was stopped")
                break
            time.sleep(0.1)
    finally:
        for p in processes:  # also on Ctrl-C or an error here: never leave a worker running
            _stop(p)
    seconds = time.perf_counter() - start
    report, errors = [], []
    for index, (p, log_path) in enumerate(zip(processes, logs)):
        summary_path = out / f"worker-{index}.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() and p.returncode == 0 else None
        if p.returncode not in (0, None) and not any(s.startswith(f"worker {index} was stopped") for s in problems):
            steps = step_losses(out, index)
            where = f" after step {max(steps)}" if steps else " before its first step"
            reason = _log_reason(log_path) if p.returncode > 0 else None
            errors.append(reason)
            problems.insert(0, f"worker {index} died{where} ({_signal_name(p.returncode)})" + (f": {reason}" if reason else "")
                            + f"; its log: {log_path}")
        report.append({"index": index, "returncode": p.returncode, "ended": _signal_name(p.returncode), "log": str(log_path),
                       "summary": summary})
    if any(errors):  # an exception in the worker's own code: running the job again would end the same way
        problems.append("running the job again would fail in the same way: correct what the error above names first")
    elif problems:
        last = latest_checkpoint_step(out)
        problems.append(f"run the job again to resume from the last checkpoint (step {last})" if last is not None
                        else "no checkpoint was written yet: running the job again starts from step 1")
    return {"ok": not problems and all(r["returncode"] == 0 for r in report), "seconds": seconds, "problems": problems,
            "workers": report}


def main(argv=None) -> int:
    """Worker entry point: python -m helpers.distributed --job JOB.json --worker I (TF_CONFIG set by the launcher)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", required=True, help="the job's JSON file (written by launch)")
    parser.add_argument("--worker", type=int, default=0, help="this worker's index in the cluster")
    args = parser.parse_args(argv)
    job = json.loads(Path(args.job).read_text(encoding="utf-8"))
    if job["strategy"] == "mirrored":
        split_cpu(job["devices"])
    strategy = make_strategy(job["strategy"])
    summary = run_job(job, strategy, args.worker)
    print(json.dumps({k: v for k, v in summary.items() if k != "loss"}), flush=True)
    return 0


def step_seconds(out_dir, worker: int = 0) -> dict[int, float]:
    """{step: seconds since the run started} from a worker's per-step log; a step trained twice keeps its latest time."""
    return _step_log(out_dir, worker, "seconds", skip=(json.JSONDecodeError, KeyError))


if __name__ == "__main__":
    sys.exit(main())
