"""End to end: feeds on a loopback server, `newsmirror run`, posts and state."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import posts_of, write_subs
from feeds import rss, rss_item

from newsmirror.cli import main

T0 = datetime(2023, 1, 30, 8, 0, tzinfo=UTC)
CLI = [sys.executable, "-c", "import sys; from newsmirror.cli import main; sys.exit(main())"]


def items(n: int, prefix: str = "https://news.example/a/", day_offset: int = 0) -> list[str]:
    return [
        rss_item(
            title=f"第{i}条新闻：测试",
            link=f"{prefix}{i}",
            published=T0 + timedelta(days=day_offset, minutes=i),
            content_encoded=f"<p>正文 {i}</p>",
        )
        for i in range(n)
    ]


def children_of(pid: int) -> set[int]:
    """Live child processes of `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited orphan waits there for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run(archive: Path, *extra: str) -> int:
    return main(["run", "--archive", str(archive), "--content", "raw", "-q", *extra])


def last_report(archive: Path) -> dict:
    return json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())


def test_second_run_is_conditional_and_writes_nothing(server, archive):
    server.route("/f.xml", rss(items(3)), etag='"v1"', headers={"Content-Type": "text/xml"})
    write_subs(archive, [("站点", server.url("/f.xml"))])
    assert run(archive) == 0
    first = posts_of(archive)
    assert len(first) == 3
    assert run(archive) == 0
    assert posts_of(archive) == first
    second = server.requests_for("/f.xml")[-1]
    assert second.headers.get("If-None-Match") == '"v1"'
    report = last_report(archive)
    assert report["summary"]["not_modified"] == 1 and report["summary"]["new_posts"] == 0


def test_one_failing_feed_leaves_the_others_untouched(server, archive):
    server.route("/good.xml", rss(items(2)))
    server.route("/gone.xml", b"gone", status=410)
    server.route(
        "/html.xml", b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"}
    )
    write_subs(
        archive,
        [
            ("好", server.url("/good.xml")),
            ("坏", server.url("/gone.xml")),
            ("网页", server.url("/html.xml")),
        ],
    )
    assert run(archive) == 0
    assert len(posts_of(archive)) == 2
    reasons = {f["site"]: f["reason"] for f in last_report(archive)["feeds"]}
    assert "410" in reasons["坏"]
    assert "not a feed" in reasons["网页"] or "HTML" in reasons["网页"]
    assert run(archive, "--strict") == 1


def test_one_bad_item_is_reported_and_skipped(server, archive):
    good = items(2)
    bad = rss_item(title="no link at all", link=None, published=T0)
    server.route("/f.xml", rss([good[0], bad, good[1]]))
    write_subs(archive, [("s", server.url("/f.xml"))])
    assert run(archive) == 0
    assert len(posts_of(archive)) == 2
    [feed] = last_report(archive)["feeds"]
    assert feed["status"] == "fetched"
    assert any(
        "no link at all" in e and "neither a link nor a guid" in e for e in feed["item_errors"]
    )


def test_existing_allurls_ledger_is_honoured(server, archive):
    server.route("/f.xml", rss(items(3)))
    write_subs(archive, [("s", server.url("/f.xml"))])
    # The old generator's ledger: one link per line. Item 1 is a prefix of a
    # seen URL, which the old substring test wrongly skipped.
    (archive / "allurls.dat").write_text("https://news.example/a/0\nhttps://news.example/a/10\n")
    assert run(archive) == 0
    links = sorted(
        yaml.safe_load(t.split("\n---\n")[0][4:])["from"] for t in posts_of(archive).values()
    )
    assert links == ["https://news.example/a/1", "https://news.example/a/2"]
    ledger = (archive / "allurls.dat").read_text().split()
    assert ledger == [
        "https://news.example/a/0",
        "https://news.example/a/10",
        "https://news.example/a/1",
        "https://news.example/a/2",
    ]


def test_existing_posts_are_honoured_even_after_being_moved(server, archive):
    server.route("/f.xml", rss(items(2)))
    write_subs(archive, [("s", server.url("/f.xml"))])
    old = archive / "archived" / "2023-01-30" / "2023-01-30-old.md"
    old.parent.mkdir(parents=True)
    old.write_text(
        '---\nlayout: post\ntitle: "old"\ndate: 2023-01-30T08:00:00.000Z\n'
        "author: s\nfrom: https://news.example/a/0\ntags: [ s ]\n---\nbody\n"
    )
    assert run(archive) == 0
    assert len(posts_of(archive)) == 1  # only item 1
    old.unlink()  # moved away: still known
    server.route("/f.xml", rss(items(2)), etag='"changed"')
    assert run(archive) == 0
    assert len(posts_of(archive)) == 1


def test_bad_subscription_list_is_one_line_with_exit_2(archive, capsys):
    (archive / "subs.json").write_text('[{"site": "x", "url": "ftp://nope"}]')
    assert run(archive) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "subs.json" in err and "entry 1" in err
    (archive / "subs.json").write_text("[{,}")
    assert run(archive) == 2
    err = capsys.readouterr().err.strip()
    assert "subs.json: not valid JSON" in err and "Traceback" not in err


def test_bad_config_is_one_line_with_exit_2(archive, capsys, server):
    write_subs(archive, [("s", server.url("/f.xml"))])
    (archive / "newsmirror.toml").write_text('[settings]\nconcurrency = "many"\n')
    assert run(archive) == 2
    err = capsys.readouterr().err.strip()
    assert "newsmirror.toml" in err and "concurrency" in err and "\n" not in err


def test_permanent_redirect_is_followed_and_stored(server, archive):
    server.route("/old.xml", b"", status=301, headers={"Location": server.url("/new.xml")})
    server.route("/new.xml", rss(items(1)))
    write_subs(archive, [("s", server.url("/old.xml"))])
    assert run(archive) == 0
    [feed] = last_report(archive)["feeds"]
    assert feed["moved_to"] == server.url("/new.xml")
    assert run(archive) == 0
    assert server.requests_for("/old.xml").__len__() == 1  # the stored URL is used now


def test_a_second_run_while_one_runs_refuses(server, archive):
    server.route("/slow.xml", rss(items(1)), delay=3)
    write_subs(archive, [("s", server.url("/slow.xml"))])
    first = subprocess.Popen(
        [*CLI, "run", "--archive", str(archive), "-q"], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.time() + 10
        while not server.requests_for("/slow.xml") and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run(
            [*CLI, "run", "--archive", str(archive), "-q"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 3
        assert "another newsmirror run holds this archive" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        assert first.wait(timeout=30) == 0
    assert len(posts_of(archive)) == 1


@pytest.mark.parametrize("workers", ["0", "1"])
def test_kill_mid_run_then_rerun_gives_every_item_once(server, archive, workers):
    feeds = []
    for n in range(12):
        server.route(f"/f{n}.xml", rss(items(15, prefix=f"https://n{n}.example/a/")), delay=0.05)
        feeds.append((f"site{n}", server.url(f"/f{n}.xml")))
    write_subs(archive, feeds)
    orphans: set[int] = set()
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(
            [
                *CLI,
                "run",
                "--archive",
                str(archive),
                "-q",
                "--content",
                "raw",
                "--concurrency",
                "2",
                "--workers",
                workers,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        orphans.update(children_of(proc.pid))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # Workers notice their parent is gone within a second of starting up.
    deadline = time.time() + 15
    while any(running(pid) for pid in orphans) and time.time() < deadline:
        time.sleep(0.2)
    assert [pid for pid in orphans if running(pid)] == []
    assert run(archive) == 0
    texts = posts_of(archive)
    links = [yaml.safe_load(t.split("\n---\n")[0][4:])["from"] for t in texts.values()]
    assert len(links) == 12 * 15 == len(set(links))
    leftovers = [p for p in archive.rglob("*") if p.name.startswith(".nm-tmp-")]
    assert leftovers == []
    for text in texts.values():
        assert text.endswith("</div>\n")
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_subs_opml_import_and_export(archive, tmp_path, capsys):
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="新闻"><outline text="中央社" xmlUrl="https://a.example/f"/>'
        '<outline title="RFI" xmlUrl="https://b.example/f"/></outline></body></opml>'
    )
    assert main(["subs", "import", str(opml), "--archive", str(archive)]) == 0
    data = json.loads((archive / "subs.json").read_text())
    assert data == [  # the folder is kept as the feeds' category
        {"site": "中央社", "url": "https://a.example/f", "category": "新闻"},
        {"site": "RFI", "url": "https://b.example/f", "category": "新闻"},
    ]
    capsys.readouterr()
    assert main(["subs", "export", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert 'xmlUrl="https://a.example/f"' in out and 'text="中央社"' in out
    assert '<outline text="新闻" title="新闻">' in out


def test_toml_feed_options_apply(server, archive):
    page = "<p>" + "摘要" * 5 + "……</p>"
    server.route(
        "/f.xml",
        rss(
            [
                rss_item(
                    title="t",
                    link="https://n.example/1",
                    published=T0,
                    description=page + "<script>x()</script>",
                )
            ]
        ),
    )
    (archive / "newsmirror.toml").write_text(
        f'[[feeds]]\nsite = "s"\nurl = "{server.url("/f.xml")}"\ncontent = "raw"\n'
    )
    assert main(["run", "--archive", str(archive), "-q"]) == 0
    [text] = posts_of(archive).values()
    assert "<script>x()</script>" in text  # raw: kept as the feed gave it


def test_clean_mode_sanitises(server, archive):
    server.route(
        "/f.xml",
        rss(
            [
                rss_item(
                    title="t",
                    link="https://n.example/1",
                    published=T0,
                    content_encoded="<p>" + "正文很长。" * 200 + "</p><script>alert(1)</script>"
                    '<p onclick="x()">点击</p>',
                )
            ]
        ),
    )
    write_subs(archive, [("s", server.url("/f.xml"))])
    assert main(["run", "--archive", str(archive), "-q"]) == 0
    [text] = posts_of(archive).values()
    assert "<script" not in text and "onclick" not in text and "点击" in text


def test_environment_proxy_is_used(archive, monkeypatch):
    from loopback import forward_proxy

    write_subs(archive, [("s", "http://feeds.invalid/f.xml")])
    with forward_proxy() as proxy:
        proxy.route("http://feeds.invalid/f.xml", rss(items(1)))
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        assert run(archive) == 0
        assert len(posts_of(archive)) == 1
        assert any(r.target == "http://feeds.invalid/f.xml" for r in proxy.requests)


def test_gone_feed_is_dead_until_enabled(server, archive, capsys):
    server.route("/gone.xml", b"", status=410)
    write_subs(archive, [("消失", server.url("/gone.xml"))])
    assert run(archive) == 0
    assert run(archive) == 0
    assert len(server.requests_for("/gone.xml")) == 1  # dead: not asked again
    [feed] = last_report(archive)["feeds"]
    assert feed["status"] == "skipped" and "dead" in feed["reason"]
    assert main(["subs", "enable", "消失", "--archive", str(archive)]) == 0
    assert "enabled" in capsys.readouterr().out
    assert run(archive) == 0
    assert len(server.requests_for("/gone.xml")) == 2


def test_retry_after_sets_the_next_check(server, archive):
    from newsmirror.archive.store import Store

    server.route("/busy.xml", b"busy", status=503, headers={"Retry-After": "7200"})
    write_subs(archive, [("忙", server.url("/busy.xml"))])
    before = time.time()
    assert run(archive) == 0
    assert len(server.requests_for("/busy.xml")) == 1  # too long to wait within the run
    with Store.open(archive) as store:
        state = store.feed(server.url("/busy.xml"))
    assert state.next_check >= before + 7200


def test_user_agent_is_configurable(server, archive):
    server.route("/f.xml", rss(items(1)))
    write_subs(archive, [("s", server.url("/f.xml"))])
    assert run(archive, "--user-agent", "my-mirror/2.0 (+mailto:ops@example.org)") == 0
    assert server.requests_for("/f.xml")[0].headers["User-Agent"] == (
        "my-mirror/2.0 (+mailto:ops@example.org)"
    )
    (archive / "newsmirror.toml").write_text('[settings]\nuser_agent = "from-config/1"\n')
    server.route("/f.xml", rss(items(2)))
    assert run(archive) == 0
    assert server.requests_for("/f.xml")[-1].headers["User-Agent"] == "from-config/1"


@pytest.mark.parametrize("content", ["raw", "clean"])
def test_worker_process_gives_the_same_archive(server, tmp_path, content):
    from newsmirror.ingest.pipeline import RunOptions
    from newsmirror.ingest.pipeline import run as run_pipeline

    bad = rss_item(title="no link at all", link=None, published=T0)
    for n in range(3):
        own = [
            rss_item(title=f"站{n}第{i}条", link=f"https://w{n}.example/{i}",
                     published=T0 + timedelta(hours=i), content_encoded=f"<p>正文 {i}</p>")
            for i in range(4)
        ]  # fmt: skip
        server.route(f"/w{n}.xml", rss([*own, bad]))
    archives = {}
    for workers in (0, 1):
        folder = tmp_path / f"workers{workers}"
        folder.mkdir()
        write_subs(folder, [(f"站{n}", server.url(f"/w{n}.xml")) for n in range(3)])
        report = run_pipeline(
            folder,
            RunOptions(
                content=content,
                fulltext="never",
                workers=workers,
                now=datetime(2026, 11, 25, tzinfo=UTC),
            ),
        )
        assert sum(len(f.item_errors) for f in report.feeds) == 3
        archives[workers] = posts_of(folder)
    assert len(archives[1]) == 12
    assert archives[1] == archives[0]
