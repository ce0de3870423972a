"""Making an archive (`newsmirror init`) and checking one before a command works on it."""

from __future__ import annotations

from pathlib import Path

from ..archive.config import CONFIG_FILE, load_settings
from ..archive.fsutil import atomic_write
from ..archive.subscriptions import SUBS_FILE, load_subscriptions
from ..models import ConfigError
from ..site.config import DEFAULT_TITLE, load_site_config
from .configdoc import config_template


def init_archive(folder: Path, *, title: str = DEFAULT_TITLE) -> list[tuple[Path, bool]]:
    """Make `folder` an archive: a commented newsmirror.toml (every setting at
    its default, the site's title set) and an empty subs.json. A file that is
    already there is kept as it is (an old generator's archive keeps its list).
    Returns (path, written) for both."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(folder, "exists and is not a folder")
    if not title.strip():
        raise ConfigError(folder, "the site title must not be empty")
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for name, text in ((CONFIG_FILE, config_template(title)), (SUBS_FILE, "[]\n")):
        path = folder / name
        written = not path.exists()
        if written:
            atomic_write(path, text)
        done.append((path, written))
    return done


def check_archive(archive: Path) -> None:
    """Read and check everything an archive's files say ([settings], [site],
    the feed list), so that a bad setting fails every command at its start
    with one line (ConfigError), not halfway through a run or at the build."""
    load_site_config(archive)
    settings = load_settings(archive)
    if (archive / SUBS_FILE).exists() or (archive / CONFIG_FILE).exists():
        load_subscriptions(archive, settings.feed_defaults)
