"""Jinja2 rendering of pages; post pages can render in worker processes."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import nh3
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .config import UI_STRINGS, SiteConfig
from .output import OutputWriter, href, root_of
from .reader import SitePost, post_body_html, split_front_matter

TEMPLATES = Path(__file__).parent / "templates"
_ROOT_ASSETS = re.compile(r"""(\s(?:src|href|poster)=["'])/assets/""")
# Sanitisers resolve root-relative URLs against the post's link; this host keeps
# mirrored images recognisable through that, then becomes a page-relative path.
_ASSETS_HOST = "https://assets.newsmirror.invalid/assets/"

# Used only when newsmirror.sanitize is not available: a conservative allowlist.
_FALLBACK_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "address", "section",
}  # fmt: skip
_FALLBACK_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "*": {"lang"},
}


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@cache
def _sanitizer():  # type: ignore[no-untyped-def]
    try:
        from ..sanitize import sanitize_html  # written by the ingest stage's developer

        return sanitize_html
    except ImportError:
        return None


def clean_content(content: str, base_url: str) -> str:
    """Sanitise post HTML at build time: old posts may carry scripts and iframes."""
    sanitize = _sanitizer()
    if sanitize is not None:
        return sanitize(content, base_url)
    return nh3.clean(
        content,
        tags=_FALLBACK_TAGS,
        attributes=_FALLBACK_ATTRS,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )


def clean_for_page(content: str, base_url: str, root: str) -> str:
    """Sanitised content with `/assets/...` (images mirrored by ingest) page-relative."""
    marked = _ROOT_ASSETS.sub(lambda m: m.group(1) + _ASSETS_HOST, content)
    return clean_content(marked, base_url).replace(_ASSETS_HOST, root + "assets/")


class PostRenderer:
    """Renders post pages; one per process (Jinja compiles each template once)."""

    def __init__(self, posts_dir: Path, out: Path, config: SiteConfig) -> None:
        self.posts_dir = posts_dir
        self.writer = OutputWriter(out)
        self.config = config
        self.template = make_env().get_template("post.html")

    def render(self, job: tuple[str, str, SitePost, str, dict | None, dict | None, list]) -> None:
        name, rel, post, source_rel, prev, nxt, nearby = job
        try:
            text = (self.posts_dir / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        _, body = split_front_matter(text.replace("\r\n", "\n"))
        root = root_of(rel)
        content = clean_for_page(post_body_html(body), post.link, root)

        def link(d: dict | None) -> dict | None:
            return None if d is None else {**d, "url": href(root, d["url"])}

        page = self.template.render(
            site=self.config,
            t=UI_STRINGS[self.config.lang],
            lang=post.lang,
            title=post.title,
            root=root,
            post=post,
            content=content,
            source_url=href(root, source_rel),
            prev=link(prev),
            next=link(nxt),
            nearby=[link(n) for n in nearby],
        )
        self.writer.write(rel, page)


_worker: PostRenderer | None = None


def init_worker(posts_dir: Path, out: Path, config: SiteConfig) -> None:
    global _worker
    _worker = PostRenderer(posts_dir, out, config)


def render_chunk(jobs: list) -> tuple[int, int]:
    """Render a batch of post pages in a worker; returns (written, skipped)."""
    assert _worker is not None
    w0, s0 = _worker.writer.written, _worker.writer.skipped
    for job in jobs:
        _worker.render(job)
    return _worker.writer.written - w0, _worker.writer.skipped - s0
