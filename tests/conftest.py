from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import LoopbackServer  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# What some tests need from the machine. scripts/setup --system installs the
# tools, and CI runs as root; so in CI a missing one is a broken install step.
TOOLS: dict[str, Callable[[], bool]] = {
    "chromium": lambda: bool(shutil.which("chromium") and shutil.which("chromedriver")),
    "jekyll": lambda: shutil.which("jekyll") is not None,
    "node": lambda: bool(shutil.which("node") and shutil.which("npm")),
    "root": lambda: os.geteuid() == 0,
    "epubcheck": lambda: Path("/usr/share/java/epubcheck.jar").is_file() and bool(shutil.which("java")),
}
# Markers that imply a tool (pyproject.toml [tool.pytest.ini_options] markers).
_MARKER_TOOLS = {"browser": "chromium", "jekyll": "jekyll"}


def tool_path(name: str) -> Path:
    """Where a command is (Debian's /usr/bin when it is not on PATH at all)."""
    return Path(shutil.which(name) or f"/usr/bin/{name}")


def in_ci() -> bool:
    """CI is set (GitHub Actions and most CI services set CI=true; .ci/run sets CI=1)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(tool: str, why: str = "") -> None:
    """Skip the calling test when `tool` is missing here, but fail it in CI,
    where a skip would hide a missing install step."""
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}: one of {', '.join(TOOLS)}")
    if TOOLS[tool]():
        return
    text = f"needs {tool}" + (f" ({why})" if why else "")
    if in_ci():
        pytest.fail(f"{text}: missing in CI, where scripts/setup --system must provide it",
                    pytrace=False)  # fmt: skip
    pytest.skip(text)


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's cache folder (site/scriptswitch.py keeps tables there) is one of
    this session's, for the tests and the newsmirror processes they start."""
    was = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if was is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = was


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(tool, ...): see tests/conftest.py TOOLS")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers():
        if marker.name == "needs":
            for tool in marker.args:
                require(tool)
        elif marker.name in _MARKER_TOOLS:
            require(_MARKER_TOOLS[marker.name])


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    return folder


def write_subs(archive: Path, subs: list[tuple[str, str]]) -> None:
    data = [{"site": site, "url": url} for site, url in subs]
    (archive / "subs.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def posts_of(archive: Path) -> dict[str, str]:
    folder = archive / "_posts"
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}
