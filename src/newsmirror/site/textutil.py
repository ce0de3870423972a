"""Text helpers for the site: language detection, slugs, plain text, search tokens."""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from functools import lru_cache

from ..util.text import SEARCH_CJK, char_class, in_ranges
from .scriptfold import FOLD_FROM, FOLD_TO, fold

# _textscan.c gives the same results as the Python code below, 5-7x faster; it is
# compiled at install, and skipped there when the machine has no C compiler.
try:
    from . import _textscan
except ImportError:
    _textscan = None

# Body text used per post for the search index (keeps the index small for slow links).
INDEX_CHARS = 1500
# Text used to tell Chinese scripts and English apart: on the golden posts and
# 500 synthetic ones, 600 characters decide as 1,500 do, at half the cost.
LANG_CHARS = 600
# Common characters that exist in only one of the two Chinese scripts.
_SIMPLIFIED_ONLY = set(
    "这们国说会来对学过还发没样经现进当动实问题应关点长开话种机头见听让门间车东马书与为从亲乐习"
    "买产么义乌亚亿仅价众优传伤伦伟侠俭债倾偿储儿党兰兴养册军农冯冲决况冻净减凤击刘则刚创删别剧劝"
    "办务劳势区医华协单卖卫历压厅县参双变叶号叹吗员响团园围图圆场坏块坚报担拥择挂挡挤挥损换据时热"
    "爱网电视钱银铁错闻阳阴陆陈险随隐难杂鸡飞饭馆驱鱼鸟龙齐总统选举议尽战争论认识让记许访设证评"
)
_TRADITIONAL_ONLY = set(
    "這們國說會來對學過還發沒樣經現進當動實問題應關點長開話種機頭見聽讓門間車東馬書與為從親樂習"
    "買產麼義烏亞億僅價眾優傳傷倫偉俠儉債傾償儲兒黨蘭興養冊軍農馮衝決況凍淨減鳳擊劉則剛創刪別劇勸"
    "辦務勞勢區醫華協單賣衛歷壓廳縣參雙變葉號嘆嗎員響團園圍圖圓場壞塊堅報擔擁擇掛擋擠揮損換據時熱"
    "愛網電視錢銀鐵錯聞陽陰陸陳險隨隱難雜雞飛飯館驅魚鳥龍齊總統選舉議盡戰爭論認識讓記許訪設證評"
)
_CJK = char_class(SEARCH_CJK)
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_SCRIPT_OR_STYLE = re.compile(r"<(?:script|style)\b", re.I)
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*#%&{}$!'@+=`^~\[\];,()\s\ufffc\ufffd]+")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
if _textscan:
    _textscan.set_scripts("".join(_SIMPLIFIED_ONLY), "".join(_TRADITIONAL_ONLY))
    _textscan.set_fold(FOLD_FROM, FOLD_TO)


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    text = html.unescape(_TAG.sub(" ", fragment))
    if _textscan:
        return _textscan.collapse_spaces(text)  # as the line below, 4-5x faster
    # split() breaks at the characters `\s` matches, as `re.sub(r"\s+", " ")` and
    # strip() would, ~5x faster on CJK text.
    return " ".join(text.split())


def _in_cjk_ranges(ch: str) -> bool:
    """The `_CJK` ranges, without a regex call per character."""
    return in_ranges(SEARCH_CJK, ch)


def script_counts(text: str) -> tuple[int, int, int, int]:
    """(letters, CJK characters, simplified-only, traditional-only) in `text`."""
    cjk = letters = simp = trad = 0
    # One pass over the distinct characters: much cheaper than a regex per class.
    for ch, n in Counter(text).items():
        if ch.isalnum() and not ch.isdecimal():
            letters += n
        if _in_cjk_ranges(ch):
            cjk += n
            if ch in _SIMPLIFIED_ONLY:
                simp += n
            elif ch in _TRADITIONAL_ONLY:
                trad += n
    return letters, cjk, simp, trad


def detect_lang(text: str) -> str:
    """BCP 47 tag for a post: zh-Hans / zh-Hant by script-unique characters, else en."""
    count = _textscan.script_counts if _textscan else script_counts
    letters, cjk, simp, trad = count(text[:LANG_CHARS])
    if cjk < 4 or cjk * 4 < letters:
        return "en"
    if trad > simp:
        return "zh-Hant"
    return "zh-Hans"


def slugify(text: str, max_len: int = 48) -> str:
    """A file-name-safe slug valid on Windows, macOS and Linux; keeps CJK letters."""
    s = unicodedata.normalize("NFC", text)
    s = _UNSAFE_IN_NAME.sub("-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-. ")[:max_len].rstrip("-. ")
    if not s:
        return "post"
    if s.split(".")[0].lower() in _WINDOWS_RESERVED:
        s = "_" + s
    return s


# NFKC maps fullwidth ASCII forms (Chinese punctuation ，：（）？) and the ideographic
# space to ASCII; doing those by table leaves most CJK text already normalised.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# As (from, to) strings: a `replace` per character present is ~4x faster than
# str.translate's per-character dict lookup on CJK text (targets are never sources).
_FULLWIDTH_PAIRS = tuple((chr(a), chr(b)) for a, b in _FULLWIDTH.items())


def fold_fullwidth(text: str) -> str:
    """Fullwidth ASCII forms and the ideographic space made ASCII (as NFKC does)."""
    if not text.isascii():
        for wide, narrow in _FULLWIDTH_PAIRS:
            if wide in text:
                text = text.replace(wide, narrow)
    return text


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, skipping the slow call when it would not change."""
    text = _textscan.fold_fullwidth(text) if _textscan else fold_fullwidth(text)
    if unicodedata.is_normalized("NFKC", text):
        return text
    # Normalise only the space-separated pieces that need it: a long CJK text
    # with one "…" took ~150 µs as a whole. NFKC never joins across U+0020 (a
    # starter nothing composes with), so the pieces normalise independently.
    return " ".join(
        piece if unicodedata.is_normalized("NFKC", piece) else unicodedata.normalize("NFKC", piece)
        for piece in text.split(" ")
    )


def index_text(text: str) -> str:
    """`text` as search terms are taken from: NFKC-normalised, lower-cased."""
    return nfkc(text).lower()


def search_tokens(text: str, *, unigrams: bool = False) -> set[str]:
    """Index terms: CJK bigrams (and, with `unigrams`, single CJK characters) plus words,
    of the text folded to simplified script (scriptfold.py).

    site/static/search.js tokenises queries the same way; keep the two in step.
    """
    return text_tokens(index_text(text), unigrams=unigrams)


def text_tokens(text: str, *, unigrams: bool = False) -> set[str]:
    """`search_tokens` of a text already through `index_text`."""
    out: set[str] = set()
    # Each distinct run once: news text repeats its words a lot.
    for run in set(_TOKEN.findall(fold(text))):
        if _in_cjk_ranges(run[0]):
            if len(run) == 1 or unigrams:
                out.update(run)
            if len(run) > 1:
                out.update([run[i : i + 2] for i in range(len(run) - 1)])
        elif len(run) > 1 or run.isdigit():
            out.add(run)
    return out


def index_terms(title: str, rest: str) -> str:
    """`search_tokens(title, unigrams=True) | search_tokens(rest)`, space-separated."""
    title, rest = index_text(title), index_text(rest)
    if _textscan:
        return _textscan.index_terms(title, rest)
    return text_terms(title, rest)


def text_terms(title: str, rest: str) -> str:
    """`index_terms` of texts already through `index_text`, in Python (the reference)."""
    return " ".join(text_tokens(title, unigrams=True) | text_tokens(rest))


@lru_cache(maxsize=4)
def leading_text(fragment: str, chars: int = 1500) -> str:
    """About the first `chars` characters of visible text of an HTML fragment.

    Converts only a prefix of the HTML (plus a margin for markup), growing it
    when the markup leaves too little text: posts are 2-10 KB and only their
    start is used for language detection and search. A prefix of twice `chars`
    is enough for nearly every post (CJK text is about as long as its HTML).
    Cached, as the reader and the search index ask for the same post in a row.
    """
    for size in (chars * 2, chars * 6):
        if size >= len(fragment):
            break
        prefix = fragment[:size]
        lt = prefix.rfind("<")
        if lt >= 0 and prefix.find(">", lt) < 0:
            prefix = prefix[:lt]  # a cut tag would read as text
        if _SCRIPT_OR_STYLE.search(prefix):
            break  # a cut <script> would leak code into the text
        text = html_to_text(prefix)
        if len(text) >= chars:
            return text[:chars]
    return html_to_text(fragment)[:chars]


def fnv1a(token: str) -> int:
    """32-bit FNV-1a over the token's code points (search.js computes the same)."""
    h = 0x811C9DC5
    for ch in token:
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return h
