"""Speed, time to quality and memory of the course's optimiser, the TF tutorial's recipe, and the offline Magenta model.

    python benchmarks/run.py                  # the full plan (make bench): benchmarks/RESULTS.md, plots, measurements.json
    python benchmarks/run.py --resume         # reuse the measurements an interrupted run finished
    python benchmarks/run.py --resume --fresh step,iteration   # reuse them, but take these kinds again
    python benchmarks/run.py --candidates     # also the other recipes (256 px, scipy at 512 px)
    python benchmarks/run.py --report-only    # re-render RESULTS.md and the plots from measurements.json alone
    python benchmarks/run.py --quick          # tiny sizes, about a minute of work (make bench-quick, and the tests)

What is measured is in plans.py, how in measure.py, and how it is reported in report.py. Every measurement runs in a
fresh subprocess, so its peak memory (VmHWM on Linux) is its own, and each finished one is kept in build/bench-cache/ so
that --resume can pick up after an interruption. All of a run's measurements are also written to measurements.json
beside RESULTS.md. Nothing is written by hand: a run whose VGG19 weights are not the trained ones writes
RESULTS-random-weights.md instead, headed by a warning, and never RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
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

from benchmarks import measure, plans, report  # noqa: E402

CACHE = ROOT / "build" / "bench-cache"
#: Where benchmarks/throughput.py's own command keeps its measurement; the full plan reuses it when it is there.
THROUGHPUT_KEPT = CACHE / "throughput.json"
MEASUREMENTS = "measurements.json"


class NotKept(RuntimeError):
    """--report-only met a measurement that measurements.json does not hold."""


def _cache_path(cache: Path, kind: str, kwargs: dict) -> Path:
    """Where the result of one measurement (a worker kind with its arguments) is kept for --resume."""
    key = hashlib.sha1(json.dumps([kind, kwargs], sort_keys=True).encode()).hexdigest()[:12]
    return cache / f"{kind}-{key}.json"


def _spawn(kind: str, *, in_process: bool = False, cache: Path | None = None, resume: bool = False, fresh=frozenset(),
           **kwargs) -> dict:
    """Run one worker in a fresh Python process (or, for the quick check, in this one) and return its result.

    With `resume`, a result kept by an earlier invocation is returned instead, unless its kind is in `fresh`.
    """
    if in_process:
        print(f"  {kind} {kwargs} (in process) ...", flush=True)
        t = time.perf_counter()
        result = json.loads(json.dumps(measure.WORKERS[kind](**kwargs)))
        result["measured_seconds"] = time.perf_counter() - t
        return result
    kept = _cache_path(cache, kind, kwargs) if cache is not None else None
    if resume and kind not in fresh and kept is not None and kept.is_file():
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


def machine() -> dict:
    """CPU model, cores and library versions."""
    import numpy
    import scipy
    import tensorflow as tf

    from helpers import precision

    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = "not installed"
    return {"cpu": precision.cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "onnxruntime": ort_version}


def print_forecast(plan: dict, specs, seconds_at, source: str) -> None:
    """Print how long the plan's measurements should take, part by part."""
    total, parts = plans.forecast(plan, specs, seconds_at)
    print(f"Forecast ({source}): about {total / 3600:.1f} h for the measurements, plus a few minutes for the Magenta timing "
          "and the bookkeeping" + (" and about 7 min for benchmarks/throughput.py's" if plan.get("throughput") else "")
          + ", unless --resume keeps some:", flush=True)
    for part in parts:
        print(f"    {part}", flush=True)


def measure_plan(plan: dict, specs, spawn, resume: bool = False, fresh=frozenset()) -> dict:
    """Every measurement of the plan, in order, as one dict (what report.render needs, and nothing else)."""
    from helpers import optimize, precision, timing, vgg

    print_forecast(plan, specs, lambda side: timing.step_seconds(side, "float32"), "from this machine's timed VGG19 pass")
    m = {"plan": plan, "content": plans.CONTENT, "style": plans.STYLE, "content_layer": vgg.CONTENT_LAYERS[-1],
         "stripes_above": optimize.STRIPES_ABOVE, "faster_by": precision.FASTER_BY, "machine": machine()}
    m["matmul"] = spawn("matmul", n=plan["matmul_n"])
    m["precision"] = spawn("precision")
    choice = m["precision"]["choice"]
    other = "bfloat16" if choice == "float32" else "float32"
    stripes = {"stripe_pixels": plan["stripe_pixels"]} if plan.get("stripe_pixels") else {}
    m["steps"] = [spawn("step", size=s, repeats=plan["step_repeats"], precision=choice, breakdown=s == plan["breakdown_size"],
                        **({"stripe_rows": plan["breakdown_stripe_rows"]} if s == plan["breakdown_size"] else {}))
                  for s in plan["step_sizes"]]
    if plan["other_precision_size"]:  # the other precision, at one size (without native bfloat16, several times slower)
        m["steps"].append(spawn("step", size=plan["other_precision_size"], repeats=2, precision=other))
    evaluation = report.step_at(m["steps"], plan["breakdown_size"], choice)
    if evaluation:
        per_pixel = min(evaluation["lbfgs_eval"]) / plan["breakdown_size"] ** 2
        print_forecast(plan, specs, lambda side: per_pixel * side**2, f"from the evaluation just timed at {plan['breakdown_size']} px")
    print(report.baseline_forecast(specs, m["steps"]), flush=True)
    m["bookkeeping"] = spawn("bookkeeping", **plan["bookkeeping"])
    it = plan["iteration"]
    memory = optimize.default_lbfgs_memory(it["size"] ** 2)
    m["iteration"] = {opt: spawn("iteration", size=it["size"], optimizer=opt, iterations=it["iterations"], lbfgs_memory=memory,
                                 precision=choice) for opt in ("lbfgs", "lbfgs-scipy")}
    m["hub"] = spawn("hub", sizes=plan["hub_sizes"], repeats=plan["hub_repeats"])
    m["memory"] = [spawn("memory", precision=choice, **run, **stripes) for run in plan["memory_runs"]]
    stages = plan["memory_stages"]
    m["stages"] = {flag: spawn("memory_stages", size=stages["size"], memory=flag, **stripes) for flag in stages["memories"]}
    # time to quality last: the longest measurements (the baseline alone is 1000 Adam steps), after the short ones
    m["ttq"] = []
    for spec in specs:
        base = spawn("ttq", size=spec["size"], recipe="baseline", steps=spec["baseline_steps"])
        runs = {f"baseline: TF tutorial (Adam, {spec['baseline_steps']} steps, float32)": base}
        for label, kwargs in plans.recipes(spec, choice, optimize.default_lbfgs_memory(spec["size"] ** 2)):
            runs[label] = spawn("ttq", size=spec["size"], recipe="lbfgs", target=base["total"][-1], **kwargs)
        m["ttq"].append({"spec": spec, "runs": runs})
    if plan["throughput"]:  # benchmarks/throughput.py's measurement: with --resume the one its own command kept, else measured here
        try:
            import benchmarks.throughput  # noqa: F401
        except ImportError:
            print("  throughput: benchmarks/throughput.py is not there; its section is left out", flush=True)
        else:
            kept = json.loads(THROUGHPUT_KEPT.read_text()) if (resume and "throughput" not in fresh and THROUGHPUT_KEPT.is_file()) else None
            try:
                m["throughput"] = kept if kept and not kept.get("quick") else spawn("throughput", mode=plan["throughput"])
            except RuntimeError as exc:  # its own measurement failing must not cost the rest of the run its report
                print(f"  throughput failed, its section is left out: {str(exc)[-500:]}", flush=True)
    return m


def main(argv=None) -> int:
    """Run every measurement of the plan (or read them back) and write RESULTS.md, the plots and measurements.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check (writes to build/bench-quick/)")
    parser.add_argument("--out", type=Path, help="output folder (default benchmarks/, or build/bench-quick/ with --quick)")
    parser.add_argument("--resume", action="store_true", help="reuse measurements kept in build/bench-cache/ by an earlier run")
    parser.add_argument("--fresh", default="", metavar="KINDS",
                        help="with --resume: comma-separated kinds of measurement to take again instead of reusing (e.g. "
                             "step,iteration,bookkeeping, so that a time-to-quality run resumed on another day divides by an "
                             f"Adam step timed on its own day); kinds: {', '.join(sorted(measure.WORKERS))}")
    parser.add_argument("--report-only", action="store_true", help="measure nothing: re-render RESULTS.md from the output folder's "
                        f"{MEASUREMENTS}")
    parser.add_argument("--ttq-sizes", default=None,
                        help="comma-separated time-to-quality sizes to run (default: all of the plan's); a size left out is "
                             "written as not measured")
    parser.add_argument("--candidates", action="store_true",
                        help="also time the other L-BFGS recipes: at 256 px (its own 1000-step baseline, scipy's L-BFGS-B, the "
                             "other line search and bound handling, memory 10, the start from the Magenta output; about 1.5 h "
                             "more on 2 cores) and scipy's L-BFGS-B at 512 px (about 35 min more)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = measure.WORKERS[args.worker](**json.loads(args.args))
        Path(args.result).write_text(json.dumps(result))
        return 0

    mode = "quick" if args.quick else "full"
    out = args.out or (ROOT / "build" / "bench-quick" if args.quick else HERE)
    kept = out / MEASUREMENTS
    if args.report_only:
        if not kept.is_file():
            parser.error(f"--report-only: {kept} does not exist; run the benchmark first")
        m = json.loads(kept.read_text())
        if m["meta"]["mode"] != mode:
            parser.error(f"--report-only: {kept} holds a {m['meta']['mode']} run; add or drop --quick")
        print(f"wrote {report.render(m, out)} from {kept}")
        return 0
    plan = plans.PLANS[mode]
    sizes = [spec["size"] for spec in plan["ttq"]]
    if args.ttq_sizes:
        wanted = [int(x) for x in args.ttq_sizes.split(",")]
        if not set(wanted) <= set(sizes):
            parser.error(f"--ttq-sizes: the plan has time-to-quality sizes {sizes}, not {wanted}")
        sizes = wanted
    fresh = frozenset(filter(None, args.fresh.split(",")))
    if fresh and not args.resume:
        parser.error("--fresh: only with --resume (without it every measurement is taken afresh)")
    if not fresh <= set(measure.WORKERS):
        parser.error(f"--fresh: unknown kind(s) {', '.join(sorted(fresh - set(measure.WORKERS)))}; the kinds are "
                     f"{', '.join(sorted(measure.WORKERS))}")
    flags = (" --resume" if args.resume else "") + (f" --fresh {','.join(sorted(fresh))}" if fresh else "") \
        + (" --candidates" if args.candidates else "") + (f" --ttq-sizes {args.ttq_sizes}" if args.ttq_sizes else "")
    command = "make bench-quick" if args.quick else (f"python benchmarks/run.py{flags}" if flags else "make bench")
    spawn = functools.partial(_spawn, in_process=args.quick, cache=CACHE, resume=args.resume, fresh=fresh)
    print(f"Benchmark ({mode}) -> {out}", flush=True)
    specs = plans.ttq_specs(plan, sizes, args.candidates)
    m = measure_plan(plan, specs, spawn, args.resume, fresh)
    m["meta"] = {"mode": mode, "command": command, "resume": args.resume, "candidates": args.candidates}
    from helpers import files

    files.write_atomic(kept, json.dumps(m))
    print(f"wrote {report.render(m, out)} and {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
