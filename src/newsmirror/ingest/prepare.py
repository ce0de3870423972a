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
    304 never pays for it)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    async def prepare(self, **kwargs: object) -> PreparedFeed:
        if self.processes < 1:
            return await asyncio.to_thread(lambda: prepare_feed(**kwargs))  # type: ignore[arg-type]
        if self._pool is None:
            # spawn: the event loop's threads must not be forked.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _prepare_call, kwargs)
        except BrokenProcessPool:
            # The worker died (killed, out of memory): finish the run in-process.
            log.warning("worker process died; parsing in the main process from now on")
            self.close()
            self.processes = 0
            return await self.prepare(**kwargs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _exit_with_parent(parent: int) -> None:
    """A worker of a killed run (kill -9 leaves it no message) must not linger."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _prepare_call(kwargs: dict) -> PreparedFeed:
    return prepare_feed(**kwargs)
