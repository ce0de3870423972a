"""The project builds an sdist and a wheel (`python -m build`), and the install
line of the generated workflows installs that wheel into a working newsmirror.

The build uses the venv's setuptools (`--no-isolation`, no network); the wheel
is built from the sdist, so a file missing from the sdist fails here too.
pip runs the workflow's own line, kept offline with PIP_NO_INDEX/PIP_NO_DEPS
and installing into a folder (PIP_TARGET); the dependencies come from the venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from newsmirror.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def test_sdist_and_wheel_hold_the_package(dist: Path) -> None:
    [sdist] = dist.glob("newsmirror-*.tar.gz")
    [wheel] = dist.glob("newsmirror-*.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {Path(*Path(n).parts[1:]).as_posix() for n in tar.getnames()}
    assert {"pyproject.toml", "setup.py", "src/newsmirror/site/_textscan.c"} <= in_sdist
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = set(zf.namelist())
    sources = {p.relative_to(ROOT / "src").as_posix()
               for p in (ROOT / "src" / "newsmirror").rglob("*")
               if p.is_file() and p.suffix not in (".pyc", ".so")}  # fmt: skip
    assert sources - in_wheel == set()  # every module, template, rule and demo feed


def test_the_workflow_install_line_installs_a_working_newsmirror(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "mirror"
    (archive / "vendor").mkdir(parents=True)
    [wheel] = dist.glob("newsmirror-*.whl")
    vendored = archive / "vendor" / wheel.name
    vendored.write_bytes(wheel.read_bytes())
    assert main(["init", "--github-actions", "--archive", str(archive),
                 "--install", str(vendored)]) == 0  # fmt: skip
    doc = yaml.safe_load((archive / ".github" / "workflows" / "ingest.yml").read_text())
    [step] = [s for s in doc["jobs"]["ingest"]["steps"] if "pip install" in s.get("run", "")]
    assert doc["env"]["NEWSMIRROR_PIP"] == f"./vendor/{wheel.name}"

    bin_dir, target = tmp_path / "bin", tmp_path / "site-packages"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, **doc["env"], "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1", "PIP_TARGET": str(target),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
    done = subprocess.run(["bash", "-ec", step["run"]], cwd=archive, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    # The installed copy, not this checkout, runs the demo and builds its site.
    run_env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import newsmirror.cli as c; print(c.__file__)"],
                           env=run_env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(target)
    demo = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "newsmirror", "demo", "--archive", str(demo),
                           "--build"], env=run_env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((demo / "_posts").iterdir())) >= 5
    assert (demo / "_site" / "index.html").is_file() and (demo / "_site" / "search.html").is_file()
