"""A/B of two newsmirror source trees on ingest: cold raw runs alternated.

    python bench/ingest_ab.py --a /path/to/old/src --b src [--feeds 1000] [--items 50]
                              [--pairs 6] [--work DIR]

Each tree's `src` folder goes first on PYTHONPATH of its run, so both run on
this venv's interpreter and packages (a tree's C module must be compiled in
place: `scripts/setup` does it). One feed server (bench/common.py's) serves
both; each run is a cold `newsmirror run --content raw --fulltext never` into
a new archive, as bench/ingest.py's cold scenario, in the order A, B, B, A,
A, B... Prints each run's wall time, CPU time and memory summed over its
processes (bench/common.run_child), then each side's medians and the per-pair
ratios B/A. The archives are kept in the work folder, not deleted: deleting
50,000 files slows the next runs' file creation on this machine's ext4 (see
bench/ingest.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import FeedServer, load_average, run_child
from ingest import _NEWSMIRROR, CONCURRENCY, FLUSHES


def cold_run(src: Path, archive: Path, subs: list[dict]) -> tuple[float, float, float]:
    archive.mkdir()
    (archive / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
    (archive / "newsmirror.toml").write_text("[settings]\nmirror_images = false\n")
    argv = [sys.executable, "-c", FLUSHES["syncfs"] + _NEWSMIRROR, "run", "--archive",
            str(archive), "--content", "raw", "--fulltext", "never", "-q", "--json",
            "--concurrency", str(CONCURRENCY), "--per-host", str(CONCURRENCY)]  # fmt: skip
    run = run_child(argv, env=dict(os.environ, PYTHONPATH=str(src.resolve())))
    if run.returncode != 0:
        raise SystemExit(f"{src}: newsmirror run failed ({run.returncode}): {run.stderr[-2000:]}")
    return run.seconds, run.cpu_seconds, run.rss_sum_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the first tree's src folder")
    parser.add_argument("--b", type=Path, required=True, help="the second tree's src folder")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--work", type=Path, help="where the archives go (default: a temp folder)")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-ab-", dir=opts.work))
    runs: dict[str, list[tuple[float, float, float]]] = {"A": [], "B": []}
    with FeedServer(opts.feeds, opts.items) as server:
        subs = [{"site": f"新闻源{n}", "url": server.feed_url(n)} for n in range(opts.feeds)]
        for pair in range(opts.pairs):
            for side in ("A", "B") if pair % 2 == 0 else ("B", "A"):
                src = opts.a if side == "A" else opts.b
                wall, cpu, mem = cold_run(src, work / f"{side}-{pair}", subs)
                runs[side].append((wall, cpu, mem))
                print(f"pair {pair} {side}: wall {wall:.2f} s, CPU {cpu:.2f} s, "
                      f"memory {mem:.0f} MB ({load_average()})", flush=True)  # fmt: skip
    for side, rows in runs.items():
        wall, cpu, mem = (statistics.median(row[i] for row in rows) for i in range(3))
        print(f"{side} medians: wall {wall:.2f} s, CPU {cpu:.2f} s, memory {mem:.0f} MB")
    ratios = sorted(b[0] / a[0] for a, b in zip(runs["A"], runs["B"], strict=True))
    print(f"B/A wall per pair: median {statistics.median(ratios):.2f} "
          f"({ratios[0]:.2f}-{ratios[-1]:.2f}); archives in {work}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
