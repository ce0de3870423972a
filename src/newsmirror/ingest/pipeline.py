"""One run over all feeds: fetch -> parse -> extract -> sanitize -> dedupe -> posts.

Feeds are independent: one feed's failure, or one item's, never touches
another's. The archive is locked for the run, every file is written
atomically, and an item is recorded as seen only after its post is on disk,
so a killed run is completed, without duplicates, by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ..archive.config import Settings, load_settings
from ..archive.fsutil import ArchiveLock, GroupFlush, atomic_write, remove_stale_temps
from ..archive.posts import PostError, PostWriter, render_post
from ..archive.sanitize import sanitize_html
from ..archive.store import FeedState, Store, WrittenPost, import_existing
from ..archive.subscriptions import load_subscriptions
from ..models import (
    ContentMode,
    Entry,
    FeedError,
    FulltextMode,
    NewsmirrorError,
    Post,
    Subscription,
)
from . import schedule
from .extract import fulltext_for
from .fetch import Fetcher
from .images import mirror_images
from .prepare import PreparedFeed, PreparedItem, Workers
from .recheck import note_dropped
from .report import FeedOutcome, RunReport
from .rules import RuleSet, load_rules

log = logging.getLogger("newsmirror")


@dataclass(frozen=True)
class RunOptions:
    content: ContentMode | None = None  # overrides every feed's option
    fulltext: FulltextMode | None = None
    only_due: bool = False  # skip feeds whose next check is still ahead (watch)
    include_dead: bool = False
    now: datetime | None = None  # the run's time; tests pin it
    # Worker processes for parsing and rendering; None: one per core (up to 4)
    # when the run has enough feeds to pay for starting them and the machine
    # has a second core, else none.
    workers: int | None = None


FeedCallback = Callable[[FeedOutcome], None]


def run(
    archive: Path,
    options: RunOptions | None = None,
    settings: Settings | None = None,
    on_feed: FeedCallback | None = None,
) -> RunReport:
    """Mirror every feed of `archive` once. Raises NewsmirrorError for problems
    that stop the whole run (bad config, archive locked); feed and item
    problems are in the report."""
    options = options or RunOptions()
    settings = settings or load_settings(archive)
    subs = load_subscriptions(archive, settings.feed_defaults)
    rules = load_rules(list(settings.rules))
    with ArchiveLock(archive):
        remove_stale_temps(archive / "_posts")
        remove_stale_temps(archive / ".newsmirror" / "tmp")
        # Reports are written after the lock is released: a killed writer's only.
        remove_stale_temps(archive / ".newsmirror" / "reports", dead_writers_only=True)
        try:
            with Store.open(archive) as store:
                return asyncio.run(_run(archive, subs, options, settings, rules, store, on_feed))
        except (OSError, sqlite3.Error) as e:
            # Disk full or a broken state file: every post on disk is whole and
            # recorded or re-found next run; say so in one line.
            reason = getattr(e, "strerror", None) or str(e)
            raise NewsmirrorError(f"{archive}: run stopped: {reason}") from None


async def _run(
    archive: Path,
    subs: list[Subscription],
    options: RunOptions,
    settings: Settings,
    rules: RuleSet,
    store: Store,
    on_feed: FeedCallback | None,
) -> RunReport:
    report = RunReport(archive=str(archive), started=time.time())
    report.imported = import_existing(store, archive)
    run_id = store.start_run()
    now = options.now or datetime.now(UTC)
    writer = PostWriter(archive / "_posts", temp_dir=_temp_dir(archive))
    workers = Workers(_worker_count(options, len(subs)))
    mirror = _Mirror(archive, settings, options, rules, store, writer, workers, now)
    with mirror.write_thread, contextlib.closing(workers):
        async with Fetcher(settings.fetch) as fetcher:
            mirror.fetcher = fetcher

            async def one(sub: Subscription) -> None:
                outcome = await mirror.feed(sub)
                report.feeds.append(outcome)
                report.posts.extend(mirror.written.pop(sub.url, []))
                if on_feed:
                    on_feed(outcome)

            tasks = [asyncio.ensure_future(one(s)) for s in subs]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                # A failure that stops the run (full disk, broken state file) or a
                # stop request: end the other feeds before the writing thread
                # and the HTTP session close under them.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    _append_ledger(archive, mirror.new_links)
    report.finished = time.time()
    store.finish_run(run_id, report.to_dict())
    return report


@dataclass
class _Written:
    """A feed's posts, on disk but not yet flushed or recorded, and its validators."""

    posts: list[WrittenPost]
    etag: str | None
    last_modified: str | None


class _Mirror:
    """The per-feed work of one run."""

    def __init__(
        self,
        archive: Path,
        settings: Settings,
        options: RunOptions,
        rules: RuleSet,
        store: Store,
        writer: PostWriter,
        workers: Workers,
        now: datetime,
    ) -> None:
        self.archive = archive
        self.settings = settings
        self.options = options
        self.rules = rules
        self.store = store
        self.writer = writer
        self.now = now
        self.fetcher: Fetcher | None = None
        # Feeds fetching, parsing or writing at once: more would only hold bodies
        # in memory. A feed waiting for its posts to reach the disk holds no slot.
        self.in_flight = asyncio.Semaphore(settings.fetch.concurrency)
        self.workers = workers
        self.write_thread = ThreadPoolExecutor(1, thread_name_prefix="newsmirror-write")
        self.flusher = GroupFlush()
        self.written: dict[str, list[str]] = {}
        self.new_links: list[str] = []

    async def feed(self, sub: Subscription) -> FeedOutcome:
        started = time.monotonic()
        state = self.store.feed(sub.url) or FeedState(url=sub.url, site=sub.site)
        state.site = sub.site
        outcome = FeedOutcome(site=sub.site, url=sub.url, status="skipped")
        if not sub.options.enabled:
            outcome.reason = "disabled in config"
            return outcome
        if state.dead and not self.options.include_dead:
            outcome.reason = f"dead ({state.last_error}); revive with `newsmirror subs enable`"
            return outcome
        if self.options.only_due and state.next_check and state.next_check > time.time():
            outcome.reason = "not due yet"
            return outcome
        try:
            async with self.in_flight:
                written = await self._fetch_and_write(sub, state, outcome)
            if written is not None:
                await self._record(sub, state, outcome, written)
        except NewsmirrorError as e:
            outcome.status, outcome.reason = "failed", str(e)
        except (sqlite3.Error, OSError) as e:
            if isinstance(e, sqlite3.Error) or e.errno == errno.ENOSPC:
                raise  # the archive itself is failing: stop the whole run
            outcome.status, outcome.reason = "failed", f"cannot write: {e.strerror or e}"
        except Exception as e:  # a bug must cost one feed, not the run
            log.exception("unexpected error on feed %s", sub.url)
            outcome.status, outcome.reason = "failed", f"internal error: {type(e).__name__}: {e}"
        if outcome.status == "fetched":
            state.last_rejected = len(outcome.item_errors)
            state.last_rejection = outcome.item_errors[0] if outcome.item_errors else None
        schedule.after_attempt(state, outcome, self.settings.schedule, time.time())
        self.store.save_feed(state)
        outcome.seconds = round(time.monotonic() - started, 3)
        return outcome

    async def _fetch_and_write(
        self, sub: Subscription, state: FeedState, outcome: FeedOutcome
    ) -> _Written | None:
        """Fetch the feed and write its new posts; None when there is nothing to record."""
        assert self.fetcher is not None
        url = state.moved_to or sub.url
        result = await self.fetcher.fetch(url, etag=state.etag, last_modified=state.last_modified)
        state.last_status = result.status
        outcome.cache_seconds = schedule.cache_hint(result.headers)
        if result.permanent_redirect:
            state.moved_to = outcome.moved_to = result.permanent_redirect
            outcome.warnings.append(f"moved permanently to {result.permanent_redirect}")
        if result.not_modified:
            outcome.status = "not_modified"
            return None
        if not result.ok:
            outcome.status, outcome.reason = "failed", result.error or f"HTTP {result.status}"
            outcome.retry_after = result.retry_after
            return None
        if not result.body:
            outcome.status, outcome.reason = "failed", "empty response body"
            return None
        mode = self.options.content or sub.options.content
        try:
            prepared = await self.workers.prepare(
                body=result.body,
                url=result.final_url,
                content_type=result.headers.get("content-type"),
                feed_url=sub.url,
                site=sub.site,
                now=self.now,
                render_as="raw" if mode == "raw" else None,
            )
        except FeedError as e:
            outcome.status, outcome.reason = "failed", str(e)
            return None
        parsed = prepared.parsed
        outcome.status = "fetched"
        outcome.item_errors.extend(parsed.item_errors)
        outcome.warnings.extend(parsed.warnings)
        state.ttl_minutes = parsed.ttl_minutes
        outcome.items = len(parsed.entries)
        state.last_items = len(parsed.entries) + len(parsed.item_errors)
        self._note_dropped(sub, prepared, outcome)
        # Oldest first, so that same-day, same-title posts number in order.
        epoch = datetime.min.replace(tzinfo=UTC)
        seen = self.store.seen_of(k for item in prepared.items for k in item.keys or ())
        written: list[WrittenPost] = []
        new: list[tuple[PreparedItem, Entry, Post]] = []
        batch_started = time.monotonic()
        for item in sorted(prepared.items, key=lambda i: i.entry.published or epoch):
            try:
                post = await self._post_for(sub, result.final_url, item, mode, outcome, seen)
                if post is not None:
                    new.append((item, *post))
            except Exception as e:  # noqa: BLE001 - one bad item must not cost the feed
                _item_failed(item.entry, e, outcome)
            # Items that waited on article pages are written as they come, so
            # that a stopped run keeps them; fast ones go in one batch.
            if new and time.monotonic() - batch_started > WRITE_BATCH_SECONDS:
                written += await self._write(new, outcome)
                new, batch_started = [], time.monotonic()
        written += await self._write(new, outcome)
        return _Written(written, result.etag, result.last_modified)

    def _note_dropped(self, sub: Subscription, prepared: PreparedFeed, outcome: FeedOutcome) -> None:
        """Earlier posts gone from the feed's listing (recheck.note_dropped)."""
        if not self.settings.recheck.watch_feeds:
            return
        listed = [
            (item.keys or [], item.entry.published.timestamp() if item.entry.published else None)
            for item in prepared.items
        ]
        try:
            events = note_dropped(
                self.archive, self.store, self.settings.recheck, sub.url, listed, time.time()
            )
        except NewsmirrorError as e:  # a broken history file: the feed itself is fine
            outcome.warnings.append(f"posts dropped from the feed not noted: {e}")
            return
        outcome.dropped = len(events)
        outcome.warnings.extend(f"dropped from the feed: {e.post}" for e in events)

    async def _write(
        self, new: list[tuple[PreparedItem, Entry, Post]], outcome: FeedOutcome
    ) -> list[WrittenPost]:
        """Write posts, in order, on the writing thread: the kernel's part of
        creating files (~0.1 ms each) then overlaps the event loop's work."""
        if not new:
            return []
        loop = asyncio.get_running_loop()
        placed = await loop.run_in_executor(
            self.write_thread, _place_all, self.writer, [post for _, _, post in new]
        )
        written: list[WrittenPost] = []
        for (item, entry, _), where in zip(new, placed, strict=True):
            if isinstance(where, Exception):
                _item_failed(entry, where, outcome)
                continue
            path, created = where
            published = entry.published.timestamp() if entry.published else None
            written.append(WrittenPost(item.keys or [], path.name, item.href, published, created))
        return written

    async def _record(
        self, sub: Subscription, state: FeedState, outcome: FeedOutcome, written: _Written
    ) -> None:
        """Flush the feed's posts to disk once, then record them. Killed in
        between, the next run finds the files and records them then."""
        posts = written.posts
        if posts:
            if any(p.created for p in posts):
                await self.flusher.flush()
            self.store.record_posts(sub.url, posts)
            for p in posts:
                if p.created:
                    outcome.new_posts += 1
                    self.written.setdefault(sub.url, []).append(p.post)
                    self.new_links.append(p.link)
        # Validators only once the items are safely written: a crash before
        # this point refetches the feed in full next time.
        state.etag, state.last_modified = written.etag, written.last_modified

    async def _post_for(
        self,
        sub: Subscription,
        feed_url: str,
        item: PreparedItem,
        mode: ContentMode,
        outcome: FeedOutcome,
        seen: set[str],
    ) -> tuple[Entry, Post] | None:
        """The item's post (and its entry, cleaned in clean mode) unless its keys
        were `seen`; None when seen."""
        if item.error or not item.keys:
            raise PostError(item.error or "item has no usable link")
        if not seen.isdisjoint(item.keys):
            return None
        entry, href, keys = item.entry, item.href, item.keys
        post = item.post
        if post is None:
            if mode == "clean":
                entry = await self._clean(sub, entry, href, outcome)
            post = render_post(
                entry,
                sub.site,
                now=self.now,
                content=mode,
                feed_url=feed_url,
                href=href,
                key=keys[0],
            )
        return entry, post

    async def _clean(
        self, sub: Subscription, entry: Entry, href: str, outcome: FeedOutcome
    ) -> Entry:
        """Full text where the feed gave a summary, then the sanitiser."""
        assert self.fetcher is not None
        rule = self.rules.rule_for(href)
        fulltext = self.options.fulltext or sub.options.fulltext
        result = await fulltext_for(replace(entry, link=href), self.fetcher, rule, fulltext)
        if result.warning:
            outcome.warnings.append(result.warning)
        base = href if result.source == "page" else (entry.base_url or href)
        html = sanitize_html(result.content or "", base)
        if sub.options.mirror_images and html:
            html, warnings = await mirror_images(html, self.fetcher, self.archive, page_url=href)
            outcome.warnings.extend(warnings)
        return replace(entry, content=html, content_is_html=True)


def _place_all(writer: PostWriter, posts: list[Post]) -> list[tuple[Path, bool] | Exception]:
    """Write posts in order (on the writing thread); a failed write is returned, not raised."""
    results: list[tuple[Path, bool] | Exception] = []
    for post in posts:
        try:
            results.append(writer.place(post))
        except Exception as e:  # noqa: BLE001 - the event loop reports it for its item
            results.append(e)
    return results


def _item_failed(entry: Entry, error: Exception, outcome: FeedOutcome) -> None:
    """Report why an item failed, or re-raise what must stop the whole run."""
    name = _item_name(entry)
    if isinstance(error, NewsmirrorError | ValueError):
        outcome.item_errors.append(f"{name}: {error}")
    elif isinstance(error, sqlite3.Error):
        raise error  # the state database failed: stop the run (see `run`)
    elif isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            raise error  # a full disk fails every item alike: stop the run
        # Permissions and the like: the item is retried next run.
        outcome.item_errors.append(f"{name}: cannot write: {error.strerror or error}")
    else:
        log.error("unexpected error on item %s", name, exc_info=error)
        outcome.item_errors.append(f"{name}: internal error: {error}")


def _worker_count(options: RunOptions, feeds: int) -> int:
    if options.workers is not None:
        return options.workers
    # Starting a worker costs about half a second; it pays off on large runs.
    # On 2 cores, 2 workers beside the event loop beat 1 (cold, 1,000 feeds:
    # 11.2 s against 12.7 s, medians of 3), although the three share the cores.
    cores = os.cpu_count() or 1
    return min(cores, MAX_AUTO_WORKERS) if cores > 1 and feeds >= WORKERS_FROM_FEEDS else 0


WORKERS_FROM_FEEDS = 50
WRITE_BATCH_SECONDS = 0.5
MAX_AUTO_WORKERS = 4


def _temp_dir(archive: Path) -> Path | None:
    """Where posts are written before being linked into _posts/: the state
    folder, unless _posts/ lives on another filesystem (a link cannot cross)."""
    state = archive / ".newsmirror" / "tmp"
    posts = archive / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    return state if state.stat().st_dev == posts.stat().st_dev else None


def _item_name(entry: Entry) -> str:
    title = (entry.title or "").strip()
    label = title[:80] if title else (entry.link or entry.guid or "untitled item")
    return f"item {label!r}"


def _append_ledger(archive: Path, links: list[str]) -> None:
    """Keep an old generator's `allurls.dat` current, so that an archive can
    switch back; newsmirror itself relies on the state database."""
    ledger = archive / "allurls.dat"
    if not links or not ledger.is_file():
        return
    old = ledger.read_bytes()
    if old and not old.endswith(b"\n"):
        old += b"\n"
    atomic_write(ledger, old + "".join(f"{link}\n" for link in links).encode())
