"""Tiny runs of bench/site_ab.py and bench/scriptfold.py: they complete and print their
figures. No timings are checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_site_ab_compares_two_trees(tmp_path: Path) -> None:
    src = str(ROOT / "src")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "site_ab.py"), "--a", src, "--b", src,
                           "--posts", "40", "--pairs", "1", "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^B/A: [\d.]+ \(medians\)", proc.stdout, re.M), proc.stdout
    sizes = re.findall(r"search index ([\d.]+) MB in (\d+) files", proc.stdout)
    assert len(sizes) == 2 and sizes[0] == sizes[1] and int(sizes[0][1]) > 64


def test_scriptfold_bench_scores_the_table_on_real_text() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "scriptfold.py")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # With a converter installed (opencc, zhconv-rs...), the share found across scripts.
    row = re.search(r"^table\s+(?:([\d.]+)%|n/a)\s+\S+\s+100\.00%\s+[\d.]+$", proc.stdout, re.M)
    assert row and (row[1] is None or float(row[1]) > 95), proc.stdout
    assert re.search(r"^2\d real texts: \d+ simplified, \d+ traditional", proc.stdout, re.M)
