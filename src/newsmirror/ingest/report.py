"""What a run did, for people (a rich table or plain lines) and machines (JSON)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ..archive.fsutil import atomic_write
from ..util.text import plural

FeedStatus = Literal["fetched", "not_modified", "failed", "skipped"]


@dataclass
class ImageTally:
    """A feed's (or a post's) images in a run: stored, reused, and left on their hosts."""

    stored: int = 0  # new files in assets/
    reused: int = 0  # already in assets/ (same bytes), or fetched earlier in this run
    bytes_fetched: int = 0  # as served, of the stored ones
    bytes_stored: int = 0  # as written
    formats: dict[str, int] = field(default_factory=dict)  # how they were stored: webp, jpeg...
    skipped: list[str] = field(default_factory=list)  # "<url>: <why>", left on their hosts
    skipped_by_reason: dict[str, int] = field(default_factory=dict)  # "too large": 3

    def skip(self, url: str, why: str, reason: str) -> None:
        self.skipped.append(f"{url}: {why}")
        self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + 1

    def add(self, other: ImageTally) -> None:
        self.stored += other.stored
        self.reused += other.reused
        self.bytes_fetched += other.bytes_fetched
        self.bytes_stored += other.bytes_stored
        for how, n in other.formats.items():
            self.formats[how] = self.formats.get(how, 0) + n
        self.skipped.extend(other.skipped)
        for reason, n in other.skipped_by_reason.items():
            self.skipped_by_reason[reason] = self.skipped_by_reason.get(reason, 0) + n


@dataclass
class FeedOutcome:
    site: str
    url: str
    status: FeedStatus
    reason: str | None = None  # why it failed or was skipped
    new_posts: int = 0
    items: int = 0
    item_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # One line per address the fetch policy refused: the item and the address.
    refused: list[str] = field(default_factory=list)
    moved_to: str | None = None
    seconds: float = 0.0
    cache_seconds: float | None = None  # the server's Cache-Control max-age / Expires hint
    retry_after: float | None = None  # seconds the server asked us to wait (429/503)
    images: ImageTally = field(default_factory=ImageTally)
    dropped: int = 0  # earlier posts no longer in the feed, which lists older items


@dataclass
class RunReport:
    archive: str
    started: float
    finished: float = 0.0
    feeds: list[FeedOutcome] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)  # file names written
    imported: tuple[int, int] = (0, 0)  # (allurls.dat links, existing posts) on a first run

    def count(self, status: FeedStatus) -> int:
        return sum(1 for f in self.feeds if f.status == status)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.status == "failed"]

    def new_posts_by_site(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for f in self.feeds:
            if f.new_posts:
                counts[f.site] += f.new_posts
        return counts

    def images(self) -> ImageTally:
        total = ImageTally()
        for f in self.feeds:
            total.add(f.images)
        return total

    def to_dict(self) -> dict:
        data = asdict(self)
        images = self.images()
        data["summary"] = {
            "feeds": len(self.feeds),
            "fetched": self.count("fetched"),
            "not_modified": self.count("not_modified"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "new_posts": len(self.posts),
            "seconds": round(self.finished - self.started, 3),
            "images": {
                "stored": images.stored,
                "reused": images.reused,
                "bytes_fetched": images.bytes_fetched,
                "bytes_stored": images.bytes_stored,
                "formats": images.formats,
                "skipped": len(images.skipped),
                "skipped_by_reason": images.skipped_by_reason,
            },
        }
        return data

    def summary_line(self) -> str:
        s = self.to_dict()["summary"]
        line = (
            f"{plural(s['feeds'], 'feed')}: {s['fetched']} fetched, {s['not_modified']} not"
            f" modified, {s['failed']} failed, {s['skipped']} skipped;"
            f" {plural(s['new_posts'], 'new post')}"
        )
        images = s["images"]
        if images["stored"] or images["skipped"]:
            line += (
                f"; images: {images['stored']} stored ({images['bytes_stored'] / 1e6:.1f} MB),"
                f" {images['skipped']} left on their hosts"
            )
        return line + f" in {s['seconds']:.1f}s"

    def write_json(self, folder: Path) -> Path:
        """Write `run-<UTC time>.json` and `last-run.json` into `folder`."""
        return write_report(folder, "run", self.started, self.to_dict())


def write_report(folder: Path, kind: str, started: float, data: dict) -> Path:
    """Write `<kind>-<UTC time>.json` and `last-<kind>.json` into `folder`."""
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    path = folder / f"{kind}-{stamp}.json"
    atomic_write(path, text)
    atomic_write(folder / f"last-{kind}.json", text)
    return path


def outcome_line(outcome: FeedOutcome) -> str:
    """One plain log line per feed."""
    if outcome.status == "failed":
        return f"FAIL {outcome.site} <{outcome.url}>: {outcome.reason}"
    if outcome.status == "skipped":
        return f"skip {outcome.site} <{outcome.url}>: {outcome.reason}"
    if outcome.status == "not_modified":
        return f"  ok {outcome.site}: not modified"
    extra = f", {plural(len(outcome.item_errors), 'bad item')}" if outcome.item_errors else ""
    if outcome.images.skipped:
        extra += f", {plural(len(outcome.images.skipped), 'image')} left on their hosts"
    return f"  ok {outcome.site}: {outcome.new_posts} new of {outcome.items}{extra}"


def print_summary(report: RunReport, console: object | None = None) -> None:
    """The rich summary table: feed counts, failures with reasons, new posts per site."""
    from rich.console import Console
    from rich.table import Table

    con = console if console is not None else Console(stderr=True)
    totals = Table(title="newsmirror run", show_header=True)
    for col in ("feeds", "fetched", "not modified", "failed", "skipped", "new posts", "seconds"):
        totals.add_column(col, justify="right")
    s = report.to_dict()["summary"]
    totals.add_row(
        *(
            str(s[k])
            for k in ("feeds", "fetched", "not_modified", "failed", "skipped", "new_posts")
        ),
        f"{s['seconds']:.1f}",
    )
    con.print(totals)  # type: ignore[attr-defined]
    by_site = report.new_posts_by_site()
    if by_site:
        table = Table(title="new posts per site", min_width=30)
        table.add_column("site")
        table.add_column("posts", justify="right")
        for site, n in by_site.most_common():
            table.add_row(site, str(n))
        con.print(table)  # type: ignore[attr-defined]
    if report.failed:
        table = Table(title="failed feeds")
        table.add_column("site")
        table.add_column("url", overflow="fold")
        table.add_column("reason", overflow="fold")
        for f in report.failed:
            table.add_row(f.site, f.url, f.reason or "")
        con.print(table)  # type: ignore[attr-defined]
    _print_images(con, report)
    refused = [(f.site, r) for f in report.feeds for r in f.refused]
    _print_lines(con, f"refused addresses ({len(refused)}; allow_private_networks allows)",
                 "item and address", refused)  # fmt: skip
    problems = [(f.site, e) for f in report.feeds for e in f.item_errors]
    _print_lines(con, f"skipped items ({len(problems)})", "why", problems)


def _print_lines(con: object, title: str, column: str, rows: list[tuple[str, str]]) -> None:
    """A table of (site, line) rows, the first MAX_LISTED of them."""
    from rich.table import Table

    if not rows:
        return
    table = Table(title=title)
    table.add_column("site")
    table.add_column(column, overflow="fold")
    for site, line in rows[:MAX_LISTED]:
        table.add_row(site, line)
    con.print(table)  # type: ignore[attr-defined]
    if len(rows) > MAX_LISTED:
        con.print(f"... and {len(rows) - MAX_LISTED} more in the JSON report")  # type: ignore[attr-defined]


def _print_images(con: object, report: RunReport) -> None:
    """Images left on their hosts, counted by reason (the JSON report lists each)."""
    from rich.table import Table

    images = report.images()
    if not images.skipped:
        return
    table = Table(title=f"images left on their hosts ({len(images.skipped)})")
    table.add_column("why")
    table.add_column("images", justify="right")
    for reason, n in sorted(images.skipped_by_reason.items(), key=lambda kv: -kv[1]):
        table.add_row(reason, str(n))
    con.print(table)  # type: ignore[attr-defined]


MAX_LISTED = 20
