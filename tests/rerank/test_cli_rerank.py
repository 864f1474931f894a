"""`texcite suggest --json` with each reranker backend: stdout carries the JSON alone (the engines' log lines go to
stderr) and the process exits cleanly. With transformers, the reranker's scores are the published Qwen3-Reranker
formula, recomputed here from the reported `query` and `document` strings alone (prompt written out literally, not
via texcite), and they join the fused score (weight `reranker.weight`) instead of replacing it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_vllm
from fake_vllm import FakeVllm

pytestmark = pytest.mark.engine

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper"
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def suggest_json(*args: str, env: dict | None = None) -> dict:
    """`texcite suggest --json` at the example's empty \\cite{}: the JSON on stdout, after a clean exit."""
    run = subprocess.run([sys.executable, "-m", "texcite", "suggest", str(EXAMPLE / "chapters" / "method.tex"),
                          "--line", "8", "--character", "40", "--json", *args],
                         capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "terminate called" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-3000:]
    return json.loads(run.stdout)  # nothing else on stdout


def test_cli_scores_follow_the_formula(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = suggest_json("--top", "6", "--reranker", "transformers", "--model", str(tiny_model_dir))
    assert out["reranker"]["backend"] == "transformers" and out["reranker"]["model"] == str(tiny_model_dir)
    assert "[CITATION]" in out["query"]

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    for s in out["suggestions"]:
        text = PREFIX + f"<Instruct>: {out['instruction']}\n<Query>: {out['query']}\n<Document>: {s['document']}" + SUFFIX
        ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1]
        want = torch.softmax(torch.stack([logits[no], logits[yes]]), dim=0)[1].item()
        assert s["reranker_score"] == pytest.approx(want, abs=1e-5), s["key"]
    scores = [s["score"] for s in out["suggestions"]]
    assert scores == sorted(scores, reverse=True)


def test_cli_json_with_in_process_vllm(tiny_model_dir):
    """vLLM logs to stdout (its own handler, its engine-core process): the CLI keeps them off its output, and shuts
    the engine down before it exits."""
    require_vllm()
    out = suggest_json("--top", "3", "--reranker", "vllm", "--model", str(tiny_model_dir),
                       env={"VLLM_CPU_KVCACHE_SPACE": "1"})  # 1 GiB of KV cache, not most of the machine's memory
    assert out["reranker"] == {"backend": "vllm", "model": str(tiny_model_dir)}
    assert len(out["suggestions"]) == 3 and all(s["reranker_score"] is not None for s in out["suggestions"])


def test_cli_json_with_vllm_http():
    fake = FakeVllm("ok")
    try:
        out = suggest_json("--top", "3", "--reranker", "vllm-http", "--url", fake.url, "--recall", "bm25")
    finally:
        fake.close()
    assert out["reranker"]["backend"] == "vllm-http" and fake.requests
    assert all(s["reranker_score"] is not None for s in out["suggestions"])
