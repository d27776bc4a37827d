"""Download everything the course can use online, once, into the cache (``make prefetch``).

A teacher runs this on one machine with internet, then copies the cache folder (``~/.cache/nst`` or
``$NST_CACHE``) to the classroom machines and sets ``NST_CACHE`` there if it is somewhere else. The
notebooks then use the real VGG19 weights, the real Hub model and the real paintings with no network.

    python -m helpers.prefetch [--cache DIR] [--skip-classifier]
"""

from __future__ import annotations

import argparse
import os
import sys


def _step(label: str, fn) -> bool:
    """Run one download step, print ok or the reason it failed, and return whether it worked."""
    print(f"  {label} ...", end=" ", flush=True)
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - report every failure and go on with the next item
        print(f"FAILED: {type(exc).__name__}: {exc}")
        return False
    print(f"ok ({result})")
    return True


def main(argv=None) -> int:
    """Fetch VGG19 weights, the Hub model and the paintings into the cache; exit 1 if any failed."""
    parser = argparse.ArgumentParser(description="Download the course's models and paintings into the cache, once.")
    parser.add_argument("--cache", help="cache folder (default: $NST_CACHE or ~/.cache/nst)")
    parser.add_argument("--skip-classifier", action="store_true", help="skip the 548 MB VGG19 classifier (only notebook 01's top-5 check uses it)")
    args = parser.parse_args(argv)
    if args.cache:
        os.environ["NST_CACHE"] = args.cache
    from helpers import config, hub, images, vgg

    if config.offline():
        parser.error("NST_OFFLINE=1 is set; prefetch needs the network")
    print(f"Prefetching into {config.cache_dir()}")
    results = [
        _step("VGG19 ImageNet weights (80 MB)", lambda: vgg._download_imagenet()),
    ]
    if not args.skip_classifier:
        results.append(_step("VGG19 classifier weights (548 MB)", lambda: vgg._download_imagenet(classifier=True)))
    results.append(_step("TF-Hub arbitrary stylization model", lambda: hub.prefetch()))
    for name in images.PAINTINGS:
        def fetch(name=name):
            path = images.painting_path(name)
            if config.cache_dir() not in path.parents:
                raise OSError("download failed (see the notice above)")
            return path
        results.append(_step(f"painting '{name}'", fetch))
    print()
    print(f"Copy {config.cache_dir()} to the classroom machines (and set NST_CACHE there if the path differs).")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
