"""Each item's own fields as the old generator read them, from the XML tree.

The old generator read feeds with rss-parser 3.8.0 over xml2js: an item's
title, link, guid, author, content and date are the text the document holds,
decoded once by the XML parser and not trimmed; markup nested in the XML
(Atom's XHTML, HTML written unescaped in a description) it serialised again
inside a `<div>` that carries the content element's attributes. Whichever path
parses a feed (lxml's fast path or feedparser), parse.py takes these fields
from here, so one feed gives one result, and the archive gets the old
generator's bytes for them. feedparser still decides which elements are items
and gives the rest (tags, media, xml:base); a tree whose items do not line up
with feedparser's is not used.

Where the old generator lost a feed (an item without a title or content, a
relative link...) there is nothing to be faithful to, and this module gives
what a reader would expect instead (docs/format.md lists each case).
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

_RSS_NAMESPACES = {None, "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_ATOM_NAMESPACES = {"http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#", None}
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
_MEDIA = "http://search.yahoo.com/mrss/"
_XML = "http://www.w3.org/XML/1998/namespace"
_PLAIN_TYPES = {None, "", "text", "text/plain"}

_STRICT = etree.XMLParser(
    resolve_entities="internal", no_network=True, huge_tree=False, load_dtd=False
)
_RECOVER = etree.XMLParser(
    resolve_entities="internal", no_network=True, huge_tree=False, load_dtd=False, recover=True
)


@dataclass
class RawItem:
    """One item's fields; None where the item has no such element."""

    title: str | None = None
    link: str | None = None  # RSS <link>; Atom: rel="alternate", else the first link
    guid: str | None = None  # RSS <guid>
    author: str | None = None  # <author> (Atom: its <name>), else dc:creator
    content: str | None = None
    content_is_html: bool = True
    summary: str | None = None  # description (Atom: summary) when the content is another element
    dates: list[str] = field(default_factory=list)  # pubDate, dc:date; Atom: published, updated
    tags: list[str] = field(default_factory=list)  # category (Atom: its term)
    enclosures: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    # (url, type, media:content's medium) of enclosures and media:content, in order


def parse_tree(document: bytes) -> etree._Element | None:
    """The document's tree: strictly, else as libxml2 recovers it; None when
    even that fails. Blank lines before the XML declaration (a common slip)
    are dropped first: libxml2's recovery from them garbles entities."""
    stripped = document.lstrip(b" \t\r\n")
    if stripped.startswith(b"<?xml"):
        document = stripped
    try:
        return etree.fromstring(document, _STRICT)
    except (etree.XMLSyntaxError, ValueError):
        pass
    # libxml2's recovery drops every entity reference after the first error
    # (`&lt;b&gt;` becomes `b`): mend the usual faults first.
    document = repair(document)
    for parser in (_STRICT, _RECOVER):
        try:
            root = etree.fromstring(document, parser)
        except (etree.XMLSyntaxError, ValueError):
            continue
        if root is not None:
            return root
    return None


_INVALID_CHARACTERS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_VERBATIM = re.compile(rb"(<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>)", re.S)
_REFERENCE = re.compile(rb"&(?:([A-Za-z_][\w.-]*)|#[0-9]+|#x[0-9A-Fa-f]+);|&")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY\s+([\w.:-]+)")
_PREDEFINED = {b"amp", b"lt", b"gt", b"quot", b"apos"}


def repair(document: bytes) -> bytes:
    """Mend what makes most ill-formed feeds ill-formed: control characters
    XML forbids, a bare `&`, and HTML's named entities (`&nbsp;`), outside
    CDATA sections and comments."""
    declared = set(_ENTITY_DECLARATION.findall(document[: document.find(b"<", 1) + 65536]))
    parts = _VERBATIM.split(_INVALID_CHARACTERS.sub(b"", document))
    for index in range(0, len(parts), 2):  # the parts outside CDATA and comments
        parts[index] = _REFERENCE.sub(lambda m: _mend_reference(m, declared), parts[index])
    return b"".join(parts)


def _mend_reference(match: re.Match[bytes], declared: set[bytes]) -> bytes:
    name = match.group(1)
    if match.group() == b"&":
        return b"&amp;"
    if name is None or name in _PREDEFINED or name in declared:
        return match.group()
    text = html.entities.html5.get(name.decode("ascii", "replace") + ";")
    if text is None:
        return b"&amp;" + match.group()[1:]
    return "".join(f"&#{ord(char)};" for char in text).encode("ascii")


def read_items(root: etree._Element) -> list[RawItem] | None:
    """The items of an RSS 0.9x/1.0/2.0 or Atom document, in document order;
    None for anything else."""
    namespace, name = _split(root.tag)
    if name == "rss" and namespace is None:
        channel = next(_children(root, "channel", _RSS_NAMESPACES), None)
        items = list(_children(channel, "item", _RSS_NAMESPACES)) if channel is not None else []
        return [_rss_item(item) for item in items]
    if name == "RDF" and namespace == _RDF:
        return [_rss_item(item) for item in _children(root, "item", _RSS_NAMESPACES)]
    if name == "feed" and namespace in _ATOM_NAMESPACES:
        return [_atom_entry(entry, namespace) for entry in _children(root, "entry", {namespace})]
    return None


def _rss_item(item: etree._Element) -> RawItem:
    kids = _Kids(item)
    raw = RawItem()
    # rss-parser copies dc:title first, then title over it.
    title = kids.first("title", _RSS_NAMESPACES)
    raw.title = _text_of(title if title is not None else kids.first("title", {_DC}))
    raw.link = _text_of(kids.first("link", _RSS_NAMESPACES))
    raw.guid = _text_of(kids.first("guid", _RSS_NAMESPACES))
    raw.author = _text_of(kids.first("author", _RSS_NAMESPACES)) or _text_of(
        kids.first("creator", {_DC})
    )
    description = kids.first("description", _RSS_NAMESPACES)
    raw.content, raw.content_is_html = _content(kids, description, html=True)
    raw.summary = _summary(description, raw.content)
    raw.dates = _texts(kids.first("pubDate", _RSS_NAMESPACES), kids.first("date", {_DC}))
    categories = kids.all("category", _RSS_NAMESPACES)
    raw.tags = _unique((_text_of(c) or "").strip() for c in categories)
    raw.enclosures = [
        (e.get("url") or "", e.get("type"), None) for e in kids.all("enclosure", _RSS_NAMESPACES)
    ] + _media_contents(kids)
    return raw


def _atom_entry(entry: etree._Element, namespace: str | None) -> RawItem:
    kids, atom = _Kids(entry), {namespace}
    raw = RawItem()
    raw.title = _text_of(kids.first("title", atom))
    raw.link = _atom_link(kids, atom)
    author = kids.first("author", atom)
    if author is not None:
        name = _first(author, "name", atom)
        raw.author = _text_of(name) if name is not None else _text_of(author)
    raw.author = raw.author or _text_of(kids.first("creator", {_DC}))
    content = kids.first("content", atom)
    summary = kids.first("summary", atom)
    if content is None:
        content = summary  # the old generator lost such feeds
    raw.content, raw.content_is_html = _content(
        kids, content, html=content is not None and content.get("type") not in _PLAIN_TYPES
    )
    raw.summary = _summary(summary, raw.content)
    raw.dates = _texts(kids.first("published", atom), kids.first("updated", atom))
    raw.tags = _unique((c.get("term") or "").strip() for c in kids.all("category", atom))
    raw.enclosures = [
        (link.get("href") or "", link.get("type"), None)
        for link in kids.all("link", atom)
        if link.get("rel") == "enclosure"
    ] + _media_contents(kids)
    return raw


def _media_contents(kids: _Kids) -> list[tuple[str, str | None, str | None]]:
    """media:content, of the item and of its media:groups."""
    found = []
    for parent in [kids, *(_Kids(group) for group in kids.all("group", {_MEDIA}))]:
        for content in parent.all("content", {_MEDIA}):
            found.append((content.get("url") or "", content.get("type"), content.get("medium")))
    return found


def _atom_link(kids: _Kids, atom: set[str | None]) -> str | None:
    """rss-parser's choice: the first link with rel="alternate", else the first link."""
    links = list(kids.all("link", atom))
    for link in links:
        if link.get("rel") == "alternate":
            return link.get("href")
    return links[0].get("href") if links else None


def _content(kids: _Kids, own: etree._Element | None, *, html: bool) -> tuple[str | None, bool]:
    """(content, is_html) in the old generator's order: content:encoded,
    media:group's media:description, then the item's own description or content."""
    encoded = kids.first("encoded", {_CONTENT})
    if encoded is not None and (value := _element_content(encoded)):
        return value, True
    group = kids.first("group", {_MEDIA})
    description = _first(group, "description", {_MEDIA}) if group is not None else None
    if description is not None:
        return _text_of(description) or "", False  # YouTube's description is plain text
    if own is not None:
        return _element_content(own), html
    return None, True


_AUDIO_SUFFIXES = (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac")
_VIDEO_SUFFIXES = (".mp4", ".m4v", ".webm", ".mov", ".ogv")


def media_kind(url: str, mime: str | None, medium: str | None) -> str | None:
    """"audio", "video" or None (images and the rest): by type, media:content's
    medium, else the file name's suffix when the type says nothing."""
    mime = (mime or "").strip().lower()
    for kind in ("audio", "video"):
        if mime.startswith(f"{kind}/") or mime.startswith(f"x-{kind}/") or medium == kind:
            return kind
    if mime and mime not in ("application/octet-stream", "binary/octet-stream"):
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith(_AUDIO_SUFFIXES):
        return "audio"
    if path.endswith(_VIDEO_SUFFIXES):
        return "video"
    return None


def _unique(values: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _summary(element: etree._Element | None, content: str | None) -> str | None:
    if element is None:
        return None
    value = _element_content(element)
    return None if value == content else value


# --- xml2js's view of an element ------------------------------------------------------------


def _text_of(element: etree._Element | None) -> str | None:
    """An element's text as a string: all the text inside it (xml2js kept only
    the text directly inside, dropping that of nested elements)."""
    if element is None:
        return None
    if not len(element):
        return element.text or ""
    return "".join(element.itertext())


def _texts(*elements: etree._Element | None) -> list[str]:
    return [text for element in elements if (text := _text_of(element))]


def _element_content(element: etree._Element) -> str:
    """rss-parser's getContent: the text of an element without nested
    elements; otherwise the element serialised as `<div ...>...</div>`."""
    if not _has_child_elements(element):
        text = _direct_text(element)
        if not element.attrib or text.strip():
            return text
    return _serialise(element, "div", top=True)


def _serialise(element: etree._Element, name: str, *, top: bool = False) -> str:
    """xmlbuilder's output for xml2js's object of `element`, in document order.

    xml2js moved an element's text before its child elements and grouped
    those by name; here text and elements keep their order, which is the
    same output wherever the order was not changed. Of an element with both
    text and elements (mixed content) rss-parser kept only the text, as is:
    that text stays as is here too (it is the feed's HTML), with the elements
    in their places.
    """
    escape = (lambda text: text) if top else _escape_text
    attributes = "".join(
        f' {key}="{_escape_attribute(value)}"' for key, value in _attributes(element)
    )
    inner: list[str] = []
    keep_text = not _has_child_elements(element) and not element.attrib
    keep_text = keep_text or bool(_direct_text(element).strip())
    if keep_text and element.text:
        inner.append(escape(element.text))
    for child in element:
        if isinstance(child.tag, str):
            inner.append(_serialise(child, _qualified_name(child)))
        if keep_text and child.tail:
            inner.append(escape(child.tail))
    body = "".join(inner)
    return f"<{name}{attributes}>{body}</{name}>" if body else f"<{name}{attributes}/>"


def _attributes(element: etree._Element) -> Iterator[tuple[str, str]]:
    """Attributes as written: namespace declarations made on this element
    first (xml2js saw them as attributes), then the element's own."""
    parent = element.getparent()
    inherited = parent.nsmap if parent is not None else {}
    for prefix, uri in element.nsmap.items():
        if inherited.get(prefix) != uri:
            yield ("xmlns" if prefix is None else f"xmlns:{prefix}"), uri
    for key, value in element.attrib.items():
        yield _qualified_attribute(element, key), value


def _qualified_name(element: etree._Element) -> str:
    namespace, name = _split(element.tag)
    return f"{element.prefix}:{name}" if element.prefix else name


def _qualified_attribute(element: etree._Element, key: str) -> str:
    namespace, name = _split(key)
    if namespace is None:
        return name
    if namespace == _XML:
        return f"xml:{name}"
    for prefix, uri in element.nsmap.items():
        if uri == namespace and prefix:
            return f"{prefix}:{name}"
    return name


def _direct_text(element: etree._Element) -> str:
    return (element.text or "") + "".join(child.tail or "" for child in element)


def _has_child_elements(element: etree._Element) -> bool:
    return any(isinstance(child.tag, str) for child in element)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\r", "&#xD;"
    )


def _escape_attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


# --- finding elements ----------------------------------------------------------------------


def _split(tag: object) -> tuple[str | None, str]:
    text = str(tag)
    if text.startswith("{"):
        namespace, _, name = text[1:].partition("}")
        return namespace, name
    return None, text


class _Kids:
    """An element's child elements by local name: an item is asked for a dozen
    names, and walking its children for each was most of this module's time."""

    def __init__(self, parent: etree._Element | None) -> None:
        self.by_name: dict[str, list[etree._Element]] = {}
        for child in parent if parent is not None else ():
            if isinstance(child.tag, str):
                self.by_name.setdefault(_split(child.tag)[1], []).append(child)

    def all(self, name: str, namespaces: set[str | None]) -> Iterator[etree._Element]:
        """Child elements `name` in one of `namespaces`. An extension's element
        (content:, dc:, media:) also matches under its usual prefix or a
        misspelt namespace (`.../modules/content` without the slash, seen in
        real feeds): rss-parser went by the prefix alone."""
        for child in self.by_name.get(name, ()):
            namespace = _split(child.tag)[0]
            if namespace in namespaces:
                yield child
                continue
            prefixes = {_USUAL_PREFIX[n] for n in namespaces if n in _USUAL_PREFIX}
            loose = {_loose(n) for n in namespaces if n in _USUAL_PREFIX}
            if prefixes and (child.prefix in prefixes or _loose(namespace) in loose):
                yield child

    def first(self, name: str, namespaces: set[str | None]) -> etree._Element | None:
        return next(self.all(name, namespaces), None)


def _children(
    parent: etree._Element | None, name: str, namespaces: set[str | None]
) -> Iterator[etree._Element]:
    return _Kids(parent).all(name, namespaces)


def _first(
    parent: etree._Element | None, name: str, namespaces: set[str | None]
) -> etree._Element | None:
    return _Kids(parent).first(name, namespaces)


_USUAL_PREFIX = {_CONTENT: "content", _DC: "dc", _MEDIA: "media"}


def _loose(namespace: str | None) -> str:
    return (namespace or "").rstrip("/").lower()
