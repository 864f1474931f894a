"""The values a ranking passes along, with no lifecycle: the request (the citation at the cursor and the query
around it), the shortlist prepared, each suggestion and the result. ``engine`` produces them; the LSP layer, the
CLI, the evaluation and the web page read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from texcite.bib.model import Entry, LibraryRef
from texcite.latex.cite import CiteContext, CiteMatcher
from texcite.latex.facts import FileFacts, scan_file
from texcite.latex.query import QueryContext, query_context
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.evidence import KeyEvidence
from texcite.retrieval.fusion import FusionModel
from texcite.retrieval.select import Candidate

if TYPE_CHECKING:
    from texcite.retrieval.adaptation import Adaptation, Correction
    from texcite.retrieval.embeddings.hybrid import DenseQuery


@dataclass(frozen=True)
class Request:
    """What ranking needs from a document: the cite context at the cursor and the query around it."""

    cite: CiteContext
    query: QueryContext
    offset: int = 0
    facts: FileFacts | None = field(default=None, repr=False, compare=False)


def build_request(text: str, offset: int, matcher: CiteMatcher, facts: FileFacts | None = None) -> Request | None:
    """The request for a cursor, or None when the cursor is not inside a citation key list. ``facts`` are the
    text's (``latex.facts``; scanned here when not given)."""
    facts = facts if facts is not None else scan_file(text, matcher)
    cite = matcher.context_at(text, offset, facts.in_verbatim)
    if cite is None:
        return None
    query = query_context(text, offset, matcher, (cite.command.start, cite.command.end), facts.section_at(offset))
    return Request(cite, query, offset, facts)


@dataclass(frozen=True)
class Suggestion:
    """A ranked entry: 1-based rank, the score that ordered it (fused, plus the reranker's share where it ran),
    the stage, its relevance within the list (0-100, the best is 100) and why it ranked, in words."""

    entry: Entry
    rank: int
    score: float
    stage: str
    fused_score: float
    relevance: int = 0
    reasons: tuple[str, ...] = ()
    rerank_score: float | None = None  # the neural reranker's own score, where it ran
    library: LibraryRef | None = None  # from the writer's library, not yet in the project's bibliography


@dataclass
class Result:
    """Ranked suggestions plus what produced them (for `suggest --json`, status and completion docs)."""

    request: Request
    suggestions: list[Suggestion]
    query: str  # the text the last stage scored: the reranker's marked paragraph, else the shortlist's query
    ranking: str  # what ranked, for people: "BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at …)"
    fallback_message: str = ""
    corpus_size: int = 0
    library_offset: float = 0.0  # what the library entries' scores lost (``library.candidates.library_offset``)


@dataclass
class Prepared:
    """The shortlist done (``Engine.prepare``): the candidates, and what the reranker would score next."""

    request: Request
    corpus: Corpus
    candidates: list[Candidate]
    stage: str  # what scored the shortlist: bm25 | hybrid
    encoder: str = ""  # the dense stage's encoder for this document (``DenseEncoders.encoder``)
    signals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # every signal of every entry
    inputs: np.ndarray | None = field(default=None, repr=False)  # the model's inputs (its features x entries)
    model: FusionModel | None = None
    evidence: KeyEvidence | None = None
    adaptation: Adaptation | None = None  # what the project's citations taught this list (``lessons``)
    library_offset: float = 0.0  # what the library entries' scores lost (``library.candidates.library_offset``)
    correction: Correction | None = None  # the adaptation as this request applies it (fit without its fold)


@dataclass
class Scored:
    """Every signal of every entry for one request (``Engine.score``) and the shipped model's scores: the stage
    and the dense encoder that produced them, the model's inputs (its features x entries), the per-view BM25
    statistics (``retrieval.signals``), the dense query and the document's evidence."""

    signals: dict[str, np.ndarray]
    stats: dict[str, tuple[float, float]]
    stage: str
    encoder: str
    model: FusionModel
    inputs: np.ndarray | None
    scores: np.ndarray
    dense: DenseQuery | None
    evidence: KeyEvidence
