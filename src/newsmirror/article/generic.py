"""Generic article extraction: trafilatura and readability vote on the page's blocks.

The page is parsed once and cleaned of what is never text (kinds.drop_page_chrome),
then cut into blocks (blocks.page_blocks). trafilatura and readability each extract
the article from a copy; a block is in an extractor's article when its text is.
`decide` keeps the blocks both chose and settles the others, and the article is the
page's own markup cut down to the kept blocks (blocks.cut_to).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

import lxml.html
from lxml import etree

from ..sanitize import parse_fragment, serialize_fragment
from .blocks import BLOCK_ID, Block, cut_to, match_key, page_blocks
from .kinds import LEAD_WORDS, drop_page_chrome, kind_of, text_kind
from .readability_doc import ReadabilityDocument

log = logging.getLogger(__name__)

# readability-lxml ignores blocks under 25 characters, a Latin-text figure (about
# five words). Chinese words are 1-2 characters, so a CJK block carries as much
# in about 10: bylines, editor lines and captions no longer fall under it.
LATIN_MIN_TEXT = 25
CJK_MIN_TEXT = 10
CJK_PAGE_SHARE = 0.3  # share of letters that are CJK for a page to count as CJK
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")
MIN_ARTICLE_CHARS = 20
# A short block found further than this into trafilatura's text, past the last
# block matched, is a coincidence (a word that recurs), not the same text.
ALIGN_SLACK = 12
UNIQUE_KEY = 30  # a block key this long is taken wherever it is found


@dataclass
class Votes:
    blocks: list[Block]
    in_traf: set[int]
    in_read: set[int]
    traf_key: str
    read_key: str


_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def parse_page(html: str) -> lxml.html.HtmlElement | None:
    try:
        try:
            return lxml.html.document_fromstring(html)
        except ValueError:  # lxml refuses text that declares an encoding (<?xml ...?>)
            return lxml.html.document_fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    except (etree.ParserError, ValueError):
        return None


def cjk_share(text: str) -> float:
    """Share of the letters that are CJK (kana included)."""
    letters = _LETTER.findall(text)
    return len(_CJK_CHAR.findall(text)) / len(letters) if letters else 0.0


def min_text_length(blocks: list[Block]) -> int:
    """readability's shortest block worth scoring or keeping, by the page's script."""
    text = "".join(b.text for b in blocks)
    return CJK_MIN_TEXT if cjk_share(text) > CJK_PAGE_SHARE else LATIN_MIN_TEXT


def vote(root: lxml.html.HtmlElement, url: str) -> Votes:
    """Clean the page, cut it into blocks and let both extractors vote (changes root)."""
    drop_page_chrome(root)
    body = root.find("body")
    blocks = page_blocks(body if body is not None and BODY_ONLY else root)
    traf_key = match_key(trafilatura_text(root, url))
    in_traf = align(blocks, traf_key)
    present, read_key = readability_choice(root, url, min_text_length(blocks))
    in_read = {b.index for b in blocks if b.element.get(BLOCK_ID) in present and b.key in read_key}
    return Votes(blocks, in_traf, in_read, traf_key, read_key)


def align(blocks: list[Block], text_key: str) -> set[int]:
    """The blocks whose text is in text_key, matched in order."""
    found: set[int] = set()
    cursor = 0
    for block in blocks:
        at = text_key.find(block.key, cursor)
        if at >= 0 and (at - cursor <= ALIGN_SLACK or block.length >= UNIQUE_KEY):
            found.add(block.index)
            cursor = at + block.length
        elif block.length >= UNIQUE_KEY and block.key in text_key:
            found.add(block.index)  # out of order: trafilatura moved it
    return found


WEAK_AGREEMENT = 0.5  # an extractor agreeing on less than this share of the other's text failed
KIND_SCOPE = 0.4  # a container holding more of the voted text than this is the article itself
LEAD_REACH = 8  # blocks before the article's first block where its lead may be
LINK_LINE = 0.7  # link density of a short line that points elsewhere ("Read also: ...")
LINK_LINE_CHARS = 200
POSITION = False
TRAF_WEIGHT = 1.0
CAPTIONS = True


def decide(votes: Votes) -> set[int]:
    """The blocks of the article: agreed ones, then disputed ones by position and kind."""
    blocks = votes.blocks
    t_len = sum(b.length for b in blocks if b.index in votes.in_traf)
    r_len = sum(b.length for b in blocks if b.index in votes.in_read)
    both = votes.in_traf & votes.in_read
    b_len = sum(blocks[i].length for i in both)
    agree = b_len >= WEAK_AGREEMENT * t_len and b_len >= WEAK_AGREEMENT * r_len
    if not agree:  # one of them missed the article: trust the one that found more
        keep = set(votes.in_traf if t_len * TRAF_WEIGHT >= r_len else votes.in_read)
    elif not POSITION:
        keep = votes.in_traf | votes.in_read
    else:
        keep = set(both)
        keep |= _inside(votes.in_traf - both, votes.in_read)
        keep |= _inside(votes.in_read - both, votes.in_traf)
    if not keep:
        return keep
    kinds = block_kinds(blocks, keep)
    keep = {i for i in keep if kinds[i] is None}
    if ISLANDS and keep:
        keep -= _islands(blocks, keep) - (both if ISLANDS == 2 else set())
    if LEADS and keep:
        keep |= _lead(blocks, keep, kinds)
    if TAIL and keep:
        keep -= _tail(blocks, keep)
    return keep


ISLANDS = 2
ISLAND_GAP = 400  # characters of dropped text that part two runs of kept blocks
ISLAND_SHARE = 0.1  # a run with less than this share of the kept text is an island


def _islands(blocks: list[Block], keep: set[int]) -> set[int]:
    """Short runs of kept blocks far from the article: a category link up in the
    header, a teaser down in the footer, kept by one extractor."""
    runs: list[list[int]] = []
    gap = ISLAND_GAP + 1
    for block in blocks:
        if block.index in keep:
            if gap > ISLAND_GAP or not runs:
                runs.append([])
            runs[-1].append(block.index)
            gap = 0
        else:
            gap += len(block.text)
    if len(runs) < 2:
        return set()
    sizes = [sum(len(blocks[i].text) for i in run) for run in runs]
    total = sum(sizes)
    return {i for run, size in zip(runs, sizes) if size < ISLAND_SHARE * total for i in run}


CAPTION_MAX = 80
TEXT_KINDS = True
LEADS = True
TAIL = 1
PROSE_CHARS = 100
HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


def _is_prose(block: Block) -> bool:
    return len(block.text) >= PROSE_CHARS and block.link_density < 0.3


def _label(block: Block) -> bool:
    """A short line ending in a colon: the title of what follows ("Contact:")."""
    return len(block.text) <= 60 and block.text.endswith(":")


def _tail(blocks: list[Block], keep: set[int]) -> set[int]:
    """What follows the article's last paragraph under a heading of its own
    ("More on this", "Contact:", "Sources"): a section of the page, not of the article."""
    kept = sorted(keep)
    last = max((i for i in kept if _is_prose(blocks[i])), default=None)
    if last is None:
        return set()
    after = [i for i in kept if i > last]
    if not after:
        return set()
    if TAIL == 1:
        return {i for i in after if blocks[i].element.tag in HEADINGS}
    if TAIL == 3:
        return {i for i in after if blocks[i].element.tag in HEADINGS or _label(blocks[i])}
    head = blocks[after[0]]
    if head.element.tag in HEADINGS or (len(head.text) < 60 and head.text.endswith(":")):
        return set(after)
    return set()
LEAD_MIN = 40


def _lead(blocks: list[Block], keep: set[int], kinds: list[str | None]) -> set[int]:
    """The article's lead (standfirst) when the extractors left it out: a block
    named as one, shortly before the article's first paragraph."""
    first = min((i for i in keep if blocks[i].element.tag not in HEADINGS), default=None)
    if first is None:
        return set()
    found: set[int] = set()
    reach = 0
    for block in reversed(blocks[:first]):
        if kinds[block.index] is not None:
            continue  # page chrome between lead and body does not count
        reach += 1
        if reach > LEAD_REACH:
            break
        if block.index in keep or block.length < LEAD_MIN or block.link_density > 0.2:
            continue
        for el in (block.element, *block.element.iterancestors()):
            if el.tag in ("body", "html", "article", "main"):
                break
            if LEAD_WORDS.search(f"{el.get('class', '')} {el.get('id', '')}"):
                found.add(block.index)
                break
    return found


def _inside(candidates: set[int], reference: set[int]) -> set[int]:
    if not reference:
        return set()
    first, last = min(reference), max(reference)
    return {i for i in candidates if first <= i <= last}


LINK_LINE_TAGS = frozenset(("p", "div", "h2", "h3", "h4", "h5", "h6"))


def _link_line(block: Block) -> bool:
    return (
        block.link_density >= LINK_LINE
        and len(block.text) < LINK_LINE_CHARS
        and block.element.tag in LINK_LINE_TAGS
    )


def block_kinds(blocks: list[Block], voted: set[int]) -> list[str | None]:
    """Each block's kind: the first container kind named on its way up, below the article."""
    held: dict[lxml.html.HtmlElement, int] = {}
    total = 0
    for i in voted:
        block = blocks[i]
        total += block.length
        for el in (block.element, *block.element.iterancestors()):
            held[el] = held.get(el, 0) + block.length
    limit = KIND_SCOPE * total
    known: dict[lxml.html.HtmlElement, str | None] = {}
    kinds: list[str | None] = []
    for block in blocks:
        found = "caption" if CAPTIONS and block.element.tag == "figcaption" else None
        if found is None:
            for el in (block.element, *block.element.iterancestors()):
                if held.get(el, 0) > limit or el.tag in ("body", "html"):
                    break
                if el not in known:
                    known[el] = kind_of(el)
                if known[el] is not None:
                    found = known[el]
                    break
        if found is None and _link_line(block):
            found = "link-line"
        if found is None and TEXT_KINDS:
            found = text_kind(block.text)
        elif found == "caption" and len(block.text) >= CAPTION_MAX:
            found = None  # a caption that long describes; a short one credits or labels
        kinds.append(found)
    # A kind that holds much of the voted text is how this page lays out its article
    # (a slideshow of captions, a live ticker of comments), not something beside it.
    by_kind: dict[str, int] = {}
    for i in voted:
        if (kind := kinds[i]) is not None:
            by_kind[kind] = by_kind.get(kind, 0) + blocks[i].length
    layout = {kind for kind, held_chars in by_kind.items() if held_chars > limit}
    return [None if kind in layout else kind for kind in kinds]


def extract_generic(html: str, url: str) -> str | None:
    """The article of a page as HTML, or None when the page has none."""
    root = parse_page(html)
    if root is None:
        return None
    title = page_title(root)
    votes = vote(root, url)
    keep = decide(votes)
    kept_chars = sum(len(votes.blocks[i].text) for i in keep)
    page_chars = sum(len(b.text) for b in votes.blocks)
    # readability alone returns a few words ("Home") on pages without an article:
    # so short a text counts only when both extractors chose it, or when it is all
    # the text the page has.
    if (
        kept_chars < MIN_ARTICLE_CHARS
        and not keep <= votes.in_traf & votes.in_read
        and kept_chars < page_chars
    ):
        return None
    article = cut_to(votes.blocks, keep)
    if article is None:
        return None
    for el in article.iter():
        if el.get(BLOCK_ID) is not None:
            del el.attrib[BLOCK_ID]
    if title and DROP_TITLE:
        _drop_title_heading(article, title)
    return lxml.html.tostring(article, encoding="unicode")


def page_title(root: lxml.html.HtmlElement) -> str:
    """The page's own title: og:title, else <title>."""
    for content in root.xpath("//meta[@property='og:title']/@content"):
        if content.strip():
            return str(content).strip()
    return (root.findtext(".//title") or "").strip()


DUPLICATE_TITLE_SHARE = 0.75
DROP_TITLE = True
BODY_ONLY = True
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")


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


def trafilatura_text(root: lxml.html.HtmlElement, url: str) -> str:
    """The text of trafilatura's article (its fast mode: readability is run here anyway)."""
    try:
        import trafilatura  # 0.3 s to import: only when a page is extracted

        document = trafilatura.bare_extraction(
            root, url=url, fast=True, include_comments=False, include_tables=True,
            include_formatting=False, deduplicate=False,
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
