"""`publish` to many remotes ([[publish.remotes]]): real bare repositories on
disk, one refusing pushes with a pre-receive hook, and one behind git's smart
HTTP on 127.0.0.1 that wants a token from the environment."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from gitserver import GitHttpServer, git, git_archive
from test_publish import NYT, RFI, add_posts

from newsmirror.archive.remotes import has_password, load_remotes, without_userinfo
from newsmirror.cli import main
from newsmirror.ops.publish import publish, publish_site


def bare(path: Path, *, refuse: bool = False) -> Path:
    git(path.parent, "init", "-q", "--bare", str(path))
    if refuse:
        hook = path / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'this mirror takes no pushes today' >&2\nexit 1\n")
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return path


def head_of(remote: Path, branch: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
        cwd=remote, capture_output=True, text=True,
    )  # fmt: skip
    return proc.stdout.strip() or None


def configure(repo: Path, remotes: list[dict[str, str]]) -> None:
    lines = []
    for r in remotes:
        lines.append("[[publish.remotes]]")
        lines += [f'{k} = "{v}"' for k, v in r.items()]
    (repo / "newsmirror.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_archive(tmp_path)


@pytest.fixture
def hosts(tmp_path: Path, repo: Path) -> dict[str, Path]:
    found = {
        "github": bare(tmp_path / "github.git"),
        "codeberg": bare(tmp_path / "codeberg.git"),
        "blocked": bare(tmp_path / "blocked.git", refuse=True),
    }
    configure(repo, [
        {"name": "github", "url": str(found["github"]), "branch": "gh-pages",
         "base_url": "https://me.github.io/mirror/"},
        {"name": "blocked", "url": str(found["blocked"]), "base_url": "https://blocked.example/"},
        {"name": "codeberg", "url": found["codeberg"].as_uri(), "branch": "pages"},
    ])  # fmt: skip
    return found


def test_pushes_to_each_remote_and_one_refusal_stops_none(
    repo: Path, hosts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    add_posts(repo, NYT)
    assert main(["publish", "--archive", str(repo)]) == 4  # partial
    out = capsys.readouterr().out.splitlines()
    head = git(repo, "rev-parse", "HEAD")
    assert out[0] == "newsmirror: 1 new post (纽约时报 1)"
    assert out[1] == f"github: pushed ({head[:7]} to gh-pages)"
    assert out[2].startswith(f"blocked: FAILED: {hosts['blocked']}: [remote rejected]")
    assert "pre-receive hook declined" in out[2]
    assert "the remote said: this mirror takes no pushes today" in out[2]
    assert out[3] == f"codeberg: pushed ({head[:7]} to pages)"
    assert len(out) == 4
    assert head_of(hosts["github"], "gh-pages") == head
    assert head_of(hosts["codeberg"], "pages") == head
    assert head_of(hosts["blocked"], "main") is None

    # A quiet hour: nothing new. The two that have the commit are known to
    # (no push: their repositories could be gone); the refusing one is tried again.
    hosts["github"].rename(hosts["github"].with_name("moved.git"))
    result = publish(repo)
    assert not result.committed
    assert [(r.name, r.status) for r in result.remotes] == [
        ("github", "up to date"), ("blocked", "failed"), ("codeberg", "up to date")]  # fmt: skip

    # The host takes pushes again: the stranded commit reaches it without a new one.
    (hosts["blocked"] / "hooks" / "pre-receive").unlink()
    result = publish(repo)
    assert [r.status for r in result.remotes] == ["up to date", "pushed", "up to date"]
    assert head_of(hosts["blocked"], "main") == head


def test_every_remote_failing_is_exit_2(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = bare(tmp_path / "blocked.git", refuse=True)
    configure(repo, [
        {"name": "blocked", "url": str(blocked)},
        {"name": "gone", "url": str(tmp_path / "no-such.git")},
    ])  # fmt: skip
    add_posts(repo, NYT)
    assert main(["publish", "--archive", str(repo)]) == 2  # the command could not do its work
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("blocked: FAILED:")
    assert out[2].startswith(f"gone: FAILED: {tmp_path / 'no-such.git'}:")
    assert len(out) == 3
    assert git(repo, "rev-list", "--count", "HEAD") == "1"  # the commit is kept for next time


def test_a_new_commit_is_pushed_again_after_an_up_to_date_one(
    repo: Path, hosts: dict[str, Path]
) -> None:
    (hosts["blocked"] / "hooks" / "pre-receive").unlink()
    add_posts(repo, NYT)
    first = publish(repo)
    assert [r.status for r in first.remotes] == ["pushed"] * 3
    add_posts(repo, RFI)
    second = publish(repo)
    assert second.committed and [r.status for r in second.remotes] == ["pushed"] * 3
    assert head_of(hosts["codeberg"], "pages") == second.commit
    assert git(hosts["codeberg"], "rev-list", "--count", "pages") == "2"


def test_no_push_commits_only(repo: Path, hosts: dict[str, Path]) -> None:
    add_posts(repo, NYT)
    result = publish(repo, push=False)
    assert result.committed and result.remotes == []
    assert head_of(hosts["github"], "gh-pages") is None


def test_token_comes_from_the_environment(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    root = tmp_path / "host"
    root.mkdir()
    hosted = bare(root / "mirror.git")
    add_posts(repo, NYT)
    with GitHttpServer(root, user="me", password="t0ken-abc") as srv:
        configure(repo, [{"name": "gitlab", "url": srv.url("mirror.git"),
                          "token_env": "TEST_GITLAB_TOKEN", "username": "me"}])  # fmt: skip
        monkeypatch.delenv("TEST_GITLAB_TOKEN", raising=False)
        assert main(["publish", "--archive", str(repo)]) == 2
        out = capsys.readouterr().out
        assert "gitlab: FAILED: the environment variable TEST_GITLAB_TOKEN is not set" in out
        assert srv.authorized == 0

        monkeypatch.setenv("TEST_GITLAB_TOKEN", "wrong")
        result = publish(repo)
        assert result.remotes[0].status == "failed" and srv.refused > 0
        assert "wrong" not in result.remotes[0].detail

        monkeypatch.setenv("TEST_GITLAB_TOKEN", "t0ken-abc")
        result = publish(repo)
        assert [r.line() for r in result.remotes] == [
            f"gitlab: pushed ({git(repo, 'rev-parse', 'HEAD')[:7]} to main)"
        ]
        assert srv.authorized > 0
    assert head_of(hosted, "main") == git(repo, "rev-parse", "HEAD")
    # Nothing of the token was written anywhere in the archive.
    for path in repo.rglob("*"):
        if path.is_file():
            assert b"t0ken-abc" not in path.read_bytes(), path
    assert "t0ken-abc" not in os.environ.get("GIT_ASKPASS", "")


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('name = "a"\nurl = "https://me:hunter2@codeberg.org/me/m.git"', "holds a password"),
        ('name = "a b"\nurl = "/tmp/x.git"', "name must be"),
        ('name = "a"', "url is missing"),
        ('name = "a"\nurl = "/tmp/x.git"\nbase_url = "ftp://x"', "base_url must be an http(s) URL"),
        ('name = "a"\nurl = "/tmp/x.git"\ntoken_env = "$(rm -rf)"', "token_env must be"),
        ('name = "a"\nurl = "/tmp/x.git"\nbranch = "--force"', "is not a branch name"),
        ('name = "a"\nurl = "/tmp/x.git"\npassword = "x"', "unknown option(s) password"),
        ('name = "a"\nurl = "/tmp/x.git"\n[[publish.remotes]]\nname = "A"\nurl = "/tmp/y.git"',
         "used twice"),
    ],
)  # fmt: skip
def test_bad_remote_config_is_one_line_exit_2(
    repo: Path, table: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "newsmirror.toml").write_text(f"[[publish.remotes]]\n{table}\n", encoding="utf-8")
    add_posts(repo, NYT)
    assert main(["publish", "--archive", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err and "newsmirror.toml" in err
    assert "hunter2" not in err
    assert git(repo, "rev-list", "--all", "--count") == "0"  # nothing committed


def test_remotes_load_with_defaults(repo: Path) -> None:
    configure(repo, [{"name": "x", "url": "git@codeberg.org:me/m.git"}])
    [remote] = load_remotes(repo)
    assert remote.branch is None and remote.base_url is None and remote.token_env is None
    assert load_remotes(repo.parent) == []


def test_password_detection() -> None:
    assert has_password("https://u:p@h/r.git")
    assert not has_password("https://u@h/r.git")
    assert not has_password("git@codeberg.org:me/m.git")
    assert without_userinfo("https://u:p@h/r.git") == "https://h/r.git"
    assert without_userinfo("/srv/r.git") == "/srv/r.git"


def test_publish_site_pushes_the_built_site_as_one_commit(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsmirror.site import build_site

    pages = bare(tmp_path / "pages.git")
    archive_host = bare(tmp_path / "archive.git")
    configure(repo, [
        {"name": "codeberg", "url": str(pages), "branch": "pages", "content": "site",
         "base_url": "https://me.codeberg.page/mirror/"},
        {"name": "github", "url": str(archive_host), "branch": "main"},
    ])  # fmt: skip
    add_posts(repo, NYT)
    publish(repo)  # the archive goes to the archive remote only
    assert head_of(archive_host, "main") == git(repo, "rev-parse", "HEAD")
    assert head_of(pages, "pages") is None
    build_site(repo, tmp_path / "site")
    before = (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"))
    assert main(["publish", "--archive", str(repo), "--site", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("codeberg: pushed (") and len(out) == 2
    files = git(pages, "ls-tree", "-r", "--name-only", "pages").splitlines()
    assert "index.html" in files and "mirrors.html" in files and "static/style.css" in files
    assert not any(f.startswith("_posts/") or f == ".newsmirror-stamp" for f in files)
    assert git(pages, "rev-list", "--count", "pages") == "1"
    # The archive's branch, index and working tree are as they were.
    assert (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")) == before

    add_posts(repo, RFI)
    build_site(repo, tmp_path / "site")
    result = publish_site(repo, tmp_path / "site")
    assert [r.status for r in result.remotes] == ["pushed"]
    assert git(pages, "rev-list", "--count", "pages") == "1"  # replaced, not stacked
    assert any("北约" in f for f in git(pages, "ls-tree", "-r", "--name-only", "pages").splitlines())


def test_publish_site_needs_a_site_remote_and_a_built_site(
    repo: Path, hosts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", "--archive", str(repo), "--site", str(tmp_path)]) == 2
    assert 'no [[publish.remotes]] with content = "site"' in capsys.readouterr().err
    configure(repo, [{"name": "pages", "url": str(hosts["github"]), "content": "site"}])
    assert main(["publish", "--archive", str(repo), "--site", str(tmp_path / "none")]) == 2
    assert "no index.html: build the site first" in capsys.readouterr().err
