"""The `deleted:` front-matter mark: added after the fixed keys, removed
again, written atomically, nothing else in the post touched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from newsmirror.archive.postmarks import clear_deleted, deleted_mark, find_post, set_deleted
from newsmirror.archive.retention import apply_retention

POST = (
    "---\nlayout: post\ntitle: \"标题：\\\"引号\\\"\"\ndate: 2026-11-28T08:00:00.000Z\n"
    "author: 记者\nfrom: https://news.example/a/1\ntags: [ 新闻网 ]\ncomments: True\n"
    "categories: [ 新闻网 ]\n---\n<!--1795766400000-->\n[标题](https://news.example/a/1)\n"
    "------\n\n<div>\n<p>正文 --- 不是分隔线</p>\n</div>\n"
)
WHEN = datetime(2026, 11, 30, 8, 15, 42, tzinfo=UTC)


def test_set_adds_one_line_before_the_closing_dashes(tmp_path):
    path = tmp_path / "2026-11-28-标题.md"
    path.write_text(POST, encoding="utf-8")
    assert set_deleted(path, WHEN)
    text = path.read_text(encoding="utf-8")
    assert text == POST.replace("categories: [ 新闻网 ]\n---", "categories: [ 新闻网 ]\ndeleted: 2026-11-30T08:15:42Z\n---", 1)
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["deleted"] == WHEN and front["title"] == '标题："引号"'
    assert deleted_mark(text) == "2026-11-30T08:15:42Z"


def test_set_twice_keeps_one_mark_and_clear_restores_the_bytes(tmp_path):
    path = tmp_path / "p.md"
    path.write_bytes(POST.encode())
    set_deleted(path, WHEN)
    set_deleted(path, WHEN.replace(day=29))
    assert path.read_text(encoding="utf-8").count("deleted:") == 1
    assert deleted_mark(path.read_text(encoding="utf-8")) == "2026-11-29T08:15:42Z"
    assert clear_deleted(path)
    assert path.read_bytes() == POST.encode()
    assert not clear_deleted(path)  # nothing to clear


def test_crlf_posts_keep_their_line_ends(tmp_path):
    path = tmp_path / "p.md"
    path.write_bytes(POST.replace("\n", "\r\n").encode())
    set_deleted(path, WHEN)
    assert b"deleted: 2026-11-30T08:15:42Z\r\n---\r\n" in path.read_bytes()
    clear_deleted(path)
    assert path.read_bytes() == POST.replace("\n", "\r\n").encode()


def test_a_file_without_front_matter_is_left_alone(tmp_path):
    path = tmp_path / "p.md"
    path.write_text("just text\n---\n", encoding="utf-8")
    assert not set_deleted(path, WHEN)
    assert path.read_text(encoding="utf-8") == "just text\n---\n"


def test_a_mark_in_the_body_is_not_the_mark(tmp_path):
    assert deleted_mark(POST + "deleted: 2026-01-01T00:00:00Z\n") is None


@pytest.mark.parametrize("renamed", [False, True])
def test_find_post_follows_retention_into_archived(tmp_path, renamed):
    archive = tmp_path / "mirror"
    (archive / "_posts").mkdir(parents=True)
    name = "2026-11-28-标题.md"
    (archive / "_posts" / name).write_text(POST, encoding="utf-8")
    if renamed:  # another post of that name was archived first: ours becomes -2
        day = archive / "archived" / "2026-11-28"
        day.mkdir(parents=True)
        (day / name).write_text(POST.replace("/a/1", "/a/other"), encoding="utf-8")
    [moved] = apply_retention(archive, 1, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert moved.name == (name.replace(".md", "-2.md") if renamed else name)
    assert find_post(archive, name, "https://news.example/a/1") == moved
    assert find_post(archive, name, "https://news.example/a/nothing") is None
