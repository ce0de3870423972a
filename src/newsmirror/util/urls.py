"""URL serialisation as a WHATWG URL parser does it (the old generator used
JavaScript's `new URL(link).href`), via ada, a conforming implementation."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

import ada_url

_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def serialise_url(url: str, base: str | None = None) -> str:
    """`new URL(url, base).href`. Raises ValueError when it is not a URL."""
    # Lone surrogates cannot be encoded; decoded documents never hold them.
    url = _LONE_SURROGATES.sub("", url).strip()
    try:
        return ada_url.URL(url).href
    except ValueError:
        if not base:
            raise
    return ada_url.URL(url, base).href


# What a post's `from:` may be: web pages, and the identifier URIs feeds give
# as guids when an item has no link (the old generator wrote `from: tag:...`).
# Never javascript:, data:, file: and the like.
POST_LINK_SCHEMES = frozenset({"http", "https", "ftp", "tag", "urn"})


def is_absolute_url(url: str) -> bool:
    """A URL on its own, without a base (`abc-123` is not one)."""
    try:
        ada_url.URL(_LONE_SURROGATES.sub("", url).strip())
    except ValueError:
        return False
    return True


def is_http_url(url: str) -> bool:
    try:
        return ada_url.URL(url).protocol in ("http:", "https:")
    except ValueError:
        return False


_TRACKING_PREFIXES = ("utm_",)
_TRACKING_NAMES = {"fbclid", "gclid", "mc_cid", "mc_eid", "spm"}


def canonical_url(url: str) -> str:
    """The form two links to the same article share: WHATWG-serialised, scheme
    and fragment dropped, tracking parameters removed. Raises ValueError."""
    href = serialise_url(url)
    scheme, sep, rest = href.partition("//")
    if scheme in ("http:", "https:") and not _MAY_TRACK.search(rest):
        return sep + rest.partition("#")[0]  # the common case, without re-parsing
    return _canonical_slow(href)


# Any of the tracking parameter names, after `?` or `&`.
_MAY_TRACK = re.compile(r"[?&](?:utm_|fbclid|gclid|mc_cid|mc_eid|spm)", re.IGNORECASE)


def _canonical_slow(url: str) -> str:
    parsed = ada_url.URL(_LONE_SURROGATES.sub("", url).strip())
    parsed.hash = ""
    if parsed.search:
        pairs = parse_qsl(parsed.search[1:], keep_blank_values=True)
        kept = [
            (k, v)
            for k, v in pairs
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
        ]
        if len(kept) != len(pairs):
            parsed.search = urlencode(kept) if kept else ""
    href = parsed.href
    if parsed.protocol in ("http:", "https:"):
        return href[len(parsed.protocol) :]
    return href


def feed_key(url: str) -> str:
    """The form every spelling of one feed URL shares, to find duplicates:
    WHATWG-serialised (scheme and host lower-cased, the default port dropped,
    escapes normalised), without the fragment, which is never sent."""
    try:
        href = serialise_url(url)
    except ValueError:
        return url.strip()
    return href.partition("#")[0]
