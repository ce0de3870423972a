"""The seed and golden posts of ../shared, and the feed items they came from.

Each golden post is read back into the Entry the old generator must have
had: title, link, author, published time and content. Feeding that Entry
(served as a real feed, in the end-to-end tests) to newsmirror must give the
golden post again, byte for byte, except for the deliberate deviations of
docs/format.md, which `expected_post` applies explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED_DIR = SHARED / "seed"
GOLDEN_DIR = SHARED / "golden"

_FRONT = re.compile(r"^---\n(.*?)\n---\n(.*)$", re.DOTALL)


@dataclass(frozen=True)
class GoldenPost:
    path: Path
    title: str  # as the feed gave it
    link: str
    author: str
    site: str
    published: datetime
    content: str
    text: str  # the golden file's bytes, decoded

    @property
    def author_from_feed(self) -> str | None:
        return None if self.author == self.site else self.author


def golden_posts() -> list[GoldenPost]:
    """The seed and every golden post of the current format (not variants/)."""
    files = sorted(SEED_DIR.glob("*.md")) + sorted(GOLDEN_DIR.glob("*.md"))
    return [read_golden(p) for p in files]


def read_golden(path: Path) -> GoldenPost:
    text = path.read_text(encoding="utf-8")
    match = _FRONT.match(text)
    assert match, f"{path.name}: no front matter"
    fields = dict(line.split(": ", 1) for line in match.group(1).split("\n"))
    body = match.group(2)
    ms = int(re.match(r"<!--(-?\d+)-->", body).group(1))
    content = body.split("\n<div>\n", 1)[1].rsplit("\n</div>\n", 1)[0]
    title = fields["title"][1:-1].replace('\\"', '"')
    site = re.fullmatch(r"\[ (.*) \]", fields["tags"]).group(1)
    return GoldenPost(
        path=path,
        title=title,
        link=fields["from"],
        author=fields["author"],
        site=site,
        published=datetime.fromtimestamp(ms / 1000, tz=UTC),
        content=content,
        text=text,
    )


_WINDOWS_MAP = str.maketrans({'"': "＂", ":": "：", "?": "？", "|": "｜", "\\": "＼"})


def expected_post(golden: GoldenPost) -> tuple[str, str]:
    """(file name, text) newsmirror must write for this golden's item.

    The deviations, each from docs/format.md:
    - HTML entities in titles are decoded (`&quot;` -> `"`), in front matter,
      body link and file name;
    - the file name has no `\\` escapes and holds full-width forms of the
      characters Windows and macOS cannot hold.
    """
    text = golden.text
    name = golden.path.name
    if "&quot;" in golden.title:
        decoded = golden.title.replace("&quot;", '"')
        text = text.replace(
            f'title: "{golden.title}"', 'title: "' + decoded.replace('"', '\\"') + '"'
        )
        text = text.replace(f"[{golden.title.strip()}](", f"[{decoded.strip()}](")
        title_for_name = decoded
    else:
        title_for_name = golden.title
    day = name[:10]
    cut = _cut_utf16(title_for_name, 50)
    name = f"{day}-{cut.translate(_WINDOWS_MAP).replace('/', '--')}.md"
    return name, text


def _cut_utf16(text: str, units: int) -> str:
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text
