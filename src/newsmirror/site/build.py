"""`build_site`: `_posts/` -> a static site of relative links, rebuilt incrementally.

The build runs as stages, each a function with a typed result (records.py):

1. **scan** (`scan`): the build cache, the config and which post files are
   new, changed or gone (their stat() walk runs in a forked process meanwhile);
2. **read** (`read_changed`): parse those posts (in worker processes when there
   are many), give new ones an id and a URL, and make their cache rows;
3. **plan** (plan.py): every post sorted and grouped, and what changed;
4. **render** (pages.py): post pages (in the workers), listings, feeds and
   index pages, each only when its signature changed;
5. **index** (indexing.py): the search index;
6. **write** (`write_out`): static files, the build cache, stale pages removed.

Templates, static files, config or builder code changing (the "stamp")
renders all. An incremental build still looks at every post (100,000 posts:
~1.5 s), so the per-post work is kept small: the cache (cache.py) loads as flat
rows and saves only changed ones; groups (sources, tags, categories, months)
with no changed post keep their pages' signatures without hashing them, and
post pages are re-signed only around changed posts.
"""

from __future__ import annotations

import gc
import hashlib
import html
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from ..models import NewsmirrorError
from ..util.text import plural
from . import scriptfold, search
from .cache import PostRow, SiteCache, make_row, with_sig
from .config import SiteConfig, load_site_config
from .indexing import index_search, parse_here, rebuild_index
from .output import OutputWriter
from .pages import PageKit, Planner, copy_assets, render_indexes, render_listings, render_post_pages
from .plan import plan, recs_from_rows
from .reader import title_from_filename
from .records import Plan, PostPages, ReadPosts, Scanned
from .render import TEMPLATES, PostRenderer
from .scan import compare, scan_in_background
from .scriptswitch import write_tables
from .textutil import slugify
from .watch import SitePage, SiteWatch, Watch, load_watch, write_pages
from .workers import Workers

BUILD_FORMAT = "1"
STATIC = Path(__file__).parent / "static"
STAMP_FILE = ".newsmirror-stamp"
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
    """What a build did. Its counts add up: `pages_written + pages_skipped` are the
    pages (every file) the site has now, and `pages` adds the ones it removed."""

    pages_written: int
    pages_skipped: int  # unchanged: already on disk with the same bytes, or not re-rendered
    posts: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    pages_removed: int = 0  # pages of posts, sources... no longer there
    site: Path | None = None  # the output folder

    @property
    def pages_unchanged(self) -> int:
        return self.pages_skipped

    @property
    def pages(self) -> int:
        """written + unchanged + removed: every page this build dealt with."""
        return self.pages_written + self.pages_skipped + self.pages_removed

    @property
    def index_uri(self) -> str:
        """The site's home page as a file:// URL ("" when unknown)."""
        return (self.site / "index.html").resolve().as_uri() if self.site else ""

    @property
    def open_hint(self) -> str:
        """One line telling where to open the site, e.g. "open file:///.../index.html"."""
        return f"open {self.index_uri} in a browser" if self.site else ""

    def summary_lines(self) -> list[str]:
        """What the build did, and where to open the site: for the CLI and `watch`."""
        counts = (
            f"site: {plural(self.posts, 'post')}, {plural(self.pages_written, 'page')} written,"
            f" {self.pages_unchanged} unchanged, {self.pages_removed} removed,"
            f" in {self.seconds:.2f}s"
        )
        return [counts, self.open_hint] if self.open_hint else [counts]


def _stamp(config: SiteConfig) -> str:
    h = hashlib.sha256(BUILD_FORMAT.encode() + repr(config.as_dict()).encode())
    code = Path(__file__).parent
    for folder, pattern in ((TEMPLATES, "*"), (STATIC, "*"), (code, "*.py"), (code, "*.c")):
        for p in sorted(folder.glob(pattern)):
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:20]


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
        archive = Path(archive)
        report = _build_stages(archive, Path(out) if out is not None else archive / "_site", full)
    finally:
        if gc_was_on:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


def _build_stages(archive: Path, out: Path, full: bool) -> BuildReport:
    scanned = scan(archive, out, full)
    watch = load_watch(archive)  # what re-checking the originals found (watch.py)
    try:
        to_parse = len(scanned.changes.changed)
        workers = None
        if to_parse >= POOL_THRESHOLD and (os.cpu_count() or 1) > 1:
            workers = Workers(min(2, os.cpu_count() or 1), scanned.posts_dir, out, scanned.config,
                              watch.posts)  # fmt: skip
        try:
            read = read_changed(scanned, workers)
            read.warnings.extend(watch.errors)
            site = plan(scanned, read)
            _phase("parsed and sorted", to_parse)
            writer = OutputWriter(out)
            post_pages = render_post_pages(site, workers, lambda: PostRenderer(
                scanned.posts_dir, out, scanned.config, watch.posts))  # fmt: skip
            _phase("post jobs queued", post_pages.queued)
            planner = Planner({} if scanned.fresh else scanned.cache.pages, writer)
            watched = SiteWatch(watch, watched_pages(read, site, watch), scanned.config.lang)
            kit = PageKit.make(scanned.config, site.groups.source_dir, watched)
            render_listings(planner, kit, site)
            render_indexes(planner, kit, site)
            write_pages(planner.page, kit.env, scanned.config, watched, site.groups.source_dir)
            _phase("listings and feeds", len(planner.new))
            index_search(planner, scanned, read, site, workers)
            return write_out(planner, scanned, read, site, post_pages)
        finally:
            if workers is not None:
                workers.close()
    finally:
        scanned.cache.close()


def watched_pages(read: ReadPosts, site: Plan, watch: Watch) -> dict[str, SitePage]:
    """The posts re-checking found something about, with their pages."""
    found = {}
    for name in watch.posts:
        row = read.rows.get(name)
        rec = site.by_id.get(row.id) if row is not None else None
        if rec is not None:
            p = rec.post
            found[name] = SitePage(name, rec.url, p.title, p.source, p.lang, p.link)
    return found


def scan(archive: Path, out: Path, full: bool) -> Scanned:
    """The scan stage: config, build cache, and the post files new, changed or gone."""
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
    fresh = full or cache.stamp != stamp or out_stamp != stamp
    # Made while the scan still runs; a full build re-reads every post anyway.
    recs = {} if full else recs_from_rows(cache.posts.values(), fresh)
    changes = compare(scanned(), cache.posts, full)
    _phase("scanned", changes.found)
    return Scanned(archive, out, posts_dir, config, stamp, cache, changes, fresh, recs)


class _NewUrls:
    """Page URLs for posts new to the cache: posts/YYYY/MM/<slug>.html, unique per
    folder even on case-insensitive file systems (a hash of the name when taken)."""

    def __init__(self, scanned: Scanned) -> None:
        self.cache = scanned.cache
        # A removed post's URL is free again, as in a full build.
        self.freed = {scanned.cache.posts[n].url.casefold() for n in scanned.changes.removed}
        self.used: dict[str, set[str]] = {}  # month folder -> casefolded URLs in it

    def url(self, name: str, ts: float) -> str:
        """The URL of new post `name` (its path inside _posts/), of time `ts`."""
        d = datetime.fromtimestamp(ts, UTC)
        slug = slugify(html.unescape(title_from_filename(name.rsplit("/", 1)[-1])))
        folder = f"posts/{d:%Y/%m}/"
        used = self.used.get(folder)
        if used is None:
            used = self.used[folder] = self.cache.urls_under(folder) - self.freed
        url = f"{folder}{slug}.html"
        if url.casefold() in used:
            url = f"{folder}{slug}-{hashlib.sha1(name.encode()).hexdigest()[:8]}.html"
        used.add(url.casefold())
        return url


def _give_ids(scanned: Scanned) -> dict[str, int]:
    """Ids for the posts to read, before reading them, so that workers can index
    them as they parse them: a post keeps its id, a new one takes the next."""
    cache, pids = scanned.cache, {}
    for name in scanned.changes.changed:
        old = cache.posts.get(name)
        if old is not None:
            pids[name] = old.id
        else:
            pids[name], cache.next_id = cache.next_id, cache.next_id + 1
    return pids


def read_changed(scanned: Scanned, workers: Workers | None) -> ReadPosts:
    """The read stage: parse new and changed posts (in the workers when there are
    many) and make their cache rows. A new main search segment takes each post's
    terms as it is parsed (in the workers, if any: see Workers.parse); otherwise
    they go to the delta segment (see indexing.py)."""
    old, changes = scanned.cache.posts, scanned.changes
    to_parse = list(changes.changed)
    pids = _give_ids(scanned)
    postings = (search.new_postings() if rebuild_index(scanned.cache, scanned.fresh, len(to_parse))
                else None)  # fmt: skip
    if workers:
        parsed = workers.parse(to_parse, pids=pids if postings is not None else None)
    else:
        parsed = parse_here(scanned.posts_dir, to_parse)
    read = ReadPosts(rows=dict(old), terms={}, removed=set(changes.removed), postings=postings,
                     worker_postings=[])  # fmt: skip
    urls = _NewUrls(scanned)
    for name, post, terms in parsed:
        if post is None:
            read.warnings.append(terms)
            if name in old:
                read.removed.add(name)
            continue
        mtime_ns, size = changes.changed[name]
        was = old.get(name)
        url, sig = (was.url, was.sig) if was is not None else (urls.url(name, post.ts), None)
        read.rows[name] = make_row(name, pids[name], mtime_ns, size, url, quote(url, safe="/#"), sig,
                                   post)  # fmt: skip
        if postings is not None:
            if terms:  # "" when a worker has indexed it
                postings.add(pids[name], terms)
            terms = ""
        read.terms[name] = terms
    # Asked for before any page job, so that they come while pages render.
    if workers and postings is not None:
        read.worker_postings = workers.take_postings()
    for name in read.removed:
        del read.rows[name]
    return read


def _rows_to_save(scanned: Scanned, read: ReadPosts, site: Plan,
                  post_pages: PostPages) -> tuple[bool, list[PostRow]]:  # fmt: skip
    """(replace every row?, the rows to save): re-read posts and posts whose page
    signature changed, with their new signatures."""
    dirty = {r.name: r for r in post_pages.resigned}
    for name in read.terms:
        dirty.setdefault(name, site.by_id[read.rows[name].id])
    replace_all = scanned.fresh or len(dirty) == len(site.recs)
    recs = site.recs if replace_all else dirty.values()
    return replace_all, [with_sig(read.rows[r.name], r.sig) for r in recs]


def _remove_stale(out: Path, stale: set[str], warnings: list[str]) -> int:
    """Remove pages no longer produced (deleted posts, emptied sources); how many."""
    removed = 0
    for rel in stale:
        try:
            (out / rel).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as e:
            warnings.append(f"{out / rel}: cannot remove stale page ({e.strerror})")
    return removed


def write_out(planner: Planner, scanned: Scanned, read: ReadPosts, site: Plan,
              post_pages: PostPages) -> BuildReport:  # fmt: skip
    """The write stage: static files and assets, the build cache saved as the post
    pages are finished, stale pages removed."""
    writer, cache, out = planner.writer, scanned.cache, scanned.out
    for f in sorted(STATIC.iterdir()):
        planner.keep(f"static/{f.name}")
        writer.write(f"static/{f.name}", f.read_bytes())
    planner.keep(scriptfold.JS_FILE)  # generated from the table the index was folded with
    writer.write(scriptfold.JS_FILE, scriptfold.js_source())
    write_tables(out, writer.write, planner.keep, cache.path.parent)  # the 繁/简 switch's
    copy_assets(scanned.archive / "assets", out, planner)
    _phase("search and static", len(planner.new))
    cache.source_dirs = site.groups.source_dir
    cache.stamp = scanned.stamp
    replace_all, rows = _rows_to_save(scanned, read, site, post_pages)
    written = post_pages.written
    try:
        # The rows are written while the workers render; they count only once
        # the post pages are all written and the block below ends.
        with cache.saving(replace_all=replace_all, changed_posts=rows,
                          removed_posts=read.removed, pages=planner.new):  # fmt: skip
            for result in post_pages.pending:
                written += sum(w for w, _ in result.get())
            _phase("post pages", post_pages.queued)
            stale = (set(cache.pages) - set(planner.new)) | site.removed_urls
            removed = _remove_stale(out, stale, read.warnings)
            written += writer.written  # the stamp below is not a page
            OutputWriter(out).write(STAMP_FILE, scanned.stamp + "\n")
    except sqlite3.Error as e:  # e.g. disk full: the old cache stays, the next build redoes this
        raise BuildError(f"{cache.path}: cannot save the build cache ({e})") from e
    _phase("cache saved", len(rows))
    # Every page is in planner.new but the post pages, one per post.
    pages = len(planner.new) + len(site.recs)
    return BuildReport(pages_written=written, pages_skipped=pages - written, posts=len(site.recs),
                       seconds=0.0, warnings=read.warnings, pages_removed=removed, site=out)  # fmt: skip
