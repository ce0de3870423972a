"""Allowlist HTML cleaning for posts.

lxml first rewrites the markup (absolute URLs, lazy images, video embeds,
tracking pixels, empty wrappers); nh3 then cleans the result with an allowlist
and is always the last step, so nothing the rewrites do can reintroduce active
content. Liquid syntax (`{{`, `{%`) is kept as text; posts.py escapes it for Jekyll.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import nh3

# lxml is imported where it is used: a site build rarely needs it (only for posts
# render.clean_for_page sends through sanitize_html), and importing it cost each
# of the build's three processes ~8 MB and the build 9 ms.
if TYPE_CHECKING:
    import lxml.html
    from lxml import etree

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
        "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
        "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s",
        "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
        "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
    }
)  # fmt: skip
_GLOBAL_ATTRS = {"lang", "dir", "title"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": _GLOBAL_ATTRS,
    "a": {"href", "hreflang", "type"},  # type: an audio/video link gets a player (site)
    "img": {"src", "alt", "width", "height", "data-original-src"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "abbr": {"title"},
}
# Removed with everything inside them; other disallowed tags are unwrapped.
DROP_WITH_CONTENT: frozenset[str] = frozenset(
    {"script", "style", "template", "noembed", "noframes", "xmp", "head", "title"}
)
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto", "data"})
MAX_DATA_IMAGE_BYTES = 32 * 1024
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);base64,([A-Za-z0-9+/=\s]+)\Z", re.I)

LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-url")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
TRACKER_HOSTS = (
    "feeds.feedburner.com",
    "feedproxy.google.com",
    "pixel.wp.com",
    "stats.wordpress.com",
    "google-analytics.com",
    "googletagmanager.com",
    "doubleclick.net",
    "scorecardresearch.com",
    "quantserve.com",
    "feedblitz.com",
    "pixel.facebook.com",
    "analytics.twitter.com",
    "medium.com/_/stat",
    "hm.baidu.com",
    "cnzz.com",
)
_WRAPPERS = ("div", "span", "p", "section", "article", "figure", "li", "font", "center", "b", "i")
_EMBED_TAGS = ("iframe", "embed", "object", "video")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")


def sanitize_html(html: str, base_url: str | None) -> str:
    """Clean untrusted article HTML into a safe fragment, links made absolute."""
    html = strip_invalid_chars(html or "")
    if not html.strip():
        return ""
    root = parse_fragment(html)
    if root is not None:
        _promote_lazy_images(root)
        if base_url:
            root.make_links_absolute(base_url, resolve_base_href=True, handle_failures="discard")
        _drop_active_content(root)
        _unwrap_foreign(root)
        _replace_embeds(root)
        _drop_tracking_pixels(root)
        _drop_empty_wrappers(root)
        html = serialize_fragment(root)
    return clean_allowlisted(html)


def clean_allowlisted(html: str) -> str:
    """The nh3 allowlist pass alone (safe to run on already-clean HTML)."""
    return _allowlist().clean(html).strip()


@cache
def _allowlist() -> nh3.Cleaner:
    # Built once: nh3.clean() with keyword arguments builds its rules on every call.
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


_INVALID_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# Numeric character references, which the parser turns into the characters they name.
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def strip_invalid_chars(text: str) -> str:
    """Drop control characters and lone surrogates, written out or as references
    (`&#x1;`): not valid in HTML, and lxml refuses them when the tree is edited."""
    text = _INVALID_CHARS.sub("", text)
    return _CHAR_REF.sub(_drop_invalid_ref, text) if "&#" in text else text


def _drop_invalid_ref(ref: re.Match[str]) -> str:
    code = int(ref[1], 16) if ref[1] else int(ref[2])
    return "" if code > 0x10FFFF or _INVALID_CHARS.match(chr(code)) else ref[0]


def parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    """Parse a fragment into a `<div>` holding it; None when lxml cannot parse it."""
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.fragment_fromstring(strip_invalid_chars(html), create_parent="div")
    except (etree.ParserError, ValueError):
        return None


def serialize_fragment(root: lxml.html.HtmlElement) -> str:
    """The inner HTML of the holder `parse_fragment` made."""
    import lxml.html

    parts = [root.text or ""]
    parts += [lxml.html.tostring(child, encoding="unicode") for child in root]
    return "".join(parts)


_URL_ATTRS = frozenset({"href", "src", "cite", "data-original-src"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")  # browsers skip these inside a scheme


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    # nh3 leaves some URL attributes (cite) unchecked, so every one is checked here.
    if attr in _URL_ATTRS:
        scheme = _SCHEME.match(_IGNORED_IN_URLS.sub("", value).lower())
        if scheme and scheme.group(1) == "data":
            ok = tag == "img" and attr == "src" and _is_small_data_image(value.strip())
            return value if ok else None
        if scheme and scheme.group(1) not in ("http", "https", "mailto"):
            return None
    if attr in ("width", "height") and not value.strip().isdigit():
        return None
    return value


def _is_small_data_image(value: str) -> bool:
    match = _DATA_IMAGE.match(value)
    if not match:
        return False
    try:
        data = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(data) <= MAX_DATA_IMAGE_BYTES


def _drop_active_content(root: lxml.html.HtmlElement) -> None:
    from lxml import etree

    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _remove_keep_tail(el)
    for el in list(
        root.iter(*DROP_WITH_CONTENT, "form", "button", "input", "link", "meta", "base")
    ):
        if el.tag in ("form", "button"):
            el.drop_tag()  # their text is readable; the tag itself is not wanted
        else:
            _remove_keep_tail(el)


def _unwrap_foreign(root: lxml.html.HtmlElement) -> None:
    # nh3 drops SVG/MathML with their text; unwrapping keeps the readable text.
    for el in list(root.iter("svg", "math", "plaintext", "listing")):
        if el.getparent() is None:
            continue
        if el.tag == "plaintext" and el.text:
            el.text = el.text.removesuffix("</body></html>")  # lxml lets it swallow the wrapper
        for inner in reversed(list(el.iter())):
            if inner is not el and isinstance(inner.tag, str):
                inner.drop_tag()
        el.drop_tag()


def _remove_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _promote_lazy_images(root: lxml.html.HtmlElement) -> None:
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        real = next((img.get(a).strip() for a in LAZY_SRC_ATTRS if (img.get(a) or "").strip()), "")
        if not real:
            srcset = next((img.get(a) for a in LAZY_SRCSET_ATTRS if (img.get(a) or "").strip()), "")
            picture = next(img.iterancestors("picture"), None)
            if not srcset and picture is not None:
                srcset = next((s.get("srcset", "") for s in picture.iter("source")), "")
            real = largest_in_srcset(srcset) or ""
        if real and (not src or _is_placeholder(src)):
            img.set("src", real)
    for source in list(root.iter("source")):
        if next(source.iterancestors("picture"), None) is not None:
            source.drop_tag()  # lxml may nest the next elements inside <source>
    for noscript in list(root.iter("noscript")):
        # Lazy-load pages repeat the image in <noscript>; keep it only if new.
        seen = {i.get("src") for i in root.iter("img") if noscript not in i.iterancestors()}
        imgs = list(noscript.iter("img"))
        if imgs and all(i.get("src") in seen for i in imgs):
            _remove_keep_tail(noscript)
        else:
            noscript.drop_tag()


def _is_placeholder(src: str) -> bool:
    low = src.lower()
    return low.startswith("data:") or any(
        w in low
        for w in ("placeholder", "blank.", "spacer.", "lazy", "loading.", "grey.", "pixel.")
    )


def largest_in_srcset(srcset: str) -> str | None:
    """The URL with the largest width (`800w`) or density (`2x`) in a srcset."""
    best: tuple[float, str] | None = None
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1:
            try:
                size = float(parts[1].rstrip("wxWX"))
            except ValueError:
                size = 1.0
        if best is None or size > best[0]:
            best = (size, parts[0])
    return best[1] if best else None


def video_link(src: str) -> tuple[str, str | None] | None:
    """(watch URL, thumbnail URL or None) for a known video embed URL."""
    try:
        parts = urlsplit(src if "//" in src else "https://" + src)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    path = parts.path.strip("/").split("/")
    query = parse_qs(parts.query)
    if host in ("youtube.com", "youtube-nocookie.com", "youtu.be"):
        vid = path[-1] if host == "youtu.be" or path[0] in ("embed", "v", "shorts") else ""
        vid = vid or (query.get("v") or [""])[0]
        if _YOUTUBE_ID.match(vid):
            return (
                f"https://www.youtube.com/watch?v={vid}",
                f"https://i.ytimg.com/vi/{vid}/hqdefault.jpg",
            )
    if host == "player.vimeo.com" and len(path) >= 2 and path[-1].isdigit():
        return f"https://vimeo.com/{path[-1]}", None
    if host == "player.bilibili.com":
        bvid = (query.get("bvid") or [""])[0]
        aid = (query.get("aid") or [""])[0]
        if re.fullmatch(r"BV[0-9A-Za-z]{8,12}", bvid):
            return f"https://www.bilibili.com/video/{bvid}", None
        if aid.isdigit():
            return f"https://www.bilibili.com/video/av{aid}", None
    if host == "dailymotion.com" and "video" in path:
        vid = path[-1]
        return (
            f"https://www.dailymotion.com/video/{vid}",
            f"https://www.dailymotion.com/thumbnail/video/{vid}",
        )
    return None


def _replace_embeds(root: lxml.html.HtmlElement) -> None:
    import lxml.html

    for el in list(root.iter(*_EMBED_TAGS)):
        if el.getparent() is None or any(a.tag in _EMBED_TAGS for a in el.iterancestors()):
            continue
        src = (el.get("src") or el.get("data-src") or el.get("data") or "").strip()
        if not src and el.tag == "video":
            src = next((s.get("src", "") for s in el.iter("source")), "").strip()
        link = lxml.html.Element("a")
        known = video_link(src) if src else None
        if known:
            href, thumb = known
        else:
            href, thumb = src, (el.get("poster") if el.tag == "video" else None)
        if not href.lower().startswith(("http://", "https://")):
            el.drop_tag()  # keep any fallback text, lose the embed
            continue
        link.set("href", href)
        if thumb:
            img = lxml.html.Element("img", src=thumb, alt="Video")
            link.append(img)
        else:
            host = urlsplit(href).hostname or href
            link.text = (
                f"Video: {host}" if known or el.tag == "video" else f"Embedded content: {host}"
            )
        el.addprevious(link)
        for source in list(el.iter("source", "track")):
            source.drop_tree()
        el.drop_tag()  # fallback content between the tags stays as text


def _drop_tracking_pixels(root: lxml.html.HtmlElement) -> None:
    for img in list(root.iter("img")):
        src = (img.get("src") or "").lower()
        tiny = img.get("width", "").strip() in ("0", "1") or img.get("height", "").strip() in (
            "0",
            "1",
        )
        if tiny or not src or any(t in src for t in TRACKER_HOSTS):
            _remove_keep_tail(img)


def _drop_empty_wrappers(root: lxml.html.HtmlElement) -> None:
    # Deepest first, so a wrapper emptied by its children's removal goes too.
    for el in reversed(list(root.iter(*_WRAPPERS, "a"))):
        if el.getparent() is None:
            continue
        if (el.text_content() or "").strip():
            continue
        if any(True for _ in el.iter("img", "br", "hr", "table")) and el.tag != "a":
            continue
        if el.tag == "a" and any(True for _ in el.iter("img")):
            continue
        _remove_keep_tail(el)
