"""The fetch stage against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from loopback import (
    ForwardProxy,
    LoopbackServer,
    drip,
    forward_proxy,
    gzip_bomb,
    hang,
    loopback_server,
    redirect,
    reset_mid_body,
    respond,
    sequence,
)

from newsmirror.ingest import fetch as fetch_module
from newsmirror.ingest.fetch import Fetcher, FetchSettings, address_problem, parse_retry_after
from newsmirror.models import FetchResult

# Small limits so failure paths finish in well under a second.
FAST = FetchSettings(
    connect_timeout=2.0, read_timeout=2.0, deadline=10.0, backoff=0.01, max_retry_after=5.0
)
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as p:
        yield p


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def fetch(url: str, settings: FetchSettings = FAST, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as f:
            return await f.fetch(url, **kwargs)

    return run(go())


def test_200_returns_body_headers_and_validators(srv: LoopbackServer) -> None:
    url = srv.route(
        "/feed.xml",
        RSS,
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        etag='"abc"',
        last_modified="Mon, 02 Jan 2006 15:04:05 GMT",
    )
    r = fetch(url)
    assert r.ok and r.error is None
    assert r.status == 200
    assert r.body == RSS
    assert r.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert r.etag == '"abc"'
    assert r.last_modified == "Mon, 02 Jan 2006 15:04:05 GMT"
    assert r.final_url == url and r.permanent_redirect is None
    assert r.elapsed > 0
    sent = srv.requests_for("/feed.xml")[0].headers
    assert sent["User-Agent"].startswith("newsmirror/")
    assert "application/rss+xml" in sent["Accept"]
    assert "gzip" in sent["Accept-Encoding"]
    assert "If-None-Match" not in sent


def test_conditional_get_gives_304_without_body(srv: LoopbackServer) -> None:
    lm = "Mon, 02 Jan 2006 15:04:05 GMT"
    url = srv.route("/feed.xml", RSS, etag='"v7"', last_modified=lm)
    r = fetch(url, etag='"v7"', last_modified=lm)
    assert r.not_modified and not r.ok
    assert r.status == 304 and r.body is None and r.error is None
    assert r.etag == '"v7"'
    sent = srv.requests_for("/feed.xml")[0].headers
    assert sent["If-None-Match"] == '"v7"'
    assert sent["If-Modified-Since"] == lm


def test_stale_etag_gets_full_body(srv: LoopbackServer) -> None:
    url = srv.route("/feed.xml", RSS, etag='"new"')
    r = fetch(url, etag='"old"')
    assert r.status == 200 and r.body == RSS and r.etag == '"new"'


def test_gzip_body_is_decoded(srv: LoopbackServer) -> None:
    url = srv.route("/gz", gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    r = fetch(url)
    assert r.ok and r.body == RSS


def test_permanent_redirect_chain_is_reported(srv: LoopbackServer) -> None:
    srv.route("/old", handler=redirect("/older", 301))
    srv.route("/older", handler=redirect(srv.url("/new"), 308))
    new = srv.route("/new", RSS)
    r = fetch(srv.url("/old"))
    assert r.ok and r.body == RSS
    assert r.final_url == new
    assert r.permanent_redirect == new
    assert [q.path for q in srv.requests] == ["/old", "/older", "/new"]


def test_temporary_hop_stops_the_permanent_redirect(srv: LoopbackServer) -> None:
    srv.route("/a", handler=redirect("/b", 301))
    srv.route("/b", handler=redirect("/c", 302))
    srv.route("/c", RSS)
    r = fetch(srv.url("/a"))
    assert r.ok and r.final_url == srv.url("/c")
    # Only the leading permanent part is a move; /b may send elsewhere tomorrow.
    assert r.permanent_redirect == srv.url("/b")


def test_temporary_redirect_is_not_permanent(srv: LoopbackServer) -> None:
    srv.route("/a", handler=redirect("/c", 302))
    srv.route("/c", RSS)
    r = fetch(srv.url("/a"))
    assert r.ok and r.final_url == srv.url("/c") and r.permanent_redirect is None


def test_redirect_loop(srv: LoopbackServer) -> None:
    srv.route("/a", handler=redirect("/b"))
    srv.route("/b", handler=redirect("/a"))
    r = fetch(srv.url("/a"))
    assert not r.ok
    assert r.error == f"redirect loop at {srv.url('/a')}"
    assert len(srv.requests) == 2


def test_too_many_redirects(srv: LoopbackServer) -> None:
    for i in range(10):
        srv.route(f"/r{i}", handler=redirect(f"/r{i + 1}"))
    r = fetch(srv.url("/r0"))
    assert r.error == "too many redirects (6)"
    assert r.status == 302
    assert len(srv.requests) == 6


def test_redirect_to_ftp_is_refused(srv: LoopbackServer) -> None:
    srv.route("/a", handler=redirect("ftp://example.org/feed.xml", 301))
    r = fetch(srv.url("/a"))
    assert r.error == "redirect to unsupported scheme 'ftp'"
    assert r.permanent_redirect is None
    assert len(srv.requests) == 1


def test_unsupported_scheme_and_bad_url() -> None:
    assert fetch("ftp://example.org/x").error == "unsupported scheme 'ftp'"
    assert fetch("feed.xml").error == "not an absolute http(s) URL"


def test_500_then_success_is_retried(srv: LoopbackServer) -> None:
    url = srv.route(
        "/flaky", handler=sequence(respond(status=500), respond(status=502), respond(RSS))
    )
    r = fetch(url)
    assert r.ok and r.body == RSS
    assert len(srv.requests_for("/flaky")) == 3


def test_persistent_500_gives_up_after_retries(srv: LoopbackServer) -> None:
    url = srv.route("/down", status=500)
    r = fetch(url)
    assert r.error == "HTTP 500 Internal Server Error (3 attempts)"
    assert r.status == 500 and r.body is None
    assert len(srv.requests_for("/down")) == 1 + FAST.retries


def test_503_retry_after_is_honoured(srv: LoopbackServer) -> None:
    url = srv.route(
        "/busy",
        handler=sequence(respond(status=503, headers={"Retry-After": "1"}), respond(RSS)),
    )
    r = fetch(url)
    assert r.ok and r.body == RSS
    first, second = srv.requests_for("/busy")
    # The backoff would be ~10 ms; only Retry-After explains a wait near 1 s.
    assert second.at - first.at >= 0.9


def test_retry_after_beyond_limit_gives_up(srv: LoopbackServer) -> None:
    url = srv.route("/busy", status=503, headers={"Retry-After": "3600"})
    r = fetch(url)
    assert r.error == "Retry-After 3600s exceeds limit"
    assert r.status == 503 and r.retry_after == 3600
    assert len(srv.requests_for("/busy")) == 1


def test_429_is_retried(srv: LoopbackServer) -> None:
    url = srv.route("/rate", handler=sequence(respond(status=429), respond(RSS)))
    r = fetch(url)
    assert r.ok and len(srv.requests_for("/rate")) == 2


@pytest.mark.parametrize(
    ("status", "text"), [(404, "Not Found"), (410, "Gone"), (403, "Forbidden")]
)
def test_4xx_is_not_retried(srv: LoopbackServer, status: int, text: str) -> None:
    url = srv.route("/x", b"nope", status=status)
    r = fetch(url)
    assert r.error == f"HTTP {status} {text}"
    assert r.status == status and r.body is None
    assert len(srv.requests_for("/x")) == 1


def test_hanging_server_times_out(srv: LoopbackServer) -> None:
    url = srv.route("/hang", handler=hang())
    settings = FetchSettings(read_timeout=0.3, retries=1, backoff=0.01, deadline=10)
    r = fetch(url, settings)
    assert r.error == "timed out after 0.3s waiting for data (2 attempts)"
    assert r.status is None
    assert len(srv.requests_for("/hang")) == 2


def test_connect_refused_is_one_line(srv: LoopbackServer) -> None:
    port = srv.port
    srv.stop()
    r = fetch(f"http://127.0.0.1:{port}/feed", FetchSettings(retries=0))
    assert r.error is not None and r.error.startswith(f"cannot connect to 127.0.0.1:{port}")
    assert "\n" not in r.error


def test_drip_is_stopped_by_the_deadline(srv: LoopbackServer) -> None:
    # Each byte comes well within read_timeout, so only the deadline can stop it.
    url = srv.route("/drip", handler=drip(b"x" * 1000, interval=0.05))
    settings = FetchSettings(read_timeout=2, deadline=0.6, backoff=0.01)
    r = fetch(url, settings)
    assert r.error == "gave up after the 0.6s deadline"
    assert r.status == 200 and r.body is None
    assert 0.6 <= r.elapsed < 2


def test_body_over_the_cap(srv: LoopbackServer) -> None:
    url = srv.route("/big", b"a" * 5000)
    r = fetch(url, FetchSettings(max_bytes=4096))
    assert r.error == "body larger than 4 KiB"
    assert r.body is None


def test_chunked_body_over_the_cap(srv: LoopbackServer) -> None:
    # No Content-Length: the cap must hold while streaming.
    url = srv.route("/drip", handler=drip(b"b" * 300_000, interval=0, chunk=10_000))

    async def no_length(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(30):
            await resp.write(b"b" * 10_000)
        await resp.write_eof()
        return resp

    srv.route("/chunked", handler=no_length)
    settings = FetchSettings(max_bytes=100_000)
    assert fetch(srv.url("/chunked"), settings).error == "body larger than 97.6562 KiB"
    assert fetch(url, settings).error == "body larger than 97.6562 KiB"


def test_gzip_bomb_stops_at_the_cap(srv: LoopbackServer) -> None:
    bomb = gzip_bomb(64 * 2**20)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 200_000
    url = srv.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    r = fetch(url, FetchSettings(max_bytes=2**20))
    assert r.error == "body larger than 1 MiB"
    assert r.body is None


def test_connection_reset_mid_body(srv: LoopbackServer) -> None:
    url = srv.route("/reset", handler=reset_mid_body(b"z" * 100_000, sent=1000))
    r = fetch(url, FetchSettings(retries=1, backoff=0.01))
    assert r.error == "connection reset mid-body (2 attempts)"
    assert r.body is None
    assert len(srv.requests_for("/reset")) == 2


def test_per_host_concurrency_is_bounded(srv: LoopbackServer) -> None:
    srv.route("/slow", RSS, delay=0.1)
    settings = FetchSettings(per_host=3, concurrency=64)

    async def go() -> list[FetchResult]:
        async with Fetcher(settings) as f:
            return await asyncio.gather(*(f.fetch(srv.url(f"/slow?i={i}")) for i in range(15)))

    results = run(go())
    assert all(r.ok for r in results)
    assert len(srv.requests_for("/slow")) == 15
    assert srv.max_in_flight_for("/slow") == 3


def test_overall_concurrency_is_bounded() -> None:
    # Two servers are two hosts: per_host alone would allow 4 at once.
    with loopback_server() as a, loopback_server() as b:
        for s in (a, b):
            s.route("/slow", RSS, delay=0.1)
        settings = FetchSettings(per_host=2, concurrency=3)

        async def go() -> list[FetchResult]:
            async with Fetcher(settings) as f:
                urls = [s.url("/slow") for s in (a, b) for _ in range(6)]
                return await asyncio.gather(*(f.fetch(u) for u in urls))

        assert all(r.ok for r in run(go()))
        assert a.max_in_flight_for("/slow") <= 2 and b.max_in_flight_for("/slow") <= 2
        assert a.max_in_flight_for("/slow") + b.max_in_flight_for("/slow") >= 3


def test_http_proxy_is_used(srv: LoopbackServer, proxy: ForwardProxy) -> None:
    url = srv.route("/feed.xml", RSS, etag='"p"')
    r = fetch(url, FetchSettings(proxy=proxy.base_url), etag='"q"')
    assert r.ok and r.body == RSS
    assert r.headers["via"] == "1.1 loopback-proxy"
    assert [q.target for q in proxy.requests] == [url]
    assert srv.requests_for("/feed.xml")[0].headers["If-None-Match"] == '"q"'


def test_http_proxy_from_environment(
    srv: LoopbackServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
    url = srv.route("/feed.xml", RSS)
    r = fetch(url, FetchSettings())
    assert r.ok and r.headers["via"] == "1.1 loopback-proxy"
    assert [q.target for q in proxy.requests] == [url]


class FakeResolver(AbstractResolver):
    """Answers names from a table (a list answers in turn, the last one for
    good) and counts lookups; unknown names fail as NXDOMAIN does."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        answer = self.answers.get(host)
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        ip = answer.pop(0) if len(answer) > 1 else answer[0]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [
            ResolveResult(
                hostname=host, host=ip, port=port, family=family, proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]  # fmt: skip

    async def close(self) -> None:
        pass


def fetch_with(resolver: AbstractResolver, settings: FetchSettings, *urls: str, **kw: Any):
    async def go() -> list[FetchResult]:
        async with Fetcher(settings, resolver=resolver) as f:
            return [await f.fetch(u, **kw) for u in urls]

    return run(go())


ELSEWHERE = "http://feeds.example/rss"  # a feed on another host than the pages


@pytest.mark.parametrize(
    ("ip", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.9", "private"),
        ("172.16.5.5", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::7f00:1", "loopback"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("192.0.2.1", "private"),  # documentation (TEST-NET-1): never on the internet
        ("240.0.0.1", "reserved"),
    ],
)
def test_address_problem_names_what_is_refused(ip: str, problem: str) -> None:
    assert address_problem(ip) == problem


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_pass(ip: str) -> None:
    assert address_problem(ip) is None


def test_policy_refuses_a_private_literal_from_content_only(srv: LoopbackServer) -> None:
    url = srv.route("/page", "<p>internal</p>")
    r = fetch(url, FAST, origin=ELSEWHERE)
    assert r.error == "refused: 127.0.0.1 is a loopback address" and r.refused
    assert srv.requests == []
    # A subscription URL (no origin), the feed's own host and port, and
    # allow_private_networks all reach it.
    assert fetch(url).ok
    assert fetch(url, FAST, origin=srv.url("/feed.xml")).ok
    allowed = FetchSettings(allow_private_networks=True)
    assert fetch(url, allowed, origin=ELSEWHERE).ok
    assert len(srv.requests_for("/page")) == 3


def test_same_host_on_another_port_is_not_the_feeds_host(srv: LoopbackServer) -> None:
    with loopback_server() as other:
        url = other.route("/page", "<p>internal</p>")
        r = fetch(url, FAST, origin=srv.url("/feed.xml"))
        assert r.refused and other.requests == []


def test_policy_checks_names_after_resolution(srv: LoopbackServer) -> None:
    srv.route("/page", "<p>internal</p>")
    url = f"http://localhost:{srv.port}/page"
    r = fetch(url, FAST, origin=ELSEWHERE)
    assert r.refused and r.error is not None
    assert r.error.startswith("refused: localhost resolves to ") and "loopback" in r.error
    assert srv.requests == []
    assert fetch(url, FetchSettings(allow_private_networks=True), origin=ELSEWHERE).ok


def test_the_checked_address_is_the_one_connected_to(
    srv: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DNS-rebinding window: a name is resolved once per connection, in the
    connector, and the address that passed is the one connected to. Here
    127.0.0.1 stands in for a public address; the name's second answer is
    loopback. Checking one lookup and connecting with another would connect
    to 127.0.0.2, where nothing listens."""
    real = fetch_module.address_problem
    monkeypatch.setattr(
        fetch_module, "address_problem", lambda ip: None if ip == "127.0.0.1" else real(ip)
    )
    srv.route("/page", "<p>ok</p>")
    resolver = FakeResolver({"rebind.test": ["127.0.0.1", "127.0.0.2"]})
    [r] = fetch_with(resolver, FAST, f"http://rebind.test:{srv.port}/page", origin=ELSEWHERE)
    assert r.ok and r.body == b"<p>ok</p>"
    assert resolver.calls == ["rebind.test"]
    # The next lookup answers 127.0.0.2: refused, whatever the DNS cache held.
    resolver2 = FakeResolver({"rebind.test": ["127.0.0.2"]})
    [r] = fetch_with(resolver2, FAST, f"http://rebind.test:{srv.port}/page", origin=ELSEWHERE)
    assert r.error == "refused: rebind.test resolves to 127.0.0.2, a loopback address"


def test_policy_checks_every_redirect_hop(srv: LoopbackServer) -> None:
    with loopback_server() as other:
        inner = other.route("/admin", "secret")
        page = srv.route("/a", handler=redirect(inner, 302))
        hop_by_name = srv.route("/b", handler=redirect(f"http://localhost:{other.port}/admin", 302))
        feed = srv.url("/feed.xml")
        r = fetch(page, FAST, origin=feed)  # the feed's own host may answer, not where it sends
        assert r.error == "refused: 127.0.0.1 is a loopback address" and r.final_url == inner
        r = fetch(hop_by_name, FAST, origin=feed)
        assert r.refused and "localhost resolves to" in (r.error or "")
        assert other.requests == []
        assert fetch(page, FetchSettings(allow_private_networks=True), origin=feed).ok


def test_policy_behind_a_proxy_checks_literals_and_localhost(proxy: ForwardProxy) -> None:
    # The proxy stands in for a public host, so no real network is touched.
    public = "http://93.184.216.34/page"
    proxy.route(public, handler=redirect("http://10.1.2.3/internal", 302))
    proxy.route("http://169.254.169.254/latest/meta-data", "secret")
    settings = FetchSettings(proxy=proxy.base_url, backoff=0.01)
    r = fetch(public, settings, origin=ELSEWHERE)
    assert r.error == "refused: 10.1.2.3 is a private address" and r.refused
    assert r.final_url == "http://10.1.2.3/internal"
    r = fetch("http://169.254.169.254/latest/meta-data", settings, origin=ELSEWHERE)
    assert r.error == "refused: 169.254.169.254 is a link-local address"
    r = fetch("http://app.localhost/x", settings, origin=ELSEWHERE)
    assert r.error == "refused: app.localhost is a loopback name"
    # Legacy spellings of an address are addresses too.
    r = fetch("http://2130706433/x", settings, origin=ELSEWHERE)
    assert r.error == "refused: 127.0.0.1 is a loopback address"
    assert [q.target for q in proxy.requests] == [public]
    allowed = FetchSettings(proxy=proxy.base_url, allow_private_networks=True)
    r = fetch("http://169.254.169.254/latest/meta-data", allowed, origin=ELSEWHERE)
    assert r.ok and r.body == b"secret"


def test_a_host_that_does_not_resolve_is_not_tried_again() -> None:
    resolver = FakeResolver({})
    settings = FetchSettings(retries=2, backoff=0.01)
    urls = [f"http://gone.invalid/{i}" for i in range(20)]
    results = fetch_with(resolver, settings, *urls)
    assert results[0].error == "DNS lookup failed for gone.invalid (3 attempts)"
    for r in results[1:]:
        assert (
            r.error == "DNS lookup failed for gone.invalid (earlier in this run; not tried again)"
        )
    assert resolver.calls == ["gone.invalid"] * 3  # the first fetch's attempts only


def test_a_host_that_refuses_connections_is_not_tried_again(srv: LoopbackServer) -> None:
    port = srv.port
    srv.stop()
    results = fetch_with(
        FakeResolver({}),
        FetchSettings(retries=0),
        *(f"http://127.0.0.1:{port}/{i}" for i in range(5)),
    )
    first = results[0].error or ""
    assert first.startswith(f"cannot connect to 127.0.0.1:{port}")
    assert all(r.error == f"{first} (earlier in this run; not tried again)" for r in results[1:])


def test_failures_of_one_response_are_not_remembered(srv: LoopbackServer) -> None:
    srv.route("/a", handler=sequence(respond(b"", 503), respond(b"ok")))
    [bad, good] = fetch_with(
        FakeResolver({}), FetchSettings(retries=0), srv.url("/a"), srv.url("/a")
    )
    assert bad.error == "HTTP 503 Service Unavailable" and good.ok


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 60) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_fetcher_opens_lazily_and_never_raises(srv: LoopbackServer) -> None:
    url = srv.route("/feed.xml", RSS)

    async def go() -> list[FetchResult]:
        f = Fetcher(FAST)
        try:
            return [await f.fetch(url), await f.fetch("http://[bad"), await f.fetch("")]
        finally:
            await f.aclose()

    ok, bad, empty = run(go())
    assert ok.ok
    assert bad.error is not None and "\n" not in bad.error
    assert empty.error is not None


class Socks5Server:
    """A tiny no-auth SOCKS5 CONNECT server on loopback; records what clients asked for."""

    def __init__(self) -> None:
        self.targets: list[tuple[str, str, int]] = []  # (address type, host, port)
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Socks5Server:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            _version, n_methods = await reader.readexactly(2)
            await reader.readexactly(n_methods)
            writer.write(b"\x05\x00")  # no authentication
            _version, _cmd, _rsv, atyp = await reader.readexactly(4)
            if atyp == 3:
                kind, host = "domain", (await reader.readexactly((await reader.readexactly(1))[0]))
                host_text = host.decode()
            else:
                kind = "ipv4" if atyp == 1 else "ipv6"
                raw = await reader.readexactly(4 if atyp == 1 else 16)
                host_text = str(ipaddress.ip_address(raw))
            port = int.from_bytes(await reader.readexactly(2), "big")
            self.targets.append((kind, host_text, port))
            up_reader, up_writer = await asyncio.open_connection(host_text, port)
            writer.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_socks5_proxy_resolves_names_remotely(srv: LoopbackServer, scheme: str) -> None:
    srv.route("/feed.xml", RSS)
    url = f"http://localhost:{srv.port}/feed.xml"

    async def go() -> tuple[FetchResult, list[tuple[str, str, int]]]:
        async with Socks5Server() as socks:
            settings = FetchSettings(proxy=f"{scheme}://127.0.0.1:{socks.port}", retries=0)
            async with Fetcher(settings) as f:
                return await f.fetch(url), socks.targets

    r, targets = run(go())
    assert r.ok and r.body == RSS, r.error
    # The host name went to the proxy, not a locally resolved address.
    assert targets == [("domain", "localhost", srv.port)]


@pytest.mark.parametrize("proxy_url", ["socks5://127.0.0.1:{port}", "http://127.0.0.1:{port}"])
def test_dead_proxy_is_one_line(srv: LoopbackServer, proxy_url: str) -> None:
    dead = LoopbackServer().start()
    port = dead.port
    dead.stop()  # a port that was just free and now refuses
    url = srv.route("/feed.xml", RSS)
    r = fetch(url, FetchSettings(proxy=proxy_url.format(port=port), retries=0))
    assert r.error is not None and r.error.startswith("cannot connect to proxy: ")
    assert "\n" not in r.error and srv.requests == []


def test_deadline_does_not_count_time_queued_for_a_slot(srv: LoopbackServer) -> None:
    # Three slow feeds on one host with one slot per host: the third waits
    # twice as long as the deadline for its turn, yet must not time out.
    for n in range(3):
        srv.route(f"/slow{n}.xml", b"<rss/>", delay=0.6)
    settings = FetchSettings(per_host=1, deadline=1.0, retries=0)

    async def all_three() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(srv.url(f"/slow{n}.xml")) for n in range(3))
            )

    results = run(all_three())
    assert [r.error for r in results] == [None, None, None]
    assert srv.max_in_flight == 1


def test_invalid_names_fail_at_once_without_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6761: `.invalid` never resolves, so it is not asked of DNS."""
    asked: list[object] = []
    real = socket.getaddrinfo

    def recording(host: object, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    r = fetch("http://feeds.invalid/rss", FetchSettings(retries=0))
    assert r.error == "DNS lookup failed for feeds.invalid"
    r = fetch("http://pages.INVALID./a", FetchSettings(retries=0), origin=ELSEWHERE)
    assert r.error == "DNS lookup failed for pages.invalid." and not r.refused
    assert asked == []
