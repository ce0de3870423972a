"""Hostile item fields -> posts: values round-trip, names are legal, no markup runs.

The expected values are FORMAT.md's normalisation written out here on its
own (not by calling posts.py's helpers), so a change in posts.py that breaks
the contract fails these tests.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.archive.posts import PostError, PostWriter, render_post
from newsmirror.archive.sanitize import sanitize_html
from newsmirror.models import Entry
from newsmirror.util.urls import serialise_url

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FEED = "http://example.com/feed.xml"

# Pieces of every syntax a post passes through, plus characters that break
# names, YAML, terminals and bidi display.
FRAGMENTS = [
    "---", "...", "{{ site.title }}", "{{{", "{%", "{% raw %}", "}}", "{#", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", "javascript:alert(1)", "](javascript:x)",
    "[", "]", "(", ")", "`", "*", "_", "#", "# ", ": ", "- ", "? ", "|", "&", "&amp;", "&#0;",
    "&#x1;", "&lt;script&gt;", "!!python/object/apply:os.system", "&a *a", "%TAG", "'", '"',
    "\\", "\\n", "/", "../", "..", ".", "CON", "NUL", "COM1", "aux.txt", "<", ">", "?", "*",
    "\x00", "\x1b[31m", "\x7f", "\x85", "\t", "\r\n", "\r", "\n", "\u2028", "\u2029", "\u202e",
    "\u200f", "\u2066", "\ufeff", "\ufffe", "\uffff", "\ud800", "\udfff", "\u00a0", "\u3000",
    "新聞", "简体", "😀", "e\u0301", "yes", "no", "null", "~", "0x10", "1e3", "2026-01-01",
]  # fmt: skip

any_char = st.characters(exclude_categories=())  # includes lone surrogates
hostile_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(any_char, max_size=8)), max_size=12
).map("".join)
huge_text = st.builds(lambda s, n: s * n, hostile_text.filter(bool), st.integers(50, 400))
field_text = st.one_of(hostile_text, hostile_text, hostile_text, huge_text)
link_paths = st.text(any_char, max_size=30) | st.sampled_from(FRAGMENTS)
links = st.one_of(
    st.builds(lambda p: "http://example.com/" + p, link_paths),
    st.builds(lambda p: "https://例子.测试/a?q=" + p + "#" + p, link_paths),
    st.builds(lambda p: "/relative/" + p, link_paths),  # resolved against the feed
)
dates = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
entries = st.builds(
    Entry,
    title=st.one_of(st.none(), field_text),
    link=links,
    author=st.one_of(st.none(), field_text),
    published=dates,
    content=field_text,
    content_is_html=st.booleans(),
)
sites = field_text.filter(lambda s: expected_inline(s) != "")

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNENCODABLE = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
WINDOWS_FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)}
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(10)
}


def expected_title(title: str | None) -> str:
    """FORMAT.md: entities decoded, control characters removed; docs/format.md:
    but a run of them holding a line break or tab between two words is a space."""
    text = html.unescape(title or "").replace("\r\n", "\n").replace("\r", "\n")

    def run(match: re.Match[str]) -> str:
        before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
        words = all(c and not c.isspace() and not _cjk(c) for c in (before, after))
        next_to_tag = before == ">" or after == "<"  # the end or start of a tag
        return " " if words and not next_to_tag and re.search("[\n\t]", match.group()) else ""

    return _UNENCODABLE.sub("", re.sub(r"[\x00-\x1f\x7f-\x9f]+", run, text))


def _cjk(char: str) -> bool:
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F
            or 0xFF00 <= code <= 0xFFEF or code >= 0x20000)  # fmt: skip


def expected_inline(value: str) -> str:
    """Author and site: one line, controls removed, trimmed."""
    text = _CONTROLS.sub("", re.sub(r"[\r\n\t]+", " ", value))
    return _UNENCODABLE.sub("", text).strip(_JS_SPACE)


def expected_date(published: datetime | None) -> datetime:
    moment = published if published is not None and published <= NOW else NOW
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def split_post(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    head, sep, body = text[4:].partition("\n---\n")
    assert sep, "front matter is not closed"
    # libyaml: what Jekyll (Psych) and the site builder read front matter with.
    return yaml.load(head, Loader=yaml.CSafeLoader), body


def assert_legal_name(path: Path, posts: Path) -> None:
    name = path.name
    assert name.endswith(".md")
    assert not WINDOWS_FORBIDDEN & set(name), repr(name)
    assert not re.search(r"[\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]", name), repr(name)
    assert name.split(".")[0].upper() not in WINDOWS_RESERVED
    assert len(name.encode("utf-8")) <= 255
    assert path.resolve().parent == posts.resolve()


def assert_no_executable_markup(fragment: str) -> None:
    if not fragment.strip():
        return
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag.lower() not in {"script", "iframe", "object", "embed", "frame", "base"}, (
            el.tag
        )
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            compact = re.sub(r"[\s\x00-\x1f]", "", html.unescape(value)).lower()
            assert not compact.startswith(("javascript:", "vbscript:", "data:text/html")), value


def assert_no_liquid(body: str) -> None:
    assert "{{" not in body and "{%" not in body, body[:300]


def write(entry: Entry, site: str, mode: str, posts: Path) -> tuple[dict, str, Path] | None:
    if mode == "clean":
        try:
            href = serialise_url(entry.link or "", base=FEED)
        except ValueError:
            return None  # the pipeline refuses such an item before cleaning
        # As pipeline._clean does: the sanitiser's output becomes the content.
        # parse_feed's text is XML-legal; NUL and lone surrogates have their own test.
        source = entry.content if entry.content_is_html else html.escape(entry.content or "")
        source = _UNENCODABLE.sub("", re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", source or ""))
        entry = replace(entry, content=sanitize_html(source or "", href), content_is_html=True)
    try:
        post = render_post(entry, site, now=NOW, content=mode, feed_url=FEED)  # type: ignore[arg-type]
    except PostError:
        return None  # refusing an item is allowed; writing a broken post is not
    path = PostWriter(posts).write(post)
    assert path is not None
    meta, body = split_post(path.read_text(encoding="utf-8"))
    return meta, body, path


@pytest.mark.parametrize("mode", ["clean", "raw"])
@given(entry=entries, site=sites)
def test_hostile_fields_round_trip(mode: str, entry: Entry, site: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_round_trip(entry, site, mode, Path(folder) / "_posts")


def check_round_trip(entry: Entry, site: str, mode: str, posts: Path) -> None:
    written = write(entry, site, mode, posts)
    if written is None:
        return
    meta, body, path = written
    assert set(meta) == {
        "layout",
        "title",
        "date",
        "author",
        "from",
        "tags",
        "comments",
        "categories",
    }
    assert meta["title"] == expected_title(entry.title)
    assert meta["author"] == (expected_inline(entry.author or "") or expected_inline(site))
    assert meta["tags"] == meta["categories"] == [expected_inline(site)]
    assert meta["from"] == serialise_url(entry.link or "", base=FEED)
    assert "{{" not in body and "{%" not in body
    assert meta["date"] == expected_date(entry.published)
    assert_legal_name(path, posts)
    link_line = body.split("\n")[1]
    assert "<" not in link_line, link_line
    assert body.endswith("</div>\n")
    div = body.split("<div>\n", 1)[1].removesuffix("\n</div>\n")
    assert "\n" not in div
    if mode == "clean":
        assert_no_executable_markup(div)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>"]
)
def test_non_http_item_link_is_refused(tmp_path: Path, link: str) -> None:
    with pytest.raises(PostError):
        render_post(Entry(title="t", link=link), "site", now=NOW)


def test_site_of_only_control_characters_still_parses() -> None:
    post = render_post(Entry(title="t", link="http://a/"), "\x00\x1b", now=NOW)
    meta, _ = split_post(post.text)
    assert meta["author"] == ""


@pytest.mark.parametrize("content", ["<p>a\x00b</p>", "<p>a\ud800b</p>"])
def test_sanitizer_takes_json_feed_text(content: str) -> None:
    # A JSON Feed's content can hold "\u0000" or "\ud800"; the item must not be lost.
    assert "ab" in sanitize_html(content, "http://a/")


@pytest.mark.parametrize("site", ["0?", "a?"])
def test_front_matter_parses_the_same_with_pure_python_yaml(site: str) -> None:
    post = render_post(Entry(title="t", link="http://a/"), site, now=NOW)
    head = post.text[4:].partition("\n---\n")[0]
    assert yaml.load(head, Loader=yaml.SafeLoader)["tags"] == [site]


@pytest.mark.parametrize("text", ["{{{ site.x }}}", "{{{% raw %}"])
def test_triple_braces_cannot_reach_liquid(text: str) -> None:
    post = render_post(
        Entry(title=text, link="http://a/", content=text), "site", now=NOW, content="raw"
    )
    assert_no_liquid(split_post(post.text)[1])


def test_same_day_same_title_posts_stay_inside_posts(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    names = set()
    for n in range(3):
        written = write(Entry(title="../../etc/passwd", link=f"http://a/{n}"), "s", "raw", posts)
        assert written is not None
        assert_legal_name(written[2], posts)
        names.add(written[2].name)
    assert names == {
        "2026-11-25-..--..--etc--passwd.md",
        "2026-11-25-..--..--etc--passwd-2.md",
        "2026-11-25-..--..--etc--passwd-3.md",
    }
