"""What ``texcite serve`` starts while it imports the LSP layer: the default dense model, loading in the background,
handed to the engine that asks for it; and a build's first second on two threads, with the vectors one thread
gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from texcite.retrieval.embeddings.dense import FirstSecond
from texcite.retrieval.embeddings.encoders import make_embedder, preload
from texcite.retrieval.embeddings.onnx_embedder import OnnxEmbedder
from texcite.retrieval.embeddings.use_embedder import UseEmbedder


def test_the_engine_gets_the_preloaded_model_already_loading() -> None:
    preload()
    embedder = make_embedder("minilm")
    assert isinstance(embedder, OnnxEmbedder)
    embedder.load()  # waits for the preload's own load (one session, not two)
    assert embedder is not make_embedder("minilm")  # handed out once; later engines load their own


def test_a_preload_of_another_model_is_dropped() -> None:
    preload()
    assert isinstance(make_embedder("use"), UseEmbedder)
    assert make_embedder("minilm")._session is None  # a new one, not the preloaded MiniLM


def test_the_first_second_splits_chunks_over_two_threads_keeping_their_order() -> None:
    embedder = make_embedder("minilm", threads=1)
    texts = [f"citation recommendation with {n} neural rankers for {w}" for n in range(40)
             for w in ("theses", "papers")][:64]
    with ThreadPoolExecutor(1) as helper:
        split = FirstSecond(embedder, helper).embed(texts)
    assert np.allclose(split, embedder.embed(texts), atol=1e-6)
