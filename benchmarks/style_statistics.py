"""What one evaluation of each style statistic costs at 512 px: its style term's loss and gradient through VGG19, and its peak memory.

    python benchmarks/style_statistics.py                    # prints one line per statistic, keeps build/bench-cache/style_statistics.json
    python benchmarks/style_statistics.py --quick --out m.json   # 64 px, one timed evaluation (the tests)
    python benchmarks/style_statistics.py --results benchmarks/RESULTS.md   # and put its section into RESULTS.md

For each statistic of helpers/style_stats.py, a fresh worker process builds `terms.Style(STYLE, statistic)` at the
layers and with the options notebook 07 uses (MRF on Li & Wand's two layers, every 2nd style patch; sliced
Wasserstein with 32 directions), and times its loss and gradient with respect to the image through VGG19, as
`optimize.minimize` evaluates it (`optimize.ObjectiveProblem.loss_and_grads`): what one optimiser step spends on that
term. The median of a few timed evaluations after untimed warm-ups; the process's own peak resident memory
(`benchmarks.measure._peak_mb`: Linux's VmHWM) read right after them; and, beside it, the statistic alone (its loss and
gradient on the VGG19 features, without VGG19). `report_lines` renders one line per statistic:
`style statistic <name> at 512 px: <s> s per evaluation, <MB> MB peak (<precision>)`, or, where the statistic refuses
that size by design (MRF's cap on its similarity matrix), `style statistic <name> at <N> px: refused (<why>)`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

#: Notebook 07's pictures: the photo and the painting every statistic copies.
CONTENT, STYLE = "astronaut", "swirls"
#: The statistics, in the order the course meets them (style_stats.STATISTICS).
STATISTICS = ("gram", "mean_std", "mean_cov", "sliced_wasserstein", "mrf")
#: Notebook 07's MRF layers (Li & Wand's relu3_1 and relu4_1); the other statistics use vgg.STYLE_LAYERS.
MRF_LAYERS = ("block3_conv1", "block4_conv1")
#: Notebook 07's options: MRF keeps every 2nd style patch in each direction; sliced Wasserstein projects on 32 directions.
MRF_STRIDE = 2
PROJECTIONS = 32
SEED = 0
#: Size (long side, px), timed evaluations and untimed warm-ups (tracing, then the allocator) of a full and a quick run.
SIZES = {"full": {"size": 512, "repeats": 3, "warmups": 2}, "quick": {"size": 64, "repeats": 1, "warmups": 1}}
#: The smallest size accepted: images.MIN_SIDE, and MRF's deepest layer (1/8 of the side) must hold one 3x3 patch.
MIN_SIZE = 32
#: The largest size accepted (a 2-core machine spends minutes per evaluation beyond it).
MAX_SIZE = 2048
#: A worker that runs longer than this is stopped and reported as failed.
WORKER_TIMEOUT = 3600
SECTION = "## Style statistics: one evaluation each"


def layers_of(statistic: str) -> tuple:
    """The VGG19 layers notebook 07 gives `statistic`."""
    from helpers import vgg

    return MRF_LAYERS if statistic == "mrf" else tuple(vgg.STYLE_LAYERS)


def options_of(statistic: str) -> dict:
    """The statistic's options as notebook 07 sets them (none for gram, mean_std, mean_cov)."""
    return {"sliced_wasserstein": {"projections": PROJECTIONS, "seed": SEED}, "mrf": {"stride": MRF_STRIDE}}.get(statistic, {})


def measure_statistic(statistic: str, size: int, repeats: int, warmups: int, precision: str) -> dict:
    """One statistic at `size` px in this process: the evaluation's median seconds and samples, this process's peak MB
    right after them, the statistic alone (without VGG19), and what style_stats.step_cost counts; or the refusal."""
    import tensorflow as tf

    from benchmarks.measure import _peak_mb
    from helpers import images, optimize, style_stats, terms, timing

    content = images.load_img(CONTENT, max_dim=size)
    style = images.load_img(STYLE, max_dim=size)
    layers, options = layers_of(statistic), options_of(statistic)
    objective = terms.Objective([terms.Style(style, statistic, layers=layers, **options)])
    extractor = objective.extractor(precision=precision)
    result = {"statistic": statistic, "size": size, "content": [int(d) for d in content.shape[1:3]],
              "style": [int(d) for d in style.shape[1:3]], "layers": list(layers), "options": options,
              "deepest_layer": extractor.deepest_layer, "precision": extractor.precision, "weights": extractor.weights_kind,
              "repeats": repeats, "warmups": warmups, "tensorflow": tf.__version__, "refused": None}
    image = tf.constant(content)
    try:
        problem = optimize.ObjectiveProblem(objective, extractor, tuple(result["content"]))

        def evaluation():
            total, _, grad = problem.loss_and_grads(image)
            return float(total), grad.numpy()

        samples = timing.time_calls(evaluation, repeats, warmups)
    except style_stats.StatisticError as exc:  # refused by design (MRF's cap on its similarity matrix)
        result.update(refused=str(exc), peak_mb=_peak_mb())
        return result
    result.update(samples=samples, seconds=statistics.median(samples), peak_mb=_peak_mb())

    # the statistic alone: its loss and gradient with respect to the features at its layers, VGG19 left out
    found = {n: tf.cast(f, tf.float32) for n, f in extractor.features(image)["style"].items()}
    of_style = extractor.features(style)["style"]
    targets = objective.prepare(extractor, tuple(result["content"]))[0]["targets"]
    xs = [found[n] for n in layers]

    @tf.function
    def alone(xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            total = tf.add_n([style_stats.loss(x, targets[n]) for x, n in zip(xs, layers)])
        return tape.gradient(total, xs)

    result["alone_seconds"] = timing.median_seconds(lambda: [g.numpy() for g in alone(xs)], repeats, warmups)
    counted = [style_stats.step_cost(statistic, found[n].shape, of_style[n].shape, **options) for n in layers]
    result["multiply_adds"] = sum(c["multiply_adds"] for c in counted)
    result["step_bytes"] = sum(c["step_bytes"] for c in counted)
    return result


def spawn(statistic: str, size: int, repeats: int, warmups: int, precision: str) -> dict:
    """measure_statistic in a fresh Python process, so that its peak memory is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", statistic, "--size", str(size), "--repeats", str(repeats),
               "--warmups", str(warmups), "--precision", precision, "--out", str(result_path)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{statistic}: the worker ran over {WORKER_TIMEOUT} s") from exc
        if done.returncode != 0:
            raise RuntimeError(f"{statistic}: the worker failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return json.loads(result_path.read_text())


def result_line(r: dict) -> str:
    """The grep line of one statistic."""
    head = f"style statistic {r['statistic']} at {r['size']} px: "
    if r.get("refused"):
        return head + f"refused ({r['refused']})"
    return head + f"{r['seconds']:.3f} s per evaluation, {r['peak_mb']:.0f} MB peak ({r['precision']})"


def _evaluations(n: int) -> str:
    return f"{n} evaluation" + ("" if n == 1 else "s")


def _options_text(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "none"


def report_lines(measurements: dict) -> list[str]:
    """The markdown section for RESULTS.md: one line per statistic, then what was measured and a table of the details."""
    runs = measurements["statistics"]
    first = runs[0]
    quick = measurements.get("quick")
    size, content, style = first["size"], first["content"], first["style"]
    lines = [SECTION + (f" (quick check at {size} px: checks that it runs, not a measurement)" if quick else ""), ""]
    lines += [result_line(r) for r in runs]
    precisions = sorted({r["precision"] for r in runs})
    lines += ["", f"One evaluation is what an optimiser step spends on one style term: `terms.Style({STYLE!r}, statistic)` at the "
              "layers and with the options notebook 07 uses, its loss and its gradient with respect to the image through VGG19 "
              "(`optimize.ObjectiveProblem.loss_and_grads`, as `optimize.minimize` evaluates it; no content or TV term), at the "
              f"content `{CONTENT}` ({content[1]}x{content[0]} px) against `{STYLE}` ({style[1]}x{style[0]} px), from the content. "
              f"The median of {_evaluations(first['repeats'])}, timed after {_evaluations(first['warmups'])} untimed. Each statistic ran in a fresh "
              "process; its peak is that whole process's resident memory (Python, TensorFlow, VGG19 and the targets included; "
              "Linux's VmHWM), read right after the timed evaluations. \"statistic alone\" is the statistic's loss and gradient "
              "with respect to the features at its layers, VGG19 left out; \"counted\" is `style_stats.step_cost`'s count of "
              "multiply-adds and of the bytes one evaluation builds beyond the features, summed over the layers.", "",
              "| statistic | layers | options | VGG19 up to | evaluation | statistic alone | counted G multiply-adds | counted MB built "
              "| peak memory |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        cells = [r["statistic"], ", ".join(r["layers"]), _options_text(r["options"]), r["deepest_layer"]]
        if r.get("refused"):
            cells += ["refused", "", "", "", f"{r['peak_mb']:.0f} MB"]
        else:
            spread = f" ({min(r['samples']):.3f}-{max(r['samples']):.3f})" if len(r["samples"]) > 1 else ""
            cells += [f"{r['seconds']:.3f} s{spread}", f"{r['alone_seconds']:.3f} s", f"{r['multiply_adds'] / 1e9:.2f}",
                      f"{r['step_bytes'] / 2**20:.1f}", f"{r['peak_mb']:.0f} MB"]
        lines.append("| " + " | ".join(cells) + " |")
    from benchmarks import report

    lines += ["", f"Machine: {measurements['machine']}, {measurements['cores']} cores, no GPU used; TensorFlow {first['tensorflow']}; "
              f"{report.weights_line(report.weights_kind_of(runs))}; precision {', '.join(precisions)} ({measurements['precision_why']})."]
    return lines


def with_section(results: str, measurements: dict, command: str) -> str:
    """RESULTS.md's text with its style-statistics section replaced by this measurement's (appended if it has none)."""
    from benchmarks import report

    return report.replace_section(results, SECTION, report_lines(measurements), command)


def _size(text: str) -> int:
    """--size: a whole number of px from MIN_SIZE to MAX_SIZE (argparse names the option in its message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of px (e.g. 512)") from None
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{value} px is outside {MIN_SIZE}-{MAX_SIZE} px (the long side of the photo, e.g. 512)")
    return value


def _count(text: str) -> int:
    """--repeats, --warmups: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return value


def _precision(requested: str) -> tuple[str, str]:
    """(the precision VGG19 computes in, why): `requested` itself, or what precision="auto" chooses here and its reason."""
    if requested != "auto":
        return requested, "as asked with --precision"
    from helpers import precision

    decision = precision.choose()
    return decision["choice"], f"precision=\"auto\" chose it: {decision['why']}"


def main(argv=None) -> int:
    """Measure each statistic in its own process, print one line each, and keep the measurements as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{SIZES['quick']['size']} px, one timed evaluation: checks that everything runs")
    parser.add_argument("--size", type=_size, help=f"the content's long side in px (default {SIZES['full']['size']}; "
                        f"{SIZES['quick']['size']} with --quick)")
    parser.add_argument("--repeats", type=_count, help="timed evaluations per statistic (default 3; 1 with --quick)")
    parser.add_argument("--warmups", type=_count, help="untimed evaluations before them (default 2; 1 with --quick)")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto",
                        help="VGG19's precision (default auto: what the course's optimiser would choose here)")
    parser.add_argument("--statistics", default=",".join(STATISTICS), help="comma-separated statistics to measure (default all five)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench-cache" / "style_statistics.json", help="where the JSON goes")
    parser.add_argument("--results", type=Path, help="also put the section into this RESULTS.md (replacing its own, if any)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    size = args.size or sizes["size"]
    repeats = sizes["repeats"] if args.repeats is None else max(1, args.repeats)
    warmups = sizes["warmups"] if args.warmups is None else args.warmups
    if args.worker:  # one statistic, in this (fresh) process; its result as JSON in --out
        from helpers import files

        result = measure_statistic(args.worker, size, repeats, warmups, args.precision)
        files.write_atomic(args.out, json.dumps(result))
        return 0
    wanted = [s.strip() for s in args.statistics.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATISTICS]
    if unknown or not wanted:
        parser.error(f"--statistics: {', '.join(unknown) or 'none given'}; choose from {', '.join(STATISTICS)}")
    if args.results is not None and not args.results.is_file():
        parser.error(f"--results: {args.results} does not exist (run benchmarks/run.py first, or leave --results out)")
    from helpers import config, files, precision

    with config.native_log_to(ROOT / "build" / "logs" / "bench-style-statistics.log"):
        chosen, why = _precision(args.precision)
    start = time.perf_counter()
    runs = []
    for statistic in wanted:
        print(f"  {statistic} at {size} px ...", flush=True)
        runs.append(spawn(statistic, size, repeats, warmups, chosen))
        print(f"    done in {time.perf_counter() - start:.0f} s from the start", flush=True)
    measurements = {"statistics": runs, "quick": args.quick, "machine": precision.cpu_name() or platform.machine(),
                    "cores": os.cpu_count(), "precision_why": why, "seconds": time.perf_counter() - start}
    files.write_atomic(args.out, json.dumps(measurements, indent=1))
    for r in runs:
        print(result_line(r))
    print(f"measurements: {args.out}")
    if args.results is not None:
        target = args.results.resolve()
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target.name   # no machine's own path
        flags = (" --quick" if args.quick else "") + (f" --size {size}" if args.size else "") \
            + (f" --repeats {repeats}" if args.repeats is not None else "") + (f" --warmups {warmups}" if args.warmups is not None else "") \
            + (f" --precision {args.precision}" if args.precision != "auto" else "") \
            + (f" --statistics {','.join(wanted)}" if list(wanted) != list(STATISTICS) else "")
        command = f"python benchmarks/style_statistics.py{flags} --results {shown}"
        files.write_atomic(args.results, with_section(args.results.read_text(encoding="utf-8"), measurements, command))
        print(f"section written into {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
