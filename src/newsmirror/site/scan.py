"""Which post files are new, changed or gone since the last build.

One `os.scandir` walk with a stat() per file, compared with the (mtime_ns,
size) the cache saved. At 100,000 posts the walk and loading the cache take
~0.5 s each, and both hold the GIL (threads made it slower), so on a
multi-core machine the walk runs in a forked process meanwhile.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POST_SUFFIXES = (".md", ".markdown", ".html")
# A smaller cache (~5,000 posts) loads fast enough that a process costs more than it saves.
FORK_MIN_CACHE_BYTES = 3_000_000


@dataclass
class PostChanges:
    found: int  # post files in _posts/
    changed: dict[str, tuple[int, int]]  # new or changed file (relative name) -> (mtime_ns, size)
    removed: set[str]  # saved posts whose file is gone


def scan_posts(posts_dir: Path) -> dict[str, tuple[int, int]]:
    """name (relative to _posts/) -> (mtime_ns, size), for every post file."""
    found: dict[str, tuple[int, int]] = {}
    stack = [(str(posts_dir), "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                if e.is_dir():
                    stack.append((e.path, f"{prefix}{e.name}/"))
                elif e.name.endswith(POST_SUFFIXES):
                    st = e.stat()
                    found[prefix + e.name] = (st.st_mtime_ns, st.st_size)
    return found


def compare(found: dict[str, tuple[int, int]], saved: dict[str, tuple], full: bool) -> PostChanges:
    """`saved`: name -> cache row, with mtime_ns and size at [2] and [3] (cache.PostRow).
    `full`: every file counts as changed (to be read again)."""
    if full:
        changed = found
    else:
        none = ("", 0, -1, -1)
        changed = {n: v for n, v in found.items()
                   if (r := saved.get(n, none))[2] != v[0] or r[3] != v[1]}  # fmt: skip
    return PostChanges(len(found), changed, set(saved.keys() - found.keys()))


def scan_in_background(
    posts_dir: Path, cache_path: Path, min_cache_bytes: int = FORK_MIN_CACHE_BYTES
) -> Callable[[], dict[str, tuple[int, int]]]:
    """Start `scan_posts` in a forked process while this one loads the cache; the returned
    function waits for its result (and scans here if the process failed)."""
    try:
        small = cache_path.stat().st_size < min_cache_bytes
    except OSError:
        small = True
    if small or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return lambda: scan_posts(posts_dir)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, posts_dir), daemon=True)
    child.start()
    send.close()

    def result() -> dict[str, tuple[int, int]]:
        try:
            # Pairs, not a dict: the dict is rebuilt here, as fast as unpickling one.
            return dict(zip(*receive.recv(), strict=True))
        except (EOFError, OSError):
            return scan_posts(posts_dir)
        finally:
            receive.close()
            child.join()

    return result


def _child(send: multiprocessing.connection.Connection, posts_dir: Path) -> None:
    try:
        found = scan_posts(posts_dir)
        send.send((list(found), list(found.values())))
    except Exception:  # noqa: BLE001 - the parent redoes the work and reports errors itself
        pass
    finally:
        send.close()
