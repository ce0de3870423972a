"""A page as a sequence of text blocks, and the page cut down to the blocks kept.

A block is a run of text that a block-level element holds itself: its own text
and that of its inline descendants (links, emphasis, spans), up to the next
nested block. Every piece of visible text belongs to exactly one block, so the
outputs of several extractors can be compared block by block, and the article is
rebuilt from the page's own markup (`cut_to`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

# Elements whose text flows into the enclosing block.
INLINE = frozenset(
    "a abbr acronym b bdi bdo big br cite code data del dfn em font i img ins kbd label mark"
    " nobr q s samp small span strike strong sub sup time tt u var wbr".split()
)
BLOCK_ID = "data-nm-block"  # set on every block's element, survives the extractors
_WORD = re.compile(r"[^\W_]+")

TextNode = tuple[lxml.html.HtmlElement, bool]  # (element, True for its tail)


def match_key(text: str) -> str:
    """Letters and digits only, lower case: what two extractors' texts are compared on."""
    return "".join(_WORD.findall(text)).lower()  # faster than deleting the rest with sub()


@dataclass(eq=False)
class Block:
    index: int
    element: lxml.html.HtmlElement  # the block-level element holding the text
    nodes: list[TextNode] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    link_chars: int = 0
    text: str = ""
    key: str = ""

    @property
    def length(self) -> int:
        return len(self.key)

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0


def page_blocks(root: lxml.html.HtmlElement) -> list[Block]:
    """The blocks of a tree in document order; each block's element gets BLOCK_ID."""
    current: dict[lxml.html.HtmlElement, Block | None] = {}  # open run per block element
    order: list[Block] = []
    # Per open element, root first: the block element its text belongs to, and
    # whether it is inside a link.
    open_elements: list[tuple[lxml.html.HtmlElement, bool]] = []

    def add(el: lxml.html.HtmlElement, is_tail: bool, block_el: lxml.html.HtmlElement,
            text: str, linked: bool) -> None:  # fmt: skip
        block = current.get(block_el)
        if block is None:
            if text.isspace():
                return  # whitespace between blocks starts no run
            block = current[block_el] = Block(len(order), block_el)
            order.append(block)
        block.nodes.append((el, is_tail))
        block.pieces.append(text)
        if linked:
            block.link_chars += len(text.strip())

    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        tag = el.tag  # lxml makes a new string at each access
        if event == "start":
            if not open_elements:  # the root
                owner, linked = el, False
            else:
                parent_owner, parent_linked = open_elements[-1]
                linked = parent_linked or tag == "a"
                if tag in INLINE:
                    owner = parent_owner
                else:
                    owner = el
                    current[parent_owner] = None  # a nested block ends the parent's run
            open_elements.append((owner, linked))
            if el.text:
                add(el, False, owner, el.text, linked)
            continue
        if event == "end":
            open_elements.pop()
        if not open_elements:  # the root's end
            continue
        parent_owner, parent_linked = open_elements[-1]
        if event == "end" and tag not in INLINE:
            current[parent_owner] = None
        if el.tail:
            add(el, True, parent_owner, el.tail, parent_linked)
    blocks = []
    for block in order:
        block.text = " ".join("".join(block.pieces).split())  # whitespace runs made one space
        block.key = match_key(block.text)
        if block.key:
            block.index = len(blocks)
            blocks.append(block)
            block.element.set(BLOCK_ID, "")
    for block in blocks:  # the first run of an element names it
        if not block.element.get(BLOCK_ID):
            block.element.set(BLOCK_ID, str(block.index))
    return blocks


def cut_to(blocks: list[Block], keep: set[int]) -> lxml.html.HtmlElement | None:
    """The smallest element holding every kept block, without the other blocks.

    Works on the tree the blocks were taken from (it changes it). Elements that
    hold only dropped text go whole (with their images); elements without text
    (images, figures, embeds) stay where they are, unless other page text lies
    between them and the kept text (a logo above the menu, an ad slot after it).
    """
    kept = [b for b in blocks if b.index in keep]
    if not kept:
        return None
    has_kept: set[lxml.html.HtmlElement] = set()
    has_dropped: set[lxml.html.HtmlElement] = set()
    for block in blocks:
        marks = has_kept if block.index in keep else has_dropped
        for node in block.nodes:
            holder: lxml.html.HtmlElement | None = _holder(node)
            while holder is not None and holder not in marks:
                marks.add(holder)
                holder = holder.getparent()
    for block in blocks:
        if block.index not in keep:
            for el, is_tail in block.nodes:
                if is_tail:
                    el.tail = None
                else:
                    el.text = None
    top = _common_ancestor([_holder(node) for block in kept for node in block.nodes])
    # Document order under top: an element spans [start, end]; text is at its start,
    # a tail just after its end.
    start: dict[lxml.html.HtmlElement, int] = {}
    end: dict[lxml.html.HtmlElement, int] = {}
    step = 0
    for event, el in etree.iterwalk(top, events=("start", "end")):
        step += 1
        (start if event == "start" else end)[el] = step

    def places(wanted: list[Block]) -> list[int]:
        return [end[el] if is_tail else start[el] for b in wanted for el, is_tail in b.nodes
                if el in start]  # fmt: skip

    kept_at = places(kept)
    first, last = min(kept_at), max(kept_at)
    dropped_at = places([b for b in blocks if b.index not in keep])
    # Media before the article's text stay when nothing dropped lies between (a
    # lead picture), not when they come before other page text (a logo); the same after.
    lead_from = max((at for at in dropped_at if at < first), default=0)
    tail_to = min((at for at in dropped_at if at > last), default=step + 1)
    doomed = {
        el
        for el in top.iterdescendants()
        if el not in has_kept
        and (el in has_dropped or end.get(el, 0) < lead_from or start.get(el, 0) > tail_to)
        and not _picture_of_article(el, lead_from, tail_to, start, end)
    }
    for el in doomed:
        if not any(a in doomed for a in el.iterancestors()):
            el.drop_tree()  # its descendants go with it
    return top


PICTURES = ("img", "picture", "video")


def _picture_of_article(
    el: lxml.html.HtmlElement, lead_from: int, tail_to: int,
    start: dict[lxml.html.HtmlElement, int], end: dict[lxml.html.HtmlElement, int],
) -> bool:  # fmt: skip
    """A figure within the article whose caption alone was dropped keeps its picture."""
    return (
        el.tag == "figure"
        and end.get(el, 0) >= lead_from
        and start.get(el, 0) <= tail_to
        and any(True for _ in el.iter(*PICTURES))
    )


def _holder(node: TextNode) -> lxml.html.HtmlElement:
    el, is_tail = node
    parent = el.getparent() if is_tail else el
    return parent if parent is not None else el


def _common_ancestor(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement:
    chain = [elements[0], *elements[0].iterancestors()]
    position = {el: i for i, el in enumerate(chain)}
    lowest = 0
    for el in elements[1:]:
        while el not in position:
            el = el.getparent()
        lowest = max(lowest, position[el])
    return chain[lowest]
