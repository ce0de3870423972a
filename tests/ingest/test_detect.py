"""One re-fetch -> a finding; the schedule; the per-host pacing."""

from __future__ import annotations

import asyncio

import pytest

from newsmirror.archive.originals import Original, first_check, next_check
from newsmirror.ingest.detect import classify, moved_to_listing, page_text
from newsmirror.ingest.recheck import HostPacer, host_key, pick
from newsmirror.models import FetchResult

LINK = "https://news.example/2026/11/28/story-123.html"
HTML = {"content-type": "text/html; charset=utf-8"}
ARTICLE = (
    "<html><head><title>标题</title></head><body><article>"
    + "".join(f"<p>第{i}段，记者在现场看到了很多人，他们说出了自己的想法和诉求。</p>" for i in range(6))
    + "</article></body></html>"
).encode()


def fetched(status: int = 200, body: bytes = ARTICLE, final: str = LINK, **kw) -> FetchResult:
    ok = 200 <= status < 300 or status == 304
    return FetchResult(url=LINK, final_url=final, status=status, body=body if ok else None,
                       headers=kw.pop("headers", HTML), error=None if ok else f"HTTP {status}", **kw)  # fmt: skip


@pytest.mark.parametrize(
    ("final", "why"),
    [
        ("https://news.example/", "home page"),
        ("https://www.news.example/index.html", "home page"),
        ("https://news.example/?from=404", "home page"),
        ("https://news.example/2026/11/", "listing"),
        ("https://news.example/2026", "listing"),
        ("https://m.news.example/", "home page"),  # the site's mobile name
    ],
)
def test_redirects_to_the_home_page_or_a_listing_are_gone(final, why):
    assert why in moved_to_listing(LINK, final)
    finding = classify(fetched(final=final), LINK, None)
    assert finding.kind == "gone" and final in finding.evidence


@pytest.mark.parametrize(
    "final",
    [
        LINK,
        "https://news.example/2026/11/28/story-123-new-title.html",  # a renamed article
        "https://news.example/2026/11/28/story-123.html/",
        "http://news.example/2026/11/28/story-123.html",
        "https://other.example/",  # another site: not a deletion on this one
        "https://news.example/amp/2026/11/28/story-123.html",
    ],
)
def test_other_redirects_are_not_gone(final):
    assert moved_to_listing(LINK, final) == ""


@pytest.mark.parametrize(("status", "kind"), [(404, "gone"), (410, "gone"), (451, "gone"),
                                              (500, "failed"), (403, "failed"), (429, "failed")])  # fmt: skip
def test_status_codes(status, kind):
    assert classify(fetched(status), LINK, None).kind == kind


def test_a_304_is_unchanged_and_the_same_bytes_are_not_extracted_again():
    assert classify(fetched(304), LINK, None).kind == "unchanged"
    first = classify(fetched(), LINK, None)
    assert first.kind == "article" and "第5段" in (first.text or "")
    again = classify(fetched(), LINK, None, last_body_sha=first.body_sha)
    assert again.kind == "unchanged" and again.text is None


def test_a_page_without_article_text_is_a_failed_check_not_a_deletion():
    login = b"<html><body><form><input name=user><button>Log in</button></form></body></html>"
    finding = classify(fetched(body=login), LINK, None)
    assert finding.kind == "failed" and "no article text" in finding.evidence
    pdf = classify(fetched(body=b"%PDF-1.4", headers={"content-type": "application/pdf"}), LINK, None)
    assert pdf.kind == "failed" and "application/pdf" in pdf.evidence


def test_a_notice_page_is_a_notice():
    page = "<html><body><div>该内容已被发布者删除</div></body></html>".encode()
    finding = classify(fetched(body=page), LINK, None)
    assert finding.kind == "notice" and "该内容已被发布者删除" in finding.evidence


def test_page_text_puts_blocks_on_lines():
    html = "<h2>小标题</h2><p>第一段<b>加粗</b>文字。</p><ul><li>一</li><li>二</li></ul>a<br>b"
    assert page_text(html) == "小标题\n第一段加粗文字。\n一\n二\na\nb"
    assert page_text(None) == "" and page_text("  ") == ""


def test_the_schedule_skips_missed_steps_and_ends():
    steps = (3600.0, 6 * 3600.0, 86400.0)
    assert first_check(0.0, steps, now=10.0) == 3600.0
    assert first_check(0.0, steps, now=2 * 86400.0) is None  # already over
    assert next_check(0.0, steps, now=3600.0) == 6 * 3600.0
    assert next_check(0.0, steps, now=20 * 3600.0) == 86400.0  # 6 h was missed: not caught up
    assert next_check(0.0, steps, now=86400.0) is None


def test_pick_bounds_per_host_and_overall():
    rows = [Original(key=str(i), link=f"http://h{i % 2}.example/{i}", post="p", feed="f",
                     site="s", captured=0.0) for i in range(10)]  # fmt: skip
    chosen, left = pick(rows, max_checks=100, max_per_host=3)
    assert [r.key for r in chosen] == ["0", "1", "2", "3", "4", "5"] and left == 4
    chosen, left = pick(rows, max_checks=2, max_per_host=3)
    assert len(chosen) == 2 and left == 8
    assert host_key("http://127.0.0.5:8080/a") == "127.0.0.5:8080"
    assert host_key("https://News.Example/a") == "news.example:443"


def test_the_pacer_gives_a_host_one_check_at_a_time_spaced_from_the_last_end():
    """Times are taken on the event loop's clock, which the pacer itself uses:
    this checks its logic, not how fast the machine is."""

    async def main() -> dict[str, list[tuple[float, float]]]:
        pacer = HostPacer(rate=20.0, overall=2)
        spans: dict[str, list[tuple[float, float]]] = {}
        loop = asyncio.get_running_loop()

        async def one(host: str) -> None:
            await pacer.start(host)
            began = loop.time()
            await asyncio.sleep(0.01)  # the request
            spans.setdefault(host, []).append((began, loop.time()))
            pacer.done(host)

        await asyncio.gather(*(one(h) for h in ["a", "b", "a", "a", "b", "a", "c", "a"]))
        return spans

    spans = asyncio.run(main())
    assert sorted(len(v) for v in spans.values()) == [1, 2, 5]
    for host_spans in spans.values():
        for (_, ended), (began, _) in zip(host_spans, host_spans[1:], strict=False):
            assert began - ended >= 1 / 20.0  # after the last one ended, never overlapping


def test_the_fetcher_awaits_before_send_for_every_hop(server):
    from loopback import redirect

    from newsmirror.ingest.fetch import Fetcher

    server.route("/a", handler=redirect("/b"))
    server.route("/b", "ok")
    seen: list[str] = []

    async def before_send(host: str) -> None:
        seen.append(host)

    async def main() -> int | None:
        async with Fetcher(before_send=before_send) as fetcher:
            return (await fetcher.fetch(server.url("/a"))).status

    assert asyncio.run(main()) == 200
    assert seen == [f"127.0.0.1:{server.port}"] * 2


def test_before_send_spaces_the_requests_as_sent():
    async def main() -> list[float]:
        pacer = HostPacer(rate=10.0, overall=64)
        loop = asyncio.get_running_loop()
        sent: list[float] = []

        async def one() -> None:
            await pacer.before_send("h:80")
            sent.append(loop.time())

        await asyncio.gather(*(one() for _ in range(4)))
        return sent

    sent = asyncio.run(main())
    assert all(b - a >= 0.1 for a, b in zip(sent, sent[1:], strict=False))
