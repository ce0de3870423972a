"""Benchmark: newsmirror's site build vs Debian's jekyll and hugo on the same posts.

    python bench/site.py [--sizes 1000,10000] [--incremental-base 100000] [--repeat 2]
                         [--jekyll-10k] [--work DIR]

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


def newsmirror_build(archive: Path, mode: str) -> dict:
    if mode == "full":  # from scratch, also when --work reuses the archive
        shutil.rmtree(archive / "_site", ignore_errors=True)
        shutil.rmtree(archive / ".newsmirror", ignore_errors=True)
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(archive), mode], capture_output=True,
                          text=True)  # fmt: skip
    if proc.returncode:
        sys.exit(f"newsmirror build of {archive} ({mode}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"load": load}


def load_now() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def timed(cmd: list[str], cwd: Path) -> float:
    print(f"  ({' '.join(cmd)} in {cwd.name}, {load_now()})", flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t


def hugo_site(archive: Path, target: Path) -> None:
    """The same posts as a minimal hugo site (front matter is YAML Hugo reads)."""
    shutil.rmtree(target, ignore_errors=True)
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


def bench_size(n: int, work: Path, run_jekyll: bool) -> None:
    archive = work / f"n{n}"
    generate(archive, n)
    full = newsmirror_build(archive, "full")
    again = newsmirror_build(archive, "incremental")
    added = generate(archive, 50, start=n)
    inc = newsmirror_build(archive, "incremental")
    for p in added:  # leave the archive as generated, for --work reuse (and for hugo/jekyll)
        p.unlink()
    hugo_dir = work / f"hugo{n}"
    hugo_site(archive, hugo_dir)
    hugo = timed(["/usr/bin/hugo", "--quiet"], hugo_dir)
    print(f"\n== {n} posts")
    print(f"newsmirror full build:        {full['seconds']:.2f} s  ({full['written']} files), "
          f"peak RSS {max(full['rss_mb'], full['children_rss_mb']):.0f} MB, "
          f"CPU {full['cpu']:.1f} s, load {full['load']:.1f}")  # fmt: skip
    print(f"newsmirror no-change rebuild: {again['seconds']:.2f} s  (load {again['load']:.1f})")
    print(f"newsmirror +50 posts rebuild: {inc['seconds']:.2f} s  ({inc['written']} files written, "
          f"load {inc['load']:.1f})")  # fmt: skip
    print(
        f"hugo:                         {hugo:.2f} s  -> newsmirror/hugo = {full['seconds'] / hugo:.2f}"
    )
    if run_jekyll:
        from newsmirror.site import init_jekyll

        jdir = work / f"jekyll{n}"
        shutil.rmtree(jdir, ignore_errors=True)
        shutil.copytree(archive / "_posts", jdir / "_posts")
        init_jekyll(jdir)
        jek = timed(["/usr/bin/jekyll", "build", "--quiet"], jdir)
        print(
            f"jekyll:                       {jek:.2f} s  -> jekyll/newsmirror = {jek / full['seconds']:.1f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--incremental-base", type=int, default=0,
                    help="also time adding 50 posts to an archive of this many posts")  # fmt: skip
    ap.add_argument("--jekyll-10k", action="store_true", help="run jekyll above 1,000 posts too")
    ap.add_argument("--repeat", type=int, default=2, help="times to repeat incremental builds")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--work", type=Path, help="work folder to keep and reuse archives from")
    args = ap.parse_args()
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        args.keep = True
    work = args.work or Path(tempfile.mkdtemp(prefix="nm-bench-site-"))
    try:
        for n in (int(s) for s in args.sizes.split(",") if s):
            bench_size(n, work, run_jekyll=n <= 1000 or args.jekyll_10k)
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
                print(f"no-change rebuild: {r['seconds']:.2f} s  (peak RSS {r['rss_mb']:.0f} MB, "
                      f"load {r['load']:.1f})")  # fmt: skip
            for r in incs:
                print(f"+50 posts rebuild: {r['seconds']:.2f} s  ({r['written']} files written, "
                      f"peak RSS {r['rss_mb']:.0f} MB, load {r['load']:.1f})")  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder: {work}")


if __name__ == "__main__":
    main()
