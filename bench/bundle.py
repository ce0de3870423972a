"""The offline bundle's size: `newsmirror bundle` on bench/site.py's synthetic archive.

    .venv/bin/python bench/bundle.py [--posts 10000] [--work DIR]

Posts as bench/site.py makes them (its generator: several sources over six
years, 2-8 KB bodies of real sentences, no images). Prints the zip's size and
file count, the size of the site it holds, and the time `bundle_site` took
(a full build into a temporary folder, then the zip), for the whole archive,
`--since` the last year, and one `--source`. Time on a shared 2-core
machine: noisy.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

from newsmirror.site.bundle import bundle_site

# bench/site.py, loaded by path: "site" is also the standard library's module.
_spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
assert _spec is not None and _spec.loader is not None
bench_site = importlib.util.module_from_spec(_spec)
sys.modules["bench_site"] = bench_site
_spec.loader.exec_module(bench_site)
generate = bench_site.generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--work", type=Path, help="keep (and reuse) the archive here")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="nm-bench-bundle-"))
    archive = work / f"archive-{args.posts}"
    try:
        generate(archive, args.posts)
        print(f"# bench/bundle.py: {args.posts} posts (bench/site.py's generator); shared 2-core machine")
        print(f"{'bundle':<26} {'posts':>6} {'files':>7} {'site MB':>8} {'zip MB':>7} {'seconds':>8}")
        for label, kwargs in (("whole archive", {}),
                              ("--since 2024-01-01", {"since": date(2024, 1, 1)}),
                              ("--source 法广", {"sources": ["法广"]})):  # fmt: skip
            out = work / "bundle.zip"
            started = time.perf_counter()
            report = bundle_site(archive, out, **kwargs)  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
            with zipfile.ZipFile(out) as zf:
                inflated = sum(i.file_size for i in zf.infolist())
            print(f"{label:<26} {report.posts:>6} {report.files:>7} {inflated / 1e6:>8.1f} "
                  f"{report.bytes / 1e6:>7.1f} {seconds:>8.1f}")  # fmt: skip
            out.unlink()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
