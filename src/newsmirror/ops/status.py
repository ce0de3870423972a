"""Feed health: one row per feed, broken feeds first; and reviving dead feeds."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..archive.history import iso_time
from ..archive.originals import Original, Originals
from ..archive.store import FeedState, Store
from ..archive.subscriptions import load_subscriptions
from ..models import ConfigError
from ..util.text import plural

DAY = 86400.0
STATE_DB = Path(".newsmirror") / "state.db"


@dataclass
class FeedHealth:
    site: str
    url: str
    # "dead", "failing", "rejecting" (answers, but every item of its last
    # document was rejected), "ok", "new" (never tried) or "disabled"
    state: str
    last_success: float | None
    last_error: str | None
    failures: int
    posts_7d: int  # posts written in the last 7 days (by fetch time, not by item date)
    posts_30d: int
    next_check: float | None
    # What re-checking the originals found (`newsmirror recheck`): posts whose
    # original is deleted now, was edited, came back, or left the feed.
    deleted: int = 0
    edited: int = 0
    back: int = 0
    dropped: int = 0
    originals: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    @property
    def broken(self) -> bool:
        return self.state in ("dead", "failing", "rejecting")


_ORDER = {"dead": 0, "failing": 1, "rejecting": 2, "new": 3, "ok": 4, "disabled": 5}


def feed_health(archive: Path, *, now: float | None = None) -> list[FeedHealth]:
    """Every feed of the archive (subscriptions and the state database), broken first."""
    now = time.time() if now is None else now
    subs = {s.url: s for s in _subscriptions(archive)}
    rows: list[FeedHealth] = []
    db = archive / STATE_DB
    states: dict[str, FeedState] = {}
    store = Store.open(archive) if db.is_file() else None
    watched: dict[str, list[Original]] = {}
    try:
        if store is not None:
            states = {s.url: s for s in store.feeds()}
            for row in Originals(store).all():
                watched.setdefault(row.feed, []).append(row)
        for url in [*subs, *(u for u in states if u not in subs)]:
            sub = subs.get(url)
            st = states.get(url) or FeedState(url=url, site=sub.site if sub else url)
            rows.append(
                FeedHealth(
                    site=sub.site if sub else st.site,
                    url=url,
                    state=_state_of(st, enabled=sub.options.enabled if sub else True),
                    last_success=st.last_success,
                    last_error=_problem(st),
                    failures=st.failures,
                    posts_7d=store.post_counts(url, now - 7 * DAY) if store else 0,
                    posts_30d=store.post_counts(url, now - 30 * DAY) if store else 0,
                    next_check=None if st.dead else st.next_check,
                    **originals_found(watched.get(url, [])),
                )
            )
    finally:
        if store is not None:
            store.close()
    rows.sort(key=lambda r: (_ORDER[r.state], -r.failures, r.site.casefold(), r.url))
    return rows


def originals_found(rows: list[Original]) -> dict[str, object]:
    """The FeedHealth fields for a feed's watched originals: counts and lists."""

    def listed(kind: str, chosen: list[tuple[Original, float | None]]) -> list[dict[str, object]]:
        return [
            {"post": r.post, "link": r.link, "time": iso_time(when) if when else None,
             **({"edits": r.edits} if kind == "edited" else {})}
            for r, when in sorted(chosen, key=lambda c: -(c[1] or 0))
        ]  # fmt: skip

    found = {
        "deleted": [(r, r.deleted_at) for r in rows if r.state == "deleted"],
        "edited": [(r, r.last_edit) for r in rows if r.edits],
        "back": [(r, r.last_back) for r in rows if r.returns],
        "dropped": [(r, r.dropped_at) for r in rows if r.dropped_at],
    }
    lists = {kind: listed(kind, chosen) for kind, chosen in found.items()}
    return {**{kind: len(items) for kind, items in lists.items()}, "originals": lists}


def _subscriptions(archive: Path) -> list:
    try:
        return load_subscriptions(archive)
    except ConfigError:
        if (archive / STATE_DB).is_file():
            return []  # the state alone still tells the health
        raise


def _state_of(st: FeedState, *, enabled: bool) -> str:
    if not enabled:
        return "disabled"
    if st.dead:
        return "dead"
    if st.failures:
        return "failing"
    if _all_rejected(st):
        return "rejecting"
    return "ok" if st.last_success else "new"


def _all_rejected(st: FeedState) -> bool:
    return bool(st.last_items and st.last_rejected >= st.last_items)


def _problem(st: FeedState) -> str | None:
    if st.last_error or not _all_rejected(st):
        return st.last_error
    if st.last_rejected == 1:
        return f"its only item was rejected: {st.last_rejection}"
    return f"all {st.last_rejected} items were rejected, the first: {st.last_rejection}"


def enable_feed(archive: Path, name_or_url: str) -> list[str]:
    """Revive the feeds whose site name or URL is `name_or_url`: clears dead,
    the failure streak and the next check, so the next run tries them.
    Returns their URLs; raises ConfigError when nothing matches."""
    wanted = name_or_url.strip()
    subs = {s.url: s.site for s in _subscriptions(archive)}
    with Store.open(archive) as store:
        known = {s.url: s for s in store.feeds()}
        names: dict[str, set[str]] = {u: {site} for u, site in subs.items()}
        for url, st in known.items():
            names.setdefault(url, set()).add(st.site)
        urls = [u for u, sites in names.items() if wanted == u or wanted in sites]
        if not urls:
            raise ConfigError(archive, f"no feed named or at {wanted!r}")
        for url in urls:
            st = known.get(url) or FeedState(url=url, site=subs.get(url, url))
            st.dead, st.failures, st.next_check = False, 0, None
            store.save_feed(st)
    return urls


def health_json(rows: list[FeedHealth]) -> list[dict[str, object]]:
    return [{**asdict(r), "broken": r.broken} for r in rows]


def _when(ts: float | None, now: float) -> str:
    if ts is None:
        return "-"
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
    if ts <= now:
        return stamp
    return f"{stamp} (in {_span(ts - now)})"


def _span(seconds: float) -> str:
    for unit, size in (("d", DAY), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


COLUMNS = (
    "state", "site", "last success", "failures", "new 7d", "new 30d", "next check",
    "deleted", "edited", "back", "last error",
)  # fmt: skip


def table_rows(rows: list[FeedHealth], now: float) -> list[tuple[str, ...]]:
    return [
        (
            r.state,
            r.site,
            _when(r.last_success, now),
            str(r.failures),
            str(r.posts_7d),
            str(r.posts_30d),
            _when(r.next_check, now),
            str(r.deleted),
            str(r.edited),
            str(r.back),
            r.last_error or "",
        )
        for r in rows
    ]


def print_plain(rows: list[FeedHealth], out: TextIO, *, now: float | None = None) -> None:
    """Tab-separated, one feed per line: for pipes, grep and cron mail."""
    now = time.time() if now is None else now
    out.write("\t".join(COLUMNS) + "\turl\n")
    for r, cells in zip(rows, table_rows(rows, now), strict=True):
        out.write("\t".join(c.replace("\t", " ") for c in cells) + f"\t{r.url}\n")


def print_rich(rows: list[FeedHealth], *, now: float | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    now = time.time() if now is None else now
    table = Table(
        title=f"{plural(len(rows), 'feed')}, {sum(r.broken for r in rows)} broken",
        caption="new 7d, new 30d: posts written in the last 7 and 30 days; deleted, edited,"
        " back: posts whose original `recheck` found deleted now, edited, come back",
    )
    for col in COLUMNS:
        numeric = col in ("failures", "new 7d", "new 30d", "deleted", "edited", "back")
        table.add_column(col, overflow="fold", justify="right" if numeric else "left")
    colour = {"dead": "red", "failing": "yellow", "rejecting": "yellow", "disabled": "dim"}
    for r, cells in zip(rows, table_rows(rows, now), strict=True):
        table.add_row(*cells, style=colour.get(r.state))
    Console().print(table)
