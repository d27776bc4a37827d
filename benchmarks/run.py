"""Speed and time-to-quality of the course's optimiser, the TF tutorial's recipe, and the offline Magenta model.

    python benchmarks/run.py                  # full run (make bench): writes benchmarks/RESULTS.md and plots
    python benchmarks/run.py --resume         # reuse the measurements an interrupted run finished
    python benchmarks/run.py --quick          # tiny sizes, about a minute of work (make bench-quick, and the tests)

Every measurement runs in a fresh subprocess, so its peak memory (ru_maxrss) is its own. Each finished
measurement is kept in build/bench-cache/ so that --resume can pick up after an interruption. Nothing here is
written by hand: RESULTS.md and the plots come from the numbers measured in the run. A run whose VGG19 weights
are not the trained ones writes RESULTS-random-weights.md instead, headed by a warning, and never RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if __name__ == "__main__":
    # TensorFlow's C++ start-up log (oneDNN, CUDA probing) goes to a file, so the console shows only the benchmark.
    from helpers import config

    with config.native_log_to(ROOT / "build" / "logs" / "bench.log"):
        import tensorflow as tf

        tf.config.list_physical_devices()
        tf.zeros([1]) + 1  # the first op probes the devices and logs once more

from benchmarks import baseline  # noqa: E402
from helpers import timing  # noqa: E402

#: Sizes and step counts of a full run and of a quick run. Time to quality runs at 256 px first, where every
#: candidate recipe is tried; at 512 px only the baseline and the course's default run (the baseline alone takes
#: 1000 Adam steps there). Every recipe stops once it reaches the baseline's final loss, or after `max_steps`.
#: The full plan leaves out what the quick one still checks (the other recipes, coarse to fine, a step timed in the
#: other precision, the memory run with a long L-BFGS memory): its two baselines alone take 1000 Adam steps each.
#: --candidates adds the other recipes at 256 px, and the short L-BFGS memory at 512 px (the only candidate whose
#: bookkeeping, measured in section 1, changes with the image's size).
PLANS = {
    "full": {
        "step_sizes": [256, 512],
        "step_repeats": 5,
        "breakdown_size": 512,
        "other_precision_size": None,
        "ttq": [
            {"size": 256, "baseline_steps": 1000, "max_steps": 300, "candidates": False, "with_candidates": True},
            {"size": 512, "baseline_steps": 1000, "max_steps": 300, "candidates": False, "with_candidates": "memory"},
        ],
        "hub_sizes": [256, 512, 1024],
        "hub_repeats": 5,
        "memory_size": 1024,
        "memory_steps": 3,
        "memory_variants": False,
        "bookkeeping": {"size": 512, "memories": [10, 50], "iterations": 80},
        "matmul_n": 4096,
    },
    "quick": {
        "step_sizes": [64],
        "step_repeats": 2,
        "breakdown_size": 64,
        "other_precision_size": 64,
        "ttq": [{"size": 64, "baseline_steps": 10, "max_steps": 10, "candidates": True, "c2f": ([48, 64], [5, 10])}],
        "hub_sizes": [64],
        "hub_repeats": 2,
        "memory_size": 96,
        "memory_steps": 2,
        "memory_variants": True,
        "bookkeeping": {"size": 64, "memories": [10, 50], "iterations": 70},
        "matmul_n": 512,
    },
}

CONTENT, STYLE = "astronaut", "swirls"
#: The RESULTS.md file name of a run whose VGG19 weights are not trained (it never overwrites the real results).
RANDOM_RESULTS = "RESULTS-random-weights.md"


# ------------------------------------------------------------------------------------------------ workers


def _peak_mb() -> float:
    """This process's peak resident memory in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vgg_flops(height: int, width: int, last_layer: str = "block5_conv2") -> float:
    """Multiply-add FLOPs of VGG19's convolutions up to `last_layer`, forward plus input gradient (x2)."""
    from helpers import vgg

    flops, h, w, c_in = 0.0, height, width, 3
    channels = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    for name in vgg.ALL_LAYERS:
        block = int(name[5])
        if name.endswith("pool"):
            h, w = h // 2, w // 2
            continue
        c_out = channels[block]
        flops += 2.0 * h * w * 9 * c_in * c_out
        c_in = c_out
        if name == last_layer:
            break
    return 2.0 * flops


def work_matmul(n: int, repeats: int = 5) -> dict:
    """Seconds for an n x n float32 matmul in TF; returns samples and GFLOP/s."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda x, y: tf.matmul(x, y))
    samples = timing.time_calls(lambda: f(a, b).numpy(), repeats)
    return {"samples": samples, "gflops": 2 * n**3 / statistics.median(samples) / 1e9, "peak_mb": _peak_mb()}


def work_precision() -> dict:
    """What precision="auto" decides on this machine, measured afresh (not read from the course cache)."""
    from helpers import precision, vgg

    record = precision._decide({**precision.measure(), "flags": precision.native_bf16_flags()})
    return {**record, "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


def _square_inputs(size: int):
    """The benchmark's content and style at `size` px, the content made square so the FLOP count is exact."""
    import tensorflow as tf

    from helpers import images

    content = tf.image.resize(images.load_example(CONTENT, max_dim=size), (size, size))
    return content, images.load_example(STYLE, max_dim=size)


def work_step(size: int, repeats: int, precision: str = "float32", breakdown: bool = False) -> dict:
    """Per-step seconds at `size`: the course's L-BFGS evaluation, an Adam step and a bare VGG19 pass (and where the difference goes)."""
    import numpy as np
    import tensorflow as tf

    from helpers import losses, optimize, vgg

    content, style = _square_inputs(size)
    settings = optimize.resolve_settings()

    def problem_with(extractor):
        return optimize.StyleTransferProblem(
            extractor, content, [style], [1.0], style_weight=settings["style_weight"], content_weight=settings["content_weight"],
            tv_weight=settings["tv_weight"], form=settings["form"],
        )

    extractor = vgg.StyleContentModel(precision=precision)
    problem = problem_with(extractor)
    x = np.asarray(content, np.float64).ravel()

    def lbfgs_evaluation(problem=problem):
        total, _, grad = problem.loss_and_grads(tf.constant(x.reshape(content.shape), tf.float32))
        return float(total), np.asarray(grad, np.float64).ravel()

    def input_gradient(fn):
        """A tf.function returning d fn(image) / d image."""
        @tf.function(reduce_retracing=True)
        def grad(image):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = fn(image)
            return tape.gradient(loss, image)

        return lambda: grad(tf.constant(x.reshape(content.shape), tf.float32)).numpy()

    def cast_in(image):
        return vgg.preprocess(image) if precision == "float32" else tf.cast(vgg.preprocess(image), precision)

    bare_model = vgg.vgg_layers([vgg.CONTENT_LAYERS[-1]], precision=precision)
    bare_pass = input_gradient(lambda image: tf.reduce_sum(tf.cast(bare_model(cast_in(image)), tf.float32)))

    def timed(fn):
        return timing.time_calls(fn, repeats, warmups=2)  # two warm-ups: tracing, then allocator

    result = {"size": size, "precision": precision, "lbfgs_eval": timed(lbfgs_evaluation), "bare_vgg": timed(bare_pass)}
    result["adam_step"] = optimize.time_per_step(content, style, optimizer="adam", steps=repeats + 1, precision=precision)
    if breakdown:
        # Each row adds one piece of the L-BFGS evaluation to the bare pass, so the differences show where time goes.
        names = vgg.STYLE_LAYERS + vgg.CONTENT_LAYERS
        taps = vgg.vgg_layers(names, precision=precision)

        def grams_and_content(features):
            features = [tf.cast(f, tf.float32) for f in features]
            return tf.add_n([tf.reduce_sum(losses.gram_matrix(f)) for f in features[:-1]] + [tf.reduce_sum(features[-1])])

        steps = {
            "five style taps + content (sum of features)": lambda image: tf.add_n(
                [tf.reduce_sum(tf.cast(f, tf.float32)) for f in taps(cast_in(image))]),
            "+ Gram matrices": lambda image: grams_and_content(taps(cast_in(image))),
            "+ the losses (the whole objective, in TF)": lambda image: problem._losses(image)[0],
        }
        result["breakdown"] = {label: timed(input_gradient(fn)) for label, fn in steps.items()}
        result["breakdown"]["+ scipy's float64 boundary (the L-BFGS evaluation)"] = result["lbfgs_eval"]
        recompute_problem = problem_with(vgg.StyleContentModel(precision=precision, recompute=True))
        result["recompute_eval"] = timed(lambda: lbfgs_evaluation(recompute_problem))
    result.update(gflop=_vgg_flops(size, size) / 1e9, weights=vgg.weights_kind(), peak_mb=_peak_mb())
    return result


def _hub_start(content, style) -> tuple:
    """The offline Magenta model's stylisation of `content` (the start image of one recipe) and the seconds it took."""
    import tensorflow as tf

    from helpers import hub, images

    module = hub.load_hub_module("offline")  # loading the model is not timed; the VGG19 load is not timed either
    start = time.perf_counter()
    out = images.clip_0_1(tf.convert_to_tensor(module(content, tf.image.resize(style, (256, 256)))[0], tf.float32))
    return out, time.perf_counter() - start


def work_ttq(size: int, recipe: str, steps, scales=None, target=None, lbfgs_memory=None, init="content", precision="float32") -> dict:
    """Run one recipe on the TF tutorial's objective at `size` (stopping at full size once the loss <= `target`); return its loss history.

    `recipe` is "baseline" (the tutorial's Adam) or "lbfgs" (optimize.transfer with L-BFGS, the given memory, start and
    precision; lbfgs_memory=None and precision="auto" are the course's defaults). With init="hub" the run starts from
    the offline Magenta model's output, and the seconds that stylisation took are added to every time in the history.
    """
    from helpers import images, optimize, vgg

    content = images.load_example(CONTENT, max_dim=size)
    style = images.load_example(STYLE, max_dim=size)
    if recipe == "baseline":
        history = baseline.run(content, style, steps=steps)
    else:
        full_side = max(content.shape[1:3])
        objective = {k: baseline.OBJECTIVE[k] for k in ("form", "style_weight", "content_weight", "tv_weight")}
        head_start = 0.0
        if init == "hub":
            init, head_start = _hub_start(content, style)

        def stop_at_target(step, image, parts):
            # transfer() treats KeyboardInterrupt as a clean stop that keeps the history; once the target is
            # reached at full size, the rest of the run would not change the time to quality.
            if max(image.shape[1:3]) == full_side and parts["total"] <= target:
                raise KeyboardInterrupt

        with contextlib.redirect_stdout(io.StringIO()):  # transfer() reports the stop as an interruption; it is not one
            result = optimize.transfer(
                content, style, optimizer="lbfgs", steps=steps, scales=scales, progress=False, init=init,
                lbfgs_memory=lbfgs_memory, precision=precision,
                callback=None if target is None else stop_at_target, callback_every=1, **objective,
            )
        history = {k: result.history[k] for k in ("total", "scale", "step")}
        history["seconds"] = [t + head_start for t in result.history["seconds"]]
        history["full_side"] = full_side
        history["head_start"] = head_start
        history["lbfgs_memory"] = result.settings["lbfgs_memory"]
        history["precision"] = result.settings["precision"]
        history["evaluations"] = result.settings.get("lbfgs_evaluations")
        history["restarts"] = result.settings.get("lbfgs_restarts")
        # The loss of the final image under the float32 objective (a bfloat16 run's history uses its own rounded features).
        history["final_float32"] = optimize.evaluate(result.image, content, style, **objective)["total"]
    history["peak_mb"] = _peak_mb()
    history["weights"] = vgg.weights_kind()
    return history


def _onnx_session(path: Path):
    """An onnxruntime session whose image inputs accept any height and width."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    for inp in model.graph.input:
        dims = inp.type.tensor_type.shape.dim
        if inp.name == "content_image":
            dims[1].dim_param, dims[2].dim_param = "height", "width"
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the declared 384x384 output shape no longer applies; do not warn about it
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def work_hub(sizes, repeats: int) -> dict:
    """Median seconds of the offline Magenta model in TF and in onnxruntime, per content size."""
    import numpy as np
    import tensorflow as tf

    from helpers import hub, images, magenta

    module = hub.load_hub_module("offline")
    style = tf.image.resize(images.load_example(STYLE, max_dim=256), (256, 256))
    predict = _onnx_session(magenta.PREDICT_ONNX)
    transform = _onnx_session(magenta.TRANSFORM_ONNX)
    p_in = predict.get_inputs()[0].name
    t_names = [i.name for i in transform.get_inputs()]
    out = {}
    for size in sizes:
        content = tf.image.resize(images.load_example(CONTENT, max_dim=size), (size, size))
        c_np, s_np = content.numpy(), style.numpy()

        def run_tf(content=content):
            return module(tf.constant(content), tf.constant(style))[0].numpy()

        def run_ort(c_np=c_np, s_np=s_np):
            vec = predict.run(None, {p_in: s_np})[0]
            feeds = {name: (c_np if name == "content_image" else vec) for name in t_names}
            return transform.run(None, feeds)[0]

        results = {}
        for label, fn in (("tf", run_tf), ("onnxruntime", run_ort)):
            results[label] = timing.time_calls(fn, repeats)
        results["mean_abs_diff"] = float(np.mean(np.abs(run_tf() - run_ort())))
        out[str(size)] = results
    out["peak_mb"] = _peak_mb()
    return out


def work_memory(size: int, steps: int, recompute=False, lbfgs_memory=None, precision="auto") -> dict:
    """Peak memory of an L-BFGS optimisation at `size` px (course defaults unless told otherwise)."""
    import tensorflow as tf

    from helpers import images, optimize, vgg

    content = tf.image.resize(images.load_example(CONTENT, max_dim=size), (size, size))
    style = images.load_example(STYLE, max_dim=size)
    t = time.perf_counter()
    result = optimize.transfer(content, style, steps=steps, progress=False, recompute=recompute, lbfgs_memory=lbfgs_memory,
                               precision=precision)
    return {"size": size, "steps": steps, "seconds": time.perf_counter() - t, "final_loss": result.final_loss,
            "recompute": result.settings["recompute"], "lbfgs_memory": result.settings["lbfgs_memory"],
            "precision": result.settings["precision"], "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


def work_bookkeeping(size: int, memories, iterations: int) -> dict:
    """Seconds scipy's L-BFGS-B spends outside the objective, on as many [0, 1]-bounded variables as a `size` px image.

    The objective is a cheap stand-in (a separable quadratic with a ripple, NumPy, float64), so what is timed is
    scipy's own work: the bounds' set-up before the first iteration, and each iteration's Cauchy point, subspace
    step and memory update. Per-iteration seconds are taken over the iterations after the memory has filled.
    """
    import numpy as np
    from scipy.optimize import minimize

    n = size * size * 3
    rng = np.random.default_rng(0)
    target, curvature = rng.uniform(0.2, 0.8, n), rng.uniform(0.5, 2.0, n)
    out = {"size": size, "variables": n, "iterations": iterations, "memories": {}}
    for m in memories:
        if iterations < m + 10:
            raise ValueError(f"{iterations} iterations leave too few after memory {m} has filled")
        in_fun, stamps = [0.0], []

        def fun(x, in_fun=in_fun):
            t0 = time.perf_counter()
            d = x - target
            value = float(np.sum(curvature * d * d) + 0.1 * np.sum(np.sin(5 * x)))
            grad = 2 * curvature * d + 0.5 * np.cos(5 * x)
            in_fun[0] += time.perf_counter() - t0
            return value, grad

        def on_iteration(_, stamps=stamps, in_fun=in_fun):
            stamps.append((time.perf_counter(), in_fun[0]))

        start = time.perf_counter()
        minimize(fun, rng.uniform(0, 1, n), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * n, callback=on_iteration,
                 options={"maxiter": iterations, "maxcor": m, "ftol": 0.0, "gtol": 0.0})
        if len(stamps) < m + 10:
            raise RuntimeError(f"L-BFGS-B stopped after {len(stamps)} iterations; the stand-in objective needs {m + 10}")
        (t_first, f_first), (t_a, f_a), (t_z, f_z) = stamps[0], stamps[m], stamps[-1]
        out["memories"][str(m)] = {
            "first_iteration": (t_first - start) - f_first,  # set-up plus the first iteration's own work
            "per_iteration": ((t_z - t_a) - (f_z - f_a)) / (len(stamps) - 1 - m),
        }
    out["peak_mb"] = _peak_mb()
    return out


def work_memory_stages(size: int, recompute: bool) -> dict:
    """Peak resident memory after each stage of a `size` px evaluation (import, network, targets, two evaluations)."""
    peaks = {"Python, TensorFlow and the course's helpers imported": _peak_mb()}
    import tensorflow as tf

    from helpers import optimize, vgg

    content, style = _square_inputs(size)
    peaks["the content and style images loaded"] = _peak_mb()
    extractor = vgg.StyleContentModel(precision="float32", recompute=recompute)
    peaks["VGG19 built (float32)"] = _peak_mb()
    settings = optimize.resolve_settings()
    problem = optimize.StyleTransferProblem(
        extractor, content, [style], [1.0], style_weight=settings["style_weight"], content_weight=settings["content_weight"],
        tv_weight=settings["tv_weight"], form=settings["form"],
    )
    peaks["targets: one forward pass of the content and one of the style"] = _peak_mb()
    image = tf.constant(content)
    problem.loss_and_grads(image)
    peaks["one loss-and-gradient evaluation (traced and run)"] = _peak_mb()
    problem.loss_and_grads(image)
    peaks["a second evaluation"] = _peak_mb()
    return {"size": size, "recompute": recompute, "peaks": peaks, "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


WORKERS = {"matmul": work_matmul, "precision": work_precision, "step": work_step, "ttq": work_ttq, "hub": work_hub,
           "memory": work_memory, "bookkeeping": work_bookkeeping, "memory_stages": work_memory_stages}


# ------------------------------------------------------------------------------------------------ driver


def _cache_path(cache: Path, kind: str, kwargs: dict) -> Path:
    """Where the result of one measurement (a worker kind with its arguments) is kept for --resume."""
    key = hashlib.sha1(json.dumps([kind, kwargs], sort_keys=True).encode()).hexdigest()[:12]
    return cache / f"{kind}-{key}.json"


def _spawn(kind: str, *, in_process: bool = False, cache: Path | None = None, resume: bool = False, **kwargs) -> dict:
    """Run one worker in a fresh Python process (or, for the quick check, in this one) and return its result."""
    if in_process:
        print(f"  {kind} {kwargs} (in process) ...", flush=True)
        t = time.perf_counter()
        result = json.loads(json.dumps(WORKERS[kind](**kwargs)))
        result["measured_seconds"] = time.perf_counter() - t
        return result
    kept = _cache_path(cache, kind, kwargs) if cache is not None else None
    if resume and kept is not None and kept.is_file():
        print(f"  {kind} {kwargs}: reusing {kept.relative_to(ROOT) if kept.is_relative_to(ROOT) else kept}", flush=True)
        return json.loads(kept.read_text())
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        result_path = fh.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--args", json.dumps(kwargs), "--result", result_path]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    print(f"  {kind} {kwargs} ...", flush=True)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result = json.loads(Path(result_path).read_text())
    Path(result_path).unlink(missing_ok=True)
    result["measured_seconds"] = time.perf_counter() - t
    print(f"    done in {result['measured_seconds']:.0f} s", flush=True)
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(result))
    return result


def _median_spread(samples) -> str:
    """'median (min-max)' of timing samples in seconds."""
    return f"{statistics.median(samples):.3f} s ({min(samples):.3f}-{max(samples):.3f})"


def time_to_reach(history: dict, target: float, full_side=None) -> float | None:
    """Seconds at which a history first reaches `target` total loss at the full size (None if never)."""
    for total, seconds, scale in zip(history["total"], history["seconds"], history.get("scale", [None] * len(history["total"]))):
        if (full_side is None or scale in (None, full_side)) and total <= target:
            return seconds
    return None


def time_line(results, candidates=()) -> str:
    """The 'total benchmark time' line: the measurements' own durations summed, and the share of the --candidates runs.

    A measurement kept from an interrupted invocation may not have recorded its duration; a loss history's last time
    then stands for it (it leaves out only the process start), and the line says so.
    """
    def seconds(r):
        return r["measured_seconds"] if "measured_seconds" in r else (r["seconds"][-1] if r.get("seconds") else None)

    known = [seconds(r) for r in results if seconds(r) is not None]
    total = sum(known)
    line = f"- total benchmark time: {total:.0f} s ({total / 3600:.1f} h), summed over the measurements"
    if candidates:
        extra = sum(seconds(r) or 0.0 for r in candidates)
        line += f"; without the --candidates recipes ({extra:.0f} s) it is {total - extra:.0f} s ({(total - extra) / 3600:.1f} h)"
    from_history = sum(1 for r in results if "measured_seconds" not in r and r.get("seconds"))
    if from_history:
        line += (f". {from_history} measurement(s) kept from an interrupted invocation recorded no duration and count with "
                 "their loss history's last time")
    if len(known) < len(results):
        line += f". {len(results) - len(known)} measurement(s) with no recorded duration are left out"
    return line


def fair_baseline_seconds(base_hist: dict, steps: int, isolated_step: float | None) -> float:
    """The baseline's time for the speedup: its measured time, or `steps` x the Adam step timed alone if that is less.

    A baseline that shared the CPU with other work ran slower than its own step cost predicts, which would flatter
    every speedup measured against it; the smaller of the two keeps the comparison conservative.
    """
    measured = base_hist["seconds"][-1]
    return measured if isolated_step is None else min(measured, steps * isolated_step)


def lead_time(baseline: dict, other: dict) -> float | None:
    """Wall time until which `other` has a lower loss than `baseline` at equal times (None if never ahead)."""
    import numpy as np

    base_t, base_l = np.asarray(baseline["seconds"]), np.asarray(baseline["total"])
    lead = None
    for t, loss in zip(other["seconds"], other["total"]):
        if t < base_t[0] or t > base_t[-1]:
            continue
        if loss < float(np.interp(t, base_t, base_l)):
            lead = float(t)
        elif lead is not None:
            break
    return lead


def _machine() -> dict:
    """CPU model, cores, memory and library versions."""
    import numpy
    import scipy
    import tensorflow as tf

    from helpers import precision

    cpu = precision.cpu_name()
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "onnxruntime": ort_version,
    }


def _plot(ttq_runs: dict, target: float, path: Path, size: int, max_steps: int) -> None:
    """Loss against wall time for each recipe, whole and near the baseline's final loss (drawn as a line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for ax, near in zip(axes, (False, True)):
        for label, hist in ttq_runs.items():
            ax.plot(hist["seconds"], hist["total"], label=label, linewidth=2.2 if label.startswith("baseline") else 1.4)
        ax.axhline(target, color="grey", linestyle="--", label="baseline's final loss")
        ax.set_yscale("log")
        ax.set_xlabel("wall-clock time (s)")
        ax.set_ylabel("total loss (TF tutorial objective)")
        if near:
            ax.set_ylim(target * 0.97, target * 1.5)
            ax.set_title("near the baseline's final loss")
        else:
            ax.set_title("the whole run")
            ax.legend(fontsize=8)
    fig.suptitle(f"Time to quality at {size} px: each L-BFGS recipe stops at the dashed line, or after {max_steps} iterations")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _candidates(spec: dict, choice: str) -> list[tuple[str, dict]]:
    """(label, work_ttq arguments) of the L-BFGS recipes timed at one size; the course default first.

    The default's arguments are written out (the memory transfer() picks at this size, the precision "auto" picks
    here), so a kept measurement is reused only for the same settings, and a candidate with the same settings is the
    default's own run rather than a second one.
    """
    from helpers import optimize

    steps = spec["max_steps"]
    default = {"steps": steps, "lbfgs_memory": optimize.default_lbfgs_memory(spec["size"] ** 2), "precision": choice}
    rows = []
    if spec["candidates"]:  # True: every candidate; "memory": the two L-BFGS memories only
        rows = [
            ("L-BFGS, memory 10, float32", {"steps": steps, "lbfgs_memory": 10, "precision": "float32"}),
            ("L-BFGS, memory 50, float32", {"steps": steps, "lbfgs_memory": 50, "precision": "float32"}),
        ]
    if spec["candidates"] is True:
        rows.append(
            ("L-BFGS, memory 50, from the Magenta model's output", {"steps": steps, "lbfgs_memory": 50, "precision": "float32", "init": "hub"}))
        if "c2f" in spec:
            scales, c2f_steps = spec["c2f"]
            rows.append((f"L-BFGS, memory 50, coarse to fine {scales}",
                         {"steps": c2f_steps, "scales": scales, "lbfgs_memory": 50, "precision": "float32"}))
        if choice == "bfloat16":  # where bfloat16 is not clearly faster, "auto" never picks it; RESULTS.md says so instead
            rows.append(("L-BFGS, memory 50, bfloat16", {"steps": steps, "lbfgs_memory": 50, "precision": "bfloat16"}))
    label = "course default: L-BFGS"
    same = [i for i, (_, kwargs) in enumerate(rows) if kwargs == default]
    if same:
        i = same[0]
        return [(f"course default: {rows[i][0]}", rows[i][1])] + rows[:i] + rows[i + 1:]
    return [(label, default)] + rows


def weights_kind_of(results) -> str:
    """The VGG19 weights kind every measurement reported; RuntimeError if they differ (a mixed run describes nothing)."""
    kinds = {r["weights"] for r in results if "weights" in r}
    if len(kinds) != 1:
        raise RuntimeError(f"the measurements used different VGG19 weights ({', '.join(sorted(kinds)) or 'none recorded'}); "
                           "rerun without --resume")
    return next(iter(kinds))


def weights_line(kind: str) -> str:
    """The 'VGG19 weights: <kind>' line of RESULTS.md, with what the kind means."""
    from helpers import packaged_vgg

    described = {"packaged": f"packaged ({packaged_vgg.DESCRIPTION})", "imagenet": "imagenet (the exact Keras ImageNet file)",
                 "file": "file (a VGG19 .h5 file named by NST_VGG19_WEIGHTS)",
                 "random": "random (He-normal, seed 0: NOT the trained network; these numbers do not describe the course)"}
    return f"VGG19 weights: {described.get(kind, kind)}"


def results_name(kind: str) -> str:
    """RESULTS.md for trained weights; RANDOM_RESULTS otherwise, so that a random-weights run never replaces the real results."""
    from helpers import vgg

    return "RESULTS.md" if kind in vgg.TRAINED_KINDS else RANDOM_RESULTS


def main(argv=None) -> int:
    """Run every measurement of the plan and write RESULTS.md and plots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check (writes to build/bench-quick/)")
    parser.add_argument("--out", type=Path, help="output folder (default benchmarks/, or build/bench-quick/ with --quick)")
    parser.add_argument("--resume", action="store_true", help="reuse measurements kept in build/bench-cache/ by an earlier run")
    parser.add_argument("--ttq-sizes", default=None,
                        help="comma-separated time-to-quality sizes to run (default: all of the plan's, 256,512); a size "
                             "left out is written as not measured")
    parser.add_argument("--candidates", action="store_true",
                        help="also time the other L-BFGS recipes: at 256 px memory 10, memory 50 and the start from the Magenta "
                             "output (about 20 min more on 2 cores), at 512 px memory 10 (about 35 min more)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = WORKERS[args.worker](**json.loads(args.args))
        Path(args.result).write_text(json.dumps(result))
        return 0

    mode = "quick" if args.quick else "full"
    plan = PLANS[mode]
    out = args.out or (ROOT / "build" / "bench-quick" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    flags = (" --resume" if args.resume else "") + (" --candidates" if args.candidates else "") \
        + (f" --ttq-sizes {args.ttq_sizes}" if args.ttq_sizes else "")
    sizes = [spec["size"] for spec in plan["ttq"]]
    if args.ttq_sizes:
        wanted = [int(x) for x in args.ttq_sizes.split(",")]
        if not set(wanted) <= set(sizes):
            parser.error(f"--ttq-sizes: the plan has time-to-quality sizes {sizes}, not {wanted}")
        sizes = wanted
    command = "make bench-quick" if args.quick else (f"python benchmarks/run.py{flags}" if flags else "make bench")
    spawn = functools.partial(_spawn, in_process=args.quick, cache=ROOT / "build" / "bench-cache", resume=args.resume)
    print(f"Benchmark ({mode}) -> {out}", flush=True)

    matmul = spawn("matmul", n=plan["matmul_n"])
    decision = spawn("precision")
    choice = decision["choice"]
    other = "bfloat16" if choice == "float32" else "float32"
    steps = [spawn("step", size=s, repeats=plan["step_repeats"], precision=choice, breakdown=s == plan["breakdown_size"])
             for s in plan["step_sizes"]]
    if plan["other_precision_size"]:  # the other precision, at one size (without native bfloat16, several times slower)
        steps.append(spawn("step", size=plan["other_precision_size"], repeats=2, precision=other))
    bookkeeping = spawn("bookkeeping", **plan["bookkeeping"])
    print(baseline_forecast(plan, steps, sizes), flush=True)
    ttq = []
    for spec in plan["ttq"]:
        if spec["size"] not in sizes:
            continue
        spec = {**spec, "candidates": spec["candidates"] or (args.candidates and spec.get("with_candidates", False))}
        size = spec["size"]
        base = spawn("ttq", size=size, recipe="baseline", steps=spec["baseline_steps"])
        target = base["total"][-1]
        runs = {f"baseline: TF tutorial (Adam, {spec['baseline_steps']} steps, float32)": base}
        for label, kwargs in _candidates(spec, choice):
            runs[label] = spawn("ttq", size=size, recipe="lbfgs", target=target, **kwargs)
        ttq.append((spec, runs))
    hub = spawn("hub", sizes=plan["hub_sizes"], repeats=plan["hub_repeats"])
    memory = {
        "course defaults": spawn("memory", size=plan["memory_size"], steps=plan["memory_steps"], recompute=False, precision=choice),
        "with recomputation": spawn("memory", size=plan["memory_size"], steps=plan["memory_steps"], recompute=True, precision=choice),
    }
    if plan["memory_variants"]:
        memory["memory 50"] = spawn("memory", size=plan["memory_size"], steps=plan["memory_steps"], recompute=False, lbfgs_memory=50,
                                    precision=choice)
    stages = {flag: spawn("memory_stages", size=plan["memory_size"], recompute=flag) for flag in (False, True)}  # the default first

    everything = [matmul, decision, *steps, *(r for _, runs in ttq for r in runs.values()), hub, *memory.values(), *stages.values()]
    kind = weights_kind_of(everything)
    machine = _machine()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}`; do not edit by hand."
        + (" Measurements kept in build/bench-cache/ by an earlier, interrupted run of this script are reused." if args.resume else ""),
        "",
        weights_line(kind),
        "",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, no GPU used",
        f"- versions: Python {machine['python']}, TensorFlow {machine['tensorflow']}, NumPy {machine['numpy']}, "
        f"SciPy {machine['scipy']}, onnxruntime {machine['onnxruntime']}",
        f"- images: content `{CONTENT}`, style `{STYLE}` (committed examples)",
        f"- precision=\"auto\" chose **{choice}** here: {decision['why']}",
        time_line(everything, [r for spec, runs in ttq for label, r in runs.items()
                                if spec["candidates"] and not label.startswith(("baseline", "course default"))]),
        "",
        "## 1. Per-step cost",
        "",
        f"TF matmul peak ({plan['matmul_n']}x{plan['matmul_n']} float32, same run): {matmul['gflops']:.0f} GFLOP/s.",
        "",
        "| size | precision | course L-BFGS evaluation | Adam step | bare VGG19 fwd+grad | VGG GFLOP | achieved GFLOP/s "
        "| share of matmul peak | L-BFGS eval / bare pass |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        bare_med = statistics.median(s["bare_vgg"])
        achieved = s["gflop"] / bare_med
        lines.append(
            f"| {s['size']} px | {s['precision']} | {_median_spread(s['lbfgs_eval'])} | {s['adam_step']:.3f} s | {_median_spread(s['bare_vgg'])} | "
            f"{s['gflop']:.0f} | {achieved:.0f} | {achieved / matmul['gflops']:.0%} | "
            f"{statistics.median(s['lbfgs_eval']) / bare_med:.2f}x |"
        )
    eval_ratio = None
    for s in steps:
        if "breakdown" not in s:
            continue
        bare_med = statistics.median(s["bare_vgg"])
        eval_ratio = statistics.median(s["lbfgs_eval"]) / bare_med
        lines += ["", f"Where an L-BFGS evaluation's time goes at {s['size']} px ({s['precision']}); each row adds one piece to the one above:", "",
                  "| what runs (forward + gradient with respect to the image) | median | / bare pass |", "|---|---|---|",
                  f"| bare VGG19 to {vgg_content_layer()} | {bare_med:.3f} s | 1.00x |"]
        for label, samples in s["breakdown"].items():
            lines.append(f"| {label} | {statistics.median(samples):.3f} s | {statistics.median(samples) / bare_med:.2f}x |")
        rec = statistics.median(s["recompute_eval"])
        lines += ["", f"With activation recomputation (`recompute=True`), the same evaluation takes {rec:.3f} s "
                  f"({rec / statistics.median(s['lbfgs_eval']):.2f}x the evaluation without it).", ""]
        if not args.quick:
            lines.append(f"optimiser evaluation / bare VGG19 pass at {s['size']} px: {eval_ratio:.2f}x")
    lines += bookkeeping_lines(bookkeeping, steps)
    lines += ["", "## 2. Time to quality", ""]
    lines.append(
        "Every recipe minimises the same objective: the TF tutorial's (`form='mean'`, style weight 1e-2, content weight 1e4, "
        "TV weight 30). The baseline is the tutorial's recipe exactly: Adam (lr 0.02, beta1 0.99, eps 0.1), 1000 steps "
        f"({plan['ttq'][0]['baseline_steps']} in this run), "
        "float32, from the content, `benchmarks/baseline.py`. Time to quality is the wall time until a recipe's loss, at full size, "
        "is at or below the baseline's final loss. The L-BFGS recipes stop once they reach it (or after "
        f"{plan['ttq'][0]['max_steps']} iterations), so the curve of one that does ends at the dashed line. A recipe that starts "
        "from the Magenta model's output is charged the seconds that stylisation took, its first-call set-up included. "
        "\"final loss (float32)\" scores the final image under the float32 objective, so runs in different precisions "
        "compare; a bfloat16 run stops when its own loss (float32 arithmetic on bfloat16 features) reaches the target."
    )
    lines.append("")
    headlines = {}
    for spec, runs in ttq:
        size = spec["size"]
        base_label = next(iter(runs))
        base_hist = runs[base_label]
        target = base_hist["total"][-1]
        measured_time = base_hist["seconds"][-1]
        isolated = (_step_at(steps, size, "float32") or {}).get("adam_step")
        base_time = fair_baseline_seconds(base_hist, spec["baseline_steps"], isolated)
        lines += [f"### {size} px (baseline: {spec['baseline_steps']} Adam steps in {measured_time:.0f} s, "
                  f"{measured_time / spec['baseline_steps']:.3f} s per step; final loss {target:.4g})", ""]
        if isolated is not None:
            lines += [f"An Adam step timed alone in section 1 took {isolated:.3f} s, so {spec['baseline_steps']} of them take "
                      f"{spec['baseline_steps'] * isolated:.0f} s; the baseline run took {measured_time / (spec['baseline_steps'] * isolated):.2f}x "
                      "that. The speedups below divide the smaller of the two times, "
                      f"{base_time:.0f} s, by each recipe's time to quality, so a baseline slowed by other work on the CPU "
                      "cannot flatter them.", ""]
        lines += ["| recipe | time to baseline's final loss | speedup | iterations (evaluations, restarts) | final loss (float32) | peak memory |",
                  "|---|---|---|---|---|---|"]
        for label, hist in runs.items():
            reach = measured_time if label == base_label else time_to_reach(hist, target, hist.get("full_side"))
            speed = (1.0 if label == base_label else base_time / reach) if reach else None
            if label.startswith("course default"):
                headlines[size] = speed
                label = f"**{label}**" + (f" (memory {hist['lbfgs_memory']}, {hist['precision']})" if label == "course default: L-BFGS" else "")
            work = (f"{spec['baseline_steps']} steps" if label == base_label else
                    f"{hist['step'][-1]} ({hist.get('evaluations')}, {len(hist.get('restarts') or [])})")
            lines.append(
                f"| {label} | {f'{reach:.1f} s' if reach else 'not reached'} | {f'{speed:.1f}x' if speed else '-'} | {work} | "
                f"{hist.get('final_float32', hist['total'][-1]):.4g} | {hist['peak_mb']:.0f} MB |"
            )
        for label, hist in runs.items():
            if label == base_label or time_to_reach(hist, target, hist.get("full_side")) is not None:
                continue
            lead = lead_time(base_hist, hist)
            lines.append("")
            lines.append(
                f"`{label}` did not reach the baseline's final loss within its {hist['step'][-1]} iterations"
                + (f"; it was ahead of the baseline (lower loss at the same wall time) for the first {lead:.0f} s." if lead else ".")
            )
        lines += iteration_accounting(runs, size, steps, bookkeeping)
        if choice == "float32" and spec["candidates"] is True:
            lines += ["", f"No bfloat16 recipe ran: on this machine bfloat16 was not clearly faster ({decision['why']}; "
                      f"\"auto\" needs at most {precision_share()} of float32's time)."]
        plot = out / f"time_to_quality_{size}.png"
        _plot(runs, target, plot, size, spec["max_steps"])
        lines += ["", f"![loss against time at {size} px]({plot.name})", ""]
    if not args.quick:
        for size in (512, 256):
            speed = headlines.get(size)
            line = f"time-to-quality speedup at {size} px: "
            if size not in sizes:
                lines.append(line + "not measured in this run (--ttq-sizes)")
            else:
                lines.append(line + (f"{speed:.1f}x" if speed else "0.0x (not reached)"))
        lines.append("")
    lines += ["## 3. Offline Magenta model: TensorFlow against onnxruntime", ""]
    lines += [
        "onnxruntime runs with its default graph optimisations, as a user would time it; they fuse the quantised ops into "
        "integer kernels whose rounding depends on the CPU, so the difference column varies between machines. "
        "`tests/test_magenta.py` measures fidelity against the unfused graph.",
        "",
    ]
    lines += ["| content size | TF (this course) | onnxruntime | TF / onnxruntime | mean abs difference |", "|---|---|---|---|---|"]
    for size in plan["hub_sizes"]:
        r = hub[str(size)]
        ratio = statistics.median(r["tf"]) / statistics.median(r["onnxruntime"])
        lines.append(f"| {size} px | {_median_spread(r['tf'])} | {_median_spread(r['onnxruntime'])} | {ratio:.2f}x | {r['mean_abs_diff']:.4f} |")
    lines += ["", "## 4. Peak memory", ""]
    lines += [f"L-BFGS optimisations at {plan['memory_size']} px, {plan['memory_steps']} iterations each, peak resident memory "
              "of the whole process (TensorFlow included):", "",
              "| run | precision | recompute | L-BFGS memory | peak memory | seconds |", "|---|---|---|---|---|---|"]
    for label, m in memory.items():
        lines.append(f"| {label} | {m['precision']} | {m['recompute']} | {m['lbfgs_memory']} | {m['peak_mb']:.0f} MB | {m['seconds']:.0f} s |")
    lines += ["", f"The Magenta timing process peaked at {hub['peak_mb']:.0f} MB."
              + (" In the quick run every measurement shares one process, so these peaks are cumulative." if args.quick else ""), ""]
    lines += memory_stage_lines(stages, memory["course defaults"])
    if not args.quick:
        lines += [f"peak memory of a {plan['memory_size']} px optimisation: {memory['course defaults']['peak_mb']:.0f} MB", ""]
    name = results_name(kind)
    if name != "RESULTS.md":
        lines.insert(2, "**These numbers were measured with random VGG19 weights, not the trained network the course uses.**\n")
        print(f"VGG19 weights were random: writing {name}, not RESULTS.md", flush=True)
    results = out / name
    tmp = results.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(results)
    print(f"wrote {results}")
    return 0


def _step_at(steps, size: int, precision: str | None = None) -> dict | None:
    """The per-step measurement at `size` (in `precision`, when one is named), or None."""
    return next((s for s in steps if s["size"] == size and precision in (None, s["precision"])), None)


def baseline_forecast(plan: dict, steps, sizes) -> str:
    """One line: how long the time-to-quality baselines will take here, from the Adam steps just timed."""
    parts, total = [], 0.0
    for spec in plan["ttq"]:
        step = (_step_at(steps, spec["size"], "float32") or {}).get("adam_step")
        if spec["size"] not in sizes or step is None:
            continue
        total += spec["baseline_steps"] * step
        parts.append(f"{spec['baseline_steps']} x {step:.2f} s at {spec['size']} px")
    if not parts:
        return "time to quality: no baseline to forecast"
    return f"time to quality: the baselines alone take about {total / 60:.0f} min here ({'; '.join(parts)}), unless kept by --resume"


def bookkeeping_lines(bookkeeping: dict, steps) -> list[str]:
    """RESULTS.md lines: scipy's L-BFGS-B work outside the objective, against an evaluation at the same size."""
    size = bookkeeping["size"]
    step = _step_at(steps, size)
    evaluation = statistics.median(step["lbfgs_eval"]) if step else None
    lines = ["", f"Outside the evaluation: scipy's L-BFGS-B bookkeeping on {bookkeeping['variables']:,} variables bounded to [0, 1] "
             f"(a {size} px image), timed with a cheap stand-in objective over {bookkeeping['iterations']} iterations:", "",
             "| L-BFGS memory | set-up and first iteration | per iteration, once the memory is full |"
             + (f" / an L-BFGS evaluation at {size} px |" if evaluation else ""),
             "|---|---|---|" + ("---|" if evaluation else "")]
    for m, r in bookkeeping["memories"].items():
        lines.append(f"| {m} | {r['first_iteration']:.2f} s | {r['per_iteration']:.3f} s |"
                     + (f" {r['per_iteration'] / evaluation:.2f}x |" if evaluation else ""))
    return lines + [""]


def iteration_accounting(runs: dict, size: int, steps, bookkeeping: dict) -> list[str]:
    """RESULTS.md lines: the course default's seconds per iteration in its run, split into what was timed alone."""
    label = next((k for k in runs if k.startswith("course default")), None)
    if label is None or bookkeeping["size"] != size:
        return []
    hist = runs[label]
    step = _step_at(steps, size, hist["precision"])  # an evaluation timed alone, in the run's own precision
    kept = bookkeeping["memories"].get(str(hist["lbfgs_memory"]))
    iterations, evaluations = hist["step"][-1], hist.get("evaluations")
    if step is None or kept is None or not iterations or not evaluations:
        return []
    evaluation = statistics.median(step["lbfgs_eval"])
    in_run = (hist["seconds"][-1] - hist.get("head_start", 0.0)) / iterations
    parts = evaluation * evaluations / iterations
    rest = in_run - parts - kept["per_iteration"]
    return ["", f"The course default took {in_run:.2f} s per iteration in this run. Timed alone, its {evaluations / iterations:.2f} "
            f"evaluations per iteration take {parts:.2f} s and scipy's bookkeeping at memory {hist['lbfgs_memory']} "
            f"{kept['per_iteration']:.2f} s; the remaining {rest:.2f} s per iteration ({rest / in_run:.0%}) is what running them "
            "together adds; this run does not split it further."]


def memory_stage_lines(stages: dict, course: dict) -> list[str]:
    """RESULTS.md lines: the peak memory after each stage of one evaluation, with and without recomputation."""
    first = next(iter(stages.values()))
    size = first["size"]
    flags = list(stages)
    lines = ["", f"Where the peak comes from at {size} px: one process per column, each row a later stage of the same process "
             "(peaks only grow, so each row includes the ones above):", "",
             "| stage | " + " | ".join(f"recompute={flag}" for flag in flags) + " |", "|---|" + "---|" * len(flags)]
    for stage in first["peaks"]:
        lines.append(f"| {stage} | " + " | ".join(f"{stages[flag]['peaks'][stage]:.0f} MB" for flag in flags) + " |")
    n = size * size * 3
    history_mb = 2 * course["lbfgs_memory"] * n * 8 / 2**20
    lines += ["", f"L-BFGS's own memory at this size is {course['lbfgs_memory']} pairs of float64 vectors of {n:,} values: "
              f"2 x {course['lbfgs_memory']} x {n:,} x 8 bytes = {history_mb:.0f} MB (arithmetic, not measured), on top of "
              "the evaluation's peak; the optimisation's measured peak is in the first table.", ""]
    return lines


def precision_share() -> str:
    """helpers.precision.FASTER_BY as a percentage."""
    from helpers import precision

    return f"{precision.FASTER_BY:.0%}"


def vgg_content_layer() -> str:
    """The layer the bare pass stops at (the course's content layer, the deepest one the objective uses)."""
    from helpers import vgg

    return vgg.CONTENT_LAYERS[-1]


if __name__ == "__main__":
    sys.exit(main())
