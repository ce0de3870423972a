"""Charsets as servers really use them: one table for feeds and pages alike.

A declared label is decoded with the superset browsers use under that name
(GB2312 text is GB18030, Big5 is Big5-HKSCS, Latin-1 is windows-1252), and
bytes that declare nothing are judged by script: CJK as detected, Latin text
as windows-1252 (detection cannot tell Latin single-byte charsets apart on a
feed's worth of text; Portuguese came out as Baltic cp1257).
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

# codecs' name of a declared charset -> the superset real servers send under it.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
}
_SINGLE_BYTE_PREFIXES = ("cp125", "iso8859", "latin", "ascii", "koi8", "mac", "cp437", "cp850")
# Single-byte charsets of other scripts than Latin (Cyrillic, Greek, Hebrew,
# Arabic, Thai): detection tells these from Latin text reliably.
_NON_LATIN_SINGLE_BYTE = {
    "cp1251", "koi8_r", "koi8_u", "iso8859_5", "mac_cyrillic", "cp866", "cp855",
    "cp1253", "iso8859_7", "mac_greek", "cp1255", "iso8859_8", "cp1256", "iso8859_6",
    "tis_620", "cp874", "iso8859_11",
}  # fmt: skip
CHINESE = ("gb18030", "big5hkscs")


def codec_for(label: str) -> str | None:
    """The codec to decode text declared as `label`; None for an unknown label."""
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    return SUPERSETS.get(name.replace("-", "_"), name)


def is_single_byte(codec: str) -> bool:
    return (
        codec.replace("-", "")
        .replace("_", "")
        .startswith(tuple(p.replace("_", "") for p in _SINGLE_BYTE_PREFIXES))
    )


def is_non_latin_single_byte(codec: str) -> bool:
    return codec.replace("-", "_") in _NON_LATIN_SINGLE_BYTE


def decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect(body: bytes, limit: int = 65536) -> str | None:
    """charset-normalizer's best guess for the first `limit` bytes, as a codec."""
    best = from_bytes(body[:limit]).best()
    return codec_for(best.encoding) if best is not None else None


def undeclared_charset(body: bytes, detected: str | None) -> str:
    """Nothing declared and not UTF-8: CJK as detection says (GB18030 or Big5
    for Chinese), a non-Latin script's single-byte charset as detected, and
    anything else as windows-1252."""
    if detected and not is_single_byte(detected):
        chinese = [c for c in CHINESE if decodes(body, c)]
        if detected in chinese or (decodes(body, detected) and not chinese):
            return detected
        if len(chinese) == 1:
            return chinese[0]
        if decodes(body, detected):
            return detected
    if detected and is_non_latin_single_byte(detected) and decodes(body, detected):
        return detected
    return "cp1252"
