"""The MiniLM half of hybrid ranking: the query's words nearest the citation marker are embedded and compared with
every entry's document and title embeddings (``retrieval.dense``), giving the dense signals of
``retrieval.signals``. The query is embedded in a thread of its own while the caller computes the other signals.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from texcite.retrieval.dense import DenseStage
from texcite.retrieval.signals import dense_signals

if TYPE_CHECKING:
    from texcite.retrieval.corpus import Corpus

# Only the words around the marker are embedded: short (fast on CPU) and, measured, better than the whole
# sentence or longer views (bench/results/eval-dev-hybrid-onnx.md).
QUERY_VIEW = "near"


class HybridScorer:
    """Dense signals for a request once the corpus's embeddings exist."""

    def __init__(self, stage: DenseStage) -> None:
        self.stage = stage
        # torch/onnxruntime release the GIL: on two cores the query embedding overlaps the BM25 and evidence work.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-query")

    def start(self, corpus: Corpus, views: Mapping[str, str]) -> Callable[[], dict[str, np.ndarray]] | None:
        """Begin embedding the query; returns a function giving the dense signals (aligned with
        ``corpus.entries``), or None when the corpus has no embeddings yet (their build is then started)."""
        if not corpus.entries:
            return None
        index = self.stage.index_for(corpus.signature)
        if index is None or len(index.keys) != len(corpus.entries):
            self.stage.start(corpus.signature, corpus.entries)
            return None
        text = views.get(QUERY_VIEW) or views.get("sent") or views.get("para") or ""
        future = self._pool.submit(self.stage.embed_queries, [text, views.get("sent") or text])

        def signals() -> dict[str, np.ndarray]:
            by_view = index.scores(future.result())
            return {**dense_signals({name: s[0] for name, s in by_view.items()}),
                    **dense_signals({name: s[1] for name, s in by_view.items()}, "dense_sent")}

        return signals

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
