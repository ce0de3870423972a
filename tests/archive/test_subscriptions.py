"""The feed list: subs.json and [[feeds]] duplicates, categories, editing, strict OPML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED

from newsmirror.archive.subscriptions import (
    add_subscription,
    import_opml,
    load_subscriptions,
    read_opml,
    remove_subscription,
    shared_sites,
    to_opml,
)
from newsmirror.models import ConfigError, Subscription
from newsmirror.util.urls import feed_key


def write_json(archive: Path, data: object) -> Path:
    path = archive / "subs.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "other",
    [
        "HTTP://Feeds.Example.com/rss.xml",
        "http://feeds.example.com:80/rss.xml",
        "http://feeds.example.com/rss.xml#top",
        "  http://feeds.example.com/rss.xml ",
    ],
)
def test_one_feed_spelt_twice_is_refused_naming_both(archive: Path, other: str) -> None:
    write_json(archive, [
        {"site": "甲", "url": "http://feeds.example.com/rss.xml"},
        {"site": "乙", "url": other},
    ])  # fmt: skip
    with pytest.raises(ConfigError) as e:
        load_subscriptions(archive)
    message = str(e.value)
    assert "\n" not in message
    assert "entry 2 (乙)" in message and "entry 1 (甲)" in message


def test_different_feeds_are_not_duplicates() -> None:
    base = feed_key("http://feeds.example.com/rss.xml")
    for other in (
        "https://feeds.example.com/rss.xml",  # another scheme is another URL
        "http://feeds.example.com:8080/rss.xml",
        "http://feeds.example.com/rss.xml?page=2",
        "http://feeds.example.com/RSS.xml",  # paths are case-sensitive
    ):
        assert feed_key(other) != base, other


def test_shared_site_names_load_and_are_reported(archive: Path) -> None:
    write_json(archive, [
        {"site": "Matters", "url": "https://a.example/1"},
        {"site": "Matters", "url": "https://a.example/2"},
        {"site": "RFI", "url": "https://b.example/f"},
    ])  # fmt: skip
    subs = load_subscriptions(archive)
    assert len(subs) == 3
    assert shared_sites(subs) == {"Matters": 2}


@pytest.mark.parametrize("name", ["oped2.json", "society.json", "teahouse.json", "waimei.json"])
def test_the_real_lists_still_load(archive: Path, name: str) -> None:
    source = SHARED / "subscriptions" / name
    if not source.is_file():
        pytest.skip(f"{source} not there")
    shutil.copy(source, archive / "subs.json")
    assert len(load_subscriptions(archive)) == len(json.loads(source.read_text("utf-8")))


def test_toml_feeds_override_subs_json_by_normalised_url_and_refuse_their_own_duplicates(
    archive: Path,
) -> None:
    write_json(archive, [{"site": "甲", "url": "http://feeds.example.com/rss.xml"}])
    (archive / "newsmirror.toml").write_text(
        '[[feeds]]\nurl = "HTTP://FEEDS.example.com/rss.xml"\ncontent = "raw"\ncategory = "新闻"\n',
        encoding="utf-8",
    )
    [sub] = load_subscriptions(archive)
    # The subs.json spelling stays: the state database knows the feed by it.
    assert (sub.site, sub.url, sub.options.content, sub.category) == (
        "甲", "http://feeds.example.com/rss.xml", "raw", "新闻",
    )  # fmt: skip
    (archive / "newsmirror.toml").write_text(
        '[[feeds]]\nsite = "a"\nurl = "https://x.example/f"\n'
        '[[feeds]]\nsite = "b"\nurl = "https://x.example/f#2"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"feeds\[1\] and feeds\[2\] are the same feed"):
        load_subscriptions(archive)


def test_category_must_be_text(archive: Path) -> None:
    write_json(archive, [{"site": "甲", "url": "https://a.example/f", "category": 3}])
    with pytest.raises(ConfigError, match=r'entry 1 \(甲\): "category" must be a non-empty'):
        load_subscriptions(archive)


def test_add_and_remove_keep_the_rest_of_subs_json(archive: Path) -> None:
    path = write_json(archive, [{"site": "甲", "url": "https://a.example/f", "note": "mine"}])
    add_subscription(archive, Subscription("乙", "https://b.example/f", category="新闻/台湾"))
    assert json.loads(path.read_text("utf-8")) == [
        {"site": "甲", "url": "https://a.example/f", "note": "mine"},
        {"site": "乙", "url": "https://b.example/f", "category": "新闻/台湾"},
    ]
    with pytest.raises(ConfigError, match="already listed, as 乙: https://b.example/f"):
        add_subscription(archive, Subscription("丙", "HTTPS://B.EXAMPLE:443/f"))
    with pytest.raises(ConfigError, match="'甲' is already used by https://a.example/f"):
        add_subscription(archive, Subscription("甲", "https://c.example/f"))
    add_subscription(archive, Subscription("甲", "https://c.example/f"), share_site=True)
    with pytest.raises(ConfigError, match="2 feeds are named '甲'; give the URL"):
        remove_subscription(archive, "甲")
    removed = remove_subscription(archive, "https://c.example/f#x")
    assert removed.url == "https://c.example/f"
    assert remove_subscription(archive, "乙").site == "乙"
    assert json.loads(path.read_text("utf-8")) == [
        {"site": "甲", "url": "https://a.example/f", "note": "mine"}
    ]
    with pytest.raises(ConfigError, match="no feed named or at 'nope'"):
        remove_subscription(archive, "nope")


def test_remove_says_where_a_toml_feed_is(archive: Path) -> None:
    write_json(archive, [])
    (archive / "newsmirror.toml").write_text(
        '[[feeds]]\nsite = "a"\nurl = "https://x.example/f"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"listed in \[\[feeds\]\], not in subs.json"):
        remove_subscription(archive, "a")


def test_add_needs_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="newsmirror init"):
        add_subscription(tmp_path, Subscription("a", "https://a.example/f"))


NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="top" xmlUrl="https://t.example/f"/>
  <outline text="新闻">
    <outline text="中央社" xmlUrl="https://a.example/f"/>
    <outline text="台湾">
      <outline title="RFI" xmlUrl="https://b.example/f"/>
    </outline>
  </outline>
  <outline text="视频"><outline text="" xmlUrl="https://c.example/f"/></outline>
</body></opml>
"""


def test_opml_folders_become_categories_and_round_trip(tmp_path: Path) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(NESTED, encoding="utf-8")
    subs = read_opml(opml)
    assert [(s.site, s.url, s.category) for s in subs] == [
        ("top", "https://t.example/f", None),
        ("中央社", "https://a.example/f", "新闻"),
        ("RFI", "https://b.example/f", "新闻/台湾"),
        ("视频", "https://c.example/f", "视频"),  # untitled: named after its folder
    ]
    again = tmp_path / "out.opml"
    again.write_text(to_opml(subs), encoding="utf-8")
    assert read_opml(again) == subs


@pytest.mark.parametrize(
    "broken",
    [
        NESTED[: len(NESTED) // 2],  # truncated
        NESTED.replace("中央社", "A & B"),  # a bare ampersand
        "",
    ],
)
def test_malformed_opml_is_one_error_and_nothing_is_written(
    archive: Path, tmp_path: Path, broken: str
) -> None:
    path = write_json(archive, [{"site": "甲", "url": "https://a0.example/f"}])
    before = path.read_bytes()
    opml = tmp_path / "broken.opml"
    opml.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        import_opml(archive, opml)
    assert str(e.value).startswith(f"{opml}: ") and "\n" not in str(e.value)
    assert path.read_bytes() == before


def test_import_counts_feeds_already_there_by_normalised_url(archive: Path, tmp_path: Path) -> None:
    write_json(archive, [{"site": "甲", "url": "HTTPS://A.example/f"}])
    opml = tmp_path / "in.opml"
    opml.write_text(NESTED, encoding="utf-8")
    assert import_opml(archive, opml) == (3, 1)
    assert import_opml(archive, opml) == (0, 4)
