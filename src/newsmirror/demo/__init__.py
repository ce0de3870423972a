"""The built-in demo's feeds: shipped with newsmirror and served on 127.0.0.1
(`newsmirror demo` mirrors them into a local archive), so that newsmirror
can be tried with no internet.

The feeds cover RSS 2.0 with content:encoded, Atom, YouTube's media:group,
JSON Feed, a summary-only feed (full text comes from the article page) and a
GBK-encoded feed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from ..archive.fsutil import atomic_write
from ..archive.subscriptions import load_subscriptions
from ..models import ConfigError

FEEDS = [
    ("示例新闻", "rss2.xml", "application/rss+xml; charset=utf-8"),
    ("维权网 Demo", "atom.xml", "application/atom+xml"),
    ("罗宾 Demo", "youtube.xml", "application/atom+xml"),
    ("JSON Feed 示例", "feed.json", "application/feed+json"),
    ("摘要源", "summary.xml", "application/rss+xml"),
    ("GBK 源", "gbk.xml", "text/xml"),  # no charset: the XML declaration says gbk
]
PAGES = {"/articles/1.html": "article-1.html"}
PREFERRED_PORT = 18733  # a new demo archive's, when free; a rerun uses its archive's own
# In a demo archive: the address its feeds were served from.
DEMO_MARK = Path(".newsmirror") / "demo-server"


def mark_demo_archive(archive: Path, base: str) -> None:
    atomic_write(archive / DEMO_MARK, base + "\n")


def _recorded_base(archive: Path) -> str | None:
    try:
        return (archive / DEMO_MARK).read_text(encoding="utf-8").strip()
    except OSError:
        return None  # not a demo archive


def recorded_port(archive: Path) -> int | None:
    """The port a demo archive's feeds were served on (None: not a demo archive).
    Its items' links hold it, so a rerun must serve them there again."""
    base = _recorded_base(archive)
    try:
        return urlsplit(base).port if base else None
    except ValueError:
        return None


def check_demo_server(archive: Path) -> None:
    """Refuse, in one line saying what to do, a run over the demo's archive
    when the demo's server has gone (every feed would fail to connect)."""
    base = _recorded_base(archive)
    if base is None:
        return
    subs = load_subscriptions(archive)
    if subs and all(s.url.startswith(base + "/") for s in subs) and not _answers(base):
        raise ConfigError(
            archive,
            "this is the demo's archive, and the demo's feed server has ended with "
            "`newsmirror demo`: run `newsmirror demo` again to mirror them anew",
        )


def _answers(base: str) -> bool:
    parts = urlsplit(base)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


class DemoServer:
    """Serves the demo feeds on 127.0.0.1 from a background thread."""

    def __init__(self, port: int | None = None) -> None:
        """On `port`, or raise OSError when it is taken; else on PREFERRED_PORT
        when it is free, else on any free port."""
        self.port = _free_port(port) if port else _free_port(PREFERRED_PORT, 0)
        self.base = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    def feed_url(self, name: str) -> str:
        return f"{self.base}/feeds/{name}"

    def __enter__(self) -> DemoServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        data = files(__package__) / "feeds"
        types = {name: ctype for _site, name, ctype in FEEDS}

        async def feed(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            if name not in types:
                raise web.HTTPNotFound()
            body = (data / name).read_bytes().replace(b"{BASE}", self.base.encode())
            return web.Response(body=body, headers={"Content-Type": types[name]})

        async def page(request: web.Request) -> web.Response:
            name = PAGES.get(request.path)
            if name is None:
                raise web.HTTPNotFound()
            body = (data / name).read_bytes()
            return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})

        app = web.Application()
        app.router.add_get("/feeds/{name}", feed)
        app.router.add_get("/articles/{page}", page)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()


def _free_port(*ports: int) -> int:
    """The first of `ports` free to listen on (0: any free port)."""
    for port in ports:
        with socket.socket() as s:
            # As the server will: a port whose last connections linger in
            # TIME_WAIT (a demo run a minute ago) is free to listen on.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError(f"port {ports[-1]} of 127.0.0.1 is in use")
