"""The fetch stage: HTTP GETs with limits, conditional requests, retries and redirects.

`Fetcher.fetch` never raises (except CancelledError): every failure becomes a
one-line `FetchResult.error`, so one hostile feed cannot stop a run.

Two rules hold for a whole run (one `Fetcher`):

- **A host that cannot be reached is not tried again.** When a fetch gives up
  on a host because its name does not resolve or it refuses or times out the
  connection (after that fetch's retries), the host and port are remembered,
  and every later fetch to them fails at once with the same reason. A feed of
  700 items whose article pages sit on a dead host costs one failed lookup,
  not 700.
- **The fetch policy for addresses that come from feed content.** A fetch
  given `origin=` (the URL of the feed whose content named the address: an
  article page, an image, and every redirect of either) connects only to
  public addresses, unless the hop's host and port are the feed URL's own
  (the user chose that host). Loopback, private, link-local, shared (CGNAT),
  multicast, reserved and unspecified addresses, IPv4 and IPv6 (with mapped,
  NAT64, 6to4 and Teredo forms of them), are refused.
  Names are checked after DNS resolution *in the connector*: such hops go
  through a second session whose resolver drops every non-public address and
  refuses the name when none is left, so the address checked is the address
  connected to (no DNS-rebinding window), on every redirect hop. Literal
  addresses, which aiohttp connects to without resolving, are checked before
  the request. Behind a proxy the proxy resolves names (and must: socks5h
  exists so that lookups do not leak to local DNS), so only literal
  addresses and `localhost` names can be checked there. Subscription URLs
  (no `origin`) are the user's choice and are not filtered;
  `allow_private_networks = true` turns the policy off.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import importlib.util
import ipaddress
import os
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC
from http import HTTPStatus
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import get_env_proxy_for_url
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError
from yarl import URL

from ..archive.config import FetchSettings
from ..models import FetchResult
from ..util.text import one_line

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
REASON_CHARS = 120  # a failure reason quoted from a library, in one line


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
        refused: bool = False,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.status = status
        self.retry_after = retry_after
        self.headers = headers or {}
        self.refused = refused  # the fetch policy refused the address
        self.unreachable = unreachable  # the host's name or connection failed


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
    queued: float = 0.0  # seconds waited for the first connection slot
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


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")


def address_problem(ip: str) -> str | None:
    """Why the fetch policy refuses `ip` ("loopback", "private", ...), or None
    for a public address. IPv6 forms that carry an IPv4 address (mapped,
    IPv4-compatible, NAT64, 6to4, Teredo) are judged by that address too."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0].strip("[]"))
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.is_loopback or addr.is_unspecified:
            return "loopback" if addr.is_loopback else "unspecified"
        inner = addr.ipv4_mapped
        if inner is None and (addr in _NAT64 or addr in _V4_COMPATIBLE):
            inner = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        for embedded in (inner, addr.sixtofour, addr.teredo and addr.teredo[1]):
            if embedded:
                problem = address_problem(str(embedded))
                if problem:
                    return problem
        if inner is not None:
            return None
    for problem, test in (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("multicast", addr.is_multicast),
        ("unspecified", addr.is_unspecified),
        ("shared (CGNAT)", isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("reserved", not addr.is_global),
    ):
        if test:
            return problem
    return None


def _literal_address(host: str) -> str | None:
    """The address a host names by itself (`127.0.0.1`, `[::1]`, and the legacy
    forms `2130706433`, `0x7f.1` that resolvers still accept), or None for a name."""
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _host_port(url: URL) -> tuple[str, int | None]:
    return ((url.raw_host or "").lower().rstrip("."), url.port)


class RefusedAddress(OSError):
    """The fetch policy refused every address a name resolved to."""


class _ReservedNames(AbstractResolver):
    """`.invalid` names never resolve (RFC 6761, 6.4): say so at once instead
    of asking DNS, which may be slow to answer or not there at all. Names
    for a proxy to resolve never come here."""

    def __init__(self, base: AbstractResolver) -> None:
        self._base = base

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        if name == "invalid" or name.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return await self._base.resolve(host, port, family)

    async def close(self) -> None:
        await self._base.close()


class _PublicOnlyResolver(AbstractResolver):
    """Resolves with `base`, then keeps only public addresses: the connector
    connects to exactly what this returns, so the check cannot be raced."""

    def __init__(self, base: AbstractResolver) -> None:
        self._base = base

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._base.resolve(host, port, family)
        public = [r for r in found if address_problem(r["host"]) is None]
        if not public:
            ip = found[0]["host"] if found else "nothing"
            problem = address_problem(ip) if found else "no"
            raise RefusedAddress(f"{host} resolves to {ip}, a {problem} address")
        return public

    async def close(self) -> None:
        await self._base.close()


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
        return f"cannot connect to proxy: {one_line(err, REASON_CHARS)}", True
    if isinstance(err, ProxyError):
        return f"proxy refused: {one_line(err, REASON_CHARS)}", False
    if isinstance(err, aiohttp.ClientConnectorDNSError):
        if isinstance(err.os_error, RefusedAddress):
            return f"refused: {err.os_error}", False
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
        return f"malformed response: {one_line(err.message, REASON_CHARS)}", False
    if isinstance(err, aiohttp.ClientConnectionError | OSError):
        return f"connection error: {one_line(err, REASON_CHARS)}", True
    return f"{type(err).__name__}: {one_line(err, REASON_CHARS)}", False


def _unreachable(err: BaseException) -> bool:
    """Did the host itself fail (its name, or the connection to it), rather
    than a proxy or one response? Such a host is not tried again in the run."""
    if isinstance(err, aiohttp.ClientProxyConnectionError):
        return False
    return isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _host_key(url: URL) -> str:
    return f"{url.host}:{url.port}"


def _env_socks_proxy() -> str | None:
    """ALL_PROXY=socks5://... from the environment; aiohttp's trust_env covers only HTTP(S)."""
    for name in ("ALL_PROXY", "all_proxy"):
        value = os.environ.get(name, "")
        if value.lower().startswith("socks"):
            return value
    return None


class Fetcher:
    """A shared HTTP client for a whole run. Use `async with Fetcher(settings) as f`.

    `resolver` resolves names (default: aiohttp's threaded resolver, with
    `.invalid` names answered at once); tests pass their own to see what the
    fetch policy does with an answer. `before_send(host_key)`, when given, is
    awaited right before each request (every hop and retry) is sent, within
    the limits: a re-check paces its requests per host there.
    """

    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),  # noqa: B008
        *,
        resolver: AbstractResolver | None = None,
        before_send: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self._resolver = resolver
        self._before_send = before_send
        self._session: aiohttp.ClientSession | None = None
        self._public_session: aiohttp.ClientSession | None = None
        self._http_proxy: str | None = None
        self._socks = False
        self._overall = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        # host:port -> why it could not be reached, for the rest of the run.
        self._unreachable: dict[str, str] = {}

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
        for session in (self._session, self._public_session):
            if session is not None:
                await session.close()
        self._session = self._public_session = None

    def _limits(self) -> dict[str, object]:
        s = self.settings
        return {
            "limit": s.concurrency,
            "limit_per_host": s.per_host,
            "use_dns_cache": True,
            "ttl_dns_cache": 300,
        }

    def _new_session(
        self, connector: aiohttp.BaseConnector, *, trust_env: bool
    ) -> aiohttp.ClientSession:
        s = self.settings
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            trust_env=trust_env,
            cookie_jar=aiohttp.DummyCookieJar(),  # no tracking across feeds
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=s.connect_timeout, sock_read=s.read_timeout
            ),
            auto_decompress=True,  # bounded per chunk by aiohttp; we cap the total
        )

    def _open(self) -> aiohttp.ClientSession:
        """The session for subscription URLs, the feed's own host, and every
        request that goes through a proxy."""
        if self._session is not None:
            return self._session
        s = self.settings
        limits = self._limits()
        limits["resolver"] = self._base_resolver()
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
            self._socks = True
        else:
            connector = aiohttp.TCPConnector(**limits)  # type: ignore[arg-type]
            self._http_proxy = proxy
        # Proxies from HTTP(S)_PROXY/NO_PROXY only when none was configured.
        self._session = self._new_session(connector, trust_env=proxy is None)
        return self._session

    def _open_public(self) -> aiohttp.ClientSession:
        """The session for addresses from feed content: its connector reaches
        public addresses only (see the module docstring)."""
        if self._public_session is None:
            connector = aiohttp.TCPConnector(
                resolver=_PublicOnlyResolver(self._base_resolver()),
                **self._limits(),  # type: ignore[arg-type]
            )
            # Only requests that no proxy takes come here (`_session_for`).
            self._public_session = self._new_session(connector, trust_env=False)
        return self._public_session

    def _base_resolver(self) -> AbstractResolver:
        if self._resolver is None:
            self._resolver = _ReservedNames(aiohttp.ThreadedResolver())
        return self._resolver

    def _proxied(self, url: URL) -> bool:
        """Will a proxy carry the request to `url` (and resolve its name)?"""
        self._open()
        if self._socks or self._http_proxy:
            return True
        try:
            get_env_proxy_for_url(url)  # what aiohttp's trust_env would use
        except LookupError:
            return False
        return True

    def _session_for(self, url: URL, origin: URL | None) -> aiohttp.ClientSession:
        """The session for one hop; raises _Failure when the policy refuses it."""
        if (
            origin is None
            or self.settings.allow_private_networks
            or _host_port(url) == _host_port(origin)
        ):
            return self._open()
        host = url.raw_host or ""
        literal = _literal_address(host)
        if literal is not None:
            problem = address_problem(literal)
            if problem:
                raise _Failure(f"refused: {literal} is a {problem} address", refused=True)
        if self._proxied(url):
            name = host.lower().rstrip(".")
            if name == "localhost" or name.endswith(".localhost"):
                raise _Failure(f"refused: {name} is a loopback name", refused=True)
            return self._open()  # the proxy resolves the name; see the module docstring
        return self._open_public()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        origin: str | None = None,
    ) -> FetchResult:
        """GET `url` following redirects and retrying; never raises (but CancelledError).

        `origin`: the URL of the feed whose content gave `url`; the fetch
        policy then applies to every hop (see the module docstring)."""
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
                    response = await self._follow(state, headers, origin, result)
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
            result.refused = failure.refused
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
        result.queued = state.queued
        return result

    async def _follow(
        self, state: _Attempt, headers: dict[str, str], origin: str | None, result: FetchResult
    ) -> _Response:
        """Follow redirects hop by hop (each hop retried on its own)."""
        seen = {str(state.url)}
        permanent_so_far = True
        origin_url = URL(origin) if origin is not None else None
        for hop in range(self.settings.max_redirects + 1):
            self._check_url(state.url, redirected=hop > 0)
            session = self._session_for(state.url, origin_url)
            status, resp_headers, body = await self._with_retries(state, headers, session)
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

    async def _with_retries(
        self, state: _Attempt, headers: dict[str, str], session: aiohttp.ClientSession
    ) -> tuple[int, dict[str, str], bytes | None]:
        s = self.settings
        attempt = 0
        while True:
            try:
                return await self._request(state, headers, session)
            except _Failure as failure:
                if not failure.retry or attempt >= s.retries:
                    if failure.unreachable:
                        # Given up on: later fetches to this host fail at once.
                        self._unreachable.setdefault(_host_key(state.url), failure.reason)
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
        self, state: _Attempt, headers: dict[str, str], session: aiohttp.ClientSession
    ) -> tuple[int, dict[str, str], bytes | None]:
        """One GET of state.url. Raises _Failure; returns 2xx, 304 and redirects."""
        url = state.url
        host_key = _host_key(url)
        per_host = self._per_host.setdefault(host_key, asyncio.Semaphore(self.settings.per_host))
        queued_from = asyncio.get_running_loop().time()
        # Per-host first, so a busy host doesn't hold overall slots other hosts could use.
        async with per_host, self._overall:
            if self._before_send is not None:
                await self._before_send(host_key)
            if not state.clock_started and state.clock is not None:
                state.clock_started = True
                now = asyncio.get_running_loop().time()
                state.queued = now - queued_from
                state.deadline_at = now + self.settings.deadline
                state.clock.reschedule(state.deadline_at)
            failed_before = self._unreachable.get(host_key)
            if failed_before is not None:
                raise _Failure(f"{failed_before} (earlier in this run; not tried again)")
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
                refused = reason.startswith("refused: ")
                raise _Failure(
                    reason,
                    retry=retry,
                    status=state.status,
                    refused=refused,
                    unreachable=not refused and _unreachable(err),
                ) from None

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
