"""Words for counts in messages: "1 feed", "2 feeds"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless the count is 1 ("1 bad item", "2 bad items")."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {many or word + 's'}"
