"""`newsmirror digest`: one day's posts as an EPUB 3 or as one self-contained HTML file.

The day is a UTC day, as post dates are. Posts come from `_posts/` and from
`archived/` (where retention moved them), grouped by source (the source with
most posts first), oldest first within a source. Each post's content gets
the site's own cleaning (site/render.py: the nh3 allowlist); its mirrored
images (`/assets/...`) are put inside the file: in the EPUB as its own image
files, in the HTML as data: URIs. An image still on its original host cannot
be put inside (a digest is made without network) and would not load offline:
it becomes a link to where it is.

The EPUB is written with EbookLib (epub.py says why); the content is made
valid XHTML for it by xhtml.py.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import lxml.html
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..archive.fsutil import atomic_write
from ..models import NewsmirrorError
from .config import load_site_config
from .epub import LABELS, write_epub
from .reader import PostReadError, SitePost, read_post
from .render import clean_for_page
from .scan import scan_posts
from .xhtml import serialise, to_xhtml

TEMPLATES = Path(__file__).parent / "digest_templates"
_ASSET_SRC = re.compile(r'src="(assets/[^"]+)"')
_MIME = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
         "avif": "image/avif"}  # fmt: skip
_DAY_PREFIX = re.compile(r"(?:^|/)(\d{4}-\d{2}-\d{2})-")
IMAGE_LABEL = {"zh-Hans": "图片", "zh-Hant": "圖片", "en": "image"}


class DigestError(NewsmirrorError):
    """No digest can be made (no posts that day, unwritable output...)."""


@dataclass
class DigestPost:
    post: SitePost
    body: str  # XHTML fragment (well-formed XML); mirrored images as src="assets/..."


@dataclass
class Digest:
    title: str  # the site's title
    day: date
    lang: str  # the site's interface language
    sources: list[tuple[str, list[DigestPost]]]
    images: dict[str, bytes] = field(default_factory=dict)  # "assets/ab/...": bytes

    @property
    def posts(self) -> int:
        return sum(len(posts) for _, posts in self.sources)


def collect_digest(archive: Path, day: date) -> Digest:
    """The posts of `day` (UTC) in `archive`, ready for a writer; raises DigestError."""
    archive = Path(archive)
    config = load_site_config(archive)
    by_source: dict[str, list[DigestPost]] = defaultdict(list)
    images: dict[str, bytes] = {}
    label = IMAGE_LABEL.get(config.lang, "image")
    for path in _candidates(archive, day):
        try:
            post, content = read_post(path)
        except PostReadError:
            continue
        if post.date.date() != day:
            continue
        body = xhtml_body(clean_for_page(content, post.link, ""), archive, images, label)
        by_source[post.source].append(DigestPost(post, body))
    if not by_source:
        raise DigestError(f"{archive}: no posts dated {day.isoformat()} (UTC)")
    sources = sorted(by_source.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for _, posts in sources:
        posts.sort(key=lambda p: (p.post.date, p.post.name))
    return Digest(config.title, day, config.lang, sources, images)


def _candidates(archive: Path, day: date) -> list[Path]:
    """Post files that may be of `day`: named within a day of it (a file's name
    holds a date, which may differ from the post's UTC date by the feed's time
    zone), or with no date in their name."""
    near = {(day + timedelta(days=d)).isoformat() for d in (-1, 0, 1)}
    found = []
    for folder in (archive / "_posts", archive / "archived"):
        if not folder.is_dir():
            continue
        for name in scan_posts(folder):
            m = _DAY_PREFIX.search(name)
            if m is None or m.group(1) in near:
                found.append(folder / name)
    return sorted(found)


def xhtml_body(html: str, archive: Path, images: dict[str, bytes], label: str) -> str:
    """Cleaned post HTML -> a well-formed XHTML fragment EPUB accepts (xhtml.py).
    Mirrored images are collected into `images`; images elsewhere become links."""
    root = to_xhtml(html)
    for img in list(root.iter("img")):
        src = img.get("src") or ""
        if src.startswith("assets/") and ".." not in src:
            path = archive / src
            if src not in images and path.is_file():
                images[src] = path.read_bytes()
            if src in images:
                img.attrib.pop("data-original-src", None)
                img.set("alt", img.get("alt") or "")
                continue
        _image_to_link(img, img.get("data-original-src") or src, label)
    return serialise(root)


def _image_to_link(img: lxml.html.HtmlElement, url: str, label: str) -> None:
    alt = (img.get("alt") or "").strip()
    tail = img.tail
    in_link = any(up.tag == "a" for up in img.iterancestors())
    if url.startswith(("http://", "https://")) and not in_link:
        link = lxml.html.Element("a", href=url)
        link.text = f"[{label}: {alt}]" if alt else f"[{label}]"
    else:
        link = lxml.html.Element("span")
        link.text = f"[{label}: {alt}]" if alt else f"[{label}]"
    link.tail = tail
    img.getparent().replace(img, link)



def write_digest(
    archive: Path, day: date, fmt: Literal["epub", "html"], out: Path
) -> tuple[Digest, int]:
    """Write the digest of `day` to `out` as EPUB 3 or one HTML file; returns it and its size."""
    digest = collect_digest(archive, day)
    if fmt == "epub":
        return digest, write_epub(digest, out)
    data = render_html(digest).encode("utf-8")
    try:
        atomic_write(out, data)
    except OSError as e:
        raise DigestError(f"{out}: cannot write the digest ({e.strerror or e})") from None
    return digest, len(data)


def render_html(digest: Digest) -> str:
    """One self-contained HTML page: no scripts, images as data: URIs."""
    uris = {src: data_uri(data, _MIME.get(src.rsplit(".", 1)[-1].lower(), "image/jpeg"))
            for src, data in digest.images.items()}  # fmt: skip
    bodies = {}
    for i, (_, posts) in enumerate(digest.sources, start=1):
        for j, item in enumerate(posts, start=1):
            body = _ASSET_SRC.sub(lambda m: f'src="{uris.get(m.group(1), m.group(1))}"', item.body)
            bodies[f"{i}-{j}"] = Markup(body)  # cleaned by clean_for_page
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    return env.get_template("digest.html").render(
        lang=digest.lang, title=digest.title, day=digest.day.isoformat(),
        heading=f"{digest.title} · {digest.day.isoformat()}", count=digest.posts,
        sources=digest.sources, bodies=bodies, labels=LABELS.get(digest.lang, LABELS["en"]),
    )  # fmt: skip


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
