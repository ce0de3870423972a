"""Hostile HTTP servers on 127.0.0.1: every way a feed server can misbehave.

`install_faults(server)` adds one route per fault to a `LoopbackServer` and
returns the `Fault`s, each with what a run's report must say about it.
Healthy feeds and the charset traps sit beside them, so a single newsmirror
run over the server shows that faults cost only their own feed.

    with LoopbackServer() as srv:
        faults = install_faults(srv)
        subs = [(f.name, srv.url(f.path)) for f in faults]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from feeds import rss, rss_item
from loopback import (
    Handler,
    LoopbackServer,
    drip,
    gzip_bomb,
    hang,
    redirect,
    reset_mid_body,
    respond,
)

RSS_TYPE = {"Content-Type": "application/rss+xml"}
TWO_GB = 2 * 2**30
BOMB_INFLATED = 2**30  # 1 GiB of zeros from about 1 MB on the wire
SLOW_DRIP_SECONDS = 1.0

# Long enough that charset detection has real evidence, as real Chinese feeds give it.
CHINESE_SIMPLIFIED = "新闻自由是民主社会的基石，记者报道事实不应受到审查和打压。读者有权了解真相。"
CHINESE_TRADITIONAL = "新聞自由是民主社會的基石，記者報導事實不應受到審查與打壓。讀者有權了解真相。"


@dataclass(frozen=True)
class Fault:
    """One route of the fault server and what a run must report for it.

    `reasons`: the report's `reason` must contain one of these (case-insensitive).
    Empty means the feed is not a failure: it must yield `posts` posts, each
    containing `text` when given.
    """

    name: str
    path: str
    reasons: tuple[str, ...] = ()
    posts: int = 0
    text: str | None = None

    @property
    def healthy(self) -> bool:
        return not self.reasons


def feed_bytes(slug: str, items: int = 3, *, title: str = "Item", encoding: str = "utf-8") -> bytes:
    """A well-formed RSS feed whose items have full content (so no article fetches)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        rss_item(
            title=f"{title} {slug} {n}",
            link=f"http://127.0.0.1:9/{slug}/{n}",
            published=start + timedelta(hours=n),
            content_encoded=f"<p>{title} {slug} {n}: " + "body text. " * 40 + "</p>",
        )
        for n in range(items)
    ]
    return rss(entries, title=slug, encoding=encoding)


def stream_forever_ish(total: int, chunk: int = 2**20) -> Handler:
    """Stream `total` zero bytes without a Content-Length, never holding them all."""
    block = bytes(chunk)

    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers=RSS_TYPE)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        sent = 0
        try:
            while sent < total:
                await resp.write(block)
                sent += chunk
        except (ConnectionResetError, RuntimeError):
            return resp  # the client hung up, as it should
        await resp.write_eof()
        return resp

    return handle


@functools.cache
def bomb() -> bytes:
    return gzip_bomb(BOMB_INFLATED)


def install_faults(server: LoopbackServer, healthy: int = 5) -> list[Fault]:
    """Add every fault plus `healthy` good feeds to `server`; return them all."""
    faults: list[Fault] = []

    def add(fault: Fault, handler: Handler) -> None:
        server.route(fault.path, handler=handler)
        faults.append(fault)

    for n in range(healthy):
        add(
            Fault(f"healthy-{n}", f"/ok/{n}.xml", posts=3),
            respond(feed_bytes(f"ok{n}"), headers=RSS_TYPE),
        )
    add(Fault("hang", "/hang.xml", ("timed out", "deadline")), hang())
    add(
        Fault("hang-after-headers", "/hang-body.xml", ("timed out", "deadline")),
        hang(headers_first=True),
    )
    add(
        Fault("drip", "/drip.xml", ("timed out", "deadline")),
        drip(feed_bytes("drip"), SLOW_DRIP_SECONDS, headers=RSS_TYPE),
    )
    add(Fault("http-500", "/500.xml", ("HTTP 500",)), respond(b"oops", status=500))
    add(
        Fault("http-503-retry-after", "/503.xml", ("HTTP 503", "Retry-After")),
        respond(b"busy", status=503, headers={"Retry-After": "3600"}),
    )
    body = feed_bytes("reset", items=20)
    add(
        Fault("reset-mid-body", "/reset.xml", ("connection", "payload", "reset", "closed")),
        reset_mid_body(body, len(body) // 3, headers=RSS_TYPE),
    )
    server.route("/loop-b.xml", handler=redirect("/loop-a.xml"))
    add(Fault("redirect-loop", "/loop-a.xml", ("redirect",)), redirect("/loop-b.xml"))
    add(
        Fault("redirect-to-file", "/to-file.xml", ("redirect", "scheme")),
        redirect("file:///etc/passwd"),
    )
    add(
        Fault("redirect-to-javascript", "/to-js.xml", ("redirect", "scheme")),
        redirect("javascript:alert(1)"),
    )
    add(Fault("two-gigabytes", "/huge.xml", ("larger than",)), stream_forever_ish(TWO_GB))
    add(
        Fault("gzip-bomb", "/bomb.xml", ("larger than",)),
        respond(bomb(), headers={**RSS_TYPE, "Content-Encoding": "gzip"}),
    )
    add(
        Fault("html-page", "/page.xml", ("not a feed",)),
        respond(
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</p></body></html>",
            headers={"Content-Type": "text/html; charset=utf-8"},
        ),
    )
    add(Fault("empty-200", "/empty.xml", ("empty",)), respond(b"", headers=RSS_TYPE))
    add(Fault("http-404", "/gone-404.xml", ("HTTP 404",)), respond(b"no", status=404))
    add(Fault("http-410", "/gone-410.xml", ("HTTP 410",)), respond(b"gone", status=410))
    # Not failures: a good feed with a misleading Content-Type, and Chinese
    # feeds whose charset is declared wrongly or not at all.
    add(
        Fault("wrong-content-type", "/as-octets.xml", posts=3),
        respond(feed_bytes("octets"), headers={"Content-Type": "application/octet-stream"}),
    )
    add(
        Fault("gbk-declared-utf8", "/gbk.xml", posts=3, text=CHINESE_SIMPLIFIED),
        respond(
            _mislabelled(feed_bytes("gbk", title=CHINESE_SIMPLIFIED, encoding="gbk"), "gbk"),
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        ),
    )
    add(
        Fault("big5-undeclared", "/big5.xml", posts=3, text=CHINESE_TRADITIONAL),
        respond(
            _undeclared(feed_bytes("big5", title=CHINESE_TRADITIONAL, encoding="big5"), "big5"),
            headers={"Content-Type": "text/xml"},
        ),
    )
    return faults


def _mislabelled(body: bytes, encoding: str) -> bytes:
    """Claim UTF-8 in the XML declaration although the bytes are `encoding`."""
    return body.replace(f'encoding="{encoding}"'.encode(), b'encoding="utf-8"', 1)


def _undeclared(body: bytes, encoding: str) -> bytes:
    """Drop the encoding from the XML declaration."""
    return body.replace(f' encoding="{encoding}"'.encode(), b"", 1)
