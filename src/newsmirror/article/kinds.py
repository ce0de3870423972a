"""Kinds of page elements that are not the article, named by what they are.

Two uses: `drop_page_chrome` removes, before any extractor runs, what is never
article text (scripts, hidden elements, menus, form controls, cookie banners);
`junk_kind` names the kind of a block the extractors kept but that is not article
text (share bars, newsletter boxes, "read also" lists, comment sections...).
Rules name a kind of element, never a site: per-site rules live in rules.py.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

NEVER_TEXT = ("script", "style", "noscript", "template", "link", "meta", "button",
              "input", "select", "option", "textarea", "nav")  # fmt: skip
_ROLES = frozenset(("navigation", "menu", "menubar", "search", "dialog", "alertdialog"))
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
# Cookie and consent banners: class or id words.
_CONSENT = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|onetrust|didomi|usercentrics|cookiebot"
    r"|cookie-?notice|cookie-?banner)(?:$|[\s_-])",
    re.I,
)


_MAYBE_HIDDEN_XPATH = etree.XPath("//*[@hidden or @aria-hidden='true' or @role or @style]")
def drop_page_chrome(root: lxml.html.HtmlElement) -> None:
    """Remove what no extractor should ever see as text (in place)."""
    doomed = list(root.iter(*NEVER_TEXT, etree.Comment, etree.ProcessingInstruction))
    for el in _MAYBE_HIDDEN_XPATH(root):
        style = el.get("style")
        if (
            el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or el.get("role") in _ROLES
            or (style and _HIDDEN_STYLE.search(style))
        ):
            doomed.append(el)
    for el in root.iter():
        classes, ident = el.get("class"), el.get("id")
        if (classes or ident) and _CONSENT.search(f"{classes} {ident}"):
            doomed.append(el)
    for el in doomed:
        if el.tag not in ("html", "body") and el.getparent() is not None:
            el.drop_tree()


# Kinds of containers inside a page that hold no article text, by class or id words.
# A word matches at its start ("relatedPosts", "jp-relatedposts", "share-bar").
_KIND_WORDS = {
    "comments": r"comment(?!ary)|kommentar|respond|disqus|discussion",
    "related": r"related|recommend|read-?more|more-?(?:stories|articles|news)|also-?read"
               r"|most-?(?:read|popular)|popular|top-?10|further-?read",
    "share": r"share|sharing|sharedaddy|social|addthis|shariff|follow-?us",
    "newsletter": r"newsletter|subscri|signup|sign-up|optin|opt-in|promo|paywall",
    "caption": r"caption|bildunterschrift",
    "credit": r"credit|copyright|photo-?info|image-?info",
    "author": r"author-?(?:bio|box|info|description|profile)|about-?(?:the-?)?author|post-?author",
    "meta": r"(?:entry|post|article|content)-?meta|byline|dateline|breadcrumb|tag-?list|tags"
            r"|categor|post-?date|published|updated",
    "toc": r"toc(?![a-z_])|table-?of-?contents",
    "ads": r"ad(?:s|vert|vertisement|-?slot|-?container|-?unit)?(?![a-z])|anzeige|sponsor",
    "sidebar": r"sidebar",
}  # fmt: skip
# One pattern, a named group per kind: the first kind listed wins where two match.
_KINDS = re.compile(
    "|".join(rf"(?<![a-z])(?P<{kind}>{words})" for kind, words in _KIND_WORDS.items()), re.I
)
LEAD_WORDS = re.compile(
    r"(?<![a-z])(?:lead|intro|teaser-?text|abstract|excerpt|chapo|perex|standfirst|deck"
    r"|sub-?headline|subtitle|summary|article-?description|einleitung)",
    re.I,
)


# Class words that label a post's taxonomy (WordPress: "tag-social", "category-related"),
# not the element's kind.
_TAXONOMY = re.compile(r"^(?:(?:tag|category|categories|postid|format|status|type)-|post-\d)", re.I)
ENABLED_KINDS = frozenset(_KIND_WORDS)


def kind_of(el: lxml.html.HtmlElement) -> str | None:
    """The kind an element's class or id names, if it names one."""
    classes = el.get("class", "")
    words = " ".join(w for w in classes.split() if not _TAXONOMY.match(w)) if classes else ""
    words = f"{words} {el.get('id', '')}"
    if len(words) < 3:
        return None
    found = None
    for match in _KINDS.finditer(words):
        kind = match.lastgroup
        if kind in ENABLED_KINDS and (found is None or _ORDER[kind] < _ORDER[found]):
            found = kind
    return found


_ORDER = {kind: i for i, kind in enumerate(_KIND_WORDS)}


# Short lines whose words say what they are. Several languages: the pages are.
TEXT_KIND_CHARS = 160
_TEXT_KINDS = {
    "newsletter": r"newsletter|subscri(?:be|ption)|abonn(?:ieren|iere|ez|er)\b|subskrypc|suscr[ií]b",
    "credit": r"^\(?\s*(?:foto|fotos|photo|photos|bild|bilder|image|images|quelle|source|credit|credits"
              r"|copyright|©|titelbild|beitragsbild)\b|\b(?:foto|photo|bild)s?\s*:\s*$|^©",
    "date": r"^(?:(?:stand|aktualisiert|publiziert|veröffentlicht|updated?|published|posted|release date"
            r"|last modified|publié|mis à jour|publicado|actualizado|pubblicato|aggiornato)"
            r"(?:\s+am|\s+on)?\s*:?\s*)?(?:\d{1,2}[./-]\s?\d{1,2}[./-]\s?\d{2,4}|\d{4}-\d{2}-\d{2})?"
            r"(?:,?\s*\d{1,2}[:.]\d{2}(?:\s*(?:uhr|h|am|pm))?)?\s*$",
}  # fmt: skip
_TEXT_KIND_PATTERNS = {kind: re.compile(words, re.I) for kind, words in _TEXT_KINDS.items()}
ENABLED_TEXT_KINDS = frozenset(_TEXT_KINDS)


def text_kind(text: str) -> str | None:
    """The kind a short line's own words name ("Foto: ...", "Subscribe to ...", a bare date)."""
    if len(text) > TEXT_KIND_CHARS:
        return None
    for kind, pattern in _TEXT_KIND_PATTERNS.items():
        if kind in ENABLED_TEXT_KINDS and pattern.search(text):
            return kind
    return None
