"""The library's titles nearest in meaning to a request's query, found among 50,000 in about a millisecond: a
recall view beside BM25's, which cannot match a paragraph written in one language with titles in another (a French
or Russian thesis citing English works).

The title vectors (by the document's encoder) are projected once on their RANK first principal components (of at
most SAMPLE titles, evenly spaced); per query vector, the SHORTLIST titles best by that projection are compared
with it in full and the NEAREST best kept (64 components and 60 compared in full recall about as much, for 0.7 ms
more per completion at 50,000 titles). Measured with ``texcite eval --library-split 0.3``: bench/results/
library.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANK = 32  # dimensions of the projection (a 50,000-title library: 6.4 MB beside its 77 MB of vectors)
SAMPLE = 5000  # titles the principal components are computed from
SHORTLIST = 120  # titles per query vector compared in full
NEAREST = 10  # titles per query vector recalled


@dataclass(frozen=True)
class TitleProjection:
    """The library's title vectors (unit rows) and their projection on a basis of their principal components."""

    vectors: np.ndarray  # (titles, dimensions)
    basis: np.ndarray  # (dimensions, RANK)
    projected: np.ndarray  # (RANK, titles): a query's product runs along the titles

    @classmethod
    def of(cls, vectors: np.ndarray) -> TitleProjection:
        """Project ``vectors`` (blocking: 0.1-0.3 s for 50,000; run in a worker)."""
        sample = vectors[:: max(1, len(vectors) // SAMPLE)].astype(np.float64)
        _, components = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
        basis = np.ascontiguousarray(components[:, ::-1][:, :RANK], dtype=np.float32)
        return cls(vectors, basis, np.ascontiguousarray((vectors @ basis).T, dtype=np.float32))

    def nearest(self, queries: np.ndarray) -> list[int]:
        """The rows of the NEAREST titles to each of ``queries`` (unit vectors), the first query's first; the
        same for the same library and queries, whatever came before."""
        n = len(self.vectors)
        if not n:
            return []
        # einsum, not ``@``: BLAS's threaded product spins on a busy 2-core machine (``DenseIndex.scores``).
        approximate = np.einsum("de,qd->qe", self.projected, queries @ self.basis)
        rows: dict[int, None] = {}
        for query, scores in zip(queries, approximate, strict=True):
            top = min(SHORTLIST, n)
            short = np.sort(np.argpartition(-scores, top - 1)[:top])
            exact = np.einsum("ed,d->e", self.vectors[short], query)
            rows.update(dict.fromkeys(short[np.argsort(-exact, kind="stable")[:NEAREST]].tolist()))
        return list(rows)
