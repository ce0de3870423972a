"""Crashes: kill -9 at random points, two runs at once, a full disk.

Every run is a real `newsmirror run` subprocess against a real loopback
server and a real archive; afterwards the archive must be whole.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from conftest import write_subs
from feeds import rss, rss_item
from loopback import LoopbackServer

from newsmirror.archive.dedupe import primary_key

RUN = "import sys; from newsmirror.cli import main; sys.exit(main())"
FEEDS = 40
FIRST_ITEMS = 10
NEW_ITEMS_PER_RUN = 2
KILLS = 50
SERVER_DELAY = 0.02  # per request, so that kills land mid-run
START = datetime(2025, 1, 1, tzinfo=UTC)


def newsmirror(archive: Path, *args: str) -> subprocess.Popen:
    argv = [sys.executable, "-c", RUN, "run", "--archive", str(archive), *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class GrowingFeeds:
    """FEEDS feeds on one server; each `grow()` publishes new items in every feed,
    so that every run, and every kill, has posts to write."""

    def __init__(self, server: LoopbackServer, body_size: int = 200) -> None:
        self.items = FIRST_ITEMS
        self.body_size = body_size
        self.server = server
        for n in range(FEEDS):
            server.route(f"/f{n}.xml", handler=self._handler(n), delay=SERVER_DELAY)

    def link(self, feed: int, item: int) -> str:
        return f"http://news{feed}.example/2025/item-{item}.html"

    def body(self, feed: int) -> bytes:
        entries = [
            rss_item(
                title=f"Feed {feed} 第{item}条 / item: {item}",
                link=self.link(feed, item),
                published=START + timedelta(hours=item),
                content_encoded=f"<p>{feed}-{item} " + "x" * self.body_size + "</p>",
            )
            for item in range(self.items)
        ]
        return rss(entries, title=f"feed {feed}")

    def _handler(self, feed: int):
        async def handle(request: web.Request) -> web.StreamResponse:
            return web.Response(body=self.body(feed), content_type="application/rss+xml")

        return handle

    def grow(self) -> None:
        self.items += NEW_ITEMS_PER_RUN

    def all_links(self) -> set[str]:
        return {self.link(f, i) for f in range(FEEDS) for i in range(self.items)}

    def subs(self) -> list[tuple[str, str]]:
        return [(f"site {n}", self.server.url(f"/f{n}.xml")) for n in range(FEEDS)]


def links_in_posts(archive: Path) -> Counter[str]:
    """The `from:` link of every post; a post that does not parse fails the test."""
    links: Counter[str] = Counter()
    for path in (archive / "_posts").iterdir():
        text = path.read_text(encoding="utf-8")
        assert text.endswith("</div>\n"), f"half-written post {path.name}"
        head = text[4:].partition("\n---\n")[0]
        links[yaml.load(head, Loader=yaml.CSafeLoader)["from"]] += 1
    return links


def assert_archive_whole(archive: Path, expected: set[str]) -> None:
    links = links_in_posts(archive)
    assert set(links) == expected, (len(set(links)), len(expected))
    assert [link for link, n in links.items() if n > 1] == []
    assert list(archive.rglob(".nm-tmp-*")) == []
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        seen = {row[0] for row in db.execute("SELECT key FROM seen")}
    finally:
        db.close()
    assert {primary_key(link) for link in expected} <= seen


def run_to_end(archive: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = newsmirror(archive, "--content", "raw", "--fulltext", "never", *args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.slow
def test_kill_9_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    with LoopbackServer() as server:
        feeds = GrowingFeeds(server)
        probe = tmp_path / "probe"
        probe.mkdir()
        write_subs(probe, feeds.subs())
        started = time.monotonic()
        assert run_to_end(probe).returncode == 0
        full_run = time.monotonic() - started

        archive = tmp_path / "mirror"
        archive.mkdir()
        write_subs(archive, feeds.subs())
        killed = 0
        window = full_run  # a later run has less to write: shrink to what runs take
        for _ in range(KILLS):
            proc = newsmirror(archive, "--content", "raw", "--fulltext", "never")
            launched = time.monotonic()
            time.sleep(rng.uniform(0, window))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            else:
                window = time.monotonic() - launched
            proc.communicate(timeout=60)
            feeds.grow()
        done = run_to_end(archive)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        print(f"\nfull run {full_run:.2f}s; {killed} of {KILLS} runs killed mid-run;"
              f" {len(feeds.all_links())} items")  # fmt: skip
        assert killed >= KILLS * 0.6  # most kills must land mid-run to mean anything
        assert_archive_whole(archive, feeds.all_links())


def test_post_written_before_a_crash_is_recorded_with_its_file(server, tmp_path: Path) -> None:
    feeds = GrowingFeeds(server)
    archive = tmp_path / "mirror"
    archive.mkdir()
    write_subs(archive, feeds.subs()[:1])
    assert run_to_end(archive).returncode == 0
    # The state a kill between the post's rename and record_post leaves: the
    # file is on disk, the database does not know it.
    first = sorted((archive / "_posts").iterdir())[0]
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    with db:
        db.execute("DELETE FROM seen WHERE post = ?", (first.name,))
        db.execute("DELETE FROM items WHERE post = ?", (first.name,))
    db.close()
    assert run_to_end(archive).returncode == 0
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    posts = {row[0] for row in db.execute("SELECT post FROM seen")}
    db.close()
    assert first.name in posts


def test_two_runs_at_once_one_refuses(server, tmp_path: Path) -> None:
    feeds = GrowingFeeds(server)
    for n in range(FEEDS):  # slow enough that the runs overlap
        server.route(f"/f{n}.xml", handler=feeds._handler(n), delay=1.0)
    archive = tmp_path / "mirror"
    archive.mkdir()
    write_subs(archive, feeds.subs())
    procs = [newsmirror(archive, "--content", "raw", "--fulltext", "never") for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], [r[1][-500:] for r in results]
    [refused_err] = [
        err for p, (_out, err) in zip(procs, results, strict=True) if p.returncode == 3
    ]
    lines = refused_err.strip().splitlines()
    assert len(lines) == 1 and "another newsmirror run holds this archive" in lines[0], lines
    assert_archive_whole(archive, feeds.all_links())


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    return done.returncode == 0


@pytest.fixture(scope="module")
def full_disk_run(tmp_path_factory: pytest.TempPathFactory):
    mount = tmp_path_factory.mktemp("disk") / "small"
    if not _mount_tmpfs(mount, "1m"):
        pytest.skip("cannot mount a 1 MiB tmpfs here (needs root or CAP_SYS_ADMIN)")
    try:
        archive = mount / "mirror"
        archive.mkdir()
        with LoopbackServer() as server:
            feeds = GrowingFeeds(server, body_size=20_000)  # 400 posts x 20 kB > 1 MiB
            write_subs(archive, feeds.subs())
            done = run_to_end(archive)
        yield archive, done
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_leaves_nothing_half_written(full_disk_run) -> None:
    archive, _done = full_disk_run
    posts = list((archive / "_posts").iterdir())
    assert 0 < len(posts) < FEEDS * FIRST_ITEMS  # the disk really filled
    links = links_in_posts(archive)  # every post that exists is whole
    assert max(links.values()) == 1
    assert list(archive.rglob(".nm-tmp-*")) == []
    db = sqlite3.connect(archive / ".newsmirror" / "state.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_full_disk_run_ends_without_a_traceback(full_disk_run) -> None:
    _archive, done = full_disk_run
    assert done.returncode in (0, 1, 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
