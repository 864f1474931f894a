"""Real engines on the tiny random Qwen3 model: transformers == the formula; vLLM (in-process, HTTP) == transformers."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import MAX_LENGTH

from texcite.rerank.qwen3_format import PREFIX, SUFFIX, format_body

pytestmark = pytest.mark.engine

INSTR = "Given a paragraph with a [CITATION] marker, judge whether the document is the cited work"
QUERY = "Transformers replaced recurrent networks for translation [CITATION] and then for everything else."
DOCS = [
    "Attention is all you need. We propose the Transformer, based solely on attention mechanisms.",
    "Long short-term memory. Learning to store information over extended time intervals.",
    "BERT: pre-training of deep bidirectional transformers for language understanding.",
    "A",
    "",
    "Données, 数据 and émojis 🙂 in an abstract\nwith several\n\nlines.",
    "ImageNet classification with deep convolutional neural networks. " * 3,
]
LONG_DOC = "We study citation recommendation at scale. " * 400  # > MAX_LENGTH tokens with the byte-level tokenizer


def reference_scores(model_dir, instruction: str, query: str, docs: list[str]) -> list[float]:
    """The formula, straightforwardly: full prompt string -> tokens -> one forward pass -> softmax([no, yes])."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    out = []
    with torch.no_grad():
        for d in docs:
            prompt = PREFIX + format_body(instruction, query, d) + SUFFIX  # the authors' template, untruncated
            ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
            logits = model(input_ids=ids).logits[0, -1]
            out.append(torch.softmax(torch.stack([logits[no], logits[yes]]), dim=0)[1].item())
    return out


def test_transformers_matches_the_reference(tiny_model_dir, transformers_reranker):
    from texcite.settings import DEFAULT_INSTRUCTION

    got = transformers_reranker.rank(QUERY, DOCS)  # batch_size 4: batches mix lengths (left padding)
    want = reference_scores(tiny_model_dir, DEFAULT_INSTRUCTION, QUERY, DOCS)
    assert got == pytest.approx(want, abs=1e-5)
    assert max(got) - min(got) > 0.05  # the tiny model is not degenerate: the comparison means something
    assert all(0.0 <= s <= 1.0 for s in got)


def test_transformers_truncates_inside_the_body(tiny_model_dir, transformers_reranker):
    fmt = transformers_reranker.format
    ids = fmt.pair_ids(QUERY, LONG_DOC)
    assert len(ids) <= MAX_LENGTH and ids[-len(fmt.suffix_ids):] == list(fmt.suffix_ids)
    q, d, _ = fmt.fit(QUERY, LONG_DOC)
    assert q == QUERY and len(d) < len(LONG_DOC)
    want = reference_scores(tiny_model_dir, fmt.instruction, q, [d])
    assert transformers_reranker.rank(QUERY, [LONG_DOC]) == pytest.approx(want, abs=1e-5)


def test_vllm_in_process_matches_transformers(vllm_worker, transformers_reranker):
    assert vllm_worker.ready["backend"] == "vllm" and vllm_worker.ready["budget"] == MAX_LENGTH
    docs = DOCS + [LONG_DOC]
    got = vllm_worker.rank(QUERY, docs)
    assert got == pytest.approx(transformers_reranker.rank(QUERY, docs), abs=1e-4)


def test_vllm_http_matches_transformers(vllm_http_url, tiny_model_dir, transformers_reranker):
    from texcite.rerank.vllm_http import VllmHttpReranker

    client = VllmHttpReranker(vllm_http_url, str(tiny_model_dir), max_length=MAX_LENGTH, timeout_ms=60_000)
    docs = DOCS + [LONG_DOC]
    got = client.rank(QUERY, docs)
    assert got == pytest.approx(transformers_reranker.rank(QUERY, docs), abs=1e-4)


def test_vllm_http_through_the_service(vllm_http_url, tiny_model_dir, transformers_reranker):
    from texcite.rerank.factory import make_reranker
    from texcite.rerank.service import RerankService
    from texcite.settings import Settings

    settings = Settings().replace(reranker_backend="auto", reranker_url=vllm_http_url, reranker_model=str(tiny_model_dir),
                        reranker_max_length=MAX_LENGTH, reranker_timeout_ms=60_000)
    statuses: list[tuple[str, str]] = []
    service = RerankService(lambda: make_reranker(settings), lambda s, m: statuses.append((s, m)),
                            instruction=settings.reranker.instruction)

    async def go():
        first = await service.scores(QUERY, DOCS, deadline_s=60)
        t0 = time.monotonic()
        again = await service.scores(QUERY, DOCS, deadline_s=0)
        return first, again, time.monotonic() - t0

    try:
        first, again, elapsed = asyncio.run(go())
    finally:
        service.close()
    assert first == pytest.approx(transformers_reranker.rank(QUERY, DOCS), abs=1e-4)
    assert again == first and elapsed < 0.05
    assert [s for s, _ in statuses] == ["loading", "ready"]
    assert statuses[-1][1].startswith("reranker ready: vllm-http ")
