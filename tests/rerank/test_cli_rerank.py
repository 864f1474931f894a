"""`texcite suggest --json --reranker transformers`: the reranker's scores are the published Qwen3-Reranker formula,
recomputed here from the reported `query` and `document` strings alone (prompt written out literally, not via
texcite), and they join the fused score (weight `reranker.weight`) instead of replacing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper"
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_cli_scores_follow_the_formula(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = subprocess.run([sys.executable, "-m", "texcite", "suggest", str(EXAMPLE / "chapters" / "method.tex"),
                          "--line", "8", "--character", "40", "--top", "6", "--json",
                          "--reranker", "transformers", "--model", str(tiny_model_dir)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
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
