"""No silent skips in CI: a test whose tool is missing skips locally and fails
when CI is set (tests/conftest.py `require` and its marker hook)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
NEEDS_BROWSER = """
import pytest

@pytest.mark.browser
def test_opens_a_page():
    pass

@pytest.mark.needs("node")
def test_runs_node():
    pass

def test_needs_nothing():
    pass
"""


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """pytest on `folder` with tests/conftest.py as a plugin and an empty PATH
    (so chromium, chromedriver and node are all missing)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PATH": str(folder / "empty"), "PYTHONPATH": str(TESTS)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rsf",
         "--rootdir", str(folder), "-c", os.devnull, str(folder / "test_tools.py")],
        capture_output=True, text=True, timeout=120, env=env, cwd=folder,
    )  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    (tmp_path / "test_tools.py").write_text(NEEDS_BROWSER)
    return tmp_path


def test_missing_tools_skip_outside_ci(folder: Path) -> None:
    for ci in (None, "false"):
        done = run_pytest(folder, ci)
        assert done.returncode == 0, done.stdout
        last = done.stdout.strip().splitlines()[-1]
        assert "1 passed" in last and "2 skipped" in last, done.stdout
        assert "needs chromium" in done.stdout and "needs node" in done.stdout


def test_missing_tools_fail_in_ci(folder: Path) -> None:
    for ci in ("1", "true"):
        done = run_pytest(folder, ci)
        assert done.returncode == 1, done.stdout
        # A failure in setup is reported as an error: the test did not pass.
        last = done.stdout.strip().splitlines()[-1]
        assert "1 passed" in last and "2 errors" in last, done.stdout
        assert "needs chromium: missing in CI" in done.stdout


def test_ci_script_sets_ci() -> None:
    # .ci/run must say it is CI, or the failures above never happen there.
    script = (TESTS.parent / ".ci" / "run").read_text()
    assert "export CI=1" in script.splitlines()
