"""`newsmirror publish` against a real git repository and a local bare remote."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gitserver import git, git_archive

from newsmirror.archive.retention import apply_retention
from newsmirror.cli import main
from newsmirror.ops.publish import PublishError, commit_message, post_source, publish

GOLDEN = Path(__file__).resolve().parents[2].parent / "shared" / "golden"
NYT = "2023-01-30-世界翘首以盼，中国游客何时全面回归？.md"
RFI = "2023-01-30-北约领导人呼吁韩国&quot;加强&quot;军援乌克兰力度.md"
MATTERS = [
    "2021-10-01-【送給守護著這個家的你】圍牆倒下的一天 - 1989 EAST GERMANY｜柏林圍牆｜東西兩德｜.md",
    '2022-04-20-\\"清零\\"or\\"共存\\"？盘点疫情中N个争议问题（附多文链接）.md',
]


def tree(repo: Path) -> list[str]:
    return git(repo, "ls-tree", "-r", "-z", "--name-only", "main").strip("\0").split("\0")


def add_posts(repo: Path, *names: str) -> None:
    (repo / "_posts").mkdir(exist_ok=True)
    for name in names:
        shutil.copyfile(GOLDEN / name, repo / "_posts" / name)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_archive(tmp_path)


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Path:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    return bare


def test_commits_and_pushes_with_counts_per_source(repo: Path, remote: Path) -> None:
    add_posts(repo, NYT, RFI, *MATTERS)
    result = publish(repo)
    expected = "newsmirror: 4 new posts (Matters 2, 法广 1, 纽约时报 1)"
    assert result.committed and result.pushed and result.remote == "origin"
    assert result.message == expected
    assert result.new_posts == Counter({"Matters": 2, "法广": 1, "纽约时报": 1})
    assert git(remote, "log", "-1", "--format=%s", "main") == expected
    assert git(remote, "rev-parse", "main") == result.commit
    files = tree(remote)
    assert sorted(files) == sorted(["subs.json", *(f"_posts/{n}" for n in (NYT, RFI, *MATTERS))])

    again = publish(repo)  # a quiet hour: no commit, no push, no error
    assert not again.committed and again.message == "nothing to publish"
    assert git(repo, "rev-list", "--count", "HEAD") == "1"

    add_posts(repo, "2023-01-31-每日一语 2023.1.30.md")
    assert publish(repo).message == "newsmirror: 1 new post (中国数字时代 1)"
    assert git(remote, "rev-list", "--count", "main") == "2"


def test_retention_moves_are_not_counted_as_new(repo: Path, remote: Path) -> None:
    add_posts(repo, NYT, RFI)
    publish(repo)
    apply_retention(repo, 30, now=datetime(2023, 6, 1, tzinfo=UTC))
    result = publish(repo)
    assert result.committed and not result.new_posts
    assert result.message == "newsmirror: archive update (2 files changed)"
    files = tree(remote)
    assert f"archived/2023-01-30/{NYT}" in files and f"_posts/{NYT}" not in files


def test_without_remote_commits_only(repo: Path) -> None:
    add_posts(repo, NYT)
    result = publish(repo)
    assert result.committed and not result.pushed
    assert git(repo, "log", "-1", "--format=%s") == "newsmirror: 1 new post (纽约时报 1)"


def test_push_failure_is_one_line_and_retried_next_time(
    repo: Path, remote: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_posts(repo, NYT)
    publish(repo)
    add_posts(repo, RFI)
    moved = remote.with_name("gone.git")
    remote.rename(moved)
    assert main(["publish", "--archive", str(repo)]) == 2  # 1 is only for --strict feed failures
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "push to origin failed" in err
    moved.rename(remote)
    result = publish(repo)  # nothing new to commit, but the stranded commit is pushed
    assert not result.committed and result.pushed
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="not a git repository"):
        publish(tmp_path)


def test_cli_output(repo: Path, remote: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_posts(repo, NYT)
    assert main(["publish", "--archive", str(repo), "--no-push"]) == 0
    assert capsys.readouterr().out == "newsmirror: 1 new post (纽约时报 1)\n"
    assert git(remote, "rev-list", "--all", "--count") == "0"


def test_sources_and_message() -> None:
    assert {post_source(p) for p in GOLDEN.glob("*.md")} >= {"纽约时报", "Matters", "城寨"}
    many = Counter({f"site{i:02d}": 1 for i in range(25)})
    message = commit_message(many, 25)
    assert message.startswith("newsmirror: 25 new posts (site00 1,")
    assert message.endswith("+5 more sources)")


def test_the_originals_history_is_published_and_the_state_database_is_not(repo: Path) -> None:
    add_posts(repo, NYT)
    history = repo / ".newsmirror" / "history" / "ab" / "abcdef.json"
    history.parent.mkdir(parents=True)
    history.write_text('{"format": 1, "events": []}\n', encoding="utf-8")
    result = publish(repo, push=False)
    assert result.committed
    assert sorted(tree(repo)) == sorted(
        ["subs.json", f"_posts/{NYT}", ".newsmirror/history/ab/abcdef.json"]
    )
