"""The render stage: which pages are stale, by signature, and rendering them.

Every page has a signature: the versions (id, mtime_ns, size) of the posts it
shows plus its navigation, hashed to one int (a tuple of ints hashes alike in
every process; strings go through crc32). A page is rendered only when its
signature differs from the last build's (`Planner`). Post pages go to the
workers when there are any (`render_post_pages`); listings, feeds and the
other pages are rendered here (`render_listings`, `render_indexes`).
"""

from __future__ import annotations

import hashlib
import html
import math
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, Template
from markupsafe import Markup, escape

from .config import UI_STRINGS, SiteConfig
from .mirrors import write_mirror_pages
from .output import OutputWriter, href, root_of
from .records import PV, Plan, PostPages, Rec, day
from .render import PostLink, PostPageJob, PostRenderer, make_env, source_hue
from .watch import SiteWatch
from .workers import Workers

FEED_ENTRIES = 30
SITEMAP_MAX = 50_000  # the sitemap protocol's limit per file


def crc(text: str) -> int:
    """A stable number for a string in a page signature (`hash` of str varies by process)."""
    return zlib.crc32(text.encode())


def _digest(sig: object) -> int:
    """A stable 64-bit signed int for a signature made of strings and tuples."""
    return int.from_bytes(hashlib.blake2b(repr(sig).encode(), digest_size=8).digest(), "big",
                          signed=True)  # fmt: skip


class Planner:
    """Collects pages (path, signature, render function) and renders the stale ones."""

    def __init__(self, old: dict[str, int | None], writer: OutputWriter) -> None:
        self.old = old
        self.new: dict[str, int | None] = {}
        self.writer = writer
        self.rendered = 0

    def page(self, rel: str, sig: object, render: Callable[[], str]) -> None:
        if not isinstance(sig, int):  # the cache keeps ints; hash() of a str varies by process
            sig = _digest(sig)
        self.new[rel] = sig
        if self.old.get(rel) != sig:
            self.writer.write(rel, render())
            self.rendered += 1

    def same(self, rel: str) -> bool:
        """Keep page `rel` as it is, if the last build made it (its posts did not change)."""
        sig = self.old.get(rel, self)
        if sig is self:
            return False
        self.new[rel] = sig  # type: ignore[assignment]
        return True

    def keep(self, rel: str) -> None:
        self.new[rel] = None


# Post pages ---------------------------------------------------------------------------


def _near_changes(plan: Plan, source: str, members: list[Rec]) -> set[int] | None:
    """Positions in a source's posts whose neighbourhood changed; None: all may have."""
    if plan.check_all or source in plan.unsettled:
        return None
    near: set[int] = set()
    for p, r in enumerate(members):
        if r.id in plan.changed_ids:  # new posts: neighbours within 4 places see them
            near.update(range(p - 4, p + 5))
    return near


def _link(n: Rec | None) -> PostLink | None:
    return None if n is None else (n.qurl, n.post.title)


def _source_jobs(plan: Plan, source: str, members: list[Rec],
                 resigned: list[Rec]) -> list[PostPageJob]:  # fmt: skip
    """The stale post pages of one source's posts (the others stay as they are)."""
    near_change = _near_changes(plan, source, members)
    source_dir = plan.groups.source_dir[source]
    source_crc = crc(source_dir)
    jobs = []
    for i, r in enumerate(members):
        if near_change is not None and i not in near_change and r.sig is not None:
            continue  # same neighbours as last time: same signature
        newer = members[i - 1] if i > 0 else None
        older = members[i + 1] if i + 1 < len(members) else None
        nearby = members[max(0, i - 4) : max(0, i - 1)] + members[i + 2 : i + 5]
        # The page's URL follows from the post's id, so the ids say it all.
        sig = hash((r.pv, source_crc, newer.pv if newer else -1, older.pv if older else -1,
                    tuple(n.pv for n in nearby)))  # fmt: skip
        if r.sig == sig:
            continue
        r.sig = sig
        resigned.append(r)
        near = [(n.qurl, n.post.title, n.post.lang, day(n)) for n in nearby]  # NearbyPost
        jobs.append(PostPageJob(r.name, r.url, r.post, source_dir + "index.html", _link(older),
                                _link(newer), near))  # fmt: skip
    return jobs


def render_post_pages(plan: Plan, workers: Workers | None,
                      renderer: Callable[[], PostRenderer]) -> PostPages:  # fmt: skip
    """Queue the stale post pages to the workers, source by source (so they start
    early), or render them here; `renderer` makes this process's renderer."""
    result = PostPages(pending=[], queued=0, written=0, resigned=[])
    jobs: list[PostPageJob] = []
    for source, members in plan.groups.by_source.items():
        if not plan.check_all and source not in plan.touched.sources:
            continue  # no post of it changed: nor did its pages
        jobs += _source_jobs(plan, source, members, result.resigned)
        if workers is not None and jobs:
            result.pending += workers.render(jobs)
            result.queued, jobs = result.queued + len(jobs), []
    if jobs:
        here = renderer()
        for job in jobs:
            here.render(job)
        result.written = here.writer.written
        result.queued += len(jobs)
    return result


# Listings, feeds and index pages --------------------------------------------------------


@dataclass
class PageKit:
    """What every non-post page is rendered with."""

    env: Environment
    config: SiteConfig
    t: dict[str, str]  # the interface's strings
    list_tpl: Template
    index_tpl: Template
    source_dir: dict[str, str]
    watch: SiteWatch | None = None  # what re-checking the originals found (watch.py)

    @classmethod
    def make(cls, config: SiteConfig, source_dir: dict[str, str],
             watch: SiteWatch | None = None) -> PageKit:  # fmt: skip
        env = make_env(config)
        return cls(env, config, UI_STRINGS[config.lang], env.get_template("list.html"),
                   env.get_template("index_of.html"), source_dir, watch)  # fmt: skip

    def common(self, rel: str, title: str) -> dict[str, Any]:
        return {"site": self.config, "t": self.t, "lang": self.config.lang, "title": title,
                "root": root_of(rel)}  # fmt: skip


# Lazy, sized (nothing moves as it loads), no referrer; gone if it fails (many readers
# cannot reach the hosts of remote images).
THUMB = ('width="96" height="72" alt="" loading="lazy" decoding="async" '
         'referrerpolicy="no-referrer" onerror="this.remove()"')  # fmt: skip


def _thumb(root: str, image: str) -> str:
    if not image:
        return ""
    src = href(root, image) if image.startswith("assets/") else html.escape(image)
    return f'<img class="thumb" src="{src}" {THUMB}>'


def list_rows(
    root: str, members: list[Rec], show_source: bool, source_dir: dict[str, str]
) -> Markup:
    """The `<li>` rows of a listing page: title, excerpt, thumbnail, source (a
    template loop was slow). Made for each page: kept per post, they held 130 MB
    at 100,000 posts."""
    source_links: dict[str, str] = {}
    rows = []
    for r in members:
        p = r.post
        meta = ""
        if show_source:
            meta = source_links.get(p.source, "")
            if not meta:
                link = href(root, source_dir[p.source] + "index.html")
                meta = source_links[p.source] = (
                    f'<span class="mark" style="--h:{source_hue(p.source)}"></span>'
                    f'<a href="{link}">{escape(p.source)}</a> · ')  # fmt: skip
        excerpt = f'<p class="excerpt">{escape(p.excerpt)}</p>' if p.excerpt else ""
        rows.append(f'<li lang="{p.lang}"><a href="{root}{r.qurl}">{escape(p.title)}</a>'
                    f"{excerpt}{_thumb(root, p.image)}"
                    f'<span class="meta">{meta}<time>{r.day or day(r)}</time></span></li>')  # fmt: skip
    return Markup("".join(rows))


@dataclass
class Listing:
    """A paged list of posts (newest first) under `base`."""

    base: str  # its folder ("" for the home page)
    heading: str
    members: list[Rec]
    feed: str | None  # its Atom feed's path
    show_source: bool = True
    changed: bool = True  # False: no post of it changed, keep the pages the last build made
    mark: int | None = None  # the hue of its source's colour mark
    filters: Callable[[str], Markup] | None = None  # page path -> its filter bar (watch.py)


class _Page(NamedTuple):
    number: int  # counted from the oldest page, 1
    rel: str  # inside the listing's folder
    start: int  # its posts: members[start:end]
    end: int
    newer: int | None  # the page numbers it links to
    older: int | None


def _listing_pages(size: int, n: int) -> tuple[list[_Page], Callable[[int], str]]:
    """The pages of a listing of `n` posts, and page number -> file. Numbered from
    the oldest, so new posts leave old pages untouched; the first page holds
    between `size` and 2 * `size` posts."""
    chunks = max(1, math.ceil(n / size))
    front = n - (chunks - 2) * size if chunks > 2 else n

    def page_rel(k: int) -> str:
        return "index.html" if k >= chunks - 1 or chunks <= 2 else f"page/{k}.html"

    pages = [_Page(max(1, chunks - 1), "index.html", 0, front, None,
                   chunks - 2 if chunks > 2 else None)]  # fmt: skip
    for k in range(chunks - 2, 0, -1):
        lo = n - k * size
        pages.append(_Page(k, page_rel(k), lo, lo + size, k + 1, k - 1 or None))
    return pages, page_rel


def render_listing(planner: Planner, kit: PageKit, listing: Listing) -> None:
    base, heading, members, feed = listing.base, listing.heading, listing.members, listing.feed
    pages, page_rel = _listing_pages(kit.config.page_size, len(members))
    heading_crc, feed_crc = crc(heading), crc(feed or "")
    t = kit.t
    for page in pages:
        rel, newer, older = base + page.rel, page.newer, page.older
        label = t["page"].format(page=page.number) + (f" · {t['newest']}" if not page.start else "")
        if not listing.changed and planner.same(rel):
            continue
        group = members[page.start : page.end]
        bar = listing.filters(rel) if listing.filters else ""
        sig = hash((heading_crc, tuple(map(PV, group)), newer or -1, older or -1, feed_crc,
                    crc(bar)))  # fmt: skip

        def render(rel: str = rel, group: list[Rec] = group, newer: int | None = newer,
                   older: int | None = older, label: str = label, bar: str = bar) -> str:  # fmt: skip
            root = root_of(rel)
            note = label if rel != base + "index.html" else ""  # older pages say which they are
            title = f"{heading} · {note}" if note else heading
            return kit.list_tpl.render(**kit.common(rel, title), heading=heading,
                rows=list_rows(root, group, listing.show_source, kit.source_dir),
                page_label=label, page_note=note, mark=listing.mark,
                newer=href(root, base + page_rel(newer)) if newer else "",
                older=href(root, base + page_rel(older)) if older else "",
                feed=href(root, feed) if feed else "", filters=bar)  # fmt: skip

        planner.page(rel, sig, render)


def _atom_time(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(planner: Planner, kit: PageKit, rel: str, title: str, members: list[Rec],
                alternate: str) -> None:  # fmt: skip
    """An Atom feed; links are relative to the feed unless the config gives the site URL."""
    latest = members[:FEED_ENTRIES]
    sig = hash((crc(title), tuple(map(PV, latest))))
    config = kit.config

    def urn(text: str) -> str:
        return f"urn:newsmirror:{hashlib.sha1(text.encode()).hexdigest()}"

    def render() -> str:
        root = "" if config.url else root_of(rel)
        base = config.url + "/" if config.url else ""
        return kit.env.get_template("feed.xml").render(
            title=title, base=base, self_href=href(root, rel), alternate=href(root, alternate),
            feed_id=(base + rel) if base else urn(rel),
            updated=_atom_time(latest[0].post.date if latest else datetime.now(UTC)),
            entries=[{"title": m.post.title, "url": root + m.qurl, "link": m.post.link,
                      "author": m.post.author, "source": m.post.source,
                      "updated": _atom_time(m.post.date),
                      "id": (base + m.url) if base else urn(m.name)}
                     for m in latest])  # fmt: skip

    planner.page(rel, sig, render)


def render_listings(planner: Planner, kit: PageKit, plan: Plan) -> None:
    """The home page, each source's, tag's, category's and month's pages, and the feeds."""
    g, t, touched, check_all = plan.groups, kit.t, plan.touched, plan.check_all
    render_listing(planner, kit, Listing("", t["latest"], plan.recs, "feed.xml",
                                         changed=check_all or touched.any))  # fmt: skip
    for s, members in g.by_source.items():
        folder = g.source_dir[s]
        bar = kit.watch.filter_bar(s, folder, len(members)) if kit.watch else None
        render_listing(planner, kit, Listing(folder, s, members, folder + "feed.xml",
                       show_source=False, changed=check_all or s in touched.sources,
                       mark=source_hue(s), filters=bar))  # fmt: skip
        render_feed(planner, kit, folder + "feed.xml", s, members, folder + "index.html")
    for tag, members in g.by_tag.items():
        if tag not in g.tags_as_sources:
            render_listing(planner, kit, Listing(g.tag_dir[tag], f"{t['tags']}: {tag}", members,
                           None, changed=check_all or tag in touched.tags))  # fmt: skip
    for cat, members in g.by_cat.items():
        if cat not in g.cats_as_sources:
            render_listing(planner, kit, Listing(g.cat_dir[cat], f"{t['categories']}: {cat}",
                           members, None, changed=check_all or cat in touched.cats))  # fmt: skip
    for (y, mo), members in g.by_month.items():
        rel = f"archive/{y}/{mo:02d}.html"
        if not check_all and (y, mo) not in touched.months and planner.same(rel):
            continue
        heading = f"{y}-{mo:02d}"

        def month(rel: str = rel, heading: str = heading, members: list[Rec] = members) -> str:
            return kit.list_tpl.render(**kit.common(rel, heading), heading=heading,
                rows=list_rows(root_of(rel), members, True, kit.source_dir), newer="", older="",
                feed="", mark=None)  # fmt: skip

        planner.page(rel, hash(tuple(map(PV, members))), month)
    render_feed(planner, kit, "feed.xml", kit.config.title, plan.recs, "index.html")


class IndexEntry(NamedTuple):
    name: str
    path: str  # its page
    count: int  # its posts
    mark: int | None = None  # a source's colour mark
    last: str = ""  # a source's latest post's day


IndexGroups = list[tuple[str, list[IndexEntry]]]  # [(heading, entries)]


def _index_page(planner: Planner, kit: PageKit, rel: str, heading: str, groups: IndexGroups,
                note: str = "", see: tuple[str, str] | None = None) -> None:  # fmt: skip
    """A page of links to sources, tags, categories or months; `note` when it has
    none, `see`: (name, path) of a related index page."""
    root = root_of(rel)
    planner.page(rel, (heading, repr(groups), note, see), lambda: kit.index_tpl.render(
        **kit.common(rel, heading), heading=heading, note=note,
        see={"name": see[0], "url": href(root, see[1])} if see else None,
        groups=[{"name": g, "sources": any(e.mark is not None for e in es),
                 "entries": [e._replace(path=href(root, e.path)) for e in es]}
                for g, es in groups if es]))  # fmt: skip


def render_indexes(planner: Planner, kit: PageKit, plan: Plan) -> None:
    """The sources, tags, categories and archive index pages (each lists only what
    the others do not: a tag or category that is a source's name is on the sources
    page only), 404, the search page and the sitemap."""
    g, t = plan.groups, kit.t
    sources = [IndexEntry(s, g.source_dir[s] + "index.html", len(m), source_hue(s), day(m[0]))
               for s, m in g.by_source.items()]  # fmt: skip
    _index_page(planner, kit, "sources/index.html", t["sources"],
                [("", sorted(sources, key=lambda e: (-e.count, e.name)))])  # fmt: skip
    for rel, name, other, members, aliases, folders, none in (
        ("tags/index.html", "tags", "categories", g.by_tag, g.tags_as_sources, g.tag_dir,
         "tags_none"),
        ("categories/index.html", "categories", "tags", g.by_cat, g.cats_as_sources, g.cat_dir,
         "cats_none"),
    ):  # fmt: skip
        entries = sorted(IndexEntry(k, folders[k] + "index.html", len(m))
                         for k, m in members.items() if k not in aliases)  # fmt: skip
        _index_page(planner, kit, rel, t[name], [("", entries)], "" if entries else t[none],
                    (t[other], f"{other}/index.html"))  # fmt: skip
    years: dict[int, list[IndexEntry]] = defaultdict(list)
    for (y, mo), members in sorted(g.by_month.items(), reverse=True):
        years[y].append(IndexEntry(f"{y}-{mo:02d}", f"archive/{y}/{mo:02d}.html", len(members)))
    _index_page(planner, kit, "archive/index.html", t["archive"],
                [(str(y), ms) for y, ms in years.items()])  # fmt: skip
    env = kit.env
    planner.page("404.html", (),
                 lambda: env.get_template("404.html").render(**kit.common("404.html", "404")))  # fmt: skip
    planner.page("search.html", (), lambda: env.get_template("search.html").render(
        **kit.common("search.html", t["search"]), page_class="search"))  # fmt: skip
    write_mirror_pages(planner.page, env, kit.config)
    render_sitemap(planner, kit.config, plan.recs)


def render_sitemap(planner: Planner, config: SiteConfig, recs: list[Rec]) -> None:
    """sitemap.xml (absolute URLs need `[site] url`; relative ones otherwise)."""
    listed = recs[:SITEMAP_MAX]
    sig = hash(tuple(map(PV, listed)))  # a post's URL follows from its id, its date from pv

    def render() -> str:
        base = html.escape(config.url + "/" if config.url else "", quote=False)  # XML text
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
                 f"<url><loc>{base}index.html</loc></url>"]  # fmt: skip
        # qurl is percent-encoded: no character XML would need escaped.
        lines += [f"<url><loc>{base}{r.qurl}</loc><lastmod>{r.day or day(r)}</lastmod></url>"
                  for r in listed]  # fmt: skip
        return "\n".join(lines + ["</urlset>", ""])

    planner.page("sitemap.xml", sig, render)


def copy_assets(assets: Path, out: Path, planner: Planner) -> None:
    """Copy mirrored images (content-addressed names: same name, same bytes)."""
    if not assets.is_dir():
        return
    for path in assets.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = "assets/" + path.relative_to(assets).as_posix()
        planner.keep(rel)
        dest = out / rel
        if not dest.exists() or dest.stat().st_size != path.stat().st_size:
            planner.writer.write(rel, path.read_bytes())
