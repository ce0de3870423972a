"""An Entry becomes a Jekyll post in the archive's format (see docs/format.md).

The format is fixed by the posts existing mirrors already hold: for the same
item this module writes the same bytes as the old generator, except where the
old generator was wrong (each such deviation is listed in docs/format.md and
has a test).
"""

from __future__ import annotations

import functools
import html
import os
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from ..models import ContentMode, Entry, NewsmirrorError, Post
from ..util.text import WIDE_CJK, in_ranges
from ..util.urls import POST_LINK_SCHEMES, is_absolute_url, serialise_url
from .dedupe import primary_key
from .fsutil import atomic_write

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILENAME_TITLE_UNITS = 50  # UTF-16 code units, as the old generator counted

# C0 and C1 control characters, which the old generator removed everywhere.
_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
# Characters that cannot be encoded or that YAML will not carry.
_UNENCODABLE = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
# JavaScript's \s, which the old generator's trim used.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_PRE_BLOCK = re.compile(r"(<pre\b[^>]*>.*?</pre\s*>)", re.IGNORECASE | re.DOTALL)
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")

# Characters Windows or macOS cannot hold in a file name, mapped to their
# full-width forms so that the name still reads the same.
_FILENAME_MAP = str.maketrans(
    {
        '"': "＂",
        ":": "：",
        "?": "？",
        "|": "｜",
        "\\": "＼",
        "<": "＜",
        ">": "＞",
        "*": "＊",
    }
)
# Bidi controls would let a name display differently from what it is.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class PostError(NewsmirrorError):
    """An item cannot become a post (no usable link, say)."""


def render_post(
    entry: Entry,
    site: str,
    *,
    now: datetime,
    content: ContentMode = "clean",
    feed_url: str = "",
    href: str | None = None,
    key: str | None = None,
) -> Post:
    """Render `entry` of subscription `site` as a post; `now` is the run's time (UTC).
    `href` and `key`, when the caller has them already (`item_href`, `item_keys`),
    save serialising and canonicalising the link again."""
    href = href or item_href(*item_link(entry, feed_url))

    title = clean_title(entry.title)
    published_ms = to_ms(entry.published) if entry.published else None
    date = entry.published if entry.published and entry.published <= now else now
    date = date.astimezone(UTC)
    date_text = format_js_iso(date)
    author = clean_inline(entry.author or "") or clean_inline(site)
    site_name = clean_inline(site)

    front_matter = "\n".join(
        [
            "---",
            "layout: post",
            f"title: {yaml_quoted(title)}",
            f"date: {date_text}",
            f"author: {yaml_scalar(author)}",
            f"from: {yaml_scalar(href)}",
            f"tags: {yaml_flow_list(site_name)}",
            "comments: True",
            f"categories: {yaml_flow_list(site_name)}",
            "---",
        ]
    )
    body = "\n".join(
        [
            f"<!--{published_ms if published_ms is not None else to_ms(date)}-->",
            f"[{markdown_link_text(title)}]({markdown_link_target(href)})",
            "------",
            "",
            "<div>",
            escape_liquid(one_line(content_html(entry, content))),
            "</div>",
            "",
        ]
    )
    filename = post_filename(date_text[:10], title)
    text = front_matter + "\n" + body
    return Post(filename=filename, text=text, key=key or primary_key(href))


def item_link(entry: Entry, feed_url: str = "") -> tuple[str, str | None]:
    """(the item's link, the base a relative one is resolved against): its
    link, else its guid when that is a URL on its own, as the old generator
    took them (`abc-123` is no link: it would be made up from the feed's URL)."""
    link = (entry.link or "").strip()
    if link:
        return link, entry.base_url or feed_url or None
    guid = (entry.guid or "").strip()
    if not guid:
        raise PostError("item has neither a link nor a guid")
    if not is_absolute_url(guid):
        raise PostError(f"item has no link, and its guid {guid[:120]!r} is not a URL")
    return guid, None


def item_href(link: str, base: str | None) -> str:
    """The item's link as the archive writes it; only web links and identifier
    URIs (POST_LINK_SCHEMES) are kept, since `javascript:` or `data:` would
    run when a reader clicks."""
    try:
        href = serialise_url(link, base=base)
    except ValueError:
        raise PostError(f"item link is not a URL: {link[:200]!r}") from None
    if href.partition(":")[0].lower() not in POST_LINK_SCHEMES:
        raise PostError(f"item link is not a web link: {href[:200]!r}")
    return href


# --- title and metadata -------------------------------------------------------


def clean_title(title: str | None) -> str:
    """The title with entities decoded and control characters removed, as the
    old generator removed them, except that a line break or tab between two
    words becomes a space (as in content: `Line\nbreak` is not `Linebreak`)."""
    text = html.unescape(title or "").replace("\r\n", "\n").replace("\r", "\n")
    return _UNENCODABLE.sub("", _join_lines(text))


def clean_inline(value: str) -> str:
    """A one-line metadata value (author, site): controls out, trimmed."""
    text = re.sub(r"[\r\n\t]+", " ", value)
    text = _CONTROL_RUN.sub("", text)
    return _UNENCODABLE.sub("", text).strip(_JS_SPACE)


def yaml_quoted(value: str) -> str:
    """A YAML double-quoted scalar. Only `\\` and `"` need escaping once controls
    are gone, plus the two Unicode line separators YAML would fold."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\u2028", "\\L")
        .replace("\u2029", "\\P")
    )
    return f'"{escaped}"'


_PLAIN_URL = re.compile(r"https?://[!-~]*[!-9;-~]")  # no spaces, not ending in ':'


@functools.lru_cache(maxsize=4096)
def yaml_scalar(value: str) -> str:
    """Plain when YAML reads the plain form back as the same string (what the
    old generator always wrote), double-quoted otherwise."""
    if _PLAIN_URL.fullmatch(value):
        return value  # a serialised http(s) URL: printable ASCII without spaces
    if value and _plain_roundtrips(f"k: {value}", {"k": value}):
        return value
    return yaml_quoted(value)


@functools.lru_cache(maxsize=4096)
def yaml_flow_list(value: str) -> str:
    """`[ site ]` as the old generator wrote it, quoted inside when needed."""
    if value and _plain_roundtrips(f"k: [ {value} ]", {"k": [value]}):
        return f"[ {value} ]"
    return f"[ {yaml_quoted(value)} ]"


def _plain_roundtrips(document: str, expected: object) -> bool:
    if "\n" in document or "\u2028" in document or "\u2029" in document:
        return False
    # libyaml (which Jekyll's Psych also uses) and PyYAML's pure-Python
    # parser disagree on some edge cases (`[ x? ]`): plain only if both agree.
    try:
        return all(yaml.load(document, Loader=loader) == expected for loader in _LOADERS)
    except (yaml.YAMLError, RecursionError):  # "[[[[..." nests past PyYAML's recursion: quote it
        return False


_LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


# --- dates --------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, floored as JavaScript's Date does."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def format_js_iso(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`, as JavaScript's toISOString writes it."""
    moment = EPOCH + timedelta(milliseconds=to_ms(moment))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- body ---------------------------------------------------------------------


def content_html(entry: Entry, mode: ContentMode) -> str:
    """The entry's content; in clean mode plain text becomes HTML with line
    breaks, and the item's audio and video files follow as links (raw mode
    writes what the old generator wrote, which had none)."""
    text = entry.content or ""
    if mode == "clean" and not entry.content_is_html and text:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        text = "<br>".join(html.escape(line, quote=False) for line in lines)
    if mode == "clean":
        text += enclosure_links(entry, text)
    return text


_MEDIA_SIGNS = {"audio": "🎧", "video": "🎬"}


def enclosure_links(entry: Entry, content: str) -> str:
    """`<p><a href="…" type="audio/mpeg">🎧 file.mp3</a></p>` per audio or video
    file the content does not link to yet. The type tells the site to put a
    player beside the link (site/render.py); parse.py kept only http(s) URLs."""
    links = []
    for enclosure in entry.enclosures:
        href = html.escape(enclosure.url, quote=True)
        if f'href="{href}"' in content or not enclosure.url.startswith(("http://", "https://")):
            continue
        given = enclosure.mime or ""
        mime = html.escape(given if given.startswith(f"{enclosure.kind}/") else f"{enclosure.kind}/*")
        name = unquote(urlsplit(enclosure.url).path.rstrip("/").rsplit("/", 1)[-1]) or enclosure.url
        label = f"{_MEDIA_SIGNS[enclosure.kind]} {html.escape(name, quote=False)}"
        links.append(f'<p><a href="{href}" type="{mime}">{label}</a></p>')
    return "".join(links)


def one_line(text: str) -> str:
    """Put content on one line so that Markdown leaves the HTML alone.

    Like the old generator this removes control characters, but a line break
    between two words becomes a space rather than gluing them, and line
    breaks inside <pre> become `&#10;` so code keeps its shape.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = _PRE_BLOCK.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # a <pre> block
            part = part.replace("\n", "&#10;").replace("\t", "&#9;")
            out.append(_CONTROL_RUN.sub("", part))
        else:
            out.append(_join_lines(part))
    return _UNENCODABLE.sub("", "".join(out)).strip(_JS_SPACE)


def _join_lines(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if "\n" not in match.group() and "\t" not in match.group():
            return ""
        before = text[match.start() - 1] if match.start() > 0 else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if _glues_words(before, after):
            return " "
        return ""

    return _CONTROL_RUN.sub(replace, text)


def _glues_words(before: str, after: str) -> bool:
    if not before or not after or before.isspace() or after.isspace():
        return False
    if before == ">" or after == "<":
        return False
    return not (in_ranges(WIDE_CJK, before) or in_ranges(WIDE_CJK, after))


_LIQUID_OPEN = re.compile(r"\{(?=[{%])")


def escape_liquid(text: str) -> str:
    """Keep `{{` and `{%` literal under Jekyll: the entity shows as `{` in HTML."""
    return _LIQUID_OPEN.sub("&#123;", text)


def markdown_link_text(title: str) -> str:
    """The title as link text: trimmed; markup that would run or break the link escaped."""
    text = title.strip(_JS_SPACE)
    text = _ENTITY_LIKE.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("[", "\\[").replace("]", "\\]")
    return escape_liquid(text)


def markdown_link_target(href: str) -> str:
    """Parentheses would end a Markdown link early and braces could open
    Liquid (`{%22`); percent-encoding them gives the same URL."""
    for char, code in (("(", "%28"), (")", "%29"), (" ", "%20"), ("{", "%7B"), ("}", "%7D")):
        href = href.replace(char, code)
    return href


# --- file names ---------------------------------------------------------------


def post_filename(day: str, title: str) -> str:
    """`YYYY-MM-DD-<title>.md`: the title cut to 50 UTF-16 units without
    splitting a character, `/` as `--`, and characters that Windows or macOS
    cannot hold replaced by their full-width forms."""
    stem = unicodedata.normalize("NFC", cut_utf16(title, FILENAME_TITLE_UNITS))
    stem = _BIDI_CONTROLS.sub("", stem).translate(_FILENAME_MAP).replace("/", "--")
    if not stem.strip():
        stem = "untitled"
    return f"{day}-{stem}.md"


def cut_utf16(text: str, units: int) -> str:
    """The longest prefix of `text` that fits in `units` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


# --- writing ------------------------------------------------------------------


class PostWriter:
    """Writes posts into `_posts/` without ever replacing a file.

    A different item whose name is taken gets `-2`, `-3`, ... (names are
    compared case-insensitively, for macOS and Windows clones). If the name
    already holds this very item, as after a run killed between writing the
    file and recording it, nothing is written. The folder is listed once.
    """

    def __init__(self, posts_dir: Path, temp_dir: Path | None = None) -> None:
        self.posts_dir = posts_dir
        self.temp_dir = temp_dir  # same filesystem; default: posts_dir itself
        self._taken: set[str] | None = None  # casefolded names; small per post

    def _names(self) -> set[str]:
        if self._taken is None:
            self.posts_dir.mkdir(parents=True, exist_ok=True)
            with os.scandir(self.posts_dir) as entries:
                self._taken = {e.name.casefold() for e in entries}
        return self._taken

    def write(self, post: Post) -> Path | None:
        """The new file's path, or None when this item's post is already there."""
        path, created = self.place(post)
        return path if created else None

    def place(self, post: Post) -> tuple[Path, bool]:
        """(the post's file, whether this call created it): an existing file that
        already holds this item is found rather than written again. The file is
        not flushed to disk: the caller batches that (`fsutil.flush_to_disk`)."""
        taken = self._names()
        base = post.filename[: -len(".md")]
        for n in range(1, 1000):
            name = post.filename if n == 1 else f"{base}-{n}.md"
            path = self.posts_dir / name
            if name.casefold() in taken:
                if same_item(path, post):  # only an exact name can hold this item
                    return path, False
                continue
            taken.add(name.casefold())
            if atomic_write(
                path, post.text, exclusive=True, sync=False, sync_dir=False, temp_dir=self.temp_dir
            ):
                return path, True
            if same_item(path, post):
                return path, False
        raise PostError(f"too many posts named {post.filename!r}")


def same_item(path: Path, post: Post) -> bool:
    """Does the post file at `path` hold the same item (same link and title)?"""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            head = [next(f, "") for _ in range(12)]
    except OSError:
        return False
    ours = post.text.split("\n", 10)
    return _field(head, "from: ") == _field(ours, "from: ") and _field(head, "title: ") == _field(
        ours, "title: "
    )


def _field(lines: list[str], prefix: str) -> str | None:
    for line in lines:
        if line.startswith(prefix):
            return line.rstrip("\n")
    return None
