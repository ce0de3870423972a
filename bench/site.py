"""Benchmark: newsmirror's site build vs Debian's jekyll and hugo on the same posts.

    python bench/site.py [--sizes 1000,10000] [--incremental-base 100000] [--repeat 2]
                         [--jekyll-10k] [--work DIR]

Full builds alternate with Hugo's, `--full-repeat` times each, and the
medians are compared; both are timed as whole processes (newsmirror's time
includes starting Python). Old outputs are moved aside, not deleted, during a
run: when ext4 without a journal allocates an inode, it skips inodes freed in
the last 60 s, or the last 6 minutes while their inode table block is dirty
(`recently_deleted`), and allocating new ones into those blocks dirties them.
So for 6 minutes after a 10,000-page site is deleted, every build's file
creation is slower (perf: `recently_deleted`, `find_inode_bit`); Hugo, which
makes a folder per post, suffers most (at 10,000 posts: 3.4-4.9 s in a run
that started right after deleting; medians of 2.76-3.02 s in three runs that
waited 6 minutes first). With `--work`, a run empties the trash
when it ends, and the next run waits until 6 minutes have passed since then
before it times anything (see `settle_after_deleting`). Every timed build
starts after an `os.sync()`, so none pays for the last one's writeback.

`--work DIR` keeps the generated archives there and reuses them on the next run
(generating 100,000 posts takes about a minute). `--sizes ""` skips the sized
runs. With `--incremental-base N`, after a full build of N posts it times
`--repeat` no-change rebuilds and `--repeat` rebuilds after adding 50 posts
(each followed by removing them and rebuilding). The machine's load average is
printed beside each figure: rerun when it is high.

Posts are synthetic, modelled on the golden posts: several sources, dates spread
over years, 2-8 KB one-line HTML bodies, and titles and bodies made of real
sentences from ../shared (85% Chinese, 15% English). Prints times, ratios and
newsmirror's peak RSS (the build runs in a child process).
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

SOURCES = [
    "纽约时报",
    "法广",
    "自由亚洲电台",
    "大纪元",
    "中国数字时代",
    "Solidot",
    "维权网",
    "BBC",
    "德国之声",
    "明鏡歷史台",
]
SHARED = Path(__file__).resolve().parents[2] / "shared"
# Real text for the posts' bodies and titles: the golden posts and the Chinese
# article pages of readability's test suite (for Chinese posts), and some of its
# English news pages (for English ones). Sampling whole sentences gives each post
# a realistic number of distinct search terms (~800 on average); the
# first version of this bench drew from 30 words and gave ~50.
ZH_PAGES = ("gmw", "pixnet", "qq", "youth")
EN_PAGES = ("nytimes-1", "nytimes-2", "guardian-1", "bbc-1", "wapo-1", "wapo-2", "cnn", "lwn-1")
ENGLISH_SHARE = 0.15
POSTS_VERSION = "sentences-1"  # archives kept by --work are regenerated when this changes
CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from newsmirror.site import build_site
r = build_site(Path(sys.argv[1]), full=sys.argv[2] == "full")
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": r.seconds, "written": r.pages_written, "skipped": r.pages_skipped,
                  "rss_mb": me.ru_maxrss / 1024, "children_rss_mb": kids.ru_maxrss / 1024,
                  "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}))
"""


@functools.cache
def sentences() -> dict[str, list[str]]:
    """Real sentences by language ("zh", "en"), from ../shared."""
    from newsmirror.site.textutil import detect_lang, html_to_text

    pages = SHARED / "corpus" / "pages" / "readability" / "test" / "test-pages"
    if not pages.is_dir():
        sys.exit(f"bench/site.py needs the test corpora in {SHARED}")
    texts = [html_to_text(p.read_text(encoding="utf-8", errors="replace").split("\n------\n", 1)[-1])
             for p in sorted((SHARED / "golden").glob("*.md"))]  # fmt: skip
    texts += [html_to_text((pages / name / "expected.html").read_text(encoding="utf-8"))
              for name in ZH_PAGES + EN_PAGES]  # fmt: skip
    pool: dict[str, list[str]] = {"zh": [], "en": []}
    for text in texts:
        for sentence in re.split(r"(?<=[。！？!?.])\s*", text):
            if len(sentence) >= 8:
                pool["en" if detect_lang(sentence) == "en" else "zh"].append(sentence)
    return pool


def make_post(rng: random.Random, i: int, when: datetime) -> tuple[str, str]:
    source = rng.choice(SOURCES)
    pool = sentences()["en" if rng.random() < ENGLISH_SHARE else "zh"]
    # A title from a sentence, without the characters file names and YAML quoting dislike.
    title = " ".join(_UNSAFE_IN_TITLE.sub(" ", rng.choice(pool)).split())[: rng.randint(10, 40)]
    title = f"{title.strip()} {i}"
    paras, size = [], rng.randint(2000, 8000)  # bytes of UTF-8, as the old generator's posts
    while sum(len(p.encode()) for p in paras) < size:
        paras.append(
            "<p>"
            + html.escape(" ".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
            + "</p>"
        )
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    link = f"https://example.org/{source_slug(source)}/{i}.html"
    text = (f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}\nauthor: {source}\nfrom: {link}\n'
            f"tags: [ {source} ]\ncomments: True\ncategories: [ {source} ]\n---\n"
            f"<!--{int(when.timestamp() * 1000)}-->\n[{title}]({link})\n------\n\n<div>\n{''.join(paras)}\n</div>\n")  # fmt: skip
    return f"{when:%Y-%m-%d}-{title[:50]}.md", text


_UNSAFE_IN_TITLE = re.compile(r"[\x00-\x1f\\/:*?\"<>|#%&{}$!'@+=`^~\[\];,()]")


def source_slug(s: str) -> str:
    return str(SOURCES.index(s))


def generate(folder: Path, n: int, seed: int = 1, start: int = 0) -> list[Path]:
    """Write posts start..start+n-1; a full archive already there (--work) is reused."""
    posts, version = folder / "_posts", folder / ".bench-posts"
    if not start and posts.is_dir():
        current = version.is_file() and version.read_text() == POSTS_VERSION
        if current and sum(1 for _ in posts.iterdir()) == n:
            return sorted(posts.iterdir())
        discard(posts)
    rng = random.Random(seed + start)
    posts.mkdir(parents=True, exist_ok=True)
    version.write_text(POSTS_VERSION)
    base = datetime(2019, 1, 1, tzinfo=UTC)
    span = (datetime(2025, 1, 1, tzinfo=UTC) - base).total_seconds()
    out = []
    for i in range(start, start + n):
        when = base + timedelta(seconds=span * (i + rng.random()) / max(n + start, 1))
        if start:  # the new posts arrive now
            when = datetime(2025, 1, 2, tzinfo=UTC) + timedelta(minutes=i - start)
        name, text = make_post(rng, i, when)
        (posts / name).write_text(text, encoding="utf-8")
        out.append(posts / name)
    return out


def discard(path: Path) -> None:
    """Move `path` into the work folder's trash (emptied when the run ends: `empty_trash`)."""
    if path.exists():
        trash = path.parent / ".trash"
        trash.mkdir(exist_ok=True)
        path.rename(tempfile.mkdtemp(dir=trash) + "/x")


SETTLE_S = 360  # ext4's recently_deleted(): 60 s, plus 5 minutes while the block is dirty


def empty_trash(work: Path) -> None:
    """Delete what the runs moved aside, and note when (see `settle_after_deleting`)."""
    trashes = [t for t in (work / ".trash", *work.glob("*/.trash")) if t.exists()]
    if trashes:
        for trash in trashes:
            shutil.rmtree(trash, ignore_errors=True)
        os.sync()
        (work / ".emptied").write_text(f"{time.time():.0f}\n")


def settle_after_deleting(work: Path) -> None:
    """Wait until the last emptied trash can no longer slow file creation, then
    drop the kernel's caches (as root), the inode cache among them.

    For 6 minutes ext4 without a journal passes over the freed inodes when it
    allocates (see the module docstring). Dropping the caches right after
    deleting did not end it (Hugo took 3.4-4.9 s in the run that did so): the
    first allocation reads the inode table block back and dirties it. The drop
    comes after the wait, so that every run starts with empty dentry and inode
    caches.
    """
    try:
        since = time.time() - float((work / ".emptied").read_text())
    except (OSError, ValueError):
        since = SETTLE_S
    if since < SETTLE_S:
        print(f"waiting {SETTLE_S - since:.0f} s: the last run's trash was emptied {since:.0f} s "
              "ago (see settle_after_deleting)", flush=True)  # fmt: skip
        time.sleep(SETTLE_S - since)
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        print("dropped the kernel's caches", flush=True)
    except OSError:
        pass


def warm(folder: Path) -> None:
    """Read every file under `folder`, so that no timed build reads from disk."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def newsmirror_build(archive: Path, mode: str) -> dict:
    if mode == "full":  # from scratch, also when --work reuses the archive
        discard(archive / "_site")
        discard(archive / ".newsmirror")
    os.sync()  # no writeback of the last build's pages during this one (see `timed`)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(archive), mode], capture_output=True,
                          text=True)  # fmt: skip
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"newsmirror build of {archive} ({mode}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"load": load, "wall": wall}


def load_now() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def timed(cmd: list[str], cwd: Path) -> float:
    print(f"  ({' '.join(cmd)} in {cwd.name}, {load_now()})", flush=True)
    # Each build leaves ~150 MB of dirty pages; without a sync their writeback
    # ran during the next build, whichever tool it was (Hugo: 3.3-8.7 s in one run).
    os.sync()
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def hugo_site(archive: Path, target: Path) -> None:
    """The same posts as a minimal hugo site (front matter is YAML Hugo reads)."""
    discard(target)
    (target / "content" / "posts").mkdir(parents=True)
    (target / "layouts" / "_default").mkdir(parents=True)
    # The same job as newsmirror's: 30 posts per listing page and per feed (Hugo's
    # defaults: 10, and every post in every feed), and the posts' bodies, which
    # are HTML that Hugo's Markdown renderer drops unless `unsafe` (until it was
    # set here, Hugo's post pages had no body).
    (target / "config.toml").write_text('baseURL = "/"\ntitle = "bench"\nrelativeURLs = true\n'
                                        "paginate = 30\nrssLimit = 30\n"
                                        '[taxonomies]\n  tag = "tags"\n  category = "categories"\n'
                                        "[markup.goldmark.renderer]\n  unsafe = true\n")  # fmt: skip
    (target / "layouts" / "_default" / "single.html").write_text(
        "<!doctype html><title>{{ .Title }}</title><h1>{{ .Title }}</h1>{{ .Content }}"
    )
    (target / "layouts" / "_default" / "list.html").write_text(
        "<!doctype html><ul>{{ range .Paginator.Pages }}<li><a href='{{ .RelPermalink }}'>{{ .Title }}</a>{{ end }}</ul>")  # fmt: skip
    for i, p in enumerate(sorted((archive / "_posts").iterdir())):
        shutil.copyfile(p, target / "content" / "posts" / f"p{i}.md")


def bench_size(n: int, work: Path, run_jekyll: bool, full_repeat: int) -> None:
    archive = work / f"n{n}"
    generate(archive, n)
    hugo_dir = work / f"hugo{n}"
    hugo_site(archive, hugo_dir)
    warm(archive / "_posts")
    warm(hugo_dir / "content")
    newsmirror_build(archive, "full")  # untimed: both programs' own files in memory too
    discard(hugo_dir / "public")
    timed(["/usr/bin/hugo", "--quiet"], hugo_dir)
    fulls, hugos = [], []
    for _ in range(full_repeat):  # alternated, so both see the same machine
        fulls.append(newsmirror_build(archive, "full"))
        discard(hugo_dir / "public")
        hugos.append(timed(["/usr/bin/hugo", "--quiet"], hugo_dir))
    again = newsmirror_build(archive, "incremental")
    added = generate(archive, 50, start=n)
    inc = newsmirror_build(archive, "incremental")
    for p in added:  # leave the archive as generated, for --work reuse (and for hugo/jekyll)
        p.unlink()
    newsmirror_build(archive, "incremental")
    walls = [f["wall"] for f in fulls]
    full = fulls[walls.index(statistics.median_low(walls))]
    hugo = statistics.median(hugos)
    print(f"\n== {n} posts")
    print(f"newsmirror full build:        {statistics.median(walls):.2f} s median of "
          f"{', '.join(f'{w:.2f}' for w in walls)} (process; in build_site "
          f"{full['seconds']:.2f} s), {full['written']} files, "
          f"peak RSS {max(full['rss_mb'], full['children_rss_mb']):.0f} MB, "
          f"CPU {full['cpu']:.1f} s, load {full['load']:.1f}")  # fmt: skip
    print(f"hugo full build:              {hugo:.2f} s median of "
          f"{', '.join(f'{h:.2f}' for h in hugos)}")  # fmt: skip
    print(f"  -> newsmirror/hugo = {statistics.median(walls) / hugo:.2f} (medians); per pair "
          f"{', '.join(f'{w / h:.2f}' for w, h in zip(walls, hugos, strict=True))}")  # fmt: skip
    index = [p.stat().st_size for p in (archive / "_site" / "search").rglob("*") if p.is_file()]
    print(f"search index (simplified/traditional folded): {sum(index) / 1e6:.1f} MB in "
          f"{len(index)} files")  # fmt: skip
    print(f"newsmirror no-change rebuild: {again['wall']:.2f} s (in build_site "
          f"{again['seconds']:.2f} s, load {again['load']:.1f})")  # fmt: skip
    print(f"newsmirror +50 posts rebuild: {inc['wall']:.2f} s (in build_site {inc['seconds']:.2f} s, "
          f"{inc['written']} files written, load {inc['load']:.1f})")  # fmt: skip
    if run_jekyll:
        from newsmirror.site import init_jekyll

        jdir = work / f"jekyll{n}"
        discard(jdir)
        shutil.copytree(archive / "_posts", jdir / "_posts")
        init_jekyll(jdir)
        jek = timed(["/usr/bin/jekyll", "build", "--quiet"], jdir)
        med = statistics.median(walls)
        print(f"jekyll:                       {jek:.2f} s  -> jekyll/newsmirror = {jek / med:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--incremental-base", type=int, default=0,
                    help="also time adding 50 posts to an archive of this many posts")  # fmt: skip
    ap.add_argument("--jekyll-10k", action="store_true", help="run jekyll above 1,000 posts too")
    ap.add_argument("--repeat", type=int, default=2, help="times to repeat incremental builds")
    ap.add_argument("--full-repeat", type=int, default=3,
                    help="full builds of newsmirror and of hugo, alternated, per size")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--work", type=Path, help="work folder to keep and reuse archives from")
    args = ap.parse_args()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        args.keep = True
    work = args.work or Path(tempfile.mkdtemp(prefix="nm-bench-site-"))
    empty_trash(work)  # a run stopped before its end left its trash
    settle_after_deleting(work)
    try:
        for n in (int(s) for s in args.sizes.split(",") if s):
            bench_size(n, work, n <= 1000 or args.jekyll_10k, args.full_repeat)
        if args.incremental_base:
            n = args.incremental_base
            archive = work / f"base{n}"
            generate(archive, n)
            first = newsmirror_build(archive, "full")
            again = [newsmirror_build(archive, "incremental") for _ in range(args.repeat)]
            incs = []
            for _ in range(args.repeat):  # add 50, rebuild, remove them, rebuild
                added = generate(archive, 50, start=n)
                incs.append(newsmirror_build(archive, "incremental"))
                for p in added:
                    p.unlink()
                newsmirror_build(archive, "incremental")
            print(f"\n== {n} posts: full {first['seconds']:.1f} s, "
                  f"peak RSS {max(first['rss_mb'], first['children_rss_mb']):.0f} MB, "
                  f"load {first['load']:.1f}")  # fmt: skip
            for r in again:
                print(f"no-change rebuild: {r['wall']:.2f} s process, {r['seconds']:.2f} s in "
                      f"build_site (peak RSS {r['rss_mb']:.0f} MB, load {r['load']:.1f})")  # fmt: skip
            for r in incs:
                print(f"+50 posts rebuild: {r['wall']:.2f} s process, {r['seconds']:.2f} s in "
                      f"build_site ({r['written']} files written, peak RSS {r['rss_mb']:.0f} MB, "
                      f"load {r['load']:.1f})")  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:  # emptied now: the next run waits only for what remains of 6 minutes
            empty_trash(work)
            print(f"work folder: {work}")


if __name__ == "__main__":
    main()
