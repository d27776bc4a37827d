"""The comparison as a command line: every content image with every style, both methods, files written safely.

    python -m helpers.compare_cli images/content/astronaut.png --style images/style --out build/compare --size 128

``python -m helpers.compare_cli --help`` explains every option. The measurements are :mod:`helpers.compare`'s,
the grid figure is :func:`helpers.viz.comparison_figure`.
"""

from __future__ import annotations

if __name__ == "__main__":  # before TensorFlow loads: its C++ start-up log goes to build/logs/, not between the lines of --help
    from helpers import config as _config

    _config.send_native_log_to(_config.BUILD_DIR / "logs" / "compare_cli.log")

import argparse
import csv
import io
import sys
from pathlib import Path

from helpers import config, files, images, vgg, viz
from helpers.compare import (
    HUB_STYLE_SIZE,
    METHODS,
    HubMethod,
    Judge,
    Measurement,
    load_content,
    make_methods,
    measure_output,
    metrics_table,
    parse_methods,
    prepare_style,
)

#: File suffixes picked up when a folder is given on the command line.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
#: Columns of metrics.csv, in order.
CSV_COLUMNS = (
    "content", "style", "method", "seconds", "style_loss", "content_loss", "ssim", "hist_distance",
    "height", "width", "style_size", "blur", "steps", "stopped", "timing", "model", "judge", "output",
)


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def write_csv(rows, path) -> Path:
    """Write measurements to a CSV file (CSV_COLUMNS) atomically: the old file or the whole new one, never half."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_row() if isinstance(row, Measurement) else row)
    return files.write_atomic(path, buffer.getvalue())


def save_figure(fig, path) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return files.write_atomic(path, buffer.getvalue())


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def expand_inputs(paths) -> list[Path]:
    """Files as given, folders replaced by the image files directly inside them (sorted; hidden files skipped)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                                and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _unique_names(paths) -> dict:
    """{path: short name} from file stems, with a numeric suffix where two stems collide."""
    names, used = {}, set()
    for path in paths:
        base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(path).stem) or "image"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[path] = name
    return names


def _positive(minimum: int):
    """An argparse type: an integer >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _methods_arg(text: str) -> list[str]:
    """argparse type for --methods."""
    try:
        return parse_methods(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line's argument parser (every option documented for --help)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.compare_cli",
        description=(
            "Stylise every CONTENT image with every --style image by the TF-Hub model and by the hand-built VGG19 "
            "optimiser, from the same matched inputs, and measure each output the same way: wall time, style and "
            "content loss under one shared VGG19 judge, SSIM against the content image and a colour-histogram "
            "distance to the style image."
        ),
        epilog=(
            "Writes into --out: images/CONTENT__STYLE__METHOD.png for every output, grid_STYLE.png per style "
            "(content | style | methods | difference map) and metrics.csv (one row per content, style and method, "
            "with the model that actually ran). Files are written atomically; metrics.csv is rewritten after every row, "
            "so an interrupted run keeps what it finished. Exit status: 0 when every input worked, 1 when some input "
            "or run failed (each is reported with its file name and the reason), 2 for bad usage, 130 when interrupted "
            "with Ctrl-C."
        ),
    )
    parser.add_argument("content", nargs="+", metavar="CONTENT", type=Path,
                        help="content images, or folders of images (every .png/.jpg/... directly inside)")
    parser.add_argument("--style", nargs="+", required=True, metavar="STYLE", type=Path,
                        help="style images, or folders of images; each is paired with every content image")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--size", type=_positive(images.MIN_SIDE), default=256, metavar="PX",
                        help="long side of the content images and outputs in px, never enlarged (default 256)")
    parser.add_argument("--style-size", type=_positive(images.MIN_SIDE), default=HUB_STYLE_SIZE, metavar="PX",
                        help="the style image is centre-cropped to a square of this size for both methods (default 256, "
                             "the size the Hub model was trained with)")
    parser.add_argument("--no-blur", dest="blur", action="store_false",
                        help="do not blur the style image with a 3x3 average pool (the Hub example blurs it)")
    parser.add_argument("--steps", type=_positive(1), default=100, metavar="N",
                        help="optimiser steps per image (default 100; about 0.4 s each at 256 px on a 2-core CPU)")
    parser.add_argument("--methods", type=_methods_arg, default=list(METHODS), metavar="LIST",
                        help="comma-separated methods to run: hub, optimizer (default: hub,optimizer)")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                        help="the optimiser's algorithm (default lbfgs)")
    parser.add_argument("--init", choices=("content", "noise", "blend"), default="content",
                        help="the optimiser's starting image (default content)")
    parser.add_argument("--weights", default="auto", metavar="W",
                        help="VGG19 weights for the optimiser and the judge: auto, imagenet, packaged, random, or a .h5 file "
                             "(default auto: the exact ImageNet file if cached, else the packaged 8-bit ImageNet copy)")
    parser.add_argument("--hub-handle", default=None, metavar="HANDLE",
                        help="Hub URL or SavedModel folder to try first (default: NST_HUB_HANDLE, then the public handles, "
                             "then the offline model)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the optimiser (default 0)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    return parser


def _report(message: str) -> None:
    """Print one failure line on stderr without breaking the progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(f"error: {message}", file=sys.stderr)


def _load_all(paths, loader, failures: list) -> dict:
    """{path: tensor} for the paths that load; each failure is reported and appended to `failures`."""
    loaded = {}
    for path in paths:
        try:
            loaded[path] = loader(path)
        except (images.ImageLoadError, ValueError, OSError) as exc:
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            _report(message)
            failures.append(message)
    return loaded


def run(args) -> int:
    """Run the comparison the parsed arguments describe; return the exit status (0 all worked, 1 some failed)."""
    from tqdm.auto import tqdm

    out = args.out
    failures: list[str] = []
    for folder in [p for p in [*args.content, *args.style] if p.is_dir() and not expand_inputs([p])]:
        message = f"{folder}: folder holds no image files ({', '.join(IMAGE_SUFFIXES)})"
        _report(message)
        failures.append(message)
    contents = _load_all(expand_inputs(args.content), lambda p: load_content(p, args.size), failures)
    styles = _load_all(expand_inputs(args.style), lambda p: prepare_style(images.load_img(p, max_dim=None), args.style_size, args.blur),
                       failures)
    if not contents or not styles:
        _report("nothing to compare: " + ("no readable content image" if not contents else "no readable style image"))
        return 1
    content_names, style_names = _unique_names(contents), _unique_names(styles)
    methods = make_methods(args.methods, steps=args.steps, optimizer=args.optimizer, init=args.init, weights=args.weights,
                           seed=args.seed, hub_handle=args.hub_handle)
    judge = Judge(args.weights)
    rows: list[Measurement] = []
    csv_path = out / "metrics.csv"
    write_csv(rows, csv_path)  # a valid (header-only) file from the start
    total = len(contents) * len(styles) * len(methods)
    try:
        with tqdm(total=total, desc="stylising", unit="image", disable=not args.progress, file=sys.stderr) as bar:
            for style_path, style in styles.items():
                sname = style_names[style_path]
                grid = []
                for content_path, content in contents.items():
                    cname = content_names[content_path]
                    outputs = {}
                    for mname, method in methods.items():
                        bar.set_postfix_str(f"{cname} + {sname}: {mname}")
                        try:
                            result = method(content, style)
                            row = measure_output(result, content, style, judge, method=mname, content_name=cname,
                                                 style_name=sname, blurred=args.blur,
                                                 steps=args.steps if mname == "optimizer" else None)
                            target = out / "images" / f"{cname}__{sname}__{mname}.png"
                            images.save_image(result.image, target)
                            row.output = str(target.relative_to(out))
                            rows.append(row)
                            write_csv(rows, csv_path)
                            outputs[mname] = result
                        except (KeyboardInterrupt, SystemExit):
                            raise
                        except Exception as exc:  # noqa: BLE001 - one failed run is reported, the batch goes on
                            message = f"{content_path} + {style_path} ({mname}): {type(exc).__name__}: {exc}"
                            _report(message)
                            failures.append(message)
                        bar.update(1)
                    if outputs:
                        grid.append((content, style, outputs))
                complete = [g for g in grid if len(g[2]) == len(methods)]  # rows where every method worked
                if complete:
                    save_figure(viz.comparison_figure(complete, suptitle=f"style: {sname}"), out / f"grid_{sname}.png")
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(rows)} finished row(s) kept in {csv_path}", file=sys.stderr)
        return 130
    print(metrics_table(rows))
    print(f"\n{len(rows)} row(s) in {csv_path}; judge: {judge.description}")
    for name, method in methods.items():
        if name == "hub" and isinstance(method, HubMethod) and method._module is not None:
            print(f"hub model: {method.source} (loaded in {method.load_seconds:.1f} s, not counted per image)")
    if failures:
        print(f"{len(failures)} input(s) or run(s) failed:", file=sys.stderr)
        for message in failures:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    """Command-line entry point: parse arguments (exit 2 on bad usage) and run the comparison."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    weights = args.weights
    if weights not in vgg.NAMED_WEIGHTS and not Path(weights).expanduser().is_file():
        parser.error(f"--weights {weights}: not {', '.join(vgg.NAMED_WEIGHTS)}, or an existing .h5 file")
    args.out.mkdir(parents=True, exist_ok=True)
    print(config.describe(), flush=True)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
