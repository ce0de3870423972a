"""Benchmark: ways to fold simplified and traditional Chinese for search, on real text.

    python bench/scriptfold.py [--lib-path DIR ...]

Candidates, each a function applied to the text before it is cut into search
terms, at index time and (in the browser) to the query:
- `table`: newsmirror's character table (site/scriptfold.py, made from OpenCC's
  dictionaries by scripts/script_tables.py), one character to one;
- `opencc`: the `opencc` package (OpenCC's C++ library), t2s and tw2s, phrase-aware;
- `zhconv-rs` (and `zhconv-rs-opencc`): MediaWiki's (and OpenCC's) tables in Rust, to zh-hans;
- `zhconv`: MediaWiki's tables in pure Python, to zh-hans;
- `opencc-python-reimplemented`: OpenCC's tables in pure Python, t2s.

Real text: the golden and seed posts and the Chinese article pages of the test
corpora in ../shared, simplified and traditional (Taiwan, Hong Kong). Each text
is converted to the other script by every available converter (opencc s2t,
s2tw, s2hk, t2s; zhconv-rs and zhconv to zh-tw, zh-hk, zh-cn); a candidate
scores the share of the original's two-character terms (after folding) that
the converted text also has (after folding): what a query copied from the post
in the other script finds. `query` is the share of a candidate's terms that the
table folding of the same text gives: a query folded in the browser (by the
table) finds them. Speed: microseconds per 1,500 characters (the text each post
is indexed by). Speed is the fastest of 7 rounds in which the
candidates take turns. Packages that are not installed are skipped; `--lib-path` adds
folders to look in (a folder per package: the `opencc` of OpenCC and of
opencc-python-reimplemented share a name). None of the text was tuned on: the
table is OpenCC's, unchanged.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
PAGES = SHARED / "corpus" / "pages"
READABILITY = ("gmw", "qq", "youth", "pixnet", "yahoo-4")
TRAFILATURA = ("baike.baidu.com.tanya.html", "banyuetan.org.1000200033136171577956287380194268_1.html",
               "xinhuanet.com.c_1125597921.html")  # fmt: skip
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


def texts() -> list[tuple[str, str, str]]:
    """(name, lang, text) of every real Chinese text in ../shared."""
    from newsmirror.site.reader import read_post
    from newsmirror.site.textutil import detect_lang, html_to_text

    out = []
    for p in sorted([*(SHARED / "golden").glob("*.md"), *(SHARED / "seed").glob("*.md")]):
        post, content = read_post(p)
        out.append((p.name[:24], post.lang, post.title + " " + html_to_text(content)))
    for name in READABILITY:
        text = html_to_text(
            (PAGES / "readability/test/test-pages" / name / "expected.html").read_text()
        )
        out.append((name, detect_lang(text), text))
    for name in TRAFILATURA:
        raw = (PAGES / "trafilatura-eval/tests/eval" / name).read_bytes().decode("utf-8", "replace")
        text = html_to_text(re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw))
        out.append((name[:24], detect_lang(text), text))
    return [t for t in out if t[1] != "en"]


def _load(module: str, paths: list[str], alias: str | None = None):  # type: ignore[no-untyped-def]
    """Import `module` from the first of `paths` (or sys.path) holding it; None if absent."""
    for folder in paths:
        init = Path(folder) / module / "__init__.py"
        if init.is_file():
            name = alias or module
            spec = importlib.util.spec_from_file_location(name, init,
                                                          submodule_search_locations=[str(init.parent)])  # fmt: skip
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            return mod
    if alias:
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def candidates(
    paths: list[str],
) -> tuple[dict[str, Callable[[str], str]], dict[str, Callable[[str], str]]]:
    """(folds to compare, converters that write a text in the other script)."""
    from newsmirror.site.scriptfold import fold

    folds: dict[str, Callable[[str], str]] = {"table": fold}
    convert: dict[str, Callable[[str], str]] = {}
    opencc = next((m for p in paths if (m := _load("opencc", [p])) and hasattr(m, "OpenCC")
                   and not hasattr(m, "__main__")), None) or _load("opencc", [])  # fmt: skip
    if opencc is not None and hasattr(opencc, "OpenCC"):
        for cfg in ("t2s", "tw2s"):
            folds[f"opencc {cfg}"] = opencc.OpenCC(cfg).convert
        for cfg in ("s2t", "s2tw", "s2hk", "t2s", "tw2s", "hk2s"):
            convert[f"opencc {cfg}"] = opencc.OpenCC(cfg).convert
    for pkg in ("zhconv_rs", "zhconv_rs_opencc"):
        mod = _load(pkg, paths)
        if mod is not None:
            folds[pkg.replace("_", "-")] = lambda t, m=mod: m.zhconv(t, "zh-hans")
            if pkg == "zhconv_rs":
                for v in ("zh-tw", "zh-hk", "zh-cn"):
                    convert[f"zhconv-rs {v}"] = lambda t, m=mod, v=v: m.zhconv(t, v)
    zhconv = _load("zhconv", paths)
    if zhconv is not None:
        folds["zhconv"] = lambda t: zhconv.convert(t, "zh-hans")
        for v in ("zh-tw", "zh-cn"):
            convert[f"zhconv {v}"] = lambda t, v=v: zhconv.convert(t, v)
    for p in paths:
        if (Path(p) / "opencc" / "opencc.py").is_file():
            mod = _load("opencc", [p], alias="opencc_reimplemented")
            folds["opencc-python-reimplemented"] = mod.OpenCC("t2s").convert
    return folds, convert


def bigrams(text: str) -> set[str]:
    return {run[i : i + 2] for run in _HAN.findall(text) for i in range(len(run) - 1)}


def _speeds(
    folds: dict[str, Callable[[str], str]], sample: str, rounds: int = 7
) -> dict[str, float]:
    """Microseconds per 1,500 characters, the fastest of `rounds` passes, the
    candidates taking turns in each round (the machine may be busy)."""
    pieces = [sample[i : i + 1500] for i in range(0, len(sample), 1500)]
    best = dict.fromkeys(folds, float("inf"))
    for _ in range(rounds):
        for name, fold in folds.items():
            t0 = time.perf_counter()
            for piece in pieces:
                fold(piece)
            best[name] = min(best[name], (time.perf_counter() - t0) / len(pieces) * 1e6)
    return best


def _c_cost(sample: str, rounds: int = 7) -> None:
    """What the table costs where the build uses it: inside the C module's index
    terms, timed with the table and with an empty one, in turns."""
    from newsmirror.site import scriptfold, textutil

    scan = textutil._textscan
    if scan is None:
        print("\n(the C module is not compiled: no C figure)")
        return
    pieces = [textutil.index_text(sample[i : i + 1500]) for i in range(0, len(sample), 1500)]
    best = {"with": float("inf"), "without": float("inf")}
    try:
        for _ in range(rounds):
            for mode in best:
                scan.set_fold(*((scriptfold.FOLD_FROM, scriptfold.FOLD_TO) if mode == "with"
                                else ("", "")))  # fmt: skip
                t0 = time.perf_counter()
                for piece in pieces:
                    scan.index_terms("", piece)
                best[mode] = min(best[mode], (time.perf_counter() - t0) / len(pieces) * 1e6)
    finally:
        scan.set_fold(scriptfold.FOLD_FROM, scriptfold.FOLD_TO)
    print(
        f"\nin the C module's index terms, per 1,500 characters: {best['with']:.1f} µs with the "
        f"table, {best['without']:.1f} µs without (fastest of {rounds} rounds each)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib-path", action="append", default=[],
                    help="a folder holding one of the packages (repeatable)")  # fmt: skip
    args = ap.parse_args()
    corpus = texts()
    folds, convert = candidates(args.lib_path)
    print(f"{len(corpus)} real texts: {sum(t[1] == 'zh-Hans' for t in corpus)} simplified, "
          f"{sum(t[1] == 'zh-Hant' for t in corpus)} traditional, "
          f"{sum(len(t[2]) for t in corpus):,} characters; converters: {', '.join(convert)}")  # fmt: skip
    table = folds["table"]
    speed = _speeds(folds, "".join(t[2] for t in corpus)[:150_000])
    print(
        f"\n{'fold':<30} {'found across scripts':>21} {'worst text':>11} {'query':>7} {'µs/1,500 ch':>12}"
    )
    for name, fold in folds.items():
        scores, query = [], []
        for _, lang, text in corpus:
            to_other = [c for n, c in convert.items()
                        if (lang == "zh-Hans") != any(k in n for k in ("t2s", "2s", "zh-cn"))]  # fmt: skip
            mine = bigrams(fold(text))
            for conv in to_other:
                theirs = bigrams(fold(conv(text)))
                scores.append(len(mine & theirs) / max(1, len(mine)))
            query.append(len(mine & bigrams(table(text))) / max(1, len(mine)))
        us = speed[name]
        across = f"{statistics.mean(scores):>20.4%} {min(scores):>11.4%}" if scores else (
            f"{'n/a':>20} {'n/a':>11}")  # fmt: skip
        print(f"{name:<30} {across} {statistics.mean(query):>7.2%} {us:>12.1f}")
    _c_cost("".join(t[2] for t in corpus)[:150_000])
    if not convert:
        print(
            "\nno converter installed (opencc, zhconv-rs, zhconv): nothing to write the texts "
            "in the other script with, so no score across scripts"
        )
        return
    print("\nno fold (as before):", end=" ")
    scores = []
    for _, lang, text in corpus:
        for n, conv in convert.items():
            if (lang == "zh-Hans") != any(k in n for k in ("t2s", "2s", "zh-cn")):
                mine = bigrams(text)
                scores.append(len(mine & bigrams(conv(text))) / max(1, len(mine)))
    print(f"{statistics.mean(scores):.2%} of terms found across scripts")


if __name__ == "__main__":
    main()
