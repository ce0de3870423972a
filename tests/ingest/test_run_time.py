"""A run's time is bounded (issue 12, item 7): `--deadline` covers a feed's
article pages too, and a host that cannot be reached is tried once per run."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import posts_of, write_subs
from feeds import rss, rss_item
from loopback import LoopbackServer, hang, loopback_server

from newsmirror.cli import main
from newsmirror.ingest.pipeline import ITEMS_AT_ONCE, RunOptions, run

T0 = datetime(2024, 5, 1, tzinfo=UTC)
TEASER = "<p>Only the first lines of the story…</p>"
ARTICLE = "<html><body><article><p>" + "The whole story. " * 80 + "</p></article></body></html>"
# The figure: with a dead article host, a feed like this kept a run busy for 507 s.
ITEMS = 700
RSS = {"Content-Type": "application/rss+xml"}
MARGIN = 6.0  # seconds past the deadline a run may take: start-up, parsing, writing


def teasers(links: list[str]) -> bytes:
    return rss(
        [
            rss_item(title=f"Story {i}", link=link, published=T0 + timedelta(minutes=i),
                     description=TEASER)
            for i, link in enumerate(links)
        ]
    )  # fmt: skip


def run_cli(archive: Path, *extra: str) -> tuple[int, float, dict]:
    began = time.monotonic()
    code = main(["run", "--archive", str(archive), "-q", "--json", *extra])
    seconds = time.monotonic() - began
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    return code, seconds, report


@pytest.mark.slow
def test_700_items_on_a_host_that_does_not_resolve_finish_within_the_deadline(
    server: LoopbackServer, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Done-when of issue 12: a reserved name (RFC 6761: `.invalid` never
    resolves, and newsmirror does not ask DNS about it, so no network is
    involved). The host fails once and is not tried again: the run ends well
    within the deadline, and every item is written with the feed's own text."""
    links = [f"http://articles.invalid/story/{i}" for i in range(ITEMS)]
    server.route("/f.xml", teasers(links), headers=RSS)
    write_subs(archive, [("dead links", server.url("/f.xml"))])
    deadline = 8.0
    code, seconds, report = run_cli(archive, "--deadline", f"{deadline:g}")
    capsys.readouterr()
    assert code == 0
    assert len(posts_of(archive)) == ITEMS
    assert all("Only the first lines" in text for text in posts_of(archive).values())
    [feed] = report["feeds"]
    assert feed["status"] == "fetched" and feed["new_posts"] == ITEMS
    assert seconds < deadline + MARGIN, f"took {seconds:.1f}s with --deadline {deadline:g}"
    not_again = [w for w in feed["warnings"] if "not tried again" in w]
    assert len(not_again) >= ITEMS - ITEMS_AT_ONCE
    assert "DNS lookup failed for articles.invalid" in not_again[0]


@pytest.mark.slow
def test_a_host_that_refuses_connections_is_tried_once_per_run(
    server: LoopbackServer, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same feed with its pages on a loopback port where nothing listens
    (allowed by `allow_private_networks`): one failed connection, then every
    other item fails at once without another attempt."""
    with loopback_server() as gone:
        port = gone.port
    links = [f"http://127.0.0.1:{port}/story/{i}" for i in range(ITEMS)]
    server.route("/f.xml", teasers(links), headers=RSS)
    write_subs(archive, [("refused", server.url("/f.xml"))])
    (archive / "newsmirror.toml").write_text("[settings]\nallow_private_networks = true\n")
    deadline = 30.0
    code, seconds, report = run_cli(archive, "--deadline", f"{deadline:g}")
    capsys.readouterr()
    assert code == 0 and len(posts_of(archive)) == ITEMS
    [feed] = report["feeds"]
    not_again = [w for w in feed["warnings"] if "not tried again" in w]
    # The first few items (fetched at once) each try; every later one is told.
    assert len(not_again) >= ITEMS - ITEMS_AT_ONCE
    assert f"cannot connect to 127.0.0.1:{port}" in not_again[0]
    assert seconds < deadline + MARGIN


@pytest.mark.slow
def test_the_deadline_ends_article_pages_that_never_answer(
    server: LoopbackServer, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pages on the feed's own host that never answer (read timeout 30 s, so
    only the feed's deadline can stop them): the items are still written."""
    count = 100
    for i in range(count):
        server.route(f"/story/{i}", handler=hang())
    server.route("/f.xml", teasers([server.url(f"/story/{i}") for i in range(count)]), headers=RSS)
    write_subs(archive, [("hangs", server.url("/f.xml"))])
    deadline = 3.0
    code, seconds, report = run_cli(archive, "--deadline", f"{deadline:g}")
    capsys.readouterr()
    assert code == 0 and len(posts_of(archive)) == count
    [feed] = report["feeds"]
    assert (
        f"deadline of {deadline:g}s reached: {count} items kept the feed's own content"
        " (no article page or images)" in feed["warnings"]
    )
    assert len(server.requests) <= 1 + ITEMS_AT_ONCE  # the feed, then one round of pages
    assert seconds < deadline + MARGIN


@pytest.mark.slow
def test_waiting_for_an_earlier_feed_does_not_use_up_the_deadline(
    server: LoopbackServer, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Feed B waits for its turn until the slower feed A (first in the list)
    is parsed: 1.5 s of its 2.5 s deadline. Counted, that wait would leave
    B 1 s for pages that take 1.4 s; it is not counted, so B gets its pages."""
    server.route("/a.xml", rss([rss_item(title="a", link="https://a.example/1", published=T0)]),
                 delay=1.5)  # fmt: skip
    for i in range(3):
        server.route(f"/b/{i}", ARTICLE, headers={"Content-Type": "text/html"}, delay=1.4)
    server.route("/b.xml", teasers([server.url(f"/b/{i}") for i in range(3)]), headers=RSS)
    write_subs(archive, [("A", server.url("/a.xml")), ("B", server.url("/b.xml"))])
    code, _, report = run_cli(archive, "--deadline", "2.5")
    capsys.readouterr()
    assert code == 0
    b = next(f for f in report["feeds"] if f["site"] == "B")
    assert b["new_posts"] == 3 and not b["warnings"]
    assert sum("The whole story." in text for text in posts_of(archive).values()) == 3


def test_progress_counts_items_within_a_feed(server: LoopbackServer, archive: Path) -> None:
    """The run reports a feed's items as they are done, not only whole feeds."""
    for i in range(20):
        server.route(f"/p/{i}", ARTICLE, headers={"Content-Type": "text/html"}, delay=0.1)
    server.route("/f.xml", teasers([server.url(f"/p/{i}") for i in range(20)]), headers=RSS)
    write_subs(archive, [("items", server.url("/f.xml"))])
    calls: list[tuple[str, int, int]] = []
    run(archive, RunOptions(), on_items=lambda *call: calls.append(call))
    assert calls[0] == ("items", 0, 20) and calls[-1] == ("items", 20, 20)
    done = [d for _, d, _ in calls]
    assert done == sorted(done)
