"""Which sentence encoder ``texcite.dense.model`` names: the packaged ones by name (``use``, ``minilm``), an ONNX
file, a Hugging Face folder; and what stands in when the named one is not installed. Each encoder's module is
imported only when it is chosen.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Sequence

import numpy as np

from texcite.rerank.base import BackendUnavailable
from texcite.retrieval.embeddings.dense import BATCH_SIZE, TEXT_MAX_TOKENS, Embedder

log = logging.getLogger(__name__)


class MissingEmbedder:
    """Stands in for an encoder that is not installed (plain ``pip install texcite`` has no MiniLM): loading it
    raises the reason, so the stage reports it like any failed load (``on_error``, the result's fallback message)
    and BM25 ranks alone."""

    model_id = "missing"

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def load(self) -> None:
        raise BackendUnavailable(self.reason)

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE,
              max_tokens: int = TEXT_MAX_TOKENS) -> np.ndarray:
        raise BackendUnavailable(self.reason)


# ``texcite.dense.model`` names of the packaged encoders; empty means DEFAULT_ENCODER.
USE_ENCODER, MINILM_ENCODER = "use", "minilm"
DEFAULT_ENCODER = MINILM_ENCODER


# Encoders being loaded ahead of their engine (``preload``), by (model, threads); ``make_embedder`` hands them out.
_preloaded: dict[tuple[str, int | None], Embedder] = {}
_preloaded_lock = threading.Lock()


def preload(model_path: str = "", threads: int | None = None) -> None:
    """Start loading an encoder in a background thread now: ``texcite serve`` calls this before it imports the LSP
    layer, so the model loads while the server starts and the first document finds it ready. The next
    ``make_embedder`` of the same model takes it (others drop it); a load that fails is left for the engine's own
    load to report."""
    embedder = _new_embedder(model_path or DEFAULT_ENCODER, threads)
    with _preloaded_lock:
        _preloaded[(model_path or DEFAULT_ENCODER, threads)] = embedder
    threading.Thread(target=_load_quietly, args=(embedder,), name="texcite-preload", daemon=True).start()


def _load_quietly(embedder: Embedder) -> None:
    try:
        embedder.load()
    except Exception as err:  # the engine loads it again and reports the reason where the user sees it
        log.debug("preloading %s failed: %s", embedder.name, err)


def make_embedder(model_path: str = "", threads: int | None = None) -> Embedder:
    """The encoder for ``texcite.dense.model``: ``use`` is the packaged multilingual Universal Sentence Encoder
    (numpy); ``minilm``, an ``.onnx`` file or a folder holding ``model.onnx`` run on ONNX Runtime (``minilm``: the
    packaged int8 all-MiniLM-L6-v2); a Hugging Face folder runs on torch; empty is DEFAULT_ENCODER. Without the
    packaged model, a ``MissingEmbedder`` that names the extra to install. A ``preload``ed one if there is."""
    model_path = model_path or DEFAULT_ENCODER
    with _preloaded_lock:
        preloaded = _preloaded.pop((model_path, threads), None)
        _preloaded.clear()  # a preload of another model is not going to be used
    return preloaded or _new_embedder(model_path, threads)


def _new_embedder(model_path: str, threads: int | None) -> Embedder:
    if model_path == USE_ENCODER:
        from texcite.retrieval.embeddings.use_embedder import UseEmbedder

        return UseEmbedder(threads)
    if model_path == MINILM_ENCODER or model_path.endswith(".onnx") \
            or os.path.isfile(os.path.join(model_path, "model.onnx")):
        from texcite.retrieval.embeddings.onnx_embedder import MINILM_NAME, OnnxEmbedder

        try:
            return OnnxEmbedder("" if model_path == MINILM_ENCODER else model_path, threads)
        except BackendUnavailable as err:
            return MissingEmbedder(MINILM_NAME, str(err))
    from texcite.retrieval.embeddings.torch_embedder import TorchEmbedder

    return TorchEmbedder(model_path, threads)
