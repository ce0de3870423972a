"""What a re-check did: per feed counts and the typed events, for people
(plain lines) and machines (JSON, `.newsmirror/reports/last-recheck.json`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..archive.history import EventKind, iso_time
from .report import write_report


@dataclass(frozen=True)
class RecheckEvent:
    """One finding about one post: what, when, and the evidence."""

    kind: EventKind
    time: float
    post: str
    link: str
    feed: str
    site: str
    evidence: str

    def line(self) -> str:
        return f"{self.kind:>9} {self.site}: {self.post} ({self.evidence})"


@dataclass
class FeedRecheck:
    """Counts for one feed's posts in one re-check."""

    site: str
    feed: str
    checked: int = 0
    not_modified: int = 0
    failed: int = 0
    suspected: int = 0
    deleted: int = 0
    cleared: int = 0
    edited: int = 0
    back: int = 0
    dropped: int = 0


# What a report counts per feed: FeedRecheck's counters, in their order.
COUNTED = tuple(f.name for f in fields(FeedRecheck) if f.type == "int")


@dataclass
class RecheckReport:
    archive: str
    started: float
    finished: float = 0.0
    due: int = 0  # posts due for a check
    left: int = 0  # due but over the run's bounds: checked next time
    feeds: dict[str, FeedRecheck] = field(default_factory=dict)
    events: list[RecheckEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def feed(self, feed: str, site: str) -> FeedRecheck:
        found = self.feeds.get(feed)
        if found is None:
            found = self.feeds[feed] = FeedRecheck(site=site, feed=feed)
        return found

    def note(self, event: RecheckEvent) -> None:
        self.events.append(event)
        counts = self.feed(event.feed, event.site)
        setattr(counts, event.kind, getattr(counts, event.kind) + 1)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.feeds.values())

    def to_dict(self) -> dict:
        return {
            "archive": self.archive,
            "started": iso_time(self.started),
            "finished": iso_time(self.finished),
            "summary": {
                "due": self.due,
                "left": self.left,
                **{name: self.total(name) for name in COUNTED},
                "seconds": round(self.finished - self.started, 3),
            },
            "feeds": [asdict(f) for f in sorted(self.feeds.values(), key=lambda f: f.site)],
            "events": [{**asdict(e), "time": iso_time(e.time)} for e in self.events],
            "errors": self.errors,
        }

    def summary_line(self) -> str:
        s = self.to_dict()["summary"]
        return (
            f"recheck: {s['checked']} originals checked ({s['not_modified']} not modified,"
            f" {s['failed']} failed); {s['deleted']} deleted, {s['suspected']} suspected,"
            f" {s['edited']} edited, {s['back']} back, {s['dropped']} dropped from feeds;"
            f" {s['left']} left for the next run; in {s['seconds']:.1f}s"
        )

    def write_json(self, folder: Path) -> Path:
        """Write `recheck-<UTC time>.json` and `last-recheck.json` into `folder`."""
        return write_report(folder, "recheck", self.started, self.to_dict())
