"""Ranking cost per completion on a book: a 30-chapter synthetic book (2 MB of LaTeX by default) citing from a
10k-entry bib, the cursor in a \\cite{} of the middle chapter, 200 one-character edits before it, each followed by
``Engine.prepare`` + ``Engine.finish`` (everything a completion costs the engine: facts, query, signals, evidence,
fusion, the project's adaptation, recall, reasons), embeddings and adaptation ready. In-process, so the LSP's own cost (unchanged) stays out and two
versions of the package can be compared on the same machine state:

    python bench/ranking_cost.py [MB] [--entries N] [--edits N]       # this checkout
    PYTHONPATH=/path/to/other/checkout/server python bench/ranking_cost.py [MB]   # another version

Prints one JSON line (package, p50/p95 ms). The book and the embedding cache are kept in a temporary folder
named by the size, so the second run does not embed 10k entries again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_bench import write_book, writing_spot  # noqa: E402
from synthbib import make_bib  # noqa: E402

import texcite  # noqa: E402
from texcite.engine import Engine  # noqa: E402
from texcite.settings import Settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mb", type=float, nargs="?", default=2.0, help="MB of LaTeX in the book (default 2)")
    ap.add_argument("--entries", type=int, default=10_000, help="entries of the bib (default 10,000)")
    ap.add_argument("--edits", type=int, default=200, help="edits, each followed by a ranking (default 200)")
    args = ap.parse_args()
    mb = args.mb
    root = Path(tempfile.gettempdir()) / (f"texcite-ranking-cost-{mb}" + (f"-{args.entries}" if args.entries != 10_000 else ""))
    if not (root / "refs.bib").exists():
        root.mkdir(parents=True, exist_ok=True)
        bib, keys = make_bib(args.entries, seed=1)
        (root / "refs.bib").write_text(bib)
        write_book(root, mb, keys)
    chapter = root / "chapter15.tex"
    engine = Engine(Settings().replace(cache_dir=str(root / "cache")), workspace=str(root))
    text = chapter.read_text()
    spot = writing_spot(text, len(text) // 2)
    text = text[:spot] + " \\cite{}" + text[spot:]
    offset = spot + len(" \\cite{")
    engine.wait_embeddings(str(chapter), text)
    engine.suggest(str(chapter), text, offset)  # and what the book teaches (``lessons``), as a while after opening
    rng = random.Random(7)
    times = []
    for _ in range(args.edits):
        pos = rng.randrange(0, spot - 10)
        text = text[:pos] + "x" + text[pos:]
        offset += 1
        started = time.perf_counter()
        prepared = engine.prepare(str(chapter), text, offset)
        engine.finish(prepared, None)
        times.append((time.perf_counter() - started) * 1000)
    engine.close()
    times.sort()
    print(json.dumps({"package": os.path.dirname(texcite.__file__), "latex_mb": mb, "stage": prepared.stage,
                      "p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times))], 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
