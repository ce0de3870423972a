"""`newsmirror init` and `newsmirror build`: making an archive (and the
scaffolds around it: Jekyll, GitHub Actions), and its static site."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import newsmirror

from ..site.config import DEFAULT_TITLE
from .common import add_archive, add_command, build_site_and_report


def register_init(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "init", "make an archive: newsmirror.toml and subs.json",
        "Make DIR an archive: a newsmirror.toml listing every setting at its default "
        "(commented out) and an empty subs.json. Files already there are kept. "
        "--jekyll and --github-actions add those scaffolds.",
    )  # fmt: skip
    p.add_argument("dir", nargs="?", type=Path, help="the archive folder (default: --archive, .)")
    add_archive(p, needs_archive=False)
    p.add_argument("--title", default=DEFAULT_TITLE, help="the site's title")
    p.add_argument(
        "--jekyll", action="store_true", help="also a minimal Jekyll site (GitHub Pages)"
    )
    p.add_argument(
        "--github-actions",
        action="store_true",
        help="also workflows: scheduled ingest and GitHub Pages deployment",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite the --jekyll / --github-actions files"
    )
    p.set_defaults(func=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    archive: Path = args.dir if args.dir is not None else args.archive
    for path, written in newsmirror.init_archive(archive, title=args.title):
        print(f"{'wrote' if written else 'kept'} {path}{'' if written else ' (already there)'}")
    written: list[Path] = []
    if args.jekyll:
        written += newsmirror.init_jekyll(archive, force=args.force)
    if args.github_actions:
        written += newsmirror.write_workflows(archive, force=args.force)
    for path in written:
        print(f"wrote {path}")
    where = "" if archive == Path(".") else f" --archive {shlex.quote(str(archive))}"
    steps = [
        (f"newsmirror subs add https://example.com/{where}", "a blog or news site, or its feed"),
        (f"newsmirror run{where}", "fetch every feed once"),
        (f"newsmirror build{where}", "build the site"),
    ]
    width = max(len(command) for command, _ in steps)
    print("next:")
    for command, why in steps:
        print(f"  {command:<{width}}  # {why}")
    return 0


def register_build(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = add_command(
        sub, common, "build", "build the static site from _posts/",
        "Build a static site of the whole archive: works from a web server and "
        "opened from disk (file://). Only what changed is re-rendered.",
    )  # fmt: skip
    add_archive(p)
    p.add_argument("--out", type=Path, help="output folder (default: ARCHIVE/_site)")
    p.add_argument("--full", action="store_true", help="re-render every page")
    p.set_defaults(func=_cmd_build)


def _cmd_build(args: argparse.Namespace) -> int:
    # A standalone build must not read _posts/ while a run is writing them.
    with newsmirror.ArchiveLock(args.archive):
        build_site_and_report(args.archive, args.out, full=args.full)
    return 0
