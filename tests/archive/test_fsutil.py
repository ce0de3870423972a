"""Atomic, exclusive writes and the archive lock."""

from __future__ import annotations

import asyncio
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
    GroupFlush,
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


def written_files(tmp_path: Path, n: int) -> list[Path]:
    paths = [tmp_path / "_posts" / f"{i}.md" for i in range(n)]
    for path in paths:
        assert atomic_write(path, "x", exclusive=True, sync=False, sync_dir=False)
    return paths


def test_group_flush_uses_syncfs_on_the_archives_file_system(tmp_path, monkeypatch) -> None:
    if fsutil._syncfs is None:
        pytest.skip("no syncfs here")
    calls: list[int] = []
    real = fsutil._syncfs

    def recording(fd: int) -> int:
        calls.append(os.fstat(fd).st_dev)
        return real(fd)

    monkeypatch.setattr(fsutil, "_syncfs", recording)
    monkeypatch.setattr(os, "sync", lambda: pytest.fail("os.sync() syncs every file system"))
    flusher = GroupFlush(tmp_path / "_posts")  # made before the folder exists
    paths = written_files(tmp_path, 3)

    async def three_feeds() -> None:  # callers that arrive together share one flush
        await asyncio.gather(*(flusher.flush([p]) for p in paths))

    asyncio.run(three_feeds())
    assert calls == [os.stat(tmp_path).st_dev]


def test_group_flush_reports_a_failed_flush(tmp_path) -> None:
    if fsutil._syncfs is None:
        pytest.skip("no syncfs here")
    flusher = GroupFlush(tmp_path)
    flusher._fd = 2**30  # a flush that fails: syncfs on a descriptor that is not open
    with pytest.raises(OSError, match="cannot flush the archive to disk"):
        asyncio.run(flusher.flush(written_files(tmp_path, 1)))


def test_group_flush_without_syncfs_fsyncs_each_file_and_its_folder(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(fsutil, "_syncfs", None)
    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    flusher = GroupFlush(tmp_path / "_posts")
    paths = written_files(tmp_path, 2)
    asyncio.run(flusher.flush(paths))
    assert synced == [str(p) for p in paths] + [str(tmp_path / "_posts")]


def test_a_run_flushes_its_posts_with_syncfs_not_os_sync(server, archive, monkeypatch) -> None:
    from conftest import write_subs
    from feeds import rss, rss_item

    from newsmirror.cli import main

    if fsutil._syncfs is None:
        pytest.skip("no syncfs here")
    flushed: list[int] = []
    real = fsutil._syncfs
    monkeypatch.setattr(fsutil, "_syncfs", lambda fd: flushed.append(len(posts())) or real(fd))
    monkeypatch.setattr(os, "sync", lambda: pytest.fail("os.sync() syncs every file system"))

    def posts() -> list[str]:
        return os.listdir(archive / "_posts")

    items = [rss_item(title=f"第{i}条", link=f"https://n.example/{i}") for i in range(3)]
    write_subs(archive, [("site", server.route("/f.xml", rss(items)))])
    assert main(["run", "--archive", str(archive), "--content", "raw", "-q"]) == 0
    assert flushed == [3]  # once, after the feed's three posts were written


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
