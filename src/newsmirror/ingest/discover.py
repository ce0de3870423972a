"""Finding the feed behind a URL, for `newsmirror subs add`: the URL itself
when it is a feed; else the feeds its page links (`<link rel="alternate">`);
else the usual places (/feed, /rss.xml, /atom.xml, /index.xml, /feed.xml...).
Each candidate is fetched and parsed once, so what is added is known to work."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from ..archive.config import FetchSettings
from ..models import FeedError
from .feedlinks import COMMON_PATHS, common_feed_urls, linked_feeds
from .fetch import Fetcher
from .parse import parse_feed


@dataclass(frozen=True)
class FoundFeed:
    url: str  # the feed to subscribe to
    title: str | None  # the feed's own title, the default site name
    items: int
    via: Literal["given", "linked", "guessed"]  # the URL itself, a <link> of its page, a usual path


def find_feed(url: str, settings: FetchSettings | None = None) -> FoundFeed:
    """The feed at or behind `url`. Raises FeedError (one line) when there is none."""
    return asyncio.run(_find(url, settings or FetchSettings()))


async def _find(url: str, settings: FetchSettings) -> FoundFeed:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.fetch(url)
        if not result.ok or not result.body:
            raise FeedError(f"{url}: {result.error or f'HTTP {result.status}, empty'}")
        try:
            parsed = parse_feed(
                result.body, url=result.final_url, content_type=result.headers.get("content-type")
            )
            return FoundFeed(url, _title(parsed.title), len(parsed.entries), "given")
        except FeedError as error:
            first_error = error
        linked = linked_feeds(result.body, result.final_url)
        for candidate in linked:
            # A link in the page is content: the fetch policy applies to it.
            found = await _try(fetcher, candidate, "linked", origin=result.final_url)
            if found:
                return found
        for candidate in common_feed_urls(result.final_url):
            found = await _try(fetcher, candidate, "guessed")
            if found:
                return found
    tried = ", ".join("/" + p for p in COMMON_PATHS)
    if linked:
        raise FeedError(
            f"{url}: its page links to {linked[0]}, which is no usable feed; nor is {tried}"
        )
    raise FeedError(f"{first_error}; no feed linked from it, nor at {tried}")


async def _try(
    fetcher: Fetcher, url: str, via: Literal["linked", "guessed"], origin: str | None = None
) -> FoundFeed | None:
    result = await fetcher.fetch(url, origin=origin)
    if not result.ok or not result.body:
        return None
    try:
        parsed = parse_feed(
            result.body, url=result.final_url, content_type=result.headers.get("content-type")
        )
    except FeedError:
        return None
    return FoundFeed(url, _title(parsed.title), len(parsed.entries), via)


def _title(title: str | None) -> str | None:
    text = " ".join((title or "").split())
    return text or None
