"""What the publish tests share: an archive that is a git repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitserver import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An archive in a fresh git repository (branch main), with a state database
    that must never be published."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    git(mirror, "init", "-q", "-b", "main")
    git(mirror, "config", "user.name", "Test")
    git(mirror, "config", "user.email", "test@example.invalid")
    (mirror / "subs.json").write_text('[{"site": "纽约时报", "url": "http://127.0.0.1:9/f"}]')
    state = mirror / ".newsmirror" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"SQLite format 3\0")
    return mirror
