"""A neural reranker is one more signal: its scores (z-normalised over the candidates it rescored) join the fused
score with weight `reranker.weight` — 0 keeps the fused order, a large weight gives the reranker's order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from texcite.engine import Engine
from texcite.settings import Settings

pytestmark = pytest.mark.engine

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper"


def ranked(tiny_model_dir, tmp_path, weight: float):
    path = EXAMPLE / "chapters" / "method.tex"
    text = path.read_text()
    offset = sum(len(line) + 1 for line in text.split("\n")[:8]) + 40
    settings = Settings().replace(recall_mode="bm25", reranker_backend="transformers", reranker_weight=weight,
                                  reranker_model=str(tiny_model_dir), reranker_top_k=8, cache_dir=str(tmp_path))
    engine = Engine(settings, workspace=str(EXAMPLE))
    try:
        return engine.suggest(str(path), text, offset).suggestions
    finally:
        engine.close()


def test_the_weight_decides_how_much_the_reranker_moves(tiny_model_dir, tmp_path):
    fused_only = ranked(tiny_model_dir, tmp_path, 0.0)
    head = fused_only[:8]
    assert [s.fused_score for s in head] == sorted((s.fused_score for s in head), reverse=True)
    assert all(s.rerank_score is not None for s in head) and fused_only[8].rerank_score is None

    judge = ranked(tiny_model_dir, tmp_path, 100.0)[:8]  # the largest weight a setting allows: the judge
    assert judge[0].rerank_score == max(s.rerank_score for s in judge)
    assert [s.entry.key for s in judge] != [s.entry.key for s in head]

    both = ranked(tiny_model_dir, tmp_path, 1.0)[:8]
    rr = np.array([s.rerank_score for s in both])
    want = np.array([s.fused_score for s in both]) + (rr - rr.mean()) / rr.std()
    assert [s.score for s in both] == pytest.approx(want.tolist(), abs=1e-6)
    assert [s.score for s in both] == sorted((s.score for s in both), reverse=True)
    assert both[0].relevance == 100 and {s.entry.key for s in both} == {s.entry.key for s in head}
