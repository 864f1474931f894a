"""Keystroke cost on books: a synthetic 30-chapter book (0.5 to 20 MB of LaTeX) citing from a 10k-entry bib, and a
typing session through `texcite serve` with the default (hybrid) ranking: 500 one-character edits at realistic
spots of a chapter (incremental didChange, as VS Code sends them), a completion inside a \\cite{} after each.

Measured by the client: the completion round trip, the cost of one didChange (round trip of `texcite/status`
sent right after it, minus the same request's round trip alone), and the time from opening the project to the
first completion with items. Usage: python bench/book_bench.py [--sizes 0.5 2 5 20] [--edits 500]
[--entries 10000] [--smaller 1000] [--out bench/results] -> book.md, book.json, book.png.
Targets (2-core box): completion p95 <= 30 ms at 2 MB and <= 60 ms at 20 MB; didChange p95 <= 5 ms; project
open to first answer at 2 MB <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from lspclient import StdioClient  # noqa: E402
from synthbib import Vocabulary, make_bib, sentence  # noqa: E402

CHAPTERS = 30
CAPABILITIES = {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}, "configuration": True},
                "window": {"workDoneProgress": False}}


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def write_book(folder: Path, megabytes: float, keys: list[str], seed: int = 3) -> list[Path]:
    """main.tex with \\input of 30 chapters totalling ``megabytes`` of LaTeX: sections, paragraphs, citations,
    comments, an equation now and then. Returns the chapter paths."""
    rng = random.Random(seed)
    vocab = Vocabulary(seed)
    per_chapter = int(megabytes * 1_000_000 / CHAPTERS)
    chapters = []
    for c in range(CHAPTERS):
        parts = [f"\\chapter{{Chapter {c}}}\n\\label{{ch:{c}}}\n"]
        size = 0
        section = 0
        while size < per_chapter:
            if rng.random() < 0.08:
                section += 1
                parts.append(f"\n\\section{{{sentence(vocab, rng, 3, 6)[:-1]}}}\n")
            sentences = []
            for _ in range(rng.randint(3, 7)):
                s = sentence(vocab, rng)
                if rng.random() < 0.3:
                    cited = ",".join(rng.sample(keys, rng.randint(1, 3)))
                    s = s[:-1] + f" \\cite{{{cited}}}."
                sentences.append(s)
            if rng.random() < 0.1:
                sentences.append("% TODO: check this paragraph")
            if rng.random() < 0.05:
                sentences.append("\\begin{equation}\n  E = m c^2\n\\end{equation}")
            paragraph = "\n".join(sentences) + "\n\n"
            parts.append(paragraph)
            size += len(paragraph)
        path = folder / f"chapter{c:02d}.tex"
        path.write_text("".join(parts))
        chapters.append(path)
    (folder / "main.tex").write_text("\\documentclass{book}\n\\begin{document}\n"
                                     + "".join(f"\\input{{chapter{c:02d}}}\n" for c in range(CHAPTERS))
                                     + "\\bibliographystyle{plain}\n\\bibliography{refs}\n\\end{document}\n")
    return chapters


def position(text: str, offset: int) -> dict:
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}  # ASCII text: UTF-16 = chars


def writing_spot(text: str, start: int) -> int:
    """The end of the first paragraph after ``start`` whose last line is text (not a comment)."""
    spot = text.index("\n\n", start)
    while "%" in text[text.rfind("\n", 0, spot) + 1:spot]:
        spot = text.index("\n\n", spot + 2)
    return spot


def session(root: Path, chapter: Path, edits: int, cache: str) -> dict:
    env = {**os.environ, "TEXCITE_CACHE_DIR": cache, "TEXCITE_LOG": "WARNING"}
    client = StdioClient(env)
    rng = random.Random(7)
    try:
        started = time.perf_counter()
        client.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": CAPABILITIES,
                                      "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}]})
        client.notify("initialized", {})
        text = chapter.read_text()
        uri = chapter.as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "latex", "version": 1,
                                                                "text": text}})
        # A spot to write at: the end of a paragraph in the middle of the chapter.
        spot = writing_spot(text, len(text) // 2)
        text = text[:spot] + " As shown by \\cite{}" + text[spot:]
        version = 2
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": text}]})
        cursor = spot + len(" As shown by \\cite{")
        while True:  # project open -> first answer with items (indexing, embedding from the cache)
            result = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                                "position": position(text, cursor)})
            if result and result["items"]:
                break
        open_to_first = time.perf_counter() - started
        while client.request("texcite/status", {})["recall"] != "hybrid":  # steady state: the hybrid ranks
            time.sleep(0.2)
        completion, didchange, baseline = [], [], []
        typed = ""
        for _ in range(edits):
            # Type the key's first letters (the server re-ranks at each), then leave the braces and start anew
            # elsewhere: a realistic mix of edits inside and around a citation.
            if len(typed) >= 3:
                spot = writing_spot(text, rng.randrange(len(text) // 4, 3 * len(text) // 4))
                insert, typed = " see \\cite{", ""
                at = spot
                cursor = spot + len(insert)
            else:
                insert = rng.choice("abcdefghijklmnoprstuvw")
                typed += insert
                at = cursor
                cursor += 1
            start = position(text, at)
            text = text[:at] + insert + text[at:]
            version += 1
            t = time.perf_counter()
            client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                     "contentChanges": [{"range": {"start": start, "end": start},
                                                                         "text": insert}]})
            client.request("texcite/status", {})
            didchange.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            client.request("texcite/status", {})
            baseline.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            result = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                                "position": position(text, cursor)})
            completion.append((time.perf_counter() - t) * 1000)
            assert result is not None, "the cursor is inside a \\cite{}"
        # The cost of a didChange: its round trip with a status request, less a status request alone.
        cost = [max(0.0, d - b) for d, b in zip(didchange, baseline, strict=True)]
        return {"open_to_first_s": open_to_first, "completion_p50_ms": pct(completion, 50),
                "completion_p95_ms": pct(completion, 95), "completion_max_ms": max(completion),
                "didchange_p50_ms": pct(cost, 50), "didchange_p95_ms": pct(cost, 95), "edits": edits}
    finally:
        client.close()


def plot(rows: list[dict], path: Path, entries: int) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [r for r in rows if r["entries"] == entries]
    mb = [r["latex_mb"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(mb, [r["completion_p95_ms"] for r in rows], "o-", label="completion p95")
    ax.plot(mb, [r["completion_p50_ms"] for r in rows], "o--", label="completion p50")
    ax.plot(mb, [r["didchange_p95_ms"] for r in rows], "s-", label="didChange p95")
    ax.set_xscale("log")
    ax.set_xlabel("LaTeX in the project (MB, 30 chapters)")
    ax.set_ylabel("ms")
    ax.set_title(f"Keystroke cost against book size ({entries:,}-entry bib, hybrid)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.5, 2.0, 5.0, 20.0])
    parser.add_argument("--edits", type=int, default=500)
    parser.add_argument("--entries", type=int, default=10_000, help="entries of the bib the books cite")
    parser.add_argument("--smaller", type=int, default=1_000,
                        help="entries of the bib of one more 2 MB book (0: none)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for book.md, .json and .png")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")  # shared: the 10k embeddings are computed once
        cases = [(mb, args.entries) for mb in args.sizes] + ([(2.0, args.smaller)] if args.smaller else [])
        for mb, entries in cases:
            root = Path(tmp) / f"book-{mb}-{entries}"
            root.mkdir()
            bib, keys = make_bib(entries, seed=1)
            (root / "refs.bib").write_text(bib)
            chapters = write_book(root, mb, keys)
            latex_mb = sum(p.stat().st_size for p in root.glob("*.tex")) / 1e6
            row = {"latex_mb": round(latex_mb, 2), "entries": entries,
                   **session(root, chapters[len(chapters) // 2], args.edits, cache)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "book.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| LaTeX MB | entries | open → first answer s | completion p50 ms | p95 ms | max ms | didChange p50 ms | "
             "p95 ms |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['latex_mb']} | {r['entries']:,} | {r['open_to_first_s']:.2f} | {r['completion_p50_ms']:.1f} | "
                     f"{r['completion_p95_ms']:.1f} | {r['completion_max_ms']:.1f} | {r['didchange_p50_ms']:.2f} | "
                     f"{r['didchange_p95_ms']:.2f} |")
    text = ("# Keystroke cost on books (bench/book_bench.py)\n\n"
            f"`texcite serve` over stdio, default settings (hybrid, embeddings cached before the session), a chapter "
            f"in the middle of a {CHAPTERS}-chapter book open; {args.edits} one-character incremental edits, a "
            "completion inside a \\cite{} after each. Machine: 2 cores, shared with other jobs.\n\n"
            + "\n".join(lines) + "\n\nTargets: completion p95 ≤ 30 ms at 2 MB and ≤ 60 ms at 20 MB; didChange p95 ≤ 5 ms; "
            "open to first answer at 2 MB ≤ 2 s.\n\n![keystroke cost against book size](book.png)\n")
    (out / "book.md").write_text(text)
    plot(rows, out / "book.png", args.entries)
    print(text)


if __name__ == "__main__":
    main()
