"""The originals being watched: one row per post in `.newsmirror/state.db`
(table `originals`), with its re-check schedule, conditional-GET validators
and what the last checks found.

This is working state, like the rest of state.db: the record that outlives it
is in the post files (`deleted:`, `edited:`) and the history files
(`history.py`). Rows come from the `items` table (posts the runs wrote) and,
once per state database, from the recent posts in `_posts/` (posts an old
generator wrote, or all of them when state.db was lost).
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .dedupe import primary_key
from .store import Store, front_matter_values, unquote

OriginalState = Literal["alive", "suspect", "deleted"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    key TEXT PRIMARY KEY,        -- the post's dedupe key (canonical link)
    link TEXT NOT NULL,
    post TEXT NOT NULL,          -- file name in _posts/ (or archived/<date>/)
    feed TEXT NOT NULL,
    site TEXT NOT NULL,
    captured REAL NOT NULL,      -- when the post was written
    published REAL,
    next_check REAL,             -- NULL: the schedule is over
    last_check REAL,
    etag TEXT,
    last_modified TEXT,
    last_kind TEXT,              -- what the last 200 answer was: 'article' or 'notice'
    body_sha TEXT,
    fingerprint TEXT,            -- of the last version's text
    last_alive REAL,
    state TEXT NOT NULL DEFAULT 'alive',
    suspect_since REAL,
    evidence TEXT,
    deleted_at REAL,
    dropped_at REAL,
    edits INTEGER NOT NULL DEFAULT 0,
    returns INTEGER NOT NULL DEFAULT 0,
    last_edit REAL,
    last_back REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    text BLOB,                   -- the last version's text, zlib-compressed, while watched
    text_seen REAL               -- when that version was first seen
);
CREATE INDEX IF NOT EXISTS originals_next ON originals (next_check);
CREATE INDEX IF NOT EXISTS originals_feed ON originals (feed, published);
"""
_SYNCED = "originals_synced_item"  # meta: the last `items` row taken in
_IMPORTED = "originals_imported_posts"  # meta: set once `_posts/` was looked through


@dataclass
class Original:
    key: str
    link: str
    post: str
    feed: str
    site: str
    captured: float
    published: float | None = None
    next_check: float | None = None
    last_check: float | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_kind: str | None = None
    body_sha: str | None = None
    fingerprint: str | None = None
    last_alive: float | None = None
    state: OriginalState = "alive"
    suspect_since: float | None = None
    evidence: str | None = None
    deleted_at: float | None = None
    dropped_at: float | None = None
    edits: int = 0
    returns: int = 0
    last_edit: float | None = None
    last_back: float | None = None
    failures: int = 0
    last_error: str | None = None
    # The last version's text (zlib): the "before" of the next edit. Kept only
    # while the post is watched, so state.db holds the texts of one schedule's
    # worth of posts; history files get it once there is an edit.
    text: bytes | None = None
    text_seen: float | None = None

    def last_text(self) -> str | None:
        return zlib.decompress(self.text).decode("utf-8") if self.text else None

    def keep_text(self, text: str | None, seen: float) -> None:
        self.text = zlib.compress(text.encode("utf-8"), 6) if text else None
        self.text_seen = seen


_COLUMNS = [f.name for f in dataclasses.fields(Original)]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM originals"


# A post starts being watched (a row already there is kept as it is).
_WATCH = (
    "INSERT OR IGNORE INTO originals (key, link, post, feed, site, captured, published,"
    " next_check) VALUES (?,?,?,?,?,?,?,?)"
)


def next_check(captured: float, schedule: Sequence[float], now: float) -> float | None:
    """The first scheduled time after `now` (None when the schedule is over).
    Missed steps are skipped, not caught up on."""
    for step in schedule:
        if captured + step > now:
            return captured + step
    return None


def first_check(captured: float, schedule: Sequence[float], now: float) -> float | None:
    """The first step; a post whose whole schedule is already over gets none."""
    if not schedule or captured + max(schedule) < now:
        return None
    return captured + min(schedule)


class Originals:
    """The `originals` table of an open `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        self.db.executescript(_SCHEMA)

    def sync(self, schedule: Sequence[float], now: float) -> int:
        """Take in posts written since the last call; returns how many. Posts
        whose whole schedule has passed are taken in as finished."""
        last = int(self.store.get_meta(_SYNCED) or 0)
        rows = self.db.execute(
            "SELECT i.id, i.feed, i.post, i.link, i.published, i.written, coalesce(f.site, '')"
            " FROM items i LEFT JOIN feeds f ON f.url = i.feed WHERE i.id > ? ORDER BY i.id",
            (last,),
        ).fetchall()
        if not rows:
            return 0
        with self.store.transaction():
            self.db.executemany(
                _WATCH,
                [
                    (primary_key(link), link, post, feed, site, written, published,
                     first_check(written, schedule, now))
                    for _, feed, post, link, published, written, site in rows
                ],
            )  # fmt: skip
            self.store.set_meta(_SYNCED, str(rows[-1][0]))
        return len(rows)

    def import_posts(self, archive: Path, schedule: Sequence[float], now: float) -> int:
        """Once per state database: watch the posts in `_posts/` still within the
        schedule that no run recorded (their feed is found by site name)."""
        if self.store.get_meta(_IMPORTED) or not schedule:
            return 0
        cutoff = now - max(schedule)
        first_day = datetime.fromtimestamp(cutoff - 86400, UTC).strftime("%Y-%m-%d")
        feeds: dict[str, list[str]] = {}
        for url, site in self.db.execute("SELECT url, site FROM feeds"):
            feeds.setdefault(site, []).append(url)
        rows = []
        folder = archive / "_posts"
        names = sorted(n for n in _list(folder) if n.endswith(".md") and n[:10] >= first_day)
        for name in names:
            front = _front_matter(folder / name)
            link, site = front.get("from", ""), front.get("tags", "")
            captured = min(_timestamp(front.get("date", "")) or now, now)
            if not link or captured < cutoff:
                continue
            urls = feeds.get(site, [])
            feed = urls[0] if len(urls) == 1 else ""
            rows.append((primary_key(link), link, name, feed, site, captured, None,
                         first_check(captured, schedule, now)))  # fmt: skip
        with self.store.transaction():
            self.db.executemany(
                _WATCH,
                rows,
            )
            self.store.set_meta(_IMPORTED, str(now))
        return len(rows)

    def due(self, now: float, confirm_after: float, *, everything: bool = False) -> list[Original]:
        """Rows to check now: suspected deletions whose confirmation time has
        come first, then the rest by how long they have been due. With
        `everything`, every row still on its schedule (and every suspect)."""
        if everything:
            where, args = "next_check IS NOT NULL OR state != 'alive'", ()
        else:
            where = "next_check <= ? OR (state = 'suspect' AND suspect_since <= ?)"
            args = (now, now - confirm_after)
        order = "ORDER BY state = 'suspect' DESC, coalesce(next_check, 0), key"
        return self._rows(f"{_SELECT} WHERE {where} {order}", args)

    def get(self, key: str) -> Original | None:
        found = self._rows(f"{_SELECT} WHERE key = ?", (key,))
        return found[0] if found else None

    def of_feed(self, feed: str, published_after: float) -> list[Original]:
        """The feed's rows published after a time, not yet dropped or deleted."""
        return self._rows(
            f"{_SELECT} WHERE feed = ? AND published > ? AND dropped_at IS NULL"
            " AND state != 'deleted'",
            (feed, published_after),
        )

    def all(self) -> list[Original]:
        return self._rows(f"{_SELECT} ORDER BY feed, captured", ())

    def save(self, rows: Iterable[Original]) -> None:
        """Write rows back, in one transaction."""
        sets = ", ".join(f"{c} = ?" for c in _COLUMNS[1:])
        with self.store.transaction():
            self.db.executemany(
                f"UPDATE originals SET {sets} WHERE key = ?",
                [[getattr(r, c) for c in _COLUMNS[1:]] + [r.key] for r in rows],
            )

    def insert(self, rows: Iterable[Original]) -> None:
        """Add rows (tests and benchmarks build a watched archive this way)."""
        marks = ",".join("?" * len(_COLUMNS))
        with self.store.transaction():
            self.db.executemany(
                f"INSERT OR REPLACE INTO originals ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [[getattr(r, c) for c in _COLUMNS] for r in rows],
            )

    def _rows(self, sql: str, args: Sequence[object]) -> list[Original]:
        return [Original(*row) for row in self.db.execute(sql, args)]


def _list(folder: Path) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(folder) if entry.is_file()]
    except FileNotFoundError:
        return []


def _front_matter(path: Path) -> dict[str, str]:
    """`date`, `from` and the first of `tags` of a post, read leniently."""
    found = front_matter_values(path, ("date", "from", "tags"))
    tags = found.get("tags", "")
    if tags.startswith("[") and tags.endswith("]"):
        found["tags"] = unquote(tags[1:-1].strip())
    return found


def _timestamp(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
