"""Score article extraction on two page corpora, development and test parts apart.

Corpora (../shared/corpus/pages/, split by bench/extract_corpora.part_of):
- readability: mozilla/readability's 130 test pages; token precision / recall / F1
  against expected.html, averaged over pages, overall and per language.
- trafilatura-eval: the 884 annotated pages of trafilatura's own benchmark present in
  the corpus; `with` / `without` snippets counted as trafilatura's eval_common.py does
  (tp, fp, tn, fn over all pages; precision, recall, accuracy, F1).

Extractors, all run on every page in one go, their order rotated page by page:
newsmirror (extract_article, no site rules), trafilatura as trafilatura's evaluate.py
runs it (default, and favor_precision), readability-lxml (Document(...).summary(),
scored on its text; on trafilatura-eval also on its raw HTML, as evaluate.py scores it).
Each row gives the CPU time per article in this process (time.process_time, which
other processes on the machine disturb less than wall time) and its ratio to
trafilatura's default. --extractors newsmirror-combiner adds the learned combiner of
bench/combiner.py (an experiment, trained on the development parts).

Tuning aids (--diff, --worst, --halves) print only development-part pages: the test
part's pages are scored, never shown. --halves SALT splits the development part in two
by another hash and prints each extractor's F1 on each half: a change tuned on the
development part should hold on both halves before it is kept.

Run: python bench/extract.py [--part dev|test|both] [--corpus readability|trafilatura-eval]
     [--extractors NAME ...] [--jobs N] [--limit N] [--worst N] [--diff PAGE ...]
     [--halves SALT]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import get_context
from statistics import mean
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import combiner  # noqa: E402
import trafilatura  # noqa: E402
from extract_corpora import (  # noqa: E402
    READABILITY_PAGES,
    TRAF_EVAL,
    Page,
    TokenScore,
    html_text,
    readability_pages,
    token_diff,
    token_score,
    traf_eval_common,
    traf_eval_pages,
)
from readability import Document  # noqa: E402
from trafilatura.utils import decode_file  # noqa: E402

from newsmirror.ingest.article import extract_generic  # noqa: E402
from newsmirror.ingest.extract import decode_page, extract_article  # noqa: E402

# trafilatura's canonical benchmark settings (eval_common.EXTRACT_OPTS).
TRAF_OPTS: dict[str, Any] = dict(traf_eval_common().EXTRACT_OPTS)


def run_newsmirror(html: bytes, url: str) -> str:
    return html_text(extract_article(html, url))


def run_newsmirror_combiner(html: bytes, url: str) -> str:
    # extract_article without site rules, with the learned combiner backing decide.py.
    page = decode_page(html, None)
    return html_text(extract_generic(page, url, combiner.combine)) if page.strip() else ""


def run_trafilatura(html: bytes, url: str) -> str:
    return trafilatura.extract(html, fast=False, **TRAF_OPTS) or ""


def run_trafilatura_precision(html: bytes, url: str) -> str:
    return trafilatura.extract(html, fast=False, favor_precision=True, **TRAF_OPTS) or ""


def run_readability(html: bytes, url: str) -> str:
    # As evaluate.py's run_readability: the whole summary document, no URL.
    return Document(decode_file(html)).summary() or ""


EXTRACTORS: dict[str, Callable[[bytes, str], str]] = {
    "newsmirror": run_newsmirror,
    "trafilatura": run_trafilatura,
    "trafilatura-precision": run_trafilatura_precision,
    "readability-lxml": run_readability,
    # The fourth round's experiment (bench/combiner.py), trained on the development
    # parts: only when named with --extractors, and its development figures are in-sample.
    "newsmirror-combiner": run_newsmirror_combiner,
}
DEFAULT_EXTRACTORS = ["newsmirror", "trafilatura", "trafilatura-precision", "readability-lxml"]
RAW_HTML = "readability-lxml"  # scored on its text; on trafilatura-eval on raw HTML too
RAW_ROW = "readability (raw HTML)"
REFERENCE = "trafilatura"  # time ratios are against this one


@dataclass
class PageResult:
    page: Page
    outputs: dict[str, str] = field(default_factory=dict)  # extractor -> text scored
    raw: str = ""  # readability-lxml's HTML
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


_names: list[str] = []


def _init_worker(names: list[str]) -> None:
    logging.disable(logging.CRITICAL)
    _names[:] = names


def run_page(job: tuple[int, Page]) -> PageResult:
    index, page = job
    names = _names[index % len(_names) :] + _names[: index % len(_names)]  # rotate the order
    result = PageResult(page)
    for name in names:
        start = time.process_time()
        try:
            out = EXTRACTORS[name](page.html, page.url)
        except Exception as e:  # a crash counts as empty output, as in evaluate.py
            out = ""
            result.errors[name] = f"{type(e).__name__}: {e}"
        result.seconds[name] = time.process_time() - start
        if name == RAW_HTML:
            result.raw = out
            out = html_text(out)
        result.outputs[name] = out
    page.html = b""  # not needed back from a worker
    return result


def warm_up(names: list[str]) -> None:
    """Pay lazy imports and first-call set-up before anything is timed."""
    sample = (
        b"<html><head><title>t</title></head><body><article>"
        + b"<p>A sentence of some length, long enough to be text and not chrome.</p>" * 8
        + b"</article></body></html>"
    )
    for name in names:
        try:
            EXTRACTORS[name](sample, "http://example.org/")
        except Exception:
            pass


# --- tables ---------------------------------------------------------------------------


def time_columns(results: list[PageResult], name: str) -> str:
    ms = 1000 * mean(r.seconds[name] for r in results)
    if REFERENCE in results[0].seconds:
        ref = mean(r.seconds[REFERENCE] for r in results)
        ratio = mean(r.seconds[name] for r in results) / ref if ref else 0.0
        return f"{ms:8.1f} {ratio:6.2f}x"
    return f"{ms:8.1f} {'':>7}"


def readability_table(results: list[PageResult], names: list[str], title: str) -> None:
    scores = {
        name: {r.page.name: token_score(r.outputs[name], r.page.expected_text) for r in results}
        for name in names
    }
    langs = sorted(
        {r.page.lang for r in results}, key=lambda x: (-sum(r.page.lang == x for r in results), x)
    )
    by_lang = {lang: [r.page.name for r in results if r.page.lang == lang] for lang in langs}
    print(f"\n{title} (n={len(results)})")
    lang_head = " ".join(f"{lang + ' ' + str(len(by_lang[lang])):>7}" for lang in langs)
    print(
        f"{'extractor':24} {'prec':>6} {'recall':>6} {'F1':>6} {'ms/art':>8} {'time':>7}  F1 by language: {lang_head}"
    )
    for name in names:
        s: dict[str, TokenScore] = scores[name]
        row = (
            f"{name:24} {mean(x.precision for x in s.values()):6.3f}"
            f" {mean(x.recall for x in s.values()):6.3f} {mean(x.f1 for x in s.values()):6.3f}"
        )
        per_lang = " ".join(f"{mean(s[n].f1 for n in by_lang[lang]):7.3f}" for lang in langs)
        print(f"{row} {time_columns(results, name)}                  {per_lang}")


def traf_eval_table(results: list[PageResult], names: list[str], title: str) -> None:
    common = traf_eval_common()
    rows: list[tuple[str, str, Any]] = []
    for name in names:
        cm = common.ConfusionMatrix()
        for r in results:
            cm.add(common.count_item(r.page.snippets, r.outputs[name]))
        rows.append((name, name, cm))
        if name == RAW_HTML:
            raw = common.ConfusionMatrix()
            for r in results:
                raw.add(common.count_item(r.page.snippets, r.raw))
            rows.append((RAW_ROW, name, raw))
    print(f"\n{title} (n={len(results)} pages)")
    print(f"{'extractor':24} {'tp':>5} {'fp':>5} {'tn':>5} {'fn':>5} {'prec':>6} {'recall':>6}"
          f" {'acc':>6} {'F1':>6} {'ms/art':>8} {'time':>7}")  # fmt: skip
    for label, name, cm in rows:
        precision, recall, accuracy, f1 = cm.scores()
        print(
            f"{label:24} {cm.tp:5} {cm.fp:5} {cm.tn:5} {cm.fn:5} {precision:6.3f} {recall:6.3f}"
            f" {accuracy:6.3f} {f1:6.3f} {time_columns(results, name)}"
        )


# --- tuning aids: development part only ----------------------------------------------


def show_diff(result: PageResult) -> None:
    page, out = result.page, result.outputs["newsmirror"]
    if page.corpus == "readability":
        missing, extra = token_diff(out, page.expected_text)
        print(f"{page.name}: missing [{missing}]\n{page.name}: extra [{extra}]")
        return
    norm = traf_eval_common().norm
    text = norm(out)
    lost = [w for w in page.snippets["with"] if norm(w) not in text]
    kept = [w for w in page.snippets["without"] if norm(w) in text]
    print(f"{page.name}: missed {lost}\n{page.name}: kept junk {kept}")


def page_errors(result: PageResult) -> int:
    """Snippet errors (fn + fp) of newsmirror minus the best peer's, on a trafilatura-eval page."""
    common = traf_eval_common()

    def errors(text: str) -> int:
        _, fp, fn, _ = common.count_item(result.page.snippets, text)
        return fp + fn

    return errors(result.outputs["newsmirror"]) - min(
        errors(t) for n, t in result.outputs.items() if n != "newsmirror"
    )


def show_worst(results: list[PageResult], count: int) -> None:
    def loss(r: PageResult) -> float:
        if r.page.corpus == "readability":
            f1 = {n: token_score(t, r.page.expected_text).f1 for n, t in r.outputs.items()}
            return max(f1.values()) - f1["newsmirror"]
        return page_errors(r)

    worst = sorted((r for r in results if r.page.part == "dev"), key=loss, reverse=True)[:count]
    print(f"\nnewsmirror's worst development pages against the best peer (top {count}):")
    for r in worst:
        print(f"  {r.page.corpus:16} {r.page.name:50} loss {loss(r):.3f}")


def half_of(name: str, salt: str) -> int:
    """0 or 1: a development page's half under another hash than the part's."""
    return hashlib.sha1(f"{salt}{name}".encode()).digest()[0] % 2


def show_halves(results: list[PageResult], names: list[str], salt: str) -> None:
    common = traf_eval_common()
    print(f"\nF1 on the two halves of the development part (split by SHA-1 of {salt!r} + name):")
    for corpus in ("readability", "trafilatura-eval"):
        for half in (0, 1):
            subset = [r for r in results if r.page.corpus == corpus and r.page.part == "dev"
                      and half_of(r.page.name, salt) == half]  # fmt: skip
            if not subset:
                continue
            cells = []
            for name in names:
                if corpus == "readability":
                    f1 = mean(token_score(r.outputs[name], r.page.expected_text).f1 for r in subset)
                else:
                    cm = common.ConfusionMatrix()
                    for r in subset:
                        cm.add(common.count_item(r.page.snippets, r.outputs[name]))
                    f1 = cm.f1()
                cells.append(f"{name} {f1:.4f}")
            print(f"  {corpus:16} half {half} (n={len(subset)}): " + ", ".join(cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("dev", "test", "both"), default="both")
    ap.add_argument("--corpus", choices=("readability", "trafilatura-eval", "both"), default="both")
    ap.add_argument("--extractors", nargs="+", choices=list(EXTRACTORS),
                    default=DEFAULT_EXTRACTORS)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (timings get noisier)")
    ap.add_argument("--worst", type=int, default=0, help="list newsmirror's N worst dev pages")
    ap.add_argument("--limit", type=int, default=0, help="only the first N pages of each part")
    ap.add_argument("--halves", metavar="SALT", default="",
                    help="F1 on two halves of the development part, split by SALT")  # fmt: skip
    ap.add_argument("--diff", nargs="*", default=[], metavar="PAGE",
                    help="newsmirror's lost/extra text on these development pages")  # fmt: skip
    args = ap.parse_args(argv)
    names = args.extractors
    if (args.worst or args.diff) and "newsmirror" not in names:
        ap.error("--worst and --diff need newsmirror among the extractors")
    for folder in (READABILITY_PAGES, TRAF_EVAL):
        if not folder.is_dir():
            print(f"corpus not found: {folder}", file=sys.stderr)
            return 1
    pages: list[Page] = []
    if args.corpus in ("readability", "both"):
        pages += readability_pages()
    if args.corpus in ("trafilatura-eval", "both"):
        pages += traf_eval_pages()
    if args.part != "both":
        pages = [p for p in pages if p.part == args.part]
    if args.limit:
        taken: dict[tuple[str, str], int] = defaultdict(int)
        limited = []
        for page in pages:
            if taken[page.corpus, page.part] < args.limit:
                taken[page.corpus, page.part] += 1
                limited.append(page)
        pages = limited
    refused = [p.name for p in pages if p.name in args.diff and p.part == "test"]
    if refused:
        ap.error(f"--diff shows development pages only; in the test part: {', '.join(refused)}")

    logging.disable(logging.CRITICAL)
    warm_up(names)
    started = time.perf_counter()
    if args.jobs > 1:
        with get_context("fork").Pool(args.jobs, _init_worker, (names,)) as pool:
            warm = pool.map(warm_up, [names] * args.jobs)  # noqa: F841 - warm every worker
            results = pool.map(run_page, enumerate(pages), chunksize=4)
    else:
        _init_worker(names)
        results = [run_page(job) for job in enumerate(pages)]
    wall = time.perf_counter() - started

    errors: dict[str, int] = defaultdict(int)
    for r in results:
        for name in r.errors:
            errors[name] += 1
    print(f"{len(results)} pages in {wall:.0f} s wall, {args.jobs} process(es), load {os.getloadavg()[0]:.2f}"
          f" on {os.cpu_count()} cores; errors: {dict(errors) or 'none'}")  # fmt: skip
    for corpus, table in (
        ("readability", readability_table),
        ("trafilatura-eval", traf_eval_table),
    ):
        for part, label in (
            ("dev", "development part (tuned on)"),
            ("test", "test part (never tuned on)"),
        ):
            subset = [r for r in results if r.page.corpus == corpus and r.page.part == part]
            if subset:
                table(subset, names, f"{corpus}, {label}")
        # Per page for the development part only; the test part's CJK pages are in the
        # zh and ja columns above.
        cjk = [r for r in results if r.page.corpus == corpus and r.page.part == "dev"
               and r.page.lang in ("zh", "ja")]  # fmt: skip
        if corpus == "readability" and cjk:
            print("  CJK development pages, F1:", "; ".join(
                f"{r.page.name} " + " ".join(
                    f"{n}={token_score(r.outputs[n], r.page.expected_text).f1:.3f}" for n in names)
                for r in cjk))  # fmt: skip
    if args.halves:
        show_halves(results, names, args.halves)
    if args.worst:
        show_worst(results, args.worst)
    for r in results:
        if r.page.name in args.diff:
            show_diff(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
