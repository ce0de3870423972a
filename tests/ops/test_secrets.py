"""Secrets stay out of the published archive: the proxy from NEWSMIRROR_PROXY or
`${NAME}` in newsmirror.toml, and `publish` refuses a newsmirror.toml (or
subs.json) that holds a URL with a password."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_subs
from feeds import rss, rss_item
from loopback import ForwardProxy, LoopbackServer, forward_proxy
from test_publish import git, repo  # noqa: F401 - repo: test_publish's repository fixture

from newsmirror.archive.config import load_settings
from newsmirror.archive.credentials import expand_env, url_passwords
from newsmirror.cli import main
from newsmirror.models import ConfigError
from newsmirror.ops.publish import publish

PASSWORD = "hunter2-s3cret"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as p:
        yield p


def test_publish_refuses_a_toml_with_a_proxy_password(
    repo: Path,  # noqa: F811 - the fixture
    capsys: pytest.CaptureFixture[str],
) -> None:
    (repo / "newsmirror.toml").write_text(
        f'[settings]\nuser_agent = "m/1"\nproxy = "socks5://mirror:{PASSWORD}@127.0.0.1:1080"\n'
    )
    with pytest.raises(ConfigError, match=r"newsmirror.toml: line 3: a URL with a password"):
        publish(repo, push=False)
    assert main(["publish", "--archive", str(repo), "--no-push"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "socks5://mirror:***@" in err
    assert PASSWORD not in err  # CI logs are public too
    # Nothing was committed or even staged: not the posts, not the file.
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True).returncode
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_publish_refuses_a_commented_password_and_one_in_subs_json(repo: Path) -> None:  # noqa: F811
    (repo / "newsmirror.toml").write_text(f'# proxy = "http://me:{PASSWORD}@10.0.0.1:3128"\n')
    with pytest.raises(ConfigError, match="line 1"):
        publish(repo, push=False)
    (repo / "newsmirror.toml").unlink()
    write_subs(repo, [("private", f"https://reader:{PASSWORD}@feeds.example/private.xml")])
    with pytest.raises(ConfigError, match=r"subs.json: line 1: a URL with a password"):
        publish(repo, push=False)


def test_publish_commits_a_toml_that_names_the_secret_only(repo: Path) -> None:  # noqa: F811
    text = '[settings]\nproxy = "socks5://mirror:${PROXY_PASSWORD}@127.0.0.1:1080"\n'
    (repo / "newsmirror.toml").write_text(text)
    result = publish(repo, push=False)
    assert result.committed
    assert git(repo, "show", "HEAD:newsmirror.toml") == text.strip()


def test_url_passwords() -> None:
    text = (
        'a = "https://example.org/feed"\n'  # no userinfo
        'b = "https://token@example.org/feed"\n'  # a user name only: not a password
        'c = "socks5h://u:@127.0.0.1:1080"\n'  # an empty password
        'd = "socks5://u:${P}@127.0.0.1"\n'  # a reference, expanded at run time
        'e = "http://u:p%40ss@proxy.example:3128" # f = "https://x:y@z.example"\n'
    )
    assert url_passwords(text) == [(5, "http://u:***@"), (5, "https://x:***@")]


def test_expand_env(tmp_path: Path) -> None:
    env = {"PASS": "p@ss", "EMPTY": ""}
    data = {"proxy": "socks5://u:${PASS}@h:1", "n": 3, "tags": ["$$5 ${EMPTY}x"]}
    assert expand_env(data, tmp_path, "settings", env) == {
        "proxy": "socks5://u:p@ss@h:1", "n": 3, "tags": ["$5 x"]}  # fmt: skip
    with pytest.raises(ConfigError) as error:
        expand_env({"feeds": [{"url": "https://x.example/?k=${API_KEY}"}]}, tmp_path, "", env)
    assert str(error.value) == f"{tmp_path}: feeds[1].url: ${{API_KEY}} is not set in the environment"


def test_settings_take_the_proxy_from_the_environment(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSMIRROR_PROXY", raising=False)
    assert load_settings(archive).fetch.proxy is None
    monkeypatch.setenv("NEWSMIRROR_PROXY", "")  # an unset repository secret: no proxy
    assert load_settings(archive).fetch.proxy is None
    monkeypatch.setenv("NEWSMIRROR_PROXY", "http://env:pw@127.0.0.1:3128")
    assert load_settings(archive).fetch.proxy == "http://env:pw@127.0.0.1:3128"
    assert load_settings(archive, proxy="http://cli:1").fetch.proxy == "http://cli:1"
    (archive / "newsmirror.toml").write_text('[settings]\nproxy = "http://u:${PW}@toml:1"\n')
    monkeypatch.setenv("PW", "x")
    assert load_settings(archive).fetch.proxy == "http://u:x@toml:1"  # the file wins
    monkeypatch.delenv("PW")
    with pytest.raises(ConfigError, match=r"settings.proxy: \$\{PW\} is not set"):
        load_settings(archive)


@pytest.mark.parametrize("how", ["NEWSMIRROR_PROXY", "${VAR} in newsmirror.toml"])
def test_a_run_uses_the_proxy_and_its_password_from_the_environment(
    how: str, archive: Path, server: LoopbackServer, proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in ("NEWSMIRROR_PROXY", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = server.route("/feed.xml", rss([rss_item(title="经代理", link="https://n.example/1")]))
    write_subs(archive, [("site", url)])
    authority = proxy.base_url.removeprefix("http://")
    if how == "NEWSMIRROR_PROXY":
        monkeypatch.setenv("NEWSMIRROR_PROXY", f"http://mirror:{PASSWORD}@{authority}")
    else:
        monkeypatch.setenv("MIRROR_PROXY_PASSWORD", PASSWORD)
        (archive / "newsmirror.toml").write_text(
            f'[settings]\nproxy = "http://mirror:${{MIRROR_PROXY_PASSWORD}}@{authority}"\n'
        )
    assert main(["run", "--archive", str(archive), "--content", "raw", "-q"]) == 0
    assert len(list((archive / "_posts").iterdir())) == 1
    [request] = [r for r in proxy.requests if r.target == url]
    expected = base64.b64encode(f"mirror:{PASSWORD}".encode()).decode()
    assert request.headers["Proxy-Authorization"] == f"Basic {expected}"
    # The report the run leaves in the archive does not hold the password.
    for path in (archive / ".newsmirror" / "reports").iterdir():
        assert PASSWORD not in path.read_text(encoding="utf-8")
