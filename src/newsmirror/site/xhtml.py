"""Post HTML -> XHTML that EPUB's content models accept (epubcheck validates them).

Browsers forgive what feeds send: a `<p>` inside a `<span>`, a link inside a
link, a list holding paragraphs. EPUB reading systems check XHTML against
HTML's content models, so the digest repairs what the site can leave:
- an element that may hold only phrasing content (`span`, `em`, `p`,
  `h2`...) and holds a block (`div`, `p`, `ul`, `table`...) becomes a `div`
  (headings keep their level as a `div` with class h2...), working upwards;
- a link inside a link loses its tag (its text stays), and `rel` goes from
  links without `href`; a `wbr` holding text (libxml2's HTML parser does not
  know it is empty) loses its tag;
- a list's children that are not `li` are wrapped in one; a table's stray
  cells, text and blocks are wrapped in rows and cells; a `dl` that is not groups
  of `dt` then `dd` becomes a `div`;
- a figure's caption goes last when it is not first (and only one stays one);
- `summary` outside `details`, `caption` outside tables, `figcaption`
  outside figures and list items outside lists lose their tag.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

# Characters XML 1.0 does not allow (an XHTML page holding one is not well-formed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
PHRASING_ONLY = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "span", "em", "strong", "b", "i", "u", "s",
    "small", "cite", "q", "sub", "sup", "time", "code", "abbr", "mark", "dfn", "kbd", "samp",
    "var", "bdi", "bdo", "ruby", "rt", "rp", "pre", "dt", "summary", "caption", "a",
})  # fmt: skip
BLOCKS = frozenset({
    "address", "blockquote", "details", "div", "dl", "figure", "figcaption", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul", "li", "dd", "dt", "tr", "td", "th",
    "tbody", "thead", "tfoot", "caption", "colgroup", "col", "summary", "section", "article",
})  # fmt: skip
_TABLE_PARTS = frozenset({"caption", "colgroup", "thead", "tbody", "tfoot", "tr"})
_ROW_GROUPS = frozenset({"thead", "tbody", "tfoot"})


def to_xhtml(html: str) -> lxml.html.HtmlElement:
    """A `div` holding the fragment, repaired; serialise its children with `serialise`."""
    root = lxml.html.fragment_fromstring(_NOT_XML.sub("", html) or "<p></p>", create_parent="div")
    repair(root)
    return root


def serialise(root: lxml.html.HtmlElement) -> str:
    """The children of `root` as well-formed XML (text before the first child in a `p`)."""
    parts = [etree.tostring(child, method="xml", encoding="unicode") for child in root]
    text = (root.text or "").strip()
    lead = f"<p>{_escape(text)}</p>" if text else ""
    return lead + "".join(parts)


def repair(root: lxml.html.HtmlElement) -> None:
    for a in list(root.iter("a")):
        if any(up.tag == "a" for up in a.iterancestors()):
            a.drop_tag()
        elif a.get("href") is None:
            a.attrib.pop("rel", None)  # rel needs an href
    for wbr in list(root.iter("wbr")):
        if wbr.text or len(wbr):  # libxml2's HTML parser does not know wbr is empty
            wbr.drop_tag()
    _fix_misplaced(root)
    _fix_figures(root)
    _fix_lists_and_tables(root)
    # Deepest first: a child turned into a block can make its parent one too.
    for el in reversed(list(root.iter())):
        if el is root or not isinstance(el.tag, str) or el.tag not in PHRASING_ONLY:
            continue
        if any(isinstance(c.tag, str) and _is_block(c) for c in el):
            if el.tag == "a":
                continue  # transparent: a link may hold blocks where its parent may
            if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                el.set("class", el.tag)
            el.tag = "div"


def _is_block(el: lxml.html.HtmlElement) -> bool:
    if el.tag in BLOCKS:
        return True
    return el.tag == "a" and any(isinstance(c.tag, str) and _is_block(c) for c in el)


def _valid_dl(tags: list[str]) -> bool:
    """Groups of one or more dt then one or more dd (or only div wrappers)."""
    if all(t == "div" for t in tags):
        return True
    pattern = "".join("t" if t == "dt" else "d" if t == "dd" else "x" for t in tags)
    return re.fullmatch(r"(t+d+)*", pattern) is not None


def _fix_misplaced(root: lxml.html.HtmlElement) -> None:
    needs = {"summary": "details", "caption": "table", "figcaption": "figure", "li": None}
    for el in list(root.iter(*needs)):
        parent = el.getparent()
        if parent is None:
            continue
        if el.tag == "li":
            ok = parent.tag in ("ul", "ol")
        else:
            ok = parent.tag == needs[el.tag]
        if not ok:
            el.tag = "div" if el.tag == "li" else "span" if el.tag == "summary" else "div"


def _fix_figures(root: lxml.html.HtmlElement) -> None:
    """One figcaption, first or last in its figure."""
    for figure in list(root.iter("figure")):
        captions = [c for c in figure if c.tag == "figcaption"]
        for extra in captions[1:]:
            extra.tag = "div"
        if captions and len(figure) > 1 and captions[0] is not figure[0]:
            caption = captions[0]
            if caption.tail and caption.tail.strip():
                prev = caption.getprevious()
                prev.tail = (prev.tail or "") + caption.tail
            caption.tail = None
            figure.append(caption)  # lxml moves it


def _fix_lists_and_tables(root: lxml.html.HtmlElement) -> None:
    for lst in list(root.iter("ul", "ol")):
        _wrap_strays(lst, "li", lambda c: c.tag == "li")
    for dl in list(root.iter("dl")):
        tags = [c.tag for c in dl if isinstance(c.tag, str)]
        if (dl.text or "").strip() or not _valid_dl(tags):
            dl.tag = "div"
            for item in dl:
                if item.tag in ("dt", "dd"):
                    item.tag = "div"
    for group in list(root.iter(*_ROW_GROUPS)):
        if group.getparent() is None or group.getparent().tag != "table":
            group.drop_tag()
    for tr in list(root.iter("tr")):
        if tr.getparent() is None or tr.getparent().tag not in ("table", *_ROW_GROUPS):
            tr.tag = "div"
            continue
        _wrap_strays(tr, "td", lambda c: c.tag in ("td", "th"))
    for table in list(root.iter("table")):
        _wrap_strays(table, "tr", lambda c: c.tag in _TABLE_PARTS, inner="td")
    for cell in list(root.iter("td", "th")):
        if cell.getparent() is None or cell.getparent().tag != "tr":
            cell.tag = "div"


def _wrap_strays(parent, tag: str, ok, inner: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wrap runs of children (and text) of `parent` that `ok` refuses in a new `tag`
    (holding an `inner` element when given)."""
    if (parent.text or "").strip():
        outer, target = _new(tag, inner)
        target.text, parent.text = parent.text, None
        parent.insert(0, outer)
    target = None
    for child in list(parent):
        if isinstance(child.tag, str) and ok(child):
            target = None
            if (child.tail or "").strip():
                outer, target = _new(tag, inner)
                target.text, child.tail = child.tail, None
                child.addnext(outer)
            continue
        if target is None:
            outer, target = _new(tag, inner)
            child.addprevious(outer)
        target.append(child)


def _new(tag: str, inner: str | None) -> tuple[lxml.html.HtmlElement, lxml.html.HtmlElement]:
    outer = lxml.html.Element(tag)
    if not inner:
        return outer, outer
    cell = lxml.html.Element(inner)
    outer.append(cell)
    return outer, cell


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
