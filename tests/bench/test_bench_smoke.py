"""A tiny run of bench/ingest.py (5 feeds x 3 items): it completes, counts the
posts each scenario must write, prints the ratios and cleans up. No timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
from common import FeedSet, FeedSpec  # noqa: E402

FEEDS, ITEMS = 5, 3


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    out = tmp_path_factory.mktemp("bench")
    result_file = out / "rows.json"
    work = out / "work"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "ingest.py"),
            "--feeds",
            str(FEEDS),
            "--items",
            str(ITEMS),
            "--json",
            str(result_file),
            "--keep",
            str(work),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(result_file.read_text()), proc.stdout, work


def test_every_scenario_writes_the_posts_it_must(smoke: tuple[dict, str, Path]) -> None:
    data, _, _ = smoke
    new = {r["scenario"]: r["new_posts"] for r in data["rows"]}
    # 10% of 5 feeds is one feed, gaining min(5, ITEMS) items per round.
    assert new == {
        "cold": 15,
        "cold-r2": 15,  # the same cold work, into new archives, each after its own cold floor
        "cold-r3": 15,
        "cold-clean": 15,  # the default mode, each round after its own clean floor
        "cold-clean-r2": 15,
        "cold-clean-r3": 15,
        "warm": 0,
        "changed-1": 3,
        "changed-2": 3,
        "changed-3": 3,
        "cold-again": 15,
    }
    floor = {r["scenario"]: r["floor_posts"] for r in data["rows"]}
    assert floor == new  # with 3 items, all of a changed feed's are new
    archive = {r["scenario"]: r["archive_posts"] for r in data["rows"]}
    assert archive["cold-again"] == 15 + 9 + 15
    assert all(r["feeds"] == FEEDS and r["failed"] == 0 for r in data["rows"])
    # Memory: the sum over the run's processes is at least its largest process;
    # a cold run of newsmirror has more than one process only with workers (50+ feeds).
    assert all(r["rss_sum_mb"] >= r["rss_max_mb"] > 10 for r in data["rows"])
    assert all(r["floor_rss_mb"] > 10 for r in data["rows"])


def test_the_table_prints_ratios_and_targets(smoke: tuple[dict, str, Path]) -> None:
    data, stdout, _ = smoke
    rows = {r["scenario"]: r for r in data["rows"]}
    for name in ("cold", "cold-clean"):
        assert rows[name]["ratio"] > 0 and rows[name]["cpu_ratio"] > 0
        assert rows[name]["cpu_seconds"] > 0 and rows[name]["floor_cpu_seconds"] > 0
    lines = stdout.splitlines()
    cold_line = next(line for line in lines if line.split()[:1] == ["cold"])
    assert float(cold_line.split()[-2]) == pytest.approx(rows["cold"]["ratio"], abs=0.01)
    verdicts = [line.split()[0] for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == len(data["targets"]) == 6
    assert [t["target"].split(":")[0] for t in data["targets"][1:3]] == [
        "cold (raw) within 3x of its floor", "cold (clean, the default) within 3x of its floor"]
    assert data["targets"][0] == {"target": "no feed failed: 0 failures", "pass": True}


def test_kept_archive_holds_real_posts(smoke: tuple[dict, str, Path]) -> None:
    _, _, work = smoke
    posts = sorted((work / "archive" / "_posts").glob("*.md"))
    assert len(posts) == 15 + 9 + 15
    assert posts[0].read_text(encoding="utf-8").startswith("---\n")
    assert not list(work.glob("floor-*/"))  # outputs are moved aside after each run ...
    assert not (work / ".trash").exists()  # ... and deleted at the end


def test_generated_feed_is_realistic_rss() -> None:
    feeds = FeedSet(FeedSpec(feeds=2, items=50, base_url="http://127.0.0.1:1"))
    root = etree.fromstring(feeds.bodies[1])
    items = root.findall("channel/item")
    assert len(items) == 50
    assert 150_000 < len(feeds.bodies[1]) < 300_000
    links = [i.findtext("link") for i in items]
    assert len(set(links)) == 50
    content = items[0].findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert "<img " in content and "<a href=" in content
    assert any('"' in (i.findtext("title") or "") for i in items)
    before = list(feeds.etags)
    assert feeds.change(0.5, 1) == 5  # one of two feeds, 5 new items
    changed = [n for n in range(2) if feeds.etags[n] != before[n]]
    assert changed == [1]
    newest = etree.fromstring(feeds.bodies[1]).findtext("channel/item/link")
    assert newest == "http://127.0.0.1:1/a/1/p0--5.html"


def test_memory_is_the_sum_over_the_process_tree(tmp_path: Path) -> None:
    """Two children of 100 MB each: the sum counts both, ru_maxrss only one
    (the mistake the old figures made)."""
    from common import run_child

    script = (
        "import subprocess, sys\n"
        "hold = 'x = bytearray(100 * 2**20); x[::4096] = b\"a\" * len(x[::4096]);"
        " import sys; sys.stdin.read()'\n"
        "kids = [subprocess.Popen([sys.executable, '-c', hold], stdin=subprocess.PIPE)"
        " for _ in range(2)]\n"
        "import time; time.sleep(1.5)\n"  # both hold their 100 MB for 1.5 s (75 polls)
        "for k in kids: k.stdin.close(); k.wait()\n"
    )
    run = run_child([sys.executable, "-c", script])
    assert run.returncode == 0, run.stderr
    assert 100 < run.rss_max_mb < 160
    assert run.rss_sum_mb > 200 + 10  # two children and their parent
    assert run.processes == 3


def test_the_recheck_bench_runs_and_counts(tmp_path: Path) -> None:
    """bench/recheck.py on 3 hosts x 20 posts: every post checked, the 304s,
    edits and suspected deletions it serves are found. No timings."""
    out = tmp_path / "recheck.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "recheck.py"), "--hosts", "3", "--posts", "20",
         "--rates", "50", "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {r["who"]: r for r in json.loads(out.read_text())["rows"]}
    ours = rows["newsmirror"]
    # 60 posts: k % 200 in (0, 1) -> 1 404 and 1 notice; k % 100 == 2 -> 1 edit;
    # k % 100 in (3, 4, 5) -> 3 pages with the same text; 54 answer 304.
    assert (ours["checked"], ours["failed"], ours["suspected"], ours["edited"]) == (60, 0, 2, 1)
    assert ours["not_modified"] == 54 == ours["statuses"]["304"]
    assert rows["floor"]["statuses"] == ours["statuses"] == {"200": 5, "304": 54, "404": 1}
    assert "PASS  rate 50/s: every post checked" in proc.stdout


def test_the_ingest_ab_runs_both_trees_and_keeps_their_archives(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.run([sys.executable, str(BENCH / "ingest_ab.py"), "--a", str(src), "--b",
                           str(src), "--feeds", "4", "--items", "3", "--pairs", "2",
                           "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = [line for line in proc.stdout.splitlines() if line.startswith("pair ")]
    assert [line.split(":")[0] for line in runs] == ["pair 0 A", "pair 0 B", "pair 1 B", "pair 1 A"]
    assert "B/A wall per pair: median" in proc.stdout
    (work,) = tmp_path.iterdir()
    archives = sorted(p.name for p in work.iterdir())
    assert archives == ["A-0", "A-1", "B-0", "B-1"]
    for name in archives:
        assert len(list((work / name / "_posts").iterdir())) == 4 * 3
