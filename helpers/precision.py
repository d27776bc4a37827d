"""Which precision VGG19 computes in: float32, or bfloat16 where this machine runs it faster ("auto", measured once).

bfloat16 keeps float32's exponent range with an 8-bit mantissa (about 3 significant digits). CPUs with native
bfloat16 instructions (AVX512-BF16, AMX) and most recent GPUs run convolutions in it several times faster and with
half the activation memory; CPUs without them emulate it and are several times slower. So "auto" never assumes: it
times one VGG19 forward-and-gradient pass in each precision the first time it is asked, and keeps the answer in the
course cache for this machine.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

from helpers import config, files, timing

#: What optimize.Network(precision=...) and feedforward.train(precision=...) accept.
CHOICES = ("auto", "float32", "bfloat16")
#: bfloat16 is chosen only when its pass takes at most this share of float32's (a clear win, not noise).
FASTER_BY = 0.8
#: Image side and repeats of the measurement behind "auto" (small, so it costs seconds even where bf16 is emulated).
MEASURE_SIDE = 128
MEASURE_REPEATS = 2
#: CPU flags that mean native bfloat16 arithmetic (reported alongside the measurement; the measurement decides).
BF16_FLAGS = ("avx512_bf16", "amx_bf16")

_DECISION: dict | None = None


def _cpuinfo_lines() -> list[str]:
    """The lines of /proc/cpuinfo (an empty list where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def native_bf16_flags() -> list[str]:
    """The CPU flags in BF16_FLAGS that this CPU reports (an empty list where none, or no /proc/cpuinfo)."""
    flags = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return [flag for flag in BF16_FLAGS if flag in flags]


def measure(side: int = MEASURE_SIDE, repeats: int = MEASURE_REPEATS) -> dict:
    """Median seconds of one VGG19 forward-and-gradient pass (the optimiser's work) at `side` px in each precision."""
    import tensorflow as tf

    from helpers import vgg

    image = tf.random.stateless_uniform((1, side, side, 3), seed=(0, 0))
    seconds = {}
    for precision in vgg.PRECISIONS:
        model = vgg.StyleContentModel(precision=precision)

        @tf.function
        def pass_(img, model=model):
            with tf.GradientTape() as tape:
                tape.watch(img)
                out = model(img)
                loss = tf.add_n([tf.reduce_mean(g) for g in out["style"].values()] + [tf.reduce_mean(f) for f in out["content"].values()])
            return tape.gradient(loss, img)

        seconds[precision] = statistics.median(timing.time_calls(lambda f=pass_: f(image).numpy(), repeats, warmups=1))
    return {"side": side, "seconds": seconds}


def _cache_file() -> Path:
    """Where the decision is kept: one entry per machine key (see _machine_key)."""
    return config.cache_dir() / "precision.json"


def _machine_key() -> str:
    """What the measurement depends on: CPU model, TensorFlow version, and the CPUs this process may use."""
    import tensorflow as tf

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu_name()} | TensorFlow {tf.__version__} | {cpus} CPUs | {len(_gpus())} GPUs"


def _gpus() -> list:
    """The GPUs TensorFlow sees."""
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def _decide(record: dict) -> dict:
    """Add the choice and the sentence that explains it to a measurement record."""
    fp32, bf16 = record["seconds"]["float32"], record["seconds"]["bfloat16"]
    ratio = bf16 / fp32
    choice = "bfloat16" if ratio <= FASTER_BY else "float32"
    flags = record.get("flags", [])
    if record.get("gpus"):
        hardware = "the pass ran on the GPU"
    elif flags:
        hardware = f"this CPU reports {' and '.join(flags)}"
    else:
        hardware = "this CPU reports no native bfloat16 instructions (avx512_bf16, amx_bf16)"
    why = (f"one VGG19 pass at {record['side']} px took {fp32:.3f} s in float32 and {bf16:.3f} s in bfloat16 "
           + (f"(bfloat16 {ratio:.2f}x slower)" if ratio > 1 else f"(bfloat16 {1 / ratio:.2f}x faster)"))
    why += f"; {hardware}"
    record.update(choice=choice, ratio=ratio, why=why)
    return record


def measured(refresh: bool = False) -> dict:
    """This machine's timed VGG19 pass in each precision, with the choice it implies; measured once, kept in the cache."""
    global _DECISION
    if _DECISION is not None and not refresh:
        return _DECISION
    key = _machine_key()
    path = _cache_file()
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    if not isinstance(kept, dict):
        kept = {}
    if key in kept and not refresh:
        record = dict(kept[key], source=f"measured earlier on this machine, kept in {path}")
    else:
        start = time.perf_counter()
        from helpers import timing

        # the probe, timed beside the pass, lets a later notebook tell how much busier the machine is (timing.busy_factor)
        record = {**measure(), "probe": timing.probe_seconds(repeats=5), "flags": native_bf16_flags(), "gpus": len(_gpus()), "machine": key}
        kept[key] = record
        files.write_atomic(path, json.dumps(kept, indent=1))
        record = dict(record, source=f"measured just now, kept in {path}", measure_seconds=time.perf_counter() - start)
    _DECISION = _decide(record)
    return _DECISION


def cached() -> dict | None:
    """This machine's precision record if it was measured before (in this process or kept in the cache), else None; never measures."""
    if _DECISION is not None:
        return _DECISION
    try:
        kept = json.loads(_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    record = kept.get(_machine_key()) if isinstance(kept, dict) else None
    return record if isinstance(record, dict) and "seconds" in record else None


def choose(refresh: bool = False) -> dict:
    """The decision behind "auto": {'choice', 'why', 'seconds', 'side', 'ratio', 'flags', 'source'}; NST_PRECISION overrides it."""
    forced = os.environ.get("NST_PRECISION", "").strip().lower()
    if forced and forced != "auto":
        if forced not in ("float32", "bfloat16"):
            raise ValueError(f"NST_PRECISION={forced!r}: use float32, bfloat16 or auto")
        return {"choice": forced, "why": f"NST_PRECISION={forced} is set",
                "source": "the environment variable NST_PRECISION decides; nothing was measured"}
    return measured(refresh)


def resolve(precision: str = "auto") -> str:
    """'float32' or 'bfloat16': `precision` itself, or for "auto" the measured choice (said once, with the reason)."""
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, not {precision!r}")
    if precision != "auto":
        return precision
    decision = choose()
    config.notice("precision", f"auto chose {decision['choice']}: {decision['why']}.")
    return decision["choice"]
