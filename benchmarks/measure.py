"""The benchmark's measurements: each worker runs in a fresh process (benchmarks/run.py spawns it) and returns a JSON-able dict.

Every worker reports the VGG19 weights it used and its process's peak resident memory, so the report can refuse a
mixed or random-weights run and show what each measurement cost in memory.
"""

from __future__ import annotations

import contextlib
import io
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import baseline
from benchmarks.plans import CONTENT, STYLE
from helpers import timing


@contextlib.contextmanager
def _stripe_pixels(pixels: int | None):
    """optimize.STRIPE_PIXELS set to `pixels` for the block (the quick plan's small images need small stripes to have several)."""
    from helpers import optimize

    kept = optimize.STRIPE_PIXELS
    optimize.STRIPE_PIXELS = pixels or kept
    try:
        yield
    finally:
        optimize.STRIPE_PIXELS = kept


def _peak_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's own peak resident memory in MB: Linux's VmHWM, else ru_maxrss.

    On Linux a process started by another one inherits the starter's peak in ru_maxrss (the kernel carries it across
    exec), so a worker spawned by a large benchmark process would report at least that process's peak; VmHWM counts
    only the worker's own pages.
    """
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0)  # bytes on macOS, KiB on Linux


def vgg_flops(height: int, width: int, last_layer: str = "block5_conv2") -> float:
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


def _problem(extractor, content, style):
    """The TF tutorial's objective (the course default's) for `content` and one style."""
    from helpers import optimize

    settings = optimize.resolve_settings()
    return optimize.StyleTransferProblem(
        extractor, content, [style], [1.0], style_weight=settings["style_weight"], content_weight=settings["content_weight"],
        tv_weight=settings["tv_weight"], form=settings["form"],
    )


def work_step(size: int, repeats: int, precision: str = "float32", breakdown: bool = False, stripe_rows: int = 128) -> dict:
    """Per-step seconds at `size`: the course's evaluation, an Adam step and a bare VGG19 pass (and where the difference goes)."""
    import numpy as np
    import tensorflow as tf

    from helpers import losses, optimize, vgg

    content, style = _square_inputs(size)
    extractor = vgg.StyleContentModel(precision=precision)
    problem = _problem(extractor, content, style)
    image = tf.constant(content)
    x = np.asarray(content, np.float64).ravel()

    def evaluation(problem=problem):
        total, _, grad = problem.loss_and_grads(image)
        return float(total), grad.numpy()

    def scipy_evaluation():
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

        return lambda: grad(image).numpy()

    def cast_in(image):
        return vgg.preprocess(image) if precision == "float32" else tf.cast(vgg.preprocess(image), precision)

    bare_model = vgg.vgg_layers([vgg.CONTENT_LAYERS[-1]], precision=precision)
    bare_pass = input_gradient(lambda image: tf.reduce_sum(tf.cast(bare_model(cast_in(image)), tf.float32)))

    def timed(fn):
        return timing.time_calls(fn, repeats, warmups=2)  # two warm-ups: tracing, then allocator

    result = {"size": size, "precision": precision, "lbfgs_eval": timed(evaluation), "bare_vgg": timed(bare_pass)}
    result["adam_step"] = optimize.time_per_step(content, style, optimizer="adam", steps=repeats + 1, network=optimize.Network(precision=precision))
    if breakdown:
        # Each row adds one piece of the evaluation to the bare pass, so the differences show where time goes.
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
        result["breakdown"]["+ scipy's float64 copies of the image and gradient"] = timed(scipy_evaluation)
        striped = vgg.StyleContentModel(precision=precision, tile_rows=stripe_rows)
        result["striped_rows"] = striped.tile_rows
        striped_problem = _problem(striped, content, style)
        result["striped_eval"] = timed(lambda: evaluation(striped_problem))
    result.update(gflop=vgg_flops(size, size) / 1e9, weights=vgg.weights_kind(), peak_mb=_peak_mb())
    return result


def _optimizer(name: str, lbfgs_memory):
    """optimize.transfer's optimizer for a name of optimize.OPTIMIZERS and an L-BFGS memory (None: the default)."""
    from helpers import optimize

    if name == "adam":
        return "adam"
    return optimize.LBFGS(memory=lbfgs_memory, engine="scipy" if name == "lbfgs-scipy" else "tensorflow")


def work_iteration(size: int, optimizer: str, iterations: int, lbfgs_memory: int, precision: str = "float32") -> dict:
    """Seconds per iteration of an L-BFGS engine on the course's objective at `size`, and of one evaluation in the same process."""
    import tensorflow as tf

    from helpers import optimize, vgg

    content, style = _square_inputs(size)
    problem = _problem(vgg.StyleContentModel(precision=precision), content, style)
    image = tf.constant(content)
    evaluation = timing.time_calls(lambda: problem.loss_and_grads(image)[0].numpy(), 3, warmups=2)
    result = optimize.transfer(content, style, optimizer=_optimizer(optimizer, lbfgs_memory), steps=iterations + 1,
                               network=optimize.Network(precision=precision), progress=False)
    seconds = result.history["seconds"]
    return {"size": size, "optimizer": optimizer, "iterations": iterations, "lbfgs_memory": lbfgs_memory,
            "precision": result.settings["precision"], "evaluation": evaluation,
            "per_iteration": (seconds[-1] - seconds[1]) / (len(seconds) - 2),  # the first iteration (tracing) left out
            "first_iteration": seconds[1], "evaluations": result.settings["lbfgs_evaluations"],
            "stopped": result.settings["stopped"], "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


def _hub_start(content, style) -> tuple:
    """The offline Magenta model's stylisation of `content` (the start image of one recipe) and the seconds it took."""
    import tensorflow as tf

    from helpers import hub, images

    module = hub.load_hub_module("offline")  # loading the model is not timed; the VGG19 load is not timed either
    start = time.perf_counter()
    out = images.clip_0_1(tf.convert_to_tensor(module(content, tf.image.resize(style, (256, 256)))[0], tf.float32))
    return out, time.perf_counter() - start


def work_ttq(size: int, recipe: str, steps, scales=None, target=None, lbfgs_memory=None, init="content", precision="float32",
             optimizer="lbfgs", line_search=None, bounds=None) -> dict:
    """Run one recipe on the TF tutorial's objective at `size` (stopping at full size once the loss <= `target`); return its loss history.

    `recipe` is "baseline" (the tutorial's Adam) or "lbfgs" (optimize.transfer with `optimizer`, the given memory, start
    and precision; line_search and bounds override helpers.lbfgs's choices in this process). With init="hub" the run
    starts from the offline Magenta model's output, and the seconds that stylisation took are added to every time.
    """
    from helpers import images, lbfgs, optimize, vgg

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
        lbfgs.LINE_SEARCH = line_search or lbfgs.LINE_SEARCH  # this worker's own process: the course's choice otherwise
        lbfgs.BOUND_HANDLING = bounds or lbfgs.BOUND_HANDLING

        def stop_at_target(step, image, parts):
            # transfer() treats KeyboardInterrupt as a clean stop that keeps the history; once the target is
            # reached at full size, the rest of the run would not change the time to quality.
            if max(image.shape[1:3]) == full_side and parts["total"] <= target:
                raise KeyboardInterrupt

        with contextlib.redirect_stdout(io.StringIO()):  # transfer() reports the stop as an interruption; it is not one
            result = optimize.transfer(
                content, style, optimizer=_optimizer(optimizer, lbfgs_memory), steps=steps if scales is None else dict(zip(scales, steps)),
                progress=False, init=init, network=optimize.Network(precision=precision),
                callback=None if target is None else optimize.every(1, stop_at_target), **objective,
            )
        history = {k: result.history[k] for k in ("total", "scale", "step")}
        history["seconds"] = [t + head_start for t in result.history["seconds"]]
        history["full_side"] = full_side
        history["head_start"] = head_start
        for key in ("optimizer", "lbfgs_memory", "precision", "lbfgs_line_search", "lbfgs_bounds"):
            history[key] = result.settings.get(key)
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


def work_memory(size: int, steps: int, memory: str = "auto", recompute=False, lbfgs_memory=None, precision="auto",
                optimizer="lbfgs", stripe_pixels: int | None = None) -> dict:
    """Peak memory and seconds per iteration of an L-BFGS optimisation at `size` px (course defaults unless told otherwise)."""
    import tensorflow as tf

    from helpers import images, optimize, vgg

    content = tf.image.resize(images.load_example(CONTENT, max_dim=size), (size, size))
    style = images.load_example(STYLE, max_dim=size)
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as said, _stripe_pixels(stripe_pixels):
        result = optimize.transfer(content, style, steps=steps, progress=False, optimizer=_optimizer(optimizer, lbfgs_memory),
                                   network=optimize.Network(precision=precision, memory=memory, recompute=recompute))
    seconds = result.history["seconds"]
    return {"size": size, "steps": steps, "seconds": time.perf_counter() - t, "final_loss": result.final_loss,
            "per_iteration": (seconds[-1] - seconds[1]) / max(1, len(seconds) - 2), "memory": memory,
            "stripe_rows": result.settings.get("stripe_rows"), "said": said.getvalue().strip().splitlines(),
            "recompute": result.settings["recompute"], "lbfgs_memory": result.settings["lbfgs_memory"],
            "optimizer": result.settings["optimizer"], "evaluations": result.settings.get("lbfgs_evaluations"),
            "precision": result.settings["precision"], "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


def work_bookkeeping(size: int, memories, iterations: int) -> dict:
    """Seconds each L-BFGS engine spends outside the objective, on as many [0, 1]-bounded variables as a `size` px image.

    The objective is a cheap stand-in (a separable quadratic with a ripple), so what is timed is the engine's own work.
    scipy's L-BFGS-B (NumPy, float64): the bounds' set-up before the first iteration, and each iteration's Cauchy
    point, subspace step and memory update. The TensorFlow engine (float32): the two-loop recursion, the projection
    and the memory update, with the stand-in evaluated in the same graph and its own time taken off. Per-iteration
    seconds are taken over the iterations after the memory has filled.
    """
    import numpy as np
    from scipy.optimize import Bounds, minimize

    n = size * size * 3
    rng = np.random.default_rng(0)
    target, curvature = rng.uniform(0.2, 0.8, n), rng.uniform(0.5, 2.0, n)
    out = {"size": size, "variables": n, "iterations": iterations, "memories": {}, "tensorflow": {}}
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
        minimize(fun, rng.uniform(0, 1, n), jac=True, method="L-BFGS-B", bounds=Bounds(np.zeros(n), np.ones(n)), callback=on_iteration,
                 options={"maxiter": iterations, "maxcor": m, "ftol": 0.0, "gtol": 0.0})
        if len(stamps) < m + 10:
            raise RuntimeError(f"L-BFGS-B stopped after {len(stamps)} iterations; the stand-in objective needs {m + 10}")
        (t_first, f_first), (t_a, f_a), (t_z, f_z) = stamps[0], stamps[m], stamps[-1]
        out["memories"][str(m)] = {
            "first_iteration": (t_first - start) - f_first,  # set-up plus the first iteration's own work
            "per_iteration": ((t_z - t_a) - (f_z - f_a)) / (len(stamps) - 1 - m),
        }
        out["tensorflow"][str(m)] = _tf_engine_bookkeeping(target, curvature, rng.uniform(0, 1, n), m, iterations)
    out["peak_mb"] = _peak_mb()
    return out


def _tf_engine_bookkeeping(target, curvature, start, memory: int, iterations: int) -> dict:
    """The TensorFlow engine's seconds per iteration beyond its stand-in evaluations (one call per iteration, as at 512 px)."""
    import tensorflow as tf

    from helpers import lbfgs

    target, curvature = tf.constant(target, tf.float32), tf.constant(curvature, tf.float32)

    def fn(x):
        d = x - target
        return tf.reduce_sum(curvature * d * d) + 0.1 * tf.reduce_sum(tf.sin(5 * x)), {}, 2 * curvature * d + 0.5 * tf.cos(5 * x)

    x0 = tf.constant(start, tf.float32)
    stand_in = tf.function(lambda x: fn(x)[2])
    evaluation = statistics.median(timing.time_calls(lambda: stand_in(x0).numpy(), 5, warmups=2))
    engine = lbfgs.LBFGS(fn, x0, memory)
    engine.start()
    t0 = time.perf_counter()
    engine.run(1)  # tracing and the first iteration
    first = time.perf_counter() - t0
    for _ in range(memory):
        engine.run(1)
    done, evaluations, t0 = 0, engine.evaluations, time.perf_counter()
    for _ in range(iterations - memory - 1):
        done += engine.run(1)["done"]
    seconds = time.perf_counter() - t0
    evaluations = engine.evaluations - evaluations
    return {"first_iteration": first, "per_iteration": (seconds - evaluations * evaluation) / max(1, done),
            "evaluations_per_iteration": evaluations / max(1, done)}


def work_memory_stages(size: int, memory: str, stripe_pixels: int | None = None) -> dict:
    """Peak resident memory after each stage of a `size` px evaluation (import, network, targets, two evaluations)."""
    peaks = {"Python, TensorFlow and the course's helpers imported": _peak_mb()}
    import tensorflow as tf

    from helpers import optimize, vgg

    content, style = _square_inputs(size)
    peaks["the content and style images loaded"] = _peak_mb()
    with _stripe_pixels(stripe_pixels):
        rows = optimize.stripe_rows(size, size) if memory == "low" else None
    extractor = vgg.StyleContentModel(precision="float32", tile_rows=rows)
    peaks["VGG19 built (float32)"] = _peak_mb()
    problem = _problem(extractor, content, style)
    peaks["targets: one forward pass of the content and one of the style"] = _peak_mb()
    image = tf.constant(content)
    problem.loss_and_grads(image)
    peaks["one loss-and-gradient evaluation (traced and run)"] = _peak_mb()
    problem.loss_and_grads(image)
    peaks["a second evaluation"] = _peak_mb()
    return {"size": size, "memory": memory, "stripe_rows": rows, "peaks": peaks, "weights": vgg.weights_kind(), "peak_mb": _peak_mb()}


def work_throughput(mode: str) -> dict:
    """benchmarks/throughput.py's two measurements (a folder through tf.data against the loop; 1 against 2 workers)."""
    from benchmarks import throughput

    sizes = throughput.SIZES[mode]
    with tempfile.TemporaryDirectory() as tmp:
        return {"folder": throughput.measure_folder(sizes), "training": throughput.measure_training(sizes, Path(tmp)),
                "quick": mode == "quick", "peak_mb": _peak_mb()}


WORKERS = {"matmul": work_matmul, "precision": work_precision, "step": work_step, "iteration": work_iteration, "ttq": work_ttq,
           "hub": work_hub, "memory": work_memory, "bookkeeping": work_bookkeeping, "memory_stages": work_memory_stages,
           "throughput": work_throughput}
