"""The hosts an archive is published to: `[[publish.remotes]]` of newsmirror.toml.

    [[publish.remotes]]
    name = "codeberg"                                   # letters, digits, . _ -
    url = "https://codeberg.org/me/mirror.git"          # any URL git can push to
    branch = "pages"                                    # default: the current branch
    base_url = "https://me.codeberg.page/mirror/"       # where readers find it (optional)
    token_env = "CODEBERG_TOKEN"                        # optional: HTTPS token, read from
    username = "me"                                     #   the environment at push time
    content = "site"                                    # "archive" (default) or "site"

A remote gets the archive's commits (`content = "archive"`: a host that builds
the site itself, as GitHub Actions does), or the built site (`"site"`: a host
that serves a branch's files as they are, as Codeberg Pages does), pushed
by `publish --site _site` after a build.

`publish` pushes to each (ops/publish.py); every site build lists the base
URLs in mirrors.html and mirrors.json, so that a reader who finds one mirror
blocked can find the others. newsmirror.toml is committed with the archive,
so it never holds a secret: a URL with a password is refused here, and a
token is named by the environment variable that holds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..models import ConfigError
from ..util.urls import is_http_url
from .config import CONFIG_FILE, read_config

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELDS = {"name", "url", "branch", "base_url", "token_env", "username", "content"}
CONTENTS = ("archive", "site")


@dataclass(frozen=True)
class PublishRemote:
    name: str
    url: str  # what git pushes to: https://..., ssh://..., git@host:path, or a folder
    branch: str | None = None  # None: the branch checked out in the archive
    base_url: str | None = None  # where the pushed site is served, for the mirror list
    token_env: str | None = None  # the environment variable holding an HTTPS token
    username: str = "newsmirror"  # sent with the token (some hosts want the account name)
    content: str = "archive"  # what is pushed: the archive's commits, or the built "site"


def load_remotes(archive: Path) -> list[PublishRemote]:
    """The `[[publish.remotes]]` of `archive/newsmirror.toml`, checked; [] when none."""
    path = archive / CONFIG_FILE
    publish = read_config(archive).get("publish", {})
    if not isinstance(publish, dict):
        raise ConfigError(path, "[publish] must be a table")
    unknown = set(publish) - {"remotes"}
    if unknown:
        raise ConfigError(path, f"[publish]: unknown setting(s) {', '.join(sorted(unknown))}")
    raw = publish.get("remotes", [])
    if not isinstance(raw, list):
        raise ConfigError(path, "publish.remotes must be an array of tables ([[publish.remotes]])")
    remotes = [_remote(path, i, item) for i, item in enumerate(raw, start=1)]
    seen: set[str] = set()
    for remote in remotes:
        if remote.name.casefold() in seen:
            raise ConfigError(path, f"publish.remotes: the name {remote.name!r} is used twice")
        seen.add(remote.name.casefold())
    return remotes


def _remote(path: Path, index: int, raw: Any) -> PublishRemote:
    where = f"publish.remotes[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(path, f"{where}: expected a table")
    values = {k: v for k, v in raw.items()}
    unknown = set(values) - _FIELDS
    if unknown:
        raise ConfigError(path, f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(path, f"{where}: {key} must be a non-empty string, got {value!r}")
    name = values.get("name", "")
    if not _NAME.match(name):
        raise ConfigError(
            path, f"{where}: name must be letters, digits, '.', '_' or '-', got {name!r}"
        )
    where = f"{where} ({name})"
    url = values.get("url")
    if url is None:
        raise ConfigError(path, f"{where}: url is missing")
    if has_password(url):
        raise ConfigError(
            path,
            f"{where}: the url holds a password; newsmirror.toml is published with the "
            "archive, so name the environment variable holding the token in token_env",
        )
    base_url = values.get("base_url")
    if base_url is not None and not is_http_url(base_url):
        raise ConfigError(path, f"{where}: base_url must be an http(s) URL, got {base_url!r}")
    token_env = values.get("token_env")
    if token_env is not None and not _ENV_NAME.match(token_env):
        raise ConfigError(path, f"{where}: token_env must be an environment variable's name")
    content = values.get("content", "archive")
    if content not in CONTENTS:
        raise ConfigError(path, f"{where}: content must be archive | site, got {content!r}")
    branch = values.get("branch")
    if branch is not None and (branch.startswith("-") or not re.match(r"^[\w./-]+$", branch)):
        raise ConfigError(path, f"{where}: branch {branch!r} is not a branch name")
    return PublishRemote(
        name=name,
        url=url.strip(),
        branch=branch,
        base_url=base_url.strip() if base_url else None,
        token_env=token_env,
        username=values.get("username", "newsmirror"),
        content=content,
    )


def has_password(url: str) -> bool:
    """Does a URL carry a password (`https://user:secret@host/...`)?"""
    if "://" not in url:
        return False  # scp-like `git@host:path` or a folder: no password field
    try:
        return urlsplit(url.strip()).password is not None
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    """The URL as it may be printed: no user name or password."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def site_mirrors(remotes: list[PublishRemote]) -> list[tuple[str, str]]:
    """(name, base URL) of every remote that says where it is served, in config order."""
    return [(r.name, r.base_url) for r in remotes if r.base_url]
