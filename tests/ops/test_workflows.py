"""`newsmirror init --github-actions`: valid workflows that call real commands."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from newsmirror.archive.store import Store
from newsmirror.cli import build_parser, main
from newsmirror.models import ConfigError
from newsmirror.ops.workflows import CONCURRENCY_GROUP, write_workflows

NAMES = ["ingest.yml", "pages.yml", "retention.yml"]


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@pytest.fixture
def workflows(tmp_path: Path) -> dict[str, dict[Any, Any]]:
    paths = write_workflows(tmp_path)
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
    write_workflows(tmp_path)
    pages = tmp_path / ".github" / "workflows" / "pages.yml"
    pages.write_text("# my own edits\n")
    with pytest.raises(ConfigError, match="--force"):
        write_workflows(tmp_path)
    assert pages.read_text() == "# my own edits\n"
    write_workflows(tmp_path, force=True)
    assert load(pages)["name"] == "pages"


def test_cli_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--github-actions", "--archive", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    made = [f"wrote {tmp_path / n}" for n in ("newsmirror.toml", "subs.json")]
    workflows = [f"wrote {tmp_path / '.github' / 'workflows' / n}" for n in NAMES]
    assert out[: len(made) + len(workflows)] == made + workflows
    assert out[len(made) + len(workflows)] == "next:"
    assert main(["init", "--github-actions", "--archive", str(tmp_path)]) == 2


@pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None, reason="check-jsonschema not installed"
)
def test_valid_against_the_github_workflow_schema(tmp_path: Path) -> None:
    paths = write_workflows(tmp_path)
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
    paths = write_workflows(tmp_path)
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
    if importlib.util.find_spec("check_jsonschema") is not None:
        proc = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
             "vendor.github-workflows", *map(str, paths)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
