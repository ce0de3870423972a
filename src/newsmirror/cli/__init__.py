"""The `newsmirror` command: a thin layer over the library API (`newsmirror`).

One module per command group; each has `register(subparsers, common)`.

Exit codes: 0 done (feeds may have failed; see the report), 1 `--strict` and
something failed, 2 bad config or usage, 3 the archive is locked by another run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..archive.fsutil import ArchiveLocked
from ..models import ConfigError, NewsmirrorError
from . import demo, ops, recheck, run, site, subs
from .common import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, setup_logging

COMMAND_GROUPS = (run, recheck, subs, demo, site, ops)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose - args.quiet, args.log_format)
    try:
        return int(args.func(args) or 0)
    except ArchiveLocked as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except ConfigError as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except NewsmirrorError as e:
        print(f"newsmirror: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("newsmirror: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    common.add_argument("-q", "--quiet", action="count", default=0, help="less log output")
    common.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log line format"
    )
    parser = argparse.ArgumentParser(
        prog="newsmirror",
        description="Mirror news and blog feeds into a self-hosted archive of Jekyll posts.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub, common)
    return parser


__all__ = ["main", "build_parser"]
