"""What happened to each watched original, kept as files that outlive the
state database: `.newsmirror/history/<xx>/<hash>.json`, one per post, named
by a hash of the post's dedupe key (its canonical link), so a post moved to
`archived/` by retention keeps its history. `publish` commits these files
with the posts; the site reads them for badges, revision lists and diffs.

A file is made for a post once something happens to its original: it holds
the post's events (suspected, deleted, cleared, edited, dropped, back; each
with its time and evidence), when the original was last seen alive before it
went, and, once it was edited, every version of its text (the one the
re-checks first saw, then one per edit).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ..models import NewsmirrorError
from .fsutil import atomic_write

HISTORY_DIR = Path(".newsmirror") / "history"
FORMAT = 1

EventKind = Literal["suspected", "deleted", "cleared", "edited", "dropped", "back"]


class HistoryError(NewsmirrorError):
    """A history file cannot be read (the message names it)."""


@dataclass(frozen=True)
class Event:
    """One thing a check found. `time` is ISO 8601 UTC (`2026-11-30T08:15:00Z`)."""

    kind: EventKind
    time: str
    evidence: str  # one line: "HTTP 404 Not Found", 'removal notice in the text: "..."'


@dataclass(frozen=True)
class Version:
    """The original's extracted text as seen at `time` (paragraphs on lines)."""

    time: str
    fingerprint: str
    text: str


@dataclass
class History:
    key: str  # the post's dedupe key
    link: str
    post: str  # its file name when the history began
    site: str = ""
    feed: str = ""
    last_alive: str | None = None  # the last check that found the article, before it went
    events: list[Event] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)

    def add(self, kind: EventKind, when: float, evidence: str) -> Event:
        event = Event(kind, iso_time(when), evidence)
        self.events.append(event)
        return event

    def last(self, kind: str) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind == kind), None)


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def history_path(archive: Path, key: str) -> Path:
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]
    return archive / HISTORY_DIR / digest[:2] / f"{digest}.json"


def load_history(archive: Path, key: str) -> History | None:
    """The history of the post with dedupe key `key`, or None when it has none."""
    path = history_path(archive, key)
    if not path.is_file():
        return None
    return read_history(path)


def read_history(path: Path) -> History:
    """Read one history file; raises HistoryError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return History(
            key=data["key"],
            link=data["link"],
            post=data["post"],
            site=data.get("site", ""),
            feed=data.get("feed", ""),
            last_alive=data.get("last_alive"),
            events=[Event(e["kind"], e["time"], e.get("evidence", "")) for e in data["events"]],
            versions=[Version(v["time"], v["fingerprint"], v["text"]) for v in data["versions"]],
        )
    except OSError as e:
        raise HistoryError(f"{path}: cannot read history ({e.strerror})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise HistoryError(f"{path}: not a history file ({type(e).__name__}: {e})") from None


def save_history(archive: Path, history: History) -> Path:
    path = history_path(archive, history.key)
    data = {"format": FORMAT, **asdict(history)}
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return path


def iter_histories(archive: Path, errors: list[str] | None = None) -> Iterator[History]:
    """Every history file of the archive; unreadable ones are skipped (and
    their one-line errors appended to `errors`)."""
    folder = archive / HISTORY_DIR
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*/*.json")):
        try:
            yield read_history(path)
        except HistoryError as e:
            if errors is not None:
                errors.append(str(e))


# --- telling an edit from noise -------------------------------------------------

# Lines that change without anyone editing the article: counters, relative
# times, "updated at" stamps.
_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^[\W\d_]*$",  # no letters at all: dates, times, numbers, separators
        r"^(?:阅读|閱讀|浏览|瀏覽|点赞|點讚|评论|評論|分享|收藏|转发|轉發|views?|likes?|comments?|shares?|reads?)"
        r"\W*[\d.,]+\s*(?:万|萬|k|m)?\W*$",
        r"^[\d.,]+\s*(?:万|萬|k|m)?\s*(?:次?阅读|次?閱讀|人?浏览|人?瀏覽|views?|comments?|likes?|shares?|reads?)\W*$",
        r"^\d+\s*(?:秒|分钟|分鐘|小时|小時|天|seconds?|minutes?|hours?|days?)\s*(?:前|ago)\W*$",
        r"^(?:更新|發布|发布|發佈|updated|published|last updated|modified)\s*(?:于|於|时间|時間|on|at)?\W*"
        r"[\d\s年月日:./-]+(?:[ap]\.?m\.?|utc|gmt|[+-]\d{2}:?\d{2})?\W*$",
    )
]


def meaningful_lines(text: str) -> list[str]:
    """The text's lines, NFKC-normalised and without any whitespace, minus
    boilerplate lines."""
    out = []
    for line in unicodedata.normalize("NFKC", text).splitlines():
        line = line.strip()
        if not line or any(p.match(line) for p in _BOILERPLATE):
            continue
        out.append(re.sub(r"\s+", "", line))
    return out


def fingerprint(text: str) -> str:
    """Equal for two texts that differ only in whitespace and boilerplate lines."""
    joined = "\n".join(meaningful_lines(text))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:20]
