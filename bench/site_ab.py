"""A/B of two newsmirror source trees on the same posts: full builds alternated.

    python bench/site_ab.py --a /path/to/old/src --b src [--posts 10000] [--pairs 6]
                            [--work DIR] [--hugo]

Each tree's `src` folder goes first on PYTHONPATH of its build process, so
both run on this venv's interpreter and packages (a tree's C module must be
compiled in place: `scripts/setup` does it). The builds alternate A, B, A, B...
(with `--hugo`, Hugo's build of the same posts after each pair), each after an
`os.sync()`, on posts made by bench/site.py's generator. Prints each side's
median process time, the per-pair ratios B/A, CPU, and the size of the search
index each side wrote (`_site/search/`), plus the +50 posts rebuild. The
machine is shared: the load average is printed beside each pair.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/site.py by its path: `import site` is the standard library's module.
_spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
assert _spec is not None and _spec.loader is not None
bench_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_site)
CHILD, discard, empty_trash = bench_site.CHILD, bench_site.discard, bench_site.empty_trash
generate, hugo_site, timed, warm = (bench_site.generate, bench_site.hugo_site, bench_site.timed,
                                    bench_site.warm)  # fmt: skip


def build(src: Path, archive: Path, mode: str) -> dict:
    if mode == "full":
        discard(archive / "_site")
        discard(archive / ".newsmirror")
    os.sync()
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(archive), mode], capture_output=True,
                          text=True, env=env)  # fmt: skip
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"build with {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) | {"load": load, "wall": wall}


def check_tree(src: Path) -> None:
    """Make sure a build with `src` on PYTHONPATH runs that tree's code: an editable
    install elsewhere wins over a tree whose `newsmirror` has no __init__.py."""
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    code = "import newsmirror.site.build as b, newsmirror.site.textutil as t; print(b.__file__)"
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if not got.stdout.strip().startswith(str(src.resolve())):
        sys.exit(f"{src}: its builds would run {got.stdout.strip() or got.stderr[-500:]} "
                 "(give newsmirror an __init__.py there)")  # fmt: skip


def index_size(site: Path) -> tuple[int, int]:
    files = [p for p in (site / "search").rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=Path, required=True, help="src folder of side A")
    ap.add_argument("--b", type=Path, required=True, help="src folder of side B")
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--hugo", action="store_true", help="time Hugo's build after each pair")
    ap.add_argument("--inc-rounds", type=int, default=1,
                    help="rounds of +50 posts rebuilds, the sides taking turns")  # fmt: skip
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="nm-bench-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    archive = work / f"n{args.posts}"
    generate(archive, args.posts)
    warm(archive / "_posts")
    hugo_dir = work / f"hugo{args.posts}"
    if args.hugo:
        hugo_site(archive, hugo_dir)
        warm(hugo_dir / "content")
    sides = {"A": args.a, "B": args.b}
    for src in sides.values():
        check_tree(src)
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    sizes: dict[str, tuple[int, int]] = {}
    hugos: list[float] = []
    for src in sides.values():  # untimed: each side's code and files in memory
        build(src, archive, "full")
    for i in range(args.pairs):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        for name in order:
            runs[name].append(build(sides[name], archive, "full"))
            sizes[name] = index_size(archive / "_site")
        if args.hugo:
            discard(hugo_dir / "public")
            hugos.append(timed(["/usr/bin/hugo", "--quiet"], hugo_dir))
        a, b = runs["A"][-1], runs["B"][-1]
        print(f"pair {i + 1}: A {a['wall']:.2f} s (load {a['load']:.1f}), "
              f"B {b['wall']:.2f} s (load {b['load']:.1f}), B/A {b['wall'] / a['wall']:.2f}"
              + (f", hugo {hugos[-1]:.2f} s" if hugos else ""), flush=True)  # fmt: skip
    incs: dict[str, list[dict]] = {"A": [], "B": []}
    for _ in range(args.inc_rounds):  # each side's cache must be its own: a full build first
        for name, src in sides.items():
            build(src, archive, "full")
            added = generate(archive, 50, start=args.posts)
            incs[name].append(build(src, archive, "incremental"))
            for p in added:
                p.unlink()
            build(src, archive, "incremental")
    print(f"\n== {args.posts} posts, {args.pairs} alternated pairs")
    for name, src in sides.items():
        walls = [r["wall"] for r in runs[name]]
        cpu = statistics.median(r["cpu"] for r in runs[name])
        rss = max(max(r["rss_mb"], r["children_rss_mb"]) for r in runs[name])
        size, files = sizes[name]
        inc_walls = ", ".join(f"{r['wall']:.2f}" for r in incs[name])
        print(f"{name} ({src}): full {statistics.median(walls):.2f} s median of "
              f"{', '.join(f'{w:.2f}' for w in walls)}; CPU {cpu:.1f} s; peak RSS {rss:.0f} MB; "
              f"{runs[name][-1]['written']} files; search index {size / 1e6:.1f} MB in {files} "
              f"files; +50 posts {inc_walls} s")  # fmt: skip
    ratios = [b["wall"] / a["wall"] for a, b in zip(runs["A"], runs["B"], strict=True)]
    cpus = [b["cpu"] / a["cpu"] for a, b in zip(runs["A"], runs["B"], strict=True)]
    print(f"B/A CPU: per pair {', '.join(f'{r:.2f}' for r in cpus)}; "
          f"median {statistics.median(cpus):.3f}")  # fmt: skip
    print(f"B/A: {statistics.median(r['wall'] for r in runs['B']) / statistics.median(r['wall'] for r in runs['A']):.3f} "
          f"(medians); per pair {', '.join(f'{r:.2f}' for r in ratios)}")  # fmt: skip
    if hugos:
        h = statistics.median(hugos)
        print(f"hugo: {h:.2f} s median of {', '.join(f'{x:.2f}' for x in hugos)}; "
              f"A/hugo {statistics.median(r['wall'] for r in runs['A']) / h:.2f}, "
              f"B/hugo {statistics.median(r['wall'] for r in runs['B']) / h:.2f}")  # fmt: skip
    empty_trash(work)


if __name__ == "__main__":
    main()
