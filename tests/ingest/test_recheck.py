"""Re-checking originals against a real server on 127.0.0.1 that deletes,
redirects, replaces with a notice, edits and restores pages between runs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feeds import rss, rss_item
from loopback import redirect
from originals import HOUR, HTML, PARAGRAPHS, T0, Site, loopback_toml, notice_page

import newsmirror
from newsmirror.archive.history import history_path, load_history, parse_iso
from newsmirror.archive.postmarks import deleted_mark, post_mark
from newsmirror.cli import main


def recheck(archive: Path, now: float | None = None, **options) -> newsmirror.RecheckReport:
    opts = newsmirror.RecheckOptions(now=now, **options)
    return newsmirror.recheck(archive, opts)


def cli_recheck(archive: Path, *extra: str) -> dict:
    assert main(["recheck", "--archive", str(archive), "-q", *extra]) == 0
    return json.loads((archive / ".newsmirror" / "reports" / "last-recheck.json").read_text())


@pytest.fixture
def site(server, archive) -> Site:
    s = Site(server, archive)
    s.ingest()
    return s


# --- deletions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "gone",
    [
        pytest.param(lambda s: s.server.route(s.path(1), "no such page", status=404), id="404"),
        pytest.param(lambda s: s.server.route(s.path(1), "gone", status=410), id="410"),
        pytest.param(lambda s: s.server.route(s.path(1), notice_page("该内容已被发布者删除"), headers=HTML), id="notice-zh-hans"),
        pytest.param(lambda s: s.server.route(s.path(1), notice_page("此內容因違規無法查看"), headers=HTML), id="notice-zh-hant"),
        pytest.param(lambda s: s.server.route(s.path(1), notice_page("Sorry, this article has been removed."), headers=HTML), id="notice-en"),
        pytest.param(lambda s: s.server.route(s.path(1), handler=redirect("/")), id="redirect-home"),
        pytest.param(lambda s: s.server.route(s.path(1), handler=redirect("/news/", 301)), id="redirect-listing"),
    ],
)  # fmt: skip
def test_two_checks_mark_the_deleted_post_and_no_other(site, gone):
    gone(site)
    first = cli_recheck(site.archive, "--confirm-after", "0")
    assert first["summary"]["checked"] == 3 and first["summary"]["suspected"] == 1
    assert site.marks() == {0: None, 1: None, 2: None}  # one check is not enough
    second = cli_recheck(site.archive, "--confirm-after", "0")
    assert second["summary"]["checked"] == 1 and second["summary"]["deleted"] == 1
    marks = site.marks()
    assert marks[0] is None and marks[2] is None and marks[1] is not None
    history = load_history(site.archive, site.key(1))
    assert [e.kind for e in history.events] == ["suspected", "deleted"]
    # The mark is the time the original was first found gone.
    assert parse_iso(marks[1]) == parse_iso(history.events[0].time)
    [event] = second["events"]
    assert (event["kind"], event["post"]) == ("deleted", site.post(1).name)


def test_a_deletion_after_a_live_check_is_found_too(site):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), notice_page("该文章已被删除"), headers=HTML)
    assert recheck(site.archive, confirm_after=0, everything=True).total("suspected") == 1
    assert recheck(site.archive, confirm_after=0).total("deleted") == 1
    assert [m is not None for m in site.marks().values()] == [False, True, False]


def test_the_deleted_mark_is_the_only_change_to_the_post(site):
    recheck(site.archive, confirm_after=0)
    before = site.post(1).read_bytes()
    site.server.route(site.path(1), "", status=404)
    recheck(site.archive, confirm_after=0, everything=True)
    recheck(site.archive, confirm_after=0)
    after = site.post(1).read_bytes()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(added) == 1 and added[0].startswith(b"deleted: ")
    assert after.replace(added[0] + b"\n", b"") == before
    front = after.split(b"\n---\n", 1)[0]
    assert front.endswith(added[0])  # after the fixed keys, last in the front matter


def test_a_deletion_needs_two_checks_confirm_after_apart(site):
    now = datetime.now(UTC).timestamp()
    recheck(site.archive, now=now)
    site.server.route(site.path(1), "", status=404)
    recheck(site.archive, now=now + 60, everything=True)
    report = recheck(site.archive, now=now + 60 + 30 * 60, everything=True)  # 30 min later
    assert report.total("deleted") == 0 and site.marks()[1] is None
    report = recheck(site.archive, now=now + 60 + 61 * 60)  # due by itself: 61 min later
    assert report.total("deleted") == 1 and site.marks()[1] is not None


def test_a_server_hiccup_is_not_a_deletion(site):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), "", status=404)
    assert recheck(site.archive, confirm_after=0, everything=True).total("suspected") == 1
    site.serve(1, PARAGRAPHS, etag='"v1-1"')
    report = recheck(site.archive, confirm_after=0)
    assert report.total("cleared") == 1 and report.total("deleted") == 0
    assert site.marks()[1] is None
    assert [e.kind for e in load_history(site.archive, site.key(1)).events] == ["suspected", "cleared"]


def test_failures_are_no_signal(site):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), "busy", status=503)
    site.server.route(site.path(2), "forbidden", status=403)
    report = recheck(site.archive, confirm_after=0, everything=True)
    assert report.total("failed") == 2 and report.total("suspected") == 0
    assert load_history(site.archive, site.key(1)) is None


def test_a_deleted_original_that_comes_back_loses_its_mark(site):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), notice_page("此内容因违规无法查看"), headers=HTML)
    recheck(site.archive, confirm_after=0, everything=True)
    recheck(site.archive, confirm_after=0)
    assert site.marks()[1] is not None
    site.serve(1, PARAGRAPHS, etag='"v1-1"')
    report = recheck(site.archive, confirm_after=0, everything=True)
    assert report.total("back") == 1
    assert site.marks()[1] is None
    kinds = [e.kind for e in load_history(site.archive, site.key(1)).events]
    assert kinds == ["suspected", "deleted", "back"]


# --- edits -------------------------------------------------------------------------


def test_an_edited_original_gets_a_second_version(site):
    recheck(site.archive)
    edited = PARAGRAPHS[:2] + ["编者按：本文部分内容已根据有关方面要求修改。"] + PARAGRAPHS[3:]
    site.serve(1, edited, etag='"v2-1"')
    report = recheck(site.archive, everything=True)
    assert report.total("edited") == 1
    [event] = [e for e in report.events if e.kind == "edited"]
    assert event.post == site.post(1).name
    history = load_history(site.archive, site.key(1))
    assert len(history.versions) == 2
    assert "编者按" in history.versions[1].text and "编者按" not in history.versions[0].text
    assert "分析人士认为" in history.versions[1].text and "居民代表说" not in history.versions[1].text
    assert post_mark(site.post(1).read_text(encoding="utf-8"), "edited") == history.versions[1].time
    assert post_mark(site.post(0).read_text(encoding="utf-8"), "edited") is None
    # A second edit: a third version, the mark moves on.
    site.serve(1, edited[:3], etag='"v3-1"')
    assert recheck(site.archive, everything=True, now=time.time() + 5).total("edited") == 1
    history = load_history(site.archive, site.key(1))
    assert len(history.versions) == 3
    assert post_mark(site.post(1).read_text(encoding="utf-8"), "edited") == history.versions[2].time


def test_edits_are_still_found_after_the_state_database_is_lost(site):
    toml = site.archive / "newsmirror.toml"
    toml.write_text(toml.read_text().replace('1d"', '30d"'), encoding="utf-8")
    recheck(site.archive)
    site.serve(1, PARAGRAPHS[:3], etag='"v2-1"')
    recheck(site.archive, everything=True)
    (site.archive / ".newsmirror" / "state.db").unlink()
    for extra in ("state.db-wal", "state.db-shm"):
        (site.archive / ".newsmirror" / extra).unlink(missing_ok=True)
    site.ingest()  # the posts are found again; the originals are watched again
    site.serve(1, PARAGRAPHS[:2], etag='"v3-1"')
    report = recheck(site.archive, everything=True)
    assert report.total("edited") == 1  # against the last version in the history file
    assert len(load_history(site.archive, site.key(1)).versions) == 3


def test_whitespace_and_counters_are_not_edits(site):
    recheck(site.archive)
    spaced = [p.replace("，", " ， ") for p in PARAGRAPHS]
    site.serve(1, spaced, etag='"v2-1"', extra=("阅读 12,345", "3 小时前", "2026-11-29 08:00"))
    report = recheck(site.archive, everything=True)
    assert report.total("edited") == 0 and report.total("checked") == 3
    assert load_history(site.archive, site.key(1)) is None  # nothing happened to it
    assert post_mark(site.post(1).read_text(encoding="utf-8"), "edited") is None


def test_unchanged_originals_cost_a_304(site):
    recheck(site.archive)
    site.server.clear()
    report = recheck(site.archive, everything=True)
    assert report.total("not_modified") == 3
    requests = [r for r in site.server.requests if r.path.startswith("/news/2026/")]
    assert len(requests) == 3
    assert all(r.headers.get("If-None-Match", "").startswith('"v1-') for r in requests)


# --- schedule and bounds -------------------------------------------------------------


def test_the_schedule_decays_and_ends(server, archive):
    site = Site(server, archive, n=1, extra_toml="")
    (archive / "newsmirror.toml").write_text(
        loopback_toml().replace('"0s 1h 1d"', '"1h 6h 1d"'), encoding="utf-8"
    )
    site.ingest()
    now = datetime.now(UTC).timestamp()
    assert recheck(archive, now=now).total("checked") == 0  # not due before 1 h
    assert recheck(archive, now=now + 1.1 * HOUR).total("checked") == 1
    assert recheck(archive, now=now + 2 * HOUR).total("checked") == 0
    assert recheck(archive, now=now + 7 * HOUR).total("checked") == 1
    assert recheck(archive, now=now + 30 * HOUR).total("checked") == 1  # 1 d
    assert recheck(archive, now=now + 300 * HOUR).total("checked") == 0  # over


def test_a_run_is_bounded_per_host_and_overall(server, archive):
    site = Site(server, archive, n=5, extra_toml="max_per_host = 2")
    site.ingest()
    report = recheck(archive)
    assert report.total("checked") == 2 and report.left == 3
    report = recheck(archive, max_checks=1)
    assert report.total("checked") == 1 and report.left == 2


# --- dropped from the feed -------------------------------------------------------------


def test_a_post_gone_from_a_feed_that_lists_older_items_is_dropped(site):
    site.serve_feed([0, 2])  # item 1 gone; item 0, older, still listed
    assert main(["run", "--archive", str(site.archive), "--content", "raw", "-q"]) == 0
    run = json.loads((site.archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    assert run["feeds"][0]["dropped"] == 1
    history = load_history(site.archive, site.key(1))
    assert [e.kind for e in history.events] == ["dropped"]
    assert site.marks()[1] is None  # a weak signal: no mark


def test_a_feed_whose_links_all_changed_drops_nothing(site):
    """The same items under new links (a site that moved): no listed item is
    archived, so the listing says nothing about the archived posts."""
    moved = [
        rss_item(title=f"第{i}条新闻", link=site.server.url(f"/moved/{i}.html"),
                 published=T0 + timedelta(minutes=i), content_encoded=f"<p>{PARAGRAPHS[0]}（{i}）</p>")
        for i in range(3)
    ]  # fmt: skip
    site.server.route("/feed.xml", rss(moved), headers={"Content-Type": "application/rss+xml"})
    assert main(["run", "--archive", str(site.archive), "--content", "raw", "-q"]) == 0
    run = json.loads((site.archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    assert run["summary"]["new_posts"] == 3 and run["feeds"][0]["dropped"] == 0
    assert all(load_history(site.archive, site.key(i)) is None for i in range(3))


def test_the_newest_items_leaving_a_feed_are_not_dropped(site):
    site.serve_feed([1, 2])  # item 0, the oldest, fell off the end
    assert main(["run", "--archive", str(site.archive), "--content", "raw", "-q"]) == 0
    assert load_history(site.archive, site.key(0)) is None


# --- retention, status -----------------------------------------------------------------


def test_a_post_moved_to_archived_is_still_marked(site):
    moved = newsmirror.apply_retention(site.archive, 1, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert len(moved) == 3
    site.server.route(site.path(1), "", status=410)
    recheck(site.archive, confirm_after=0)
    recheck(site.archive, confirm_after=0)
    [archived] = [p for p in moved if "第1条" in p.name]
    assert deleted_mark(archived.read_text(encoding="utf-8")) is not None
    assert not (site.archive / "_posts").exists() or not list((site.archive / "_posts").iterdir())


def test_status_counts_and_lists_deletions_edits_and_returns(site, capsys):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), "", status=404)
    site.serve(2, PARAGRAPHS[:3] + ["更正：此前报道中的人数有误。"], etag='"v2-2"')
    recheck(site.archive, confirm_after=0, everything=True)
    recheck(site.archive, confirm_after=0)
    capsys.readouterr()
    assert main(["status", "--archive", str(site.archive), "--json"]) == 0
    [feed] = json.loads(capsys.readouterr().out)
    assert (feed["deleted"], feed["edited"], feed["back"]) == (1, 1, 0)
    assert [d["post"] for d in feed["originals"]["deleted"]] == [site.post(1).name]
    assert [d["post"] for d in feed["originals"]["edited"]] == [site.post(2).name]


def test_a_broken_history_file_costs_one_post_a_one_line_error(site):
    recheck(site.archive, confirm_after=0)
    site.server.route(site.path(1), "", status=404)
    site.server.route(site.path(2), "", status=404)
    recheck(site.archive, confirm_after=0, everything=True)
    broken = history_path(site.archive, site.key(1))
    broken.write_text("{broken", encoding="utf-8")
    report = recheck(site.archive, confirm_after=0)
    assert report.total("deleted") == 1  # post 2
    [error] = report.errors
    assert str(broken) in error and "\n" not in error
    assert site.marks()[2] is not None and site.marks()[1] is None


def test_originals_are_fetched_under_the_fetch_policy(server, archive):
    """An original on another private host than its feed is refused (a failed
    check, never a deletion) unless allow_private_networks is set."""
    from conftest import write_subs
    from feeds import rss, rss_item
    from loopback import LoopbackServer
    from originals import PARAGRAPHS, T0, article_page

    with LoopbackServer() as other:
        other.route("/a.html", article_page("别处的文章", PARAGRAPHS), headers=HTML)
        item = rss_item(title="别处的文章", link=other.url("/a.html"), published=T0,
                        content_encoded="<p>摘要</p>")  # fmt: skip
        server.route("/feed.xml", rss([item]), headers={"Content-Type": "application/rss+xml"})
        write_subs(archive, [("新闻网", server.url("/feed.xml"))])
        toml = loopback_toml().replace("allow_private_networks = true\n", "")
        (archive / "newsmirror.toml").write_text(toml, encoding="utf-8")
        assert main(["run", "--archive", str(archive), "--content", "raw", "-q"]) == 0
        refused = recheck(archive, confirm_after=0)
        assert refused.total("failed") == 1 and refused.total("suspected") == 0
        assert other.requests_for("/a.html") == []
        (archive / "newsmirror.toml").write_text(loopback_toml(), encoding="utf-8")
        allowed = recheck(archive, confirm_after=0, everything=True)
        assert allowed.total("checked") == 1 and allowed.total("failed") == 0
        assert len(other.requests_for("/a.html")) == 1


@pytest.mark.parametrize(("option", "value"), [("--confirm-after", "-1"), ("--max-checks", "0"),
                                               ("--max-checks", "-3")])  # fmt: skip
def test_a_bad_bound_is_a_config_error_naming_the_option(archive, capsys, option, value):
    assert main(["recheck", "--archive", str(archive), option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0]
