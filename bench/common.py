"""Shared bench helpers: realistic CJK feeds, a feed server in its own process,
and running a child process while measuring its wall time, CPU time and memory.

Memory is measured two ways, because neither alone says what a run needs:
- the peak of the SUM of the resident memory of all the run's processes (the
  child and every descendant, found through /proc/PID/task/*/children and
  read from /proc/PID/statm every 20 ms). Pages that processes share (shared
  libraries, pages a forked worker has not written since the fork) count
  once per process, so this is an upper bound; a peak shorter than 20 ms can
  be missed.
- the largest single process: wait4's ru_maxrss. For a child and the
  descendants it waited for, Linux reports the largest of their peaks, NOT
  their sum (the figures before 2026-11-30 took it for the run's memory).

The server runs in a separate process so that, on a 2-core machine, it takes
one core and the code being measured the other; in-process it would distort both.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web

# Common simplified and traditional characters; enough variety for realistic text.
_HANZI = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她"
    "里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老"
    "从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机"
    "給們這個來說對時會過學麼後還發當現將種體點關與壓戰論權經濟臺灣總統選舉政府記者報導國際"
)
_PUNCT = "，，，。、；：「」"
_NEW_PER_CHANGE = 5  # items a "changed" feed gains (and drops)


def _paragraph_pool(rng: random.Random, size: int = 400) -> list[str]:
    """Pre-made Chinese paragraphs of 80–160 characters, reused across items."""
    pool = []
    for _ in range(size):
        chars = []
        for _ in range(rng.randint(80, 160)):
            chars.append(rng.choice(_PUNCT) if rng.random() < 0.07 else rng.choice(_HANZI))
        pool.append("".join(chars) + "。")
    return pool


@dataclass(frozen=True)
class FeedSpec:
    feeds: int
    items: int
    base_url: str  # "http://127.0.0.1:PORT", for item links (never fetched)


class FeedSet:
    """The bytes and ETags of every feed; a feed "changes" by gaining new items."""

    def __init__(self, spec: FeedSpec, seed: int = 1) -> None:
        self.spec = spec
        self._rng = random.Random(seed)
        self._pool = _paragraph_pool(self._rng)
        self._now = datetime.now(UTC).replace(microsecond=0)
        self.prefix = "p0"  # link prefix; renew() changes it so every item is new
        self.first_item = [0] * spec.feeds  # index of each feed's newest item
        self.bodies: list[bytes] = [b""] * spec.feeds
        self.etags: list[str] = [""] * spec.feeds
        for n in range(spec.feeds):
            self._build(n)

    def _build(self, n: int) -> None:
        start = self.first_item[n]
        items = "".join(self._item(n, i) for i in range(start, start + self.spec.items))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
            f"<title>新闻源 {n}</title>\n<link>{self.spec.base_url}/site/{n}/</link>\n"
            f"<description>基准测试订阅 {n}</description>\n<language>zh-cn</language>\n"
            f"{items}</channel>\n</rss>\n"
        ).encode()
        self.bodies[n] = body
        self.etags[n] = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'

    def _item(self, n: int, i: int) -> str:
        rng = random.Random(n * 1_000_003 + i)
        link = f"{self.spec.base_url}/a/{n}/{self.prefix}-{i}.html"
        title = "".join(rng.choice(_HANZI) for _ in range(rng.randint(8, 22)))
        style = i % 5
        if style == 1:
            title = f"专访：{title}"
        elif style == 2:
            title = f"“{title}”——{n}号评论"
        elif style == 3:
            title = f'He said "{title}": update {i}'
        # Lower index = newer, 3 h apart; changes go to negative indices, still in the past.
        published = self._now - timedelta(hours=300 + 3 * i, minutes=n % 60)
        paragraphs = [f"<p>{p}</p>" for p in rng.sample(self._pool, 8)]
        paragraphs.insert(2, f'<p><img src="{self.spec.base_url}/img/{n}/{i}.jpg" alt="图片"></p>')
        paragraphs.insert(5, f'<p>详见<a href="{link}">原文链接</a>。</p>')
        content = "\n".join(paragraphs)
        return (
            f"<item>\n<title>{escape(title)}</title>\n<link>{link}</link>\n"
            f'<guid isPermaLink="true">{link}</guid>\n'
            f"<pubDate>{format_datetime(published)}</pubDate>\n"
            f"<dc:creator>记者{n % 37}</dc:creator>\n"
            f"<description>{escape(content[:200])}</description>\n"
            f"<content:encoded><![CDATA[{content}]]></content:encoded>\n</item>\n"
        )

    def change(self, fraction: float, round_no: int) -> int:
        """`fraction` of the feeds (a different set each round) gain new items."""
        count = max(1, round(self.spec.feeds * fraction))
        step = max(1, self.spec.feeds // count)
        chosen = sorted({(round_no + k * step) % self.spec.feeds for k in range(count)})
        for n in chosen:
            self.first_item[n] -= _NEW_PER_CHANGE  # lower index = newer item
            self._build(n)
        return len(chosen) * min(_NEW_PER_CHANGE, self.spec.items)

    def renew(self, prefix: str) -> int:
        """Every item of every feed gets a new link: a second cold run."""
        self.prefix = prefix
        for n in range(self.spec.feeds):
            self._build(n)
        return self.spec.feeds * self.spec.items


def _serve(conn: Connection, feeds: int, items: int) -> None:
    """Server process body: bind, generate, report the port, serve until killed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    feedset = FeedSet(FeedSpec(feeds, items, f"http://127.0.0.1:{port}"))
    rounds = 0

    async def feed(request: web.Request) -> web.Response:
        try:
            n = int(request.match_info["n"])
            body, etag = feedset.bodies[n], feedset.etags[n]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        headers = {"ETag": etag, "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers, content_type="application/rss+xml",
                            charset="utf-8")  # fmt: skip

    async def change(request: web.Request) -> web.Response:
        nonlocal rounds
        rounds += 1
        new = feedset.change(float(request.query.get("fraction", "0.1")), rounds)
        return web.json_response({"new_items": new})

    async def renew(request: web.Request) -> web.Response:
        return web.json_response({"new_items": feedset.renew(request.query["prefix"])})

    async def stats(request: web.Request) -> web.Response:
        sizes = [len(b) for b in feedset.bodies]
        return web.json_response({"feeds": len(sizes), "bytes": sum(sizes)})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", feed)
    app.router.add_post("/admin/change", change)
    app.router.add_post("/admin/renew", renew)
    app.router.add_get("/admin/stats", stats)

    asyncio.run(serve_until_closed(app, [sock], conn, lambda: port))


async def serve_until_closed(app: web.Application, socks: Sequence[socket.socket],
                             conn: Connection, ready: Callable[[], object],
                             backlog: int = 1024) -> None:  # fmt: skip
    """Serve `app` on `socks`, send `ready()` to the parent once serving, then serve
    until the parent closes the pipe, also when it dies without cleaning up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        for sock in socks:
            await web.SockSite(runner, sock, backlog=backlog).start()
        conn.send(ready())
        await asyncio.to_thread(_wait_for_eof, conn)
    finally:
        await runner.cleanup()


def _wait_for_eof(conn: Connection) -> None:
    try:
        while True:
            conn.recv()
    except (EOFError, OSError):
        return


class ServerProcess:
    """A server in a spawned child: `target(conn, *args)` sends one message once it
    serves (what `start` returns), then serves until this end of the pipe closes,
    also when this process dies without cleaning up (`_wait_for_eof`)."""

    def __init__(self, target: Callable[..., None], args: tuple, what: str,
                 start_seconds: float) -> None:  # fmt: skip
        self.target, self.args, self.what, self.start_seconds = target, args, what, start_seconds
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def start(self) -> Any:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=self.target, args=(child, *self.args), daemon=True)
        self._proc.start()
        child.close()  # the server holds its end; EOF then means the parent is gone
        self._conn = parent
        if not parent.poll(self.start_seconds):
            self.close()
            raise RuntimeError(f"{self.what} did not start within {self.start_seconds:.0f} s")
        return parent.recv()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc = None


def admin_call(url: str, method: str, **query: str) -> dict:
    """A bench server's admin endpoint: its JSON answer."""

    async def call() -> dict:
        async with aiohttp.ClientSession() as s:
            async with s.request(method, url, params=query) as r:
                r.raise_for_status()
                return await r.json()

    return asyncio.run(call())


class FeedServer:
    """The feed server in a child process. Use as a context manager."""

    def __init__(self, feeds: int, items: int) -> None:
        self.feeds, self.items = feeds, items
        self.port = 0
        self._server = ServerProcess(_serve, (feeds, items), "feed server", 600)

    def __enter__(self) -> FeedServer:
        self.port = self._server.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self._server.close()

    def feed_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{n}.xml"

    def admin(self, method: str, path: str, **query: str) -> dict:
        return admin_call(f"http://127.0.0.1:{self.port}{path}", method, **query)


_PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_SECONDS = 0.02


def process_tree(root: int) -> list[int]:
    """`root` and its live descendants (every thread's children: a process
    started from a thread is listed under that thread)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def resident_bytes(pid: int) -> int:
    """The process's resident memory now (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


class TreeMemory:
    """Samples the sum of the resident memory of a process and its descendants
    every POLL_SECONDS on a thread, from start() until stop()."""

    def __init__(self, root: int, interval: float = POLL_SECONDS) -> None:
        self.root, self.interval = root, interval
        self.peak_sum = 0  # bytes
        self.most_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> TreeMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while True:
            pids = process_tree(self.root)
            total = sum(resident_bytes(p) for p in pids)
            self.samples += 1
            if total > self.peak_sum:
                self.peak_sum = total
            self.most_processes = max(self.most_processes, sum(1 for p in pids if p))
            if self._stop.wait(self.interval):
                return


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    # user + system of the child and every descendant it waited for (worker
    # processes are joined): steadier than wall time on a busy machine.
    cpu_seconds: float
    rss_sum_mb: float  # peak of the sum over all the run's processes (see the module docstring)
    rss_max_mb: float  # the largest single process (ru_maxrss)
    processes: int  # most processes of the run seen at once
    returncode: int
    stdout: str
    stderr: str


def run_child(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> ChildRun:
    """Run a command; its wall time, CPU time and memory (module docstring)."""
    out_path, err_path = _temp_name("out"), _temp_name("err")
    with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd)
        memory = TreeMemory(proc.pid).start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            memory.stop()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    os.unlink(out_path)
    os.unlink(err_path)
    cpu = usage.ru_utime + usage.ru_stime
    largest = usage.ru_maxrss / 1024  # Linux reports ru_maxrss in KiB
    # A run shorter than one poll, or a peak between two polls: the sum is at
    # least the largest process.
    total = max(memory.peak_sum / 2**20, largest)
    return ChildRun(seconds, cpu, total, largest, max(memory.most_processes, 1),
                    proc.returncode, stdout, stderr)  # fmt: skip


def _temp_name(kind: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"nm-bench-{kind}-")
    os.close(fd)
    return Path(name)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
