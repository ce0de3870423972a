"""`newsmirror watch`: ingest (and build) in a loop, until SIGTERM or SIGINT.

Each tick runs the pipeline over the feeds that are due (each feed has its
own next check, see schedule.py), then, every `[recheck] every` (30 min by
default), re-checks the originals that are due (ingest/recheck.py). A failed
tick is logged and the loop goes on. A stop signal lets the loop end cleanly:
between ticks at once; during a run, the run is cancelled at its next await
point. Every post write is atomic and an item is recorded only once its file
is on disk, so a cancelled run loses nothing: the next run completes it
without duplicates.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TypeVar

from ..archive.config import Settings, load_settings
from ..archive.fsutil import ArchiveLock, ArchiveLocked
from ..archive.retention import apply_retention
from ..ingest.pipeline import RunOptions, run
from ..ingest.recheck import recheck
from ..ingest.recheck_report import RecheckReport
from ..ingest.report import FeedOutcome, RunReport, outcome_line
from ..models import NewsmirrorError
from ..site.build import build_site
from ..util.text import plural

log = logging.getLogger("newsmirror")

JITTER = 0.1  # ±10% on the loop's period

TickHook = Callable[[int, RunReport | None], None]


class _Stopper:
    """Turns SIGTERM/SIGINT into a stop request.

    During a pipeline run, SIGINT keeps Python's default handler, which
    asyncio.run replaces with its own: cancel the run's task (its `async with`
    blocks close the connections, the store and the archive lock), then raise
    KeyboardInterrupt. SIGTERM is passed on as SIGINT to get the same.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.in_run = False
        self.main = threading.current_thread() is threading.main_thread()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        self.stop.set()
        if self.in_run:
            signal.raise_signal(signal.SIGINT)

    @contextmanager
    def installed(self) -> Iterator[None]:
        if not self.main:
            yield  # signals reach the main thread only; the caller's stop_event still works
            return
        old = {s: signal.signal(s, self.on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, handler in old.items():
                signal.signal(signum, handler)

    @contextmanager
    def running(self) -> Iterator[None]:
        if self.main:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        self.in_run = True
        try:
            yield
        finally:
            self.in_run = False
            if self.main:
                signal.signal(signal.SIGINT, self.on_signal)


def watch(
    archive: Path,
    every: float,
    *,
    once_hook: TickHook | None = None,
    stop_event: threading.Event | None = None,
    max_runs: int | None = None,
) -> int:
    """Run ingest every `every` seconds (+-10%) until stopped. Returns the
    number of runs started. `once_hook(run_number, report_or_None)` is called
    after each tick; `max_runs` bounds the loop (for tests and cron-like use)."""
    stop = stop_event or threading.Event()
    stopper = _Stopper(stop)
    rechecked = _LastRecheck()
    runs = 0
    with stopper.installed():
        while not stop.is_set() and (max_runs is None or runs < max_runs):
            runs += 1
            report = _tick(archive, stopper, rechecked)
            if once_hook is not None:
                once_hook(runs, report)
            if stop.is_set() or (max_runs is not None and runs >= max_runs):
                break
            _sleep(every * random.uniform(1 - JITTER, 1 + JITTER), stop)
    log.info("watch stopped after %s", plural(runs, "run"))
    return runs


class _LastRecheck:
    """When this loop last re-checked the originals (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: float | None = None

    def due(self, every: float | None) -> bool:
        now = time.monotonic()
        if every is None or (self.at is not None and now - self.at < every):
            return False
        self.at = now
        return True


def _tick(archive: Path, stopper: _Stopper, rechecked: _LastRecheck) -> RunReport | None:
    """One run (and build). Never raises, except for a stop request."""
    def on_feed(outcome: FeedOutcome) -> None:
        level = logging.WARNING if outcome.status == "failed" else logging.DEBUG
        log.log(level, outcome_line(outcome), extra={"fields": {"feed": outcome.url}})

    def ingest() -> tuple[Settings, RunReport]:
        settings = load_settings(archive)  # re-read: the config may change between ticks
        with stopper.running():
            return settings, run(archive, RunOptions(only_due=True), settings, on_feed=on_feed)

    done = _unattended(ingest, stopper, "run", skipped="this tick",
                       cancelled="run cancelled by a stop request; the next run completes it")  # fmt: skip
    if done is None:
        return None
    settings, report = done
    _write_report(archive, report, "run")
    if settings.retention_days and not stopper.stop.is_set():
        _retain(archive, settings.retention_days)
    if not stopper.stop.is_set() and rechecked.due(settings.recheck.every_seconds):
        _recheck(archive, settings, stopper)
    if settings.build and not stopper.stop.is_set():
        _build(archive)
    return report


_T = TypeVar("_T")


def _unattended(call: Callable[[], _T], stopper: _Stopper, what: str, *, skipped: str,
                cancelled: str) -> _T | None:  # fmt: skip
    """`call()` (a run or a re-check) as the loop makes it: a stop request, a
    locked archive and any failure are logged, not raised (None then)."""
    try:
        return call()
    except KeyboardInterrupt:
        stopper.stop.set()
        log.info(cancelled)
    except ArchiveLocked as e:
        log.warning("skipping %s: %s", skipped, e)
    except NewsmirrorError as e:
        log.error("%s failed: %s", what, e)
    except Exception as e:  # an unattended loop must outlive a bug in one run
        log.exception("%s failed with an internal error: %s: %s", what, type(e).__name__, e)
    return None


def _write_report(archive: Path, report: RunReport | RecheckReport, what: str) -> None:
    try:
        report.write_json(archive / ".newsmirror" / "reports")
    except OSError as e:
        log.error("could not write the %s report: %s", what, e)
    log.info(report.summary_line())


def _retain(archive: Path, days: int) -> None:
    try:
        moved = apply_retention(archive, days)
    except NewsmirrorError as e:
        log.error("retention failed: %s", e)
        return
    if moved:
        log.info("retention: moved %d posts to archived/", len(moved))


def _recheck(archive: Path, settings: Settings, stopper: _Stopper) -> None:
    """Re-check the originals that are due. Never raises, except for a stop request."""
    def check() -> RecheckReport:
        with stopper.running():
            return recheck(archive, settings=settings)

    report = _unattended(check, stopper, "recheck", skipped="this recheck",
                         cancelled="recheck cancelled by a stop request")  # fmt: skip
    if report is None:
        return
    for event in report.events:
        log.info(event.line())
    _write_report(archive, report, "recheck")


def _build(archive: Path) -> None:
    try:
        # Like `newsmirror build`: never read _posts/ while another run writes it.
        with ArchiveLock(archive):
            result = build_site(archive, None, full=False)
        for line in result.summary_lines():
            log.info(line)
    except NewsmirrorError as e:
        log.error("site build failed: %s", e)
    except Exception as e:
        log.exception("site build failed with an internal error: %s: %s", type(e).__name__, e)


def _sleep(seconds: float, stop: threading.Event) -> None:
    """Wait in short slices, so a signal handler's stop request is seen promptly."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 0.5))
