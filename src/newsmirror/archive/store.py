"""The archive's state: one SQLite file, `.newsmirror/state.db`.

It holds what a run needs to know about the past: every key of every item
already in the archive (so nothing is written twice), each feed's
conditional-GET validators, health and schedule, and a log of runs.
All access goes through `Store`, so the schema lives in this module only.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .dedupe import primary_key

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    post TEXT,              -- file name in _posts/ ('' for ledger imports)
    feed TEXT,              -- feed URL ('' for imports)
    first_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    post TEXT NOT NULL,
    link TEXT NOT NULL,
    published REAL,
    written REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS items_feed_written ON items (feed, written);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_attempt REAL,
    last_success REAL,
    last_status INTEGER,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_check REAL,
    dead INTEGER NOT NULL DEFAULT 0,
    ttl_minutes INTEGER,
    moved_to TEXT,
    last_items INTEGER,
    last_rejected INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    report TEXT
);
"""


@dataclass(frozen=True)
class WrittenPost:
    """An item whose post file is in `_posts/` (written now, or found there)."""

    keys: list[str]
    post: str  # file name
    link: str
    published: float | None
    created: bool  # False: the file was already there (after a killed run)


@dataclass
class FeedState:
    url: str
    site: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    failures: int = 0
    next_check: float | None = None
    dead: bool = False
    ttl_minutes: int | None = None
    moved_to: str | None = None
    # What the last fetched document held: its items, how many of them were
    # rejected (no post written) and the first reason. A feed whose every item
    # is rejected answers but gives nothing: `status` shows it as a problem.
    last_items: int | None = None
    last_rejected: int = 0
    last_rejection: str | None = None


# Columns added after the first schema: added to older state files when opened.
_ADDED_COLUMNS = {
    "last_items": "INTEGER",
    "last_rejected": "INTEGER NOT NULL DEFAULT 0",
    "last_rejection": "TEXT",
}

_FEED_COLUMNS = [f for f in FeedState.__dataclass_fields__]


class Store:
    """The state database of one archive. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(feeds)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                self.db.execute(f"ALTER TABLE feeds ADD COLUMN {name} {kind}")
        self.db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    @classmethod
    def open(cls, archive: Path) -> Store:
        return cls(archive / ".newsmirror" / "state.db")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- meta ---------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    # --- seen items -----------------------------------------------------------

    def seen_of(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` already seen: one query per 500 keys (a feed's items at once)."""
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in self.db.execute(
                f"SELECT key FROM seen WHERE key IN ({marks})", chunk))  # fmt: skip
        return found

    def record_posts(
        self, feed: str, posts: Iterable[WrittenPost], *, now: float | None = None
    ) -> None:
        """Mark items' keys seen and log their posts (written `now`); one transaction."""
        now = time.time() if now is None else now
        posts = list(posts)
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)",
                [(k, p.post, feed, now) for p in posts for k in p.keys],
            )
            self.db.executemany(
                "INSERT INTO items (feed, post, link, published, written) VALUES (?,?,?,?,?)",
                [(feed, p.post, p.link, p.published, now) for p in posts],
            )

    def mark_seen(self, keys: Iterable[str], *, post: str = "", feed: str = "") -> int:
        now = time.time()
        before = self.db.total_changes
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)",
                [(k, post, feed, now) for k in keys],
            )
        return self.db.total_changes - before

    def post_counts(self, feed: str, since: float) -> int:
        """Posts of `feed` written since `since` (by when newsmirror wrote them,
        not by their date: a feed that just gained 730 old posts gained 730)."""
        return self.db.execute(
            "SELECT count(*) FROM items WHERE feed = ? AND written >= ?", (feed, since)
        ).fetchone()[0]

    # --- feeds ----------------------------------------------------------------

    def feed(self, url: str) -> FeedState | None:
        cols = ", ".join(_FEED_COLUMNS)
        row = self.db.execute(f"SELECT {cols} FROM feeds WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        state = FeedState(**dict(zip(_FEED_COLUMNS, row, strict=True)))
        state.dead = bool(state.dead)
        return state

    def feeds(self) -> list[FeedState]:
        urls = [r[0] for r in self.db.execute("SELECT url FROM feeds ORDER BY site, url")]
        return [s for s in (self.feed(u) for u in urls) if s is not None]

    def save_feed(self, state: FeedState) -> None:
        values = [getattr(state, c) for c in _FEED_COLUMNS]
        marks = ",".join("?" * len(values))
        self.db.execute(
            f"INSERT OR REPLACE INTO feeds ({', '.join(_FEED_COLUMNS)}) VALUES ({marks})", values
        )

    # --- runs -----------------------------------------------------------------

    def start_run(self) -> int:
        cur = self.db.execute("INSERT INTO runs (started) VALUES (?)", (time.time(),))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, report: dict) -> None:
        self.db.execute(
            "UPDATE runs SET finished = ?, report = ? WHERE id = ?",
            (time.time(), json.dumps(report, ensure_ascii=False), run_id),
        )

    # --- helpers --------------------------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


# --- importing an existing archive ---------------------------------------------

_FRONT_LINE = re.compile(r"^([\w-]+):\s*(.*?)\s*$")


def ledger_keys(ledger: Path) -> Iterator[str]:
    """Keys of the links in the old generator's `allurls.dat` (one per line)."""
    with ledger.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            link = line.strip()
            if link:
                yield primary_key(link)


def post_link(path: Path) -> str | None:
    """The `from:` link of a post file, read from its front matter only."""
    return front_matter_values(path, ("from",)).get("from") or None


def front_matter_values(path: Path, keys: Collection[str]) -> dict[str, str]:
    """The first value of each of `keys` in a post's front matter, unquoted, read
    leniently from its first 40 lines and no further than needed; empty when the
    file cannot be read or has no front matter."""
    found: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            if f.readline().strip() != "---":
                return found
            for _ in range(40):
                line = f.readline()
                if not line or line.strip() == "---":
                    break
                match = _FRONT_LINE.match(line)
                if match and match[1] in keys and match[1] not in found:
                    found[match[1]] = unquote(match[2])
                    if len(found) == len(keys):
                        break
    except OSError:
        pass
    return found


def unquote(value: str) -> str:
    """A front matter value without the quotes the post format puts around it."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def import_existing(store: Store, archive: Path) -> tuple[int, int]:
    """On an archive's first run, take in what the old generator left:
    `allurls.dat` and every post under `_posts/` and `archived/`.
    Returns (ledger links, post files) taken in; a second call does nothing."""
    if store.get_meta("imported"):
        return (0, 0)
    ledger = archive / "allurls.dat"
    links = store.mark_seen(ledger_keys(ledger)) if ledger.is_file() else 0
    posts = 0
    keys: list[tuple[str, str]] = []
    for folder in (archive / "_posts", archive / "archived"):
        if not folder.is_dir():
            continue
        for path in folder.rglob("*.md"):
            link = post_link(path)
            if link:
                keys.append((primary_key(link), path.name))
                posts += 1
    now = time.time()
    with store.transaction():
        store.db.executemany(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, '', ?)", [(k, p, now) for k, p in keys]
        )
        store.set_meta("imported", str(now))
    return (links, posts)
