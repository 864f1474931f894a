"""The final order: the neural reranker's scores join the fused ones, but never lift an entry over one that
matches what the writer typed better."""

from __future__ import annotations

from texcite.bib.model import Entry
from texcite.retrieval.select import Candidate, join


def candidate(key: str, fused: float, tier: int) -> Candidate:
    return Candidate(Entry(key, "article", {"title": key}, "", 0), 0, fused, "hybrid", tier)


def test_the_reranker_reorders_within_a_typed_tier_never_across():
    # Typed "smi": smith2020 starts with it (tier 0); two entries only match a title word (tier 3).
    shortlist = [candidate("smith2020", 1.0, 0), candidate("blacksmithing", 0.9, 3), candidate("metals", 0.8, 3)]
    ranked = join(shortlist, [0.0, 0.5, 1.0], "rerank:vllm-http")
    assert [r.candidate.entry.key for r in ranked] == ["smith2020", "metals", "blacksmithing"]


def test_without_typed_text_the_reranker_joins_the_whole_head():
    shortlist = [candidate("a", 1.0, 0), candidate("b", 0.9, 0), candidate("c", 0.8, 0)]
    ranked = join(shortlist, [0.0, 0.5, 1.0], "rerank:vllm-http", weight=10.0)
    assert [r.candidate.entry.key for r in ranked] == ["c", "b", "a"]
