"""The run summary people read and the JSON report machines read."""

from __future__ import annotations

import io
import json

from rich.console import Console

from newsmirror.ingest.report import FeedOutcome, RunReport, outcome_line, print_summary


def sample() -> RunReport:
    return RunReport(
        archive="mirror",
        started=1_700_000_000.0,
        finished=1_700_000_002.5,
        feeds=[
            FeedOutcome(site="路透", url="http://a/f", status="fetched", new_posts=3, items=5,
                        item_errors=["item 'x': item has neither a link nor a guid"]),
            FeedOutcome(site="法广", url="http://b/f", status="not_modified"),
            FeedOutcome(site="死站", url="http://c/f", status="failed", reason="HTTP 410 Gone"),
        ],
        posts=["a.md", "b.md", "c.md"],
    )  # fmt: skip


def test_summary_table_names_failures_new_posts_and_skipped_items() -> None:
    out = io.StringIO()
    print_summary(sample(), Console(file=out, width=120))
    text = out.getvalue()
    assert "HTTP 410 Gone" in text and "死站" in text
    assert "new posts per site" in text and "│ 路透 " in text
    assert "skipped items (1)" in text and "neither a link nor a guid" in text


def test_plain_lines_and_json(tmp_path) -> None:
    report = sample()
    assert outcome_line(report.feeds[2]) == "FAIL 死站 <http://c/f>: HTTP 410 Gone"
    assert report.summary_line() == (
        "3 feeds: 1 fetched, 1 not modified, 1 failed, 0 skipped; 3 new posts in 2.5s"
    )
    path = report.write_json(tmp_path)
    data = json.loads(path.read_text())
    assert data == json.loads((tmp_path / "last-run.json").read_text())
    assert data["summary"]["failed"] == 1 and data["feeds"][2]["reason"] == "HTTP 410 Gone"


def test_refused_addresses_are_listed_one_line_each() -> None:
    report = sample()
    line = "item 'Admin': refused http://10.0.0.1/admin: 10.0.0.1 is a private address"
    report.feeds[0].refused.append(line)
    out = io.StringIO()
    print_summary(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "refused addresses (1; allow_private_networks allows)" in text
    assert line in text
    assert report.to_dict()["feeds"][0]["refused"] == [line]
