"""Which of a page's blocks are the article, given trafilatura's and readability's votes.

1. The article is every block either chose. Where they disagree, each has often
   found a part of it (one the lead, the other the body; or the two halves of a
   page cut by a box), and the rules below remove what one of them took wrongly.
2. Blocks of a kind that is not article text go (kinds.py: comments, related links,
   share bars, newsletter boxes, captions, credits, author boxes, bylines, metadata,
   ads, asides and footers; short lines of links; short lines that name themselves;
   the cards of a list of teasers, each a linked heading and a few words),
   unless that kind holds much of the article: then it is how the page lays its
   article out. A caption between the article's paragraphs describes what the
   article shows and stays, unless it is short and names a credit.
3. Short runs of blocks that only one extractor chose, far from the rest, go; so
   does a top-level heading before the article that only one of them chose (the
   site's or the section's title, or the page's title repeated).
4. The article's lead, named as one and left out by both, comes back.
5. Headings after the last paragraph (the titles of related lists) go.

The thresholds were set on the development parts of bench/extract.py's corpora.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html

from .blocks import Block
from .kinds import LEAD_WORDS, NEVER_LAYOUT, kind_of, names_credit, text_kind

KIND_SCOPE = 0.4  # a container or kind holding more of the voted text is the article itself
CAPTION_MAX = 80  # characters: a shorter caption credits or labels, a longer one describes
LINK_LINE = 0.7  # link density of a short line that points elsewhere ("Read also: ...")
LINK_LINE_CHARS = 120  # a longer line is text whose words link; readability.js keeps it
LINK_LINE_TAGS = frozenset(("p", "div", "h2", "h3", "h4", "h5", "h6"))  # not list items
ISLAND_GAP = 400  # characters of dropped text that part two runs of kept blocks
ISLAND_SHARE = 0.1  # a run with less than this share of the kept text is an island
LEAD_REACH = 8  # blocks before the article's first paragraph where its lead may be
LEAD_MIN = 40  # letters
PROSE_CHARS = 100
CARD_MAX = 500  # characters: a teaser card is a title, a standfirst and a picture
CARD_SIBLINGS = 3
CARD_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


@dataclass
class Votes:
    blocks: list[Block]
    in_traf: set[int]  # block indexes trafilatura chose
    in_read: set[int]  # block indexes readability chose


def decide(votes: Votes) -> set[int]:
    """The indexes of the blocks that make the article."""
    blocks = votes.blocks
    both = votes.in_traf & votes.in_read
    keep = votes.in_traf | votes.in_read
    if not keep:
        return keep
    kinds = block_kinds(blocks, keep)
    keep = {i for i in keep if kinds[i] is None}
    keep -= _islands(blocks, keep) - both
    keep -= _lone_titles(blocks, keep, both)
    if keep:
        keep |= _lead(blocks, keep, kinds)
        keep -= _tail(blocks, keep)
    return keep


def block_kinds(blocks: list[Block], voted: set[int]) -> list[str | None]:
    """Each block's kind when it is not article text, else None, for the blocks up to
    the last voted one: nothing later is kept, and on a large page the footer,
    comments and link lists below the article are much of the blocks.

    A container's kind counts only below the article: a container holding more
    than KIND_SCOPE of the voted text is the article's own ("post-content
    related-enabled"), whatever its class says.
    """
    held: dict[lxml.html.HtmlElement, int] = {}
    total = 0
    for i in voted:
        block = blocks[i]
        total += block.length
        for el in (block.element, *block.element.iterancestors()):
            held[el] = held.get(el, 0) + block.length
    limit = KIND_SCOPE * total
    prose = [i for i in voted if _is_prose(blocks[i])]
    first_prose, last_prose = (min(prose), max(prose)) if prose else (-1, -1)
    known: dict[lxml.html.HtmlElement, str | None] = {}
    cards = _teaser_cards(blocks, voted)
    byline: lxml.html.HtmlElement | None = None
    kinds: list[str | None] = []
    for block in blocks[: max(voted, default=-1) + 1]:
        found = "caption" if block.element.tag == "figcaption" else None
        if found is None:
            for el in _below_article(block, held, limit):
                if el not in known:
                    known[el] = kind_of(el)
                if known[el] == "byline" and byline not in (None, el):
                    continue  # the article's byline is the first; later ones are text
                if known[el] is not None:
                    found = known[el]
                    byline = el if found == "byline" else byline
                    break
        if found == "caption":
            # A long caption describes; so does one between the article's paragraphs,
            # unless it credits. A kept caption is still read for what its words name.
            describes = len(block.text) >= CAPTION_MAX or (
                first_prose < block.index < last_prose and not names_credit(block.text)
            )
            found = text_kind(block.text) if describes else found
        elif found is None:
            found = "link-line" if _link_line(block) else text_kind(block.text)
        if found is None and cards and not cards.isdisjoint(_below_article(block, held, limit)):
            found = "teaser"
        kinds.append(found)
    # A kind that holds much of the voted text is how this page lays out its article
    # (a slideshow of captions, a live ticker, a page of links), not something beside it.
    by_kind: dict[str, int] = {}
    for i in voted:
        if (kind := kinds[i]) is not None:
            by_kind[kind] = by_kind.get(kind, 0) + blocks[i].length
    layout = {kind for kind, chars in by_kind.items() if chars > limit} - NEVER_LAYOUT
    return [None if kind in layout else kind for kind in kinds]


def _below_article(block: Block, held: dict[lxml.html.HtmlElement, int],
                   limit: float) -> Iterator[lxml.html.HtmlElement]:  # fmt: skip
    """The block's element and its ancestors up to the article's own container
    (one holding more than `limit` of the voted text) or the body."""
    for el in (block.element, *block.element.iterancestors()):
        if held.get(el, 0) > limit or el.tag in ("body", "html"):
            return
        yield el


def _teaser_cards(blocks: list[Block], voted: set[int]) -> set[lxml.html.HtmlElement]:
    """The cards of lists of teasers among the voted blocks: CARD_SIBLINGS or more
    sibling elements of one kind (tag and first class word), each short and holding a
    heading that links to another page ("Other columns": title, standfirst, picture).
    Found from each voted heading that links away, climbing while the element is short."""
    cards: set[lxml.html.HtmlElement] = set()
    tried: set[lxml.html.HtmlElement] = set()
    for i in sorted(voted):
        heading = blocks[i].element
        if heading.tag not in CARD_HEADINGS or not _links_away(heading):
            continue
        card = heading
        while len(card.text_content().strip()) < CARD_MAX:
            parent = card.getparent()
            if parent is None or parent in tried:
                break
            tried.add(parent)
            kind = (card.tag, (card.get("class") or "").split()[:1])
            same = [c for c in parent if (c.tag, (c.get("class") or "").split()[:1]) == kind]
            if len(same) >= CARD_SIBLINGS and all(_is_card(c) for c in same):
                cards.update(same)
                break
            card = parent
    return cards


def _is_card(el: lxml.html.HtmlElement) -> bool:
    return len(el.text_content().strip()) < CARD_MAX and any(
        _links_away(h) for h in el.iter(*CARD_HEADINGS)
    )


def _links_away(el: lxml.html.HtmlElement) -> bool:
    """Whether el holds a link to another page (not "#..." nor a script)."""
    for a in el.iter("a"):
        href = (a.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:")):
            return True
    return False


def _link_line(block: Block) -> bool:
    return (
        block.link_density >= LINK_LINE
        and len(block.text) < LINK_LINE_CHARS
        and block.element.tag in LINK_LINE_TAGS
    )


def _islands(blocks: list[Block], keep: set[int]) -> set[int]:
    """Short runs of kept blocks far from the rest: a category link up in the header,
    a teaser down in the footer."""
    runs: list[list[int]] = []
    gap = ISLAND_GAP + 1
    for block in blocks:
        if block.index in keep:
            if gap > ISLAND_GAP:
                runs.append([])
            runs[-1].append(block.index)
            gap = 0
        else:
            gap += len(block.text)
    if len(runs) < 2:
        return set()
    sizes = [sum(len(blocks[i].text) for i in run) for run in runs]
    total = sum(sizes)
    return {
        i for run, size in zip(runs, sizes, strict=True) if size < ISLAND_SHARE * total for i in run
    }


def _lone_titles(blocks: list[Block], keep: set[int], both: set[int]) -> set[int]:
    """An h1 before the article's first paragraph that only one extractor chose."""
    first = min((i for i in keep if _is_prose(blocks[i])), default=None)
    if first is None:
        return set()
    return {i for i in keep if i < first and i not in both and blocks[i].element.tag == "h1"}


def _lead(blocks: list[Block], keep: set[int], kinds: list[str | None]) -> set[int]:
    """The article's lead (standfirst) that both extractors left out: a block named
    as one, shortly before the article's first paragraph."""
    first = min((i for i in keep if blocks[i].element.tag not in HEADINGS), default=None)
    if first is None:
        return set()
    found: set[int] = set()
    reach = 0
    for block in reversed(blocks[:first]):
        if kinds[block.index] is not None:
            continue  # page chrome between the lead and the body does not count
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


def _tail(blocks: list[Block], keep: set[int]) -> set[int]:
    """Headings after the article's last paragraph: the titles of what the page
    adds below it ("More on this", "Other columns")."""
    last = max((i for i in keep if _is_prose(blocks[i])), default=None)
    if last is None:
        return set()
    return {i for i in keep if i > last and blocks[i].element.tag in HEADINGS}


def _is_prose(block: Block) -> bool:
    return len(block.text) >= PROSE_CHARS and block.link_density < 0.3
