"""The typed records the site build's stages pass on (build.py: scan -> read -> plan ->
render -> index -> write)."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import PostRow, SiteCache
from .config import SiteConfig
from .reader import SitePost
from .scan import PostChanges

if TYPE_CHECKING:
    from collections.abc import Callable

    from .search import Postings


@dataclass(slots=True)
class Rec:
    """One post as the builder sees it."""

    name: str
    id: int
    mtime_ns: int
    size: int
    url: str  # site-relative path of its page
    post: SitePost
    pv: tuple[int, int, int]  # (id, mtime_ns, size): the post's version, in page signatures
    qurl: str  # url percent-encoded (kept in the cache: quoting 100,000 URLs takes a second)
    sig: int | None  # its page's signature at the last build (None: render it)
    day: str = ""  # YYYY-MM-DD, formatted once (see `day`)


class _DayNames(dict):
    """Date ordinal -> "YYYY-MM-DD", formatted once per day (strftime is slow at 100,000)."""

    def __missing__(self, ordinal: int) -> str:
        self[ordinal] = text = date.fromordinal(ordinal).strftime("%Y-%m-%d")
        return text


_DAYS = _DayNames()
PV = operator.attrgetter("pv")  # in C: page signatures cover up to 100,000 posts


def day(rec: Rec) -> str:
    """The post's day, "YYYY-MM-DD"."""
    if not rec.day:
        rec.day = _DAYS[rec.post.date.toordinal()]
    return rec.day


@dataclass
class Scanned:
    """The scan stage's result: what the last build left and which post files changed."""

    archive: Path
    out: Path
    posts_dir: Path
    config: SiteConfig
    stamp: str  # hash of templates, static files, config and builder code
    cache: SiteCache
    changes: PostChanges
    fresh: bool  # every page is rendered again (new stamp, --full, or another build's output)
    recs: dict[str, Rec]  # name -> Rec of every post the cache knows (empty on --full)


@dataclass
class ReadPosts:
    """The read stage's result: new and changed posts parsed, their rows made."""

    rows: dict[str, PostRow]  # every live post's cache row (re-read ones new)
    terms: dict[str, str]  # re-read post -> its index terms ("" when already in `postings`)
    removed: set[str]  # posts gone (or unreadable now) that the cache had
    postings: Postings | None  # a new main search segment, or None: add to the delta
    worker_postings: list[Callable[[], bytes]]  # the workers' parts of `postings`
    warnings: list[str] = field(default_factory=list)


@dataclass
class Touched:
    """The groups (sources, tags, categories, months) whose posts changed in this build."""

    any: bool
    sources: set[str]
    tags: set[str]
    cats: set[str]
    months: set[tuple[int, int]]
    doc_chunks: set[int]  # search result chunks (post id // search.DOC_CHUNK)


@dataclass
class Groups:
    """Posts by source, tag, category and month (each list newest first), and the
    folders of their pages."""

    by_source: dict[str, list[Rec]]
    by_tag: dict[str, list[Rec]]
    by_cat: dict[str, list[Rec]]
    by_month: dict[tuple[int, int], list[Rec]]
    source_dir: dict[str, str]  # source -> "sources/<slug>/"
    tag_dir: dict[str, str]  # a tag holding exactly a source's posts -> the source's folder
    cat_dir: dict[str, str]
    tags_as_sources: set[str]  # such tags: they get no pages of their own
    cats_as_sources: set[str]


@dataclass
class Plan:
    """The plan stage's result: every post, grouped, and what changed since the last build."""

    recs: list[Rec]  # newest first
    by_id: dict[int, Rec]
    groups: Groups
    touched: Touched
    check_all: bool  # re-sign every page (a fresh site, or source folders moved)
    unsettled: set[str]  # sources that lost posts or whose posts were re-read
    changed_ids: set[int]  # posts re-read in this build
    removed_ids: set[int]
    removed_urls: set[str]  # pages of removed posts that no post took over


@dataclass
class PostPages:
    """The post pages being rendered (in the workers, or already here)."""

    pending: list[AsyncResult]  # the workers' (written, skipped) counts, per batch
    queued: int
    written: int  # pages written here (not in the workers)
    resigned: list[Rec]  # posts whose page signature changed: their rows are saved
