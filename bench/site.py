"""Benchmark: newsmirror's site build vs Debian's jekyll and hugo on the same posts.

    python bench/site.py [--sizes 1000,10000] [--incremental-base 100000] [--repeat 2]
                         [--jekyll-10k] [--work DIR]

Full builds alternate with Hugo's, `--full-repeat` times each, and the
medians are compared; both are timed as whole processes (newsmirror's time
includes starting Python). Old outputs are moved aside, not deleted, until the
end: ext4 without a journal skips inodes freed in the last 30 s (60 s while their
inode table block is unwritten) when it allocates new ones, and
after deleting a 10,000-page site that made the next build's file creation
several times slower (perf: `recently_deleted`, `find_inode_bit`).

`--work DIR` keeps the generated archives there and reuses them on the next run
(generating 100,000 posts takes about a minute). `--sizes ""` skips the sized
runs. With `--incremental-base N`, after a full build of N posts it times
`--repeat` no-change rebuilds and `--repeat` rebuilds after adding 50 posts
(each followed by removing them and rebuilding). The machine's load average is
printed beside each figure: rerun when it is high.

Posts are synthetic, modelled on the golden posts (Chinese titles, several
sources, 2-8 KB one-line HTML bodies, dates spread over years). Prints times,
ratios and newsmirror's peak RSS (the build runs in a child process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
WORDS = ("上海 疫情 封锁 政府 经济 选举 民主 新闻 记者 法院 开庭 维权 乌克兰 军援 北约 "
         "游客 旅游 航空 酒店 科技 人工智能 程序员 合同工 香港 台灣 選舉 政府 經濟 新聞").split()  # fmt: skip
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


def make_post(rng: random.Random, i: int, when: datetime) -> tuple[str, str]:
    source = rng.choice(SOURCES)
    title = "".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) + f" {i}"
    paras = []
    size = rng.randint(2000, 8000)
    while sum(len(p) for p in paras) * 3 < size:
        paras.append(
            "<p>" + "，".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))) + "。</p>"
        )
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    link = f"https://example.org/{source_slug(source)}/{i}.html"
    text = (f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}\nauthor: {source}\nfrom: {link}\n'
            f"tags: [ {source} ]\ncomments: True\ncategories: [ {source} ]\n---\n"
            f"<!--{int(when.timestamp() * 1000)}-->\n[{title}]({link})\n------\n\n<div>\n{''.join(paras)}\n</div>\n")  # fmt: skip
    return f"{when:%Y-%m-%d}-{title[:50]}.md", text


def source_slug(s: str) -> str:
    return str(SOURCES.index(s))


def generate(folder: Path, n: int, seed: int = 1, start: int = 0) -> list[Path]:
    """Write posts start..start+n-1; a full archive already there (--work) is reused."""
    posts = folder / "_posts"
    if not start and posts.is_dir() and sum(1 for _ in posts.iterdir()) == n:
        return sorted(posts.iterdir())
    rng = random.Random(seed + start)
    posts = folder / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
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
    """Move `path` into the work folder's trash, emptied when the benchmark ends."""
    if path.exists():
        trash = path.parent / ".trash"
        trash.mkdir(exist_ok=True)
        path.rename(tempfile.mkdtemp(dir=trash) + "/x")


def empty_trash(work: Path) -> None:
    for trash in work.glob("*/.trash"):
        shutil.rmtree(trash, ignore_errors=True)


def newsmirror_build(archive: Path, mode: str) -> dict:
    if mode == "full":  # from scratch, also when --work reuses the archive
        discard(archive / "_site")
        discard(archive / ".newsmirror")
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
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def hugo_site(archive: Path, target: Path) -> None:
    """The same posts as a minimal hugo site (front matter is YAML Hugo reads)."""
    discard(target)
    (target / "content" / "posts").mkdir(parents=True)
    (target / "layouts" / "_default").mkdir(parents=True)
    (target / "config.toml").write_text('baseURL = "/"\ntitle = "bench"\nrelativeURLs = true\n'
                                        '[taxonomies]\n  tag = "tags"\n  category = "categories"\n')  # fmt: skip
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
    if any(work.glob("*/.trash")):
        print("emptying the last run's trash, then waiting 65 s (see the docstring)", flush=True)
        empty_trash(work)
        time.sleep(65)
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
        empty_trash(work)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder: {work}")


if __name__ == "__main__":
    main()
