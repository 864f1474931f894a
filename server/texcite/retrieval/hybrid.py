"""Hybrid recall: BM25 and MiniLM scores over several views of the query, fused into one ranking.

Each (ranker, query view) score vector is z-normalised over the corpus and summed with a weight; entries cited
elsewhere in the document get a bonus growing with log(1 + uses) (writers re-cite the same works). Views and
weights were chosen by measurement on the dev theses (bench/tune_hybrid.py, bench/results/eval-dev-hybrid.md).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from texcite.retrieval.dense import DenseStage

if TYPE_CHECKING:
    from texcite.latex.query import QueryContext
    from texcite.retrieval.corpus import Corpus


@dataclass(frozen=True)
class Weights:
    """Weight of each (ranker, query view) score after z-normalisation, and of the cited-elsewhere bonus."""

    bm25: Mapping[str, float] = field(default_factory=lambda: {"sent": 1.0, "para": 0.5})
    # Only the words around the marker are embedded: short (fast on CPU) and, measured, better than the whole
    # sentence or longer views.
    dense: Mapping[str, float] = field(default_factory=lambda: {"near": 2.0})
    cited_elsewhere: float = 2.0  # times log(1 + uses of the key elsewhere in the file)


DEFAULT_WEIGHTS = Weights()


def znorm(scores: np.ndarray) -> np.ndarray:
    """Scores minus their mean over the corpus, over their standard deviation (along the last axis)."""
    mu = scores.mean(axis=-1, keepdims=True)
    sd = scores.std(axis=-1, keepdims=True)
    return (scores - mu) / np.where(sd > 0, sd, 1.0)


def fuse(bm25: Mapping[str, np.ndarray], dense: Mapping[str, np.ndarray] | None, cited: np.ndarray | None,
         weights: Weights = DEFAULT_WEIGHTS) -> np.ndarray:
    """Weighted sum of z-normalised scores (1-D per query, or 2-D queries x entries) plus the cited-elsewhere
    bonus; ``cited`` counts each entry's uses elsewhere in the document; dense None = BM25 views only."""
    total = None
    parts = [(weights.bm25, bm25)] + ([(weights.dense, dense)] if dense is not None else [])
    for wmap, scores in parts:
        for view, w in wmap.items():
            if w and view in scores:
                term = w * znorm(np.asarray(scores[view], dtype=np.float32))
                total = term if total is None else total + term
    if total is None:
        total = np.zeros_like(next(iter(bm25.values())), dtype=np.float32)
    if cited is not None and weights.cited_elsewhere:
        total = total + weights.cited_elsewhere * np.log1p(cited)
    return total


def dense_view_scores(view_scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """One dense score per entry from its document and title embeddings: the better of the two."""
    doc, title = view_scores["doc"], view_scores.get("title")
    return doc if title is None else np.maximum(doc, title)


class HybridScorer:
    """Recall scores for a request: fused BM25 + dense when the corpus's embeddings are ready, else None."""

    def __init__(self, stage: DenseStage, weights: Weights = DEFAULT_WEIGHTS) -> None:
        self.stage = stage
        self.weights = weights
        # The query is embedded here while the calling thread does BM25 and the cited-elsewhere scan
        # (torch releases the GIL): on two cores the two overlap instead of adding up.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-query")

    def __call__(self, corpus: Corpus, query: QueryContext,
                 cited_elsewhere: Callable[[], Mapping[str, int]]) -> np.ndarray | None:
        """Fused scores aligned with ``corpus.entries``; None until the dense index exists (the caller uses BM25).

        ``cited_elsewhere()`` counts each key's uses elsewhere in the document; it is only called when needed.
        """
        if not corpus.entries:
            return np.zeros(0, dtype=np.float32)
        index = self.stage.index_for(corpus.signature)
        if index is None or len(index.keys) != len(corpus.entries):
            self.stage.start(corpus.signature, corpus.entries)
            return None
        views = query.views()
        w = self.weights
        dense_views = [v for v, wt in w.dense.items() if wt and views.get(v)]
        vectors = self._pool.submit(self.stage.embed_queries, [views[v] for v in dense_views]) if dense_views else None
        bm25 = {v: corpus.bm25.scores(views[v]) for v, wt in w.bm25.items() if wt}
        prior = None
        uses = cited_elsewhere() if w.cited_elsewhere else {}
        if uses:
            prior = np.zeros(len(corpus.entries), dtype=np.float32)
            for key, n in uses.items():
                row = index.position.get(key)
                if row is not None:
                    prior[row] = n
        dense = {}
        if vectors is not None:
            by_view = index.scores(vectors.result())
            for i, v in enumerate(dense_views):
                dense[v] = dense_view_scores({name: s[i] for name, s in by_view.items()})
        return fuse(bm25, dense, prior, w)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
