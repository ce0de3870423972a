"""`recheck`: fetch the originals of recent posts again and record what
became of them: deleted (404/410/451, a redirect to the home page or a
listing, a removal notice), edited (the text changed beyond whitespace and
boilerplate), back (a deleted original reappeared), dropped from its feed.

Each post is checked on a decaying schedule after its capture (1 h, 6 h,
1 d, 3 d, 7 d, 30 d by default; `[recheck]` in newsmirror.toml), with its
ETag/Last-Modified, so an unchanged page costs a 304. A run is bounded
(checks per run and per host, requests per second per host) and uses the
same fetcher, proxy, limits and deadlines as `run`. A deletion is confirmed
only by two checks at least `confirm_after` apart; then the post gets
`deleted:` in its front matter. Events and text versions go to the history
files (archive/history.py), the schedule and validators to state.db.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..archive.config import RecheckSettings, Settings, load_settings
from ..archive.fsutil import ArchiveLock
from ..archive.history import (
    EventKind,
    History,
    Version,
    fingerprint,
    iso_time,
    load_history,
    parse_iso,
    save_history,
)
from ..archive.originals import Original, Originals, next_check
from ..archive.postmarks import MarkKey, clear_deleted, find_post, set_mark, touch
from ..archive.store import Store
from ..models import FetchResult, NewsmirrorError
from ..util.tasks import cancel_and_wait
from .detect import Finding, classify
from .extract import PAGE_ACCEPT
from .fetch import Fetcher
from .recheck_report import RecheckEvent, RecheckReport
from .rules import RuleSet, load_rules

log = logging.getLogger("newsmirror")

RETRY_FAILED_AFTER = 3600.0  # a failed check is tried again this soon (up to 3 times)
SAVE_BATCH = 256  # unchanged rows written back together
# The fetch policy for addresses from feed content (fetch.py) applies to every
# original; a post whose feed is not known (found in _posts/) gets no feed host
# to be exempt: this origin has none.
UNKNOWN_FEED = "about:blank"
MAX_QUEUED_PAGES = 32  # fetched pages waiting for extraction; more wait to be fetched
PACING_MARGIN = 0.005  # seconds added to each host's interval between requests

EventCallback = Callable[[RecheckEvent], None]


@dataclass(frozen=True)
class RecheckOptions:
    confirm_after: float | None = None  # seconds; None: the [recheck] setting
    everything: bool = False  # check every watched post now, due or not
    max_checks: int | None = None  # None: the [recheck] max_per_run
    now: float | None = None  # the checks' time (tests pin it); None: the clock


def recheck(
    archive: Path,
    options: RecheckOptions | None = None,
    settings: Settings | None = None,
    on_event: EventCallback | None = None,
) -> RecheckReport:
    """Re-check the originals that are due. Raises NewsmirrorError for what
    stops the whole run (bad config, archive locked, state unwritable)."""
    options = options or RecheckOptions()
    settings = settings or load_settings(archive)
    rules = load_rules(list(settings.rules))
    with ArchiveLock(archive):
        try:
            with Store.open(archive) as store:
                checker = _Recheck(archive, settings, options, rules, store, on_event)
                return asyncio.run(checker.run())
        except (OSError, sqlite3.Error) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise NewsmirrorError(f"{archive}: recheck stopped: {reason}") from None


def pick(
    due: Sequence[Original], max_checks: int, max_per_host: int
) -> tuple[list[Original], int]:
    """The rows to check in this run (in `due`'s order) and how many are left."""
    chosen: list[Original] = []
    per_host: dict[str, int] = {}
    for row in due:
        if len(chosen) >= max_checks:
            break
        host = host_key(row.link)
        if per_host.get(host, 0) >= max_per_host:
            continue
        per_host[host] = per_host.get(host, 0) + 1
        chosen.append(row)
    return chosen, len(due) - len(chosen)


def host_key(link: str) -> str:
    """host:port, as the fetcher's per-host limit counts hosts."""
    try:
        parts = urlsplit(link)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{(parts.hostname or '').lower()}:{port}"
    except ValueError:
        return link


class HostPacer:
    """At most `rate` requests per second to each host, as the host sees them.

    A host gets one check at a time, and the next begins 1/rate seconds (plus
    a margin) after the last one ended: its requests had all reached the host
    by then, so however late a request arrives (a new connection, a busy
    network), the host never sees two closer together than that. Checks
    spread over hosts, within the fetcher's overall limit. `before_send`,
    which the fetcher awaits before each request, also spaces a check's own
    redirect hops and retries.
    """

    def __init__(self, rate: float, overall: int) -> None:
        self.interval = 1.0 / rate + PACING_MARGIN
        self.overall = asyncio.Semaphore(overall)
        self._turns: dict[str, asyncio.Lock] = {}
        self._ended: dict[str, float] = {}
        self._sent: dict[str, float] = {}

    async def start(self, host: str) -> None:
        """Wait for the host's turn (held until `done`) and an overall slot."""
        turn = self._turns.setdefault(host, asyncio.Lock())
        await turn.acquire()
        loop = asyncio.get_running_loop()
        wait = self._ended.get(host, -self.interval) + self.interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.overall.acquire()

    def done(self, host: str) -> None:
        self._ended[host] = asyncio.get_running_loop().time()
        self.overall.release()
        self._turns[host].release()

    async def before_send(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._sent.get(host, -self.interval) + self.interval - loop.time()) > 0:
            await asyncio.sleep(wait)
        self._sent[host] = loop.time()


class _Recheck:
    def __init__(
        self,
        archive: Path,
        settings: Settings,
        options: RecheckOptions,
        rules: RuleSet,
        store: Store,
        on_event: EventCallback | None,
    ) -> None:
        self.archive = archive
        self.settings = settings
        self.config: RecheckSettings = settings.recheck
        self.options = options
        self.rules = rules
        self.originals = Originals(store)
        self.on_event = on_event
        self.confirm_after = (
            self.config.confirm_seconds if options.confirm_after is None else options.confirm_after
        )
        self.steps = self.config.steps  # the schedule, in seconds
        self.report = RecheckReport(archive=str(archive), started=time.time())
        self.unsaved: list[Original] = []
        self.extracting = ThreadPoolExecutor(1, thread_name_prefix="newsmirror-extract")
        self.bodies = asyncio.Semaphore(MAX_QUEUED_PAGES)  # bound to the loop on first use

    def now(self) -> float:
        return self.options.now if self.options.now is not None else time.time()

    async def run(self) -> RecheckReport:
        now = self.now()
        self.originals.sync(self.steps, now)
        self.originals.import_posts(self.archive, self.steps, now)
        due = self.originals.due(now, self.confirm_after, everything=self.options.everything)
        limit = self.options.max_checks or self.config.max_per_run
        chosen, left = pick(due, limit, self.config.max_per_host)
        self.report.due, self.report.left = len(due), left
        by_host: dict[str, list[Original]] = {}
        for row in chosen:
            by_host.setdefault(host_key(row.link), []).append(row)
        fetch = self.settings.fetch
        pacer = HostPacer(self.config.rate_per_host, fetch.concurrency)
        try:
            async with Fetcher(fetch, before_send=pacer.before_send) as fetcher:
                await asyncio.gather(
                    *(self._host(fetcher, pacer, host, rows) for host, rows in by_host.items())
                )
        finally:
            self.extracting.shutdown(wait=True, cancel_futures=True)
            self._save_unsaved()
        self.report.finished = time.time()
        return self.report

    async def _host(
        self, fetcher: Fetcher, pacer: HostPacer, host: str, rows: list[Original]
    ) -> None:
        """This host's checks, one after the other at the pacer's rate; each
        answer is judged while the next request goes out."""
        judging: list[asyncio.Task[None]] = []
        try:
            for row in rows:
                await pacer.start(host)
                try:
                    result = await fetcher.fetch(
                        row.link, etag=row.etag, last_modified=row.last_modified,
                        accept=PAGE_ACCEPT, origin=row.feed or UNKNOWN_FEED,
                    )  # fmt: skip
                finally:
                    pacer.done(host)
                if result.ok and result.body:
                    await self.bodies.acquire()  # a page to extract: wait if many are queued
                judging.append(asyncio.create_task(self._judge(row, result)))
            await asyncio.gather(*judging)
        except BaseException:
            await cancel_and_wait(judging)
            raise

    async def _judge(self, row: Original, result: FetchResult) -> None:
        """Classify one answer (extraction on its own thread, so that other
        hosts' requests go out on time) and record what it means."""
        rule = self.rules.rule_for(row.link)
        if result.ok and result.body:
            try:
                finding = await asyncio.get_running_loop().run_in_executor(
                    self.extracting, functools.partial(classify, result, row.link, rule,
                                                       last_body_sha=row.body_sha))  # fmt: skip
            finally:
                self.bodies.release()
        else:
            finding = classify(result, row.link, rule, last_body_sha=row.body_sha)
        try:
            changed = self.apply(row, finding, self.now())
        except Exception as e:  # noqa: BLE001 - one post's trouble must not stop the others
            self._failed(row, e)
            return
        if changed:
            self.originals.save([row])
        else:
            self.unsaved.append(row)
            if len(self.unsaved) >= SAVE_BATCH:
                self._save_unsaved()

    def _failed(self, row: Original, error: Exception) -> None:
        """Report what went wrong with one post, or re-raise what must stop the run."""
        if isinstance(error, sqlite3.Error) or (
            isinstance(error, OSError) and error.errno == errno.ENOSPC
        ):
            raise error  # the archive itself is failing (see `recheck`)
        if isinstance(error, NewsmirrorError):
            self.report.errors.append(f"{row.post}: {error}")
        elif isinstance(error, OSError):
            self.report.errors.append(f"{row.post}: cannot write: {error.strerror or error}")
        else:
            log.error("unexpected error on %s", row.post, exc_info=error)
            self.report.errors.append(f"{row.post}: internal error: {type(error).__name__}: {error}")

    def _save_unsaved(self) -> None:
        rows, self.unsaved = self.unsaved, []
        if rows:
            self.originals.save(rows)

    # --- what a finding does to a post -------------------------------------

    def apply(self, row: Original, finding: Finding, now: float) -> bool:
        """Update `row` (and the history file and post) for one finding;
        True when something was recorded beyond the check itself."""
        counts = self.report.feed(row.feed, row.site)
        counts.checked += 1
        row.last_check = now
        kind = finding.kind
        if kind == "unchanged":
            counts.not_modified += 1
            kind = "notice" if row.last_kind == "notice" else "article"
        if finding.kind in ("article", "notice"):  # its validators replace the old ones
            row.etag, row.last_modified = finding.etag, finding.last_modified
            row.body_sha, row.last_kind = finding.body_sha, finding.kind
        row.next_check = next_check(row.captured, self.steps, now)
        if kind == "failed":
            counts.failed += 1
            row.failures += 1
            row.last_error = finding.evidence
            if row.failures <= 3 and row.next_check is not None:
                row.next_check = min(row.next_check, now + RETRY_FAILED_AFTER)
            return False
        row.failures, row.last_error = 0, None
        history = _Lazy(self.archive, row)
        if kind == "article":
            self._alive(row, finding, now, history)
        else:
            self._gone(row, finding, now, history)
        return history.save()

    def _alive(self, row: Original, finding: Finding, now: float, history: _Lazy) -> None:
        said = f"answered again ({finding.evidence or 'HTTP 200'})"
        if row.state == "suspect":
            self._event(row, history, "cleared", now, said)
        elif row.state == "deleted":
            self._event(row, history, "back", now, said)
            row.returns += 1
            row.last_back = now
            self._mark(row, "deleted", None)
        row.state, row.suspect_since, row.evidence, row.deleted_at = "alive", None, None, None
        row.last_alive = now
        if finding.text is not None:
            self._compare_text(row, finding.text, now, history)
        if row.next_check is None:
            row.text = None  # the schedule is over: no later check needs the "before"

    def _compare_text(self, row: Original, text: str, now: float, history: _Lazy) -> None:
        """A changed fingerprint is an edit: keep the old and the new version."""
        new = fingerprint(text)
        old, old_text, old_seen = row.fingerprint, row.last_text(), row.text_seen
        if old is None and (earlier := history.existing()) is not None and earlier.versions:
            last = earlier.versions[-1]  # state.db was lost; the history file was not
            old, old_text, old_seen = last.fingerprint, last.text, parse_iso(last.time).timestamp()
        if old is not None and new != old:
            versions = history.get().versions
            if not versions:
                versions.append(Version(iso_time(old_seen or row.captured), old, old_text or ""))
            versions.append(Version(iso_time(now), new, text))
            self._event(row, history, "edited", now, f"text changed (version {len(versions)})")
            row.edits += 1
            row.last_edit = now
            self._mark(row, "edited", now)
        if new != old or row.text is None:
            row.keep_text(text, now)
        row.fingerprint = new

    def _gone(self, row: Original, finding: Finding, now: float, history: _Lazy) -> None:
        evidence = finding.evidence
        if row.state == "alive":
            row.state, row.suspect_since, row.evidence = "suspect", now, evidence
            history.get().last_alive = iso_time(row.last_alive or row.captured)
            self._event(row, history, "suspected", now, evidence)
        elif row.state == "suspect" and now - (row.suspect_since or now) >= self.confirm_after:
            first = row.suspect_since or now
            row.state, row.deleted_at = "deleted", first
            self._event(row, history, "deleted", now,
                        f"{row.evidence}; again at {iso_time(now)}: {evidence}")  # fmt: skip
            self._mark(row, "deleted", first)

    def _event(self, row: Original, history: _Lazy, kind: EventKind, now: float, why: str) -> None:
        history.get().add(kind, now, why)
        history.touched = True
        event = RecheckEvent(kind, now, row.post, row.link, row.feed, row.site, why)
        self.report.note(event)
        if self.on_event is not None:
            self.on_event(event)

    def _mark(self, row: Original, key: MarkKey, when: float | None) -> None:
        """Set (or, with None, remove) a mark in the post's front matter."""
        path = find_post(self.archive, row.post, row.link)
        if path is None:
            self.report.errors.append(f"{row.post}: post file not found for {row.link}")
        elif when is None:
            clear_deleted(path)
        else:
            set_mark(path, key, datetime.fromtimestamp(when, UTC))


def _new_history(row: Original) -> History:
    return History(key=row.key, link=row.link, post=row.post, site=row.site, feed=row.feed)


class _Lazy:
    """A post's history, read from its file only when a finding needs it (once)."""

    def __init__(self, archive: Path, row: Original) -> None:
        self.archive = archive
        self.row = row
        self.history: History | None = None
        self.loaded = False
        self.touched = False

    def existing(self) -> History | None:
        """The history file's content, or None when the post has none yet."""
        if not self.loaded:
            self.history = load_history(self.archive, self.row.key)
            self.loaded = True
        return self.history

    def get(self) -> History:
        history = self.existing()
        if history is None:
            history = self.history = _new_history(self.row)
        return history

    def save(self) -> bool:
        if self.touched and self.history is not None:
            save_history(self.archive, self.history)
        return self.touched


# --- dropped from the feed (called by the run, per fetched feed) -------------


def note_dropped(
    archive: Path,
    store: Store,
    config: RecheckSettings,
    feed_url: str,
    listed: Iterable[tuple[Sequence[str], float | None]],
    now: float,
) -> list[RecheckEvent]:
    """Posts of the feed gone from its listing although the feed still lists
    archived items published before them: a weak signal of removal, recorded
    as "dropped". `listed` is each listed item's keys and published time.

    Only items the archive holds date the listing: a feed that lists none of
    them (its links renamed, the site moved) has changed as a whole, which
    says nothing about any one post."""
    listed = list(listed)
    keys = {key for item_keys, _ in listed for key in item_keys}
    published = [when for _, when in listed if when is not None]
    if len(published) < 2:
        return []  # without dates the listing tells nothing about what it should hold
    originals = Originals(store)
    originals.sync(config.steps, now)
    rows = originals.of_feed(feed_url, min(published) - 1)  # from the oldest listed item on
    archived = {row.key for row in rows}
    dated = [when for item_keys, when in listed if when is not None and archived & set(item_keys)]
    if not dated:
        return []
    oldest = min(dated)
    events = []
    gone = [r for r in rows if r.key not in keys and r.published is not None and r.published > oldest]
    for row in gone:
        history = load_history(archive, row.key) or _new_history(row)
        why = f"no longer in the feed, which still lists items published since {iso_time(oldest)}"
        history.add("dropped", now, why)
        save_history(archive, history)
        path = find_post(archive, row.post, row.link)
        if path is not None:
            touch(path)  # its page shows the note
        row.dropped_at = now
        events.append(RecheckEvent("dropped", now, row.post, row.link, row.feed, row.site, why))
    originals.save(gone)
    return events
