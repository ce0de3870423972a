"""Retention: old posts move to the old generator's `archived/YYYY-MM-DD/` layout,
nothing is lost or overwritten, and moved items are never fetched again."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loopback import loopback_server

from newsmirror.archive.retention import RetentionError, apply_retention, plan_retention, post_date
from newsmirror.cli import main
from newsmirror.ingest.pipeline import RunOptions, run

GOLDEN = Path(__file__).resolve().parents[2].parent / "shared" / "golden"
NOW = datetime(2023, 2, 15, 12, tzinfo=UTC)


def golden_posts() -> list[Path]:
    return sorted(GOLDEN.glob("*.md"))


def all_bytes(root: Path) -> Counter[bytes]:
    return Counter(p.read_bytes() for p in root.rglob("*.md"))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    posts = tmp_path / "_posts"
    posts.mkdir()
    for path in golden_posts():
        shutil.copyfile(path, posts / path.name)
    return tmp_path


def test_post_date() -> None:
    assert (
        post_date("2023-01-30-OpenAI 雇佣千名合同工改进 AI 的编程能力.md")
        == datetime(2023, 1, 30).date()
    )
    assert post_date("2023-02-30-bad.md") is None
    assert post_date("notes.md") is None
    assert post_date(".nm-tmp-2023-01-01-x.md") is None


def test_moves_old_posts_into_the_old_layout(archive: Path) -> None:
    before = all_bytes(archive)
    old = [p.name for p in golden_posts() if p.name < "2023-02-05"]
    assert len(old) >= 8  # the golden set spans 2020..2024
    moved = apply_retention(archive, 10, now=NOW)
    assert sorted(p.name for p in moved) == sorted(old)
    for path in moved:
        assert path.parent == archive / "archived" / path.name[:10]
        assert path.read_bytes() == (GOLDEN / path.name).read_bytes()
    kept = sorted(p.name for p in (archive / "_posts").iterdir())
    assert kept == sorted(p.name for p in golden_posts() if p.name >= "2023-02-05")
    assert (
        archive / "archived/2023-01-30/2023-01-30-OpenAI 雇佣千名合同工改进 AI 的编程能力.md"
    ).is_file()
    assert all_bytes(archive) == before  # nothing lost, nothing doubled
    assert apply_retention(archive, 10, now=NOW) == []  # idempotent


def test_never_overwrites_what_archived_already_holds(archive: Path) -> None:
    same = "2023-01-30-世界翘首以盼，中国游客何时全面回归？.md"
    clash = "2023-01-31-每日一语 2023.1.30.md"
    for name, data in ((same, (GOLDEN / same).read_bytes()), (clash, b"an older, other post\n")):
        target = archive / "archived" / name[:10] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    apply_retention(archive, 10, now=NOW)
    folder = archive / "archived/2023-01-31"
    assert (folder / clash).read_bytes() == b"an older, other post\n"
    assert (folder / clash.replace(".md", "-2.md")).read_bytes() == (GOLDEN / clash).read_bytes()
    identical = list((archive / "archived/2023-01-30").glob("2023-01-30-世界翘首以盼*"))
    assert [p.name for p in identical] == [same]  # the identical copy was not duplicated
    assert not (archive / "_posts" / same).exists()


def test_dry_run_and_bad_days(archive: Path) -> None:
    planned = plan_retention(archive, 10, now=NOW)
    assert apply_retention(archive, 10, now=NOW, dry_run=True)
    assert all(p.exists() for p in planned) and not (archive / "archived").exists()
    with pytest.raises(RetentionError, match="at least 1"):
        apply_retention(archive, 0, now=NOW)


def test_cli(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "--archive", str(archive)]) == 0
    assert "retention is off" in capsys.readouterr().out
    (archive / "newsmirror.toml").write_text("[settings]\nretention_days = 365000\n")
    assert main(["retention", "--archive", str(archive)]) == 0
    assert capsys.readouterr().out.strip() == "0 posts moved"
    assert main(["retention", "--archive", str(archive), "--days", "30", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{len(golden_posts())} posts to move" in out  # all golden posts are years old
    assert not (archive / "archived").exists()


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>Mon, 02 Jan 2023 10:00:00 GMT"
        f"</pubDate><description>&lt;p&gt;{t}&lt;/p&gt;</description></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    )


def test_moved_items_are_never_fetched_again(tmp_path: Path) -> None:
    with loopback_server() as srv:
        items = [("第一篇", srv.url("/a/1")), ("第二篇", srv.url("/a/2"))]
        srv.route("/feed.xml", rss(items), headers={"Content-Type": "application/rss+xml"})
        (tmp_path / "subs.json").write_text(
            json.dumps([{"site": "測試", "url": srv.url("/feed.xml")}], ensure_ascii=False)
        )
        (tmp_path / "newsmirror.toml").write_text('[settings]\nfulltext = "never"\n')
        assert len(run(tmp_path, RunOptions()).posts) == 2
        moved = apply_retention(tmp_path, 30)
        assert [p.parent.name for p in moved] == ["2023-01-02", "2023-01-02"]
        assert not list((tmp_path / "_posts").glob("*.md"))
        assert run(tmp_path, RunOptions()).posts == []  # the state remembers them
        shutil.rmtree(tmp_path / ".newsmirror")  # a fresh CI runner: no state at all
        assert run(tmp_path, RunOptions()).posts == []  # imported from archived/
        assert not list((tmp_path / "_posts").glob("*.md"))
