"""helpers.files: a reader sees the old file or the whole new one; nothing half-written is left behind."""

from __future__ import annotations

import os
import stat

import pytest

from helpers import files


def test_write_replaces_whole_and_keeps_text_exact(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    files.write_atomic(target, "a,b\r\n1,2\n")
    assert target.read_bytes() == b"a,b\r\n1,2\n"  # no newline translation
    files.write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["table.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_permissions_follow_the_umask_or_the_existing_file(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = files.write_atomic(tmp_path / "fresh.bin", b"x")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640  # not mkstemp's private 0o600
    finally:
        os.umask(old)
    existing = tmp_path / "shared.bin"
    existing.write_bytes(b"old")
    existing.chmod(0o664)
    files.write_atomic(existing, b"new")
    assert stat.S_IMODE(existing.stat().st_mode) == 0o664
