"""`build_site`: `_posts/` -> a static site of relative links, rebuilt incrementally.

Every page has a signature: the versions (id, mtime_ns, size) of the posts it
shows plus its navigation, hashed to one int (a tuple of ints hashes alike in
every process; strings go through crc32). A page is rendered only when its
signature differs from the last build's, and written only when its bytes
differ. Templates, static files, config or builder code changing (the "stamp")
renders all.

An incremental build still looks at every post (100,000 posts: ~1.5 s), so the
per-post work is kept small: the cache (cache.py) loads as flat rows and saves
only changed ones; the stat() walk runs in a forked process meanwhile (scan.py);
groups (sources, tags, categories, months) with no changed post keep their
pages' signatures without hashing them, and post pages are re-signed only
around changed posts.
"""

from __future__ import annotations

import gc
import hashlib
import html
import logging
import math
import operator
import os
import sqlite3
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing.pool import AsyncResult
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup, escape

from ..models import NewsmirrorError
from . import search
from .cache import SiteCache, make_row, split_list
from .config import UI_STRINGS, SiteConfig, load_site_config
from .mirrors import write_mirror_pages
from .output import OutputWriter, href, root_of
from .reader import SitePost, title_from_filename
from .render import TEMPLATES, PostRenderer, make_env
from .scan import PostChanges, compare, scan_in_background
from .scriptswitch import write_tables
from .textutil import slugify
from .watch import SitePage, Watch, load_watch, source_filter_links, write_pages
from .workers import Workers, parse_one

BUILD_FORMAT = "1"
STATIC = Path(__file__).parent / "static"
STAMP_FILE = ".newsmirror-stamp"
FEED_ENTRIES = 30
SITEMAP_MAX = 50_000  # the sitemap protocol's limit per file
POOL_THRESHOLD = 300  # fewer posts to parse than this: no workers (forking them costs more)


log = logging.getLogger(__name__)
_phase_started = [0.0]


def _phase(done: str, count: int) -> None:
    """Debug log of where a build's time goes (`logging` at DEBUG to see it)."""
    now = time.perf_counter()
    log.debug("site build: %s (%d) in %.2f s", done, count, now - _phase_started[0])
    _phase_started[0] = now


class BuildError(NewsmirrorError):
    """The site cannot be built at all (no _posts/, unwritable output...)."""


@dataclass
class BuildReport:
    pages_written: int
    pages_skipped: int
    posts: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Rec:
    """One post as the builder sees it."""

    name: str
    id: int
    mtime_ns: int
    size: int
    url: str  # site-relative path of its page
    post: SitePost
    pv: tuple[int, int, int]  # (id, mtime_ns, size): the post's version, in page signatures
    qurl: str  # url percent-encoded (kept in the cache: quoting 100,000 URLs takes a second)
    sig: int | None  # its page's signature at the last build (None: render it)
    day: str = ""  # YYYY-MM-DD, formatted once


class _Touched:
    """The groups (sources, tags, categories, months) whose posts changed in this build."""

    def __init__(self, rows: list[tuple]) -> None:
        self.any = bool(rows)
        self.sources = {r[11] for r in rows}
        self.tags = {t for r in rows for t in split_list(r[12])}
        self.cats = {c for r in rows for c in split_list(r[13])}
        months = (datetime.fromtimestamp(r[8], UTC) for r in rows)
        self.months = {(d.year, d.month) for d in months}
        self.doc_chunks = {r[1] // search.DOC_CHUNK for r in rows}


def _stamp(config: SiteConfig) -> str:
    h = hashlib.sha256(BUILD_FORMAT.encode() + repr(config.as_dict()).encode())
    code = Path(__file__).parent
    for folder, pattern in ((TEMPLATES, "*"), (STATIC, "*"), (code, "*.py"), (code, "*.c")):
        for p in sorted(folder.glob(pattern)):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:20]


def _parse_here(posts_dir: Path, names: list[str]) -> Iterator[tuple[str, tuple | None, str]]:
    """Parse posts in this process (few of them: workers cost more)."""
    for name in names:
        yield parse_one(posts_dir, name)[0]


def _alias_to_sources(groups: dict[str, list[Rec]], group_dir: dict[str, str],
                      by_source: dict[str, list[Rec]], source_dir: dict[str, str]) -> set[str]:  # fmt: skip
    """Point each group (tag or category) holding exactly a source's posts at that
    source's pages; returns the names of those groups."""
    same: set[str] = set()
    for name, members in groups.items():
        posts = by_source.get(name)
        if (
            posts is not None
            and len(posts) == len(members)
            and all(map(operator.is_, posts, members))
        ):
            group_dir[name] = source_dir[name]
            same.add(name)
    return same


def _unique_slugs(names: list[str]) -> dict[str, str]:
    """name -> slug, unique even on case-insensitive file systems; stable by sort order."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in sorted(names):
        slug = base = slugify(n)
        i = 2
        while slug.casefold() in used:
            slug, i = f"{base}-{i}", i + 1
        used.add(slug.casefold())
        out[n] = slug
    return out


def _crc(text: str) -> int:
    """A stable number for a string in a page signature (`hash` of str varies by process)."""
    return zlib.crc32(text.encode())


def _day(rec: Rec) -> str:
    if not rec.day:
        rec.day = _DAYS[rec.post.date.toordinal()]
    return rec.day


class _DayNames(dict):
    """Date ordinal -> "YYYY-MM-DD", formatted once per day (strftime is slow at 100,000)."""

    def __missing__(self, ordinal: int) -> str:
        self[ordinal] = text = date.fromordinal(ordinal).strftime("%Y-%m-%d")
        return text


_DAYS = _DayNames()
_PV = operator.attrgetter("pv")  # in C: page signatures cover up to 100,000 posts


class _SplitLists(dict):
    """A joined tags/categories column -> tuple, split once per distinct value."""

    def __missing__(self, joined: str) -> tuple[str, ...]:
        self[joined] = items = split_list(joined)
        return items


def _list_rows(
    root: str, members: list[Rec], show_source: bool, source_dir: dict[str, str]
) -> Markup:
    """The `<li>` rows of a listing page (a template loop was slow). Made for each
    page: kept per post, they held 130 MB at 100,000 posts."""
    source_links: dict[str, str] = {}
    rows = []
    for r in members:
        p = r.post
        meta = ""
        if show_source:
            meta = source_links.get(p.source, "")
            if not meta:
                link = href(root, source_dir[p.source] + "index.html")
                meta = source_links[p.source] = f'<a href="{link}">{escape(p.source)}</a> · '
        rows.append(f'<li lang="{p.lang}"><a href="{root}{r.qurl}">{escape(p.title)}</a> '
                    f'<span class="meta">{meta}<time>{r.day or _day(r)}</time></span></li>')  # fmt: skip
    return Markup("".join(rows))


def _digest(sig: object) -> int:
    """A stable 64-bit signed int for a signature made of strings and tuples."""
    return int.from_bytes(hashlib.blake2b(repr(sig).encode(), digest_size=8).digest(), "big",
                          signed=True)  # fmt: skip


class _Planner:
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
        else:
            self.writer.skipped += 1

    def same(self, rel: str) -> bool:
        """Keep page `rel` as it is, if the last build made it (its posts did not change)."""
        sig = self.old.get(rel, self)
        if sig is self:
            return False
        self.new[rel] = sig  # type: ignore[assignment]
        self.writer.skipped += 1
        return True

    def keep(self, rel: str) -> None:
        self.new[rel] = None


def build_site(archive: Path, out: Path | None = None, *, full: bool = False) -> BuildReport:
    """Build the static site of `archive/_posts` into `out` (default `archive/_site`).

    The caller holds the archive lock when other writers may run (`run --build`).
    """
    started = _phase_started[0] = time.perf_counter()
    # The build keeps ~10 long-lived objects per post (100,000 posts: millions) and
    # makes few cycles; the cyclic GC rescanning them cost ~10% of an incremental
    # build. Pool workers turn it back on (render.init_worker).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _build_site(archive, out, full, started)
    finally:
        if gc_was_on:
            gc.enable()


def _build_site(archive: Path, out: Path | None, full: bool, started: float) -> BuildReport:
    archive = Path(archive)
    out = Path(out) if out is not None else archive / "_site"
    posts_dir = archive / "_posts"
    if not posts_dir.is_dir():
        raise BuildError(f"{archive}: no _posts/ folder, nothing to build")
    config = load_site_config(archive)
    stamp = _stamp(config)
    cache_path = SiteCache.path_for(archive)
    scanned = scan_in_background(posts_dir, cache_path)
    try:
        cache = SiteCache.load(archive)
    except (OSError, sqlite3.Error) as e:
        scanned()  # reap the scanning process
        raise BuildError(f"{cache_path}: cannot open the build cache ({e})") from e
    _phase("cache loaded", len(cache.posts))
    try:
        out_stamp = (out / STAMP_FILE).read_text().strip()
    except OSError:
        out_stamp = ""
    fresh_site = full or cache.stamp != stamp or out_stamp != stamp
    # Made while the scan still runs; a full build re-reads every post anyway.
    recs_by_name = {} if full else _make_recs(cache.posts.values(), fresh_site)
    found = scanned()
    changes = compare(found, cache.posts, full)
    _phase("scanned", changes.found)
    try:
        return _build_with_cache(archive, out, full, started, posts_dir, config, stamp, cache,
                                 changes, fresh_site, recs_by_name)  # fmt: skip
    finally:
        cache.close()


def _make_recs(rows: Iterable[tuple], fresh_site: bool) -> dict[str, Rec]:
    """name -> Rec, from cache rows (cache.make_row)."""
    lists = _SplitLists()
    return {name: Rec(name, pid, mt, size, url,
                      SitePost(name, title, datetime.fromtimestamp(ts, UTC), author, link,
                               source, lists[tags], lists[cats], lang, thumb),
                      (pid, mt, size), qurl, None if fresh_site else sig)
            for (name, pid, mt, size, url, qurl, sig, title, ts, author, link, source, tags,
                 cats, lang, thumb) in rows}  # fmt: skip


def _build_with_cache(archive: Path, out: Path, full: bool, started: float, posts_dir: Path,
                      config: SiteConfig, stamp: str, cache: SiteCache, changes: PostChanges,
                      fresh_site: bool, recs_by_name: dict[str, Rec]) -> BuildReport:  # fmt: skip
    old_pages = {} if fresh_site else cache.pages
    writer = OutputWriter(out)
    watch = load_watch(archive)  # what re-checking the originals found (watch.py)
    warnings: list[str] = list(watch.errors)

    to_parse = list(changes.changed)
    workers = None
    if len(to_parse) >= POOL_THRESHOLD and (os.cpu_count() or 1) > 1:
        workers = Workers(min(2, os.cpu_count() or 1), posts_dir, out, config, watch.posts)
    try:
        report = _build(archive, out, posts_dir, config, stamp, cache, changes, to_parse,
                        old_pages, writer, warnings, workers, fresh_site, recs_by_name, watch)  # fmt: skip
    finally:
        if workers is not None:
            workers.close()
    report.seconds = time.perf_counter() - started
    return report


def _build(archive: Path, out: Path, posts_dir: Path, config: SiteConfig, stamp: str,
           cache: SiteCache, changes: PostChanges, to_parse: list[str],
           old_pages: dict[str, int | None], writer: OutputWriter, warnings: list[str],
           workers: Workers | None, fresh_site: bool,
           recs_by_name: dict[str, Rec], watch: Watch) -> BuildReport:  # fmt: skip
    old_posts = cache.posts
    # Ids are given before parsing, so that workers can index posts as they parse them.
    pids: dict[str, int] = {}
    for name in to_parse:
        old = old_posts.get(name)
        if old is not None:
            pids[name] = old[1]
        else:
            pids[name], cache.next_id = cache.next_id, cache.next_id + 1
    # 1. Parse new and changed posts (in the workers when there are many).
    # A new main search segment takes each post's terms as it is parsed (in
    # the workers, if any: see Workers.parse); otherwise they go to the delta
    # segment (see _search).
    postings = search.new_postings() if _rebuild_index(cache, fresh_site, len(to_parse)) else None
    if workers:
        parsed = workers.parse(to_parse, pids=pids if postings is not None else None)
    else:
        parsed = _parse_here(posts_dir, to_parse)
    terms_now: dict[str, str] = {}  # name -> index terms ("" when already in `postings`)
    new_cache = dict(old_posts)  # name -> row (cache.make_row)
    removed_names = set(changes.removed)
    used_urls: dict[str, set[str]] = {}  # month folder -> casefolded URLs in it
    for name, ptuple, terms in parsed:
        if ptuple is None:
            warnings.append(terms)
            if name in old_posts:
                removed_names.add(name)
            continue
        mtime_ns, size = changes.changed[name]
        old = old_posts.get(name)
        pid = pids[name]
        if old is not None:
            url, sig = old[4], old[6]
        else:
            sig = None
            d = datetime.fromtimestamp(ptuple[2], UTC)
            slug = slugify(html.unescape(title_from_filename(name.rsplit("/", 1)[-1])))
            folder = f"posts/{d:%Y/%m}/"
            used = used_urls.get(folder)
            if used is None:  # a removed post's URL is free again, as in a full build
                freed = {old_posts[n][4].casefold() for n in changes.removed}
                used = used_urls[folder] = cache.urls_under(folder) - freed
            url = f"{folder}{slug}.html"
            if url.casefold() in used:
                url = f"{folder}{slug}-{hashlib.sha1(name.encode()).hexdigest()[:8]}.html"
            used.add(url.casefold())
        new_cache[name] = make_row(name, pid, mtime_ns, size, url, quote(url, safe="/#"), sig,
                                   ptuple)  # fmt: skip
        if postings is not None:
            if terms:  # "" when a worker has indexed it
                postings.add(pid, terms)
            terms = ""
        terms_now[name] = terms
    # The workers' postings, asked for before any page job so that they come while pages render.
    worker_postings = workers.take_postings() if workers and postings is not None else []
    for name in removed_names:
        del new_cache[name]
    removed_ids = {old_posts[n][1] for n in removed_names}
    # Posts gone or re-read (they may have moved): their old groups and sources are touched.
    gone_or_reread = [old_posts[n] for n in removed_names] + [
        old_posts[n] for n in terms_now if n in old_posts
    ]
    unsettled = {r[11] for r in gone_or_reread}
    changed_ids = {new_cache[n][1] for n in terms_now}
    removed_urls: set[str] = set()
    if removed_names:  # a new post may have taken a removed post's URL
        removed_urls = {old_posts[n][4] for n in removed_names} - {r[4] for r in new_cache.values()}
    touched = _Touched(gone_or_reread + [new_cache[n] for n in terms_now])

    for name in removed_names:
        recs_by_name.pop(name, None)
    recs_by_name.update(_make_recs((new_cache[n] for n in terms_now), fresh_site))
    recs = list(recs_by_name.values())
    recs.sort(key=lambda r: (r.post.date, r.name), reverse=True)
    by_id = {r.id: r for r in recs}

    _phase("parsed and sorted", len(to_parse))
    # 2. Group posts.
    by_source: dict[str, list[Rec]] = defaultdict(list)
    by_tag: dict[str, list[Rec]] = defaultdict(list)
    by_cat: dict[str, list[Rec]] = defaultdict(list)
    by_month: dict[tuple[int, int], list[Rec]] = defaultdict(list)
    for r in recs:
        p = r.post
        by_source[p.source].append(r)
        for t in p.tags:
            by_tag[t].append(r)
        for c in p.categories:
            by_cat[c].append(r)
        d = p.date
        by_month[d.year, d.month].append(r)
    source_dir = {s: f"sources/{slug}/" for s, slug in _unique_slugs(list(by_source)).items()}
    tag_dir = {s: f"tags/{slug}/" for s, slug in _unique_slugs(list(by_tag)).items()}
    cat_dir = {s: f"categories/{slug}/" for s, slug in _unique_slugs(list(by_cat)).items()}
    # Old-format posts tag and categorise themselves with their source's name:
    # such a tag lists exactly the source's posts, so it links to the source's
    # pages rather than repeating them (10,000 posts: 661 fewer pages, 9 MB).
    tags_as_sources = _alias_to_sources(by_tag, tag_dir, by_source, source_dir)
    cats_as_sources = _alias_to_sources(by_cat, cat_dir, by_source, source_dir)

    # 3. Post pages: render the stale ones, in the pool while this process does the rest.
    # With workers, each source's pages are queued as soon as its jobs are made.
    planner = _Planner(old_pages, writer)
    jobs: list[tuple] = []
    pending: list[AsyncResult] = []
    queued = 0
    check_all = fresh_site or cache.source_dirs != source_dir
    resigned: list[Rec] = []  # posts whose page signature changed
    for source, members in by_source.items():
        if not check_all and source not in touched.sources:
            writer.skipped += len(members)  # no post of it changed: nor did its pages
            continue
        near_change: set[int] | None = None  # positions whose neighbourhood changed
        if not check_all and source not in unsettled:
            near_change = set()
            for p, r in enumerate(members):
                if r.id in changed_ids:  # new posts: neighbours within 4 places see them
                    near_change.update(range(p - 4, p + 5))
        for i, r in enumerate(members):
            if near_change is not None and i not in near_change and r.sig is not None:
                writer.skipped += 1  # same neighbours as last time: same signature
                continue
            newer = members[i - 1] if i > 0 else None
            older = members[i + 1] if i + 1 < len(members) else None
            nearby = members[max(0, i - 4) : max(0, i - 1)] + members[i + 2 : i + 5]
            # The page's URL follows from the post's id, so the ids say it all.
            sig = hash((r.pv, _crc(source_dir[r.post.source]), newer.pv if newer else -1,
                        older.pv if older else -1, tuple(n.pv for n in nearby)))  # fmt: skip
            if r.sig == sig:
                writer.skipped += 1
                continue
            r.sig = sig
            resigned.append(r)

            # Tuples, not dicts: 100,000 queued jobs held ~200 MB as dicts.
            def brief(n: Rec | None) -> tuple[str, str] | None:
                return None if n is None else (n.qurl, n.post.title)

            near = [(n.qurl, n.post.title, n.post.lang, _day(n)) for n in nearby]
            jobs.append((r.name, r.url, r.post, source_dir[r.post.source] + "index.html",
                         brief(older), brief(newer), near))  # fmt: skip
        if workers is not None and jobs:
            pending += workers.render(jobs)
            queued, jobs = queued + len(jobs), []
    post_written = post_skipped = 0
    if jobs:
        renderer = PostRenderer(posts_dir, out, config, watch.posts)
        for job in jobs:
            renderer.render(job)
        post_written, post_skipped = renderer.writer.written, renderer.writer.skipped
    _phase("post jobs queued", queued + len(jobs))
    # 4. Listings, indexes, feeds, search, static files.
    env = make_env(config)
    t = UI_STRINGS[config.lang]
    list_tpl, index_tpl = env.get_template("list.html"), env.get_template("index_of.html")

    def common(rel: str, title: str) -> dict:
        return {"site": config, "t": t, "lang": config.lang, "title": title, "root": root_of(rel)}

    watched = _watched_pages(recs_by_name, watch)

    def listing(base: str, heading: str, members: list[Rec], feed: str | None,
                show_source: bool = True, changed: bool = True, source: str = "") -> None:  # fmt: skip
        """Pages numbered from the oldest, so new posts leave old pages untouched."""
        size = config.page_size
        chunks = max(1, math.ceil(len(members) / size))
        asc_len = len(members)
        front_count = asc_len - (chunks - 2) * size if chunks > 2 else asc_len

        def page_rel(k: int) -> str:
            return f"{base}index.html" if k >= chunks - 1 or chunks <= 2 else f"{base}page/{k}.html"

        heading_crc, feed_crc = _crc(heading), _crc(feed or "")
        pages: list[tuple[str, list[Rec], int | None, int | None]] = [
            (f"{base}index.html", members[:front_count], None, chunks - 2 if chunks > 2 else None)
        ]
        for k in range(chunks - 2, 0, -1):
            lo = asc_len - k * size
            pages.append((page_rel(k), members[lo : lo + size], k + 1, k - 1 or None))
        for rel, group, newer, older in pages:
            if not changed and planner.same(rel):
                continue
            filters = source_filter_links(source, base, rel, watched, watch, config.lang,
                                          len(members)) if source else ""  # fmt: skip
            sig = hash((heading_crc, tuple(map(_PV, group)), newer or -1, older or -1, feed_crc,
                        _crc(filters)))  # fmt: skip

            def render(rel=rel, group=group, newer=newer, older=older, filters=filters) -> str:
                root = root_of(rel)
                return list_tpl.render(**common(rel, heading), heading=heading,
                    rows=_list_rows(root, group, show_source, source_dir),
                    newer=href(root, page_rel(newer)) if newer else "",
                    older=href(root, page_rel(older)) if older else "",
                    feed=href(root, feed) if feed else "", filters=filters)  # fmt: skip

            planner.page(rel, sig, render)

    listing("", t["latest"], recs, "feed.xml", changed=check_all or touched.any)
    for s, members in by_source.items():
        listing(source_dir[s], s, members, source_dir[s] + "feed.xml", show_source=False,
                changed=check_all or s in touched.sources, source=s)  # fmt: skip
        _feed(
            planner,
            env,
            config,
            source_dir[s] + "feed.xml",
            s,
            members,
            source_dir[s] + "index.html",
        )
    for tag, members in by_tag.items():
        if tag in tags_as_sources:
            continue
        listing(tag_dir[tag], f"{t['tags']}: {tag}", members, None,
                changed=check_all or tag in touched.tags)  # fmt: skip
    for cat, members in by_cat.items():
        if cat in cats_as_sources:
            continue
        listing(cat_dir[cat], f"{t['categories']}: {cat}", members, None,
                changed=check_all or cat in touched.cats)  # fmt: skip
    for (y, mo), members in by_month.items():
        rel = f"archive/{y}/{mo:02d}.html"
        if not check_all and (y, mo) not in touched.months and planner.same(rel):
            continue
        heading = f"{y}-{mo:02d}"
        planner.page(rel, hash(tuple(map(_PV, members))), lambda rel=rel, heading=heading, members=members: list_tpl.render(
            **common(rel, heading), heading=heading, rows=_list_rows(root_of(rel), members, True, source_dir), newer="", older="", feed=""))  # fmt: skip
    _feed(planner, env, config, "feed.xml", config.title, recs, "index.html")
    write_pages(planner.page, env, config, watch, watched, source_dir)

    def index_page(
        rel: str, heading: str, groups: list[tuple[str, list[tuple[str, str, int]]]]
    ) -> None:
        root = root_of(rel)
        sig = (heading, repr(groups))
        planner.page(rel, sig, lambda: index_tpl.render(**common(rel, heading), heading=heading, groups=[
            {"name": g, "entries": [{"name": n, "url": href(root, u), "count": c} for n, u, c in es]}
            for g, es in groups]))  # fmt: skip

    index_page("sources/index.html", t["sources"], [("", sorted(
        ((s, source_dir[s] + "index.html", len(m)) for s, m in by_source.items()), key=lambda e: -e[2]))])  # fmt: skip
    index_page("tags/index.html", t["tags"], [
        (t["tags"], sorted((k, tag_dir[k] + "index.html", len(m)) for k, m in by_tag.items())),
        (t["categories"], sorted((k, cat_dir[k] + "index.html", len(m)) for k, m in by_cat.items())),
    ])  # fmt: skip
    years: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for (y, mo), members in sorted(by_month.items(), reverse=True):
        years[y].append((f"{y}-{mo:02d}", f"archive/{y}/{mo:02d}.html", len(members)))
    index_page("archive/index.html", t["archive"], [(str(y), ms) for y, ms in years.items()])
    planner.page("404.html", (), lambda: env.get_template("404.html").render(
        **common("404.html", "404")))  # fmt: skip
    planner.page("search.html", (), lambda: env.get_template("search.html").render(**common("search.html", t["search"])))  # fmt: skip
    write_mirror_pages(planner.page, env, config)
    _sitemap(planner, config, recs)

    terms_by_id = {new_cache[n][1]: terms for n, terms in terms_now.items()}
    _phase("listings and feeds", len(planner.new))
    while worker_postings:  # each part dropped once merged
        postings.merge(worker_postings.pop(0)())  # type: ignore[union-attr]
    _search(planner, writer, cache, by_id, terms_by_id, postings, removed_ids, posts_dir,
            workers, fresh_site, stamp, None if check_all else touched.doc_chunks)  # fmt: skip

    for f in sorted(STATIC.iterdir()):
        planner.keep(f"static/{f.name}")
        writer.write(f"static/{f.name}", f.read_bytes())
    write_tables(out, writer.write, planner.keep, cache.path.parent)  # the 繁/简 switch's
    _copy_assets(archive / "assets", out, planner)

    _phase("search and static", len(planner.new))
    cache.source_dirs = source_dir
    cache.stamp = stamp
    # Rows to save: re-read posts and posts whose page signature changed.
    dirty = {r.name: r for r in resigned}
    for name in terms_now:
        dirty.setdefault(name, by_id[new_cache[name][1]])
    replace_all = fresh_site or len(dirty) == len(recs)
    rows = (new_cache[r.name][:6] + (r.sig,) + new_cache[r.name][7:]
            for r in (recs if replace_all else dirty.values()))  # fmt: skip
    try:
        # The rows are written while the workers render; they count only once
        # the post pages are all written and the block below ends.
        with cache.saving(replace_all=replace_all, changed_posts=rows,
                          removed_posts=removed_names, pages=planner.new):  # fmt: skip
            for result in pending:
                for w, s in result.get():
                    post_written += w
                    post_skipped += s
            _phase("post pages", queued + len(jobs))
            # 5. Remove pages no longer produced (deleted posts, emptied sources).
            for rel in (set(cache.pages) - set(planner.new)) | removed_urls:
                try:
                    (out / rel).unlink()
                except FileNotFoundError:
                    pass
                except OSError as e:
                    warnings.append(f"{out / rel}: cannot remove stale page ({e.strerror})")
            writer.write(STAMP_FILE, stamp + "\n")
    except sqlite3.Error as e:  # e.g. disk full: the old cache stays, the next build redoes this
        raise BuildError(f"{cache.path}: cannot save the build cache ({e})") from e
    _phase("cache saved", len(dirty))
    return BuildReport(
        pages_written=writer.written + post_written,
        pages_skipped=writer.skipped + post_skipped,
        posts=len(recs),
        seconds=0.0,
        warnings=warnings,
    )


def _watched_pages(recs_by_name: dict[str, Rec], watch: Watch) -> dict[str, SitePage]:
    """The posts re-checking found something about, as watch.py needs them."""
    found = {}
    for name in watch.posts:
        r = recs_by_name.get(name)
        if r is not None:
            p = r.post
            found[name] = SitePage(name, r.url, p.title, p.source, p.lang, p.link)
    return found


def _atom_time(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed(
    planner: _Planner,
    env,
    config: SiteConfig,
    rel: str,
    title: str,
    members: list[Rec],
    alternate: str,
) -> None:  # type: ignore[no-untyped-def]
    """An Atom feed; links are relative to the feed unless the config gives the site URL."""
    latest = members[:FEED_ENTRIES]
    sig = hash((_crc(title), tuple(map(_PV, latest))))

    def render() -> str:
        root = "" if config.url else root_of(rel)
        base = config.url + "/" if config.url else ""
        return env.get_template("feed.xml").render(
            title=title, base=base, self_href=href(root, rel), alternate=href(root, alternate),
            feed_id=(base + rel) if base else f"urn:newsmirror:{hashlib.sha1(rel.encode()).hexdigest()}",
            updated=_atom_time(latest[0].post.date if latest else datetime.now(UTC)),
            entries=[{"title": m.post.title, "url": root + m.qurl, "link": m.post.link,
                      "author": m.post.author, "source": m.post.source,
                      "updated": _atom_time(m.post.date),
                      "id": (base + m.url) if base else f"urn:newsmirror:{hashlib.sha1(m.name.encode()).hexdigest()}"}
                     for m in latest])  # fmt: skip

    planner.page(rel, sig, render)


def _sitemap(planner: _Planner, config: SiteConfig, recs: list[Rec]) -> None:
    """sitemap.xml (absolute URLs need `[site] url`; relative ones otherwise)."""
    listed = recs[:SITEMAP_MAX]
    sig = hash(tuple(map(_PV, listed)))  # a post's URL follows from its id, its date from pv

    def render() -> str:
        base = html.escape(config.url + "/" if config.url else "", quote=False)  # XML text
        lines = ['<?xml version="1.0" encoding="utf-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
                 f"<url><loc>{base}index.html</loc></url>"]  # fmt: skip
        # qurl is percent-encoded: no character XML would need escaped.
        lines += [f"<url><loc>{base}{r.qurl}</loc><lastmod>{r.day or _day(r)}</lastmod></url>"
                  for r in listed]  # fmt: skip
        return "\n".join(lines + ["</urlset>", ""])

    planner.page("sitemap.xml", sig, render)


def _rebuild_index(cache: SiteCache, fresh_site: bool, to_parse: int) -> bool:
    """Write a new main search segment (else add to the delta segment)?"""
    state = {} if fresh_site else cache.search
    delta = state.get("delta", {})
    return not state.get("main_shards") or len(delta) + to_parse > search.DELTA_MAX  # type: ignore[arg-type]


def _search(planner: _Planner, writer: OutputWriter, cache: SiteCache, by_id: dict[int, Rec],
            terms_by_id: dict[int, str], postings: search.Postings | None,
            removed_ids: set[int], posts_dir: Path, workers: Workers | None, fresh_site: bool,
            stamp: str, changed_chunks: set[int] | None) -> None:  # fmt: skip
    """`postings`: a new main segment, holding the posts parsed in this build;
    None: add `terms_by_id` to the delta segment."""
    state = {} if fresh_site else cache.search
    main_shards = int(state.get("main_shards", 0))  # type: ignore[call-overload]
    # Ids are never reused, so the main segment holds exactly the live ids below this.
    main_next_id = int(state.get("main_next_id", 0))  # type: ignore[call-overload]
    delta = {int(k): v for k, v in state.get("delta", {}).items()}  # type: ignore[attr-defined]
    tomb: set[int] = set(state.get("tomb", []))  # type: ignore[call-overload]
    if postings is not None:
        missing = [by_id[i].name for i in by_id if i not in terms_by_id]
        if missing:
            parsed = (workers.parse(missing, keep=False) if workers
                      else _parse_here(posts_dir, missing))  # fmt: skip
            ids = {by_id[i].name: i for i in by_id}
            for name, ptuple, terms in parsed:
                if ptuple is not None:
                    postings.add(ids[name], terms)
        main_shards, _ = search.write_postings(postings, "main", writer.write)
        main_next_id, delta, tomb = cache.next_id, {}, set()
        delta_dirty = True
    else:
        for pid in removed_ids:
            delta.pop(pid, None)
            if pid < main_next_id:
                tomb.add(pid)
        for pid, terms in terms_by_id.items():
            delta[pid] = terms
            if pid < main_next_id:
                tomb.add(pid)
        delta_dirty = bool(removed_ids or terms_by_id)
    if delta_dirty:
        search.write_segment("delta", delta.items(), writer.write, shards=search.DELTA_SHARDS)
    main_files = [f"search/main/{i}.js" for i in range(main_shards)]
    for rel in main_files + [f"search/delta/{i}.js" for i in range(search.DELTA_SHARDS)]:
        planner.keep(rel)
    planner.page("search/manifest.js", (main_shards, tuple(sorted(tomb)), stamp),
                 lambda: search.manifest_js(main_shards, tomb, stamp))  # fmt: skip
    size = search.DOC_CHUNK
    for k in {pid // size for pid in by_id}:
        rel = f"search/docs/{k}.js"
        if changed_chunks is not None and k not in changed_chunks and planner.same(rel):
            continue
        members = [by_id[i] for i in range(k * size, (k + 1) * size) if i in by_id]

        def render(k=k, members=members) -> str:
            rows: list[list | int] = [0] * search.DOC_CHUNK
            for r in members:
                rows[r.id % search.DOC_CHUNK] = [
                    r.post.title,
                    r.url,
                    _day(r),
                    r.post.source,
                    r.post.lang,
                ]
            return search.docs_chunk_js(k, rows)

        planner.page(rel, hash(tuple(map(_PV, members))), render)
    cache.search = {"main_shards": main_shards, "main_next_id": main_next_id,
                    "delta": {str(k): v for k, v in delta.items()}, "tomb": sorted(tomb)}  # fmt: skip


def _copy_assets(assets: Path, out: Path, planner: _Planner) -> None:
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
