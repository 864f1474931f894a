"""The ranking pipeline: cite context + query -> recall top-K -> reranker -> ranked suggestions with scores.

Pure and synchronous; the server runs the reranker step through its deadline-aware service and calls
``finish`` with whatever scores arrived in time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping, Sequence

import numpy as np

from texcite.bibindex import Entry
from texcite.citecontext import CiteContext, CiteMatcher
from texcite.corpus import Corpus
from texcite.paragraph import QueryContext, query_context
from texcite.references import key_uses
from texcite.rerank.base import Reranker
from texcite.settings import Settings


@dataclass(frozen=True)
class Candidate:
    """An entry after recall, with its recall score and whether it matches the typed prefix."""

    entry: Entry
    recall_score: float
    prefix_match: bool
    stage: str = "bm25"


@dataclass(frozen=True)
class Suggestion:
    """A ranked entry: 1-based rank, the score that ordered it and the stage that produced that score."""

    entry: Entry
    rank: int
    score: float
    stage: str
    recall_score: float


@dataclass(frozen=True)
class Request:
    """What the pipeline needs from a document: the cite context at the cursor and the query around it."""

    cite: CiteContext
    query: QueryContext
    document: str = field(default="", repr=False, compare=False)
    matcher: CiteMatcher | None = field(default=None, repr=False, compare=False)

    @cached_property
    def cited_elsewhere(self) -> Mapping[str, int]:
        """How often the document cites each key outside the command being written (key -> uses).

        Computed on first use: it scans the whole file (~5 ms for 200 KB), which only the hybrid needs.
        """
        if not self.document or self.matcher is None:
            return {}
        start, end = self.cite.command.start, self.cite.command.end
        return dict(Counter(u.key for u in key_uses(self.document, self.matcher) if not start <= u.start < end))


# Fused recall scores for a request, aligned with corpus.entries; None = not available (use BM25).
Scorer = Callable[[Corpus, "Request"], "np.ndarray | None"]


def build_request(text: str, offset: int, matcher: CiteMatcher) -> Request | None:
    """The request for a cursor, or None when the cursor is not inside a citation key list."""
    cite = matcher.context_at(text, offset)
    if cite is None:
        return None
    query = query_context(text, offset, matcher, (cite.command.start, cite.command.end))
    return Request(cite, query, text, matcher)


def matches_prefix(entry: Entry, prefix: str) -> bool:
    """Does the typed text start the key, an author surname, a title word or the year?"""
    p = prefix.strip().lower()
    if not p:
        return True
    if entry.key.lower().startswith(p) or entry.year.startswith(p):
        return True
    if any(s.lower().startswith(p) for s in entry.surnames):
        return True
    return any(w.lower().startswith(p) for w in entry.title.split())


def recall(corpus: Corpus, request: Request, top_k: int, scorer: Scorer | None = None) -> list[Candidate]:
    """Top-K by ``scorer`` (hybrid) or BM25 over the paragraph; typed-prefix matches first; keys already cited left out."""
    scores = scorer(corpus, request) if scorer is not None else None
    stage = "hybrid" if scores is not None else "bm25"
    if scores is None:
        scores = corpus.bm25.scores(request.query.text)
    exclude = set(request.cite.existing_keys)
    prefix = request.cite.prefix
    order = np.argsort(-scores, kind="stable")
    out: list[Candidate] = []
    rest: list[Candidate] = []
    for i in order:
        e = corpus.entries[i]
        if e.key in exclude:
            continue
        c = Candidate(e, float(scores[i]), matches_prefix(e, prefix), stage)
        if c.prefix_match:
            out.append(c)
        elif len(rest) < top_k:
            rest.append(c)
        if len(out) >= top_k:
            break
    return (out + rest)[:top_k]


def finish(candidates: Sequence[Candidate], rerank_scores: Sequence[float] | None, stage: str) -> list[Suggestion]:
    """Order candidates: reranked head by its scores (prefix matches still first), the rest in recall order."""
    if rerank_scores is None:
        return [Suggestion(c.entry, i + 1, c.recall_score, c.stage, c.recall_score) for i, c in enumerate(candidates)]
    head = list(zip(candidates[: len(rerank_scores)], rerank_scores))
    head.sort(key=lambda cs: (not cs[0].prefix_match, -cs[1]))
    tail = [(c, c.recall_score) for c in candidates[len(rerank_scores):]]
    ranked = [(c, s, stage) for c, s in head] + [(c, s, c.stage) for c, s in tail]
    return [Suggestion(c.entry, i + 1, float(s), st, c.recall_score) for i, (c, s, st) in enumerate(ranked)]


def rerank_inputs(request: Request, candidates: Sequence[Candidate], settings: Settings) -> tuple[str, list[str]]:
    """The reranker's query (paragraph with the [CITATION] marker) and the documents of the top candidates."""
    head = candidates[: settings.reranker_top_k]
    return request.query.marked, [c.entry.document for c in head]


def suggest(corpus: Corpus, request: Request, settings: Settings, reranker: Reranker | None = None,
            scorer: Scorer | None = None) -> list[Suggestion]:
    """The whole pipeline, blocking (CLI, eval): recall (hybrid if a scorer is given), then the reranker if one is given."""
    candidates = recall(corpus, request, settings.recall_top_k, scorer)
    if reranker is None or reranker.backend == "none" or not candidates:
        return finish(candidates, None, "bm25")
    query, docs = rerank_inputs(request, candidates, settings)
    scores = reranker.rank(query, docs)
    return finish(candidates, scores, f"rerank:{reranker.backend}")
