"""The feeds an HTML page names: `<link rel="alternate" type="application/rss+xml"
href="...">` (and Atom, RDF, JSON Feed), as browsers and feed readers find them."""

from __future__ import annotations

import lxml.html
from lxml import etree

from ..util.urls import is_http_url, serialise_url

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
)
# Tried in this order when a page names no feed.
COMMON_PATHS = ("feed", "rss.xml", "atom.xml", "index.xml", "feed.xml", "rss", "feed.json")
_HEAD_BYTES = 512 * 1024  # <link> belongs in <head>: no need to parse a whole page


def linked_feeds(html: bytes, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the feeds the page links with rel=alternate, in page order."""
    try:
        doc = lxml.html.document_fromstring(html[:_HEAD_BYTES])
    except (etree.ParserError, ValueError):
        return []
    base = doc.find(".//base[@href]")
    base_url = _join(base.get("href"), base_url) or base_url if base is not None else base_url
    found: list[str] = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = _join(link.get("href"), base_url)
        if "alternate" in rel and kind in FEED_TYPES and href and href not in found:
            found.append(href)
    return found


def common_feed_urls(page_url: str) -> list[str]:
    """Where feeds usually are: beside the page (a blog under /blog/), then at the site root."""
    here = page_url if page_url.endswith("/") else page_url + "/"
    found: list[str] = []
    beside = [_join(path, here) for path in COMMON_PATHS]
    at_root = [_join("/" + path, page_url) for path in COMMON_PATHS]
    for url in beside + at_root:
        if url and url not in found:
            found.append(url)
    return found


def _join(href: str | None, base: str) -> str | None:
    if not href or not href.strip():
        return None
    try:
        url = serialise_url(href.strip(), base)
    except ValueError:
        return None
    return url.partition("#")[0] if is_http_url(url) else None
