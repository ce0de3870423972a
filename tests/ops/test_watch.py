"""The watch loop against real feeds on 127.0.0.1: recovery, death, 410, ttl,
a failed tick, a locked archive, and SIGTERM in the middle of a write."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from loopback import LoopbackServer, loopback_server, respond, sequence

from newsmirror.archive.fsutil import TEMP_PREFIX, ArchiveLock
from newsmirror.archive.store import Store
from newsmirror.cli import main
from newsmirror.ingest.pipeline import ITEMS_AT_ONCE, RunOptions, run
from newsmirror.ingest.report import RunReport
from newsmirror.ops.watch import watch
from newsmirror.util.durations import parse_duration

SRC = Path(__file__).resolve().parents[2] / "src"
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(srv: LoopbackServer, name: str, count: int, ttl: int | None = None) -> str:
    items = "".join(
        f"<item><title>{name} item {i}</title><link>{srv.url(f'/{name}/{i}.html')}</link>"
        f"<guid>{name}-{i}</guid><pubDate>Mon, 0{i + 1} Jan 2024 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Body of {name} {i}.&lt;/p&gt;</description></item>"
        for i in range(count)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>{srv.url('/')}</link>{ttl_tag}{items}</channel></rss>"
    )


def make_archive(path: Path, feeds: dict[str, str], settings: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subs = [{"site": site, "url": url} for site, url in feeds.items()]
    (path / "subs.json").write_text(json.dumps(subs, ensure_ascii=False), encoding="utf-8")
    (path / "newsmirror.toml").write_text(f"[settings]\n{settings}\n", encoding="utf-8")
    return path


FAST = """min_interval = 0.01
max_interval = 172800.0
dead_after = 3
retries = 0
deadline = 10.0
fulltext = "never"
"""


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with loopback_server() as server:
        yield server


def test_parse_duration() -> None:
    assert parse_duration("30m") == 1800.0
    assert parse_duration("1h") == 3600.0
    assert parse_duration("90s") == 90.0
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration("45") == 45.0
    from newsmirror.models import ConfigError

    for bad in ("", "0m", "soon", "-5m", "5 weeks"):
        with pytest.raises(ConfigError, match="--every"):
            parse_duration(bad)


def test_watch_loop_recovers_dies_gone_and_ttl(srv: LoopbackServer, tmp_path: Path) -> None:
    fail = respond("oops", status=500)
    srv.route(
        "/recover.xml",
        handler=sequence(fail, fail, respond(rss(srv, "recover", 2), headers=RSS_TYPE)),
    )
    srv.route("/die.xml", handler=fail)
    srv.route("/gone.xml", "gone", status=410)
    srv.route("/ttl.xml", rss(srv, "ttl", 1, ttl=1440), headers=RSS_TYPE)
    feeds = {name: srv.url(f"/{name}.xml") for name in ("recover", "die", "gone", "ttl")}
    archive = make_archive(tmp_path / "a", feeds, FAST)
    reports: list[RunReport | None] = []

    runs = watch(archive, 0.05, max_runs=6, once_hook=lambda n, r: reports.append(r))

    assert runs == 6 and all(r is not None for r in reports)
    first = {f.site: f.status for f in reports[0].feeds}
    assert first == {"recover": "failed", "die": "failed", "gone": "failed", "ttl": "fetched"}
    assert [len(srv.requests_for(f"/{n}.xml")) for n in ("die", "gone", "ttl")] == [3, 1, 1]
    assert len(srv.requests_for("/recover.xml")) >= 3
    with Store.open(archive) as store:
        recover = store.feed(feeds["recover"])
        die = store.feed(feeds["die"])
        gone = store.feed(feeds["gone"])
        ttl = store.feed(feeds["ttl"])
    assert recover and die and gone and ttl
    assert recover.failures == 0 and not recover.dead and recover.last_success
    assert die.dead and die.failures == 3 and die.last_error.startswith("HTTP 500")
    assert gone.dead and gone.failures == 1 and gone.last_error.startswith("HTTP 410")
    assert ttl.ttl_minutes == 1440 and ttl.last_attempt and ttl.next_check
    assert 0.9 * 86400 <= ttl.next_check - ttl.last_attempt <= 1.1 * 86400
    posts = sorted(p.name for p in (archive / "_posts").iterdir())
    assert len(posts) == 3  # recover's two items once recovered, ttl's one
    last_report = json.loads((archive / ".newsmirror/reports/last-run.json").read_text())
    assert last_report["summary"]["feeds"] == 4

    # Reviving a dead feed makes the next tick try it again.
    assert main(["subs", "enable", "--archive", str(archive), "die"]) == 0
    srv.route("/die.xml", rss(srv, "die", 1), headers=RSS_TYPE)
    watch(archive, 0.01, max_runs=1)
    with Store.open(archive) as store:
        revived = store.feed(feeds["die"])
    assert revived and not revived.dead and revived.failures == 0
    assert len(srv.requests_for("/die.xml")) == 4


def test_watch_survives_a_failed_tick_and_a_locked_archive(
    srv: LoopbackServer, tmp_path: Path
) -> None:
    srv.route("/ok.xml", rss(srv, "ok", 1), headers=RSS_TYPE)
    archive = make_archive(tmp_path / "a", {"ok": srv.url("/ok.xml")}, FAST)
    good_subs = (archive / "subs.json").read_text()
    lock = ArchiveLock(archive)
    reports: list[RunReport | None] = []

    def hook(n: int, report: RunReport | None) -> None:
        reports.append(report)
        if n == 1:
            (archive / "subs.json").write_text("{not json", encoding="utf-8")
        elif n == 2:
            (archive / "subs.json").write_text(good_subs, encoding="utf-8")
            lock.acquire()  # as if another run held the archive during tick 3
        elif n == 3:
            lock.release()

    assert watch(archive, 0.01, max_runs=4, once_hook=hook) == 4
    assert [r is not None for r in reports] == [True, False, False, True]
    assert len(srv.requests_for("/ok.xml")) == 2


def test_json_log_lines(srv: LoopbackServer, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    srv.route("/bad.xml", "nope", status=500)
    archive = make_archive(tmp_path / "a", {"bad": srv.url("/bad.xml")}, FAST)
    rc = main(["watch", "--archive", str(archive), "--every", "1s", "--max-runs", "1",
               "--log-format", "json"])  # fmt: skip
    assert rc == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert any(x["level"] == "warning" and "HTTP 500" in x["message"] for x in lines)
    assert any(x.get("feed") == srv.url("/bad.xml") for x in lines)
    assert all({"time", "level", "message"} <= x.keys() for x in lines)


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    assert "</div>" in body  # the post is complete, not cut off
    return yaml.safe_load(head)


@pytest.mark.slow
def test_sigterm_during_a_write_loses_nothing(srv: LoopbackServer, tmp_path: Path) -> None:
    # A feed's items get their pages a few at once (ITEMS_AT_ONCE): several
    # rounds of slow pages, so that the stop comes with items still to do.
    count = 4 * ITEMS_AT_ONCE
    srv.route("/slow.xml", rss(srv, "slow", count), headers=RSS_TYPE)
    for i in range(count):  # each full-text page takes a while: the run is mid-item
        page = f"<html><body><article><p>{'Full text. ' * 60}{i}</p></article></body></html>"
        srv.route(f"/slow/{i}.html", page, headers={"Content-Type": "text/html"}, delay=0.6)
    settings = FAST.replace('fulltext = "never"', 'fulltext = "always"')
    archive = make_archive(tmp_path / "a", {"slow": srv.url("/slow.xml")}, settings)
    posts = archive / "_posts"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmirror", "watch", "--archive", str(archive),
         "--every", "1h"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (posts.is_dir() and any(posts.glob("*.md"))):
            time.sleep(0.05)
        assert any(posts.glob("*.md")), "no post written within 20 s"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b"SIGTERM received" in err and b"run cancelled by a stop request" in err
    written = sorted(posts.iterdir())
    assert not [p for p in written if p.name.startswith(TEMP_PREFIX)]
    assert 1 <= len(written) < count  # stopped mid-run
    for path in written:
        assert _front_matter(path)["from"].startswith(srv.url("/slow/"))
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    run(archive, RunOptions())  # the next run completes what SIGTERM cut short
    links = [_front_matter(p)["from"] for p in sorted(posts.iterdir())]
    assert len(links) == count and len(set(links)) == count


def test_watch_with_build_logs_where_to_open_the_site(
    srv: LoopbackServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    srv.route("/f.xml", rss(srv, "f", 1), headers=RSS_TYPE)
    archive = make_archive(tmp_path / "a", {"f": srv.url("/f.xml")}, FAST + "build = true\n")
    with caplog.at_level("INFO", logger="newsmirror"):
        assert watch(archive, 0.05, max_runs=1) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("site: 1 post, ") for m in messages)
    assert f"open {(archive / '_site' / 'index.html').resolve().as_uri()} in a browser" in messages
