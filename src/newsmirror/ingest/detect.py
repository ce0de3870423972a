"""What one re-fetch of an original says about it.

`classify` turns a `FetchResult` into a `Finding`: the article (with its
text), a removal notice, gone (404/410/451, or redirected to the site's home
page or a listing), unchanged (304), or a failed check (no signal either
way: timeouts, 5xx, 403, pages without article text). It does no I/O.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from ..models import FetchResult
from .extract import decode_page, extract_article
from .notices import removal_notice, token_count
from .rules import SiteRule

log = logging.getLogger(__name__)

FindingKind = Literal["article", "notice", "gone", "unchanged", "failed"]
GONE_STATUS = frozenset({404, 410, 451})  # 451: unavailable for legal reasons
MIN_ARTICLE_TOKENS = 20  # less text than this is no article (a login wall, a broken page)
_INDEX_PAGE = re.compile(r"/(?:index|default|home)\.(?:html?|php|aspx?|jsp)$", re.IGNORECASE)
_BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol blockquote pre tr table figcaption figure section "
    "article header footer dd dt dl br hr".split()
)


@dataclass
class Finding:
    kind: FindingKind
    evidence: str = ""  # one line: why gone, which notice, why the check failed
    text: str | None = None  # the article's text, paragraphs on lines (kind "article")
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_sha: str | None = None


def classify(
    result: FetchResult, link: str, rule: SiteRule | None, *, last_body_sha: str | None = None
) -> Finding:
    """What `result`, a fetch of the original at `link`, says. Never raises.
    A body identical to the last one seen (`last_body_sha`) is "unchanged"
    without being extracted again."""
    if result.not_modified:
        return Finding("unchanged", "HTTP 304 Not Modified", status=304)
    if result.status in GONE_STATUS:
        return Finding("gone", result.error or f"HTTP {result.status}", status=result.status)
    if not result.ok:
        return Finding("failed", result.error or f"HTTP {result.status}", status=result.status)
    moved = moved_to_listing(link, result.final_url)
    if moved:
        return Finding("gone", moved, status=result.status)
    body = result.body or b""
    sha = hashlib.sha1(body).hexdigest()[:20]
    base = Finding("failed", status=result.status, etag=result.etag,
                   last_modified=result.last_modified, body_sha=sha)  # fmt: skip
    if last_body_sha is not None and sha == last_body_sha:
        base.kind, base.evidence = "unchanged", "same bytes as the last check"
        return base
    content_type = result.headers.get("content-type", "")
    if content_type and not re.search(r"html|xml", content_type, re.I):
        base.evidence = f"page is {content_type.split(';')[0]}, not HTML"
        return base
    return _classify_page(base, body, content_type, result.final_url or link, rule)


def _classify_page(
    base: Finding, body: bytes, content_type: str, url: str, rule: SiteRule | None
) -> Finding:
    try:
        page = decode_page(body, content_type)
        article = extract_article(page, url, rule)
        text = page_text(article)
        notice = removal_notice(page, text, rule)
    except Exception as e:  # hostile markup must not stop the check of the others
        log.debug("extraction failed on %s", url, exc_info=e)
        base.evidence = f"extraction failed: {type(e).__name__}"
        return base
    if notice is not None:
        base.kind, base.evidence = "notice", notice.evidence
    elif token_count(text) < MIN_ARTICLE_TOKENS:
        base.evidence = "no article text on the page"
    else:
        base.kind, base.text = "article", text
    return base


def moved_to_listing(link: str, final_url: str | None) -> str:
    """Evidence when a redirect took `link` to the site's home page or to a
    listing above the article (an ancestor path); "" otherwise."""
    if not final_url or final_url == link:
        return ""
    try:
        old, new = urlsplit(link), urlsplit(final_url)
    except ValueError:
        return ""
    if _bare_host(old.hostname) != _bare_host(new.hostname):
        return ""  # another site: a syndicated copy, a shortener... not a deletion
    old_parts = _segments(old.path)
    new_parts = _segments(_INDEX_PAGE.sub("/", new.path))
    if not new_parts and old_parts:
        return f"redirected to the site's home page {final_url}"
    if len(new_parts) < len(old_parts) and old_parts[: len(new_parts)] == new_parts:
        return f"redirected to a listing above the article {final_url}"
    return ""


def _bare_host(host: str | None) -> str:
    host = (host or "").lower().rstrip(".")
    for prefix in ("www.", "m."):  # the site's own desktop and mobile names
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix) :]
    return host


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def page_text(article_html: str | None) -> str:
    """The text of an article's HTML, one paragraph (block) per line."""
    if not article_html or not article_html.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(f"<div>{article_html}</div>")
    except (etree.ParserError, ValueError):
        return ""
    for el in list(root.iter("script", "style", "template")):
        el.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCKS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)
