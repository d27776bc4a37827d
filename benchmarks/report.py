"""RESULTS.md and its plots, rendered from a run's measurements alone (benchmarks/run.py --report-only re-renders them).

`render(measurements, out)` writes nothing but RESULTS.md (or RESULTS-random-weights.md) and the plots into `out`.
The grep lines (`time-to-quality speedup at 512 px: N.Nx`, ...) are written by the full plan only.
"""

from __future__ import annotations

import statistics
from pathlib import Path

#: The RESULTS.md file name of a run whose VGG19 weights are not trained (it never overwrites the real results).
RANDOM_RESULTS = "RESULTS-random-weights.md"
#: The issue's goals: an L-BFGS iteration at most this many evaluations, a 1024 px optimisation in this many MB, and the
#: time-to-quality speedup at 512 px by precision (native bfloat16, or float32).
GOAL_ITERATION = 1.05
GOAL_MEMORY_1024 = 4096
GOAL_SPEEDUP = {"bfloat16": 8.0, "float32": 3.3}


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
        if "measured_seconds" in r:
            return r["measured_seconds"]
        if isinstance(r.get("seconds"), (int, float)):  # benchmarks/throughput.py's own command records its duration so
            return float(r["seconds"])
        return r["seconds"][-1] if isinstance(r.get("seconds"), list) and r["seconds"] else None

    known = [seconds(r) for r in results if seconds(r) is not None]
    total = sum(known)
    line = f"- total benchmark time: {total:.0f} s ({total / 3600:.1f} h), summed over the measurements"
    if candidates:
        extra = sum(seconds(r) or 0.0 for r in candidates)
        line += f"; without the --candidates recipes ({extra:.0f} s) it is {total - extra:.0f} s ({(total - extra) / 3600:.1f} h)"
    from_history = sum(1 for r in results if "measured_seconds" not in r and isinstance(r.get("seconds"), list) and r["seconds"])
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


def replace_section(results: str, section: str, lines: list[str], command: str) -> str:
    """RESULTS.md's text with the section that starts with `section` replaced by `lines` and the command (appended if absent)."""
    block = "\n".join(lines + ["", f"Measured by `{command}`, separately from the sections above."]) + "\n"
    start = results.find(section)
    if start < 0:
        return results.rstrip("\n") + "\n\n" + block
    end = results.find("\n## ", start + len(section))
    return results[:start] + block + ("" if end < 0 else "\n" + results[end + 1:])


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


def step_at(steps, size: int, precision: str | None = None) -> dict | None:
    """The per-step measurement at `size` (in `precision`, when one is named), or None."""
    return next((s for s in steps if s["size"] == size and precision in (None, s["precision"])), None)


def baseline_forecast(specs, steps) -> str:
    """One line: how long the time-to-quality baselines will take here, from the Adam steps just timed."""
    parts, total = [], 0.0
    for spec in specs:
        step = (step_at(steps, spec["size"], "float32") or {}).get("adam_step")
        if step is None:
            continue
        total += spec["baseline_steps"] * step
        parts.append(f"{spec['baseline_steps']} x {step:.2f} s at {spec['size']} px")
    if not parts:
        return "time to quality: no baseline to forecast"
    return f"time to quality: the baselines alone take about {total / 60:.0f} min here ({'; '.join(parts)}), unless kept by --resume"


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


# ------------------------------------------------------------------------------------------------ sections


def step_lines(m: dict, full: bool) -> list[str]:
    """Section 1: per-step cost, where an evaluation's time goes, and each engine's bookkeeping and cost per iteration."""
    matmul, steps, plan = m["matmul"], m["steps"], m["plan"]
    lines = ["## 1. Per-step cost", "", f"TF matmul peak ({plan['matmul_n']}x{plan['matmul_n']} float32, same run): {matmul['gflops']:.0f} GFLOP/s.",
             "", "| size | precision | course L-BFGS evaluation | Adam step | bare VGG19 fwd+grad | VGG GFLOP | achieved GFLOP/s "
             "| share of matmul peak | L-BFGS eval / bare pass |", "|---|---|---|---|---|---|---|---|---|"]
    for s in steps:
        bare_med = statistics.median(s["bare_vgg"])
        achieved = s["gflop"] / bare_med
        lines.append(
            f"| {s['size']} px | {s['precision']} | {_median_spread(s['lbfgs_eval'])} | {s['adam_step']:.3f} s | {_median_spread(s['bare_vgg'])} | "
            f"{s['gflop']:.0f} | {achieved:.0f} | {achieved / matmul['gflops']:.0%} | {statistics.median(s['lbfgs_eval']) / bare_med:.2f}x |")
    for s in steps:
        if "breakdown" not in s:
            continue
        bare_med, evaluation = statistics.median(s["bare_vgg"]), statistics.median(s["lbfgs_eval"])
        lines += ["", f"Where an evaluation's time goes at {s['size']} px ({s['precision']}); each row adds one piece to the one above:", "",
                  "| what runs (forward + gradient with respect to the image) | median | / bare pass |", "|---|---|---|",
                  f"| bare VGG19 to {m['content_layer']} | {bare_med:.3f} s | 1.00x |"]
        for label, samples in s["breakdown"].items():
            lines.append(f"| {label} | {statistics.median(samples):.3f} s | {statistics.median(samples) / bare_med:.2f}x |")
        lines.append(f"| the course's evaluation (the whole objective, as the TensorFlow L-BFGS calls it) | {evaluation:.3f} s | "
                     f"{evaluation / bare_med:.2f}x |")
        striped = statistics.median(s["striped_eval"])
        lines += ["", f"With VGG19's first two blocks in stripes of {s['striped_rows']} rows (`memory=\"low\"`, the same loss and "
                  f"gradient), the evaluation takes {striped:.3f} s ({striped / evaluation:.2f}x the whole-image evaluation).", ""]
        if full:
            lines.append(f"optimiser evaluation / bare VGG19 pass at {s['size']} px: {evaluation / bare_med:.2f}x")
    return lines + bookkeeping_lines(m["bookkeeping"], steps) + iteration_lines(m.get("iteration") or {})


def bookkeeping_lines(bookkeeping: dict, steps) -> list[str]:
    """RESULTS.md lines: each L-BFGS engine's work outside the objective, against an evaluation at the same size."""
    size = bookkeeping["size"]
    step = step_at(steps, size)
    evaluation = statistics.median(step["lbfgs_eval"]) if step else None
    tf_engine = bookkeeping.get("tensorflow", {})
    lines = ["", f"Outside the evaluation: each L-BFGS engine's bookkeeping on {bookkeeping['variables']:,} variables bounded to [0, 1] "
             f"(a {size} px image), timed with a cheap stand-in objective over {bookkeeping['iterations']} iterations "
             "(per iteration: once the memory is full):", "",
             "| L-BFGS memory | scipy: set-up and first iteration | scipy: per iteration | TensorFlow: per iteration |"
             + (f" scipy / an evaluation at {size} px | TensorFlow / an evaluation |" if evaluation else ""),
             "|---|---|---|---|" + ("---|---|" if evaluation else "")]
    for m, r in bookkeeping["memories"].items():
        t = tf_engine.get(m, {}).get("per_iteration")
        lines.append(f"| {m} | {r['first_iteration']:.2f} s | {r['per_iteration']:.3f} s | " + (f"{t:.3f} s |" if t is not None else "- |")
                     + (f" {r['per_iteration'] / evaluation:.2f}x | " + (f"{t / evaluation:.2f}x |" if t is not None else "- |")
                        if evaluation else ""))
    return lines + [""]


def iteration_lines(iteration: dict) -> list[str]:
    """RESULTS.md lines: each engine's seconds per iteration on the real objective against one evaluation in the same process."""
    if not iteration:
        return []
    first = next(iter(iteration.values()))
    lines = [f"Each engine on the course's objective at {first['size']} px ({first['precision']}, memory {first['lbfgs_memory']}), "
             f"{first['iterations']} iterations after the first (so its memory is not yet full), against one evaluation timed in "
             "the same process:", "",
             "| engine | one evaluation | per iteration | evaluations per iteration | iteration / evaluation |", "|---|---|---|---|---|"]
    names = {"lbfgs": "L-BFGS in TensorFlow (`optimizer=\"lbfgs\"`)", "lbfgs-scipy": "scipy's L-BFGS-B (`optimizer=\"lbfgs-scipy\"`)"}
    for optimizer, r in iteration.items():
        evaluation = statistics.median(r["evaluation"])
        lines.append(f"| {names.get(optimizer, optimizer)} | {evaluation:.3f} s | {r['per_iteration']:.3f} s | "
                     f"{r['evaluations'] / (r['iterations'] + 1):.2f} | {r['per_iteration'] / evaluation:.2f}x |")
    return lines + [""]


def iteration_ratio(m: dict, size: int) -> tuple[float, str] | None:
    """(seconds per iteration of the course default's time-to-quality run at `size` / one evaluation timed alone, precision).

    The run's iterations after the first (which traces the graph) count, so the memory is full for most of them and
    every extra evaluation of the line search is included; the evaluation is section 1's, in the run's precision.
    Without that run (--ttq-sizes), the TensorFlow engine's own short timing in section 1 is used.
    """
    for entry in m["ttq"]:
        hist = next((h for label, h in entry["runs"].items() if label.startswith("course default")), None)
        step = step_at(m["steps"], size, hist["precision"]) if hist and entry["spec"]["size"] == size else None
        if step is None or hist["step"][-1] < 2:
            continue
        per_iteration = (hist["seconds"][-1] - hist["seconds"][1]) / (hist["step"][-1] - 1)
        return per_iteration / statistics.median(step["lbfgs_eval"]), hist["precision"]
    engine = (m.get("iteration") or {}).get("lbfgs")
    if engine and engine["size"] == size:
        return engine["per_iteration"] / statistics.median(engine["evaluation"]), engine["precision"]
    return None


def ttq_lines(m: dict, out: Path, full: bool) -> tuple[list[str], dict]:
    """Section 2: time to quality at each size, with plots; returns the lines and {size: (speedup, precision)}."""
    plan, steps, bookkeeping = m["plan"], m["steps"], m["bookkeeping"]
    first = m["ttq"][0]["spec"] if m["ttq"] else plan["ttq"][0]
    lines = ["## 2. Time to quality", "", (
             f"Not measured in this run: its time-to-quality sizes were left out (`--ttq-sizes`). The whole plan (`make bench`) "
             f"times the TF tutorial's recipe ({first['baseline_steps']} Adam steps, float32) against the course's default "
             f"L-BFGS at {first['size']} px." if not m["ttq"] else
             "Every recipe minimises the same objective: the TF tutorial's (`form='mean'`, style weight 1e-2, content weight 1e4, "
             "TV weight 30). The baseline is the tutorial's recipe exactly: Adam (lr 0.02, beta1 0.99, eps 0.1), 1000 steps "
             f"({first['baseline_steps']} in this run), float32, from the content, `benchmarks/baseline.py`. Time to quality is the "
             "wall time until a recipe's loss, at full size, is at or below the baseline's final loss. The L-BFGS recipes stop once "
             f"they reach it (or after {first['max_steps']} iterations), so the curve of one that does ends at the dashed line. A "
             "recipe that starts from the Magenta model's output is charged the seconds that stylisation took, its first-call "
             "set-up included. \"final loss (float32)\" scores the final image under the float32 objective, so runs in different "
             "precisions compare; a bfloat16 run stops when its own loss (float32 arithmetic on bfloat16 features) reaches the target."),
             ""]
    headlines = {}
    for entry in m["ttq"]:
        spec, runs = entry["spec"], entry["runs"]
        size = spec["size"]
        base_label = next(iter(runs))
        base_hist = runs[base_label]
        target = base_hist["total"][-1]
        measured_time = base_hist["seconds"][-1]
        isolated = (step_at(steps, size, "float32") or {}).get("adam_step")
        base_time = fair_baseline_seconds(base_hist, spec["baseline_steps"], isolated)
        lines += [f"### {size} px (baseline: {spec['baseline_steps']} Adam steps in {measured_time:.0f} s, "
                  f"{measured_time / spec['baseline_steps']:.3f} s per step; final loss {target:.4g})", ""]
        if isolated is not None:
            lines += [f"An Adam step timed alone in section 1 took {isolated:.3f} s, so {spec['baseline_steps']} of them take "
                      f"{spec['baseline_steps'] * isolated:.0f} s; the baseline run took {measured_time / (spec['baseline_steps'] * isolated):.2f}x "
                      f"that. The speedups below divide the smaller of the two times, {base_time:.0f} s, by each recipe's time to "
                      "quality, so a baseline slowed by other work on the CPU cannot flatter them.", ""]
        lines += ["| recipe | time to baseline's final loss | speedup | iterations (evaluations, restarts) | final loss (float32) | peak memory |",
                  "|---|---|---|---|---|---|"]
        for label, hist in runs.items():
            reach = measured_time if label == base_label else time_to_reach(hist, target, hist.get("full_side"))
            speed = (1.0 if label == base_label else base_time / reach) if reach else None
            if label.startswith("course default"):
                headlines[size] = (speed, hist.get("precision"))
                label = f"**{label}**"
            work = (f"{spec['baseline_steps']} steps" if label == base_label else
                    f"{hist['step'][-1]} ({hist.get('evaluations')}, {len(hist.get('restarts') or [])})")
            lines.append(f"| {label} | {f'{reach:.1f} s' if reach else 'not reached'} | {f'{speed:.1f}x' if speed else '-'} | {work} | "
                         f"{hist.get('final_float32', hist['total'][-1]):.4g} | {hist['peak_mb']:.0f} MB |")
        for label, hist in runs.items():
            if label == base_label or time_to_reach(hist, target, hist.get("full_side")) is not None:
                continue
            lead = lead_time(base_hist, hist)
            lines += ["", f"`{label}` did not reach the baseline's final loss within its {hist['step'][-1]} iterations"
                      + (f"; it was ahead of the baseline (lower loss at the same wall time) for the first {lead:.0f} s." if lead else ".")]
        lines += iteration_accounting(runs, size, steps, bookkeeping)
        if full and size == 512:
            lines += ["", iteration_line(m)]
        if m["precision"]["choice"] == "float32" and spec.get("run_candidates"):
            lines += ["", f"No bfloat16 recipe ran: on this machine bfloat16 was not clearly faster ({m['precision']['why']}; "
                      f"\"auto\" needs at most {m['faster_by']:.0%} of float32's time)."]
        plot = out / f"time_to_quality_{size}.png"
        _plot(runs, target, plot, size, spec["max_steps"])
        lines += ["", f"![loss against time at {size} px]({plot.name})", ""]
    if full:
        run_sizes = [entry["spec"]["size"] for entry in m["ttq"]]
        if 512 not in run_sizes:  # the iteration cost is measured on its own too, so it is reported without the 512 px section
            lines += [iteration_line(m), ""]
        for size in (512, 256):
            speed, precision = headlines.get(size, (None, None))
            line = f"time-to-quality speedup at {size} px: "
            if size not in run_sizes:
                lines.append(line + "not measured in this run" + (" (--candidates measures it)" if size == 256 else ""))
            else:
                lines.append(line + (f"{speed:.1f}x" if speed else "0.0x (not reached)") + f" ({precision})")
        lines.append("")
    return lines, headlines


def iteration_line(m: dict) -> str:
    """The grep line of an L-BFGS iteration's cost in evaluations at 512 px."""
    ratio = iteration_ratio(m, 512)
    return (f"L-BFGS iteration / evaluation at 512 px: {ratio[0]:.2f}x ({ratio[1]})" if ratio else
            "L-BFGS iteration / evaluation at 512 px: not measured in this run")


def iteration_accounting(runs: dict, size: int, steps, bookkeeping: dict) -> list[str]:
    """RESULTS.md lines: the course default's seconds per iteration in its run, split into what was timed alone."""
    label = next((k for k in runs if k.startswith("course default")), None)
    if label is None or bookkeeping["size"] != size:
        return []
    hist = runs[label]
    step = step_at(steps, size, hist["precision"])  # an evaluation timed alone, in the run's own precision
    engine = "memories" if hist.get("optimizer") == "lbfgs-scipy" else "tensorflow"
    kept = bookkeeping.get(engine, {}).get(str(hist["lbfgs_memory"]))
    iterations, evaluations = hist["step"][-1], hist.get("evaluations")
    if step is None or kept is None or not iterations or not evaluations:
        return []
    evaluation = statistics.median(step["lbfgs_eval"])
    in_run = (hist["seconds"][-1] - hist.get("head_start", 0.0)) / iterations
    parts = evaluation * evaluations / iterations
    rest = in_run - parts - kept["per_iteration"]
    head = (f"The course default took {in_run:.2f} s per iteration in this run. Timed alone, its {evaluations / iterations:.2f} "
            f"evaluations per iteration take {parts:.2f} s and its engine's bookkeeping at memory {hist['lbfgs_memory']} "
            f"{kept['per_iteration']:.2f} s")
    if rest >= 0:
        return ["", f"{head}; the remaining {rest:.2f} s per iteration ({rest / in_run:.0%}) is what running them together adds; "
                "this run does not split it further."]
    low, high = min(step["lbfgs_eval"]), max(step["lbfgs_eval"])
    spread = ("within the spread of the evaluations timed alone" if -rest <= high - low else
              "more than the spread of the evaluations timed alone, so the CPU ran faster during this run than when they were timed")
    return ["", f"{head}. Together they came out {-rest:.2f} s per iteration ({-rest / in_run:.0%}) cheaper than these parts timed "
            f"alone: running them together adds nothing measurable, and the difference is {spread} ({low:.3f}-{high:.3f} s, "
            "timed at another moment of the run)."]


def hub_lines(m: dict) -> list[str]:
    """Section 3: the offline Magenta model in TensorFlow against onnxruntime."""
    hub = m["hub"]
    lines = ["## 3. Offline Magenta model: TensorFlow against onnxruntime", "",
             "onnxruntime runs with its default graph optimisations, as a user would time it; they fuse the quantised ops into "
             "integer kernels whose rounding depends on the CPU, so the difference column varies between machines. "
             "`tests/test_magenta.py` measures fidelity against the unfused graph.", "",
             "| content size | TF (this course) | onnxruntime | TF / onnxruntime | mean abs difference |", "|---|---|---|---|---|"]
    for size in m["plan"]["hub_sizes"]:
        r = hub[str(size)]
        ratio = statistics.median(r["tf"]) / statistics.median(r["onnxruntime"])
        lines.append(f"| {size} px | {_median_spread(r['tf'])} | {_median_spread(r['onnxruntime'])} | {ratio:.2f}x | {r['mean_abs_diff']:.4f} |")
    return lines + [""]


def _evaluation_kind(run: dict) -> str:
    """'whole image' or 'stripes of N rows'."""
    return f"stripes of {run['stripe_rows']} rows" if run.get("stripe_rows") else "whole image"


def memory_lines(m: dict, full: bool) -> list[str]:
    """Section 4: peak memory of short optimisations, and where it comes from in one evaluation."""
    runs = m["memory"]
    lines = ["## 4. Peak memory", "", "L-BFGS optimisations (the course's defaults, `max_dim=None`), peak resident memory of the "
             "whole process (TensorFlow included); `memory=\"auto\"` runs VGG19's first blocks in stripes above "
             f"{m['stripes_above']:,} pixels:", "",
             "| size | memory= | evaluation | precision | L-BFGS memory | iterations | peak memory | seconds per iteration |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['size']} px | {r['memory']} | {_evaluation_kind(r)} | {r['precision']} | {r['lbfgs_memory']} | {r['steps']} | "
                     f"{r['peak_mb']:.0f} MB | {r['per_iteration']:.1f} s |")
    lines += ["", f"The Magenta timing process peaked at {m['hub']['peak_mb']:.0f} MB."
              + (" In the quick run every measurement shares one process, so these peaks are cumulative." if not full else ""), ""]
    lines += memory_stage_lines(m["stages"])
    if full:
        for size in (1024, 2048):
            r = next((r for r in runs if r["size"] == size and r["memory"] == "auto"), None)
            if r is None:
                continue
            line = f"peak memory of a {size} px optimisation: {r['peak_mb']:.0f} MB ({r['precision']})"
            lines.append(line + (f", {r['per_iteration']:.1f} s per iteration" if size == 2048 else ""))
        lines.append("")
    return lines


def memory_stage_lines(stages: dict) -> list[str]:
    """RESULTS.md lines: the peak memory after each stage of one evaluation, whole and in stripes."""
    first = next(iter(stages.values()))
    size = first["size"]
    lines = ["", f"Where the peak comes from at {size} px: one process per column, each row a later stage of the same process "
             "(peaks only grow, so each row includes the ones above):", "",
             "| stage | " + " | ".join(_evaluation_kind(s) for s in stages.values()) + " |", "|---|" + "---|" * len(stages)]
    for stage in first["peaks"]:
        lines.append(f"| {stage} | " + " | ".join(f"{s['peaks'][stage]:.0f} MB" for s in stages.values()) + " |")
    return lines + [""]


def goal_lines(m: dict, headlines: dict) -> list[str]:
    """The issue's goals against what this run measured, on this CPU."""
    choice = m["precision"]["choice"]
    rows = []
    ratio = iteration_ratio(m, 512)
    if ratio:
        rows.append((f"an L-BFGS iteration at 512 px costs at most {GOAL_ITERATION:.2f} evaluations", f"{ratio[0]:.2f}x",
                     ratio[0] <= GOAL_ITERATION))
    speed, precision = headlines.get(512, (None, choice))
    goal = GOAL_SPEEDUP.get(precision or choice, GOAL_SPEEDUP["float32"])
    measured = any(entry["spec"]["size"] == 512 for entry in m["ttq"])
    rows.append((f"time to quality at 512 px {goal:.1f}x the tutorial's ({precision or choice})",
                 (f"{speed:.1f}x" if speed else "not reached") if measured else "not measured in this run",
                 bool(speed and speed >= goal) if measured else None))
    for r in m["memory"]:
        if r["memory"] == "auto" and r["size"] == 1024:
            rows.append((f"a 1024 px optimisation in at most {GOAL_MEMORY_1024} MB", f"{r['peak_mb']:.0f} MB", r["peak_mb"] <= GOAL_MEMORY_1024))
        if r["memory"] == "auto" and r["size"] == 2048:
            rows.append(("a 2048 px optimisation runs on this machine", f"{r['peak_mb']:.0f} MB, {r['per_iteration']:.0f} s per iteration", True))
    lines = ["## Goals", "", f"On {m['machine']['cpu']} ({m['machine']['cores']} cores), precision {choice}:", "",
             "| goal | measured | met |", "|---|---|---|"]
    return lines + [f"| {goal} | {value} | {'-' if met is None else 'yes' if met else 'no'} |" for goal, value, met in rows] + [""]


def render(m: dict, out: Path) -> Path:
    """Write RESULTS.md (or RESULTS-random-weights.md) and the plots into `out` from the measurements `m`; returns the file."""
    out.mkdir(parents=True, exist_ok=True)
    full = m["meta"]["mode"] == "full"
    machine = m["machine"]
    ttq_runs = [r for entry in m["ttq"] for r in entry["runs"].values()]
    everything = [m["matmul"], m["precision"], *m["steps"], m["bookkeeping"], *(m.get("iteration") or {}).values(), *ttq_runs,
                  m["hub"], *m["memory"], *m["stages"].values()]
    kind = weights_kind_of(everything)
    candidates = [r for entry in m["ttq"] for label, r in entry["runs"].items()
                  if entry["spec"].get("run_candidates") and not label.startswith(("baseline", "course default"))]
    lines = ["# Benchmark results", "", f"Written by `{m['meta']['command']}`; do not edit by hand."
             + (" Measurements kept in build/bench-cache/ by an earlier run of this script are reused"
                + (", except the kinds named after --fresh, which this run took again." if "--fresh" in m["meta"]["command"] else ".")
                if m["meta"]["resume"] else ""),
             "", weights_line(kind), "",
             f"- machine: {machine['cpu']}, {machine['cores']} cores, no GPU used",
             f"- versions: Python {machine['python']}, TensorFlow {machine['tensorflow']}, NumPy {machine['numpy']}, "
             f"SciPy {machine['scipy']}, onnxruntime {machine['onnxruntime']}",
             f"- images: content `{m['content']}`, style `{m['style']}` (committed examples)",
             f"- precision=\"auto\" chose **{m['precision']['choice']}** here: {m['precision']['why']}",
             time_line(everything + ([m["throughput"]] if m.get("throughput") else []), candidates), ""]
    lines += step_lines(m, full)
    ttq, headlines = ttq_lines(m, out, full)
    lines += ttq + hub_lines(m) + memory_lines(m, full)
    if m.get("throughput"):  # benchmarks/throughput.py's section, when its measurement exists
        from benchmarks import throughput

        lines += throughput.report_lines(m["throughput"]) + [""]
    if full:
        lines += goal_lines(m, headlines)
    name = results_name(kind)
    if name != "RESULTS.md":
        lines.insert(2, "**These numbers were measured with random VGG19 weights, not the trained network the course uses.**\n")
        print(f"VGG19 weights were random: writing {name}, not RESULTS.md", flush=True)
    from helpers import files

    path = out / name
    files.write_atomic(path, "\n".join(lines).rstrip("\n") + "\n")
    return path
