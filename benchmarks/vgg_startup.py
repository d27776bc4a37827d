"""Start-up cost of the packaged ImageNet VGG19: built in memory from the 8-bit file, or from a converted Keras file.

    python benchmarks/vgg_startup.py [--repeats 5]

Each measurement runs in a fresh process (TensorFlow already imported), so no cache of the course is warm. It
prints the median seconds of: reading and checking the packaged file; building VGG19 from it in memory (what the
course does); and loading the same weights from a `.weights.h5` file converted once (the alternative).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WORKER = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import tensorflow as tf
from helpers import packaged_vgg, vgg
what, h5 = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if what == "read":
    packaged_vgg.load_packaged_weights()
elif what == "in_memory":
    vgg.load_vgg19("packaged")
else:
    vgg.load_vgg19(h5)
print(json.dumps(time.perf_counter() - start))
"""


def _measure(what: str, h5: Path) -> float:
    """Seconds one fresh process takes for `what` (TensorFlow's own import not counted)."""
    code = _WORKER.format(root=str(ROOT))
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "NST_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code, what, str(h5)], capture_output=True, text=True, env=env, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv=None) -> int:
    """Print the median start-up times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from helpers import vgg

    with tempfile.TemporaryDirectory() as tmp:
        h5 = Path(tmp) / "vgg19_packaged.weights.h5"
        vgg.load_vgg19("packaged").save_weights(h5)
        for what, label in [("read", "read + SHA-256 + dequantise the packaged file"),
                            ("in_memory", "VGG19 built in memory from the packaged file (the course's way)"),
                            ("h5", "VGG19 loaded from a converted .weights.h5 file")]:
            times = [_measure(what, h5) for _ in range(args.repeats)]
            print(f"{label:66s} median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
