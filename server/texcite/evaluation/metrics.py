"""The measures of an evaluation: the best rank of a true key in a ranking, and over many of them Recall@k, MRR and
latency percentiles. ``texcite eval``, the web page's Evaluate tab and the fitting scripts of bench/ all count
with these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

KS = (1, 5, 10)  # the k of the Recall@k reported


def best_rank(ranked_keys: Iterable[str], true_keys: Iterable[str]) -> int:
    """1-based position of the first true key in ``ranked_keys``; 0 if none is there."""
    truth = set(true_keys)
    for i, key in enumerate(ranked_keys, 1):
        if key in truth:
            return i
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) without needing numpy here."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Metrics:
    """Recall@k, MRR and latency over a list of best ranks (0 = no true key in the ranking; a rank may be
    fractional, e.g. the expected rank among tied scores)."""

    ranks: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @classmethod
    def pooled(cls, parts: Iterable["Metrics"]) -> "Metrics":
        """One set of measures over every rank (and latency) of ``parts``."""
        out = cls()
        for part in parts:
            out.ranks += part.ranks
            out.latencies_ms += part.latencies_ms
        return out

    def add(self, rank: float, latency_ms: float | None = None) -> None:
        self.ranks.append(rank)
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)

    def recall(self, k: int) -> float:
        """The share of ranks with a true key within the first ``k``."""
        return sum(1 for r in self.ranks if 0 < r <= k) / len(self.ranks) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank (a miss counts 0)."""
        return sum(1.0 / r for r in self.ranks if r > 0) / len(self.ranks) if self.ranks else 0.0
