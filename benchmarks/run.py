"""Speed and time-to-quality of the course's optimiser, the TF tutorial's recipe, and the offline Magenta model.

    python benchmarks/run.py                  # full run (make bench): writes benchmarks/RESULTS.md and plots
    python benchmarks/run.py --ttq-size 256   # the same, with time to quality at 256 px (a quicker check)
    python benchmarks/run.py --with-c2f       # also time coarse-to-fine L-BFGS (the course's default is one scale)
    python benchmarks/run.py --resume         # reuse the measurements an interrupted run finished
    python benchmarks/run.py --quick          # tiny sizes, well under a minute of work (make bench-quick, and the tests)

Every measurement runs in a fresh subprocess, so its peak memory (ru_maxrss) is its own. Each finished
measurement is kept in build/bench-cache/ so that --resume can pick up after an interruption. Nothing here is
written by hand: RESULTS.md and the plots come from the numbers measured in the run.
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

#: Sizes and step counts of a full run and of a quick run.
PLANS = {
    "full": {
        "step_sizes": [256, 512],
        "step_repeats": 5,
        "ttq": {
            512: {"size": 512, "baseline_steps": 1000, "lbfgs_steps": 300, "c2f_scales": [256, 512], "c2f_steps": [150, 300]},
            256: {"size": 256, "baseline_steps": 1000, "lbfgs_steps": 300, "c2f_scales": [128, 256], "c2f_steps": [150, 300]},
        },
        "hub_sizes": [256, 512, 1024],
        "hub_repeats": 5,
        "memory_size": 1024,
        "memory_steps": 5,
        "matmul_n": 4096,
    },
    "quick": {
        "step_sizes": [64],
        "step_repeats": 2,
        "ttq": {64: {"size": 64, "baseline_steps": 10, "lbfgs_steps": 10, "c2f_scales": [48, 64], "c2f_steps": [5, 10]}},
        "hub_sizes": [64],
        "hub_repeats": 2,
        "memory_size": 96,
        "memory_steps": 2,
        "matmul_n": 512,
    },
}

CONTENT, STYLE = "astronaut", "swirls"


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


def work_step(size: int, repeats: int) -> dict:
    """Per-step seconds at `size`: the course's L-BFGS evaluation, an Adam step, and a bare VGG19 pass."""
    import numpy as np
    import tensorflow as tf

    from helpers import images, optimize, vgg

    content = images.load_example(CONTENT, max_dim=size)
    style = images.load_example(STYLE, max_dim=size)
    content = tf.image.resize(content, (size, size))  # square, so the FLOP count is exact
    settings = optimize.resolve_settings()
    extractor = vgg.StyleContentModel()
    problem = optimize.StyleTransferProblem(
        extractor, content, [style], [1.0], style_weight=settings["style_weight"], content_weight=settings["content_weight"],
        tv_weight=settings["tv_weight"], form=settings["form"],
    )
    x = np.asarray(content, np.float64).ravel()

    def lbfgs_evaluation():
        total, _, grad = problem.loss_and_grads(tf.constant(x.reshape(content.shape), tf.float32))
        return float(total), np.asarray(grad, np.float64).ravel()

    bare_model = vgg.vgg_layers(["block5_conv2"])

    @tf.function(reduce_retracing=True)
    def bare(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            out = bare_model(vgg.preprocess(image))
            loss = tf.reduce_sum(out)
        return tape.gradient(loss, image)

    def bare_pass():
        return bare(tf.constant(x.reshape(content.shape), tf.float32)).numpy()

    def timed(fn):
        return timing.time_calls(fn, repeats, warmups=2)  # two warm-ups: tracing, then allocator

    lbfgs = timed(lbfgs_evaluation)
    bare_samples = timed(bare_pass)
    adam = optimize.time_per_step(content, style, optimizer="adam", steps=repeats + 1)
    return {
        "size": size,
        "lbfgs_eval": lbfgs,
        "bare_vgg": bare_samples,
        "adam_step": adam,
        "gflop": _vgg_flops(size, size) / 1e9,
        "weights": vgg.weights_kind(),
        "peak_mb": _peak_mb(),
    }


def work_ttq(size: int, recipe: str, steps, scales=None, target=None) -> dict:
    """Run one recipe on the TF tutorial's objective at `size` (stopping at full size once the loss <= `target`); return its loss history."""
    from helpers import images, optimize

    content = images.load_example(CONTENT, max_dim=size)
    style = images.load_example(STYLE, max_dim=size)
    if recipe == "baseline":
        history = baseline.run(content, style, steps=steps)
    else:
        full_side = max(content.shape[1:3])
        objective = {k: baseline.OBJECTIVE[k] for k in ("form", "style_weight", "content_weight", "tv_weight")}

        def stop_at_target(step, image, parts):
            # transfer() treats KeyboardInterrupt as a clean stop that keeps the history; once the target is
            # reached at full size, the rest of the run would not change the time to quality.
            if max(image.shape[1:3]) == full_side and parts["total"] <= target:
                raise KeyboardInterrupt

        with contextlib.redirect_stdout(io.StringIO()):  # transfer() reports the stop as an interruption; it is not one
            result = optimize.transfer(
                content, style, optimizer="lbfgs", steps=steps, scales=scales, progress=False,
                callback=None if target is None else stop_at_target, callback_every=1, **objective,
            )
        history = {k: result.history[k] for k in ("total", "seconds", "scale")}
        history["full_side"] = full_side
    history["peak_mb"] = _peak_mb()
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


def work_memory(size: int, steps: int) -> dict:
    """Peak memory of an L-BFGS optimisation at `size` px (course defaults)."""
    import tensorflow as tf

    from helpers import images, optimize

    content = tf.image.resize(images.load_example(CONTENT, max_dim=size), (size, size))
    style = images.load_example(STYLE, max_dim=size)
    t = time.perf_counter()
    result = optimize.transfer(content, style, steps=steps, progress=False)
    return {"size": size, "steps": steps, "seconds": time.perf_counter() - t, "final_loss": result.final_loss, "peak_mb": _peak_mb()}


WORKERS = {"matmul": work_matmul, "step": work_step, "ttq": work_ttq, "hub": work_hub, "memory": work_memory}


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


def _time_line(results, invocation_seconds: float) -> str:
    """The 'total benchmark time' line: the sum of the measurements' own durations when every one has it."""
    if all("measured_seconds" in r for r in results):
        return f"- total benchmark time: {sum(r['measured_seconds'] for r in results):.0f} s (summed over the measurements)"
    return f"- benchmark time of this invocation: {invocation_seconds:.0f} s (measurements reused from an earlier run are not counted)"


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

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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


def _plot(ttq_runs: dict, target: float, path: Path, size: int) -> None:
    """Loss against wall time for each recipe, with the baseline's final loss as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, hist in ttq_runs.items():
        ax.plot(hist["seconds"], hist["total"], label=label)
    ax.axhline(target, color="grey", linestyle="--", label="baseline's final loss")
    ax.set_yscale("log")
    ax.set_xlabel("wall-clock time (s)")
    ax.set_ylabel("total loss (TF tutorial objective)")
    ax.set_title(f"Time to quality at {size} px")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    """Run every measurement of the plan and write RESULTS.md and plots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check (writes to build/bench-quick/)")
    parser.add_argument("--out", type=Path, help="output folder (default benchmarks/, or build/bench-quick/ with --quick)")
    parser.add_argument("--ttq-size", type=int, choices=[256, 512], default=512, help="image size of the time-to-quality runs (default 512)")
    parser.add_argument("--resume", action="store_true", help="reuse measurements kept in build/bench-cache/ by an earlier run")
    parser.add_argument("--with-c2f", action="store_true",
                        help="also time L-BFGS coarse-to-fine at the time-to-quality size (always on with --quick)")
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
    if args.quick:
        command = "make bench-quick"
    else:
        flags = (f" --ttq-size {args.ttq_size}" if args.ttq_size != 512 else "") + (" --with-c2f" if args.with_c2f else "") \
            + (" --resume" if args.resume else "")
        command = "make bench" if not flags else "python benchmarks/run.py" + flags
    spawn = functools.partial(_spawn, in_process=args.quick, cache=ROOT / "build" / "bench-cache", resume=args.resume)
    started = time.perf_counter()
    print(f"Benchmark ({mode}) -> {out}", flush=True)

    matmul = spawn("matmul", n=plan["matmul_n"])
    steps = [spawn("step", size=s, repeats=plan["step_repeats"]) for s in plan["step_sizes"]]
    ttq = []
    for spec in ([plan["ttq"][args.ttq_size]] if not args.quick else list(plan["ttq"].values())):
        size = spec["size"]
        base = spawn("ttq", size=size, recipe="baseline", steps=spec["baseline_steps"])
        target = base["total"][-1]
        runs = {
            "baseline: TF tutorial (Adam, 1 scale)": base,
            "course default: L-BFGS, 1 scale": spawn("ttq", size=size, recipe="lbfgs", steps=spec["lbfgs_steps"], target=target),
        }
        if args.quick or args.with_c2f:
            runs[f"course: L-BFGS, coarse-to-fine {spec['c2f_scales']}"] = spawn(
                "ttq", size=size, recipe="lbfgs", steps=spec["c2f_steps"], scales=spec["c2f_scales"], target=target
            )
        ttq.append((spec, runs))
    hub = spawn("hub", sizes=plan["hub_sizes"], repeats=plan["hub_repeats"])
    memory = spawn("memory", size=plan["memory_size"], steps=plan["memory_steps"])

    machine = _machine()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}`; do not edit by hand."
        + (" Measurements kept in build/bench-cache/ by an earlier, interrupted run of this script are reused." if args.resume else ""),
        "",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, no GPU used",
        f"- versions: Python {machine['python']}, TensorFlow {machine['tensorflow']}, NumPy {machine['numpy']}, "
        f"SciPy {machine['scipy']}, onnxruntime {machine['onnxruntime']}",
        f"- images: content `{CONTENT}`, style `{STYLE}` (committed examples); VGG19 weights: {steps[0]['weights']}",
        _time_line([matmul, *steps, *(r for _, runs in ttq for r in runs.values()), hub, memory], time.perf_counter() - started),
        "",
        "## 1. Per-step cost",
        "",
        f"TF matmul peak ({plan['matmul_n']}x{plan['matmul_n']} float32, same run): {matmul['gflops']:.0f} GFLOP/s.",
        "",
        "| size | course L-BFGS evaluation | Adam step | bare VGG19 fwd+grad | VGG GFLOP | achieved GFLOP/s "
        "| share of matmul peak | L-BFGS eval / bare pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        bare_med = statistics.median(s["bare_vgg"])
        achieved = s["gflop"] / bare_med
        lines.append(
            f"| {s['size']} px | {_median_spread(s['lbfgs_eval'])} | {s['adam_step']:.3f} s | {_median_spread(s['bare_vgg'])} | "
            f"{s['gflop']:.0f} | {achieved:.0f} | {achieved / matmul['gflops']:.0%} | "
            f"{statistics.median(s['lbfgs_eval']) / bare_med:.2f}x |"
        )
    lines += ["", "## 2. Time to quality", ""]
    lines.append(
        "Every recipe minimises the same objective: the TF tutorial's (`form='mean'`, style weight 1e-2, content weight 1e4, "
        "TV weight 30, init from content). The baseline is the tutorial's Adam (lr 0.02, beta1 0.99, eps 0.1), "
        "`benchmarks/baseline.py`. Time to quality is the wall time until a recipe's loss, at full size, is at or below "
        "the baseline's final loss. The course's recipes stop once they reach it, so the curve of one that does ends at the dashed line."
    )
    lines.append("")
    headline = None
    for spec, runs in ttq:
        size = spec["size"]
        base_label = next(iter(runs))
        target = runs[base_label]["total"][-1]
        base_time = runs[base_label]["seconds"][-1]
        lines += [f"### {size} px (baseline: {spec['baseline_steps']} Adam steps, final loss {target:.4g})", ""]
        lines += ["| recipe | time to baseline's final loss | speedup | final loss | peak memory |", "|---|---|---|---|---|"]
        best = None
        for label, hist in runs.items():
            reach = base_time if label == base_label else time_to_reach(hist, target, hist.get("full_side"))
            speed = base_time / reach if reach else None
            if label != base_label and speed and (best is None or speed > best):
                best = speed
            lines.append(
                f"| {label} | {f'{reach:.1f} s' if reach else 'not reached'} | {f'{speed:.1f}x' if speed else '-'} | "
                f"{hist['total'][-1]:.4g} | {hist['peak_mb']:.0f} MB |"
            )
        base_hist = runs[base_label]
        for label, hist in runs.items():
            if label == base_label or time_to_reach(hist, target, hist.get("full_side")) is not None:
                continue
            lead = lead_time(base_hist, hist)
            lines.append("")
            lines.append(
                f"`{label}` did not reach the baseline's final loss within its {len(hist['total']) - 1} iterations"
                + (f"; it was ahead of the baseline (lower loss at the same wall time) for the first {lead:.0f} s." if lead else ".")
                + " A likely limit: the objective's total-variation term is a sum of absolute differences, an L1 penalty"
                f" that is not smooth, weighted {baseline.OBJECTIVE['tv_weight']:g}, while L-BFGS's curvature model assumes"
                " a smooth objective."
            )
        plot = out / f"time_to_quality_{size}.png"
        _plot(runs, target, plot, size)
        lines += ["", f"![loss against time at {size} px]({plot.name})", ""]
        if size == 512 and not args.quick:
            headline = best
    if not args.quick and args.ttq_size == 512:
        lines.append(f"time-to-quality speedup at 512 px: {headline:.1f}x" if headline else "time-to-quality speedup at 512 px: 0.0x (not reached)")
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
    lines += [
        f"An L-BFGS optimisation at {memory['size']} px ({memory['steps']} steps, course defaults) peaked at "
        f"{memory['peak_mb']:.0f} MB resident ({memory['seconds']:.0f} s). Peaks of the other runs are in the tables above "
        f"(each process includes TensorFlow itself); the Magenta timing process peaked at {hub['peak_mb']:.0f} MB."
        + (" In the quick run every measurement shares one process, so these peaks are cumulative." if args.quick else ""),
        "",
    ]
    results = out / "RESULTS.md"
    tmp = results.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(results)
    print(f"wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
