"""`newsmirror status` and `enable` over a real state database."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feeds import rss, rss_item
from loopback import LoopbackServer

from newsmirror.archive.store import FeedState, Store, WrittenPost
from newsmirror.cli import main
from newsmirror.ops.status import enable_feed, feed_health

DAY = 86400.0
FEEDS = {
    "路透": "http://127.0.0.1:9/reuters.xml",
    "紐約時報": "http://127.0.0.1:9/nyt.xml",
    "死站": "http://127.0.0.1:9/dead.xml",
    "新來的": "http://127.0.0.1:9/new.xml",
}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    subs = [{"site": site, "url": url} for site, url in FEEDS.items()]
    (tmp_path / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
    now = time.time()
    with Store.open(tmp_path) as store:
        store.save_feed(
            FeedState(FEEDS["路透"], "路透", last_success=now - 600, next_check=now + 900)
        )
        store.save_feed(
            FeedState(
                FEEDS["紐約時報"], "紐約時報", last_success=now - 5 * DAY, failures=2,
                last_error="HTTP 503 Service Unavailable", next_check=now + 1800,
            )
        )  # fmt: skip
        store.save_feed(
            FeedState(FEEDS["死站"], "死站", failures=1, dead=True, last_error="HTTP 410 Gone")
        )
        # Fetched 1, 10 and 40 days ago; each post's own date is older still.
        for age_days, n in ((1, 3), (10, 2), (40, 4)):
            store.record_posts(FEEDS["路透"], [
                WrittenPost([f"k-{age_days}-{i}"], f"p{age_days}-{i}.md",
                            f"http://x/{age_days}/{i}", now - 400 * DAY, created=True)
                for i in range(n)
            ], now=now - age_days * DAY)  # fmt: skip
    return tmp_path


def test_broken_feeds_first_with_counts(archive: Path) -> None:
    rows = feed_health(archive)
    assert [(r.site, r.state) for r in rows] == [
        ("死站", "dead"),
        ("紐約時報", "failing"),
        ("新來的", "new"),
        ("路透", "ok"),
    ]
    reuters = rows[-1]
    assert (reuters.posts_7d, reuters.posts_30d) == (3, 5)
    assert rows[0].next_check is None and rows[0].last_error == "HTTP 410 Gone"
    assert rows[1].failures == 2 and rows[1].broken and not reuters.broken


def test_status_json_and_plain(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--archive", str(archive), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["site"] for d in data] == ["死站", "紐約時報", "新來的", "路透"]
    assert data[0]["broken"] is True and data[0]["url"] == FEEDS["死站"]
    assert data[3]["posts_30d"] == 5

    assert main(["status", "--archive", str(archive)]) == 0  # stdout is not a TTY here
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:4] == ["state", "site", "last success", "failures"]
    first = lines[1].split("\t")
    assert first[:2] == ["dead", "死站"] and first[-2:] == ["HTTP 410 Gone", FEEDS["死站"]]
    assert lines[2].split("\t")[3] == "2"


def test_status_without_state_database(tmp_path: Path) -> None:
    (tmp_path / "subs.json").write_text('[{"site": "a", "url": "http://127.0.0.1:9/a"}]')
    rows = feed_health(tmp_path)
    assert [(r.site, r.state, r.posts_30d) for r in rows] == [("a", "new", 0)]
    assert not (tmp_path / ".newsmirror").exists()  # status only reads


def test_enable_by_name_and_url(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert enable_feed(archive, "死站") == [FEEDS["死站"]]
    with Store.open(archive) as store:
        state = store.feed(FEEDS["死站"])
    assert state and not state.dead and state.failures == 0 and state.next_check is None
    assert main(["subs", "enable", "--archive", str(archive), FEEDS["紐約時報"]]) == 0
    assert capsys.readouterr().out.strip() == f"enabled {FEEDS['紐約時報']}"
    states = {r.site: r.state for r in feed_health(archive)}
    assert states == {"死站": "new", "新來的": "new", "紐約時報": "ok", "路透": "ok"}


def test_enable_unknown_feed_is_a_one_line_error(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["subs", "enable", "--archive", str(archive), "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no feed named or at 'nope'" in err


def test_a_real_run_counts_new_posts_by_fetch_time_and_flags_rejecting_feeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = datetime(2009, 5, 1, tzinfo=UTC)  # written long ago, fetched now
    body = "<p>" + "全文。" * 100 + "</p>"
    backlog = [rss_item(title=f"旧 {i}", link=f"https://o.example/{i}",
                        published=old + timedelta(days=i), content_encoded=body)
               for i in range(5)]  # fmt: skip
    rejected = [rss_item(title="无链接", link=None, published=old, content_encoded=body)]
    with LoopbackServer() as server:
        server.route("/old.xml", rss(backlog), headers={"Content-Type": "application/rss+xml"})
        server.route("/bad.xml", rss(rejected), headers={"Content-Type": "application/rss+xml"})
        subs = [{"site": "旧站", "url": server.url("/old.xml")},
                {"site": "全拒", "url": server.url("/bad.xml")}]  # fmt: skip
        (tmp_path / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
        assert main(["run", "--archive", str(tmp_path), "-q"]) == 0
    rows = {r.site: r for r in feed_health(tmp_path)}
    assert (rows["旧站"].state, rows["旧站"].posts_7d, rows["旧站"].posts_30d) == ("ok", 5, 5)
    bad = rows["全拒"]
    assert bad.state == "rejecting" and bad.broken
    assert bad.last_error == (
        "its only item was rejected: item '无链接': item has neither a link nor a guid"
    )
    assert [r.site for r in feed_health(tmp_path)][0] == "全拒"  # problems first
