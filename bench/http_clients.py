"""Requests/s of aiohttp (newsmirror's Fetcher and a bare session) vs httpx on loopback.

Run: python bench/http_clients.py [--requests N]
httpx is optional: without it only the aiohttp figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from loopback import loopback_server  # noqa: E402

from newsmirror.ingest.fetch import Fetcher, FetchSettings  # noqa: E402

BODY = b"<rss version='2.0'><channel><title>bench</title></channel></rss>" * 20
Get = Callable[[str], Awaitable[int]]


async def _drive(get: Get, url: str, total: int, in_flight: int) -> float:
    """Requests/s doing `total` GETs with `in_flight` workers."""
    left = total

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await get(url)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return total / (time.perf_counter() - start)


async def bench_aiohttp(url: str, total: int, in_flight: int) -> float:
    connector = aiohttp.TCPConnector(limit=in_flight, limit_per_host=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def get(u: str) -> int:
            async with session.get(u) as resp:
                await resp.read()
                return resp.status

        return await _drive(get, url, total, in_flight)


async def bench_fetcher(url: str, total: int, in_flight: int) -> float:
    settings = FetchSettings(concurrency=in_flight, per_host=in_flight)
    async with Fetcher(settings) as f:

        async def get(u: str) -> int:
            r = await f.fetch(u)
            assert r.ok, r.error
            return r.status or 0

        return await _drive(get, url, total, in_flight)


async def bench_httpx(url: str, total: int, in_flight: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits) as client:

        async def get(u: str) -> int:
            resp = await client.get(u)
            return resp.status_code

        return await _drive(get, url, total, in_flight)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    has_httpx = importlib.util.find_spec("httpx") is not None
    with loopback_server() as server:
        url = server.route("/feed.xml", BODY, headers={"Content-Type": "application/rss+xml"})
        for in_flight in (1, 50):
            total = args.requests if in_flight > 1 else args.requests // 4
            rates = {
                "aiohttp": asyncio.run(bench_aiohttp(url, total, in_flight)),
                "Fetcher": asyncio.run(bench_fetcher(url, total, in_flight)),
            }
            if has_httpx:
                rates["httpx"] = asyncio.run(bench_httpx(url, total, in_flight))
            line = ", ".join(f"{name} {rate:,.0f} req/s" for name, rate in rates.items())
            print(f"{in_flight:>3} in flight ({total} requests): {line}")
            print(f"    Fetcher/aiohttp overhead ratio: {rates['aiohttp'] / rates['Fetcher']:.2f}")
            if has_httpx:
                print(f"    aiohttp/httpx ratio: {rates['aiohttp'] / rates['httpx']:.1f}")
    if not has_httpx:
        print("httpx not installed: skipped (pip install httpx to compare)")


if __name__ == "__main__":
    main()
