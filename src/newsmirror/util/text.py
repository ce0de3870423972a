"""Text facts shared by every layer: counts in messages ("1 feed", "2 feeds"),
one-line error texts, and the code point ranges of CJK scripts.

The ranges are defined here only. site/_textscan.c and site/static/search.js
hold copies of SEARCH_CJK (C and JavaScript cannot import Python);
tests/util/test_text.py fails when a copy differs.
"""

from __future__ import annotations

from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]

HAN: Ranges = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
KANA: Ranges = ((0x3040, 0x30FF),)
HANGUL: Ranges = ((0xAC00, 0xD7AF),)
# Search indexes runs of these by two-character terms (Chinese, Japanese, Korean).
SEARCH_CJK: Ranges = HAN + KANA + HANGUL
# Extraction counts each of these as one token, as a word elsewhere.
TOKEN_CJK: Ranges = HAN + KANA
# Scripts written without spaces, with their punctuation and full-width forms:
# a line break between two of these joins them without a space.
WIDE_CJK: Ranges = (
    (0x2E80, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x10FFFF),
)


def char_class(ranges: Ranges) -> str:
    """The ranges as the inside of a regex character class: `[{char_class(HAN)}]`."""
    return "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges)


def in_ranges(ranges: Ranges, char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless the count is 1 ("1 bad item", "2 bad items")."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or word + 's'}"


def one_line(error: object, limit: int = 300) -> str:
    """An exception (or any text) as one line of at most `limit` characters,
    for messages that name a feed or item."""
    return " ".join(str(error).split())[:limit] or type(error).__name__


def ranges_of(codes: Iterable[int]) -> Ranges:
    """Sorted code points -> the ranges they cover (for the tests' comparisons)."""
    out: list[tuple[int, int]] = []
    for code in sorted(set(codes)):
        if out and code == out[-1][1] + 1:
            out[-1] = (out[-1][0], code)
        else:
            out.append((code, code))
    return tuple(out)
