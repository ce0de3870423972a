from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import LoopbackServer  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


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
