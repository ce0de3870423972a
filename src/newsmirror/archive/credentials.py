"""Keeping secrets out of the archive, which `publish` pushes to a public
repository: `${VAR}` in newsmirror.toml takes a value from the environment,
and `url_passwords` finds URLs that hold a password in a file's text."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..models import ConfigError

PROXY_ENV = "NEWSMIRROR_PROXY"  # the proxy, when newsmirror.toml and --proxy give none

_REFERENCE = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\})")
# scheme://user:password@ : a password is whatever follows the first colon of the
# userinfo; an empty one, or one that is only a ${VAR} reference, is no secret.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^\s/@:\"'<>]*):([^\s/@\"'<>]+)@")


def expand_env(
    data: Any, path: Path, where: str = "", env: Mapping[str, str] | None = None
) -> Any:
    """`data` (parsed TOML) with `${NAME}` in every string replaced by the
    environment variable NAME; `$$` is a literal `$`. An unset variable is a
    one-line ConfigError naming the file, the key and the variable."""
    env = os.environ if env is None else env
    if isinstance(data, dict):
        return {k: expand_env(v, path, f"{where}.{k}" if where else k, env) for k, v in data.items()}
    if isinstance(data, list):
        return [expand_env(v, path, f"{where}[{i + 1}]", env) for i, v in enumerate(data)]
    if not isinstance(data, str) or "$" not in data:
        return data

    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        if name is None:
            return "$"
        if name not in env:
            raise ConfigError(path, f"{where}: ${{{name}}} is not set in the environment")
        return env[name]

    return _REFERENCE.sub(value, data)


def url_passwords(text: str) -> list[tuple[int, str]]:
    """(line number, the URL's start with the password masked) for every URL in
    `text` that holds a password, comments included: they are published too."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _USERINFO.finditer(line):
            scheme, user, password = match.groups()
            if _REFERENCE.fullmatch(password) is None:
                found.append((number, f"{scheme}{user}:***@"))
    return found


def refuse_published_secrets(path: Path) -> None:
    """A one-line ConfigError when the file at `path` holds a URL with a password."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    except OSError as e:
        raise ConfigError(path, f"cannot read: {e.strerror}") from None
    found = url_passwords(text)
    if found:
        line, masked = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ConfigError(
            path,
            f"line {line}: a URL with a password ({masked}...){more}; publishing would make it "
            f"public. Not committed: put the proxy in {PROXY_ENV}, or write ${{NAME}} in its "
            "place and set NAME in the environment (a repository secret on GitHub Actions)",
        )
