"""What every command shares: exit codes, help formatting, the global and
--archive options, logging, and the lines printed after a site build."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import newsmirror

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_PARTIAL = 4

# The table README.md shows too (tests/cli/test_cli.py compares them).
EXIT_CODES = (
    (EXIT_OK, "done; feeds that failed are in the report"),
    (EXIT_FAILED, "`run --strict` and a feed failed"),
    (
        EXIT_CONFIG,
        "the command could not do its work, whatever the command: a bad archive, settings,"
        " feed list, command line or input file, or git refused (one line says why)",
    ),
    (EXIT_LOCKED, "another newsmirror process holds the archive"),
    (EXIT_PARTIAL, "`publish` reached some of its [[publish.remotes]] but not all (a line each)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
)

Register = Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]


class HelpFormatter(argparse.HelpFormatter):
    """Every option that takes a value shows its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "default" in text
            or not action.option_strings
            or action.default in (None, False, argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: %(default)s)"


class RawHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """The same, with the description and epilog (the exit codes table) as written."""


def exit_codes_text() -> str:
    rows = (
        textwrap.fill(what, 78, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7)
        for code, what in EXIT_CODES
    )
    return "exit codes:\n" + "\n".join(rows)


def add_command(
    sub: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A command with the global options and newsmirror's help format."""
    return sub.add_parser(
        name,
        parents=[common],
        help=help,
        description=description or help[0].upper() + help[1:] + ".",
        formatter_class=HelpFormatter,
    )


def add_global_options(p: argparse.ArgumentParser, *, after_command: bool) -> None:
    """-v, -q and --log-format, before the command and after it. After it they
    go to their own names with no defaults, so that a subcommand's parser does
    not reset what was given before the command (`newsmirror -q run`)."""
    suffix = "_after" if after_command else ""
    p.add_argument(
        "-v", "--verbose", action="count", default=0, dest="verbose" + suffix,
        help="more log output (repeat for more)",
    )  # fmt: skip
    p.add_argument(
        "-q", "--quiet", action="count", default=0, dest="quiet" + suffix,
        help="less log output: warnings and errors only",
    )  # fmt: skip
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None if after_command else "text",
        dest="log_format" + suffix,
        help="log lines as text or as JSON objects (default: text)",
    )


def add_archive(
    p: argparse.ArgumentParser, *, needs_archive: bool = True, default: str = "."
) -> None:
    p.add_argument(
        "--archive",
        type=Path,
        default=Path(default),
        help=f"the archive folder, holding subs.json, newsmirror.toml and _posts/ (default: {default})",
    )
    p.set_defaults(needs_archive=needs_archive)


def check_archive(args: argparse.Namespace) -> None:
    """Before any command works on an archive: it exists (when the command
    needs one) and its settings and feed list are valid (exit 2 otherwise)."""
    archive: Path | None = getattr(args, "archive", None)
    if archive is None:
        return
    if getattr(args, "needs_archive", False) and not archive.is_dir():
        raise newsmirror.ConfigError(
            archive, "no such archive folder (make one with `newsmirror init`)"
        )
    newsmirror.check_archive(archive)


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
    """Build the site and print what was built and the file:// URL to open."""
    if not (archive / "_posts").is_dir():
        raise newsmirror.ConfigError(archive, "no posts yet: run `newsmirror run` first")
    out = out if out is not None else archive / "_site"
    result = newsmirror.build_site(archive, out, full=full)
    for line in result.summary_lines():
        print(line)
