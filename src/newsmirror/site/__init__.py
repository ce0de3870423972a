"""The static site builder: `_posts/` -> a fast, relative-linked, searchable site."""

from .build import BuildError, BuildReport, build_site
from .jekyll import init_jekyll

__all__ = ["BuildError", "BuildReport", "build_site", "init_jekyll"]
