"""The post format: YAML that always parses, safe file names, the deliberate
deviations from the old generator (docs/format.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from newsmirror.archive.posts import PostError, PostWriter, cut_utf16, one_line, render_post
from newsmirror.models import Entry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PUBLISHED = datetime(2023, 1, 30, 8, 4, 5, tzinfo=UTC)


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("\n---\n", 1)[0][4:])


def entry(**fields) -> Entry:
    base = dict(title="t", link="https://example.com/a", published=PUBLISHED, content="<p>x</p>")
    base.update(fields)
    return Entry(**base)


HOSTILE = [
    'He said "no" \\ and left',
    "key: value # not a comment",
    "[bracketed] start",
    "&anchor start",
    "*alias start",
    "{flow: map}",
    "'single' quotes",
    "true",
    "2023-01-30",
    "null",
    "emoji 😀🇹🇼 and CJK 中文",
    "line\u2028separator",
    "tab\tand newline\ninside",
    "bell\x07 and escape\x1b and C1\x85 controls",
    "- dash start",
    "% percent start",
    "@ at start",
    "`backtick",
    "! bang",
    "> greater",
    "| pipe",
    "   ",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_metadata_round_trips_through_yaml(value: str) -> None:
    post = render_post(
        entry(title=value, author=value, link="https://example.com/a?q=1#frag"),
        site=value,
        now=NOW,
    )
    fm = front_matter(post.text)
    expected = value.replace("\u2028", "\u2028").replace("\t", " ").replace("\n", " ")
    expected = "".join(ch for ch in expected if not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F))
    assert fm["title"] == expected
    if expected.strip():
        assert fm["author"] == expected.strip()
        assert fm["tags"] == [expected.strip()] == fm["categories"]
    assert fm["from"] == "https://example.com/a?q=1#frag"
    assert fm["layout"] == "post" and fm["comments"] is True


def test_html_entities_in_title_are_decoded() -> None:
    post = render_post(entry(title="北约&quot;加强&quot;军援"), site="法广", now=NOW)
    assert front_matter(post.text)["title"] == '北约"加强"军援'
    assert '\n[北约"加强"军援](' in post.text


def test_ellipsis_in_title_is_kept() -> None:
    post = render_post(entry(title="Wait... what?"), site="s", now=NOW)
    assert front_matter(post.text)["title"] == "Wait... what?"


def test_missing_date_never_writes_nan() -> None:
    post = render_post(entry(published=None), site="s", now=NOW)
    assert "NaN" not in post.text
    assert front_matter(post.text)["date"] == NOW
    assert f"<!--{int(NOW.timestamp() * 1000)}-->" in post.text


def test_future_date_uses_run_time_but_body_keeps_feed_time() -> None:
    future = NOW + timedelta(days=3)
    post = render_post(entry(published=future), site="s", now=NOW)
    assert front_matter(post.text)["date"] == NOW
    assert f"<!--{int(future.timestamp() * 1000)}-->" in post.text
    assert post.filename.startswith("2026-11-25-")


def test_milliseconds_are_kept() -> None:
    moment = datetime(2023, 1, 30, 12, 47, 0, 7000, tzinfo=UTC)
    post = render_post(entry(published=moment), site="s", now=NOW)
    assert "date: 2023-01-30T12:47:00.007Z" in post.text
    assert "<!--1675082820007-->" in post.text


def test_line_breaks_between_words_become_spaces_not_glue() -> None:
    assert one_line("Utter Bull!\nFor a deeper dive") == "Utter Bull! For a deeper dive"
    assert one_line("<p>a</p>\n   <p>b</p>") == "<p>a</p>   <p>b</p>"  # as before
    assert one_line("中文\n继续") == "中文继续"  # as before: no space between CJK
    assert one_line("<pre>x = 1\n\ty = 2</pre>") == "<pre>x = 1&#10;&#9;y = 2</pre>"
    assert "\n" not in one_line("a\r\nb\rc\n")


def test_liquid_is_neutralised_for_jekyll() -> None:
    post = render_post(
        entry(title="{{ t }}", content="<p>{{ site.x }} {% include y %}</p>"), site="s", now=NOW
    )
    body = post.text.split("\n---\n", 1)[1]
    assert "{{" not in body and "{%" not in body
    assert "&#123;{ site.x }}" in body


def test_title_cannot_inject_markup_in_body() -> None:
    post = render_post(
        entry(title="<img src=x onerror=alert(1)> [x](javascript:y)"), site="s", now=NOW
    )
    link_line = post.text.split("\n")[11]
    assert "<img" not in link_line and "&lt;img" in link_line
    assert "\\[x\\]" in link_line


@pytest.mark.parametrize(
    "title",
    [
        'a: b? c| d\\ e" f< g> h*',
        "😀" * 40,
        "x" * 49 + "😀",
        "/".join("abc"),
        "\u202eevil\u202c.exe",
    ],
)
def test_file_names_are_portable(title: str) -> None:
    post = render_post(entry(title=title), site="s", now=NOW)
    name = post.filename
    assert not set(name) & set('<>:"/\\|?*')
    assert not any(ord(c) < 32 for c in name)
    assert "\u202e" not in name
    assert len(name.encode("utf-8")) <= 255
    assert name.startswith("2023-01-30-") and name.endswith(".md")
    stem = name[len("2023-01-30-") : -3].replace("--", "/")
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in stem)
    assert units <= 50 or "--" in name


def test_cut_never_splits_a_surrogate_pair() -> None:
    assert cut_utf16("x" * 49 + "😀", 50) == "x" * 49
    assert cut_utf16("😀" * 30, 50) == "😀" * 25


def test_no_link_is_an_item_error() -> None:
    with pytest.raises(PostError, match="neither a link nor a guid"):
        render_post(entry(link=None, guid=None), site="s", now=NOW)


def test_same_title_same_day_gets_a_second_file(tmp_path) -> None:
    writer = PostWriter(tmp_path / "_posts")
    first = writer.write(render_post(entry(link="https://e.com/1"), site="s", now=NOW))
    second = writer.write(render_post(entry(link="https://e.com/2"), site="s", now=NOW))
    again = writer.write(render_post(entry(link="https://e.com/1"), site="s", now=NOW))
    assert first.name == "2023-01-30-t.md"
    assert second.name == "2023-01-30-t-2.md"
    assert again is None  # the same item's post is already there
    assert {p.name for p in (tmp_path / "_posts").iterdir()} == {first.name, second.name}


def test_case_insensitive_names_do_not_collide(tmp_path) -> None:
    writer = PostWriter(tmp_path / "_posts")
    a = writer.write(render_post(entry(title="News", link="https://e.com/1"), site="s", now=NOW))
    b = writer.write(render_post(entry(title="NEWS", link="https://e.com/2"), site="s", now=NOW))
    assert a.name.casefold() != b.name.casefold()


def test_link_target_cannot_open_liquid() -> None:
    # Found by hypothesis: `{"` percent-encodes to `{%22`, which Liquid reads as a tag.
    post = render_post(entry(link='https://例子.测试/a?q={"#{"'), site="s", now=NOW)
    body = post.text.split("\n---\n", 1)[1]
    assert "{%" not in body and "{{" not in body
    assert "(https://xn--fsqu00a.xn--0zwm56d/a?q=%7B%22#%7B%22)" in body


def test_a_site_name_nesting_past_yamls_recursion_is_quoted() -> None:
    # Found by test_hostile_content: PyYAML's pure-Python parser recursed once per "[".
    from newsmirror.archive.posts import yaml_flow_list

    name = "[" * 2000
    assert yaml_flow_list(name) == f'[ "{name}" ]'
