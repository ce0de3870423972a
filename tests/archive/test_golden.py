"""Every golden post and the seed, reproduced from feeds served on loopback."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest
from conftest import posts_of, write_subs
from feeds import atom_entry, atom_feed, rss, rss_item, youtube_entry, youtube_feed
from goldens import GoldenPost, expected_post, golden_posts

from newsmirror.cli import main

GOLDENS = golden_posts()
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def feed_kind(g: GoldenPost) -> str:
    if "youtube.com/watch" in g.link:
        return "youtube"
    if "blogspot.com" in g.link:
        return "blogger"
    return "rss"


def feed_for(site: str, goldens: list[GoldenPost]) -> bytes:
    kind = feed_kind(goldens[0])
    if kind == "youtube":
        return youtube_feed(
            [
                youtube_entry(
                    video_id=g.link.split("v=")[1],
                    title=g.title,
                    channel=g.author,
                    published=g.published,
                    description=g.content,
                )
                for g in goldens
            ],
            channel=site,
        )
    if kind == "blogger":
        entries = []
        for g in goldens:
            ms = int(g.published.timestamp() * 1000) % 1000
            stamp = g.published.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
            entries.append(
                atom_entry(
                    title=g.title,
                    link=g.link,
                    published=stamp,
                    author=g.author_from_feed,
                    content=g.content,
                    entry_id=f"tag:blogger.com,1999:blog-1.post-{g.link}",
                )
            )
        return atom_feed(entries, title=site)
    items = []
    for g in goldens:
        items.append(
            rss_item(
                title=g.title,
                link=g.link,
                published=g.published,
                # CDT, Matters, Medium and ChinaFile give the author as dc:creator;
                # the others give none, so the post's author is the site name.
                creator=g.author_from_feed,
                content_encoded=g.content if g.content else None,
                description=None if g.content else "",
            )
        )
    return rss(items, title=site)


@pytest.fixture
def golden_archive(server, archive):
    by_site: dict[str, list[GoldenPost]] = defaultdict(list)
    for g in GOLDENS:
        by_site[(g.site, feed_kind(g))].append(g)
    subs = []
    for n, ((site, _kind), goldens) in enumerate(sorted(by_site.items())):
        path = f"/feed{n}.xml"
        server.route(path, feed_for(site, goldens), headers={"Content-Type": "application/xml"})
        subs.append((site, server.url(path)))
    write_subs(archive, subs)
    return archive


def test_every_golden_post_is_reproduced(golden_archive):
    assert main(["run", "--archive", str(golden_archive), "--content", "raw", "-q"]) == 0
    written = posts_of(golden_archive)
    assert len(written) == len(GOLDENS)
    problems = []
    for g in GOLDENS:
        name, text = expected_post(g)
        if name not in written:
            problems.append(f"{g.path.name}: no post named {name!r}")
        elif written[name] != text:
            problems.append(f"{g.path.name}: differs")
    assert not problems, "\n".join(problems)


def test_same_posts_on_second_run_nothing_written(golden_archive, server):
    assert main(["run", "--archive", str(golden_archive), "--content", "raw", "-q"]) == 0
    before = posts_of(golden_archive)
    assert main(["run", "--archive", str(golden_archive), "--content", "raw", "-q"]) == 0
    assert posts_of(golden_archive) == before
