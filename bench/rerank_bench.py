"""Reranker latency and throughput (pairs/s) for K = 10, 30, 100 candidates of ~300 tokens, per backend.

Runs every backend available here: transformers, in-process vLLM, and vllm-http (``--url`` for a running
server, or ``--serve`` to start one locally). Without ``--model`` it builds the tiny random test model, so the
numbers then measure plumbing overhead, not a real model. On a GPU box run it unchanged with
``--model Qwen/Qwen3-Reranker-4B``. Prints a markdown table and writes it to bench/results/rerank.md.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUERY = (
    "Dense retrievers trained with contrastive objectives now outperform sparse lexical baselines on most "
    "open-domain question answering benchmarks [CITATION], although BM25 remains competitive out of domain."
)
WORDS = (
    "we propose a novel method for learning dense representations of scientific documents using citation "
    "graphs transformers contrastive pretraining retrieval benchmark evaluation results show improvements over "
    "strong baselines on several datasets including question answering summarization and classification tasks "
    "our model achieves state of the art performance while requiring fewer parameters and less compute"
).split()


def make_docs(tokenizer, n: int, tokens: int, seed: int) -> list[str]:
    """``n`` distinct pseudo-abstracts of about ``tokens`` tokens each under the model's tokenizer."""
    from texcite.rerank.qwen3_format import _cut, codec_for

    codec = codec_for(tokenizer)
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = f"Paper {seed}-{i}. " + " ".join(rng.choice(WORDS) for _ in range(tokens * 2))
        docs.append(_cut(codec, text, tokens))
    return docs


def time_backend(reranker, tokenizer, ks: list[int], doc_tokens: int, repeats: int) -> list[dict]:
    """Median latency of ``rank(QUERY, K docs)`` over ``repeats`` fresh document sets (no cache hits)."""
    reranker.rank(QUERY, make_docs(tokenizer, 4, doc_tokens, seed=999))  # warm-up (compilation, allocations)
    rows = []
    for k in ks:
        times = []
        for r in range(repeats):
            docs = make_docs(tokenizer, k, doc_tokens, seed=1000 * k + r)
            t0 = time.perf_counter()
            scores = reranker.rank(QUERY, docs)
            times.append(time.perf_counter() - t0)
            assert len(scores) == k
        med = statistics.median(times)
        rows.append({"k": k, "latency_ms": med * 1000, "pairs_per_s": k / med, "min_ms": min(times) * 1000})
    return rows


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, args) -> tuple[subprocess.Popen, str]:
    """Start ``python -m vllm.entrypoints.openai.api_server`` for ``model`` and wait for /health."""
    from texcite.rerank.qwen3_format import HF_OVERRIDES

    port = free_port()
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--runner", "pooling",
           "--hf-overrides", json.dumps(HF_OVERRIDES), "--dtype", args.dtype, "--max-model-len",
           str(args.max_length), "--gpu-memory-utilization", str(args.gpu_memory_utilization),
           "--host", "127.0.0.1", "--port", str(port)]
    log = open(Path(tempfile.gettempdir()) / f"texcite-bench-vllm-{port}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 600:
        if proc.poll() is not None:
            raise SystemExit(f"vllm server exited ({proc.returncode}); see {log.name}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"vllm server not ready after 600 s; see {log.name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model id or directory (default: build the tiny random test model)")
    ap.add_argument("--backends", default="transformers,vllm,vllm-http")
    ap.add_argument("--url", help="base URL of a running vllm serve for the vllm-http backend")
    ap.add_argument("--serve", action="store_true", help="start a local vllm server for the vllm-http backend")
    ap.add_argument("--served-model-name", help="model name the server knows (default: --model)")
    ap.add_argument("--ks", default="10,30,100")
    ap.add_argument("--doc-tokens", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8, help="transformers batch size")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto", help="vLLM dtype")
    ap.add_argument("--max-length", type=int, default=8192)
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.8)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "rerank.md"))
    args = ap.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    ks = [int(k) for k in args.ks.split(",")]
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    model, model_label = args.model, args.model
    if model is None:
        sys.path.insert(0, str(ROOT / "tests" / "rerank"))
        import tiny_qwen3

        model = str(tiny_qwen3.build(tempfile.mkdtemp(prefix="texcite-tiny-qwen3-")))
        model_label = "tiny random Qwen3 (hidden 128, 2 layers; tests/rerank/tiny_qwen3.py)"

    from transformers import AutoTokenizer

    if args.dtype == "auto" and not _cuda():
        args.dtype = "float32"  # vLLM's CPU "auto" downcasts to fp16, which is slower there than fp32

    tokenizer = AutoTokenizer.from_pretrained(model)
    results: list[tuple[str, float, list[dict]]] = []
    skipped: list[str] = []
    device = "cpu"

    if "transformers" in wanted:
        from texcite.rerank.transformers_backend import TransformersReranker

        t0 = time.perf_counter()
        r = TransformersReranker(model, batch_size=args.batch_size, device=args.device, max_length=args.max_length)
        load = time.perf_counter() - t0
        device = r.device
        results.append((f"transformers (batch {args.batch_size}, {r.device})", load,
                        time_backend(r, tokenizer, ks, args.doc_tokens, args.repeats)))
        del r
        gc.collect()
        if device == "cuda":
            import torch

            torch.cuda.empty_cache()

    if "vllm" in wanted:
        if importlib.util.find_spec("vllm") is None:
            skipped.append("vllm (not installed)")
        else:
            from texcite.rerank.vllm_backend import VllmReranker

            t0 = time.perf_counter()
            r = VllmReranker(model, dtype=args.dtype, max_length=args.max_length, max_model_len=args.max_length,
                             gpu_memory_utilization=args.gpu_memory_utilization)
            load = time.perf_counter() - t0
            results.append(("vllm in-process", load, time_backend(r, tokenizer, ks, args.doc_tokens, args.repeats)))
            try:  # free the engine (and its CPU cores / GPU memory) before the next backend
                r._llm.llm_engine.engine_core.shutdown()
            except Exception:
                pass
            del r
            gc.collect()

    server = None
    if "vllm-http" in wanted:
        url = args.url
        if url is None and args.serve:
            server, url = start_server(model, args)
        if url is None:
            skipped.append("vllm-http (pass --url or --serve)")
        else:
            from texcite.rerank.vllm_http import VllmHttpReranker

            try:
                r = VllmHttpReranker(url, args.served_model_name or model, max_length=args.max_length,
                                     timeout_ms=600_000, tokenizer=tokenizer)
                label = "vllm-http (local server)" if server else f"vllm-http ({url})"
                results.append((label, 0.0, time_backend(r, tokenizer, ks, args.doc_tokens, args.repeats)))
            finally:
                if server is not None:
                    os.killpg(server.pid, signal.SIGTERM)
                    server.wait(timeout=30)

    import torch

    lines = [
        "# Reranker benchmark",
        "",
        f"- model: {model_label}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores, device {device}"
        + (f" ({torch.cuda.get_device_name(0)})" if device == "cuda" else ""),
        f"- candidates of ~{args.doc_tokens} tokens, one query of {len(tokenizer.encode(QUERY))} tokens; "
        f"median of {args.repeats} runs with fresh documents (no cache hits); load = model load time",
        f"- vLLM dtype: {args.dtype}; transformers dtype: {'model default (bf16)' if device == 'cuda' else 'float32'}",
        f"- command: `python bench/rerank_bench.py {' '.join(sys.argv[1:])}`".replace("  ", " "),
        "",
        "| backend | load s | K | latency ms (median) | min ms | pairs/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, load, rows in results:
        for row in rows:
            lines.append(f"| {name} | {load:.1f} | {row['k']} | {row['latency_ms']:.0f} | {row['min_ms']:.0f} | "
                         f"{row['pairs_per_s']:.1f} |")
    if skipped:
        lines += ["", "Not run: " + "; ".join(skipped) + "."]
    table = "\n".join(lines) + "\n"
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    sys.exit(0)


if __name__ == "__main__":
    main()
