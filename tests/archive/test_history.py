"""History files: round trip, one-line errors, and what counts as an edit."""

from __future__ import annotations

import pytest

from newsmirror.archive.history import (
    History,
    HistoryError,
    Version,
    fingerprint,
    history_path,
    iter_histories,
    load_history,
    read_history,
    save_history,
)

TEXT = "第一段：市政府宣布了新的方案。\n第二段：居民表示欢迎，但仍有疑虑。\nThe third paragraph, in English."


def test_a_history_round_trips_through_its_file(tmp_path):
    history = History(key="https://news.example/a/1", link="https://news.example/a/1",
                      post="2026-11-28-标题.md", site="新闻网", feed="https://news.example/feed")
    history.add("suspected", 1795766400, "HTTP 404 Not Found")
    history.versions.append(Version("2026-11-28T08:00:00Z", fingerprint(TEXT), TEXT))
    path = save_history(tmp_path, history)
    assert path == history_path(tmp_path, history.key)
    assert path.parent.parent == tmp_path / ".newsmirror" / "history"
    assert load_history(tmp_path, history.key) == history
    assert list(iter_histories(tmp_path)) == [history]
    assert "新闻网" in path.read_text(encoding="utf-8")  # readable in git diffs


def test_a_broken_history_file_is_one_line_naming_it(tmp_path):
    path = history_path(tmp_path, "k")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(HistoryError, match=str(path)) as info:
        read_history(path)
    assert "\n" not in str(info.value)
    errors: list[str] = []
    assert list(iter_histories(tmp_path, errors)) == []
    assert len(errors) == 1


@pytest.mark.parametrize(
    "variant",
    [
        TEXT.replace("，", " ， "),  # spaces around punctuation
        TEXT.replace("\n", "\n\n  "),  # blank lines, indentation
        TEXT + "\n阅读 12,345",  # a counter
        TEXT + "\n1.2万次阅读",
        TEXT + "\n3 小时前",
        TEXT + "\n5 minutes ago",
        TEXT + "\n2026-11-29 08:00",
        TEXT + "\n更新于 2026年11月29日 08:00",
        TEXT + "\nUpdated: 2026-11-29 08:00 UTC",
        TEXT.replace("English", "Ｅｎｇｌｉｓｈ"),  # full-width letters
    ],
)
def test_whitespace_and_boilerplate_are_not_edits(variant):
    assert fingerprint(variant) == fingerprint(TEXT)


@pytest.mark.parametrize(
    "variant",
    [
        TEXT.replace("欢迎", "反对"),
        TEXT.replace("新的方案", "新的方案，并撤回了旧方案"),
        TEXT.replace("第二段：居民表示欢迎，但仍有疑虑。\n", ""),
        TEXT + "\n编者按：本文已根据要求修改。",
        TEXT.replace("third", "fourth"),
        TEXT.replace("新的方案", "3项新的方案") + "\n死亡人数为3人",  # numbers inside sentences count
        TEXT + "\nUpdated: the minister resigned.",
    ],
)
def test_changes_to_the_words_are_edits(variant):
    assert fingerprint(variant) != fingerprint(TEXT)
