"""The settings written out from their definitions (`archive.config.SETTINGS`,
`site.config.SITE_SETTINGS`, `archive.config.FEED_OPTIONS`): the commented
newsmirror.toml that `newsmirror init` writes, and docs/configuration.md.

    python -m newsmirror.ops.configdoc docs/configuration.md   # regenerate the page

tests/ops/test_configdoc.py fails when the page differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..archive.config import FEED_OPTIONS, RECHECK_SETTINGS, SETTINGS, Definition, toml_value
from ..archive.fsutil import atomic_write
from ..site.config import DEFAULT_TITLE, SITE_SETTINGS

GROUP_TITLES = {
    "fetch": "Fetching",
    "feed": "Defaults for every feed (a `[[feeds]]` entry can set its own)",
    "schedule": "Schedule (`watch`)",
    "images": "Images (`mirror_images`)",
    "archive": "The archive",
    "site": "The site",
}
GROUPS = ("fetch", "feed", "schedule", "images", "archive")  # in [settings], in this order
# Shown for settings whose default is "unset".
EXAMPLES = {"proxy": "socks5://127.0.0.1:1080", "retention_days": 365}


def _kind_text(d: Definition) -> str:
    if d.choices:
        return " \\| ".join(toml_value(c) for c in d.choices)
    words = {bool: "true/false", int: "whole number", float: "number", str: "text"}
    kind = words[d.kind]
    if d.minimum is not None or d.maximum is not None:
        kind += f", {d.range_text()}"
    return kind


def _default_text(d: Definition) -> str:
    return "unset" if d.default is None else toml_value(d.default)


def config_template(title: str = DEFAULT_TITLE) -> str:
    """newsmirror.toml for a new archive: every setting commented out at its
    default, with its help; the site title set."""
    lines = [
        "# newsmirror.toml: this archive's settings. Each setting is shown with its",
        "# default, commented out: remove the leading # to change one. All of them",
        "# are described in newsmirror's docs/configuration.md.",
        "",
        "[settings]",
    ]
    for group in GROUPS:
        lines += ["", f"# ---- {GROUP_TITLES[group].split(' (')[0].lower()} ----"]
        for d in (d for d in SETTINGS if d.group == group):
            lines += ["", *_commented(d)]
    lines += ["", "[recheck]", "# Re-checking the originals of recent posts (`newsmirror recheck`, `watch`)."]
    for d in RECHECK_SETTINGS:
        lines += ["", *_commented(d)]
    lines += ["", "[site]"]
    for d in SITE_SETTINGS:
        if d.name == "title":
            lines += ["", f"# {d.help}", f"title = {toml_value(title)}"]
        else:
            lines += ["", *_commented(d)]
    lines += [
        "",
        "# Feeds are listed in subs.json (`newsmirror subs add URL`). A [[feeds]] table",
        "# here adds a feed with options of its own, or sets options on a subs.json feed",
        "# with the same URL:",
        "# [[feeds]]",
        '# site = "Solidot"',
        '# url = "https://www.solidot.org/index.rss"',
        '# content = "raw"',
        "",
        "# Hosts `newsmirror publish` pushes to (see docs/configuration.md):",
        "# [[publish.remotes]]",
        '# name = "codeberg"',
        '# url = "https://codeberg.org/me/mirror.git"',
        '# base_url = "https://me.codeberg.page/mirror/"',
        '# token_env = "CODEBERG_TOKEN"',
        "",
    ]
    return "\n".join(lines)


def _commented(d: Definition) -> list[str]:
    if d.default is not None:
        return [f"# {d.help}", f"# {d.name} = {toml_value(d.default)}"]
    if d.name in EXAMPLES:
        unset = "" if "unset" in d.help else " (unset by default)"
        return [f"# {d.help}{unset}", f"# {d.name} = {toml_value(EXAMPLES[d.name])}"]
    return [f"# {d.help}", f"# {d.name}: unset by default"]


def configuration_markdown() -> str:
    """docs/configuration.md."""
    out = [
        "# Configuration",
        "",
        "<!-- Generated from the settings' definitions in the code"
        " (src/newsmirror/archive/config.py, site/config.py, models.py)"
        " by `python -m newsmirror.ops.configdoc docs/configuration.md`. Do not edit:"
        " tests/ops/test_configdoc.py fails when this page differs. -->",
        "",
        "An archive is a folder with two files that newsmirror reads; `newsmirror init`",
        "makes both. Every command checks them when it starts: an unknown setting, a",
        "wrong type or value is one line naming the file and setting, and exit code 2.",
        "",
        "- `subs.json`: the feeds, as existing mirrors list them:",
        '  `[{"site": "中央社", "url": "https://example.com/cna.xml"}]`, with an optional',
        '  `"category"` (the OPML folder; `/` nests folders). Two entries for one feed',
        "  (the same URL, up to scheme and host case, default port and fragment) are an",
        "  error naming both. Feeds that share a site name share one source page.",
        "- `newsmirror.toml`: the settings below, in `[settings]`, `[recheck]` and `[site]`, and",
        "  `[[feeds]]` and `[[rules]]` tables.",
        "",
        "Command-line options of `run` (`--concurrency`, `--timeout`, ...) override",
        "`[settings]`; a `[[feeds]]` entry's options override the feed defaults.",
        "",
        "## `[settings]`",
    ]
    for group in GROUPS:
        out += ["", f"### {GROUP_TITLES[group]}", ""]
        out += _table([d for d in SETTINGS if d.group == group])
    out += _recheck_section()
    out += ["", "## `[site]`", ""]
    out += _table(list(SITE_SETTINGS))
    out += [
        "",
        "## `[[feeds]]`",
        "",
        "Each `[[feeds]]` table adds a feed, or sets options on the subs.json feed with",
        "the same URL. `site` and `url` are required for a new feed; `category` files it",
        "under a folder. It can also set:",
        "",
    ]
    out += _table(list(FEED_OPTIONS))
    out += [
        "",
        "## `[[rules]]`",
        "",
        "Per-site rules for full text, added to (or replacing, for the same host) the",
        "rules shipped in `src/newsmirror/ingest/rules/sites.toml`: `host` (also matches",
        "its subdomains), `keep` (CSS selectors of the article body), `drop` (selectors",
        "of page chrome to remove), `fulltext` (auto | always | never), and for",
        "`recheck`, `removed_text` (phrases of the site's removal notice) and",
        "`removed_selector` (elements only its notice page has).",
        "",
        "## `[[publish.remotes]]`",
        "",
        "The hosts `newsmirror publish` pushes to, each in its own table (see",
        "src/newsmirror/archive/remotes.py). Without any, `publish` pushes to the",
        "branch's upstream or `origin`.",
        "",
        "| key | what it is |",
        "|---|---|",
        "| `name` | letters, digits, `.`, `_`, `-`: the remote's name in `publish`'s lines (required) |",
        "| `url` | what git pushes to: `https://...`, `ssh://...`, `git@host:path` or a folder;"
        " never a password (required) |",
        "| `branch` | the branch pushed to (default: the branch checked out) |",
        "| `base_url` | where readers find the site it serves: listed in mirrors.html,"
        " mirrors.json and every page's footer |",
        "| `token_env` | the environment variable holding an HTTPS token, handed to git"
        " at push time |",
        '| `username` | sent with the token (default: `"newsmirror"`) |',
        '| `content` | `"archive"` (default): the archive\'s commits; `"site"`: the built'
        " site, pushed by `publish --site DIR` |",
        "",
    ]
    return "\n".join(out)


def _recheck_section() -> list[str]:
    return [
        "",
        "## `[recheck]`",
        "",
        "Re-checking the originals of recent posts (`newsmirror recheck`, also run by",
        "`watch` and the GitHub Actions workflow): deleted, edited, back, dropped from",
        "the feed. `recheck --confirm-after` overrides `confirm_after`.",
        "",
        *_table(list(RECHECK_SETTINGS)),
    ]


def _table(defs: list[Definition]) -> list[str]:
    rows = ["| setting | type | default | what it does |", "|---|---|---|---|"]
    for d in defs:
        default = _default_text(d).replace("|", "\\|")
        rows.append(f"| `{d.name}` | {_kind_text(d)} | `{default}` | {d.help} |")
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m newsmirror.ops.configdoc docs/configuration.md", file=sys.stderr)
        return 2
    atomic_write(Path(argv[0]), configuration_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
