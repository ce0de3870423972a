"""Kinds of page elements that are not the article, named by what they are.

`drop_page_chrome` removes, before any extractor runs, what is never article
text: scripts, hidden elements, menus, form controls, cookie banners.
`kind_of` names the kind of container an element is by its class or id words
(comments, related links, share bars, newsletter boxes, captions, author boxes,
post metadata, tables of contents, ads, sidebars), by its HTML element (an
aside, a footer) or as a short byline; `text_kind` names a short line by its own
words (a newsletter call, a photo credit, a bare date, a blog's "posted in"
line); `names_credit` tells a caption that credits a photographer or agency;
`LEAD_WORDS` names an article's lead. The rules name a kind of element, never a
site: per-site rules live in rules.py and are not used here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
from lxml import etree

NEVER_TEXT = ("script", "style", "noscript", "template", "link", "meta", "button",
              "input", "select", "option", "textarea", "nav")  # fmt: skip
_ROLES = frozenset(("navigation", "menu", "menubar", "search", "dialog", "alertdialog"))
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
_CONSENT = re.compile(
    r"(?:^|[\s_-])(?:cookies?|consent|gdpr|onetrust|didomi|usercentrics|cookiebot"
    r"|cookie-?notice|cookie-?banner)(?:$|[\s_-])",
    re.I,
)
# What every match of _CONSENT holds: a cheap test, lower-cased, that most class and
# id words fail (exact for ASCII words; others go to _CONSENT itself).
_CONSENT_STEMS = re.compile("cookie|consent|gdpr|onetrust|didomi|usercentrics")


# A <noscript> holding this much text in paragraphs, found nowhere else on the page,
# is the article of a page that writes it with a script (a blog template).
NOSCRIPT_ARTICLE = 400


def drop_page_chrome(root: lxml.html.HtmlElement) -> None:
    """Remove what no extractor should ever see as text (in place)."""
    doomed = list(root.iter(*NEVER_TEXT, etree.Comment, etree.ProcessingInstruction))
    unwrap = [el for el in root.iter("noscript") if _holds_article(el, root)]
    doomed = [el for el in doomed if el not in unwrap]
    for el in unwrap:
        el.drop_tag()
    # One pass over the elements for both attribute tests: an XPath selecting the
    # elements with these attributes took longer than the Python loop.
    hidden: list[lxml.html.HtmlElement] = []
    consent: list[lxml.html.HtmlElement] = []
    for el in root.iter(etree.Element):
        attrs = el.attrib
        if not attrs:
            continue
        style = attrs.get("style")
        if (
            attrs.get("hidden") is not None
            or attrs.get("aria-hidden") == "true"
            or attrs.get("role") in _ROLES
            or (style and _HIDDEN_STYLE.search(style))
        ):
            hidden.append(el)
        classes, ident = attrs.get("class"), attrs.get("id")
        if (classes or ident) and _names_consent(f"{classes} {ident}"):
            consent.append(el)
    for el in (*doomed, *hidden, *consent):
        if el.tag not in ("html", "body") and el.getparent() is not None:
            el.drop_tree()


def _names_consent(words: str) -> bool:
    if words.isascii() and _CONSENT_STEMS.search(words.lower()) is None:
        return False
    return _CONSENT.search(words) is not None


def _holds_article(noscript: lxml.html.HtmlElement, root: lxml.html.HtmlElement) -> bool:
    paragraphs = [" ".join(p.text_content().split()) for p in noscript.iter("p")]
    if len(paragraphs) < 2 or sum(map(len, paragraphs)) < NOSCRIPT_ARTICLE:
        return False
    longest = max(paragraphs, key=len)[:200]
    outside = " ".join(
        " ".join(p.text_content().split())
        for p in root.iter("p")
        if not any(a is noscript for a in p.iterancestors())
    )
    return longest not in outside


# Class or id words of containers that hold no article text. A word matches where
# it starts ("relatedPosts", "jp-relatedposts", "share-bar"); where two kinds
# match, the one listed first wins.
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
_KINDS_PATTERN = "|".join(rf"(?<![a-z])(?P<{kind}>{words})" for kind, words in _KIND_WORDS.items())
_KIND_ORDER = {kind: i for i, kind in enumerate(_KIND_WORDS)}
# Class words that label a post's taxonomy (WordPress: "tag-social", "category-related",
# "post-123"), not what the element is.
_TAXONOMY_PATTERN = r"^(?:(?:tag|category|categories|postid|format|status|type)-|post-\d)"
# Class and id words are matched case-insensitively. ASCII words (nearly all) are
# lower-cased and matched without re.I: the same matches, several times faster.
_KINDS, _KINDS_LOWER = re.compile(_KINDS_PATTERN, re.I), re.compile(_KINDS_PATTERN)
_TAXONOMY, _TAXONOMY_LOWER = re.compile(_TAXONOMY_PATTERN, re.I), re.compile(_TAXONOMY_PATTERN)

# Class or id words of an article's lead (standfirst, deck, intro).
LEAD_WORDS = re.compile(
    r"(?<![a-z])(?:lead|intro|teaser-?text|abstract|excerpt|chapo|perex|standfirst|deck"
    r"|sub-?headline|subtitle|summary|article-?description|einleitung)",
    re.I,
)


# HTML's own elements for content beside the article: an aside is tangential to
# it, a footer holds who wrote it, where it was filed, copyright.
_TAG_KINDS = {"aside": "sidebar", "footer": "footer"}
_ROLE_KINDS = {"complementary": "sidebar", "contentinfo": "footer"}


# A byline: a short element whose class or id names the author, or that is marked as
# the author (rel, itemprop). readability.js takes the first one out of the article as
# its metadata (decide.block_kinds does the same).
BYLINE_MAX = 100  # characters, as readability.js
_BYLINE = re.compile(r"byline|author|dateline|writtenby")  # matched lower-cased


def kind_of(el: lxml.html.HtmlElement) -> str | None:
    """The kind an element's class or id names, if it names one, else the kind its
    element or ARIA role is, else "byline" for a short element naming its author."""
    found = _named_kind(el)
    if found is None:
        found = _TAG_KINDS.get(el.tag) or _ROLE_KINDS.get(el.get("role", ""))
    if found is None and _is_byline(el):
        found = "byline"
    return found


def _is_byline(el: lxml.html.HtmlElement) -> bool:
    attrs = el.attrib
    if not attrs:
        return False
    marked = (
        _BYLINE.search(f"{attrs.get('class', '')} {attrs.get('id', '')}".lower())
        or attrs.get("rel") == "author"
        or "author" in attrs.get("itemprop", "")
    )
    return bool(marked) and len(el.text_content().strip()) < BYLINE_MAX


def _named_kind(el: lxml.html.HtmlElement) -> str | None:
    return _kind_of_words(el.get("class", ""), el.get("id", ""))


# Pages repeat their class names (every card, every comment, every paragraph of a
# template), so the same words are matched again and again.
@lru_cache(maxsize=4096)
def _kind_of_words(classes: str, ident: str) -> str | None:
    if classes.isascii() and ident.isascii():
        classes, ident = classes.lower(), ident.lower()
        taxonomy, kinds = _TAXONOMY_LOWER, _KINDS_LOWER
    else:
        taxonomy, kinds = _TAXONOMY, _KINDS
    words = " ".join(w for w in classes.split() if not taxonomy.match(w)) if classes else ""
    words = f"{words} {ident}"
    if len(words) < 3:
        return None
    found = None
    for match in kinds.finditer(words):
        kind = match.lastgroup
        if kind is not None and (found is None or _KIND_ORDER[kind] < _KIND_ORDER[found]):
            found = kind
    return found


# Short lines whose own words say what they are, in the languages of the corpora.
TEXT_KIND_CHARS = 160
_TEXT_KINDS = {
    "newsletter": re.compile(
        r"newsletter|subscri(?:be|ption)|abonn(?:ieren|iere|ez|er)\b|subskrypc|suscr[ií]b", re.I
    ),
    "credit": re.compile(
        r"^\(?\s*(?:fotos?|photos?|bild|bilder|images?|quelle|source|credits?|copyright|©"
        r"|titelbild|beitragsbild)\b|\b(?:foto|photo|bild)s?\s*:\s*$|^©"
        # ... or ends in one: "(Quelle: dpa)", "(REUTERS/Jane Doe)", "Foto: Jane Doe"
        r"|\((?:quelle|fotos?|photos?|bild|source|credits?)\s*:[^()]{2,80}\)\s*$"
        r"|\((?-i:[A-Z][A-Za-z]+)(?:\s?/\s?[^()/]+)+\)\s*$|\b(?:foto|photo|bild)\s*:\s*[^.]{2,60}$",
        re.I,
    ),
    # A blog's line under the post: "This entry was posted in ... Bookmark the permalink."
    "meta": re.compile(
        r"^(?:this entry was posted|dieser (?:eintrag|beitrag) wurde (?:am .{0,30})?veröffentlicht"
        r"|posted in\b|filed under\b|ce contenu a été publié|cette entrée a été publiée)"
        r"|\bpermalink\b",
        re.I,
    ),
    # An advertisement's label; a call to follow the site.
    "ads": re.compile(
        r"^\W*(?:anzeige|advertisement|werbung|publicidad|publicité|pubblicità|reklama"
        r"|sponsored|gesponsert)\b",
        re.I,
    ),
    "share": re.compile(
        r"\b(?:follow us|folg(?:e|t) uns|síguenos|siguenos|suivez-nous|seguici|obserwuj nas)\b", re.I
    ),
    # A date or time, alone or after a label ("Updated: 03.04.2020, 12:35").
    "date": re.compile(
        r"^(?:(?:stand|aktualisiert|publiziert|veröffentlicht|updated?|published|posted"
        r"|release date|last modified|publié|mis à jour|publicado|actualizado|pubblicato"
        r"|aggiornato)(?:\s+am|\s+on)?\s*:?\s*)?"
        r"(?:\d{1,2}[./-]\s?\d{1,2}[./-]\s?\d{2,4}|\d{4}-\d{2}-\d{2})?"
        r"(?:,?\s*\d{1,2}[:.]\d{2}(?:\s*(?:uhr|h|am|pm))?)?\s*$",
        re.I,
    ),
}


# PHP's error messages, printed into the page by a broken plugin or theme ("Warning:
# Use of undefined constant ... in /htdocs/wp-content/plugins/x.php on line 928").
_SERVER_ERROR = re.compile(
    r"(?<![^\W\d_])(?:PHP )?(?:Warning|Notice|Deprecated|Strict Standards|(?:Catchable )?Fatal error"
    r"|Parse error)\s*:\s.{0,500}? in \S+\.php(?::\d+)? on line \d+",
    re.S,
)
SERVER_ERROR_REST = 20  # letters and digits besides the messages: more is text of its own
NEVER_LAYOUT = frozenset(("server-error",))  # kinds that are never how an article is laid out


def server_errors(text: str) -> bool:
    """Whether a block's text is PHP error messages and nothing else."""
    if " on line " not in text:
        return False
    rest = _SERVER_ERROR.sub("", text)
    return len(re.sub(r"[\W_]+", "", rest)) < SERVER_ERROR_REST


def text_kind(text: str) -> str | None:
    """The kind a short line's own words name ("Foto: ...", "Subscribe to ...", a bare date),
    or "server-error" for a block of PHP's error messages, however long."""
    if server_errors(text):
        return "server-error"
    if len(text) > TEXT_KIND_CHARS or not text.strip():
        return None
    for kind, pattern in _TEXT_KINDS.items():
        if pattern.search(text):
            return kind
    return None


# A photographer's or an agency's credit anywhere in a caption.
_CREDIT_WORDS = re.compile(
    r"©|\b(?:fotos?|photos?|bild|image|getty|reuters|dpa|afp|epa|imago|shutterstock|istock"
    r"|credits?|quelle|source|picture alliance)\b",
    re.I,
)


def names_credit(text: str) -> bool:
    """Whether a caption credits a photographer or an agency ("Photo: …", "© dpa")."""
    return bool(_CREDIT_WORDS.search(text))
