"""Ingest speed and memory of `newsmirror run`, against a floor of bare aiohttp + lxml.

A feed server in its own process serves FEEDS RSS feeds of ITEMS items (~4 KB
of CJK text each, with ETags) on 127.0.0.1. Scenarios, in one go:
  cold        every item new (newsmirror --content raw --fulltext never); run
              --cold-repeat times into new archives, each after its floor
  cold-clean  the same into a second archive with --content clean (sanitising)
  warm        every feed answers 304
  changed-N   10% of the feeds gained 5 items (three rounds: archive grows)
  cold-again  every link renamed: a second cold run into the full archive
Each has a floor: the same requests made with bare aiohttp, parsed with bare
lxml, one file written per item, nothing else (no dedupe: after a change it
writes every item of a changed feed, not only the new ones). newsmirror and
the floor run as child processes; their wall time and peak RSS are measured alone.

Nothing is deleted until the end (outputs are moved to a trash folder): this
machine's ext4 has no journal, and then allocating inodes within 60 s (up to 6
minutes while the inode table is not written back) of
deleting 50,000 files walks the freed ones (perf: `recently_deleted`); when the
floor's files were deleted right before newsmirror's cold run, that run paid it.

All feeds are on one host here, so newsmirror runs with --per-host 64 (and the
floor with the same limits): the default of 6 per host would throttle it.

Run: python bench/ingest.py [--feeds 1000] [--items 50] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
from common import ChildRun, FeedServer, load_average, run_child
from lxml import etree

CONCURRENCY = 64  # newsmirror's default overall limit; per host set to the same
TARGET_COLD_RATIO = 3.0
TARGET_WARM_SECONDS = 3.0
TARGET_PEAK_MB = 300.0
FLAT_TOLERANCE_MB = 30.0  # RSS may vary this much between runs and still be "flat"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_NEWSMIRROR = "import sys; from newsmirror.cli import main; sys.exit(main())"


@dataclass
class Row:
    scenario: str
    seconds: float
    cpu_seconds: float
    feeds: int
    new_posts: int
    peak_rss_mb: float
    failed: int = 0  # feeds newsmirror reported as failed (there should be none)
    floor_seconds: float | None = None
    floor_cpu_seconds: float | None = None
    floor_rss_mb: float | None = None
    floor_posts: int | None = None  # files the floor wrote
    archive_posts: int = 0  # posts in the archive after the run

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor_seconds if self.floor_seconds else None

    @property
    def cpu_ratio(self) -> float | None:
        return self.cpu_seconds / self.floor_cpu_seconds if self.floor_cpu_seconds else None


# --- the floor -----------------------------------------------------------------------


async def floor_run(urls: list[str], out: Path, etags_file: Path) -> int:
    """Bare aiohttp + lxml + one plain file per item. Returns the items written."""
    etags: dict[str, str] = json.loads(etags_file.read_text()) if etags_file.exists() else {}
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int, url: str) -> None:
            nonlocal written
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with session.get(url, headers=headers) as resp:
                if resp.status == 304:
                    return
                body = await resp.read()
                if "ETag" in resp.headers:
                    etags[url] = resp.headers["ETag"]
            root = etree.fromstring(body)
            for item in root.iter("item"):
                link = item.findtext("link") or ""
                text = (
                    f"title: {item.findtext('title')}\nfrom: {link}\n"
                    f"date: {item.findtext('pubDate')}\n\n{item.findtext(_CONTENT)}\n"
                )
                name = link.rsplit("/", 1)[-1]
                with open(out / f"{n}-{name}.md", "w", encoding="utf-8") as f:
                    f.write(text)
                written += 1

        await asyncio.gather(*(one(n, u) for n, u in enumerate(urls)))
    etags_file.write_text(json.dumps(etags))
    return written


# --- the scenarios ---------------------------------------------------------------------


class Bench:
    def __init__(
        self, server: FeedServer, work: Path, feeds: int, deadline: float | None = None
    ) -> None:
        self.server, self.work, self.feeds = server, work, feeds
        self.deadline = deadline
        self.urls_file = work / "urls.json"
        self.urls_file.write_text(json.dumps([server.feed_url(n) for n in range(feeds)]))
        self.rows: list[Row] = []

    def make_archive(self, name: str) -> Path:
        archive = self.work / name
        archive.mkdir()
        subs = [{"site": f"新闻源{n}", "url": self.server.feed_url(n)} for n in range(self.feeds)]
        (archive / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
        # Image mirroring (on by default) is measured by bench/images.py; the
        # items' <img> point at paths this server does not serve.
        (archive / "newsmirror.toml").write_text("[settings]\nmirror_images = false\n")
        return archive

    def newsmirror(self, archive: Path, content: str) -> ChildRun:
        argv = [sys.executable, "-c", _NEWSMIRROR, "run", "--archive", str(archive),
                "--content", content, "--fulltext", "never", "-q", "--json",
                "--concurrency", str(CONCURRENCY), "--per-host", str(CONCURRENCY)]  # fmt: skip
        if self.deadline:
            argv += ["--deadline", str(self.deadline)]
        run = run_child(argv)
        if run.returncode != 0:
            raise SystemExit(f"newsmirror run failed ({run.returncode}): {run.stderr[-2000:]}")
        return run

    def floor(self, name: str) -> ChildRun:
        out = self.work / f"floor-{name}"
        # The main series shares one ETag memory (warm = all 304); extra cold rounds start empty.
        etags = f"floor-etags-{name}.json" if name.startswith("cold-r") else "floor-etags.json"
        argv = [sys.executable, __file__, "_floor", str(self.urls_file), str(out),
                str(self.work / etags)]  # fmt: skip
        run = run_child(argv)
        if run.returncode != 0:
            raise SystemExit(f"floor run failed ({run.returncode}): {run.stderr[-2000:]}")
        self.discard(out)
        return run

    def discard(self, path: Path) -> None:
        """Move `path` aside; deleted at the end (see the module docstring)."""
        trash = self.work / ".trash"
        trash.mkdir(exist_ok=True)
        path.rename(tempfile.mkdtemp(dir=trash) + "/x")

    def measure(self, scenario: str, archive: Path, content: str = "raw",
                with_floor: bool = True) -> Row:  # fmt: skip
        floor = self.floor(scenario) if with_floor else None
        run = self.newsmirror(archive, content)
        report = json.loads(run.stdout)
        failed = [f for f in report["feeds"] if f["status"] == "failed"]
        if failed:
            print(f"  {scenario}: {len(failed)} feeds failed, e.g. {failed[0]['reason']}",
                  file=sys.stderr)  # fmt: skip
        row = Row(
            scenario=scenario,
            seconds=run.seconds,
            cpu_seconds=run.cpu_seconds,
            feeds=len(report["feeds"]),
            new_posts=sum(f["new_posts"] for f in report["feeds"]),
            peak_rss_mb=run.peak_rss_mb,
            failed=len(failed),
            floor_seconds=floor.seconds if floor else None,
            floor_cpu_seconds=floor.cpu_seconds if floor else None,
            floor_rss_mb=floor.peak_rss_mb if floor else None,
            floor_posts=int(floor.stdout) if floor else None,
            archive_posts=sum(1 for _ in (archive / "_posts").glob("*.md")),
        )
        self.rows.append(row)
        print(f"  {scenario}: {row.seconds:.2f} s ({row.cpu_seconds:.2f} s CPU), {row.new_posts} new posts,"
              f" {row.peak_rss_mb:.0f} MB ({load_average()})", file=sys.stderr)  # fmt: skip
        return row

    def run_all(self, cold_repeat: int) -> None:
        main = self.make_archive("archive")
        self.measure("cold", main)
        for k in range(2, cold_repeat + 1):  # the same cold work again, into new archives
            extra = self.make_archive(f"archive-cold-r{k}")
            self.measure(f"cold-r{k}", extra)
            self.discard(extra)
        self.measure("cold-clean", self.make_archive("archive-clean"), "clean", with_floor=False)
        self.measure("warm", main)
        for round_no in (1, 2, 3):
            self.server.admin("POST", "/admin/change", fraction="0.1")
            self.measure(f"changed-{round_no}", main)
        self.server.admin("POST", "/admin/renew", prefix="p1")
        self.measure("cold-again", main)


# --- the table -----------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(
    rows: list[Row], feeds: int, items: int, deadline: float | None
) -> list[tuple[str, bool]]:
    print(f"ingest bench: {feeds} feeds x {items} items, loopback, per-host={CONCURRENCY},"
          f" concurrency={CONCURRENCY}, deadline={deadline or 'default'}; {load_average()}")  # fmt: skip
    head = ("scenario", "wall s", "cpu s", "feeds", "failed", "new", "archive", "RSS MB",
            "floor s", "floor cpu", "floor MB", "ratio", "cpu ratio")  # fmt: skip
    print(f"{head[0]:<11}" + "".join(f"{h:>10}" for h in head[1:]))
    for r in rows:
        cells = (f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}", str(r.feeds), str(r.failed),
                 str(r.new_posts), str(r.archive_posts), f"{r.peak_rss_mb:.0f}",
                 _fmt(r.floor_seconds, ".2f"), _fmt(r.floor_cpu_seconds, ".2f"),
                 _fmt(r.floor_rss_mb, ".0f"), _fmt(r.ratio, ".2f"), _fmt(r.cpu_ratio, ".2f"))  # fmt: skip
        print(f"{r.scenario:<11}" + "".join(f"{c:>10}" for c in cells))
    by_name = {r.scenario: r for r in rows}
    warm = by_name["warm"]
    colds = [r for r in rows if r.scenario == "cold" or r.scenario.startswith("cold-r")]
    cold_ratio = statistics.median(r.ratio or 0 for r in colds)
    cold_cpu_ratio = statistics.median(r.cpu_ratio or 0 for r in colds)
    grow = [by_name["cold"], by_name["changed-1"], by_name["changed-3"], by_name["cold-again"]]
    flat = max(r.peak_rss_mb for r in grow[1:3]) - grow[1].peak_rss_mb <= FLAT_TOLERANCE_MB and (
        grow[3].peak_rss_mb - grow[0].peak_rss_mb <= FLAT_TOLERANCE_MB
    )
    failed = sum(r.failed for r in rows)
    targets = [
        (f"no feed failed: {failed} failures", failed == 0),
        (f"cold within {TARGET_COLD_RATIO:g}x of the floor: median {cold_ratio:.2f}x wall"
         f" ({cold_cpu_ratio:.2f}x CPU) over {len(colds)} rounds: "
         + ", ".join(f"{r.ratio or 0:.2f}x" for r in colds),
         cold_ratio <= TARGET_COLD_RATIO),
        (f"warm {warm.feeds} feeds under {TARGET_WARM_SECONDS:g} s: {warm.seconds:.2f} s",
         warm.seconds < TARGET_WARM_SECONDS),
        (f"peak memory under {TARGET_PEAK_MB:g} MB: {max(r.peak_rss_mb for r in rows):.0f} MB",
         all(r.peak_rss_mb < TARGET_PEAK_MB for r in rows)),
        ("memory flat as the archive grows (peak MB by archive size: "
         + ", ".join(f"{r.archive_posts - r.new_posts}->{r.peak_rss_mb:.0f}" for r in grow)
         + f"; tolerance {FLAT_TOLERANCE_MB:g} MB)", flat),
    ]  # fmt: skip
    for text, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return targets


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "_floor":
        urls = json.loads(Path(args[1]).read_text())
        print(asyncio.run(floor_run(urls, Path(args[2]), Path(args[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep the archives there")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to FILE")
    parser.add_argument("--cold-repeat", type=int, default=3,
                        help="cold runs (each with its floor) whose median ratio is the result")  # fmt: skip
    parser.add_argument(
        "--deadline", type=float, help="newsmirror's per-feed deadline in s (default: its own)"
    )
    opts = parser.parse_args(args)
    if opts.keep and opts.keep.exists() and any(opts.keep.iterdir()):
        parser.error(f"--keep {opts.keep}: the folder must be new or empty")
    work = opts.keep or Path(tempfile.mkdtemp(prefix="nm-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {opts.feeds} feeds x {opts.items} items ...", file=sys.stderr)
        with FeedServer(opts.feeds, opts.items) as server:
            stats = server.admin("GET", "/admin/stats")
            print(f"  {stats['bytes'] / 2**20:.0f} MiB of feeds served on port {server.port}",
                  file=sys.stderr)  # fmt: skip
            bench = Bench(server, work, opts.feeds, opts.deadline)
            bench.run_all(opts.cold_repeat)
        targets = print_table(bench.rows, opts.feeds, opts.items, opts.deadline)
        if opts.json:
            data = {"rows": [asdict(r) | {"ratio": r.ratio, "cpu_ratio": r.cpu_ratio}
                             for r in bench.rows],
                    "targets": [{"target": t, "pass": ok} for t, ok in targets]}  # fmt: skip
            opts.json.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work / ".trash", ignore_errors=True)
        if opts.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
