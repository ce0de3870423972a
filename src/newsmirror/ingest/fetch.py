"""The fetch stage: HTTP GETs with limits, conditional requests, retries and redirects.

`Fetcher.fetch` never raises (except CancelledError): every failure becomes a
one-line `FetchResult.error`, so one hostile feed cannot stop a run.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import importlib.util
import ipaddress
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from http import HTTPStatus
from types import TracebackType

import aiohttp
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError
from yarl import URL

from ..archive.config import FetchSettings
from ..models import FetchResult

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

# Only offer br when aiohttp can decode it.
_HAS_BROTLI = any(importlib.util.find_spec(m) for m in ("brotli", "brotlicffi"))
ACCEPT_ENCODING = "gzip, deflate, br" if _HAS_BROTLI else "gzip, deflate"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_STATUS = frozenset({408, 429})
_CHUNK = 64 * 1024


class _Failure(Exception):
    """One attempt failed; `retry` says whether trying again may help."""

    def __init__(
        self,
        reason: str,
        *,
        retry: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.status = status
        self.retry_after = retry_after
        self.headers = headers or {}


@dataclass
class _Response:
    """A final (non-redirect) response that is usable: 2xx or 304."""

    status: int
    headers: dict[str, str]
    body: bytes | None


@dataclass
class _Attempt:
    """State of one fetch across hops and retries."""

    url: URL
    deadline_at: float  # loop.time() when the whole fetch must end
    status: int | None = None
    # The deadline starts with the first request, not while queued for a slot.
    clock: asyncio.Timeout | None = None
    clock_started: bool = False
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


def format_size(n: int) -> str:
    """20971520 -> '20 MiB', for one-line errors."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now_ts = time.time() if now is None else now
    return max(0.0, when.timestamp() - now_ts)


def status_text(status: int, reason: str | None) -> str:
    """'HTTP 404 Not Found' — the standard phrase, since servers' reasons can be junk."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = " ".join((reason or "").split())[:60]
    return f"HTTP {status} {phrase}".rstrip()


def _lower_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with ', ' as RFC 9110 allows."""
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _is_private(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast


def _describe(err: BaseException, settings: FetchSettings) -> tuple[str, bool]:
    """A one-line reason for a client exception, and whether to retry."""
    if isinstance(err, aiohttp.ConnectionTimeoutError):
        return f"timed out after {settings.connect_timeout:g}s connecting", True
    if isinstance(err, aiohttp.SocketTimeoutError):
        return f"timed out after {settings.read_timeout:g}s waiting for data", True
    if isinstance(err, aiohttp.ClientProxyConnectionError):
        return f"cannot connect to proxy: {err.os_error.strerror or err.os_error}", True
    if isinstance(err, ProxyTimeoutError):
        return f"timed out after {settings.connect_timeout:g}s connecting to proxy", True
    if isinstance(err, ProxyConnectionError):
        return f"cannot connect to proxy: {_one_line(err)}", True
    if isinstance(err, ProxyError):
        return f"proxy refused: {_one_line(err)}", False
    if isinstance(err, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {err.host}", True
    if isinstance(err, aiohttp.ClientConnectorError):
        why = err.os_error.strerror or str(err.os_error) or "failed"
        return f"cannot connect to {err.host}:{err.port}: {why.lower()}", True
    if isinstance(err, aiohttp.ClientPayloadError):
        return "connection reset mid-body", True
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "server disconnected without a response", True
    if isinstance(err, ConnectionResetError) or (
        isinstance(err, OSError) and err.errno == errno.ECONNRESET
    ):
        return "connection reset", True
    if isinstance(err, aiohttp.ClientHttpProxyError):
        return f"proxy refused: {status_text(err.status, err.message)}", False
    if isinstance(err, aiohttp.ClientResponseError):
        # aiohttp's parser rejected the response (bad headers, bad chunking...).
        return f"malformed response: {_one_line(err.message)}", False
    if isinstance(err, aiohttp.ClientConnectionError | OSError):
        return f"connection error: {_one_line(err)}", True
    return f"{type(err).__name__}: {_one_line(err)}", False


def _one_line(err: BaseException, limit: int = 120) -> str:
    return " ".join(str(err).split())[:limit] or type(err).__name__


def _env_socks_proxy() -> str | None:
    """ALL_PROXY=socks5://... from the environment; aiohttp's trust_env covers only HTTP(S)."""
    for name in ("ALL_PROXY", "all_proxy"):
        value = os.environ.get(name, "")
        if value.lower().startswith("socks"):
            return value
    return None


class Fetcher:
    """A shared HTTP client for a whole run. Use `async with Fetcher(settings) as f`.

    `before_send(host_key)`, when given, is awaited right before each request
    (every hop and retry) is sent, within the limits: a re-check paces its
    requests per host there.
    """

    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),  # noqa: B008
        before_send: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self._before_send = before_send
        self._session: aiohttp.ClientSession | None = None
        self._http_proxy: str | None = None
        self._overall = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is not None:
            return self._session
        s = self.settings
        limits = {
            "limit": s.concurrency,
            "limit_per_host": s.per_host,
            "use_dns_cache": True,
            "ttl_dns_cache": 300,
        }
        proxy = s.proxy or _env_socks_proxy()
        connector: aiohttp.BaseConnector
        if proxy and proxy.lower().startswith("socks"):
            # socks5h means "resolve at the proxy"; python-socks spells that rdns=True.
            # Resolving remotely also dodges poisoned local DNS, so socks5 does it too.
            scheme, sep, rest = proxy.partition("://")
            scheme = scheme.lower()
            url = f"socks5://{rest}" if scheme == "socks5h" else f"{scheme}{sep}{rest}"
            rdns = True if scheme in ("socks5", "socks5h") else None
            connector = ProxyConnector.from_url(url, rdns=rdns, **limits)
        else:
            connector = aiohttp.TCPConnector(**limits)
            self._http_proxy = proxy
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # Proxies from HTTP(S)_PROXY/NO_PROXY only when none was configured.
            trust_env=proxy is None,
            cookie_jar=aiohttp.DummyCookieJar(),  # no tracking across feeds
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=s.connect_timeout, sock_read=s.read_timeout
            ),
            auto_decompress=True,  # bounded per chunk by aiohttp; we cap the total
        )
        return self._session

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        guard: bool = False,
    ) -> FetchResult:
        """GET `url` following redirects and retrying; never raises (but CancelledError)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = FetchResult(url=url, final_url=url)
        state = _Attempt(url=URL(), deadline_at=started + self.settings.deadline)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            try:
                state.url = URL(url)
            except (ValueError, TypeError):
                raise _Failure(f"invalid URL {url[:200]!r}") from None
            async with asyncio.timeout(None) as clock:
                state.clock = clock
                try:
                    response = await self._follow(state, headers, guard, result)
                except TimeoutError:
                    # The deadline's own TimeoutError appears only at the `async with`
                    # exit, so this is some other, unmapped timeout.
                    raise _Failure("timed out", status=state.status) from None
            result.status = response.status
            result.headers = response.headers
            result.body = response.body
            result.etag = response.headers.get("etag")
            result.last_modified = response.headers.get("last-modified")
        except _Failure as failure:
            result.error = failure.reason
            result.status = failure.status
            result.retry_after = failure.retry_after
            result.headers = failure.headers
            result.permanent_redirect = None
        except TimeoutError:
            result.error = f"gave up after the {self.settings.deadline:g}s deadline"
            result.status = state.status
            result.retry_after = state.retry_after
            result.headers = state.headers
            result.permanent_redirect = None
        except asyncio.CancelledError:
            raise
        except Exception as err:  # never raise: an unforeseen failure is still one line
            result.error, _ = _describe(err, self.settings)
            result.permanent_redirect = None
        if state.url.scheme:  # leave the URL as asked when it did not even parse
            result.final_url = str(state.url)
        result.elapsed = loop.time() - started
        return result

    async def _follow(
        self, state: _Attempt, headers: dict[str, str], guard: bool, result: FetchResult
    ) -> _Response:
        """Follow redirects hop by hop (each hop retried on its own)."""
        seen = {str(state.url)}
        permanent_so_far = True
        for hop in range(self.settings.max_redirects + 1):
            self._check_url(state.url, redirected=hop > 0)
            if guard and self.settings.block_private:
                await self._refuse_private(state.url)
            status, resp_headers, body = await self._with_retries(state, headers)
            if status not in _REDIRECTS:
                return _Response(status, resp_headers, body)
            location = resp_headers.get("location")
            if not location:
                raise _Failure(f"HTTP {status} redirect without Location", status=status)
            try:
                target = state.url.join(URL(location.strip()))
            except ValueError:
                raise _Failure(
                    f"redirect to invalid URL {location[:100]!r}", status=status
                ) from None
            if hop == self.settings.max_redirects:
                raise _Failure(f"too many redirects ({hop + 1})", status=status)
            if str(target) in seen:
                raise _Failure(f"redirect loop at {str(target)[:200]}", status=status)
            seen.add(str(target))
            state.url = target
            permanent_so_far = permanent_so_far and status in _PERMANENT
            if permanent_so_far:
                # The feed moved for good up to here; a later temporary hop doesn't count.
                result.permanent_redirect = str(target)
        raise AssertionError("unreachable: the loop returns or raises")

    def _check_url(self, url: URL, *, redirected: bool) -> None:
        if url.scheme not in ("http", "https"):
            what = "redirect to unsupported scheme" if redirected else "unsupported scheme"
            raise _Failure(
                f"{what} {url.scheme!r}" if url.scheme else "not an absolute http(s) URL"
            )
        if not url.host:
            raise _Failure(f"URL without a host: {str(url)[:200]}")

    async def _refuse_private(self, url: URL) -> None:
        """SSRF guard: refuse hosts that are, or resolve to, non-public addresses.

        Resolving here and again in the connector leaves a DNS-rebinding window;
        acceptable for a feed mirror, and literal IPs are always caught.
        """
        host = url.host or ""
        try:
            ips = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, url.port or 80, type=socket.SOCK_STREAM
                )
            except OSError:
                return  # unresolvable here (maybe only via the proxy): the request will tell
            ips = [str(info[4][0]) for info in infos]
        for ip in ips:
            if _is_private(ip):
                raise _Failure(f"refused private address {ip}")

    async def _with_retries(
        self, state: _Attempt, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes | None]:
        s = self.settings
        attempt = 0
        while True:
            try:
                return await self._request(state, headers)
            except _Failure as failure:
                if not failure.retry or attempt >= s.retries:
                    if attempt:
                        failure.reason += f" ({attempt + 1} attempts)"
                    raise
                if failure.retry_after is not None and failure.retry_after > s.max_retry_after:
                    failure.reason = f"Retry-After {failure.retry_after:g}s exceeds limit"
                    raise
                if failure.retry_after is not None:
                    wait = failure.retry_after
                else:
                    # Exponential backoff with jitter, so many feeds on one host spread out.
                    wait = s.backoff * 2**attempt * random.uniform(0.5, 1.0)
                if wait >= state.deadline_at - asyncio.get_running_loop().time():
                    failure.reason += f" (retry in {wait:.3g}s would pass the deadline)"
                    raise
                await asyncio.sleep(wait)
                attempt += 1

    async def _request(
        self, state: _Attempt, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes | None]:
        """One GET of state.url. Raises _Failure; returns 2xx, 304 and redirects."""
        session = self._open()
        url = state.url
        host_key = f"{url.host}:{url.port}"
        per_host = self._per_host.setdefault(host_key, asyncio.Semaphore(self.settings.per_host))
        # Per-host first, so a busy host doesn't hold overall slots other hosts could use.
        async with per_host, self._overall:
            if self._before_send is not None:
                await self._before_send(host_key)
            if not state.clock_started and state.clock is not None:
                state.clock_started = True
                state.deadline_at = asyncio.get_running_loop().time() + self.settings.deadline
                state.clock.reschedule(state.deadline_at)
            try:
                async with session.get(
                    url,
                    headers=headers,
                    allow_redirects=False,
                    proxy=self._http_proxy,
                ) as resp:
                    status = resp.status
                    resp_headers = _lower_headers(resp.headers.items())
                    state.status = status
                    state.headers = resp_headers
                    retry_after = parse_retry_after(resp_headers.get("retry-after"))
                    state.retry_after = retry_after
                    if status in _REDIRECTS or status == 304:
                        return status, resp_headers, None
                    if not 200 <= status < 300:
                        raise _Failure(
                            status_text(status, resp.reason),
                            retry=status >= 500 or status in _RETRY_STATUS,
                            status=status,
                            retry_after=retry_after,
                            headers=resp_headers,
                        )
                    body = await self._read_body(resp, status, resp_headers)
                    return status, resp_headers, body
            except (
                aiohttp.ClientError,
                OSError,
                ProxyError,
                ProxyConnectionError,
                ProxyTimeoutError,
            ) as err:
                reason, retry = _describe(err, self.settings)
                raise _Failure(reason, retry=retry, status=state.status) from None

    async def _read_body(
        self, resp: aiohttp.ClientResponse, status: int, headers: dict[str, str]
    ) -> bytes:
        """Stream the decoded body, stopping as soon as it passes max_bytes."""
        limit = self.settings.max_bytes
        too_big = _Failure(f"body larger than {format_size(limit)}", status=status, headers=headers)
        declared = resp.content_length
        if declared is not None and declared > limit and "content-encoding" not in headers:
            raise too_big
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                resp.close()  # drop the connection rather than drain a huge body
                raise too_big
        return bytes(body)
