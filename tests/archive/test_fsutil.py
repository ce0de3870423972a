"""Atomic, exclusive writes and the archive lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsmirror.archive import fsutil
from newsmirror.archive.fsutil import (
    TEMP_PREFIX,
    ArchiveLock,
    ArchiveLocked,
    atomic_write,
    remove_stale_temps,
)


@pytest.fixture(params=["unnamed", "named"])
def way(request, monkeypatch):
    if request.param == "named":
        monkeypatch.setattr(fsutil, "_unnamed_ok", False)
    elif not fsutil._unnamed_ok:
        pytest.skip("no O_TMPFILE/linkat here")
    return request.param


def test_exclusive_write_never_replaces(tmp_path, way) -> None:
    path = tmp_path / "posts" / "a.md"
    assert atomic_write(path, "first", exclusive=True, sync=False)
    assert not atomic_write(path, "second", exclusive=True, sync=False)
    assert path.read_text() == "first"
    assert os.listdir(path.parent) == ["a.md"]  # no temp file left


def test_replacing_write(tmp_path, way) -> None:
    path = tmp_path / "state.json"
    atomic_write(path, "1")
    atomic_write(path, "2")
    assert path.read_text() == "2" and os.listdir(tmp_path) == ["state.json"]
    deep = tmp_path / "new" / "deeper" / "state.json"  # missing folders are made
    atomic_write(deep, "3", sync=False, sync_dir=False)
    assert deep.read_text() == "3" and os.listdir(deep.parent) == ["state.json"]


def test_temp_dir_keeps_temps_out_of_the_target(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(fsutil, "_unnamed_ok", False)
    temps = tmp_path / "tmp"
    assert atomic_write(tmp_path / "p" / "a.md", "x", exclusive=True, temp_dir=temps)
    assert os.listdir(temps) == [] and (tmp_path / "p" / "a.md").read_text() == "x"


def test_a_killed_writer_leaves_no_file(tmp_path) -> None:
    # The child dies (os._exit) after writing but before naming its file.
    code = (
        "import os, sys; from newsmirror.archive import fsutil;"
        "fsutil._libc.linkat = lambda *a: os._exit(9);"
        f"fsutil.atomic_write(__import__('pathlib').Path({str(tmp_path)!r}) / 'a.md', 'x',"
        " exclusive=True)"
    )
    if not fsutil._unnamed_ok:
        pytest.skip("no O_TMPFILE/linkat here")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert os.listdir(tmp_path) == []


def test_second_lock_is_refused(tmp_path) -> None:
    with ArchiveLock(tmp_path):
        with pytest.raises(ArchiveLocked, match="another newsmirror run holds this archive"):
            ArchiveLock(tmp_path).acquire()
    with ArchiveLock(tmp_path):  # released: free again
        pass


def test_stale_temps_of_live_writers_can_be_kept(tmp_path: Path) -> None:
    live = subprocess.Popen(["sleep", "30"])
    try:
        dead = subprocess.Popen(["true"])
        dead.wait()
        names = [f"{TEMP_PREFIX}{live.pid}-0", f"{TEMP_PREFIX}{dead.pid}-0",
                 f"{TEMP_PREFIX}{os.getpid()}-7", f"{TEMP_PREFIX}x"]  # fmt: skip
        for name in names:
            (tmp_path / name).write_text("half")
        assert remove_stale_temps(tmp_path, dead_writers_only=True) == 3
        assert [p.name for p in tmp_path.iterdir()] == [names[0]]
        assert remove_stale_temps(tmp_path) == 1
    finally:
        live.kill()
        live.wait()
