"""newsmirror against the old generator itself (bench/oldgen_diff.py): every
rss-parser input feed, the feedparser tests it reads and tests/data/oldgen_feeds
are served on 127.0.0.1 and written by both; every difference must be one
docs/format.md lists as deliberate."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import oldgen_diff  # noqa: E402

DOCS = ROOT / "docs" / "format.md"
HAS_NODE = shutil.which("node") is not None and shutil.which("npm") is not None


@pytest.mark.slow
@pytest.mark.skipif(not oldgen_diff.OLDGEN.exists(), reason="../shared/oldgen is not there")
@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not installed (scripts/setup --system)")
def test_every_difference_from_the_old_generator_is_a_documented_fix(tmp_path: Path) -> None:
    comparison = oldgen_diff.run_comparison(oldgen_diff.GROUPS, tmp_path)
    print(comparison.table(show=2))
    groups = {g: [r for r in comparison.results if r.feed.group == g] for g in oldgen_diff.GROUPS}
    assert len(groups["rss-parser"]) >= 27
    assert len(groups["own"]) >= 10
    assert len(groups["feedparser"]) >= 5  # the well-formed tests the old generator writes posts of
    assert sum(r.identical for r in comparison.results) >= 600
    # Each feed of our own is read by the old generator (else it proves nothing).
    assert all(r.old_posts for r in groups["own"]), [r.feed.name for r in groups["own"]]
    unexplained = comparison.unexplained()
    assert not unexplained, "\n".join(f"[{d.klass}] {d.feed}: {d.detail}" for d in unexplained[:40])


def test_every_deliberate_difference_is_in_the_docs() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [name for name in oldgen_diff.DELIBERATE if name not in docs]
    assert not missing, f"not listed in docs/format.md: {missing}"


# --- the comparison itself can fail --------------------------------------------------------

OLD = """---
layout: post
title: "A title"
date: 2020-01-02T03:04:05.000Z
author: Ann
from: https://example.org/a
tags: [ Site ]
comments: True
categories: [ Site ]
---
<!--1577934245000-->
[A title](https://example.org/a)
------

<div>
<p>Body</p>
</div>
"""


def _sides(tmp_path: Path, old: dict[str, str], new: dict[str, str], log: str = "") -> tuple:
    runs = []
    for side, posts in (("old", old), ("new", new)):
        folder = tmp_path / side / "_posts"
        folder.mkdir(parents=True)
        for name, text in posts.items():
            (folder / name).write_text(text, encoding="utf-8")
        runs.append(oldgen_diff.SideRun(tmp_path / side, 1e9, 1e9 + 1, log))
    return tuple(runs)


FEED = oldgen_diff.FeedDoc("own", "Site", b"")
NAME = "2020-01-02-A title.md"


def test_identical_posts_count_as_identical(tmp_path: Path) -> None:
    result = oldgen_diff.compare_feed(FEED, *_sides(tmp_path, {NAME: OLD}, {NAME: OLD}))
    assert (result.old_posts, result.new_posts, result.identical) == (1, 1, 1)
    assert result.differences == []


def test_a_changed_author_is_unexplained(tmp_path: Path) -> None:
    new = OLD.replace("author: Ann", "author: Host One")  # itunes:author, say
    result = oldgen_diff.compare_feed(FEED, *_sides(tmp_path, {NAME: OLD}, {NAME: new}))
    assert [d.klass for d in result.differences] == ["unexplained: author"]


def test_a_missing_or_extra_post_is_unexplained(tmp_path: Path) -> None:
    other = OLD.replace("https://example.org/a", "https://example.org/b").replace(
        "A title", "Another"
    )
    result = oldgen_diff.compare_feed(
        FEED, *_sides(tmp_path, {NAME: OLD}, {"2020-01-02-Another.md": other})
    )
    assert sorted(d.klass for d in result.differences) == [
        "unexplained: only newsmirror wrote it",
        "unexplained: only the old generator wrote it",
    ]


def test_known_fixes_are_classified(tmp_path: Path) -> None:
    old = OLD.replace("title: \"A title\"", 'title: "Tom &amp; Jerry"').replace(
        "<!--1577934245000-->", "<!--NaN-->"
    )
    new = OLD.replace("title: \"A title\"", 'title: "Tom & Jerry"').replace(
        "<!--1577934245000-->", "<!--1000000000500-->"  # within the run: masked
    )
    result = oldgen_diff.compare_feed(FEED, *_sides(tmp_path, {NAME: old}, {NAME: new}))
    assert sorted(d.klass for d in result.differences) == [
        "`<!--NaN-->`: the run's time instead",
        "title: entities decoded",
    ]
    assert all(d.deliberate for d in result.differences)


def test_nested_markup_classifier_recomputes_xml2js() -> None:
    # xml2js put an element's text first and grouped children by name.
    ours = '<div type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>a</p><br/><p>b</p></div></div>'
    theirs = '<div type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>a</p><p>b</p><br/></div></div>'
    assert oldgen_diff._xml2js_mangled(ours) == theirs
    assert oldgen_diff._mixed_text('<div>submitted by<a href="u">x</a>to<a href="r">y</a></div>') == (
        "submitted byto"
    )


def test_a_feed_lost_for_an_unknown_reason_is_unexplained(tmp_path: Path) -> None:
    log = "[\n  'Site',\n  Error: socket hang up\n      at perform.js:1:1\n]\n"
    result = oldgen_diff.compare_feed(FEED, *_sides(tmp_path, {}, {NAME: OLD}, log))
    [difference] = result.differences
    assert difference.klass.startswith("unexplained: the old generator lost the feed")
