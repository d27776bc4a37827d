"""What the benchmark measures: the full plan (make bench), the quick one (make bench-quick, the tests), and its forecast.

The full plan is kept lean: the 512 px half of time to quality (the headline), the per-step cost at 512 px and where
it goes, each L-BFGS engine's cost per iteration, the offline Magenta model, and peak memory at 1024 and 2048 px.
--candidates adds the other recipes: at 256 px (its own baseline, scipy's L-BFGS-B, the other line search and bound
handling, memory 10, the start from the Magenta model's output), and scipy's L-BFGS-B at 512 px.

A plan's "throughput" entry names the size set of benchmarks/throughput.py (folder stylisation with tf.data against
the loop, 1 against 2 training workers); with --resume its measurement may come from build/bench-cache/throughput.json,
kept by that file's own command, and its section is rendered only when a measurement exists.
"""

from __future__ import annotations

CONTENT, STYLE = "astronaut", "swirls"

#: Each time-to-quality size runs the TF tutorial's Adam (the baseline, `baseline_steps`) and the course default; the
#: L-BFGS recipes stop once they reach the baseline's final loss, or after `max_steps`. `candidates` lists the other
#: recipes (see `recipes`), run when `always` is true or with --candidates; a size with `only_with_candidates` runs only
#: with --candidates.
PLANS = {
    "full": {
        "step_sizes": [512],
        "step_repeats": 5,
        "breakdown_size": 512,
        "breakdown_stripe_rows": 128,  # the evaluation in stripes is timed with four of them (as a 2048 px image has)
        "other_precision_size": None,
        "iteration": {"size": 512, "iterations": 10},
        "ttq": [
            {"size": 512, "baseline_steps": 1000, "max_steps": 300, "candidates": ["scipy"], "always": False},
            {"size": 256, "baseline_steps": 1000, "max_steps": 300, "only_with_candidates": True, "always": False,
             "candidates": ["scipy", "line search", "bounds", "memory 10", "hub"]},
        ],
        "hub_sizes": [256, 512, 1024],
        "hub_repeats": 5,
        "memory_runs": [{"size": 1024, "steps": 3, "memory": "auto"}, {"size": 1024, "steps": 3, "memory": "fast"},
                        {"size": 2048, "steps": 3, "memory": "auto"}],
        "memory_stages": {"size": 1024, "memories": ["fast", "low"]},
        "bookkeeping": {"size": 512, "memories": [10, 50], "iterations": 80},
        "matmul_n": 4096,
        "stripe_pixels": None,  # the course's optimize.STRIPE_PIXELS
        "throughput": "full",
    },
    "quick": {
        "step_sizes": [64],
        "step_repeats": 2,
        "breakdown_size": 64,
        "breakdown_stripe_rows": 32,
        "other_precision_size": 64,
        "iteration": {"size": 64, "iterations": 4},
        "ttq": [{"size": 64, "baseline_steps": 10, "max_steps": 10, "always": True, "c2f": ([48, 64], [5, 10]),
                 "candidates": ["scipy", "bounds", "hub", "coarse to fine"]}],  # one recipe of each kind of code path
        "hub_sizes": [64],
        "hub_repeats": 2,
        "memory_runs": [{"size": 96, "steps": 2, "memory": "fast"}, {"size": 128, "steps": 2, "memory": "low"}],
        "memory_stages": {"size": 96, "memories": ["fast", "low"]},
        "bookkeeping": {"size": 64, "memories": [10, 50], "iterations": 70},
        "matmul_n": 512,
        "stripe_pixels": 64 * 32,  # stripes of 32 rows, so that these small images have several
        "throughput": None,
    },
}


def ttq_specs(plan: dict, sizes, with_candidates: bool) -> list[dict]:
    """The time-to-quality sizes this invocation runs, each with `run_candidates` saying whether its other recipes run."""
    specs = []
    for spec in plan["ttq"]:
        if spec["size"] not in sizes or (spec.get("only_with_candidates") and not with_candidates):
            continue
        specs.append({**spec, "run_candidates": bool(spec["always"] or with_candidates)})
    return specs


def recipes(spec: dict, choice: str, default_memory: int) -> list[tuple[str, dict]]:
    """(label, work_ttq arguments) of the L-BFGS recipes timed at one size; the course default first.

    The default's arguments are written out (the memory transfer() picks at this size, the precision "auto" picks here,
    the line search and bound handling helpers.lbfgs uses), so a kept measurement is reused only for the same settings.
    """
    from helpers import lbfgs

    steps = spec["max_steps"]
    default = {"steps": steps, "optimizer": "lbfgs", "lbfgs_memory": default_memory, "precision": choice,
               "line_search": lbfgs.LINE_SEARCH, "bounds": lbfgs.BOUND_HANDLING}
    rows = [(f"course default: L-BFGS in TensorFlow, memory {default_memory}, {choice}", default)]
    if not spec.get("run_candidates"):
        return rows
    other_search = next(s for s in lbfgs.LINE_SEARCHES if s != lbfgs.LINE_SEARCH)
    other_bounds = next(b for b in lbfgs.BOUNDS if b != lbfgs.BOUND_HANDLING)
    names = {
        "scipy": (f"scipy's L-BFGS-B, memory {default_memory}, {choice}", {**default, "optimizer": "lbfgs-scipy",
                                                                           "line_search": None, "bounds": None}),
        "line search": (f"L-BFGS in TensorFlow, line search {other_search!r}", {**default, "line_search": other_search}),
        "bounds": (f"L-BFGS in TensorFlow, bounds {other_bounds!r}", {**default, "bounds": other_bounds}),
        "memory 10": ("L-BFGS in TensorFlow, memory 10", {**default, "lbfgs_memory": 10}),
        "hub": ("L-BFGS in TensorFlow, from the Magenta model's output", {**default, "init": "hub"}),
    }
    if "c2f" in spec:
        scales, c2f_steps = spec["c2f"]
        names["coarse to fine"] = (f"L-BFGS in TensorFlow, coarse to fine {scales}", {**default, "steps": c2f_steps, "scales": scales})
    for name in spec["candidates"]:
        label, kwargs = names[name]
        if kwargs != default:
            rows.append((label, kwargs))
    if choice == "bfloat16":  # where bfloat16 is not clearly faster, "auto" never picks it; RESULTS.md says so instead
        rows.append(("L-BFGS in TensorFlow, float32", {**default, "precision": "float32"}))
    return rows


#: An Adam step costs about this many evaluations (5.19 s against 5.67 s at 512 px in the RESULTS.md this plan replaced),
#: and the stripes about this much more than the whole image (their first blocks run forward twice).
ADAM_PER_EVALUATION = 0.92
STRIPES_PER_EVALUATION = 1.2


def work_units(plan: dict, specs) -> list[tuple[str, int, float]]:
    """(what, image side, evaluations) of every measurement in the plan, to forecast its time from one evaluation's cost."""
    calls = plan["step_repeats"] + 2  # each timing: two warm-ups, then the repeats
    units = [("per-step cost", size, (8 if size == plan["breakdown_size"] else 2) * calls + ADAM_PER_EVALUATION * (calls + 1))
             for size in plan["step_sizes"]]
    units.append(("L-BFGS iteration cost, both engines", plan["iteration"]["size"], 2 * (plan["iteration"]["iterations"] + 8)))
    for spec in specs:
        units.append((f"baseline at {spec['size']} px", spec["size"], ADAM_PER_EVALUATION * spec["baseline_steps"]))
        count = len(recipes(spec, "float32", 50))
        units.append((f"{count} L-BFGS recipe(s) at {spec['size']} px (at most)", spec["size"], count * spec["max_steps"] * 1.1))
    for run in plan["memory_runs"]:  # the targets (two forward passes), the start, then the iterations
        units.append((f"memory at {run['size']} px ({run['memory']})", run["size"], (run["steps"] + 2.5) * STRIPES_PER_EVALUATION))
    stages = plan["memory_stages"]
    units.append((f"memory stages at {stages['size']} px", stages["size"], 3 * STRIPES_PER_EVALUATION * len(stages["memories"])))
    return units


def forecast(plan: dict, specs, seconds_at) -> tuple[float, list[str]]:
    """(seconds, one line per part) for the plan, `seconds_at(side)` being one evaluation's seconds at that side."""
    parts, total = [], 0.0
    for what, side, evaluations in work_units(plan, specs):
        seconds = evaluations * seconds_at(side)
        total += seconds
        parts.append(f"{what}: {seconds / 60:.0f} min")
    return total, parts
