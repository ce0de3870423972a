"""What every command shares: exit codes, the --archive option, logging, and
the line printed after a site build."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import newsmirror

EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 1, 2, 3

Register = Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]


def add_archive(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--archive",
        type=Path,
        default=Path("."),
        help="the archive folder, holding subs.json and _posts/ (default: .)",
    )


def setup_logging(level: int, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("newsmirror")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if level == 0 else logging.DEBUG if level > 0 else logging.WARNING)
    root.propagate = False


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        return json.dumps(data, ensure_ascii=False)


def build_site_and_report(archive: Path, out: Path | None, *, full: bool) -> None:
    """Build the site and print one line about it."""
    result = newsmirror.build_site(archive, out, full=full)
    print(
        f"site: {result.posts} posts, {result.pages_written} pages written,"
        f" {result.pages_skipped} unchanged, in {result.seconds:.2f}s"
    )
