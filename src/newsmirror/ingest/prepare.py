"""The CPU-heavy part of one feed, runnable in a worker process.

Parsing a feed and rendering its posts is pure computation on bytes. The
pipeline's event loop, which fetches, deduplicates and writes, hands it to a
second process when a run has many feeds, so that both cores work (the
machines this runs on commonly have two).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime

from ..archive.dedupe import item_keys
from ..archive.posts import item_href, item_link, render_post
from ..models import ContentMode, Entry, NewsmirrorError, ParsedFeed, Post
from .parse import parse_feed

log = logging.getLogger("newsmirror")


@dataclass
class PreparedItem:
    entry: Entry
    keys: list[str] | None = None  # None when the item has no usable link
    href: str = ""
    post: Post | None = None  # rendered in advance in raw mode
    error: str | None = None


@dataclass
class PreparedFeed:
    parsed: ParsedFeed
    items: list[PreparedItem] = field(default_factory=list)


def prepare_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    feed_url: str,
    site: str,
    now: datetime,
    render_as: ContentMode | None,
) -> PreparedFeed:
    """Parse `body`; compute each item's keys; with `render_as`, render its post
    too (raw mode needs nothing else from the event loop). Raises FeedError."""
    parsed = parse_feed(body, url=url, content_type=content_type)
    prepared = PreparedFeed(parsed)
    for entry in parsed.entries:
        item = PreparedItem(entry)
        try:
            href = item_href(*item_link(entry, url))
            item.keys = item_keys(href, entry.guid, feed_url)
            item.href = href
            if render_as is not None:
                item.post = render_post(
                    entry,
                    site,
                    now=now,
                    content=render_as,
                    feed_url=url,
                    href=href,
                    key=item.keys[0],
                )
                # The post holds the content now; the event loop needs only the
                # metadata, so do not send the body back a second time.
                entry.content = entry.summary = None
        except (NewsmirrorError, ValueError) as e:
            item.error = str(e)
        prepared.items.append(item)
    return prepared


class Workers:
    """A process pool, started on first use (a run with every feed answering
    304 never pays for it).

    When a worker dies (killed, out of memory), the run goes on in this
    process. CPython's pool does not always notice: a worker killed while it
    wrote its result leaves half a message in the result pipe, and the pool
    then waits for the rest for ever. So the workers are watched here, by
    their exit sentinels, and a death abandons the whole pool at once.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._died: asyncio.Future[None] | None = None  # set when any worker exits
        self._watched: set[int] = set()  # sentinel descriptors on the event loop

    async def prepare(self, **kwargs: object) -> PreparedFeed:
        if self.processes < 1:
            return await asyncio.to_thread(lambda: prepare_feed(**kwargs))  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        if self._pool is None:
            # spawn: the event loop's threads must not be forked.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
            self._died = loop.create_future()
        assert self._died is not None
        died = self._died
        result: asyncio.Future[PreparedFeed] | None
        try:
            result = loop.run_in_executor(self._pool, _prepare_call, kwargs)
        except BrokenProcessPool:
            result = None  # broken before this call was even queued
        else:
            # An abandoned call's late failure is expected: do not log it.
            result.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._watch(loop)  # after submitting: the pool starts workers on demand
            await asyncio.wait({result, died}, return_when=asyncio.FIRST_COMPLETED)
        try:
            if result is not None and result.done():
                return result.result()
        except BrokenProcessPool:
            pass
        log.warning("worker process died; parsing in the main process from now on")
        self._abandon()
        return await self.prepare(**kwargs)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        processes = getattr(self._pool, "_processes", None) or {}
        for process in list(processes.values()):
            fd = process.sentinel
            if fd not in self._watched:
                self._watched.add(fd)
                loop.add_reader(fd, self._exited, loop, fd)

    def _exited(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        loop.remove_reader(fd)
        self._watched.discard(fd)
        if self._died is not None and not self._died.done():
            self._died.set_result(None)

    def _stop_watching(self) -> None:
        if self._watched:
            loop = asyncio.get_running_loop()
            for fd in self._watched:
                loop.remove_reader(fd)
            self._watched.clear()

    def _abandon(self) -> None:
        """Kill what is left of the pool and let its threads end; later calls
        run in this process."""
        pool, self._pool, self.processes = self._pool, None, 0
        if pool is None:
            return  # another call abandoned it already
        self._stop_watching()
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()  # it may hold the queues' locks: nothing it does can be trusted
        _unblock_pool_threads(pool)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            try:
                self._stop_watching()
            except RuntimeError:
                pass  # no event loop any more: nothing is watched on it either
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _unblock_pool_threads(pool: ProcessPoolExecutor) -> None:
    """Let a broken pool's threads end once its workers are dead, so that the
    interpreter, which joins them at exit, can exit (CPython 3.11).

    This process holds both ends of the pool's pipes. The thread that reads
    results may be stuck in the middle of a message a killed worker never
    finished; with this process's write end closed and no worker left, it
    reads the end of the pipe and the pool sees it is broken. The thread that
    writes tasks may be stuck writing a large one (a feed body) that nobody
    reads; with this process's read end closed, the write fails (gh-94777,
    fixed in Python 3.12). Without this, a run whose worker was killed hung,
    at exit or for ever (the kill -9 test: about 1 run in 20 or 50)."""
    for queue, end in (("_result_queue", "_writer"), ("_call_queue", "_reader")):
        connection = getattr(getattr(pool, queue, None), end, None)
        if connection is not None:
            connection.close()


def _exit_with_parent(parent: int) -> None:
    """A worker of a killed run (kill -9 leaves it no message) must not linger.

    The kernel gives an orphan a new parent as soon as its parent dies, so
    getppid() tells, also while the dead parent is a zombie nobody has reaped
    yet (kill(parent, 0) still succeeds then: such workers held the run's
    stdout open until its caller reaped it, and a caller reading that first
    never did) and when its pid has been reused."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _prepare_call(kwargs: dict) -> PreparedFeed:
    return prepare_feed(**kwargs)
