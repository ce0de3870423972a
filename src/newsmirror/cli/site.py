"""`newsmirror build` and `newsmirror init`: the static site and the scaffolds
around an archive (Jekyll, GitHub Actions)."""

from __future__ import annotations

import argparse
from pathlib import Path

import newsmirror

from ..models import ConfigError
from .common import add_archive, build_site_and_report


def register_build(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "build",
        parents=[common],
        help="build the static site from _posts/",
        description="Build a static site of the whole archive: works from a web server and "
        "opened from disk (file://). Only what changed is re-rendered.",
    )
    add_archive(p)
    p.add_argument("--out", type=Path, help="output folder (default: ARCHIVE/_site)")
    p.add_argument("--full", action="store_true", help="re-render every page")
    p.set_defaults(func=_cmd_build)


def _cmd_build(args: argparse.Namespace) -> int:
    # A standalone build must not read _posts/ while a run is writing them.
    with newsmirror.ArchiveLock(args.archive):
        build_site_and_report(args.archive, args.out, full=args.full)
    return 0


def register_init(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "init",
        parents=[common],
        help="write a Jekyll site or GitHub Actions workflows around the archive",
    )
    add_archive(p)
    p.add_argument("--jekyll", action="store_true", help="a minimal Jekyll site (GitHub Pages)")
    p.add_argument(
        "--github-actions", action="store_true", help="scheduled ingest and Pages deployment"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    if not (args.jekyll or args.github_actions):
        raise ConfigError("init", "say what to write: --jekyll and/or --github-actions")
    written: list[Path] = []
    if args.jekyll:
        written += newsmirror.init_jekyll(args.archive, force=args.force)
    if args.github_actions:
        written += newsmirror.write_workflows(args.archive, force=args.force)
    for path in written:
        print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    register_build(sub, common)
    register_init(sub, common)
