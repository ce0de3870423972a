"""Simplified/traditional folding for search: one table, used in Python, C and JavaScript.

Search terms are taken from text folded character by character to simplified
script (烏克蘭 -> 乌克兰, 裡 -> 里), so that a query in either script, or a
mix, finds posts in both. The table (_scriptfold_table.py) is generated from
OpenCC's dictionaries by scripts/script_tables.py; it is the one definition:
the C module receives it at import (`_textscan.set_fold`), and the build writes
it into the site as `static/scriptfold.js` for search.js (`js_source`).
Folding is applied after NFKC and lower-casing, before cutting terms.
"""

from __future__ import annotations

import json

from ._scriptfold_table import FOLD_FROM, FOLD_TO

FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
JS_FILE = "static/scriptfold.js"


def fold(text: str) -> str:
    """`text` with every traditional or variant character of the table made simplified."""
    return text.translate(FOLD)


def js_source() -> str:
    """The table for search.js: `window.nmFold` maps a character to its folded form."""
    pairs = json.dumps([FOLD_FROM, FOLD_TO], ensure_ascii=False)
    return (
        "/* Generated from newsmirror's scriptfold table (OpenCC's dictionaries): the\n"
        "   folding search.js applies to queries, as the index was folded. */\n"
        f"(function(p){{var m=new Map(),f=Array.from(p[0]),t=Array.from(p[1]);"
        f"for(var i=0;i<f.length;i++)m.set(f[i],t[i]);window.nmFold=m;}})({pairs});\n"
    )
