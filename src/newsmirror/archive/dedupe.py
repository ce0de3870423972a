"""The keys an item is known by. An item is new only if none of its keys has
been seen: exact matches on the canonical link and on the guid, never
substrings (the old generator's substring test skipped prefixes of seen URLs)."""

from __future__ import annotations

from ..util.urls import canonical_url, is_http_url


def primary_key(href: str) -> str:
    """The key of a post's link (its `from:`)."""
    try:
        return "url:" + canonical_url(href)
    except ValueError:
        return "url:" + href.strip()


def item_keys(href: str, guid: str | None, feed_url: str) -> list[str]:
    """All keys of an item: its link, and its guid (a URL guid counts as a link;
    any other guid is only unique within its feed)."""
    keys = [primary_key(href)]
    guid = (guid or "").strip()
    if guid:
        key = primary_key(guid) if is_http_url(guid) else f"guid:{feed_url}\t{guid}"
        if key not in keys:
            keys.append(key)
    return keys
