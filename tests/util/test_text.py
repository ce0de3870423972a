"""util/text.py: the one definition of the CJK ranges, and its copies in C and JS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsmirror.site import textutil
from newsmirror.util.text import (
    SEARCH_CJK,
    WIDE_CJK,
    char_class,
    in_ranges,
    one_line,
    plural,
    ranges_of,
)

SITE = Path(__file__).resolve().parents[2] / "src" / "newsmirror" / "site"


def _ranges_in(source: str, function: str, variable: str) -> tuple[tuple[int, int], ...]:
    """The `(v >= 0xA && v <= 0xB)` ranges in the body of `function`."""
    body = re.search(rf"{function}\s*\([^)]*\)\s*\{{(.*?)\}}", source, re.S)
    assert body, f"{function} not found"
    pairs = re.findall(rf"{variable} >= 0x([0-9a-f]+) && {variable} <= 0x([0-9a-f]+)", body[1], re.I)
    return tuple(sorted((int(low, 16), int(high, 16)) for low, high in pairs))


def test_the_c_module_holds_the_same_cjk_ranges() -> None:
    source = (SITE / "_textscan.c").read_text(encoding="utf-8")
    assert _ranges_in(source, "in_cjk_class", "c") == tuple(sorted(SEARCH_CJK))


def test_search_js_holds_the_same_cjk_ranges() -> None:
    source = (SITE / "static" / "search.js").read_text(encoding="utf-8")
    assert _ranges_in(source, "function isCJK", "c") == tuple(sorted(SEARCH_CJK))


def test_the_range_reader_sees_a_changed_copy() -> None:
    changed = "static int\nin_cjk_class(Py_UCS4 c)\n{\n    return (c >= 0x4e00 && c <= 0x9ffe);\n}\n"
    assert _ranges_in(changed, "in_cjk_class", "c") != tuple(sorted(SEARCH_CJK))


def test_the_search_tokens_use_the_ranges() -> None:
    codes = [c for c in range(0x2E80, 0x10000) if textutil._TOKEN.fullmatch(chr(c) * 2)]
    cjk = [c for c in codes if len(textutil.text_tokens(chr(c) * 3)) == 1
           and next(iter(textutil.text_tokens(chr(c) * 3))) == chr(c) * 2]  # fmt: skip
    assert ranges_of(c for c in cjk if in_ranges(SEARCH_CJK, chr(c))) == ranges_of(cjk)


@pytest.mark.parametrize(("char", "inside"), [("中", True), ("，", True), ("𠀀", True), ("a", False)])
def test_wide_cjk(char: str, inside: bool) -> None:
    assert in_ranges(WIDE_CJK, char) is inside


def test_char_class_matches_exactly_the_ranges() -> None:
    pattern = re.compile(f"[{char_class(SEARCH_CJK)}]")
    inside = [c for c in range(0x3000, 0x10000) if pattern.match(chr(c))]
    assert ranges_of(inside) == tuple(sorted(SEARCH_CJK))


def test_plural_and_one_line() -> None:
    assert (plural(1, "feed"), plural(2, "feed"), plural(0, "entry", "entries")) == (
        "1 feed",
        "2 feeds",
        "0 entries",
    )
    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert one_line(ValueError("")) == "ValueError"
    assert one_line("x" * 500, 120) == "x" * 120
