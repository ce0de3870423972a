"""Simplified/traditional folding for search, in Python, C and JavaScript.

Search terms are taken from text folded to simplified script by the one table
of util/scriptfold.py, so that a query in either script, or a mix, finds posts
in both: the C module receives the table at import (`_textscan.set_fold`), and
the build writes it into the site as `static/scriptfold.js` for search.js
(`js_source`). Folding is applied after NFKC and lower-casing, before cutting
terms.
"""

from __future__ import annotations

import json

from ..util.scriptfold import FOLD, FOLD_FROM, FOLD_TO, fold

__all__ = ["FOLD", "FOLD_FROM", "FOLD_TO", "JS_FILE", "fold", "js_source"]

JS_FILE = "static/scriptfold.js"


def js_source() -> str:
    """The table for search.js: `window.nmFold` maps a character to its folded form."""
    pairs = json.dumps([FOLD_FROM, FOLD_TO], ensure_ascii=False)
    return (
        "/* Generated from newsmirror's scriptfold table (OpenCC's dictionaries): the\n"
        "   folding search.js applies to queries, as the index was folded. */\n"
        f"(function(p){{var m=new Map(),f=Array.from(p[0]),t=Array.from(p[1]);"
        f"for(var i=0;i<f.length;i++)m.set(f[i],t[i]);window.nmFold=m;}})({pairs});\n"
    )
