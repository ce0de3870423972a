"""The typed data that flows between the pipeline's stages.

subscriptions -> fetch -> parse -> extract -> sanitize -> store/dedupe -> posts -> site

Each stage takes and returns these plain dataclasses, so a stage can be tested
on its own and swapped without touching the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ContentMode = Literal["clean", "raw"]
FulltextMode = Literal["auto", "always", "never"]


class NewsmirrorError(Exception):
    """Base of the errors newsmirror reports as one line, never as a traceback."""


class ConfigError(NewsmirrorError):
    """A config or subscription file is unusable. The message names the file."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class FeedError(NewsmirrorError):
    """A feed document could not be used at all (not a feed, undecodable...)."""


def setting(
    default: Any,
    help: str,
    *,
    kind: type | None = None,
    choices: tuple[Any, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    per_feed_only: bool = False,
) -> Any:
    """A settings dataclass field that documents itself: its default, one line
    of help and the values it takes. `archive.config` reads these to validate
    newsmirror.toml, write its commented template and docs/configuration.md,
    so that adding a setting is adding one such field."""
    meta = {
        "help": help,
        "kind": kind or type(default),
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
        "per_feed_only": per_feed_only,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FeedOptions:
    """Per-feed options; every field has the project-wide default."""

    content: ContentMode = setting(
        "clean",
        "clean: full text, sanitised; raw: the feed's content as given",
        choices=("clean", "raw"),
    )
    fulltext: FulltextMode = setting(
        "auto",
        "fetch the article page: auto (when the feed gives a summary), always, never",
        choices=("auto", "always", "never"),
    )
    mirror_images: bool = setting(
        True,
        "copy posts' images into assets/ (scaled, re-encoded, stored once; served by the mirror)",
    )
    enabled: bool = setting(
        True, "false: keep the feed listed but never fetch it", per_feed_only=True
    )


@dataclass(frozen=True)
class Subscription:
    """One feed the archive follows: the `{"site": ..., "url": ...}` of subs.json.

    `category` is the OPML folder (or subs.json's optional "category") the feed
    is filed under: for grouping feeds and for OPML round trips. The posts'
    `categories:` stay the site name (FORMAT.md)."""

    site: str
    url: str
    options: FeedOptions = field(default_factory=FeedOptions)
    category: str | None = None


@dataclass
class FetchResult:
    """What one HTTP fetch gave. `error` is set (one line) when it failed."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # new URL when a 301/308 moved the feed
    error: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After, when given
    elapsed: float = 0.0
    queued: float = 0.0  # seconds of `elapsed` spent waiting for a connection slot
    refused: bool = False  # the fetch policy refused the address (`error` names it)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.error is None and self.status == 304


@dataclass(frozen=True)
class Enclosure:
    """An audio or video file an item carries (RSS enclosure, Atom
    link rel="enclosure", media:content)."""

    url: str
    kind: Literal["audio", "video"]
    mime: str | None = None  # the feed's type, when it gave one


@dataclass
class Entry:
    """One feed item, normalised from whatever format the feed used.

    `content` follows FORMAT.md's order: content:encoded, media:group's
    media:description (YouTube), content, description/summary.
    """

    title: str | None = None
    link: str | None = None
    guid: str | None = None
    author: str | None = None  # the item's author, else dc:creator
    published: datetime | None = None  # timezone-aware UTC; None when missing/unparseable
    content: str | None = None
    content_is_html: bool = True
    summary: str | None = None  # description/summary, when the feed also had a body
    thumbnail: str | None = None  # media:thumbnail, for video posts
    base_url: str | None = None  # xml:base or the feed URL, to resolve relative links
    tags: list[str] = field(default_factory=list)
    enclosures: list[Enclosure] = field(default_factory=list)  # audio and video only


@dataclass
class ParsedFeed:
    """A parsed feed document. Per-item failures are in `item_errors`, not raised."""

    title: str | None = None
    link: str | None = None
    entries: list[Entry] = field(default_factory=list)
    item_errors: list[str] = field(default_factory=list)
    ttl_minutes: int | None = None  # <ttl> or sy:updatePeriod/sy:updateFrequency
    warnings: list[str] = field(default_factory=list)  # e.g. "not well-formed XML, recovered"


@dataclass(frozen=True)
class Post:
    """A rendered Jekyll post: its file name inside _posts/ and its full text."""

    filename: str
    text: str
    key: str  # the dedupe key (canonical link or guid)
