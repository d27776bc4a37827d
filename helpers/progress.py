"""Progress bars that work live in Jupyter, in saved notebooks and HTML, and in a terminal."""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where display() reaches a notebook page)."""
    try:
        from IPython import get_ipython
    except ImportError:  # IPython comes with the notebook requirements
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _DisplayLine:
    """A file-like target for tqdm in a notebook: one text output, replaced in place on every refresh."""

    encoding = "utf-8"

    def __init__(self):
        self.handle = None

    def write(self, text: str) -> None:
        """Show the latest bar text (tqdm writes '\\r' + bar); empty writes are ignored."""
        from IPython.display import display

        line = text.replace("\r", "").strip()
        if not line:
            return
        if self.handle is None:
            self.handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self.handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        """Nothing to flush."""


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar; in a notebook it is a text line updated in place, so its final state is what a saved page shows."""
    from tqdm import tqdm

    if in_notebook():
        kwargs.setdefault("file", _DisplayLine())
        kwargs.setdefault("ncols", 100)
    else:
        kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, **kwargs)
