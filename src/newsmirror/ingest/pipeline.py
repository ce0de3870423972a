"""One run over all feeds: fetch -> parse -> dedupe -> extract -> sanitize -> posts.

Feeds are independent: one feed's failure, or one item's, never touches
another's. The archive is locked for the run, every file is written
atomically, and an item is recorded as seen only after its post is on disk,
so a killed run is completed, without duplicates, by the next one.

Feeds are fetched concurrently, but which items are new is decided in
subscription order (`archive.dedupe.RunClaims`), before any article page is
fetched, so that the same feeds give the same archive whichever answers
first; each feed's work is bounded by its deadline. `_Mirror` says how, and
docs/architecture.md why.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import operator
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ..archive.config import Settings, load_settings
from ..archive.dedupe import Claim, RunClaims
from ..archive.fsutil import ArchiveLock, GroupFlush, atomic_write, remove_stale_temps
from ..archive.posts import PostError, PostWriter, render_post
from ..archive.sanitize import sanitize_html
from ..archive.store import FeedState, Store, WrittenPost, import_existing
from ..archive.subscriptions import load_subscriptions
from ..models import (
    ContentMode,
    Entry,
    FeedError,
    FetchResult,
    FulltextMode,
    NewsmirrorError,
    Post,
    Subscription,
)
from ..util.tasks import cancel_and_wait
from . import schedule
from .extract import PAGE_ACCEPT, fulltext_for
from .fetch import Fetcher
from .images import ImageStore
from .prepare import PreparedFeed, PreparedItem, Workers
from .recheck import note_dropped
from .report import FeedOutcome, ImageTally, RunReport
from .rules import RuleSet, load_rules

log = logging.getLogger("newsmirror")
T = TypeVar("T")


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
# (site, items done, items to do) of one feed: called when the feed has decided
# which items are new (done 0), then as each of them is written.
ItemCallback = Callable[[str, int, int], None]


def run(
    archive: Path,
    options: RunOptions | None = None,
    settings: Settings | None = None,
    on_feed: FeedCallback | None = None,
    on_items: ItemCallback | None = None,
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
                return asyncio.run(
                    _run(archive, subs, options, settings, rules, store, on_feed, on_items)
                )
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
    on_items: ItemCallback | None,
) -> RunReport:
    report = RunReport(archive=str(archive), started=time.time())
    report.imported = import_existing(store, archive)
    run_id = store.start_run()
    now = options.now or datetime.now(UTC)
    writer = PostWriter(archive / "_posts", temp_dir=_temp_dir(archive))
    workers = Workers(_worker_count(options, len(subs)))
    claims = RunClaims(len(subs), store.seen_of)
    mirror = _Mirror(archive, settings, options, rules, store, writer, workers, now, claims)
    mirror.on_items = on_items
    with mirror.write_thread, contextlib.closing(workers):
        async with Fetcher(settings.fetch) as fetcher:
            mirror.fetcher = fetcher

            async def one(index: int, sub: Subscription) -> None:
                outcome = await mirror.feed(index, sub)
                report.feeds.append(outcome)
                report.posts.extend(mirror.written.pop(index, []))
                if on_feed:
                    on_feed(outcome)

            tasks = [asyncio.ensure_future(one(i, s)) for i, s in enumerate(subs)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                # A failure that stops the run (full disk, broken state file) or a
                # stop request: end the other feeds before the writing thread
                # and the HTTP session close under them.
                await cancel_and_wait(tasks)
                raise
    # In subscription order, so that the ledger is the same whichever feed finished first.
    _append_ledger(
        archive, [link for i in sorted(mirror.new_links) for link in mirror.new_links[i]]
    )
    report.finished = time.time()
    store.finish_run(run_id, report.to_dict())
    return report


@dataclass
class _Written:
    """A feed's posts, on disk but not yet flushed or recorded, and its validators."""

    posts: list[WrittenPost]
    etag: str | None
    last_modified: str | None


@dataclass
class _Fetched:
    """A feed's unseen items, parsed, waiting for the feed's turn to claim them."""

    items: list[PreparedItem]
    final_url: str
    etag: str | None
    last_modified: str | None
    spent: float  # seconds of the feed's deadline used by fetching and parsing


class _Mirror:
    """The per-feed work of one run.

    A feed goes through three steps, holding one of the run's `holding`
    slots throughout (they bound the parsed items in memory). (1) Holding
    also one of the fewer fetch slots, it is fetched and parsed, and its
    items already in the archive are dropped. (2) With its fetch slot given
    back and its deadline clock stopped, it waits for its turn in
    subscription order and claims its new items
    (`dedupe.RunClaims`): concurrent feeds cannot race for a key, and an item
    that turns out to be a duplicate never costs an article page. (3) Its new
    items get their full text and images (a few at once), and its posts are
    written in the feed's order, each after the earlier post of another feed
    that shares its file name.

    The feed's deadline (`FetchSettings.deadline`) covers steps 1 and 3:
    the feed's own fetch (not its wait for a connection slot), parsing, then
    article pages and images. Items still waiting for network when it passes
    are written with the feed's own content, so a slow or dead article host
    costs a feed its full text, never its items.
    """

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
        claims: RunClaims,
    ) -> None:
        self.archive = archive
        self.settings = settings
        self.options = options
        self.rules = rules
        self.store = store
        self.writer = writer
        self.now = now
        self.claims = claims
        self.fetcher: Fetcher | None = None
        self.on_items: ItemCallback | None = None
        # Feeds fetching or parsing at once: more would only hold bodies in
        # memory.
        self.in_flight = asyncio.Semaphore(settings.fetch.concurrency)
        # Feeds between the start of their fetch and the end of their writing:
        # parsed feeds waiting for their turn or for the writing thread hold
        # their items, so this bounds memory. Taken in subscription order
        # (the semaphore is FIFO), so the feed whose turn it is always holds
        # one: no deadlock. More than `in_flight`, so that one slow feed does
        # not stop the fetching of the next ones at once. A feed waiting for
        # its posts to reach the disk holds no slot.
        self.holding = asyncio.Semaphore(settings.fetch.concurrency * HOLDING_PER_FETCH)
        self.workers = workers
        self.write_thread = ThreadPoolExecutor(1, thread_name_prefix="newsmirror-write")
        self.flusher = GroupFlush(writer.posts_dir)  # before any post is written
        self.written: dict[int, list[str]] = {}  # feed index -> post file names
        self.new_links: dict[int, list[str]] = {}
        self.images = ImageStore(archive, settings.images)

    async def feed(self, index: int, sub: Subscription) -> FeedOutcome:
        started = time.monotonic()
        state = self.store.feed(sub.url) or FeedState(url=sub.url, site=sub.site)
        state.site = sub.site
        outcome = FeedOutcome(site=sub.site, url=sub.url, status="skipped")
        outcome.reason = self._skip_reason(sub, state)
        if outcome.reason:
            self.claims.pass_turn(index)
            return outcome
        claimed: list[Claim] = []
        try:
            written = None
            async with self.holding:
                async with self.in_flight:
                    fetched = await self._fetch_and_prepare(sub, state, outcome)
                if fetched is not None:
                    written = await self._claim_and_write(index, sub, fetched, outcome, claimed)
            if written is not None:
                await self._record(index, state, outcome, written)
        except NewsmirrorError as e:
            outcome.status, outcome.reason = "failed", str(e)
        except (sqlite3.Error, OSError) as e:
            if isinstance(e, sqlite3.Error) or e.errno == errno.ENOSPC:
                raise  # the archive itself is failing: stop the whole run
            outcome.status, outcome.reason = "failed", f"cannot write: {e.strerror or e}"
        except Exception as e:  # a bug must cost one feed, not the run
            log.exception("unexpected error on feed %s", sub.url)
            outcome.status, outcome.reason = "failed", f"internal error: {type(e).__name__}: {e}"
        finally:
            # Whatever happened, later feeds must not wait for this one.
            self.claims.pass_turn(index)
            for claim in claimed:
                claim.done()
        if outcome.status == "fetched":
            state.last_rejected = len(outcome.item_errors)
            state.last_rejection = outcome.item_errors[0] if outcome.item_errors else None
        schedule.after_attempt(state, outcome, self.settings.schedule, time.time())
        self.store.save_feed(state)
        outcome.seconds = round(time.monotonic() - started, 3)
        return outcome

    def _skip_reason(self, sub: Subscription, state: FeedState) -> str | None:
        if not sub.options.enabled:
            return "disabled in config"
        if state.dead and not self.options.include_dead:
            return f"dead ({state.last_error}); revive with `newsmirror subs enable`"
        if self.options.only_due and state.next_check and state.next_check > time.time():
            return "not due yet"
        return None

    async def _fetch_and_prepare(
        self, sub: Subscription, state: FeedState, outcome: FeedOutcome
    ) -> _Fetched | None:
        """Fetch and parse the feed; its unseen items, or None when there is nothing to do."""
        assert self.fetcher is not None
        loop = asyncio.get_running_loop()
        began = loop.time()
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
        usable: list[PreparedItem] = []
        for item in prepared.items:
            if item.error or not item.keys:
                _item_failed(
                    item.entry, PostError(item.error or "item has no usable link"), outcome
                )
            else:
                usable.append(item)
        # Oldest first, so that same-day, same-title posts number in order;
        # the sort is stable, so items of one date keep the feed's order.
        epoch = datetime.min.replace(tzinfo=UTC)
        usable.sort(key=lambda i: i.entry.published or epoch)
        unseen = self.claims.unseen(usable, _keys)
        spent = loop.time() - began - result.queued
        return _Fetched(unseen, result.final_url, result.etag, result.last_modified, spent)

    async def _claim_and_write(
        self,
        index: int,
        sub: Subscription,
        fetched: _Fetched,
        outcome: FeedOutcome,
        claimed: list[Claim],
    ) -> _Written:
        """Wait for the feed's turn, claim its new items, then give them their
        content and write them, all in the feed's order."""
        mode = self.options.content or sub.options.content
        await self.claims.turn(index)

        def name_of(item: PreparedItem) -> str:
            return self._post_name(sub, fetched.final_url, item, mode)

        new = self.claims.claim(index, fetched.items, _keys, name_of)
        claimed.extend(claim for _, claim in new)
        loop = asyncio.get_running_loop()
        budget = _Budget(loop.time() + max(0.0, self.settings.fetch.deadline - fetched.spent))

        async def work(item: PreparedItem) -> tuple[Entry, Post, _Notes]:
            return await self._post_for(sub, fetched.final_url, item, mode, budget)

        # Clean mode waits on article pages and images: a few items at once.
        results = _InOrder(work, [item for item, _ in new], ITEMS_AT_ONCE if mode == "clean" else 0)
        written: list[WrittenPost] = []
        batch: list[tuple[PreparedItem, Entry, Post, Claim]] = []
        batch_started = time.monotonic()
        self._progress(sub.site, 0, len(new))
        try:
            for position, (item, claim) in enumerate(new):
                if item.post is not None:  # raw mode: rendered by `prepare` already
                    result: tuple[Entry, Post, _Notes] | Exception = (item.entry, item.post, _NONE)
                else:
                    result = await results.get(position)
                if isinstance(result, Exception):
                    _item_failed(item.entry, result, outcome)
                    claim.done()
                    continue
                entry, post, notes = result
                outcome.warnings.extend(notes.warnings)  # in item order, whatever came first
                outcome.refused.extend(notes.refused)
                outcome.images.add(notes.images)
                batch.append((item, entry, post, claim))
                # Items that waited on article pages are written as they come, so
                # that a stopped run keeps them; fast ones go in one batch.
                if time.monotonic() - batch_started > WRITE_BATCH_SECONDS:
                    written += await self._write(batch, outcome)
                    batch, batch_started = [], time.monotonic()
                    self._progress(sub.site, position + 1, len(new))
            written += await self._write(batch, outcome)
        finally:
            results.cancel()
        self._progress(sub.site, len(new), len(new))
        if budget.out_of_time:
            outcome.warnings.append(
                f"deadline of {self.settings.fetch.deadline:g}s reached: {budget.out_of_time}"
                " items kept the feed's own content (no article page or images)"
            )
        return _Written(written, fetched.etag, fetched.last_modified)

    def _progress(self, site: str, done: int, todo: int) -> None:
        if self.on_items and todo:
            self.on_items(site, done, todo)

    def _post_name(
        self, sub: Subscription, feed_url: str, item: PreparedItem, mode: ContentMode
    ) -> str:
        """The file name the item's post will have (without `-N`), for `RunClaims`."""
        if item.post is not None:
            return item.post.filename
        # The name comes from the title and the date, not from the content.
        bare = replace(item.entry, content=None, summary=None)
        try:
            return render_post(
                bare, sub.site, now=self.now, content=mode, feed_url=feed_url, href=item.href
            ).filename
        except (NewsmirrorError, ValueError):
            return ""  # the item will fail again, and be reported, when rendered

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
        self, batch: list[tuple[PreparedItem, Entry, Post, Claim]], outcome: FeedOutcome
    ) -> list[WrittenPost]:
        """Write posts, in order, on the writing thread: the kernel's part of
        creating files (~0.1 ms each) then overlaps the event loop's work."""
        if not batch:
            return []
        for _, _, _, claim in batch:
            if claim.waits():
                await claim.turn()  # the same file name's earlier post, from another feed
        loop = asyncio.get_running_loop()
        try:
            placed = await loop.run_in_executor(
                self.write_thread, _place_all, self.writer, [post for _, _, post, _ in batch]
            )
        finally:
            for _, _, _, claim in batch:
                claim.done()
        written: list[WrittenPost] = []
        for (item, entry, _, _), where in zip(batch, placed, strict=True):
            if isinstance(where, Exception):
                _item_failed(entry, where, outcome)
                continue
            path, created = where
            published = entry.published.timestamp() if entry.published else None
            written.append(WrittenPost(item.keys or [], path.name, item.href, published, created))
        return written

    async def _record(
        self, index: int, state: FeedState, outcome: FeedOutcome, written: _Written
    ) -> None:
        """Flush the feed's posts to disk once, then record them. Killed in
        between, the next run finds the files and records them then."""
        posts = written.posts
        if posts:
            created = [self.writer.posts_dir / p.post for p in posts if p.created]
            if created:
                await self.flusher.flush(created)
            self.store.record_posts(state.url, posts)
            for p in posts:
                if p.created:
                    outcome.new_posts += 1
                    self.written.setdefault(index, []).append(p.post)
                    self.new_links.setdefault(index, []).append(p.link)
        # Validators only once the items are safely written: a crash before
        # this point refetches the feed in full next time.
        state.etag, state.last_modified = written.etag, written.last_modified

    async def _post_for(
        self,
        sub: Subscription,
        feed_url: str,
        item: PreparedItem,
        mode: ContentMode,
        budget: _Budget,
    ) -> tuple[Entry, Post, _Notes]:
        """The item's post, its entry (cleaned in clean mode) and what to report."""
        entry, href, keys = item.entry, item.href, item.keys or []
        notes = _Notes()
        post = item.post
        if post is None:
            if mode == "clean":
                entry = await self._clean(sub, entry, href, notes, budget)
            post = render_post(
                entry,
                sub.site,
                now=self.now,
                content=mode,
                feed_url=feed_url,
                href=href,
                key=keys[0],
            )
        return entry, post, notes

    async def _clean(
        self, sub: Subscription, entry: Entry, href: str, notes: _Notes, budget: _Budget
    ) -> Entry:
        """Full text where the feed gave a summary, then the sanitiser; article
        pages and images only while the feed's deadline lasts."""
        assert self.fetcher is not None
        rule = self.rules.rule_for(href)
        fulltext = self.options.fulltext or sub.options.fulltext
        entry = replace(entry, link=href)
        fetcher = _ItemFetcher(self.fetcher, sub.url)
        result = None
        if budget.left():
            try:
                async with asyncio.timeout_at(budget.ends):
                    result = await fulltext_for(entry, fetcher, rule, fulltext)
            except TimeoutError:
                pass
        if result is None:
            budget.out_of_time += 1
            result = await fulltext_for(entry, fetcher, rule, "never")  # no network
        elif result.warning and not fetcher.refused:
            notes.warnings.append(result.warning)
        base = href if result.source == "page" else (entry.base_url or href)
        html = sanitize_html(result.content or "", base)
        if sub.options.mirror_images and html and budget.left():
            try:
                async with asyncio.timeout_at(budget.ends):
                    html = await self.images.mirror(
                        html, fetcher, page_url=href, tally=notes.images, feed=sub.url
                    )
            except TimeoutError:
                budget.out_of_time += 1  # the images stay where they were
        item = _item_name(entry)
        notes.refused.extend(f"{item}: refused {why}" for why in fetcher.refused)
        return replace(entry, content=html, content_is_html=True)


@dataclass
class _Notes:
    """What one item adds to its feed's report (added in item order)."""

    warnings: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    images: ImageTally = field(default_factory=ImageTally)


_NONE = _Notes((), ())  # type: ignore[arg-type]  # an item with nothing to report


class _InOrder:
    """`work` on each item, up to `at_once` items at a time (0: one by one,
    when asked), with results (or the exception) taken in the items' order."""

    def __init__(
        self,
        work: Callable[[PreparedItem], Awaitable[tuple[Entry, Post, _Notes]]],
        items: list[PreparedItem],
        at_once: int,
    ) -> None:
        self._work = work
        self._items = items
        self._tasks: list[asyncio.Future[tuple[Entry, Post, _Notes] | Exception]] = []
        if at_once:
            limit = asyncio.Semaphore(at_once)

            async def bounded(item: PreparedItem) -> tuple[Entry, Post, _Notes] | Exception:
                async with limit:
                    return await _captured(work(item))

            self._tasks = [asyncio.ensure_future(bounded(item)) for item in items]

    async def get(self, position: int) -> tuple[Entry, Post, _Notes] | Exception:
        if self._tasks:
            return await self._tasks[position]
        return await _captured(self._work(self._items[position]))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


async def _captured(work: Awaitable[T]) -> T | Exception:
    try:
        return await work
    except Exception as e:  # noqa: BLE001 - reported for its item by the caller
        return e


class _ItemFetcher:
    """The run's fetcher as one item's content sees it: every fetch is under
    the fetch policy for addresses from the feed's content (origin: the
    subscription URL), and refusals are noted for the run report."""

    def __init__(self, fetcher: Fetcher, origin: str) -> None:
        self._fetcher = fetcher
        self._origin = origin
        self.refused: list[str] = []  # "<url>: <why>"

    async def fetch(self, url: str, *, accept: str = PAGE_ACCEPT) -> FetchResult:
        result = await self._fetcher.fetch(url, accept=accept, origin=self._origin)
        if result.refused:
            why = (result.error or "").removeprefix("refused: ")
            self.refused.append(f"{result.final_url}: {why}")
        return result


@dataclass
class _Budget:
    """What is left of a feed's deadline for its items' network work."""

    ends: float  # loop.time() when the deadline passes
    out_of_time: int = 0  # items (or their images) that got no network work

    def left(self) -> bool:
        return asyncio.get_running_loop().time() < self.ends


# The keys of an item that `_fetch_and_prepare` kept (never None there).
_keys: Callable[[PreparedItem], list[str]] = operator.attrgetter("keys")


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
HOLDING_PER_FETCH = 2  # feeds held (parsed, not yet written) per fetch slot
ITEMS_AT_ONCE = 6  # a feed's items getting full text at once (as FetchSettings.per_host)
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
