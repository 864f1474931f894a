"""The writer's library at scale: a synthetic 50,000-entry library (``synthbib``) beside a 1,000-entry project
bib, in-process through the engine with BM25 recall (or, ``--recall hybrid``, the dense model's too: the library's
titles embedded first, then ranked with their dense signals, affinity and recall by meaning, ``library.nearest``).

Measured: the first index of the library (a fresh cache: parse and BM25 index, until the library answers; then
its typed-text index, built after), a warm start (a second engine on the same cache folder, as a restarted
server), and what the library adds to a completion's
ranking (``Engine.prepare``, the blocking part of a completion) — each request timed with and without the library,
in alternation, the p95 of the differences reported.
Usage: python bench/library_bench.py [--entries 50000] [--project 1000] [--requests 300] [--recall hybrid
[--dense use]] [--format csl] [--out bench/results] -> library_bench.md, library_bench.json (with hybrid recall,
library_bench-hybrid.*; ``--format csl``: the same entries as a Zotero CSL-JSON export, library_bench-csl.*). Targets (2-core box): first index <= 15 s, warm start <= 0.5 s, p95
added <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synthbib import Vocabulary, make_bib, paragraph  # noqa: E402

from texcite.bib.parse import parse_bib  # noqa: E402
from texcite.engine import Engine  # noqa: E402
from texcite.settings import Settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def write_project(folder: Path, entries: int, paragraphs: int) -> tuple[Path, list[tuple[str, int]]]:
    """main.tex citing from refs.bib, and the (text, offset) of a request in each paragraph's empty \\cite{}."""
    text, keys = make_bib(entries, seed=1)
    (folder / "refs.bib").write_text(text)
    rng = random.Random(5)
    vocab = Vocabulary(5)
    body = [paragraph(vocab, rng) + f" \\cite{{{rng.choice(keys)}}}." for _ in range(paragraphs)]
    head = "\\documentclass{article}\n\\begin{document}\n"
    tail = "\n\\bibliography{refs}\n\\end{document}\n"
    main = folder / "main.tex"
    text = head + "\n\n".join(body) + tail
    main.write_text(text)
    requests = []
    for m in re.finditer(r"\\cite\{", text):
        end = text.index("}", m.end())
        requests.append((text[:m.end()] + text[end:], m.end()))
    return main, requests


def csl_json(bib: str) -> str:
    """The entries of ``bib`` as a CSL-JSON export (Zotero's or Better BibTeX's) would hold them."""
    items = []
    for e in parse_bib(bib, "library.bib").entries:
        f = e.fields
        item = {"id": e.key, "type": "article-journal" if e.entry_type == "article" else "paper-conference",
                "title": f["title"], "issued": {"date-parts": [[int(f["year"])]]},
                "author": [{"family": family.strip(), "given": given.strip()}  # the bench's are all "Last, First"
                           for family, given in (name.split(",", 1) for name in f["author"].split(" and "))],
                "container-title": f.get("journal") or f.get("booktitle", "")}
        for field, name in (("volume", "volume"), ("pages", "page"), ("doi", "DOI"), ("abstract", "abstract")):
            if field in f:
                item[name] = f[field].replace("--", "-") if field == "pages" else f[field]
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=50_000, help="library entries")
    ap.add_argument("--project", type=int, default=1000, help="project bib entries")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--recall", choices=("bm25", "hybrid"), default="bm25")
    ap.add_argument("--dense", default="use", help="texcite.dense.model with hybrid recall (use: the library's "
                    "titles embedded in about a minute; minilm: some five minutes)")
    ap.add_argument("--format", choices=("bib", "csl"), default="bib", help="the library file: BibTeX or CSL-JSON")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="texcite-library-bench-") as tmp:
        work = Path(tmp)
        (work / "paper").mkdir()
        library = work / ("library.json" if args.format == "csl" else "library.bib")
        text = make_bib(args.entries, seed=2)[0]
        library.write_text(csl_json(text) if args.format == "csl" else text)
        main_tex, requests = write_project(work / "paper", args.project, min(args.requests, 100))
        settings = Settings().replace(recall_mode=args.recall, dense_model=args.dense, cache_dir=str(work / "cache"),
                                      library_files=(str(library),))
        started = time.perf_counter()
        engine = Engine(settings)
        engine.library.indexed()  # the library answers (BM25); the typed-text index follows
        first = time.perf_counter() - started
        engine.wait_library()
        first_typed = time.perf_counter() - started
        engine.library.flush()  # the cache files written, as a server's are once it exits
        engine.close()
        started = time.perf_counter()
        engine = Engine(settings)
        engine.library.indexed()
        warm = time.perf_counter() - started
        engine.wait_library()
        warm_typed = time.perf_counter() - started
        plain = Engine(settings.replace(library_files=()))
        path = str(main_tex)
        warming = time.perf_counter()
        for doc, offset in requests[:3]:  # both corpora built (and embedded), the code paths warm
            engine.suggest(path, doc, offset)
            plain.suggest(path, doc, offset)
        warm_up = time.perf_counter() - warming
        added, with_library, without = [], [], []
        for i in range(args.requests):
            doc, offset = requests[i % len(requests)]
            t0 = time.perf_counter()
            engine.prepare(path, doc, offset)
            t1 = time.perf_counter()
            plain.prepare(path, doc, offset)
            t2 = time.perf_counter()
            with_library.append((t1 - t0) * 1000)
            without.append((t2 - t1) * 1000)
            added.append(with_library[-1] - without[-1])
        engine.close()
        plain.close()
    result = {"library_entries": args.entries, "project_entries": args.project, "requests": args.requests,
              "recall": args.recall, "dense": args.dense if args.recall == "hybrid" else "", "format": args.format,
              "warm_up_s": round(warm_up, 1),
              "first_index_s": round(first, 2), "warm_start_s": round(warm, 3),
              "first_with_typed_index_s": round(first_typed, 2), "warm_with_typed_index_s": round(warm_typed, 3),
              "added_ms_p50": round(pct(added, 50), 2), "added_ms_p95": round(pct(added, 95), 2),
              "with_library_ms_p95": round(pct(with_library, 95), 2), "without_ms_p95": round(pct(without, 95), 2)}
    name = "library_bench" + ("-hybrid" if args.recall == "hybrid" else "") + ("-csl" if args.format == "csl" else "")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    ok = lambda good: "met" if good else "NOT met"  # noqa: E731
    lines = [f"Library bench: {args.entries:,} library entries"
             + (" (CSL-JSON, as Zotero exports it)" if args.format == "csl" else "")
             + f", a {args.project:,}-entry project bib, "
             f"{args.requests} requests (Engine.prepare, "
             + (f"hybrid recall, {args.dense}; the first index's typed-text index includes embedding the titles; "
                f"the first three completions took {warm_up:.1f} s" if args.recall == "hybrid"
                else "BM25 recall") + ").", "",
             "| measure | value | target |", "| --- | ---: | --- |",
             f"| first index (the library answers) | {first:.2f} s | ≤ 15 s: {ok(first <= 15)} |",
             f"| … and its typed-text index | {first_typed:.2f} s | |",
             f"| warm start (the library answers) | {warm:.3f} s | ≤ 0.5 s: {ok(warm <= 0.5)} |",
             f"| … and its typed-text index | {warm_typed:.3f} s | |",
             f"| added per completion, p50 | {pct(added, 50):.2f} ms | |",
             f"| added per completion, p95 | {pct(added, 95):.2f} ms | ≤ 10 ms: {ok(pct(added, 95) <= 10)} |",
             f"| completion p95 with / without the library | {pct(with_library, 95):.2f} / {pct(without, 95):.2f} ms | |"]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
