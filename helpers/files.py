"""Writing files safely: into a temporary file beside the target, renamed over it only once complete."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def _new_file_mode(path: Path) -> int:
    """The permissions the file should end with: the existing target's, else those a newly created file gets."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0o022)  # read the umask (os.umask returns the old one) and put it straight back
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside `path` (folders created); it replaces `path` if the block succeeds, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):  # mkstemp makes the file private; give it the usual permissions
            os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path, data: bytes | str) -> Path:
    """Write bytes or text (UTF-8, line endings as given) to `path` atomically: the old file or the whole new one."""
    with atomic_write(path, "w" if isinstance(data, str) else "wb") as fh:
        fh.write(data)
    return Path(path)
