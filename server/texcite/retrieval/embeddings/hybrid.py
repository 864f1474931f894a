"""The dense half of hybrid ranking: two views of the query — the words nearest the citation marker and the
citing sentence — are embedded and compared with every entry's title embedding
(``retrieval.embeddings.dense``), giving the dense signals of ``retrieval.signals``. The query is embedded in a thread of its
own while the caller computes the other signals.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Mapping

import numpy as np

from texcite.retrieval.corpus import Corpus
from texcite.retrieval.embeddings.dense import DenseIndex, DenseStage
from texcite.retrieval.signals import dense_signals

# The words around the marker: short (fast on CPU) and, measured, better than longer views
# (bench/results/eval-dev-hybrid-onnx.md); the citing sentence is the second view.
QUERY_VIEW = "near"


class DenseQuery:
    """A query being embedded; ``signals()`` waits for it and gives the dense signals (aligned with the corpus's
    entries)."""

    def __init__(self, index: DenseIndex, vectors: Future) -> None:
        self.index = index
        self.vectors = vectors

    def signals(self, stats: dict[str, tuple[float, float]] | None = None) -> dict[str, np.ndarray]:
        """The dense signals; ``stats`` receives each one's (mean, standard deviation) of the raw similarities, so
        other documents' similarities can join the scale (the writer's library)."""
        near, sentence = self.index.scores(self.vectors.result())
        if stats is not None:
            for name, raw in (("dense", near), ("dense_sent", sentence)):
                sd = float(raw.std()) if len(raw) else 0.0
                stats[name] = (float(raw.mean()) if len(raw) else 0.0, sd if sd > 0 else 1.0)
        return {"dense": dense_signals(near), "dense_sent": dense_signals(sentence)}


class HybridScorer:
    """Dense signals for a request once the corpus's embeddings exist."""

    def __init__(self, stage: DenseStage) -> None:
        self.stage = stage
        # torch/onnxruntime release the GIL: on two cores the query embedding overlaps the BM25 and evidence work.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-query")

    def start(self, corpus: Corpus, views: Mapping[str, str]) -> DenseQuery | None:
        """Begin embedding the query; None when the corpus has no embeddings yet (their build is then started)."""
        if not corpus.entries:
            return None
        index = self.stage.index_for(corpus.signature)
        if index is None or len(index.keys) != len(corpus.entries):
            self.stage.start(corpus.signature, corpus.entries)
            return None
        text = views.get(QUERY_VIEW) or views.get("sent") or views.get("para") or ""
        return DenseQuery(index, self._pool.submit(self.stage.embed_queries, [text, views.get("sent") or text]))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
