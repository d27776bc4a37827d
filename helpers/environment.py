"""What this machine offers the course: TensorFlow, GPU, and which models and paintings are real or fallbacks."""

from __future__ import annotations

import platform

import tensorflow as tf

from helpers import config


def summary_line() -> str:
    """One line for a notebook's setup cell: TensorFlow version, GPU, mode and network setting."""
    gpus = tf.config.list_physical_devices("GPU")
    gpu = f"{len(gpus)} GPU(s)" if gpus else "no GPU (CPU only)"
    return f"TensorFlow {tf.__version__} | {gpu} | {config.describe()}"


def _verdict(ratio: float, digits: int) -> str:
    """'bfloat16 was Nx slower' or '... faster' from a measured bfloat16 / float32 time ratio."""
    return f"bfloat16 was {ratio:.{digits}f}x slower" if ratio > 1 else f"bfloat16 was {1 / ratio:.{digits}f}x faster"


def precision_line(precision: str = "auto") -> str:
    """One line for a setup cell: the precision VGG19 computes in here, why, and what it means for the printed numbers."""
    from helpers import precision as precisions

    if precision != "auto":
        choice, why = precisions.resolve(precision), "set in this notebook"
    else:
        decision = precisions.choose()
        choice, why = decision["choice"], decision["why"]
        if "seconds" in decision and "ratio" in decision:  # a timed choice: the verdict and the pass it was timed on
            why = f"{_verdict(decision['ratio'], 2)} here, in one timed VGG19 pass at {decision['side']} px"
    if choice == "bfloat16":
        meaning = ("bfloat16 is a 16-bit number format that keeps about 3 significant digits, so the losses printed in the notebooks "
                   "differ from a float32 machine's from the third digit on; cells that show an equivalence compute in float32")
    else:
        meaning = ("Losses printed in the notebooks are float32's (32-bit numbers), as in TensorFlow's own style-transfer tutorial; "
                   "a machine that chose bfloat16 prints slightly different ones")
    return f"VGG19 precision: {choice}. Why: {why}. {meaning}."


def precision_summary() -> str:
    """The precision VGG19 computes in here and the verdict behind it, in a few words (the setup line says more)."""
    from helpers import precision as precisions

    decision = precisions.choose()
    if "ratio" in decision:
        return f"{decision['choice']} ({_verdict(decision['ratio'], 1)} here; timed once per machine, kept in the course's cache)"
    return f"{decision['choice']} ({decision['why']})"


def check_environment(load_hub: bool = True) -> dict[str, str]:
    """Report Python, TensorFlow, GPU, VGG19 weights, the Hub model and the paintings, each as 'what and why'."""
    from helpers import images, vgg

    gpus = tf.config.list_physical_devices("GPU")
    report = {
        "Python": platform.python_version(),
        "TensorFlow": tf.__version__,
        "GPU": ", ".join(g.name for g in gpus) if gpus else "none: everything runs on the CPU",
        "Settings": config.describe(),
        "VGG19 weights": vgg.resolve_weights("auto")[2],
        "VGG19 precision": precision_summary(),
    }
    if load_hub:
        from helpers import hub

        report["Stylization model"] = hub.load_hub_module().source
    for name in images.PAINTINGS:
        path = images.painting_path(name)
        report[f"Painting '{name}'"] = "downloaded" if config.cache_dir() in path.parents else f"stand-in {path.name}"
    return report


def has_widgets() -> bool:
    """True when the ipywidgets package is installed (the sliders of notebook 02's playground need it)."""
    import importlib.util

    return importlib.util.find_spec("ipywidgets") is not None


def front_end_name() -> str | None:
    """The front end this kernel is attached to that shows widgets: "JupyterLab or Notebook", "VS Code", "Colab", or None."""
    import os
    import sys

    # Jupyter sets JPY_SESSION_NAME for its kernels; VS Code sets VSCODE_* variables; Colab has its own module.
    if os.environ.get("JPY_SESSION_NAME"):
        return "JupyterLab or Notebook"
    if any(k.startswith("VSCODE_") for k in os.environ):
        return "VS Code"
    return "Colab" if "google.colab" in sys.modules else None


def widget_front_end() -> bool:
    """True when the kernel is attached to a front end that shows widgets: Jupyter Lab or Notebook, VS Code, or Colab."""
    return front_end_name() is not None


PLAYGROUND_SETTINGS = ("auto", "live", "static")


def playground_choice(setting: str = "auto", smoke: bool | None = None) -> tuple[bool, str]:
    """Whether notebook 02's playground draws live sliders (True) or a static grid (False), and the reason in words."""
    if setting not in PLAYGROUND_SETTINGS:
        raise ValueError(f"PLAYGROUND = {setting!r}: use one of {', '.join(map(repr, PLAYGROUND_SETTINGS))}")
    smoke = config.smoke() if smoke is None else smoke
    front = front_end_name()
    if setting == "static":
        return False, "PLAYGROUND = 'static'"
    if not has_widgets():
        return False, "the ipywidgets package is not installed"
    if setting == "live":
        return True, "PLAYGROUND = 'live'"
    if smoke:
        seen = f"; {front} was detected" if front else ""
        return False, f"smoke mode always draws the static grid{seen}"
    if front is None:
        return False, "no front end that shows widgets was detected"
    return True, f"{front} detected"
