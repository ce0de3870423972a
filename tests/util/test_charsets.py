"""The one charset table, as feeds and pages both use it."""

from __future__ import annotations

import pytest

from newsmirror.ingest.extract import decode_page
from newsmirror.ingest.parse import choose_encoding
from newsmirror.util.charsets import codec_for, detect, undeclared_charset


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("big5", "big5hkscs"),
        ("ISO-8859-1", "cp1252"),
        ("latin_1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("Shift_JIS", "cp932"),
        ("utf-8", "utf-8"),
        ("koi8-r", "koi8-r"),
        ("no-such-charset", None),
    ],
)
def test_a_label_decodes_with_the_superset_browsers_use(label: str, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_feeds_and_pages_read_a_declared_label_alike() -> None:
    text = "烏克蘭 北約 — 繁體中文的新聞稿" * 20
    body = text.encode("big5hkscs")
    page = b'<html><head><meta charset="big5"></head><body>' + body + b"</body></html>"
    assert decode_page(page, None).count("烏克蘭") == 20
    feed = b'<?xml version="1.0" encoding="big5"?><rss><channel><title>' + body
    assert choose_encoding(feed, None) == codec_for("big5") == "big5hkscs"


def test_undeclared_latin_text_is_windows_1252() -> None:
    body = ("Seg, 24 Set 2018: prisão preventiva é decretada; ação é " * 30).encode("cp1252")
    assert undeclared_charset(body, detect(body)) == "cp1252"


def test_undeclared_chinese_text_is_gb18030() -> None:
    body = ("北约领导人呼吁韩国加强军援乌克兰力度，世界翘首以盼。" * 30).encode("gb18030")
    assert undeclared_charset(body, detect(body)) == "gb18030"
