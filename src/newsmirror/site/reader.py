"""Read one `_posts/*.md` file, whoever wrote it, into a `SitePost`.

Old-generator posts can have front matter YAML cannot parse (raw `\\` in
titles, `: ` or `#` in authors, `<!--NaN-->`, no `comments` key), so the
fixed key layout of FORMAT.md is parsed line by line first (it is also ~6x
faster than YAML); anything else goes to YAML, and if YAML fails too, to a
lenient `key: value` reader. Every post file gives a post.
"""

from __future__ import annotations

import html
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urljoin

from ..archive.sanitize import TRACKER_HOSTS
from ..models import NewsmirrorError
from .textutil import INDEX_CHARS, detect_lang, leading_text

KNOWN_KEYS = ("layout", "title", "date", "author", "from", "tags", "comments", "categories",
              "deleted", "edited")  # the last two: optional marks of `recheck` (docs/format.md)
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*):(?:\s(.*)|)$")
_FILENAME_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
_YOUTUBE_ID = re.compile(
    r"(?:youtube\.com/watch\?(?:.*&)?v=|youtu\.be/|youtube\.com/embed/)([\w-]{11})"
)
_YAML_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "", "0": ""}
EXCERPT_CHARS = 80
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(src|width|height)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


class PostReadError(NewsmirrorError):
    """A post file could not be read at all (not UTF-8 decodable, unreadable)."""


class SitePost(NamedTuple):
    """What the site needs of one post, without its body (kept in the build cache).

    A NamedTuple: an incremental build makes 100,000 of these from the cache.
    """

    name: str  # file name inside _posts/
    title: str
    date: datetime  # timezone-aware UTC
    author: str
    link: str
    source: str  # the subscription's site name: categories[0], else tags[0]
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    lang: str  # "zh-Hans", "zh-Hant" or "en"
    thumbnail: str  # for video posts, else ""
    excerpt: str = ""  # the start of its text, for listings
    image: str = ""  # its first image's URL (absolute, or "assets/..." when mirrored)


class ParsedPost(NamedTuple):
    """A `SitePost` as it travels from a worker process to the cache: the date as a
    timestamp (cheaper to pickle than a datetime)."""

    name: str
    title: str
    ts: float
    author: str
    link: str
    source: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    lang: str
    thumbnail: str
    excerpt: str
    image: str

    @classmethod
    def of(cls, p: SitePost) -> ParsedPost:
        return cls(p.name, p.title, p.date.timestamp(), p.author, p.link, p.source, p.tags,
                   p.categories, p.lang, p.thumbnail, p.excerpt, p.image)  # fmt: skip


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Return (front matter, body); front matter is None when the file has none."""
    if not text.startswith("---"):
        return None, text
    end = text.find("\n---", 3)
    if end < 0:
        return None, text
    nl = text.find("\n", end + 4)
    body = "" if nl < 0 else text[nl + 1 :]
    return text[text.find("\n") + 1 : end + 1], body


def _unquote(value: str) -> str:
    """Undo YAML double or single quoting, leniently (bad escapes stay as written)."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        inner, out, i = v[1:-1], [], 0
        if "\\" not in inner:
            return inner  # nothing escaped: the common case
        while i < len(inner):
            c = inner[i]
            if c == "\\" and i + 1 < len(inner) and inner[i + 1] in _YAML_ESCAPES:
                out.append(_YAML_ESCAPES[inner[i + 1]])
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    return v


def _flow_list(value: str) -> tuple[str, ...]:
    """`[ site ]` -> ("site",). The old generator wrote one site name, commas and all."""
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):
        inner = v[1:-1].strip()
        return (_unquote(inner),) if inner else ()
    return (_unquote(v),) if v else ()


def parse_front_matter(fm: str) -> dict[str, object]:
    """Parse front matter into a dict of the known keys (strings and tuples)."""
    lines = [ln for ln in fm.splitlines() if ln.strip()]
    fixed: dict[str, str] = {}
    for ln in lines:
        m = _KEY_LINE.match(ln)
        if not m or m.group(1) not in KNOWN_KEYS or m.group(1) in fixed:
            fixed = {}
            break
        fixed[m.group(1)] = m.group(2) or ""
    if fixed and "title" in fixed:
        return _normalise(fixed, from_yaml=False)
    import yaml  # here: most posts never need it, and importing it costs a build 15 ms

    try:
        data = yaml.load(fm, Loader=yaml.CSafeLoader)
        if isinstance(data, dict):
            return _normalise(data, from_yaml=True)
    except yaml.YAMLError:
        pass
    lenient: dict[str, str] = {}
    for ln in lines:
        key, sep, value = ln.partition(":")
        if sep and key.strip() in KNOWN_KEYS:
            lenient.setdefault(key.strip(), value.strip())
    return _normalise(lenient, from_yaml=False)


def _as_list(value: object, from_yaml: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if from_yaml:
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value if v is not None)
        return (str(value),)
    return _flow_list(str(value))


def _normalise(data: dict, *, from_yaml: bool) -> dict[str, object]:
    def text(key: str) -> str:
        v = data.get(key)
        if v is None:
            return ""
        return str(v) if from_yaml else _unquote(str(v))

    date = data.get("date")
    return {
        "title": text("title"),
        "date": date if isinstance(date, datetime) else text("date"),
        "author": text("author"),
        "from": text("from"),
        "tags": _as_list(data.get("tags"), from_yaml),
        "categories": _as_list(data.get("categories"), from_yaml),
    }


def _parse_date(value: object, name: str, fallback: datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            d = datetime.fromisoformat(value.strip())
            return d.astimezone(UTC) if d.tzinfo else d.replace(tzinfo=UTC)
        except ValueError:
            pass
    m = _FILENAME_DATE.match(name)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        except ValueError:
            pass
    return fallback


def post_body_html(body: str) -> str:
    """The post's content HTML: the one-line `<div>` block after the `------` line.

    Bodies that do not follow FORMAT.md are rendered as Markdown (raw HTML kept;
    it is sanitised afterwards like any other content).
    """
    marker = body.find("\n------\n")
    rest = body[marker + 8 :] if marker >= 0 else body
    stripped = rest.strip()
    if stripped.startswith("<div>") and stripped.endswith("</div>"):
        return stripped[5:-6].strip()
    if marker >= 0 and not stripped:
        return ""
    from markdown_it import MarkdownIt  # only for posts from other writers

    return MarkdownIt("commonmark", {"html": True}).render(rest if marker >= 0 else body)


def title_from_filename(name: str) -> str:
    stem = name[:-3] if name.endswith(".md") else name
    return _FILENAME_DATE.sub("", stem).replace("--", "/").strip() or stem


def excerpt_of(text: str, title: str, chars: int = EXCERPT_CHARS) -> str:
    """About the first `chars` characters of a post's text, without a leading copy of
    its title; cut at a space when there is one near the end (English), with "…"."""
    if title and text.startswith(title):
        text = text[len(title) :].lstrip(" :：-—|｜")
    if len(text) <= chars:
        return text
    cut = text[:chars]
    space = cut.rfind(" ")
    if space > chars * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,.;:，。；：、") + "…"


def first_image(content: str, link: str) -> str:
    """The URL of the first image in a post's HTML worth a thumbnail: http(s), or
    `assets/...` for a mirrored one; "" when none (tracking pixels and data: skipped)."""
    for tag in _IMG.finditer(content):
        attrs = {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTR.finditer(tag[0])}
        src = html.unescape(attrs.get("src", "")).strip()
        if any(attrs.get(k, "").strip() in ("0", "1", "2") for k in ("width", "height")):
            continue  # a tracking pixel
        if src.startswith("/assets/"):
            return src[1:]
        if src.startswith("//"):
            src = "https:" + src
        elif not src.startswith(("http://", "https://")) and link.startswith(
            ("http://", "https://")
        ):
            try:
                src = urljoin(link, src) if src and ":" not in src.split("/")[0] else ""
            except ValueError:
                src = ""
        if src.startswith(("http://", "https://")) and not any(t in src for t in TRACKER_HOSTS):
            return src
    return ""


def parse_post(name: str, text: str, *, fallback_date: datetime) -> tuple[SitePost, str]:
    """Parse a post file's text into its `SitePost` and its content HTML."""
    fm, body = split_front_matter(text)
    data = parse_front_matter(fm) if fm is not None else {}
    content = post_body_html(body)
    title = html.unescape(str(data.get("title") or "")).strip() or title_from_filename(name)
    categories = tuple(c for c in data.get("categories", ()) if c)  # type: ignore[union-attr]
    tags = tuple(t for t in data.get("tags", ()) if t)  # type: ignore[union-attr]
    source = (categories or tags or ("unknown",))[0]
    link = str(data.get("from") or "")
    author = html.unescape(str(data.get("author") or "")).strip() or source
    m = _YOUTUBE_ID.search(link)
    thumbnail = f"https://i.ytimg.com/vi/{m.group(1)}/hqdefault.jpg" if m else ""
    lead = leading_text(content, INDEX_CHARS)
    lang = detect_lang(title + " " + lead)
    post = SitePost(
        name=name,
        title=title,
        date=_parse_date(data.get("date"), name, fallback_date),
        author=author,
        link=link,
        source=source,
        tags=tags,
        categories=categories,
        lang=lang,
        thumbnail=thumbnail,
        excerpt=excerpt_of(lead, title),
        image=thumbnail or first_image(content, link),
    )
    return post, content


def read_post(path: Path) -> tuple[SitePost, str]:
    """Read and parse one post file; raises `PostReadError` naming the file."""
    try:
        # os-level calls: Path.read_bytes and Path.stat cost two more syscalls per post.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            raw = _read_all(fd, st.st_size)
        finally:
            os.close(fd)
    except OSError as e:
        raise PostReadError(f"{path}: cannot read post ({e.strerror})") from None
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return parse_post(path.name, text, fallback_date=datetime.fromtimestamp(st.st_mtime, UTC))


def _read_all(fd: int, size: int) -> bytes:
    """The whole file: `size` from fstat, then on until end of file (it may have grown)."""
    parts = [os.read(fd, size + 1)]
    while parts[-1]:
        parts.append(os.read(fd, 1 << 16))
    return b"".join(parts)
