"""Throughput beyond one picture: a folder through a tf.data pipeline against the plain loop, and training on 1 or 2 workers.

    python benchmarks/throughput.py                    # prints the two result lines, keeps build/bench-cache/throughput.json
    python benchmarks/throughput.py --quick --out m.json   # tiny sizes (the tests)
    python benchmarks/throughput.py --results benchmarks/RESULTS.md   # and put its section into RESULTS.md

`measure_folder` and `measure_training` return plain dicts; `report_lines` renders them as a markdown section whose
two lines read `folder stylisation, tf.data vs loop: N.Nx` and
`2-worker training on this machine: N.N steps/s vs 1 worker N.N steps/s`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Work of a full measurement and of a quick one.
SIZES = {
    "full": {"images": 48, "photo": (384, 512), "max_dim": 256, "batch_size": 8, "filters": None,
             "steps": 30, "image_size": 96, "global_batch": 4, "train_filters": (16, 32, 64), "num_residual": 5},
    "quick": {"images": 6, "photo": (48, 64), "max_dim": 48, "batch_size": 3, "filters": (4, 8, 8),
              "steps": 4, "image_size": 32, "global_batch": 2, "train_filters": (4, 4, 8), "num_residual": 1},
}


def _photo_folder(folder: Path, count: int, size: tuple[int, int]) -> Path:
    """`count` JPEGs of one size (as from one camera): crops of the committed photos, shifted so that no two are alike."""
    from helpers import images

    folder.mkdir(parents=True, exist_ok=True)
    names = images.list_examples("content")
    height, width = size
    for i in range(count):
        photo = images.tensor_to_image(images.load_img(names[i % len(names)], max_dim=max(size) + 64))
        left, top = (7 * i) % max(1, photo.width - width + 1), (5 * i) % max(1, photo.height - height + 1)
        photo = photo.resize((max(width, photo.width), max(height, photo.height))).crop((left, top, left + width, top + height))
        photo.save(folder / f"photo_{i:03d}.jpg", quality=90)
    return folder


def measure_folder(sizes: dict) -> dict:
    """Images per second of the plain loop and of folders.stylize_folder on one folder, with the course's transform network."""
    from helpers import feedforward, folders

    net = feedforward.TransformNet(sizes["filters"] or feedforward.DEFAULT_FILTERS, feedforward.NUM_RESIDUAL)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = _photo_folder(tmp / "photos", sizes["images"], tuple(sizes["photo"]))
        warm = _photo_folder(tmp / "warm", 2, tuple(sizes["photo"]))
        # warm-up: trace the network at this size and start tf.data's threads, untimed
        folders.stylize_folder_loop(net.infer, warm, tmp / "warm_out", sizes["max_dim"])
        folders.stylize_folder(net.infer, warm, tmp / "warm_out", sizes["max_dim"], sizes["batch_size"])
        loop = folders.stylize_folder_loop(net.infer, src, tmp / "loop", sizes["max_dim"])
        piped = folders.stylize_folder(net.infer, src, tmp / "piped", sizes["max_dim"], sizes["batch_size"])
    return {"images": len(loop["written"]), "photo": list(sizes["photo"]), "max_dim": sizes["max_dim"],
            "batch_size": sizes["batch_size"], "model": f"TransformNet{tuple(net.filters)}",
            "loop_images_per_second": loop["images_per_second"], "pipeline_images_per_second": piped["images_per_second"],
            "speedup": piped["images_per_second"] / loop["images_per_second"]}


def measure_training(sizes: dict, out_dir: Path) -> dict:
    """Steps per second of the same training job on 1 worker and on 2 local workers (same global batch)."""
    from helpers import distributed

    runs = {}
    for workers in (1, 2):
        job = distributed.job_config(out_dir / f"{workers}-worker", steps=sizes["steps"], global_batch=sizes["global_batch"],
                                     image_size=sizes["image_size"], filters=sizes["train_filters"],
                                     num_residual=sizes["num_residual"], checkpoint_every=0)
        result = distributed.launch(job, workers=workers, timeout=600)
        if not result["ok"]:
            raise RuntimeError(f"{workers}-worker training failed: " + "; ".join(result["problems"]))
        runs[workers] = result["workers"][0]["summary"]
    return {"steps": sizes["steps"], "global_batch": sizes["global_batch"], "image_size": sizes["image_size"],
            "filters": list(sizes["train_filters"]), "one_worker_steps_per_second": runs[1]["steps_per_second"],
            "two_worker_steps_per_second": runs[2]["steps_per_second"], "cores": os.cpu_count()}


SECTION = "## Beyond one picture: a folder and a second worker"


def report_lines(measurements: dict) -> list[str]:
    """The markdown section for RESULTS.md: the two result lines, each followed by what was measured."""
    folder, training = measurements["folder"], measurements["training"]
    return [
        SECTION,
        "",
        f"folder stylisation, tf.data vs loop: {folder['speedup']:.1f}x",
        "",
        f"{folder['images']} JPEGs of {folder['photo'][1]}x{folder['photo'][0]} px stylised at {folder['max_dim']} px by "
        f"{folder['model']}: the plain loop (PIL decode, one image per call) {folder['loop_images_per_second']:.1f} images/s, "
        f"the tf.data pipeline (parallel decode and resize, batches of {folder['batch_size']} equal sizes, prefetch) "
        f"{folder['pipeline_images_per_second']:.1f} images/s.",
        "",
        f"2-worker training on this machine: {training['two_worker_steps_per_second']:.1f} steps/s vs 1 worker "
        f"{training['one_worker_steps_per_second']:.1f} steps/s",
        "",
        f"The same job (global batch {training['global_batch']} of {training['image_size']} px crops, "
        f"TransformNet{tuple(training['filters'])}, {training['steps']} steps, the first left out) as one process and as two "
        f"MultiWorkerMirroredStrategy processes on 127.0.0.1 sharing {training['cores']} cores.",
    ]


def with_section(results: str, measurements: dict, command: str) -> str:
    """RESULTS.md's text with its throughput section replaced by this measurement's (appended if it has none)."""
    from benchmarks import report

    return report.replace_section(results, SECTION, report_lines(measurements), command)


def main(argv=None) -> int:
    """Measure, print the two lines, and keep the measurements as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench-cache" / "throughput.json", help="where the JSON goes")
    parser.add_argument("--results", type=Path, help="also put the section into this RESULTS.md (replacing its own, if any)")
    args = parser.parse_args(argv)
    if args.results is not None and not args.results.is_file():
        parser.error(f"--results: {args.results} does not exist (run benchmarks/run.py first, or leave --results out)")
    from helpers import config, files

    sizes = SIZES["quick" if args.quick else "full"]
    start = time.perf_counter()
    with config.native_log_to(ROOT / "build" / "logs" / "bench-throughput.log"), tempfile.TemporaryDirectory() as tmp:
        measurements = {"folder": measure_folder(sizes), "training": measure_training(sizes, Path(tmp)),
                        "machine": platform.processor() or platform.machine(), "quick": args.quick}
    measurements["seconds"] = time.perf_counter() - start
    files.write_atomic(args.out, json.dumps(measurements, indent=1))
    for line in report_lines(measurements):
        if line.startswith(("folder stylisation", "2-worker training")):
            print(line)
    print(f"measurements: {args.out}")
    if args.results is not None:
        target = args.results.resolve()
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target.name   # no machine's own path
        command = "python benchmarks/throughput.py" + (" --quick" if args.quick else "") + f" --results {shown}"
        files.write_atomic(args.results, with_section(args.results.read_text(encoding="utf-8"), measurements, command))
        print(f"section written into {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
