"""One newsmirror run against every hostile server at once, plus healthy feeds.

The run is a real subprocess so that its wall time and peak memory are its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import posts_of, write_subs
from faultserver import Fault, install_faults
from loopback import LoopbackServer

TIMEOUT = 2.0
DEADLINE = 5.0
# Feeds are fetched concurrently, each within DEADLINE; the margin covers
# interpreter start-up, parsing and the 1 GiB inflate check.
WALL_BOUND = DEADLINE + 10.0
PEAK_RSS_BOUND = 400 * 2**20  # bytes; the 2 GB body and the gzip bomb must be capped

RUN = "import sys; from newsmirror.cli import main; sys.exit(main())"


def run_measured(archive: Path, *args: str) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run `newsmirror run` as a child; (result, wall seconds, its own peak RSS in bytes).

    os.wait4 gives this child's rusage alone, unlike RUSAGE_CHILDREN.
    """
    argv = [sys.executable, "-c", RUN, "run", "--archive", str(archive), *args]
    out, err = archive.parent / "stdout.txt", archive.parent / "stderr.txt"
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    done = subprocess.CompletedProcess(argv, proc.returncode, out.read_text(), err.read_text())
    return done, wall, usage.ru_maxrss * 1024


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory):
    archive = tmp_path_factory.mktemp("faults") / "mirror"
    archive.mkdir()
    with LoopbackServer() as srv:
        faults = install_faults(srv)
        write_subs(archive, [(f.name, srv.url(f.path)) for f in faults])
        done, wall, rss = run_measured(
            archive, "--timeout", str(TIMEOUT), "--deadline", str(DEADLINE), "--json"
        )
    report = json.loads((archive / ".newsmirror" / "reports" / "last-run.json").read_text())
    print(f"\nfault run: {len(faults)} feeds, wall {wall:.2f}s, peak RSS {rss / 2**20:.0f} MiB")
    for outcome in report["feeds"]:
        print(f"  {outcome['site']}: {outcome['status']} {outcome['reason'] or ''}")
    return archive, faults, done, wall, rss, report


def outcome_of(report: dict, fault: Fault) -> dict:
    [outcome] = [f for f in report["feeds"] if f["site"] == fault.name]
    return outcome


def test_run_exits_cleanly_within_deadline_and_memory(fault_run) -> None:
    _archive, faults, done, wall, rss, report = fault_run
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["summary"]["feeds"] == len(faults)
    assert wall < WALL_BOUND, f"run took {wall:.1f}s, bound {WALL_BOUND}s"
    assert rss < PEAK_RSS_BOUND, f"peak RSS {rss / 2**20:.0f} MiB"
    assert report["summary"]["failed"] == sum(not f.healthy for f in faults)


def test_every_healthy_feed_is_written(fault_run) -> None:
    archive, faults, _done, _wall, _rss, report = fault_run
    posts = posts_of(archive)
    for fault in faults:
        if not fault.healthy:
            continue
        outcome = outcome_of(report, fault)
        assert outcome["status"] == "fetched", (fault.name, outcome["reason"])
        assert outcome["new_posts"] == fault.posts, fault.name
    assert len(posts) == sum(f.posts for f in faults)


@pytest.mark.parametrize("name", ["gbk-declared-utf8", "big5-undeclared"])
def test_mislabelled_chinese_feeds_keep_their_text(fault_run, name: str) -> None:
    archive, faults, _done, _wall, _rss, report = fault_run
    [fault] = [f for f in faults if f.name == name]
    assert fault.text is not None
    mine = [
        text
        for text in posts_of(archive).values()
        if f"/{name.split('-')[0]}/" in yaml.safe_load(text.split("---")[1])["from"]
    ]
    assert len(mine) == fault.posts
    for text in mine:
        assert yaml.safe_load(text.split("---")[1])["title"].startswith(fault.text)
        assert fault.text in text.split("---", 2)[2]


def test_each_fault_has_a_clear_reason(fault_run) -> None:
    _archive, faults, _done, _wall, _rss, report = fault_run
    wrong = {}
    for fault in faults:
        if fault.healthy:
            continue
        outcome = outcome_of(report, fault)
        reason = outcome["reason"] or ""
        ok = outcome["status"] == "failed" and any(
            r.lower() in reason.lower() for r in fault.reasons
        )
        if not ok or "\n" in reason or "Traceback" in reason:
            wrong[fault.name] = (outcome["status"], reason)
    assert not wrong, wrong


def test_faulty_feeds_leave_no_posts_or_temp_files(fault_run) -> None:
    archive, _faults, _done, _wall, _rss, _report = fault_run
    assert not [p for p in archive.rglob(".nm-tmp-*")]
