"""Jinja2 rendering of pages (post pages also in worker processes: workers.py)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import nh3
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..archive.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    DROP_WITH_CONTENT,
    TRACKER_HOSTS,
    sanitize_html,
)
from .config import UI_STRINGS, SiteConfig
from .output import OutputWriter, href, root_of
from .reader import SitePost, post_body_html, split_front_matter
from .watch import WATCH_STRINGS, PostWatch, revisions_rel

TEMPLATES = Path(__file__).parent / "templates"
_ROOT_ASSETS = re.compile(r"""(\s(?:src|href|poster)=["'])/assets/""")
# sanitize_html resolves root-relative URLs against the post's link; this host keeps
# mirrored images recognisable through that, then becomes a page-relative path.
_ASSETS_HOST = "https://assets.newsmirror.invalid/assets/"
# Content that needs sanitize_html's lxml rewrites (embeds become links, lazy
# images get their src); everything else, the common case, needs only the nh3 pass.
# Every pattern is part of a tag, so it is matched against the content's tags
# only, lowercased (re.I made the search ~10x slower on CJK text). A quoted
# attribute value may hold ">"; an unclosed quote takes the rest of the content.
_TAGS = re.compile(r"""<[^>"']*(?:(?:"[^"]*"?|'[^']*'?)[^>"']*)*>?""")
_NEEDS_REWRITES = re.compile(
    r"<(?:iframe|embed|object|video)\b|data-(?:src|original|lazy|actualsrc|url)|srcset|"
    + "|".join(re.escape(host.lower()) for host in TRACKER_HOSTS),  # tracking pixels go too
)
_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+\Z", re.I)
_URL_ATTRS = frozenset({"href", "src", "cite", "data-original-src"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")
# Where relative URLs of the page being cleaned point (one page at a time per process).
_page = {"base": "", "root": ""}


def make_env(config: SiteConfig) -> Environment:
    """The template environment; each template is compiled once per environment."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        auto_reload=False,  # else every `extends` stats base.html: a syscall per page
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["chrome"] = Chrome(env, config)
    return env


class Chrome:
    """Header, navigation and footer of base.html, rendered once per page depth.

    They depend only on the config and the path back to the site root, yet were
    a good part of each page's render time.
    """

    def __init__(self, env: Environment, config: SiteConfig) -> None:
        self.template = env.get_template("chrome.html")
        self.config = config
        self.by_root: dict[str, Any] = {}

    def __call__(self, root: str) -> Any:
        parts = self.by_root.get(root)
        if parts is None:
            t, w = UI_STRINGS[self.config.lang], WATCH_STRINGS[self.config.lang]
            parts = self.template.make_module({"site": self.config, "t": t, "w": w, "root": root})
            self.by_root[root] = parts
        return parts


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    """Every URL attribute is scheme-checked (nh3 skips some, e.g. cite); data: only small images."""
    if attr in _URL_ATTRS:
        scheme = _SCHEME.match(_IGNORED_IN_URLS.sub("", value[:20]).lower())
        if scheme and scheme.group(1) == "data":
            ok = tag == "img" and attr == "src" and len(value) < 44_000
            return value if ok and _DATA_IMAGE.match(value.strip()) else None
        if scheme and scheme.group(1) not in ("http", "https", "mailto"):
            return None
    if attr in ("width", "height") and not value.strip().isdigit():
        return None
    return value


def _resolve_relative(url: str) -> str | None:
    """`/assets/...` (mirrored by ingest) -> page-relative; others -> absolute on the post's site."""
    if url.startswith("/assets/"):
        return _page["root"] + url[1:]
    base = _page["base"]
    if not base.startswith(("http://", "https://")):
        return None  # nowhere to resolve it against: a dead link in the site
    try:
        return urljoin(base, url)
    except ValueError:
        return None


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto", "data"},
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_relative=_resolve_relative,
)


def clean_for_page(content: str, base_url: str, root: str) -> str:
    """Post HTML made safe for the page at `root`, with `/assets/...` made page-relative.

    Old posts may carry scripts and iframes, so every post gets the nh3
    allowlist pass; the lxml rewrites of `sanitize_html` (ingest's job) run only
    on content that needs them.
    """
    if _NEEDS_REWRITES.search(" ".join(_TAGS.findall(content)).lower()):
        marked = _ROOT_ASSETS.sub(lambda m: m.group(1) + _ASSETS_HOST, content)
        cleaned = sanitize_html(marked, base_url).replace(_ASSETS_HOST, root + "assets/")
    else:
        _page["base"], _page["root"] = base_url, root
        cleaned = _cleaner.clean(content).strip()
    return add_players(cleaned) if "type=" in cleaned else cleaned


# A cleaned link to an audio or video file: `<a href="…" type="audio/mpeg" …>`,
# as posts.py writes a podcast's enclosure (attribute values are quoted by nh3).
_MEDIA_LINK = re.compile(r'<a\s[^>]*?\btype="(audio|video)/[^"]*"[^>]*>')
_HTTP_HREF = re.compile(r'\bhref="(https?://[^"]+)"')


def add_players(content: str) -> str:
    """An `<audio>` or `<video>` player before each link to an audio or video file."""

    def player(match: re.Match[str]) -> str:
        href = _HTTP_HREF.search(match.group())
        if href is None:
            return match.group()
        kind, size = match.group(1), ' style="max-width:100%"' if match.group(1) == "video" else ""
        player = f'<{kind} controls preload="none" src="{href.group(1)}"{size}></{kind}>'
        return player + match.group()

    return _MEDIA_LINK.sub(player, content)


# A post linked from another post's page: (qurl: its page's path, percent-encoded,
# title); a nearby one: (qurl, title, lang, day "YYYY-MM-DD"). Plain tuples, always
# unpacked by name: 100,000 pages have 800,000 of them, and pickling a NamedTuple
# to a worker costs ~10x a tuple (Python calls on both sides).
PostLink = tuple[str, str]
NearbyPost = tuple[str, str, str, str]


def source_hue(source: str) -> int:
    """The hue (0-359) of a source's colour mark: the same on every page and build."""
    return zlib.crc32(source.encode()) % 360


class PostPageJob(NamedTuple):
    """One post page to render (tuples, not dicts: 100,000 queued jobs held ~200 MB as
    dicts). Sent to a worker as a plain tuple (`tuple(job)`, rebuilt by `_make`)."""

    name: str  # the post's file name inside _posts/
    rel: str  # its page's path
    post: SitePost
    source_rel: str  # its source's first listing page
    older: PostLink | None
    newer: PostLink | None
    nearby: list[NearbyPost]


class PostRenderer:
    """Renders post pages; one per process (Jinja compiles each template once)."""

    def __init__(self, posts_dir: Path, out: Path, config: SiteConfig,
                 watch: dict[str, PostWatch] | None = None) -> None:  # fmt: skip
        self.posts_dir = posts_dir
        self.writer = OutputWriter(out)
        self.config = config
        self.template = make_env(config).get_template("post.html")
        self.watch = watch or {}  # what re-checks found about posts' originals (watch.py)

    def render(self, job: PostPageJob, content: str | None = None) -> None:
        """Render and write one post page; `content` is the post's HTML if already read."""
        name, rel, post, source_rel, older, newer, nearby = job
        if content is None:
            try:
                text = (self.posts_dir / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            content = post_body_html(split_front_matter(text.replace("\r\n", "\n"))[1])
        root = root_of(rel)
        content = clean_for_page(content, post.link, root)

        def link(brief: PostLink | None) -> dict | None:
            if brief is None:
                return None
            qurl, title = brief
            return {"url": root + qurl, "title": title}

        # The `<li>` rows in one string: as a template loop they were a fifth of
        # a post page's render time. Only titles need escaping: hrefs are
        # percent-encoded, languages and days are ours.
        nearby_rows = "".join(
            f'<li><a href="{root}{qurl}" lang="{lang}">{escape(title)}</a> <time>{day}</time></li>'
            for qurl, title, lang, day in nearby
        )
        watch = self.watch.get(name)
        # One strftime for both forms of the time, and none in the template (context.call).
        stamp = post.date.strftime("%Y-%m-%dT%H:%M:%SZ")
        page = self.template.render(
            site=self.config,
            t=UI_STRINGS[self.config.lang],
            lang=post.lang,
            title=post.title,
            root=root,
            post=post,
            stamp=stamp,
            when=stamp[:-4].replace("T", " "),  # %Y-%m-%d %H:%M
            content=content,
            source_url=href(root, source_rel),
            prev=link(older),
            next=link(newer),
            nearby=Markup(nearby_rows),
            mark=source_hue(post.source),
            watch=watch,
            w=WATCH_STRINGS[self.config.lang],
            # Only a watched post links its revisions: quoting a unique path costs 10 µs.
            revisions_url=href(root, revisions_rel(rel)) if watch else "",
        )
        self.writer.write(rel, page)
