"""Summary detection and article extraction (full text where the feed gives a summary).

`fulltext_for` decides per item whether to fetch the article page, extracts the
main content (site rule selectors, else trafilatura and readability combined)
and falls back to the feed's content with a one-line warning on any failure.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any, Literal, Protocol

import lxml.html
from lxml import etree
from readability import Document
from readability.readability import clean as readability_clean

from ..archive.sanitize import parse_fragment, serialize_fragment
from ..models import Entry, FetchResult, FulltextMode
from ..util import charsets
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
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
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
    """The main content of an article page as HTML, or None if none was found."""
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
    root = _parse_page(html)
    title = page_title(root) if root is not None else ""
    if root is not None:
        # Page chrome that readability keeps on short pages (it falls back to
        # the whole body): menus, footers, sidebars, carousels, related lists.
        _drop_selected(root, GENERIC_CHROME)
        html = lxml.html.tostring(root, encoding="unicode")
    article = _extract_generic(html, url)
    if article and title:
        article = drop_title_heading(article, title)
    return article


def page_title(root: lxml.html.HtmlElement) -> str:
    """The page's own title: og:title, else <title>."""
    for content in root.xpath("//meta[@property='og:title']/@content"):
        if content.strip():
            return str(content).strip()
    return (root.findtext(".//title") or "").strip()


DUPLICATE_TITLE_SHARE = 0.75


def drop_title_heading(article: str, title: str) -> str:
    """Drop a leading h1/h2 that repeats the page title: the post shows its title already.

    Compared by tokens (words, single CJK characters): the heading counts as the
    title when most of its tokens are in the title (which often adds a site name).
    """
    root = parse_fragment(article)
    if root is None:
        return article
    title_tokens = Counter(t.lower() for t in _TOKEN.findall(title))
    for el in root.iter():
        if el.tag in ("h1", "h2"):
            heading = Counter(t.lower() for t in _TOKEN.findall(el.text_content()))
            total = sum(heading.values())
            if total and sum((heading & title_tokens).values()) >= DUPLICATE_TITLE_SHARE * total:
                el.drop_tree()
                return serialize_fragment(root)
            return article
        if el.tag == "p" and el.text_content().strip():
            return article  # body text came first: the heading is a section title
    return article


GENERIC_CHROME = (
    "nav",
    "footer",
    "aside",
    "[role=navigation]",
    "[role=complementary]",
    "[class*=carousel]",
    "[class*=related]",
    "[class*=more-article]",
    "[class*=breadcrumb]",
)


def _extract_generic(html: str, url: str) -> str | None:
    traf = _trafilatura(html, url)
    read = _readability(html, url)
    chosen = choose_extraction(traf, read)
    # readability returns a few words ("Home") for pages with no article; a short
    # text counts only when both extractors found one.
    if text_length(chosen) < MIN_ARTICLE_CHARS and not (text_length(traf) and text_length(read)):
        return None
    return chosen


def choose_extraction(traf: str | None, read: str | None) -> str | None:
    """Pick between trafilatura's and readability's output.

    Measured on the readability corpus (bench/extract.py): readability is the
    more faithful of the two, except when it locks onto a small block and
    misses the article; then its text is short and a fraction of trafilatura's.
    """
    t_tokens, r_tokens = token_count(traf), token_count(read)
    if not r_tokens:
        return traf if t_tokens else None
    if r_tokens < MIN_READABILITY_TOKENS and r_tokens < READABILITY_SHARE * t_tokens:
        return traf
    return read


def token_count(html: str | None) -> int:
    """Words of Latin text plus single CJK characters."""
    return len(_TOKEN.findall(text_of(html)))


def _trafilatura(html: str, url: str) -> str | None:
    try:
        import trafilatura  # 0.3 s to import: only when a page is extracted

        out = trafilatura.extract(
            html,
            url=url,
            output_format="html",
            include_formatting=True,
            include_links=True,
            include_images=True,
            include_tables=True,
            include_comments=False,
            deduplicate=False,
        )
    except Exception as e:  # the extractor must never take the run down
        log.debug("trafilatura failed on %s: %s", url, e)
        return None
    if not out:
        return None
    root = _parse_page(out)
    body = root.find("body") if root is not None else None
    if body is None:
        return out
    return "".join(_outer_html(el) for el in body) or None


def _readability(html: str, url: str) -> str | None:
    try:
        document = ReadabilityDocument(html, url=url, min_text_length=min_text_length(html))
        return document.summary(html_partial=True) or None
    except Exception as e:  # readability raises on odd pages; fall back quietly
        log.debug("readability failed on %s: %s", url, e)
        return None


# readability-lxml ignores blocks under 25 characters, a Latin-text figure (about
# five words). Chinese words are 1-2 characters, so a CJK block carries as much
# in about 10: bylines, editor lines and captions no longer fall under it.
LATIN_MIN_TEXT = 25
CJK_MIN_TEXT = 10
CJK_PAGE_SHARE = 0.3  # share of letters that are CJK for a page to count as CJK
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def cjk_share(html: str) -> float:
    """Share of the page's visible letters that are CJK (kana included)."""
    root = _parse_page(html)
    if root is None:
        return 0.0
    body = root.find("body")
    text = _visible_text(body if body is not None else root)
    letters = re.findall(r"[^\W\d_]", text)
    return len(_CJK_CHAR.findall(text)) / len(letters) if letters else 0.0


def min_text_length(html: str) -> int:
    """readability's shortest block worth scoring or keeping, by the page's script."""
    return CJK_MIN_TEXT if cjk_share(html) > CJK_PAGE_SHARE else LATIN_MIN_TEXT


# readability.js counts all of these as commas; readability-lxml only ','. Without
# them a Chinese paragraph (full-width '，') scores as one long clause.
_EXTRA_COMMAS = re.compile("[\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c]")
_SCORED_TAGS = ("p", "pre", "td", "blockquote")
IN_PAGE_LINK_WEIGHT = 0.3


class ReadabilityDocument(Document):  # type: ignore[misc]
    """readability-lxml plus three steps of Mozilla's readability.js that it lacks.

    - Non-Latin commas (Chinese '，', Arabic '،') count in a paragraph's score.
    - In-page links ("#", "#comments") weigh 0.3 in link density: they are UI
      (comment counters, polls), not link lists, and must not sink a byline block.
    - After picking the best block, walk up its ancestors and take the first one
      scoring higher than the level below (readability.js's parent promotion),
      so an article wrapper holding byline, body and editor line wins over the body.
    """

    def score_paragraphs(self) -> dict[Any, dict[str, Any]]:
        candidates: dict[Any, dict[str, Any]] = super().score_paragraphs()
        bonus: dict[Any, float] = {}
        for elem in self.tags(self._html(), *_SCORED_TAGS):
            parent = elem.getparent()
            text = readability_clean(elem.text_content() or "")
            commas = len(_EXTRA_COMMAS.findall(text))
            if parent is None or not commas or len(text) < self.min_text_length:
                continue
            # Same shares as the base scoring: all to the parent, half to the grandparent.
            bonus[parent] = bonus.get(parent, 0.0) + commas
            grandparent = parent.getparent()
            if grandparent is not None:
                bonus[grandparent] = bonus.get(grandparent, 0.0) + commas / 2
        for elem, extra in bonus.items():
            if elem in candidates:  # base scores are already scaled by link density
                candidates[elem]["content_score"] += extra * (1 - self.get_link_density(elem))
        return candidates

    def get_link_density(self, elem: Any) -> float:
        link_chars = sum(
            len(readability_clean(a.text_content() or ""))
            * (IN_PAGE_LINK_WEIGHT if self._links_in_page(a.get("href")) else 1.0)
            for a in elem.iter("a")
        )
        return link_chars / max(len(readability_clean(elem.text_content() or "")), 1)

    def _links_in_page(self, href: str | None) -> bool:
        if href is None:
            return False
        # readability-lxml has made links absolute: "#" is now the page's own URL.
        target = href.split("#", 1)[0]
        return not target or target == (self.url or "").split("#", 1)[0]

    def select_best_candidate(self, candidates: dict[Any, dict[str, Any]]) -> Any:
        best = super().select_best_candidate(candidates)
        if best is None:
            return None
        last = best["content_score"]
        floor = last / 3  # an ancestor scoring below this is a page wrapper
        for ancestor in best["elem"].iterancestors():
            if ancestor.tag in ("body", "html"):
                break
            if ancestor not in candidates:
                continue
            score = candidates[ancestor]["content_score"]
            if score < floor:
                break
            if score > last:
                return candidates[ancestor]
            last = score
        return best


def _parse_page(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


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
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    encoding = charsets.detect(body, limit=200_000)
    return body.decode(encoding or "utf-8", errors="replace")


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
