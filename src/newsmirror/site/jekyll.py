"""`newsmirror init --jekyll`: a minimal Jekyll site around an existing `_posts/`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..archive.fsutil import atomic_write
from ..models import NewsmirrorError

SCAFFOLD = resources.files("newsmirror") / "jekyll"


class JekyllInitError(NewsmirrorError):
    """The scaffold would overwrite the user's files (without --force)."""


def _scaffold_files() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    stack = [(SCAFFOLD, "")]
    while stack:
        folder, prefix = stack.pop()
        for item in folder.iterdir():
            if item.name.startswith((".", "__")) or item.name.endswith(".py"):
                continue
            if item.is_dir():
                stack.append((item, f"{prefix}{item.name}/"))
            else:
                out.append((prefix + item.name, item.read_bytes()))
    return sorted(out)


def init_jekyll(archive: Path, *, force: bool = False) -> list[Path]:
    """Write `_config.yml`, layouts, index and feed pages into `archive`.

    Existing files are left alone (and named in the error) unless `force`.
    Returns the files written.
    """
    archive = Path(archive)
    files = _scaffold_files()
    clashes = [rel for rel, data in files if (archive / rel).exists()
               and (archive / rel).read_bytes() != data]  # fmt: skip
    if clashes and not force:
        raise JekyllInitError(
            f"{archive}: {', '.join(clashes)} already exist; use --force to overwrite them"
        )
    written = []
    for rel, data in files:
        atomic_write(archive / rel, data)
        written.append(archive / rel)
    return written
