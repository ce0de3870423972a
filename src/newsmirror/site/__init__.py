"""The static site builder: `_posts/` -> a fast, relative-linked, searchable site."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["BuildError", "BuildReport", "build_site", "init_jekyll"]
_FROM = {
    "BuildError": "build",
    "BuildReport": "build",
    "build_site": "build",
    "init_jekyll": "jekyll",
}


def __getattr__(name: str) -> Any:
    # Loaded on first use: reading the [site] settings (site.config, which every
    # command checks at its start) must not import the builder and Jinja.
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)


if TYPE_CHECKING:
    from .build import BuildError, BuildReport, build_site
    from .jekyll import init_jekyll
