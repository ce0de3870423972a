"""The build cache in `.newsmirror/site-cache/cache.sqlite`: parsed posts and page signatures.

A rebuild stats `_posts/` and re-reads only files whose (mtime_ns, size)
changed; a page is re-rendered only when its signature (the versions of the
posts it shows and its navigation) changed. SQLite, so a build writes only the
rows that changed (a whole-cache pickle of 100,000 posts cost ~0.6 s to save
and ~0.6 s to load): a post page's signature lives in its post's row, and only
listing pages (~1 per 8 posts) are loaded as a dict. No pickle: a tampered
cache cannot run code, and an unreadable one just means a full build.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from .reader import ParsedPost

CACHE_FORMAT = 8
LIST_SEP = "\x1f"  # before each tag/category in one column: a control char, never in a tag


class PostRow(NamedTuple):
    """A post as the cache keeps it: a flat row, in memory as in the table (so loading
    100,000 posts is one C-level tuple per row)."""

    name: str  # file name inside _posts/
    id: int  # never reused: search postings and doc chunks refer to it
    mtime_ns: int
    size: int
    url: str  # site-relative path of its page
    qurl: str  # url percent-encoded (quoting 100,000 URLs takes a second)
    sig: int | None  # its page's signature at the last build
    # The SitePost fields (see reader.ParsedPost), tags and cats joined (see _join):
    title: str
    ts: float
    author: str
    link: str
    source: str
    tags: str
    cats: str
    lang: str
    thumb: str
    excerpt: str
    image: str


_POST_COLUMNS = ", ".join(PostRow._fields)
_as_row = functools.partial(tuple.__new__, PostRow)  # a sqlite row -> PostRow, in C
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts ({_POST_COLUMNS.replace("name", "name TEXT PRIMARY KEY", 1)});
CREATE TABLE IF NOT EXISTS pages (rel TEXT PRIMARY KEY, sig INTEGER);
"""


class SiteCache:
    """The cache of one archive; `saving` writes only what changed since it was opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp = ""  # hash of templates, static files, config and builder code
        self.next_id = 0
        self.source_dirs: dict[str, str] = {}  # source -> its pages' folder
        self.search: dict[str, object] = {}  # search index state (see build._search)
        self.posts: dict[str, PostRow] = {}  # name -> row
        self.pages: dict[str, int | None] = {}  # listing and other non-post pages -> sig
        self._meta: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None

    @staticmethod
    def path_for(archive: Path) -> Path:
        return archive / ".newsmirror" / "site-cache" / "cache.sqlite"

    @classmethod
    def load(cls, archive: Path) -> SiteCache:
        """The saved cache, or an empty one if missing, stale or unreadable."""
        cache = cls(cls.path_for(archive))
        try:
            cache._open()
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError):
            cache.close()
            cache.path.unlink(missing_ok=True)
            cache._open(fresh=True)
        return cache

    def _open(self, fresh: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        (self.path.parent / "cache.pickle").unlink(missing_ok=True)  # the old format's file
        db = self._db = sqlite3.connect(self.path, isolation_level=None)
        # The cache is rebuilt from _posts/ at will: no fsync per build.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        self._meta = dict(db.execute("SELECT k, v FROM meta"))
        if fresh or self._meta.get("format") != str(CACHE_FORMAT):
            db.executescript("DELETE FROM meta; DELETE FROM posts; DELETE FROM pages;")
            self._meta = {}
            return
        self.stamp = self._meta["stamp"]
        self.next_id = int(self._meta["next_id"])
        self.source_dirs = json.loads(self._meta["source_dirs"])
        self.search = json.loads(self._meta["search"])
        self.pages = dict(db.execute("SELECT rel, sig FROM pages"))
        rows = map(_as_row, db.execute(f"SELECT {_POST_COLUMNS} FROM posts"))
        self.posts = {row.name: row for row in rows}

    def urls_under(self, folder: str) -> set[str]:
        """Casefolded saved URLs in `folder` (e.g. "posts/2025/01/"), to keep new ones unique."""
        assert self._db is not None
        rows = self._db.execute(
            "SELECT url FROM posts WHERE substr(url, 1, ?) = ?", (len(folder), folder)
        )
        return {url.casefold() for (url,) in rows}

    @contextlib.contextmanager
    def saving(self, *, replace_all: bool, changed_posts: Iterable[PostRow],
               removed_posts: Iterable[str], pages: dict[str, int | None]) -> Iterator[None]:  # fmt: skip
        """Save this build: the changed/new and removed posts, and the non-post pages.

        The rows are written on entry and committed when the block ends
        without an exception (else rolled back), so the block's work, the
        post pages still being rendered, overlaps the writing. `replace_all`
        drops every saved post first (a full build writes all rows).
        """
        db = self._db
        assert db is not None
        meta = {
            "format": str(CACHE_FORMAT),
            "stamp": self.stamp,
            "next_id": str(self.next_id),
            "source_dirs": json.dumps(self.source_dirs, ensure_ascii=False, sort_keys=True),
            "search": json.dumps(self.search, ensure_ascii=False),
        }
        db.execute("BEGIN")
        try:
            if replace_all:
                db.execute("DELETE FROM posts")
            else:
                db.executemany("DELETE FROM posts WHERE name = ?", ((n,) for n in removed_posts))
            db.executemany(
                f"INSERT OR REPLACE INTO posts ({_POST_COLUMNS}) VALUES ({','.join('?' * len(PostRow._fields))})",
                changed_posts,
            )
            old = self.pages
            db.executemany("DELETE FROM pages WHERE rel = ?", ((k,) for k in old if k not in pages))
            db.executemany(
                "INSERT OR REPLACE INTO pages (rel, sig) VALUES (?, ?)",
                ((k, v) for k, v in pages.items() if k not in old or old[k] != v),
            )
            db.executemany(
                "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                ((k, v) for k, v in meta.items() if self._meta.get(k) != v),
            )
            yield
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # a failed COMMIT may have rolled back already
                db.execute("ROLLBACK")
            raise
        self._meta, self.pages = meta, dict(pages)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def make_row(name: str, pid: int, mtime_ns: int, size: int, url: str, qurl: str,
             sig: int | None, post: ParsedPost) -> PostRow:  # fmt: skip
    """A post's row, from its parsed fields (`name`: its path inside _posts/)."""
    return PostRow(name, pid, mtime_ns, size, url, qurl, sig, post.title, post.ts,
                   post.author, post.link, post.source, _join(post.tags), _join(post.categories),
                   post.lang, post.thumbnail, post.excerpt, post.image)  # fmt: skip


def with_sig(row: PostRow, sig: int | None) -> tuple:
    """`row` with its page signature replaced (slicing: `_replace` is slower)."""
    return row[:_SIG] + (sig,) + row[_SIG + 1 :]


_SIG = PostRow._fields.index("sig")


def _join(items: tuple[str, ...]) -> str:
    return "".join(LIST_SEP + item for item in items)


def split_list(joined: str) -> tuple[str, ...]:
    return tuple(joined.split(LIST_SEP)[1:]) if joined else ()
