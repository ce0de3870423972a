"""Re-checking originals: `newsmirror recheck` over 10,000 posts on 100
loopback hosts, most answering 304, against a floor of bare aiohttp.

A page server in its own process listens on 127.0.0.1 ... 127.0.0.100 (one
port each: 100 hosts as the fetcher counts them) and serves POSTS pages per
host (~1.5 KB of Chinese text each, with ETags). The archive is seeded
(untimed) as a previous re-check would have left it: every post due, its
ETag and text fingerprint known. During the timed run the pages answer:
  95%   304 Not Modified (the ETag still matches)
  3%    200, a new ETag but the same text (extracted, no edit)
  1%    200, the text edited (extracted, a second version kept)
  0.5%  404 Not Found (suspected deleted)
  0.5%  200, a removal notice (suspected deleted)
newsmirror runs as a child process (`recheck --all`); its wall and CPU time
and the peak of the SUM of the resident memory of all its processes
(polled from /proc every 20 ms) are measured. The server records when each
request arrived: the most requests any host received in any 1-second window
must not exceed `rate_per_host`, and the most in flight at once per host not
`per_host`.

The floor makes the same conditional GETs with the same pacing (one start
per host every 1/rate s, at most per_host in flight per host, 64 overall)
with bare aiohttp: no extraction, no state, no files. Floor and newsmirror
alternate, each newsmirror round on a fresh copy of the seeded archive.

Run: python bench/recheck.py [--hosts 100] [--posts 100] [--rates 1,20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web
from common import (
    ServerProcess,
    _paragraph_pool,
    admin_call,
    load_average,
    run_child,
    serve_until_closed,
)

from newsmirror.archive.config import FetchSettings
from newsmirror.archive.dedupe import primary_key
from newsmirror.archive.history import fingerprint
from newsmirror.archive.originals import Original, Originals
from newsmirror.archive.store import FeedState, Store, WrittenPost
from newsmirror.ingest.detect import classify
from newsmirror.ingest.recheck import PACING_MARGIN
from newsmirror.models import FetchResult

_NEWSMIRROR = "import sys; from newsmirror.cli import main; sys.exit(main())"
PER_HOST = 6  # newsmirror's default in-flight limit per host
CONCURRENCY = 64  # and overall
HOUR = 3600.0


# --- the pages -------------------------------------------------------------------------


def behaviour(h: int, i: int, posts: int) -> str:
    """What page (h, i) does in the timed run: 304, same, edited, 404, notice."""
    k = h * posts + i
    if k % 200 == 0:
        return "404"
    if k % 200 == 1:
        return "notice"
    if k % 100 == 2:
        return "edited"
    if k % 100 in (3, 4, 5):
        return "same"
    return "304"


class Pages:
    """Every page's seed and timed-run bytes, made the same way in both processes."""

    def __init__(self, hosts: int, posts: int) -> None:
        self.hosts, self.posts = hosts, posts
        self.pool = _paragraph_pool(random.Random(7), 300)

    def paragraphs(self, h: int, i: int) -> list[str]:
        rng = random.Random(h * 100_003 + i)
        return rng.sample(self.pool, 6)

    def page(self, h: int, i: int, *, chrome: str = "", edited: bool = False) -> bytes:
        paragraphs = self.paragraphs(h, i)
        if edited:
            paragraphs[2] = "编者按：本文部分内容已根据有关方面的要求删改。" + paragraphs[2][:20]
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>第{h}站第{i}篇报道</title></head><body><header><nav><a href='/'>首页</a>"
            f"<a href='/news/'>新闻</a>{chrome}</nav></header><article><h1>第{h}站第{i}篇报道</h1>"
            f"{body}</article><footer>© 站点{h}</footer></body></html>"
        ).encode()

    def seed(self, h: int, i: int) -> tuple[bytes, str]:
        body = self.page(h, i)
        return body, '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'

    def timed(self, h: int, i: int) -> tuple[int, bytes, str | None]:
        """(status, body, etag) in the timed run; status 304 means: the seed ETag matches."""
        what = behaviour(h, i, self.posts)
        if what == "304":
            return 304, b"", self.seed(h, i)[1]
        if what == "404":
            return 404, b"not found", None
        if what == "notice":
            body = ("<!doctype html><html><head><meta charset='utf-8'><title>站点</title></head>"
                    "<body><div class='msg'>该内容已被发布者删除</div></body></html>").encode()  # fmt: skip
        else:
            body = self.page(h, i, chrome="<a href='/live/'>直播</a>", edited=what == "edited")
        return 200, body, '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


# --- the page server (its own process) ---------------------------------------------------


def _serve(conn: Connection, hosts: int, posts: int) -> None:
    pages = Pages(hosts, posts)
    socks = []
    for h in range(hosts):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((f"127.0.0.{h + 1}", 0))
        socks.append(sock)
    arrivals: dict[int, list[float]] = {h: [] for h in range(hosts)}
    in_flight = [0] * hosts
    most_in_flight = [0] * hosts
    statuses: dict[int, int] = {}

    def host_of(request: web.Request) -> int:
        return int(request.host.split(":")[0].rsplit(".", 1)[1]) - 1

    async def page(request: web.Request) -> web.Response:
        h, i = host_of(request), int(request.match_info["i"])
        arrivals[h].append(time.monotonic())
        in_flight[h] += 1
        most_in_flight[h] = max(most_in_flight[h], in_flight[h])
        try:
            await asyncio.sleep(0.002)  # a little server time, so requests overlap
            status, body, etag = pages.timed(h, i)
            if status == 304 and request.headers.get("If-None-Match") != etag:
                status, body = 200, pages.seed(h, i)[0]
            statuses[status] = statuses.get(status, 0) + 1
            headers = {"ETag": etag} if etag else {}
            if status == 304:
                return web.Response(status=304, headers=headers)
            return web.Response(status=status, body=body, headers=headers,
                                content_type="text/html", charset="utf-8")  # fmt: skip
        finally:
            in_flight[h] -= 1

    lags: list[float] = []  # how late the server's event loop woke up: its own scheduling delay

    async def lag_meter() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({
            "lag_max": max(lags, default=0.0),
            "lag_over_50ms": sum(lag > 0.05 for lag in lags),
            "arrivals": list(arrivals.values()),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "max_in_flight_per_host": max(most_in_flight),
        })  # fmt: skip

    async def reset(request: web.Request) -> web.Response:
        for a in arrivals.values():
            a.clear()
        statuses.clear()
        lags.clear()
        most_in_flight[:] = [0] * hosts
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/a/{i}.html", page)
    app.router.add_get("/admin/stats", stats)
    app.router.add_post("/admin/reset", reset)

    async def main() -> None:
        meter = asyncio.create_task(lag_meter())
        await serve_until_closed(app, socks, conn, lambda: [s.getsockname() for s in socks])
        meter.cancel()

    asyncio.run(main())


@dataclass
class Arrivals:
    """When each host received its requests, as the page server saw them."""

    requests: int
    max_per_second: int  # the most any host got in a window [t, t + 1 s)
    windows_over: int  # requests that ended a 1-s window holding more than the limit
    min_gap: float  # the shortest time between two requests to one host
    gaps_under: int  # gaps shorter than 1/rate


def arrivals_of(per_host: list[list[float]], rate: float) -> Arrivals:
    limit, interval = max(1, int(rate)), 1.0 / rate
    most = over = short = 0
    min_gap = float("inf")
    for times in per_host:
        times = sorted(times)
        start = 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            most = max(most, end - start + 1)
            over += end - start + 1 > limit
            if end:
                gap = t - times[end - 1]
                min_gap, short = min(min_gap, gap), short + (gap < interval)
    total = sum(len(t) for t in per_host)
    return Arrivals(total, most, over, 0.0 if min_gap == float("inf") else min_gap, short)


class PageServer:
    def __init__(self, hosts: int, posts: int) -> None:
        self.hosts, self.posts = hosts, posts
        self.addresses: list[tuple[str, int]] = []
        self._server = ServerProcess(_serve, (hosts, posts), "page server", 120)

    def __enter__(self) -> PageServer:
        self.addresses = [tuple(a) for a in self._server.start()]
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()

    def url(self, h: int, i: int) -> str:
        ip, port = self.addresses[h]
        return f"http://{ip}:{port}/a/{i}.html"

    def admin(self, method: str, path: str) -> dict:
        ip, port = self.addresses[0]
        return admin_call(f"http://{ip}:{port}{path}", method)


# --- the seeded archive -------------------------------------------------------------------


def seed_archive(folder: Path, server: PageServer, pages: Pages, rate: float) -> None:
    """An archive as a previous re-check left it: every post due, validators known."""
    (folder / "_posts").mkdir(parents=True)
    (folder / "subs.json").write_text("[]", encoding="utf-8")
    (folder / "newsmirror.toml").write_text(
        f"[settings]\nper_host = {PER_HOST}\nconcurrency = {CONCURRENCY}\n"
        + ("allow_private_networks = true\n" if _has_private_setting() else "")
        + f"\n[recheck]\nrate_per_host = {rate}\nmax_per_run = {server.hosts * server.posts}\n"
        f"max_per_host = {server.posts}\n",
        encoding="utf-8",
    )
    now = time.time()
    rows = []
    with Store.open(folder) as store:
        for h in range(server.hosts):
            feed = f"http://127.0.0.{h + 1}/feed.xml"
            store.save_feed(FeedState(url=feed, site=f"站点{h}"))
            written = []
            for i in range(server.posts):
                link, name = server.url(h, i), f"2026-11-28-第{h}站第{i}篇报道.md"
                (folder / "_posts" / name).write_text(
                    f"---\nlayout: post\ntitle: \"第{h}站第{i}篇报道\"\ndate: 2026-11-28T08:00:00.000Z\n"
                    f"author: 站点{h}\nfrom: {link}\ntags: [ 站点{h} ]\ncomments: True\n"
                    f"categories: [ 站点{h} ]\n---\n<!--0-->\n[t]({link})\n------\n\n<div>\n</div>\n",
                    encoding="utf-8",
                )  # fmt: skip
                written.append(WrittenPost([link], name, link, now - 2 * HOUR, True))
                body, etag = pages.seed(h, i)
                text = None
                if behaviour(h, i, server.posts) in ("same", "edited"):  # these answer 200
                    result = FetchResult(url=link, final_url=link, status=200, body=body,
                                         headers={"content-type": "text/html"})  # fmt: skip
                    text = classify(result, link, None).text
                row = Original(
                    key=primary_key(link), link=link, post=name, feed=feed, site=f"站点{h}",
                    captured=now - 2 * HOUR, published=now - 2 * HOUR, next_check=now - 60,
                    last_check=now - HOUR, etag=etag, last_kind="article",
                    body_sha=hashlib.sha1(body).hexdigest()[:20],
                    fingerprint=fingerprint(text) if text else "unknown", last_alive=now - HOUR,
                )  # fmt: skip
                row.keep_text(text, now - HOUR)  # the "before" of an edit (None for the 304s)
                rows.append(row)
            store.record_posts(feed, written)
        originals = Originals(store)
        originals.insert(rows)
        originals.sync((HOUR, 30 * 86400.0), now)  # nothing left to take in
        originals.import_posts(folder, (HOUR, 30 * 86400.0), now)


def _has_private_setting() -> bool:
    return "allow_private_networks" in FetchSettings.__dataclass_fields__


# --- the floor ------------------------------------------------------------------------------


async def floor_run(jobs: list[tuple[str, str, str]], rate: float) -> dict[str, int]:
    """The same conditional GETs, paced alike (one at a time per host, the next
    1/rate s after the last ended), with bare aiohttp."""
    interval = 1.0 / rate + PACING_MARGIN  # as newsmirror's HostPacer
    statuses: dict[str, int] = {}
    overall = asyncio.Semaphore(CONCURRENCY)
    by_host: dict[str, list[tuple[str, str]]] = {}
    for host, url, etag in jobs:
        by_host.setdefault(host, []).append((url, etag))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=PER_HOST)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def host(items: list[tuple[str, str]]) -> None:
            loop, ended = asyncio.get_running_loop(), -interval
            for url, etag in items:
                await asyncio.sleep(max(0.0, ended + interval - loop.time()))
                async with overall:
                    async with session.get(url, headers={"If-None-Match": etag}) as r:
                        await r.read()
                        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                    ended = loop.time()

        await asyncio.gather(*(host(items) for items in by_host.values()))
    return statuses


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Row:
    who: str  # "newsmirror" or "floor"
    rate: float
    round: int
    seconds: float
    cpu_seconds: float
    rss_sum_mb: float
    processes: int
    requests: int
    statuses: dict[str, int]
    max_per_second: int
    max_in_flight_per_host: int
    windows_over: int
    min_gap: float
    gaps_under: int
    checked: int = 0
    not_modified: int = 0
    suspected: int = 0
    edited: int = 0
    failed: int = 0


def measure(argv: list[str]) -> tuple[float, float, float, int, str]:
    """Wall s, CPU s, peak summed RSS MB, most processes, stdout of a child run."""
    run = run_child(argv)  # memory: the sum over the run's processes (bench/common.py)
    if run.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({run.returncode}): {run.stderr[-2000:]}")
    return run.seconds, run.cpu_seconds, run.rss_sum_mb, run.processes, run.stdout


def one_round(server: PageServer, pages: Pages, seeded: Path, work: Path, rate: float,
              n: int) -> list[Row]:  # fmt: skip
    rows = []
    jobs = [
        (f"{ip}:{port}", server.url(h, i), pages.seed(h, i)[1])
        for h, (ip, port) in enumerate(server.addresses)
        for i in range(server.posts)
    ]
    jobs_file = work / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    for who in ("floor", "newsmirror"):
        server.admin("POST", "/admin/reset")
        if who == "floor":
            argv = [sys.executable, __file__, "_floor", str(jobs_file), str(rate)]
        else:
            archive = work / f"archive-{rate:g}-{n}"
            shutil.copytree(seeded, archive)
            argv = [sys.executable, "-c", _NEWSMIRROR, "recheck", "--archive", str(archive),
                    "--all", "--json", "-q"]  # fmt: skip
        seconds, cpu, rss, procs, out = measure(argv)
        stats = server.admin("GET", "/admin/stats")
        seen = arrivals_of(stats["arrivals"], rate)
        print(f"  server loop lag: max {stats['lag_max']:.3f} s, {stats['lag_over_50ms']} wake-ups"
              " over 50 ms late", file=sys.stderr)
        row = Row(who, rate, n, seconds, cpu, rss, procs, seen.requests, stats["statuses"],
                  seen.max_per_second, stats["max_in_flight_per_host"], seen.windows_over,
                  seen.min_gap, seen.gaps_under)  # fmt: skip
        if who == "newsmirror":
            summary = json.loads(out)["summary"]
            for name in ("checked", "not_modified", "suspected", "edited", "failed"):
                setattr(row, name, summary[name])
        rows.append(row)
        print(f"  {who:<10} rate {rate:g}/s round {n}: {seconds:.1f} s", file=sys.stderr)
    return rows


def report(rows: list[Row], hosts: int, posts: int) -> list[tuple[str, bool]]:
    print(f"\nrecheck bench: {hosts * posts} posts on {hosts} loopback hosts, {load_average()}")
    head = ("who", "rate/s", "round", "s", "cpu s", "MB sum", "procs", "requests", "304",
            "max/s/host", "over", "min gap s", "short gaps", "inflight", "checked", "edited",
            "suspect", "failed")  # fmt: skip
    print("".join(f"{h:>11}" for h in head))
    for r in rows:
        cells = (r.who, f"{r.rate:g}", r.round, f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}",
                 f"{r.rss_sum_mb:.0f}", r.processes, r.requests, r.statuses.get("304", 0),
                 r.max_per_second, r.windows_over, f"{r.min_gap:.3f}", r.gaps_under,
                 r.max_in_flight_per_host, r.checked, r.edited, r.suspected, r.failed)  # fmt: skip
        print("".join(f"{c!s:>11}" for c in cells))
    targets = []
    for rate in sorted({r.rate for r in rows}):
        ours = [r for r in rows if r.rate == rate and r.who == "newsmirror"]
        floor = [r for r in rows if r.rate == rate and r.who == "floor"]
        ratio = statistics.median(o.seconds / f.seconds for o, f in zip(ours, floor, strict=True))
        targets += [
            (f"rate {rate:g}/s: every post checked, none failed "
             f"({min(r.checked for r in ours)} checked, {max(r.failed for r in ours)} failed)",
             all(r.checked == hosts * posts and r.failed == 0 for r in ours)),
            (f"rate {rate:g}/s: at most {rate:g} requests per host in any second, as the server "
             f"saw them (newsmirror: most {max(r.max_per_second for r in ours)}, "
             f"{sum(r.windows_over for r in ours)} windows over, shortest gap "
             f"{min(r.min_gap for r in ours):.3f} s; floor: most "
             f"{max(r.max_per_second for r in floor)}, {sum(r.windows_over for r in floor)} over)",
             all(r.max_per_second <= max(1, int(rate)) for r in ours)),
            (f"rate {rate:g}/s: at most {PER_HOST} in flight per host "
             f"({max(r.max_in_flight_per_host for r in ours)})",
             all(r.max_in_flight_per_host <= PER_HOST for r in ours)),
            (f"rate {rate:g}/s: time {statistics.median(r.seconds for r in ours):.1f} s, "
             f"{ratio:.2f}x the floor's (pairs: "
             + ", ".join(f"{o.seconds / f.seconds:.2f}" for o, f in zip(ours, floor, strict=True))
             + f"); memory, sum of {max(r.processes for r in ours)} processes: "
             f"{max(r.rss_sum_mb for r in ours):.0f} MB (floor {max(r.rss_sum_mb for r in floor):.0f} MB)",
             True),
        ]  # fmt: skip
    for text, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return targets


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "_floor":
        jobs = json.loads(Path(args[1]).read_text())
        print(json.dumps(asyncio.run(floor_run(jobs, float(args[2])))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--posts", type=int, default=100, help="posts per host")
    parser.add_argument("--rates", default="1,20", help="rate_per_host values, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="floor/newsmirror pairs per rate")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to FILE")
    opts = parser.parse_args(args)
    if not 1 <= opts.hosts <= 250:
        parser.error("--hosts must be 1 to 250 (127.0.0.1 ... 127.0.0.250)")
    work = Path(tempfile.mkdtemp(prefix="nm-bench-recheck-"))
    rows: list[Row] = []
    try:
        with PageServer(opts.hosts, opts.posts) as server:
            pages = Pages(opts.hosts, opts.posts)
            for rate in (float(r) for r in opts.rates.split(",")):
                seeded = work / f"seeded-{rate:g}"
                print(f"seeding {opts.hosts * opts.posts} posts (rate {rate:g}/s) ...",
                      file=sys.stderr)  # fmt: skip
                seed_archive(seeded, server, pages, rate)
                for n in range(1, opts.rounds + 1):
                    rows += one_round(server, pages, seeded, work, rate, n)
        targets = report(rows, opts.hosts, opts.posts)
        if opts.json:
            data = {"rows": [asdict(r) for r in rows],
                    "targets": [{"target": t, "pass": ok} for t, ok in targets]}  # fmt: skip
            opts.json.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
