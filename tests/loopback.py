"""A real HTTP server on 127.0.0.1 for tests, running in a background thread.

aiohttp.web serves in its own thread and event loop, so both sync tests and
tests that run their own asyncio loop can talk to it over real sockets
(keep-alive, many concurrent connections, real timeouts and resets).

    with LoopbackServer() as srv:
        srv.route("/feed.xml", b"<rss/>", headers={"Content-Type": "application/rss+xml"},
                  etag='"v1"')
        url = srv.url("/feed.xml")
        ...
        assert srv.requests_for("/feed.xml")[0].headers["If-None-Match"] == '"v1"'

Custom behaviour goes through `handler=`, an aiohttp handler
`async (request) -> web.StreamResponse`. Ready-made ones: `respond`, `redirect`,
`sequence`, `drip`, `reset_mid_body`, `hang`. `ForwardProxy` is a tiny HTTP
forward proxy (absolute-form requests) for proxy tests.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import ClientSession, ClientTimeout, web
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, for asserting what a client sent."""

    method: str
    path: str  # path only, no query
    path_qs: str  # path with query
    target: str  # the raw request target (absolute-form for proxied requests)
    headers: CIMultiDictProxy[str]  # case-insensitive: headers["if-none-match"]
    body: bytes
    peer_port: int | None  # client's port: equal ports mean a reused (keep-alive) connection
    at: float  # time.monotonic() on arrival


@dataclass
class _Route:
    handler: Handler
    delay: float = 0.0


@dataclass
class _Counters:
    in_flight: int = 0
    max_in_flight: int = 0
    per_path: dict[str, int] = field(default_factory=dict)
    max_per_path: dict[str, int] = field(default_factory=dict)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def respond(
    body: bytes | str = b"",
    status: int = 200,
    headers: dict[str, str] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Handler:
    """A handler giving a fixed answer; 304 to a matching conditional request.

    The body is sent as given: pass gzip bytes with Content-Encoding: gzip to
    serve a compressed body. Without a Content-Type header aiohttp sends
    application/octet-stream.
    """
    data = _as_bytes(body)

    async def handle(request: web.Request) -> web.StreamResponse:
        out = CIMultiDict(headers or {})
        if etag is not None:
            out["ETag"] = etag
        if last_modified is not None:
            out["Last-Modified"] = last_modified
        if _not_modified(request, etag, last_modified):
            # A 304 carries the validators but no body or Content-Type.
            out.popall("Content-Type", None)
            out.popall("Content-Length", None)
            return web.Response(status=304, headers=out)
        return web.Response(body=data, status=status, headers=out)

    return handle


def _not_modified(request: web.Request, etag: str | None, last_modified: str | None) -> bool:
    inm = request.headers.get("If-None-Match")
    if etag is not None and inm is not None:
        # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
        wanted = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in wanted or etag.removeprefix("W/") in wanted
    ims = request.headers.get("If-Modified-Since")
    if last_modified is not None and ims is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
            modified = email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


def redirect(location: str, status: int = 302) -> Handler:
    """A handler answering a redirect to `location` (absolute or relative)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handle


def sequence(*handlers: Handler) -> Handler:
    """A handler using `handlers` in turn, one per request; the last one repeats.

    E.g. `sequence(respond(status=500), respond(b"ok"))` fails once, then works.
    """
    if not handlers:
        raise ValueError("sequence() needs at least one handler")
    calls = 0
    lock = threading.Lock()

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        with lock:
            index = min(calls, len(handlers) - 1)
            calls += 1
        return await handlers[index](request)

    return handle


def drip(
    body: bytes | str,
    interval: float,
    chunk: int = 1,
    headers: dict[str, str] | None = None,
) -> Handler:
    """A handler sending `body` `chunk` bytes at a time, `interval` seconds apart."""
    data = _as_bytes(body)

    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers=headers or {})
        resp.content_length = len(data)
        await resp.prepare(request)
        for start in range(0, len(data), chunk):
            await resp.write(data[start : start + chunk])
            await asyncio.sleep(interval)
        await resp.write_eof()
        return resp

    return handle


def reset_mid_body(body: bytes | str, sent: int, headers: dict[str, str] | None = None) -> Handler:
    """A handler announcing all of `body` but closing the socket after `sent` bytes."""
    data = _as_bytes(body)

    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers=headers or {})
        resp.content_length = len(data)
        await resp.prepare(request)
        await resp.write(data[:sent])
        await asyncio.sleep(0.05)  # let the client read the first part
        transport = request.transport
        if transport is not None:
            transport.abort()  # abort() sends RST where the OS allows, not a clean FIN
        return resp

    return handle


def hang(headers_first: bool = False) -> Handler:
    """A handler that never answers (or sends headers and then no body).

    It returns when the server stops, so shutdown stays quick.
    """

    async def handle(request: web.Request) -> web.StreamResponse:
        server = request.app[SERVER_KEY]
        resp = web.StreamResponse()
        if headers_first:
            resp.content_length = 10
            await resp.prepare(request)
        await server._stopping.wait()
        return resp

    return handle


def gzip_bomb(inflated_size: int) -> bytes:
    """Gzip bytes that inflate to `inflated_size` zero bytes (about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    block = bytes(2**20)
    parts: list[bytes] = []
    left = inflated_size
    while left > 0:
        n = min(left, len(block))
        parts.append(comp.compress(block[:n]))
        left -= n
    parts.append(comp.flush())
    return b"".join(parts)


class LoopbackServer:
    """A real aiohttp server on 127.0.0.1:<free port> in a background thread.

    Use as a context manager (or start()/stop()). Routes can be added or
    replaced at any time, also while the server runs. Unknown paths get 404.
    """

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._counters = _Counters()
        self.requests: list[RecordedRequest] = []
        self.port: int = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    # -- routes ---------------------------------------------------------------

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0,
        handler: Handler | None = None,
    ) -> str:
        """Serve `path` (optionally with ?query, matched first). Returns its URL.

        `delay` seconds pass before the handler runs. `handler` replaces the
        fixed answer built from body/status/headers/etag/last_modified.
        """
        if handler is None:
            handler = respond(body, status, headers, etag, last_modified)
        with self._lock:
            self._routes[path] = _Route(handler, delay)
        return self.url(path)

    def url(self, path: str = "/") -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what was seen --------------------------------------------------------

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Requests whose path (or path with query) equals `path`."""
        return [r for r in list(self.requests) if path in (r.path, r.path_qs)]

    @property
    def max_in_flight(self) -> int:
        """Most requests being handled at once over the server's life."""
        return self._counters.max_in_flight

    def max_in_flight_for(self, path: str) -> int:
        return self._counters.max_per_path.get(path, 0)

    def clear(self) -> None:
        """Forget recorded requests and concurrency counts (routes stay)."""
        with self._lock:
            self.requests.clear()
            self._counters = _Counters()

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._serve, name="loopback-http", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("loopback server did not start within 10 s")
        if self._startup_error is not None:
            raise RuntimeError(f"loopback server failed: {self._startup_error}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(15)
        thread.join(15)
        self._loop = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as err:  # report to the starting thread, not a dead thread
            self._startup_error = err
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app[SERVER_KEY] = self
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _startup(self) -> None:
        self._stopping = asyncio.Event()
        # A short shutdown_timeout so handlers still running don't delay stop().
        self._runner = web.AppRunner(self._make_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server  # the bound port of port 0 is only on the socket
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
        asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)

    # -- serving --------------------------------------------------------------

    def _record(self, request: web.Request, body: bytes) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                path_qs=request.path_qs,
                target=request.raw_path,
                headers=request.headers,
                body=body,
                peer_port=peer[1] if peer else None,
                at=time.monotonic(),
            )
        )

    def _find(self, request: web.Request) -> _Route | None:
        with self._lock:
            return self._routes.get(request.path_qs) or self._routes.get(request.path)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self._record(request, await request.read())
        key = request.path
        with self._lock:
            c = self._counters
            c.in_flight += 1
            c.max_in_flight = max(c.max_in_flight, c.in_flight)
            c.per_path[key] = c.per_path.get(key, 0) + 1
            c.max_per_path[key] = max(c.max_per_path.get(key, 0), c.per_path[key])
        try:
            return await self._handle(request)
        finally:
            with self._lock:
                c.in_flight -= 1
                c.per_path[key] -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request)
        if found is None:
            return web.Response(status=404, text=f"no route for {request.path}")
        if found.delay:
            await asyncio.sleep(found.delay)
        return await found.handler(request)


class ForwardProxy(LoopbackServer):
    """A tiny HTTP forward proxy: takes absolute-form requests and forwards them.

    Every proxied request is recorded in `requests` (its `target` is the
    absolute URL). A route whose path is an absolute URL is answered by the
    proxy itself, which makes far-away hosts (e.g. a public IP) testable
    offline: `proxy.route("http://93.184.216.34/feed", RSS)`. CONNECT (https)
    is not supported.
    """

    def __init__(self) -> None:
        super().__init__()
        self._client: ClientSession | None = None

    async def _startup(self) -> None:
        await super()._startup()
        # auto_decompress off: pass the origin's bytes through untouched.
        self._client = ClientSession(
            auto_decompress=False, timeout=ClientTimeout(total=60), trust_env=False
        )

    async def _shutdown(self) -> None:
        if self._client is not None:
            await self._client.close()
        await super()._shutdown()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = request.raw_path
        if not target.startswith(("http://", "https://")):
            return web.Response(status=400, text="not an absolute-form proxy request")
        with self._lock:
            local = self._routes.get(target)
        if local is not None:
            if local.delay:
                await asyncio.sleep(local.delay)
            return await local.handler(request)
        assert self._client is not None
        hop_by_hop = {"host", "proxy-connection", "proxy-authorization", "connection"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop_by_hop}
        async with self._client.request(
            request.method,
            target,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            out = CIMultiDict(upstream.headers)
            for name in ("Transfer-Encoding", "Connection", "Content-Length"):
                out.popall(name, None)
            out["Via"] = "1.1 loopback-proxy"
            return web.Response(status=upstream.status, body=body, headers=out)


SERVER_KEY = web.AppKey("loopback", LoopbackServer)


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    """A started LoopbackServer, stopped on exit (for a pytest fixture)."""
    with LoopbackServer() as server:
        yield server


@contextmanager
def forward_proxy() -> Iterator[ForwardProxy]:
    """A started ForwardProxy, stopped on exit."""
    with ForwardProxy() as proxy:
        yield proxy
