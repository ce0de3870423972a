"""Summary detection and article extraction (full text where the feed gives a summary).

`fulltext_for` decides per item whether to fetch the article page, extracts the
main content (site rule selectors, else trafilatura and readability combined)
and falls back to the feed's content with a one-line warning on any failure.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from html import escape
from typing import Any, Literal, Protocol

import lxml.html

from ..archive.sanitize import parse_fragment, serialize_fragment
from ..models import Entry, FetchResult, FulltextMode
from ..util import charsets
from .article import extract_generic, parse_page
from .rules import SiteRule

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
SHORT_TEXT = 200  # characters of text; less than this is a teaser, not an article
# Under `auto`, the page replaces the feed's text only when the feed has less
# than this share of the page's text.
FAR_SHORTER = 0.7

MIN_ARTICLE_CHARS = 20
MIN_READABILITY_TOKENS = 100
READABILITY_SHARE = 0.4
_ELLIPSIS_END = re.compile(r"(…|\.\.\.|\[…\]|\[\.\.\.\]|……|…\s*\]|\(\.\.\.\)|（…）)\s*$")
_READ_MORE = re.compile(
    r"^\W*(read\s+more|more|continue\s+reading|read\s+the\s+(full|rest)|full\s+(story|article)"
    r"|阅读全文|閱讀全文|继续阅读|繼續閱讀|查看全文|阅读更多|閱讀更多|更多|全文|详细|詳細)",
    re.I,
)


class PageFetcher(Protocol):
    """What `fulltext_for` fetches article pages with. The pipeline passes one
    that applies the fetch policy for addresses from feed content."""

    async def fetch(self, url: str, *, accept: str = ...) -> FetchResult: ...


@dataclass(frozen=True)
class FulltextResult:
    content: str | None
    source: Literal["feed", "page"]
    warning: str | None = None


def text_of(html: str | None) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    if not html or not html.strip():
        return ""
    root = parse_fragment(html)
    if root is None:
        return re.sub(r"\s+", " ", html).strip()
    return re.sub(r"\s+", " ", _visible_text(root)).strip()


def _visible_text(root: lxml.html.HtmlElement) -> str:
    """The text of a tree without its scripts, styles and templates (removed from it)."""
    for el in list(root.iter("script", "style", "template")):
        el.drop_tree()
    return root.text_content()


def text_length(html: str | None) -> int:
    """Characters of visible text, whitespace not counted."""
    return len(re.sub(r"\s", "", text_of(html)))


def looks_like_summary(content: str | None) -> bool:
    """True for no content, very short text, or text ending in … or a "read more" link."""
    text = text_of(content)
    if len(re.sub(r"\s", "", text)) < SHORT_TEXT:
        return True
    if _ELLIPSIS_END.search(text):
        return True
    root = parse_fragment(content or "")
    if root is None:
        return False
    links = list(root.iter("a"))
    if links:
        last = links[-1]
        after = text[text.rfind(last.text_content().strip()) :] if last.text_content() else ""
        # Only a link at the very end counts: "more" in mid-text is just a word.
        if (
            _READ_MORE.match(last.text_content().strip())
            and len(after) <= len(last.text_content().strip()) + 3
        ):
            return True
    return False


def apply_rule(html: str, rule: SiteRule) -> str | None:
    """Drop the rule's chrome selectors, then keep its article selectors.

    Returns the HTML of the kept elements, or None when no `keep` selector
    matched (the caller falls back to generic extraction of the dropped page).
    """
    root = _parse_page(html)
    if root is None:
        return None
    _drop_selected(root, rule.drop)
    if not rule.keep:
        return None
    kept = _select_outermost(root, rule.keep)
    if not kept:
        return None
    out = "".join(_outer_html(el) for el in kept)
    return out if text_length(out) else None


def clean_with_rule(html: str, rule: SiteRule | None) -> str:
    """Feed content with the rule's chrome removed (and cut to `keep` when that matches)."""
    if rule is None or not html or not (rule.drop or rule.keep):
        return html
    root = parse_fragment(html)
    if root is None:
        return html
    _drop_selected(root, rule.drop)
    kept = _select_outermost(root, rule.keep) if rule.keep else []
    out = "".join(_outer_html(el) for el in kept) if kept else serialize_fragment(root)
    # Never let a rule empty a post that had text.
    return out if text_length(out) or not text_length(html) else html


def extract_article(html: bytes | str, url: str, rule: SiteRule | None = None) -> str | None:
    """The main content of an article page as HTML, or None if none was found.

    A site rule's selectors come first; the generic extractor (ingest.article)
    takes the page, without the rule's chrome, when they find nothing.
    """
    if isinstance(html, bytes):
        html = decode_page(html, None)
    if not html or not html.strip():
        return None
    if rule is not None:
        by_rule = apply_rule(html, rule)
        if by_rule:
            return by_rule
        if rule.drop:
            root = _parse_page(html)
            if root is not None:
                _drop_selected(root, rule.drop)
                html = lxml.html.tostring(root, encoding="unicode")
    return extract_generic(html, url)


def _parse_page(html: str) -> lxml.html.HtmlElement | None:
    return parse_page(html)


def _drop_selected(root: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    for selector in selectors:
        for el in root.cssselect(selector):
            if el.getparent() is not None:
                el.drop_tree()


def _select_outermost(
    root: lxml.html.HtmlElement, selectors: tuple[str, ...]
) -> list[lxml.html.HtmlElement]:
    found: set[Any] = set()
    for selector in selectors:
        found.update(root.cssselect(selector))
    # Document order; skip elements inside another kept element.
    return [
        el for el in root.iter() if el in found and not any(a in found for a in el.iterancestors())
    ]


def _outer_html(el: lxml.html.HtmlElement) -> str:
    tail, el.tail = el.tail, None
    try:
        return lxml.html.tostring(el, encoding="unicode")
    finally:
        el.tail = tail


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)

def decode_page(body: bytes, content_type: str | None) -> str:
    """Decode a page: BOM, then the HTTP charset, then <meta>, then detection."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if body.startswith(bom):
            return body.decode(enc, errors="replace")
    declared: list[str] = []
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        declared.append(m.group(1))
    if m := _META_CHARSET.search(body[:4096]):
        declared.append(m.group(1).decode("ascii"))
    for label in declared:
        encoding = charsets.codec_for(label)
        if encoding is None:
            continue
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue  # the declaration lies; try the next clue
    if (text := _mostly_utf8(body)) is not None:
        return text
    encoding = charsets.detect(body, limit=200_000)
    return body.decode(encoding or "utf-8", errors="replace")


# A page whose bytes are UTF-8 but for a few broken sequences (a pasted word in
# another charset) is UTF-8, as a browser reads it; a page in a single-byte charset
# breaks at nearly every non-ASCII character.
MOSTLY_UTF8 = 0.01  # share of non-ASCII characters that may be broken


def _mostly_utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text if broken <= MOSTLY_UTF8 * non_ascii else None


async def fulltext_for(
    entry: Entry, fetcher: PageFetcher, rule: SiteRule | None, mode: FulltextMode
) -> FulltextResult:
    """The content a post should hold: the feed's, or the article page's main content.

    Never raises and never returns empty content when the feed had text.
    """
    feed_html = entry.content if entry.content_is_html else _text_to_html(entry.content)
    feed_html = clean_with_rule(feed_html, rule) if feed_html else feed_html
    if mode == "auto" and rule is not None and rule.fulltext is not None:
        mode = rule.fulltext  # a site rule refines the default; an explicit feed option wins
    if mode == "never":
        return FulltextResult(feed_html, "feed")
    if mode == "auto" and not looks_like_summary(feed_html):
        return FulltextResult(feed_html, "feed")
    link = entry.link
    if not link or not link.lower().startswith(("http://", "https://")):
        return FulltextResult(feed_html, "feed", f"{link or entry.guid}: no article link to fetch")

    def keep_feed(reason: str) -> FulltextResult:
        return FulltextResult(feed_html, "feed", f"{link}: full text not used ({reason})")

    try:
        result = await fetcher.fetch(link, accept=PAGE_ACCEPT)
    except Exception as e:  # a fetcher is meant not to raise; a timeout may still escape
        return keep_feed(f"fetch failed: {type(e).__name__} {e}".strip())
    if not result.ok or not result.body:
        reason = (result.error or f"HTTP {result.status}") if not result.ok else "empty page"
        return keep_feed(reason)
    content_type = result.headers.get("content-type", "")
    if content_type and not re.search(r"html|xml", content_type, re.I):
        return keep_feed(f"page is {content_type.split(';')[0]}, not HTML")
    try:
        page = decode_page(result.body, content_type)
        article = extract_article(page, result.final_url or link, rule)
    except Exception as e:  # hostile markup must not cost the item
        return keep_feed(f"extraction failed: {type(e).__name__}")
    page_len = text_length(article)
    if not page_len:
        return keep_feed("no article content found on the page")
    feed_len = text_length(feed_html)
    if mode == "auto" and feed_len >= FAR_SHORTER * page_len:
        return FulltextResult(feed_html, "feed")
    return FulltextResult(article, "page")


def _text_to_html(text: str | None) -> str | None:
    if not text:
        return text
    # Blank lines part paragraphs; single line breaks (YouTube descriptions'
    # lists of links) stay line breaks.
    paragraphs = (p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")))
    return "".join(
        "<p>" + "<br>".join(escape(line.strip()) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )
