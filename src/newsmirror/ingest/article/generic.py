"""Generic article extraction: trafilatura and readability vote on the page's blocks.

The page is parsed once and cleaned of what is never text (kinds.drop_page_chrome),
then cut into blocks (blocks.page_blocks). trafilatura and readability each pick
the article from their own copy; a block is in an extractor's article when its
text is. decide.decide keeps the blocks that make the article, and the article
is the page's own markup cut down to them (blocks.cut_to).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable

import lxml.html
from lxml import etree

from ...archive.sanitize import parse_fragment, serialize_fragment
from ...util.text import TOKEN_CJK, char_class
from .blocks import BLOCK_ID, Block, cut_to, match_key, page_blocks
from .decide import Votes, decide
from .kinds import drop_page_chrome
from .readability_doc import ReadabilityDocument

log = logging.getLogger(__name__)

# readability-lxml ignores blocks under 25 characters, a Latin-text figure (about
# five words). Chinese words are 1-2 characters, so a CJK block carries as much
# in about 10: bylines, editor lines and captions no longer fall under it.
LATIN_MIN_TEXT = 25
CJK_MIN_TEXT = 10
CJK_PAGE_SHARE = 0.3  # share of letters that are CJK for a page to count as CJK
# Counted by runs, not one match a character: the same counts in less time.
_CJK_RUN = re.compile(f"[{char_class(TOKEN_CJK)}]+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
MIN_ARTICLE_CHARS = 20
# A short block found further than this into trafilatura's text, past the last
# block matched, is a coincidence (a word that recurs), not the same text.
ALIGN_SLACK = 12
UNIQUE_KEY = 30  # a block key this long is taken wherever it is found
# A CJK key carries as much in fewer characters: scaled as CJK_MIN_TEXT / LATIN_MIN_TEXT.
UNIQUE_KEY_CJK = UNIQUE_KEY * CJK_MIN_TEXT // LATIN_MIN_TEXT
# Letters and digits: when trafilatura's fast pass finds fewer than TRAFILATURA_SHORT
# (about 500 characters, readability.js's threshold for a failed pass) and readability
# fewer than READABILITY_SHORT (about 1,000), trafilatura runs again with its fallbacks.
TRAFILATURA_SHORT = 400
READABILITY_SHORT = 800


def _page_parser(**options: str) -> etree.HTMLParser:
    """An HTML parser whose elements are all lxml.html's HtmlElement.

    lxml.html's own parser picks each element's class (FormElement, InputElement,
    ...: form helpers no extractor uses) by a Python call every time an element is
    touched; a default class lookup does it in C. Copies of the tree (trafilatura's,
    readability's) keep the parser, and so the lookup.
    """
    parser = etree.HTMLParser(**options)
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


_PARSER = _page_parser()
_UTF8_PARSER = _page_parser(encoding="utf-8")


def extract_generic(
    html: str, url: str, choose: Callable[[Votes], set[int]] = decide
) -> str | None:
    """The article of a page as HTML, or None when the page has none.

    `choose` picks the kept blocks from the votes (bench/combiner.py tries others).
    """
    root = parse_page(html)
    if root is None:
        return None
    title = page_title(root)
    votes = vote(root, url)
    keep = choose(votes)
    kept_chars = sum(len(votes.blocks[i].text) for i in keep)
    # readability alone returns a few words ("Home") on pages without an article:
    # so short a text counts only when both extractors chose it, or when it is all
    # the text the page has.
    if (
        kept_chars < MIN_ARTICLE_CHARS
        and not keep <= votes.in_traf & votes.in_read
        and kept_chars < sum(len(b.text) for b in votes.blocks)
    ):
        return None
    article = cut_to(votes.blocks, keep)
    if article is None:
        return None
    for el in article.iter():
        if el.get(BLOCK_ID) is not None:
            del el.attrib[BLOCK_ID]
    if title:
        _drop_title_heading(article, title)
    return lxml.html.tostring(article, encoding="unicode")


def parse_page(html: str) -> lxml.html.HtmlElement | None:
    try:
        try:
            return lxml.html.document_fromstring(html, parser=_PARSER)
        except ValueError:  # lxml refuses text that declares an encoding (<?xml ...?>)
            return lxml.html.document_fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    except (etree.ParserError, ValueError):
        return None


def vote(root: lxml.html.HtmlElement, url: str) -> Votes:
    """Clean the page, cut it into blocks and let both extractors vote (changes root)."""
    drop_page_chrome(root)
    body = root.find("body")
    blocks = page_blocks(body if body is not None else root)
    traf_key = match_key(trafilatura_text(root, url))
    present, read_key = readability_choice(root, url, min_text_length(blocks))
    if len(traf_key) < TRAFILATURA_SHORT and len(read_key) < READABILITY_SHORT:
        # Both found little: trafilatura's own fallbacks (its readability port, jusText,
        # a second pass favouring recall) get their say, as in its default mode; they
        # find the article on pages where both extractors' own passes take a fragment.
        traf_key = match_key(trafilatura_text(root, url, fast=False))
    in_traf = align(blocks, traf_key)
    in_read = {b.index for b in blocks if b.element.get(BLOCK_ID) in present and b.key in read_key}
    return Votes(blocks, in_traf, in_read)


def align(blocks: list[Block], text_key: str) -> set[int]:
    """The blocks whose text is in text_key, matched in order."""
    found: set[int] = set()
    cursor = 0
    for block in blocks:
        unique = block.length >= UNIQUE_KEY or (
            block.length >= UNIQUE_KEY_CJK and _cjk_key(block.key)
        )
        at = text_key.find(block.key, cursor)
        if at >= 0 and (at - cursor <= ALIGN_SLACK or unique):
            found.add(block.index)
            cursor = at + block.length
        elif unique and block.key in text_key:
            found.add(block.index)  # out of order: trafilatura moved it
    return found


def trafilatura_text(root: lxml.html.HtmlElement, url: str, fast: bool = True) -> str:
    """The text of trafilatura's article, by default in its fast mode (without its own
    fallback to readability and jusText: readability runs here anyway)."""
    try:
        import trafilatura  # 0.3 s to import: only when a page is extracted

        # Only the body tree is read: an output format other than "python" spares
        # trafilatura writing the body out as text as well.
        document = trafilatura.bare_extraction(
            root, url=url, fast=fast, include_comments=False, include_tables=True,
            include_formatting=False, deduplicate=False, output_format="txt",
        )  # fmt: skip
    except Exception as e:  # the extractor must never take the run down
        log.debug("trafilatura failed on %s: %s", url, e)
        return ""
    if document is None or document.body is None:
        return ""
    return " ".join(document.body.itertext())


def readability_choice(
    root: lxml.html.HtmlElement, url: str, min_text: int
) -> tuple[set[str], str]:
    """The block ids in readability's article, and its text's match key."""
    try:
        document = ReadabilityDocument(root, url=url, min_text_length=min_text)
        summary = document.summary(html_partial=True)
        article = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception as e:  # readability raises on odd pages
        log.debug("readability failed on %s: %s", url, e)
        return set(), ""
    present = {el.get(BLOCK_ID) for el in article.iter() if el.get(BLOCK_ID) is not None}
    return present, match_key(article.text_content())


def _cjk_key(key: str) -> bool:
    """Whether a match key (letters and digits) is mostly CJK."""
    return sum(map(len, _CJK_RUN.findall(key))) > CJK_PAGE_SHARE * len(key)


def cjk_share(text: str) -> float:
    """Share of the letters that are CJK (kana included)."""
    letters = sum(map(len, _LETTER_RUN.findall(text)))
    return sum(map(len, _CJK_RUN.findall(text))) / letters if letters else 0.0


def min_text_length(blocks: list[Block]) -> int:
    """readability's shortest block worth scoring or keeping, by the page's script."""
    text = "".join(b.text for b in blocks)
    return CJK_MIN_TEXT if cjk_share(text) > CJK_PAGE_SHARE else LATIN_MIN_TEXT


def page_title(root: lxml.html.HtmlElement) -> str:
    """The page's own title: og:title, else <title>."""
    for content in root.xpath("//meta[@property='og:title']/@content"):
        if content.strip():
            return str(content).strip()
    return (root.findtext(".//title") or "").strip()


DUPLICATE_TITLE_SHARE = 0.75
_TOKEN = re.compile(f"[{char_class(TOKEN_CJK)}]|[^\\W_]+")


def drop_title_heading(article: str, title: str) -> str:
    """An article's HTML without a leading h1/h2 that repeats the page title."""
    root = parse_fragment(article)
    if root is None or not _drop_title_heading(root, title):
        return article
    return serialize_fragment(root)


def _drop_title_heading(root: lxml.html.HtmlElement, title: str) -> bool:
    """Drop a leading h1/h2 that repeats the page title: the post shows its title already.

    Compared by tokens (words, single CJK characters): the heading counts as the
    title when most of its tokens are in the title (which often adds a site name).
    """
    title_tokens = Counter(t.lower() for t in _TOKEN.findall(title))
    for el in root.iter():
        if el.tag in ("h1", "h2"):
            heading = Counter(t.lower() for t in _TOKEN.findall(el.text_content()))
            total = sum(heading.values())
            if total and sum((heading & title_tokens).values()) >= DUPLICATE_TITLE_SHARE * total:
                el.drop_tree()
                return True
            return False
        if el.tag == "p" and el.text_content().strip():
            return False  # body text came first: the heading is a section title
    return False
