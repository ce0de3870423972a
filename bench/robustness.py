"""Robustness over the real-world feed corpus: every document through parse_feed.

    python bench/robustness.py

Prints: files, parsed with items, rejected (by reason), feedparser's own
expectations met / failed / skipped (by reason), rss-parser comparisons, and
the parse time per file. tests/test_corpus.py imports the checks from here.
"""

from __future__ import annotations

import datetime
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

from newsmirror.ingest.parse import feedparser_result, parse_feed
from newsmirror.models import Entry, FeedError, ParsedFeed

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "feeds"
FEEDPARSER_TESTS = CORPUS / "feedparser" / "tests"
RSS_PARSER_TESTS = CORPUS / "rss-parser" / "test"

_EXPECT = re.compile(r"Description:\s*(.*?)\s*Expect:\s*(.*)\s*-->")
_SKIP_UNLESS = re.compile(r"SkipUnless:\s*(.*?)\n")
_HEADER = re.compile(r"^Header:\s+([^:]+):(.*)$", re.MULTILINE)
# Expectations about the HTTP exchange only hold under feedparser's own HTTP harness.
_HTTP_ONLY = re.compile(r"\b(href|status|etag|modified|headers)\b")
_BOM_CODECS = (
    (b"\x00\x00\xfe\xff", "utf-32be"),
    (b"\xff\xfe\x00\x00", "utf-32le"),
    (b"\x00\x00\x00\x3c", "utf-32be"),
    (b"\x3c\x00\x00\x00", "utf-32le"),
    (b"\x00\x3c\x00\x3f", "utf-16be"),
    (b"\x3c\x00\x3f\x00", "utf-16le"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)


@dataclass
class FileOutcome:
    """What parse_feed made of one corpus file."""

    path: Path
    seconds: float
    parsed: ParsedFeed | None = None
    rejected: str | None = None  # the FeedError message
    crashed: str | None = None  # any other exception: always a bug
    expectation: tuple[str, str] | None = None  # (met|failed|skipped, reason)
    mismatches: list[str] = field(default_factory=list)  # against rss-parser's output


def corpus_files() -> list[Path]:
    """Every feed document of the corpus (not licences, not expected outputs)."""
    files = [
        p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.suffix in (".xml", ".json")
    ]
    files += sorted((RSS_PARSER_TESTS / "input").iterdir())
    return sorted(files)


def document_text(data: bytes) -> str:
    """The file as text, to read the test comment (as feedparser's harness does)."""
    for bom, codec in _BOM_CODECS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    return data.decode("utf-8", errors="ignore")


def headers_of(text: str) -> dict[str, str]:
    return {name.strip().lower(): value.strip() for name, value in _HEADER.findall(text)}


def feed_url(path: Path) -> str:
    return f"http://127.0.0.1:8097/{path.relative_to(CORPUS).as_posix()}"


def run_file(path: Path) -> FileOutcome:
    """parse_feed on one file, timed, plus the checks its corpus encodes."""
    data = path.read_bytes()
    headers = headers_of(document_text(data)) if path.is_relative_to(FEEDPARSER_TESTS) else {}
    started = time.perf_counter()
    outcome = FileOutcome(path, 0.0)
    try:
        outcome.parsed = parse_feed(
            data, url=feed_url(path), content_type=headers.get("content-type")
        )
    except FeedError as error:
        outcome.rejected = str(error)
    except Exception as error:  # noqa: BLE001 - counted and reported as a bug
        outcome.crashed = f"{type(error).__name__}: {error}"
    outcome.seconds = time.perf_counter() - started
    if path.is_relative_to(FEEDPARSER_TESTS):
        outcome.expectation = check_expectation(path, data, headers)
    elif outcome.parsed is not None:
        outcome.mismatches = compare_with_rss_parser(path, outcome.parsed)
    return outcome


def check_expectation(path: Path, data: bytes, headers: dict[str, str]) -> tuple[str, str]:
    """Evaluate the file's `Expect:` against feedparser's result as parse.py obtains it."""
    text = document_text(data)
    found = _EXPECT.search(text)
    if found is None:
        return "skipped", "no Expect: line"
    expect = found.group(2).strip()
    skip_unless = _SKIP_UNLESS.search(text)
    if skip_unless and not _evaluate(skip_unless.group(1).strip(), {}):
        return "skipped", "SkipUnless does not hold here"
    if path.suffix == ".json":
        return "skipped", "JSON Feed: feedparser 6.0 has no JSON parser (parse.py maps it)"
    if _HTTP_ONLY.search(expect):
        return "skipped", "needs feedparser's HTTP harness (href/status/headers)"
    content_type = headers.pop("content-type", None)
    ours, _ = feedparser_result(
        data, url=feed_url(path), content_type=content_type, extra_headers=headers
    )
    if _evaluate(expect, ours):
        return "met", ""
    plain = _feedparser(data, content_type, headers, sanitize=False)
    if not _evaluate(expect, plain):
        if _evaluate(expect, _feedparser(data, content_type, headers, sanitize=True)):
            return "skipped", "holds only with sanitize_html/resolve_relative_uris on"
        return "skipped", f"fails in feedparser {feedparser.__version__} itself (newer test)"
    return "failed", f"{path.relative_to(CORPUS)}: charset repair broke: {expect[:120]}"


def _feedparser(
    data: bytes, content_type: str | None, headers: dict[str, str], *, sanitize: bool
) -> feedparser.FeedParserDict:
    response_headers = dict(headers)
    if content_type:
        response_headers["content-type"] = content_type
    return feedparser.parse(
        data,
        response_headers=response_headers,
        sanitize_html=sanitize,
        resolve_relative_uris=sanitize,
    )


def _evaluate(expression: str, env: Any) -> bool:
    try:
        return bool(eval(expression, {"datetime": datetime}, env))  # corpus test expressions
    except Exception:  # noqa: BLE001 - an expectation that errors is not met
        return False


def compare_with_rss_parser(path: Path, parsed: ParsedFeed) -> list[str]:
    """Our Entries against rss-parser's parse (the old generator's parser) of the same input."""
    expected_file = RSS_PARSER_TESTS / "output" / f"{path.stem}.json"
    if not expected_file.exists():
        return []
    # uolNoticias.json holds the raw non-UTF-8 bytes rss-parser passed through.
    raw = expected_file.read_bytes().decode("utf-8", errors="replace")
    items = json.loads(raw).get("feed", {}).get("items", [])
    problems = []
    if len(items) != len(parsed.entries):
        problems.append(f"{path.name}: {len(parsed.entries)} entries, rss-parser {len(items)}")
    for index, (item, entry) in enumerate(zip(items, parsed.entries, strict=False)):
        for name, ours, theirs in _pairs(item, entry):
            if theirs is None or "\ufffd" in theirs or theirs == "EMPTY":
                continue  # rss-parser mangled the charset / xml2js's empty-tag marker
            if name == "link":
                theirs = urljoin(entry.base_url or "", theirs)  # we resolve relative links
            if _squash(ours) != _squash(theirs):
                problems.append(
                    f"{path.name} item {index + 1} {name}: ours {_short(ours)} != {_short(theirs)}"
                )
    return problems


def _pairs(item: dict[str, Any], entry: Entry) -> Iterator[tuple[str, str | None, str | None]]:
    yield "title", entry.title, item.get("title")
    yield "link", entry.link, item.get("link")
    yield "guid", entry.guid, item.get("guid") if isinstance(item.get("guid"), str) else None
    yield "author", entry.author, item.get("author") or item.get("creator")
    theirs = item.get("content:encoded") or item.get("content")
    yield "content", entry.content, theirs if isinstance(theirs, str) else None


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def _short(text: str | None) -> str:
    return repr(_squash(text)[:70])


def main() -> int:
    outcomes = [run_file(path) for path in corpus_files()]
    with_items = sum(1 for o in outcomes if o.parsed is not None and o.parsed.entries)
    empty = sum(1 for o in outcomes if o.parsed is not None and not o.parsed.entries)
    reasons = Counter(re.sub(r"^\S+: ", "", o.rejected) for o in outcomes if o.rejected)
    expectations = Counter(o.expectation[0] for o in outcomes if o.expectation)
    skip_reasons = Counter(
        o.expectation[1] for o in outcomes if o.expectation and o.expectation[0] == "skipped"
    )
    times = sorted(o.seconds * 1000 for o in outcomes)
    print(f"files: {len(outcomes)}")
    print(f"parsed with items: {with_items}; parsed, no items: {empty}")
    print(f"rejected (FeedError): {sum(reasons.values())}")
    for reason, count in reasons.most_common():
        print(f"  {count:5d}  {reason[:100]}")
    crashed = [o for o in outcomes if o.crashed]
    print(f"crashed (bugs): {len(crashed)}")
    for o in crashed[:20]:
        print(f"  {o.path.relative_to(CORPUS)}: {o.crashed[:120]}")
    print(
        "feedparser expectations: " + ", ".join(f"{k} {v}" for k, v in sorted(expectations.items()))
    )
    for reason, count in skip_reasons.most_common():
        print(f"  skipped {count:5d}  {reason}")
    for o in outcomes:
        if o.expectation and o.expectation[0] == "failed":
            print(f"  FAILED {o.expectation[1]}")
    mismatches = [m for o in outcomes for m in o.mismatches]
    rss_files = sum(1 for o in outcomes if o.path.is_relative_to(RSS_PARSER_TESTS))
    print(f"rss-parser files: {rss_files}, field mismatches: {len(mismatches)}")
    for mismatch in mismatches[:40]:
        print(f"  {mismatch}")
    print(
        f"parse time per file: median {statistics.median(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms, total {sum(times) / 1000:.2f} s"
    )
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
