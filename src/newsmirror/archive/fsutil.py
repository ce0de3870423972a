"""Crash-safe file writes and the one-run-per-archive lock."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import itertools
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import NewsmirrorError

if TYPE_CHECKING:
    import asyncio

TEMP_PREFIX = ".nm-tmp-"


def atomic_write(
    path: Path,
    data: bytes | str,
    *,
    exclusive: bool = False,
    sync: bool = True,
    sync_dir: bool = True,
    temp_dir: Path | None = None,
) -> bool:
    """Write `data` to `path` so that readers see the old file or the whole new one.

    The data goes to a temp file, is fsynced, then renamed (or, with
    `exclusive`, hard-linked) into place. With `exclusive`, an existing `path`
    is never replaced: returns False instead (os.link fails if the name exists,
    so two writers cannot both win).
    `sync=False` and `sync_dir=False` leave flushing to the caller, who can
    batch it (`flush_to_disk`): a killed process loses nothing either way,
    only a power cut needs the flush.
    `temp_dir`, on the same filesystem, keeps temp files out of a large folder:
    creating and removing them among 50,000 posts cost 6x more (measured).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if exclusive and _write_unnamed(path, data, sync):
        if sync_dir:
            _fsync_dir(path.parent)
        return True
    if exclusive and path.exists():
        return False
    fd, tmp = _temp_file(temp_dir or path.parent)  # creates the folder if need be
    try:
        try:
            _write_all(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            try:
                _link(tmp, path)
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
        if sync_dir:
            _fsync_dir(path.parent)
        return True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# Linux can create a file with no name (O_TMPFILE) and give it one with
# linkat(2), which fails if the name exists: atomic, exclusive, and no temp
# name to create and remove (10,000 posts: 0.32 s against 4.1 s, measured).
# A killed process leaves nothing behind. Elsewhere, or on filesystems
# without O_TMPFILE, the named temp file below does the same job.
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_AT_FDCWD, _AT_SYMLINK_FOLLOW = -100, 0x400
_unnamed_ok = _libc is not None and hasattr(os, "O_TMPFILE")


def _write_unnamed(path: Path, data: bytes, sync: bool) -> bool:
    """Write `path` exclusively through an unnamed file. True when written;
    False when the name exists or this way is not available here."""
    global _unnamed_ok
    if not _unnamed_ok:
        return False
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _write_unnamed(path, data, sync)
    except OSError:
        _unnamed_ok = False  # e.g. EOPNOTSUPP: this filesystem has no O_TMPFILE
        return False
    try:
        _write_all(fd, data)  # os.write: a file object would add fstat, ioctl and lseek calls
        if sync:
            os.fsync(fd)
        source = f"/proc/self/fd/{fd}".encode()
        if _libc.linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(path), _AT_SYMLINK_FOLLOW):
            error = ctypes.get_errno()
            if error == errno.EEXIST:
                return False
            if error in (errno.ENOENT, errno.EPERM, errno.EXDEV, errno.ENOSYS):
                _unnamed_ok = False  # no /proc, or linkat refused: use named temps
                return False
            raise OSError(error, os.strerror(error), str(path))
        return True
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_counter = itertools.count()


def _temp_file(folder: Path) -> tuple[int, str]:
    """A new temp file: pid and counter make the name unique without mkstemp's
    random retries; a leftover of a dead process with our pid is replaced."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for _ in range(3):
        name = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{next(_counter)}")
        try:
            return os.open(name, flags, 0o644), name
        except FileExistsError:
            os.unlink(name)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
    return tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)


def _link(tmp: str, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(tmp, path)


class GroupFlush:
    """Coalesces many callers' flushes into few `os.sync()` calls.

    A caller's writes are durable once a sync that *started after* them has
    finished; callers that arrive while one runs share the next. Syncing per
    feed, 64 feeds at a time, made every file creation wait on the journal
    (0.34 ms per post against 0.03 ms, measured).
    """

    def __init__(self, gather_seconds: float = 0.2) -> None:
        self.gather_seconds = gather_seconds
        self._next: asyncio.Future[None] | None = None
        self._running = False

    async def flush(self) -> None:
        import asyncio  # here: the site builder uses this module without an event loop

        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._running = True
                asyncio.get_running_loop().create_task(self._drain())
        await asyncio.shield(self._next)

    async def _drain(self) -> None:
        import asyncio

        try:
            while self._next is not None:
                await asyncio.sleep(self.gather_seconds)  # let more callers join
                batch, self._next = self._next, None
                try:
                    await asyncio.to_thread(flush_to_disk)
                except OSError as e:
                    batch.set_exception(e)
                else:
                    batch.set_result(None)
        finally:
            self._running = False


def flush_to_disk() -> None:
    """Make every write so far durable: one sync for a batch of files, where an
    fsync per file would cost a journal commit each (measured: 8.7 of 14 s of
    a 3,000-post ingest went to per-post fsyncs)."""
    os.sync()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: Path, *, dead_writers_only: bool = False) -> int:
    """Delete temp files an interrupted run left behind; returns how many.
    `dead_writers_only`: keep those whose writing process (the pid in the
    name) still runs, for folders written without the archive lock (reports)."""
    count = 0
    if not folder.is_dir():
        return 0
    for p in folder.iterdir():
        if p.name.startswith(TEMP_PREFIX):
            if dead_writers_only and _writer_alive(p.name):
                continue
            p.unlink(missing_ok=True)
            count += 1
    return count


def _writer_alive(name: str) -> bool:
    pid = name[len(TEMP_PREFIX) :].partition("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, another user's
    return True


class ArchiveLocked(NewsmirrorError):
    """Another run holds the archive."""


class ArchiveLock:
    """An exclusive, non-blocking lock on an archive (flock on .newsmirror/lock).

    The kernel drops the lock when the process dies, so a killed run never
    leaves the archive locked.
    """

    def __init__(self, archive: Path) -> None:
        self.path = archive / ".newsmirror" / "lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                holder = self.path.read_text(errors="replace").strip() or "another process"
                raise ArchiveLocked(
                    f"{self.path.parent.parent}: another newsmirror run holds this archive"
                    f" ({holder}); try again when it has finished"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
