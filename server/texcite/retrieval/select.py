"""From fused scores to the list a writer sees: the shortlist (the best ``top_k``, or with text typed in the
braces every entry it matches, strong matches first) and the neural reranker's scores joined into the head of it.

Entries that only serve others (``bib.model.helper_keys``: a proceedings volume whose papers carry ``crossref``,
@xdata, @set) and that the project does not cite come after every work a writer could mean: with nothing typed,
after all the others (so in a bib of more than ``top_k`` works they are not offered); with text typed, after the
others of their tier, so typing a helper's key still finds it at once. They are not left out: citing a whole
proceedings volume is rare but legitimate, and once cited it is a work like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from texcite.bib.model import Entry, LibraryRef
from texcite.retrieval.signals import znorm
from texcite.retrieval.typed import TypedIndex, tiered_order


class Lift(NamedTuple):
    """A part of a candidate's score that comes from outside the fusion model (a library entry's affinity with the
    project, its author the project cites): the reason it gives (``retrieval.explain``), how much it adds, and what
    the reason names (an author)."""

    reason: str
    value: float
    detail: str = ""


@dataclass(frozen=True)
class Candidate:
    """An entry on the shortlist: its row in the corpus, its fused score, the stage that scored it (bm25 or
    hybrid) and, with text typed in the braces, how well that text matches it (``retrieval.typed``'s tier; 0 is
    the best)."""

    entry: Entry
    row: int
    fused_score: float
    stage: str
    tier: int = 0
    helper: bool = False  # serves other entries (see the module docstring): after the works of its tier
    library: LibraryRef | None = None  # an entry of the writer's library, not of the project (``texcite.library``)
    lifts: tuple[Lift, ...] = ()  # what its score holds beyond the fusion model's
    # A library entry without its title's vector: its dense signals are predicted from its words
    # (``library.candidates.DENSE_FROM_WORDS``), so what they lift is its words' doing.
    meaning_from_words: bool = False


def finite(scores: np.ndarray) -> np.ndarray:
    """``scores`` with each NaN or infinity (a damaged vector, a failing model) replaced by a score one below the
    lowest finite one: that entry ranks last and its relevance is 0, never a number no one can read."""
    ok = np.isfinite(scores)
    if ok.all():
        return scores
    floor = float(scores[ok].min()) - 1.0 if ok.any() else 0.0
    return np.where(ok, scores, floor).astype(scores.dtype)


def best_first(scores: np.ndarray, rows: np.ndarray | None = None, top: int | None = None) -> np.ndarray:
    """``rows`` (default: all) by descending score, ties in row order; only the ``top`` first when given (found
    by partition: sorting 10k scores costs more than the rest of the shortlist)."""
    rows = np.arange(len(scores)) if rows is None else rows
    values = scores[rows]
    if top is not None and top < len(rows):
        cut = np.partition(values, len(values) - top)[len(values) - top]  # the top-th largest
        ties = np.flatnonzero(values == cut)[: top - int((values > cut).sum())]
        keep = np.concatenate([np.flatnonzero(values > cut), ties])
        rows, values = rows[keep], values[keep]
    return rows[np.lexsort((rows, -values))]


def shortlist(entries: Sequence[Entry], typed: TypedIndex, scores: np.ndarray, stage: str, top_k: int,
              prefix: str, exclude: Sequence[str], helpers: np.ndarray | None = None) -> list[Candidate]:
    """Candidates best first, the keys in ``exclude`` (already in the command) left out. With text typed in the
    braces (``prefix``), only the entries it matches, all of them, in ``retrieval.typed``'s order; else the top
    ``top_k``. ``helpers`` (per entry) marks the entries that go after the others (see the module docstring).
    Non-finite scores rank last (``finite``)."""
    excluded = set(exclude)
    scores = finite(scores)
    last = helpers if helpers is not None else np.zeros(len(entries), bool)
    if prefix.strip():
        tiers = typed.tiers(prefix)
        order = tiered_order(tiers, scores, last)
    else:
        tiers = np.zeros(len(entries), np.int8)
        want = top_k + len(excluded)
        works = best_first(scores, np.flatnonzero(~last), top=want)
        order = works if len(works) >= want else np.concatenate(
            [works, best_first(scores, np.flatnonzero(last), top=want - len(works))])
    out = [Candidate(entries[i], int(i), float(scores[i]), stage, int(tiers[i]), bool(last[i]))
           for i in order if entries[i].key not in excluded]
    return out if prefix.strip() else out[:top_k]


def joined_scores(candidates: Sequence[Candidate], rerank_scores: Sequence[float], weight: float) -> list[float]:
    """The head's fused scores plus ``weight`` times the reranker's, z-normalised over the head: the reranker
    is one more signal, not the judge."""
    head = np.array([c.fused_score for c in candidates[: len(rerank_scores)]], dtype=np.float64)
    return (head + weight * znorm(np.asarray(rerank_scores, dtype=np.float64))).tolist()


@dataclass(frozen=True)
class Ranked:
    """A candidate at its place in the final order: the score that ordered it, the stage and the reranker's own
    score where it ran."""

    candidate: Candidate
    score: float
    stage: str
    rerank_score: float | None


def join(candidates: Sequence[Candidate], rerank_scores: Sequence[float] | None, stage: str,
         weight: float = 1.0) -> list[Ranked]:
    """The final order: the reranked head by fused + reranker scores (``joined_scores``) within each typed-text
    tier (what the writer typed keeps deciding first), its helpers after its works, the rest in shortlist order
    (``rerank_scores`` None: all in shortlist order)."""
    if rerank_scores is None:
        return [Ranked(c, c.fused_score, c.stage, None) for c in candidates]
    rerank_scores = finite(np.asarray(rerank_scores, dtype=np.float64)).tolist()
    joined = joined_scores(candidates, rerank_scores, weight)
    head = sorted(zip(candidates, joined, rerank_scores, strict=False),  # the head only
                  key=lambda row: (row[0].tier, row[0].helper, -row[1]))
    return ([Ranked(c, s, stage, float(r)) for c, s, r in head]
            + [Ranked(c, c.fused_score, c.stage, None) for c in candidates[len(rerank_scores):]])
