"""Speed and scale benchmark (``make bench``): index build cold/warm/after one edit, completion round trips through
a real ``texcite serve``, server memory, and hover latency while a 50k-entry bib is indexed.

Everything runs on seeded synthetic bibs (bench/synthbib.py) at 1k, 10k and 50k entries. Writes
bench/results/bench.md, bench.json and bench.png, and prints PASS/FAIL per target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synthbib import Vocabulary, make_bib, paragraph  # noqa: E402

from texcite.files import MAX_BIB_BYTES  # noqa: E402

RESULTS = HERE / "results"
SIZES = (1_000, 10_000, 50_000)
TARGETS_10K = {"completion_p95_ms": 30.0, "cold_build_s": 2.0, "warm_start_s": 0.3, "reindex_one_s": 0.2, "rss_mb": 250.0}
TARGET_50K_P95_MS = 100.0
HOVER_MAX_MS = 1500.0  # "answers while indexing": the server's wait is 0.8 s, then it answers without the index


# -- build timings, each in a fresh process -----------------------------------------------------------------

_BUILD_SCRIPT = r"""
import json, sys, time
from texcite.runtime import import_bm25s
import_bm25s()  # library import time is process start-up, not index loading (the server pays it once)
from texcite.bib.store import BibStore
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries
from texcite.retrieval.corpus import Corpora
bib, cache, edit = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
t = time.perf_counter()
store = BibStore(analyze_entries, cache_directory=cache, tokens_version=TOKENS_VERSION)
corpora = Corpora(store)
corpus = corpora.corpus([bib])
out = {"build_s": time.perf_counter() - t, "entries": len(corpus), "stats": store.parser.stats, "cache": dict(store.cache.stats)}
if edit:
    text = open(bib, encoding="utf-8").read()
    i = text.index("title = {", len(text) // 2)
    with open(bib, "w", encoding="utf-8") as fh:
        fh.write(text[:i] + "title = {Edited " + str(time.time()) + " " + text[i + len("title = {"):])
    t = time.perf_counter()
    corpus = corpora.corpus([bib])
    out["reindex_s"] = time.perf_counter() - t
    out["reindex_stats"] = store.parser.stats
store.cache.flush()
print(json.dumps(out))
"""


def build_once(bib: Path, cache: Path, edit: bool = False) -> dict:
    res = subprocess.run([sys.executable, "-c", _BUILD_SCRIPT, str(bib), str(cache), "1" if edit else "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def build_timings(bib: Path, work: Path, repeats: int) -> dict:
    """Median cold build (empty cache), warm start (cache filled, new process), one-entry re-index."""
    original = bib.read_text(encoding="utf-8")
    cold, warm, reindex = [], [], []
    for r in range(repeats):
        cache = work / f"cache-{r}"
        bib.write_text(original, encoding="utf-8")
        cold.append(build_once(bib, cache)["build_s"])
        warm.append(build_once(bib, cache)["build_s"])
        out = build_once(bib, cache, edit=True)
        reindex.append(out["reindex_s"])
        shutil.rmtree(cache, ignore_errors=True)
    bib.write_text(original, encoding="utf-8")
    return {"cold_build_s": statistics.median(cold), "warm_start_s": statistics.median(warm),
            "reindex_one_s": statistics.median(reindex), "runs": {"cold": cold, "warm": warm, "reindex": reindex},
            "reindex_parser": out.get("reindex_stats")}


# -- a minimal LSP client over stdio ------------------------------------------------------------------------

class LspClient:
    """JSON-RPC over a ``texcite serve`` subprocess; answers server requests with null, drops notifications."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "texcite", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._id = 0
        self._waiting: dict[int, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _send(self, msg: dict) -> None:
        body = json.dumps(msg).encode()
        with self._lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _reader(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(out.read(length))
            if "id" in msg and "method" in msg:  # a request from the server
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            elif "id" in msg:
                event, box = self._waiting.pop(msg["id"], (None, None))
                if event is not None:
                    box.append(msg)
                    event.set()

    def request(self, method: str, params: dict, timeout: float = 120.0) -> tuple[dict, float]:
        """(response, client-measured round trip in ms)."""
        with self._lock:
            self._id += 1
            rid = self._id
        event, box = threading.Event(), []
        self._waiting[rid] = (event, box)
        started = time.perf_counter()
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        if not event.wait(timeout):
            raise TimeoutError(method)
        return box[0], (time.perf_counter() - started) * 1000.0

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self) -> None:
        try:
            self.request("shutdown", {}, timeout=10)
            self.notify("exit", {})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def make_document(vocab: Vocabulary, rng: random.Random, keys: list[str]) -> tuple[str, int, int, int]:
    """A .tex with a few paragraphs, one holding an empty ``\\cite{}``; (text, cite line, cite char, hover line)."""
    lines = ["\\documentclass{article}", "\\begin{document}",
             f"Known work \\cite{{{keys[0]}}} is related.", ""]
    for _ in range(3):
        lines += [paragraph(vocab, rng, 4), ""]
    words = paragraph(vocab, rng, 5).split()
    cut = rng.randint(len(words) // 3, len(words) - 1)
    head = " ".join(words[:cut]) + " \\cite{"
    line_no = len(lines)
    lines.append(head + "} " + " ".join(words[cut:]))
    lines += ["", paragraph(vocab, rng, 3), "", "\\bibliography{refs}", "\\end{document}", ""]
    return "\n".join(lines), line_no, len(head), 2


def server_run(project: Path, keys: list[str], requests: int, hover_during_index: bool, seed: int) -> dict:
    """Cold server: hovers while it indexes (optional), then ``requests`` completions on changing paragraphs."""
    env = dict(os.environ, TEXCITE_CACHE_DIR=str(project / "server-cache"), TEXCITE_LOG="WARNING")
    client = LspClient(env)
    vocab, rng = Vocabulary(seed), random.Random(seed)
    uri = (project / "main.tex").as_uri()
    try:
        client.request("initialize", {"processId": os.getpid(), "rootUri": project.as_uri(), "capabilities": {},
                                      "initializationOptions": {"recall": {"mode": "bm25"}, "reranker": {"backend": "none"}},
                                      "workspaceFolders": [{"uri": project.as_uri(), "name": "p"}]})
        client.notify("initialized", {})
        text, line, char, hover_line = make_document(vocab, rng, keys)
        (project / "main.tex").write_text(text, encoding="utf-8")
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "latex", "version": 1, "text": text}})
        started = time.perf_counter()
        hovers: list[float] = []
        hover_answers = 0
        first_complete_s = None
        while first_complete_s is None:
            if hover_during_index:
                resp, ms = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                                 "position": {"line": hover_line, "character": 18}})
                hovers.append(ms)
                hover_answers += 1 if "result" in resp else 0
            resp, _ = client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": line, "character": char}})
            result = resp.get("result") or {}
            if result.get("items"):
                first_complete_s = time.perf_counter() - started
            elif time.perf_counter() - started > 600:
                raise TimeoutError("server never finished indexing")
            else:
                time.sleep(0.05)
        latencies = []
        for version in range(2, requests + 2):
            text, line, char, _ = make_document(vocab, rng, keys)
            client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                     "contentChanges": [{"text": text}]})
            resp, ms = client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": line, "character": char}})
            if (resp.get("result") or {}).get("items"):
                latencies.append(ms)
        memory = rss_mb(client.proc.pid)
    finally:
        client.close()
    latencies.sort()
    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] if latencies else float("nan")

    out = {"completion_p50_ms": q(50), "completion_p95_ms": q(95), "completion_max_ms": latencies[-1] if latencies else float("nan"),
           "completions_answered": len(latencies), "server_first_result_s": first_complete_s, "rss_mb": memory}
    if hover_during_index:
        out.update(hovers_during_index=len(hovers), hover_answers=hover_answers,
                   hover_p50_ms=statistics.median(hovers) if hovers else float("nan"), hover_max_ms=max(hovers) if hovers else float("nan"))
    return out


# -- report -------------------------------------------------------------------------------------------------

def verdicts(rows: dict[int, dict]) -> list[tuple[str, bool, str]]:
    out = []
    r = rows.get(10_000)
    if r:
        for name, limit in TARGETS_10K.items():
            value = r[name]
            out.append((f"10k {name} <= {limit:g}", value <= limit, f"{value:.3g}"))
    r = rows.get(50_000)
    if r:
        out.append((f"50k completion_p95_ms <= {TARGET_50K_P95_MS:g}", r["completion_p95_ms"] <= TARGET_50K_P95_MS, f"{r['completion_p95_ms']:.3g}"))
        ok = r.get("hover_answers", 0) == r.get("hovers_during_index", -1) and r.get("hover_max_ms", 1e9) <= HOVER_MAX_MS
        out.append((f"50k hover answers while indexing (max <= {HOVER_MAX_MS:g} ms)", ok,
                    f"{r.get('hover_answers', 0)}/{r.get('hovers_during_index', 0)} answered, max {r.get('hover_max_ms', float('nan')):.0f} ms"))
    return out


def markdown(rows: dict[int, dict], checks, meta: dict) -> str:
    head = ("| entries | bib MB | cold build s | warm start s | one-entry re-index ms | server first result s | "
            "completion p50 ms | p95 ms | max ms | RSS MB | hover during index p50 / max ms |")
    lines = [f"# texcite bench — {meta['date']}", "",
             f"Machine: {meta['machine']}; recall `bm25`, reranker `none`; {meta['requests']} completions per size; "
             f"build timings are medians of {meta['repeats']} runs, each in a new process. "
             "Load on the shared machine at start (1-min load average): " + meta["load"] + ".", "",
             head, "| " + " | ".join(["---:"] * 11) + " |"]
    for n, r in sorted(rows.items()):
        hover = f"{r['hover_p50_ms']:.0f} / {r['hover_max_ms']:.0f}" if "hover_p50_ms" in r else "–"
        lines.append(f"| {n:,} | {r['bib_mb']:.1f} | {r['cold_build_s']:.2f} | {r['warm_start_s']:.3f} | {r['reindex_one_s'] * 1000:.0f} | "
                     f"{r['server_first_result_s']:.2f} | {r['completion_p50_ms']:.1f} | {r['completion_p95_ms']:.1f} | "
                     f"{r['completion_max_ms']:.1f} | {r['rss_mb']:.0f} | {hover} |")
    lines += ["", "| target | result | value |", "| --- | --- | --- |"]
    lines += [f"| {name} | {'PASS' if ok else 'FAIL'} | {value} |" for name, ok, value in checks]
    return "\n".join(lines) + "\n"


def plot(rows: dict[int, dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    sizes = sorted(rows)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(sizes, [rows[n]["completion_p50_ms"] for n in sizes], "o-", label="completion p50")
    a.plot(sizes, [rows[n]["completion_p95_ms"] for n in sizes], "o-", label="completion p95")
    a.set(xscale="log", xlabel="bib entries", ylabel="ms", title="Completion round trip (texcite serve, BM25)")
    a.legend()
    b.plot(sizes, [rows[n]["cold_build_s"] for n in sizes], "o-", label="cold build")
    b.plot(sizes, [rows[n]["warm_start_s"] for n in sizes], "o-", label="warm start (disk cache)")
    b.plot(sizes, [rows[n]["reindex_one_s"] for n in sizes], "o-", label="re-index after one edit")
    b.set(xscale="log", yscale="log", xlabel="bib entries", ylabel="s", title="Index build")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="runs per build timing (median reported)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "requests": args.requests, "repeats": args.repeats, "load": f"{os.getloadavg()[0]:.1f}"}
    rows: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="texcite-bench-") as tmp:
        for n in args.sizes:
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            text, keys = make_bib(n, args.seed)
            bib = work / "refs.bib"
            bib.write_text(text, encoding="utf-8")
            if len(text.encode()) > MAX_BIB_BYTES:  # the server would refuse the file
                print(f"[{n} entries] bib is {len(text.encode()) >> 20} MB, over the {MAX_BIB_BYTES >> 20} MB per-file limit: not run",
                      file=sys.stderr)
                continue
            print(f"[{n} entries] build timings ...", file=sys.stderr, flush=True)
            row = {"bib_mb": len(text.encode()) / 1e6}
            row.update(build_timings(bib, work, args.repeats))
            print(f"[{n} entries] server ...", file=sys.stderr, flush=True)
            row.update(server_run(work, keys, args.requests, hover_during_index=n >= 50_000, seed=args.seed))
            rows[n] = row
            print(f"[{n} entries] " + json.dumps({k: v for k, v in row.items() if not isinstance(v, dict)}), file=sys.stderr, flush=True)
    checks = verdicts(rows)
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}  ({value})")
    (args.out / "bench.md").write_text(markdown(rows, checks, meta), encoding="utf-8")
    (args.out / "bench.json").write_text(json.dumps({"meta": meta, "rows": rows,
                                                     "checks": [{"target": c[0], "pass": c[1], "value": c[2]} for c in checks]},
                                                    indent=2), encoding="utf-8")
    plot(rows, args.out / "bench.png")
    print(f"wrote {args.out / 'bench.md'}", file=sys.stderr)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
