"""`newsmirror init --github-actions`: valid workflows that call real commands."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsmirror.archive.credentials import PROXY_ENV
from newsmirror.archive.store import Store
from newsmirror.cli import build_parser, main
from newsmirror.models import ConfigError
from newsmirror.ops import workflows as wf
from newsmirror.ops.workflows import CONCURRENCY_GROUP, install_spec, write_workflows

NAMES = ["ingest.yml", "pages.yml", "retention.yml"]
SPEC = "git+https://github.com/example/newsmirror.git@v0.1.0"


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@pytest.fixture
def workflows(tmp_path: Path) -> dict[str, dict[Any, Any]]:
    paths = write_workflows(tmp_path, SPEC)
    assert [p.name for p in paths] == NAMES
    assert all(p.parent == tmp_path / ".github" / "workflows" for p in paths)
    return {p.name: load(p) for p in paths}


def run_lines(doc: dict[Any, Any]) -> list[str]:
    return [
        line.strip()
        for job in doc["jobs"].values()
        for step in job.get("steps", [])
        for line in step.get("run", "").splitlines()
        if line.strip()
    ]


def test_structure(workflows: dict[str, dict[Any, Any]]) -> None:
    for name, doc in workflows.items():
        assert doc["name"] == name.removesuffix(".yml")
        assert doc["concurrency"] == {"group": CONCURRENCY_GROUP, "cancel-in-progress": False}
        assert "workflow_dispatch" in doc["on"]
        for job in doc["jobs"].values():
            assert job["runs-on"] == "ubuntu-latest"
            assert job["steps"] and all("run" in s or "uses" in s for s in job["steps"])

    ingest = workflows["ingest.yml"]
    [cron] = [c["cron"] for c in ingest["on"]["schedule"]]
    assert len(cron.split()) == 5
    assert ingest["permissions"] == {"contents": "write"}
    lines = run_lines(ingest)
    commands = [ln for ln in lines if ln.startswith("newsmirror ")]
    assert commands == [
        "newsmirror run --archive . --only-due",
        "newsmirror recheck --archive .",
        "newsmirror publish --archive .",
    ]
    assert any(ln.startswith("git config user.email") for ln in lines)

    pages = workflows["pages.yml"]
    assert pages["on"]["workflow_run"]["workflows"] == [ingest["name"]]
    assert "_posts/**" in pages["on"]["push"]["paths"]
    assert pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    uses = [s.get("uses", "") for j in pages["jobs"].values() for s in j["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert pages["jobs"]["deploy"]["needs"] == "build"
    assert pages["jobs"]["deploy"]["environment"]["name"] == "github-pages"


def test_state_cache_path_is_the_store(tmp_path: Path, workflows: dict[str, dict]) -> None:
    with Store.open(tmp_path) as store:
        relative = store.path.relative_to(tmp_path).as_posix()
    for name in ("ingest.yml", "retention.yml"):
        steps = next(iter(workflows[name]["jobs"].values()))["steps"]
        [cache] = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
        assert cache["with"]["path"] == relative


def test_commands_exist_and_parse(workflows: dict[str, dict[Any, Any]]) -> None:
    parser = build_parser()
    seen = set()
    for doc in workflows.values():
        for line in run_lines(doc):
            argv = shlex.split(line)
            if argv[0] != "newsmirror":
                continue
            args = parser.parse_args(argv[1:])  # every option the workflow uses is real
            assert callable(args.func)
            seen.add(argv[1])
            with pytest.raises(SystemExit) as exit_info:
                main([argv[1], "--help"])
            assert exit_info.value.code == 0
    assert seen == {"run", "recheck", "publish", "build", "retention"}


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    write_workflows(tmp_path, SPEC)
    pages = tmp_path / ".github" / "workflows" / "pages.yml"
    pages.write_text("# my own edits\n")
    with pytest.raises(ConfigError, match="--force"):
        write_workflows(tmp_path, SPEC)
    assert pages.read_text() == "# my own edits\n"
    write_workflows(tmp_path, SPEC, force=True)
    assert load(pages)["name"] == "pages"


def test_cli_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["init", "--github-actions", "--archive", str(tmp_path), "--install", "0.2.0"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    made = [f"wrote {tmp_path / n}" for n in ("newsmirror.toml", "subs.json")]
    workflows = [f"wrote {tmp_path / '.github' / 'workflows' / n}" for n in NAMES]
    assert out[: len(made) + len(workflows) + 2] == made + workflows + [
        "the workflows install newsmirror from newsmirror==0.2.0 (--install (a version))",
        "next:",
    ]
    assert main(argv) == 2


def install_steps(doc: dict[Any, Any]) -> list[str]:
    """The pip install lines of every job, as the shell would run them."""
    env = doc.get("env", {})
    return [
        step["run"].replace("$NEWSMIRROR_PIP", env["NEWSMIRROR_PIP"])
        for job in doc["jobs"].values()
        for step in job.get("steps", [])
        if "pip install" in step.get("run", "")
    ]


def test_every_job_installs_what_install_names(workflows: dict[str, dict[Any, Any]]) -> None:
    for name, doc in workflows.items():
        jobs_running_newsmirror = [
            job for job in doc["jobs"].values()
            if any("newsmirror " in s.get("run", "") for s in job.get("steps", []))
        ]  # fmt: skip
        assert install_steps(doc) == [f'python -m pip install "{SPEC}"'] * len(
            jobs_running_newsmirror
        ), name
        for job in jobs_running_newsmirror:  # installed before it is used
            runs = [s.get("run", "") for s in job["steps"]]
            first_use = next(i for i, r in enumerate(runs) if r.startswith("newsmirror "))
            assert any("pip install" in r for r in runs[:first_use])


def test_the_proxy_comes_from_a_repository_secret(workflows: dict[str, dict[Any, Any]]) -> None:
    # The jobs that read [settings] (and so need ${NAME} values) get the secret ...
    for name, job in (("ingest.yml", "ingest"), ("retention.yml", "retention")):
        env = workflows[name]["jobs"][job]["env"]
        assert env == {PROXY_ENV: f"${{{{ secrets.{PROXY_ENV} }}}}"}
    # ... and no other job does.
    pages = workflows["pages.yml"]
    assert PROXY_ENV not in json.dumps(pages)


@pytest.mark.parametrize(
    ("given", "spec"),
    [
        ("0.3.1", "newsmirror==0.3.1"),
        ("newsmirror==0.3.1", "newsmirror==0.3.1"),
        ("newsmirror~=0.3", "newsmirror~=0.3"),
        (SPEC, SPEC),
        ("git+https://github.com/example/newsmirror.git@3f2a9c1", "git+https://github.com/example/newsmirror.git@3f2a9c1"),
        ("https://example.org/newsmirror-0.1.0.tar.gz", "https://example.org/newsmirror-0.1.0.tar.gz"),
    ],
)  # fmt: skip
def test_install_spec_given(tmp_path: Path, given: str, spec: str) -> None:
    assert install_spec(tmp_path, given).spec == spec


def test_install_spec_paths_are_relative_to_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "mirror"
    (archive / "vendor").mkdir(parents=True)
    wheel = archive / "vendor" / "newsmirror-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    assert install_spec(archive, str(wheel)).spec == "./vendor/newsmirror-0.1.0-py3-none-any.whl"
    monkeypatch.chdir(archive)
    assert install_spec(archive, "vendor").spec == "./vendor"
    outside = tmp_path / "elsewhere.whl"
    outside.write_bytes(b"PK")
    with pytest.raises(ConfigError, match="not inside the archive"):
        install_spec(archive, str(outside))
    with pytest.raises(ConfigError, match="no such file"):
        install_spec(archive, "vendor/missing.whl")


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("git+https://github.com/example/newsmirror.git", "name a tag or commit"),
        ("git+ssh://git@github.com/example/newsmirror.git@v1", r"only git\+https://"),
        ("file:///home/me/newsmirror", r"only git\+https://"),
    ],
)
def test_install_spec_refused(tmp_path: Path, given: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        install_spec(tmp_path, given)


class FakeDistribution:
    def __init__(self, direct_url: str | None, version: str = "0.1.0") -> None:
        self.direct_url, self.version = direct_url, version

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return self.direct_url


def checkout(folder: Path, remote: str, tag: str | None) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *args], check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip

    folder.mkdir()
    git("init", "-q")
    git("-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-q",
        "--allow-empty", "-m", "one")  # fmt: skip
    git("remote", "add", "origin", remote)
    if tag:
        git("tag", tag)
    return git("rev-parse", "HEAD")


def test_default_install_is_this_newsmirrors_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def installed(direct_url: str | None) -> None:
        monkeypatch.setattr(wf.metadata, "distribution", lambda name: FakeDistribution(direct_url))

    # pip's record of a git install (PEP 610)
    installed('{"url": "https://github.com/me/newsmirror.git", "vcs_info": {"vcs": "git", '
              '"commit_id": "' + "a" * 40 + '", "requested_revision": "v0.1.0"}}')  # fmt: skip
    assert wf.own_install_spec().spec == "git+https://github.com/me/newsmirror.git@v0.1.0"
    # an editable install of a checkout whose origin is on GitHub over ssh: its tag ...
    tagged = tmp_path / "tagged"
    checkout(tagged, "git@github.com:me/newsmirror.git", "v0.2.0")
    installed(json.dumps({"url": tagged.as_uri(), "dir_info": {"editable": True}}))
    found = wf.own_install_spec()
    assert found.spec == "git+https://github.com/me/newsmirror.git@v0.2.0"
    assert "this checkout's origin and tag" in found.origin
    # ... or its commit
    plain = tmp_path / "plain"
    commit = checkout(plain, "ssh://git@git.example.org/me/newsmirror.git", None)
    installed(json.dumps({"url": plain.as_uri(), "dir_info": {"editable": True}}))
    assert wf.own_install_spec().spec == f"git+https://git.example.org/me/newsmirror.git@{commit}"
    archive = tmp_path / "mirror"
    archive.mkdir()
    assert main(["init", "--github-actions", "--archive", str(archive)]) == 0
    [said] = [line for line in capsys.readouterr().out.splitlines() if "workflows install" in line]
    assert said.startswith(f"the workflows install newsmirror from git+https://git.example.org/"
                           f"me/newsmirror.git@{commit} (this checkout's origin and commit")  # fmt: skip
    assert install_steps(load(archive / ".github" / "workflows" / "ingest.yml")) == [
        f'python -m pip install "git+https://git.example.org/me/newsmirror.git@{commit}"']
    # a checkout whose origin the workflow cannot reach: it cannot tell, and says so
    local = tmp_path / "local"
    checkout(local, str(tmp_path / "elsewhere.git"), "v1")
    installed(json.dumps({"url": local.as_uri(), "dir_info": {"editable": True}}))
    assert wf.own_install_spec() is None
    other = tmp_path / "other"
    other.mkdir()
    assert main(["init", "--github-actions", "--archive", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give --install SPEC" in err
    assert not (other / ".github").exists()
    installed(None)  # installed from an index
    assert wf.own_install_spec().spec == "newsmirror==0.1.0"


def test_valid_against_the_github_workflow_schema(tmp_path: Path) -> None:
    paths = write_workflows(tmp_path, SPEC)
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(paths[0].read_text().replace("runs-on:", "runs-onn:"))
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(broken)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1  # the check can fail


REMOTES = """[[publish.remotes]]
name = "gitlab"
url = "https://gitlab.com/me/news.git"
token_env = "GITLAB_TOKEN"

[[publish.remotes]]
name = "codeberg"
url = "https://codeberg.org/me/news.git"
branch = "pages"
content = "site"
token_env = "CODEBERG_TOKEN"
base_url = "https://me.codeberg.page/news/"
"""


def test_remotes_get_their_secrets_and_a_mirrors_job(tmp_path: Path) -> None:
    (tmp_path / "newsmirror.toml").write_text(REMOTES, encoding="utf-8")
    paths = write_workflows(tmp_path, SPEC)
    docs = {p.name: load(p) for p in paths}
    pages = docs["pages.yml"]
    assert set(pages["jobs"]) == {"build", "deploy", "mirrors"}
    mirrors = pages["jobs"]["mirrors"]
    assert "needs" not in mirrors  # beside the Pages deployment, not after it
    push = mirrors["steps"][-1]
    assert push["run"] == "newsmirror publish --archive . --site _site"
    assert push["env"] == {"CODEBERG_TOKEN": "${{ secrets.CODEBERG_TOKEN }}"}
    for name in ("ingest.yml", "retention.yml"):
        [step] = [s for s in docs[name]["jobs"][name.removesuffix(".yml")]["steps"]
                  if "newsmirror publish" in s.get("run", "")]  # fmt: skip
        assert step["env"] == {"GITLAB_TOKEN": "${{ secrets.GITLAB_TOKEN }}"}
    parser = build_parser()
    for doc in docs.values():
        for line in run_lines(doc):
            if line.startswith("newsmirror "):
                assert callable(parser.parse_args(shlex.split(line)[1:]).func)
    proc = subprocess.run(  # check-jsonschema is a test dependency
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
         "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
