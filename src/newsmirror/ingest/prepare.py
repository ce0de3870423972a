"""The CPU-heavy part of one feed, runnable in a worker process.

Parsing a feed and rendering its posts is pure computation on bytes. The
pipeline's event loop, which fetches, deduplicates and writes, hands it to a
second process when a run has many feeds, so that both cores work (the
machines this runs on commonly have two).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
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


class WorkerDied(Exception):
    """A worker process ended (killed, out of memory) before it answered."""


DEPTH = 2  # calls sent to one worker at once: its next call is there when it ends one
_HEADER = struct.Struct("!Q")  # a message: its length, then its pickle


class _Worker:
    """One worker process, and a stream to it over a socket pair.

    Calls go out and replies come back in order. This process keeps no copy of
    the worker's end of the socket, so when the worker dies the stream ends: a
    reply it never finished reads as end of file, never as a wait, and a call
    being sent fails. Writing and reading are the event loop's, so a worker
    busy with one call does not hold up the loop while the next is sent.
    """

    def __init__(self, serve: Callable[[socket.socket, int], None] | None = None) -> None:
        """The worker runs `serve`: `_serve`, unless a test gives another."""
        ours, theirs = socket.socketpair()
        spawn = multiprocessing.get_context("spawn")  # the event loop's threads must not be forked
        target = serve or _serve
        self.process = spawn.Process(target=target, args=(theirs, os.getpid()), daemon=True)
        self.process.start()
        theirs.close()
        self.load = 0  # calls sent or about to be, not yet answered
        self._waiting: collections.deque[asyncio.Future[tuple[str, object]]] = collections.deque()
        self._writer: asyncio.StreamWriter | None = None
        self._ready = asyncio.get_running_loop().create_future()
        # A worker that dies before its first call is no error of anyone's.
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._reading = asyncio.ensure_future(self._read(ours))

    async def _read(self, ours: socket.socket) -> None:
        """Take the worker's "ready", then its replies, until its stream ends."""
        try:
            reader, self._writer = await asyncio.open_unix_connection(sock=ours)
            await _read_message(reader)  # it has imported what it needs
            self._ready.set_result(None)
            while True:
                reply = await _read_message(reader)
                call = self._waiting.popleft()
                if not call.done():  # a cancelled caller's reply is dropped
                    call.set_result(reply)
        except (asyncio.IncompleteReadError, OSError):
            pass  # the worker died: its stream ended
        finally:
            for future in (self._ready, *self._waiting):
                if not future.done():
                    future.set_exception(WorkerDied())
            self._waiting.clear()

    async def call(self, kwargs: dict) -> tuple[str, object]:
        await self._ready
        if self._reading.done():
            raise WorkerDied  # its stream has ended
        assert self._writer is not None
        reply = asyncio.get_running_loop().create_future()
        self._waiting.append(reply)
        self._writer.write(_frame(kwargs))
        try:
            await self._writer.drain()
        except OSError as e:
            reply.cancel()
            raise WorkerDied from e
        except BaseException:  # cancelled: the reply, when it comes, is dropped
            reply.cancel()
            raise
        return await reply

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()  # the worker reads end of file and exits
        self._reading.cancel()
        if self.process.is_alive():
            self.process.kill()  # it may be mid-call: its answer is not wanted


def _frame(message: object) -> bytes:
    """A message as it goes through the socket: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def _read_message(reader: asyncio.StreamReader) -> tuple[str, object]:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    data = await reader.readexactly(size)
    try:
        return pickle.loads(data)
    except Exception as e:  # an error the worker raised that cannot be made again here
        return "error", RuntimeError(f"cannot take the worker's result: {e!r}")


class Workers:
    """Worker processes for `prepare_feed`, started on first use (a run with
    every feed answering 304 never pays for them).

    When a worker dies (killed, out of memory), its calls and every later one
    run in this process. The workers are this module's own rather than
    CPython's ProcessPoolExecutor: that pool's threads could wait for ever
    after a worker was killed mid-message (3.11; the kill -9 test hung about
    one run in a few hundred, at exit or in the run).
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._workers: list[_Worker] = []
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()

    async def prepare(self, **kwargs: object) -> PreparedFeed:
        worker = await self._take()
        if worker is None:
            return await asyncio.to_thread(lambda: prepare_feed(**kwargs))  # type: ignore[arg-type]
        try:
            status, value = await worker.call(kwargs)
        except WorkerDied:
            self._give_up(worker)
            status, value = "died", None
        finally:
            worker.load -= 1
            self._wake_next()
        if status == "died":
            return await self.prepare(**kwargs)  # in this process now
        if status == "error":
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    async def _take(self) -> _Worker | None:
        """The least busy worker, a new one while there are fewer than
        `processes` and all are busy, or None once they were given up."""
        while self.processes > 0:
            least = min(self._workers, key=lambda w: w.load, default=None)
            if least is None or (least.load > 0 and len(self._workers) < self.processes):
                try:
                    least = _Worker()
                except OSError as e:  # no processes or descriptors left
                    log.warning("cannot start a worker process (%s); parsing in the main "
                                "process from now on", e.strerror or e)  # fmt: skip
                    self._stop_all()
                    return None
                self._workers.append(least)
            if least.load < DEPTH:
                least.load += 1
                return least
            turn = asyncio.get_running_loop().create_future()
            self._queue.append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._wake_next()  # pass on the turn this caller no longer takes
                raise
        return None

    def _wake_next(self) -> None:
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    def _give_up(self, dead: _Worker) -> None:
        """After a death: from now on calls run in this process. The other
        workers' calls end as they would; `close` stops those workers."""
        if self.processes > 0:
            log.warning("worker process died; parsing in the main process from now on")
        dead.stop()
        self._stop_all(keep_busy=True)

    def _stop_all(self, keep_busy: bool = False) -> None:
        self.processes = 0
        for worker in self._workers:
            if not (keep_busy and worker.load > 0):
                worker.stop()
        while self._queue:  # waiting calls run in this process instead
            self._wake_next()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()


def _serve(sock: socket.socket, parent: int) -> None:
    """A worker: answer calls until the stream from the parent ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent(parent)
    try:
        _answer_calls(sock)
    except OSError:
        pass  # the parent closed the stream mid-message: the run is ending


def _answer_calls(sock: socket.socket) -> None:
    messages = sock.makefile("rb")

    def send(message: tuple[str, object]) -> None:
        sock.sendall(_frame(message))

    send(("ready", None))
    while True:
        header = messages.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # the stream ended
        (size,) = _HEADER.unpack(header)
        data = messages.read(size)
        if len(data) < size:
            return
        try:
            reply: tuple[str, object] = ("ok", prepare_feed(**pickle.loads(data)))
        except Exception as e:  # raised again in the caller, as if called there
            reply = ("error", e)
        try:
            send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            send(("error", RuntimeError(f"cannot pass the result on: {e}")))


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
