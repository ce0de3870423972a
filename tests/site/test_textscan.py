"""The compiled search terms and script counts (site/_textscan.c) against the Python ones."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.site import search, textutil
from newsmirror.site.reader import read_post
from newsmirror.site.search import post_terms

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
POSTS = sorted((SHARED / "golden").glob("**/*.md")) + sorted((SHARED / "seed").glob("*.md"))
scan = textutil._textscan

# Characters where the rules differ: CJK ranges and their edges, kana, hangul,
# bopomofo (outside the CJK class: a word, as search.js reads it), fullwidth forms, the
# ideographic space, digits that are not decimal, ligatures, underscore, capitals
# that lower-case to two characters, script-only characters of both Chinese scripts,
# characters the simplified/traditional table folds (and ones it must not).
TRICKY = (
    "烏克蘭乌克兰北約裡裏里麼么幺著着乾干檯颱綫線峯 "
    "这們国國说說台臺 abcXYZ_09 ，。！？：；（）　ＡＺａｚ０９～＿ぁゟァヿ㄀ㄅㄯ가힯豈﫿"
    "㐀䶿一鿿²③Ⅻ٣ﬁİẞΣς -\t\n\u00a0\u2028"
)
text_strategy = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(), max_size=60)


def python_terms(title: str, rest: str) -> set[str]:
    return textutil.search_tokens(title, unigrams=True) | textutil.search_tokens(rest)


def test_extension_is_compiled() -> None:
    # CI builds it (scripts/setup); without it a 10,000-post build takes ~1.4 s more CPU.
    assert scan is not None, "newsmirror.site._textscan was not compiled (no C compiler?)"


@pytest.mark.skipif(scan is None, reason="extension not compiled")
@settings(max_examples=400, deadline=None)
@given(title=text_strategy, rest=text_strategy)
def test_index_terms_equal_python_tokens(title: str, rest: str) -> None:
    terms = textutil.index_terms(title, rest)
    assert set(terms.split(" ")) - {""} == python_terms(title, rest)
    assert len(terms.split()) == len(set(terms.split()))  # each term once


@pytest.mark.skipif(scan is None, reason="extension not compiled")
@settings(max_examples=400, deadline=None)
@given(text=text_strategy)
def test_script_counts_and_folding_equal_python(text: str) -> None:
    assert scan.script_counts(text) == textutil.script_counts(text)
    assert scan.fold_fullwidth(text) == textutil.fold_fullwidth(text)


@pytest.mark.skipif(scan is None, reason="extension not compiled")
def test_real_posts_get_the_same_terms_and_language_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(POSTS) >= 19
    compiled = []
    for path in POSTS:
        post, content = read_post(path)
        compiled.append(
            (post.lang, set(post_terms(post.title, post.author, post.source, content).split()))
        )
    monkeypatch.setattr(textutil, "_textscan", None)
    for path, (lang, terms) in zip(POSTS, compiled, strict=True):
        post, content = read_post(path)
        assert post.lang == lang, path.name
        assert set(post_terms(post.title, post.author, post.source, content).split()) == terms
    assert {"zh-Hans", "zh-Hant"} <= {lang for lang, _ in compiled}


def test_python_fallback_indexes_without_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textutil, "_textscan", None)
    terms = set(post_terms("北約軍援", "Annie", "法广", "<p>ＯｐｅｎＡＩ 清零</p>").split())
    # Folded to simplified script (scriptfold.py), as the compiled path does.
    assert {"北", "北约", "约军", "军援", "annie", "法广", "openai", "清零"} <= terms
    assert textutil.detect_lang("北約秘書長訪南韓 促增對烏克蘭軍援") == "zh-Hant"


@settings(max_examples=300, deadline=None)
@given(text=text_strategy)
def test_html_to_text_collapses_whitespace_as_the_regex_did(text: str) -> None:
    fragment = f"<p>{text}</p>&nbsp;<b>{text}</b>"
    expected = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", fragment))).strip()
    assert textutil.html_to_text(fragment) == expected


# Every character str.split() breaks at, and neighbours of each kind of str.
SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
spaced_strategy = st.text(alphabet=st.sampled_from(SPACES + "a\x00é\uffff中\U00010000") | st.characters(),
                          max_size=40)  # fmt: skip


@pytest.mark.skipif(scan is None, reason="extension not compiled")
@settings(max_examples=500, deadline=None)
@given(text=spaced_strategy)
def test_collapse_spaces_equals_split_and_join(text: str) -> None:
    got = scan.collapse_spaces(text)
    assert got == " ".join(text.split())
    assert got.isascii() == " ".join(text.split()).isascii()  # made in the narrowest kind


@pytest.mark.skipif(scan is None, reason="extension not compiled")
def test_collapse_spaces_knows_every_character_up_to_u3001() -> None:
    """Each character between two letters: a space exactly where str.split() breaks."""
    for c in [*range(0x3002), 0x10000, 0x10FFFF]:
        text = f"a{chr(c)}b"
        assert scan.collapse_spaces(text) == " ".join(text.split()), hex(c)


def test_html_to_text_without_the_extension_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fragment = f"<p> 北約\u3000軍援 </p>\n<b>Annie&nbsp;{SPACES}x</b>\u2028"
    compiled = textutil.html_to_text(fragment)
    monkeypatch.setattr(textutil, "_textscan", None)
    assert textutil.html_to_text(fragment) == compiled == "北約 軍援 Annie x"


term_strategy = st.text(alphabet=st.sampled_from('中文ab"\\\n\x01\u2028é𝐀'), min_size=1, max_size=4)


@pytest.mark.skipif(scan is None, reason="extension not compiled")
@settings(max_examples=300, deadline=None)
@given(
    posts=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.lists(term_strategy, max_size=8)), max_size=20
    ),
    shards=st.sampled_from([1, 2, 16]),
)
def test_postings_in_c_write_the_same_shards_as_python(
    posts: list[tuple[int, list[str]]], shards: int
) -> None:
    compiled, python = scan.Postings(), search.PyPostings()
    for pid, terms in posts:
        # Terms are whitespace-separated: the ones holding whitespace split, in both.
        compiled.add(pid, " ".join(terms))
        python.add(pid, " ".join(terms))
    assert compiled.count() == python.count()
    for i in range(shards):
        assert compiled.shard_js("main", i, shards) == python.shard_js("main", i, shards)


def test_postings_shards_hold_each_terms_ids_in_order() -> None:
    for impl in [search.PyPostings()] + ([scan.Postings()] if scan else []):
        for pid, terms in ((7, "清零 共存"), (3, "共存 openai"), (12, "清零"), (12, '"q"')):
            impl.add(pid, terms)
        found: dict[str, list[int]] = {}
        for i in range(4):
            text = impl.shard_js("delta", i, 4).decode()
            assert text.startswith(f'nmSearchShard("delta",{i},{{') and text.endswith("});\n")
            for term, gaps in json.loads(text[text.index("{") : -3]).items():
                assert search.fnv1a(term) % 4 == i
                ids = [int(g) for g in gaps.split(",")]
                found[term] = [sum(ids[: k + 1]) for k in range(len(ids))]
        assert found == {"清零": [7, 12], "共存": [3, 7], "openai": [3], '"q"': [12]}


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(TRICKY + " \u0301\u0308\u00a8\u2026\u1100\u1161\u11a8가́ﾞ")
        | st.characters(),
        max_size=40,
    )
)
def test_nfkc_equals_unicodedata(text: str) -> None:
    assert textutil.nfkc(text) == unicodedata.normalize("NFKC", text)


@settings(max_examples=200, deadline=None)
@given(
    posts=st.lists(
        st.tuples(st.integers(0, 5000), st.lists(term_strategy, max_size=6)), max_size=16
    ),
    split=st.integers(0, 16),
)
def test_postings_merged_from_workers_write_what_one_collector_writes(
    posts: list[tuple[int, list[str]]], split: int
) -> None:
    """Two workers' postings, taken in parts and merged, give the files one collector of
    all posts gives."""
    kinds = [search.PyPostings] + ([scan.Postings] if scan else [])
    outputs = []
    for kind in kinds:
        whole, merged, parts = kind(), kind(), (kind(), kind())
        for k, (pid, terms) in enumerate(sorted(posts)):
            whole.add(pid, " ".join(terms))
            parts[k % 2 if split % 2 else int(k >= split)].add(pid, " ".join(terms))
        for k in range(3):  # in parts, as workers hand them over
            for part in parts:
                merged.merge(part.take(k, 3))
        assert all(part.count() == 0 for part in parts)
        assert merged.count() == whole.count()
        files = [merged.shard_js("main", i, 4) for i in range(4)]
        assert files == [whole.shard_js("main", i, 4) for i in range(4)]
        outputs.append(files)
    assert all(files == outputs[0] for files in outputs)


@pytest.mark.skipif(scan is None, reason="extension not compiled")
def test_postings_merge_refuses_what_take_did_not_write() -> None:
    with pytest.raises(ValueError, match="not a Postings.take"):
        scan.Postings().merge(b"\x01\x00\x00")
    with pytest.raises(ValueError, match="not a Postings.take"):
        scan.Postings().merge(b"\x05\x00\x00\x00" + b"\x00" * 8)


@settings(max_examples=300, deadline=None)
@given(
    posts=st.lists(st.tuples(st.integers(0, 99), text_strategy, text_strategy), max_size=8),
    shards=st.sampled_from([1, 4]),
)
def test_add_text_equals_add_of_index_terms(posts: list[tuple[int, str, str]], shards: int) -> None:
    kinds = [search.PyPostings] + ([scan.Postings] if scan else [])
    files = []
    for kind in kinds:
        by_text, by_terms = kind(), kind()
        for pid, title, rest in posts:
            t, r = textutil.index_text(title), textutil.index_text(rest)
            by_text.add_text(pid, t, r)
            by_terms.add(pid, textutil.index_terms(title, rest))
        assert by_text.count() == by_terms.count()
        these = [by_text.shard_js("s", i, shards) for i in range(shards)]
        assert these == [by_terms.shard_js("s", i, shards) for i in range(shards)]
        files.append(these)
    assert all(f == files[0] for f in files)
