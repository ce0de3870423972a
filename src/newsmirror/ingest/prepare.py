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
import pickle
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection

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


class WorkerDied(Exception):
    """A worker process ended (killed, out of memory) before it answered."""


class _Worker:
    """One worker process and this process's end of its pipe.

    This process keeps no copy of the worker's end, so when the worker dies its
    pipe ends: a reply it never finished reads as end of file, never as a wait.
    """

    def __init__(self) -> None:
        self.conn, child_end = multiprocessing.Pipe()
        spawn = multiprocessing.get_context("spawn")  # the event loop's threads must not be forked
        self.process = spawn.Process(target=_serve, args=(child_end, os.getpid()), daemon=True)
        self.process.start()
        child_end.close()

    async def receive(self) -> tuple[str, object]:
        """The worker's next message; raises WorkerDied if it ends first."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fds = (self.conn.fileno(), self.process.sentinel)
        for fd in fds:
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            for fd in fds:
                loop.remove_reader(fd)
        try:
            # The whole message, or end of file: the worker is writing it now, or dead.
            message = self.conn.recv_bytes()
        except (OSError, EOFError) as e:
            raise WorkerDied from e
        try:
            return pickle.loads(message)
        except Exception as e:  # an error the worker raised that cannot be made again here
            return "error", RuntimeError(f"cannot take the worker's result: {e!r}")

    async def call(self, kwargs: dict) -> tuple[str, object]:
        try:
            self.conn.send(kwargs)  # does not wait long: an idle worker is reading
        except OSError as e:
            raise WorkerDied from e
        return await self.receive()

    def stop(self) -> None:
        self.conn.close()  # the worker reads end of file and exits
        if self.process.is_alive():
            self.process.kill()  # it may be mid-call: its answer is not wanted


class Workers:
    """Worker processes for `prepare_feed`, started on first use (a run with
    every feed answering 304 never pays for them); each takes one call at a time.

    When a worker dies (killed, out of memory), its call and every later one
    run in this process. The workers are this module's own rather than
    CPython's ProcessPoolExecutor: that pool's threads could wait for ever
    after a worker was killed mid-message (3.11; the kill -9 test hung about
    one run in a few hundred, at exit or in the run).
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._freed = asyncio.Event()  # a worker came back, or they were all given up

    async def prepare(self, **kwargs: object) -> PreparedFeed:
        worker = await self._take()
        if worker is None:
            return await asyncio.to_thread(lambda: prepare_feed(**kwargs))  # type: ignore[arg-type]
        try:
            status, value = await worker.call(kwargs)
        except WorkerDied:
            self._give_up(worker)
            return await self.prepare(**kwargs)
        except BaseException:  # cancelled mid-call: the worker's answer would come late
            self._busy.discard(worker)
            worker.stop()
            raise
        self._put_back(worker)
        if status == "error":
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    async def _take(self) -> _Worker | None:
        while self.processes > 0:
            if self._idle:
                worker = self._idle.pop()
            elif len(self._busy) < self.processes:
                try:
                    worker = _Worker()
                except OSError as e:  # no processes or descriptors left
                    log.warning("cannot start a worker process (%s); parsing in the main "
                                "process from now on", e.strerror or e)  # fmt: skip
                    self.processes = 0
                    self._freed.set()
                    return None
                self._busy.add(worker)  # counted while it starts
                try:
                    status, _ = await worker.receive()  # it has imported what it needs
                except WorkerDied:
                    self._give_up(worker)
                    return None
                except BaseException:
                    self._busy.discard(worker)
                    worker.stop()
                    raise
                assert status == "ready"
                return worker
            else:
                self._freed.clear()
                await self._freed.wait()
                continue
            self._busy.add(worker)
            return worker
        return None

    def _put_back(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        if self.processes > 0:
            self._idle.append(worker)
            self._freed.set()
        else:
            worker.stop()

    def _give_up(self, dead: _Worker) -> None:
        """After a death: stop the idle workers now and the busy ones as their
        calls end; from now on calls run in this process."""
        self._busy.discard(dead)
        dead.stop()
        if self.processes == 0:
            return  # another call gave up already
        log.warning("worker process died; parsing in the main process from now on")
        self.processes = 0
        for worker in self._idle:
            worker.stop()
        self._idle.clear()
        self._freed.set()  # calls waiting for a worker run in this process instead

    def close(self) -> None:
        for worker in [*self._idle, *self._busy]:
            worker.stop()
        self._idle.clear()
        self._busy.clear()


def _serve(conn: Connection, parent: int) -> None:
    """A worker: answer calls until this end of the pipe closes."""
    _exit_with_parent(parent)
    conn.send(("ready", None))
    while True:
        try:
            kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, object] = ("ok", prepare_feed(**kwargs))
        except Exception as e:  # raised again in the caller, as if called there
            reply = ("error", e)
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            conn.send(("error", RuntimeError(f"cannot pass the result on: {e}")))


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
