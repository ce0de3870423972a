"""The `newsmirror` command: a thin layer over the library API (`newsmirror`).

One module per command group; each has `register(subparsers, common)`.
Exit codes: `common.EXIT_CODES` (also in README.md and `newsmirror --help`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import newsmirror

from ..archive.fsutil import ArchiveLocked
from ..models import NewsmirrorError
from . import bundle, demo, digest, ops, recheck, run, site, subs
from .common import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    RawHelpFormatter,
    add_global_options,
    check_archive,
    exit_codes_text,
    setup_logging,
)

# In the order `newsmirror --help` lists them: a newcomer's order.
REGISTER = (site.register_init, subs.register, run.register, recheck.register,
            site.register_build, ops.register, bundle.register, digest.register,
            demo.register)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbosity = args.verbose + args.verbose_after - args.quiet - args.quiet_after
    setup_logging(verbosity, args.log_format_after or args.log_format)
    try:
        check_archive(args)
        return int(args.func(args) or 0)
    except ArchiveLocked as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except NewsmirrorError as e:
        # A bad archive, config or input, whatever the command. Feed failures
        # never get here: they are in the run's report (exit 1 with --strict).
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("newsmirror: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_global_options(common, after_command=True)
    parser = argparse.ArgumentParser(
        prog="newsmirror",
        description="Mirror news and blog feeds into a self-hosted archive of Jekyll posts,\n"
        "and build a static site of it that works from a web server and from disk.\n\n"
        "Start with `newsmirror init mirror`, then `newsmirror subs add URL --archive mirror`.\n"
        "Options -v, -q and --log-format go before or after the command.",
        epilog=exit_codes_text(),
        formatter_class=RawHelpFormatter,
    )
    add_global_options(parser, after_command=False)
    parser.add_argument(
        "--version", action="version", version=f"newsmirror {newsmirror.__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTER:
        register(sub, common)
    return parser


__all__ = ["main", "build_parser"]
