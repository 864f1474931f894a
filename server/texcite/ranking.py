"""One place that turns (file, text, cursor) into ranked suggestions; shared by the server, the CLI and eval.

``prepare`` does the blocking part (discovery, parsing, recall) and ``finish`` orders by whatever reranker
scores are available, so the server can run the reranker through its deadline-aware service in between.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from texcite.bibstore import BibStore
from texcite.citecontext import CiteMatcher
from texcite.corpus import Corpus
from texcite.discovery import ReadText, read_disk
from texcite.pipeline import Candidate, Request, Scorer, Suggestion, build_request, finish, recall, rerank_inputs
from texcite.projects import ProjectIndex
from texcite.rerank.base import BackendUnavailable, IdentityReranker, Reranker
from texcite.settings import Settings

if TYPE_CHECKING:
    from texcite.dense import DenseStage

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Recall done; what the reranker would score next."""

    request: Request
    corpus: Corpus
    candidates: list[Candidate]
    rerank_query: str
    rerank_docs: list[str]


@dataclass
class Result:
    """Ranked suggestions plus what produced them (for `suggest --json`, status and completion docs)."""

    request: Request
    suggestions: list[Suggestion]
    reranker_query: str
    instruction: str
    backend: str
    model: str
    fallback_message: str = ""
    incomplete: bool = False
    corpus_size: int = 0
    extra: dict = field(default_factory=dict)


def uses_dense(settings: Settings) -> bool:
    """Whether recall is hybrid (BM25 + MiniLM): every backend but ``none``; neural rerankers rescore its top-K."""
    return settings.reranker_backend != "none"


def make_dense_stage(settings: Settings, **callbacks) -> "DenseStage":
    """The dense stage for ``settings`` (cheap: the model loads in its worker on first use)."""
    from texcite.dense import DenseStage

    return DenseStage(settings.dense_model, settings.cache_dir, **callbacks)


def make_reranker(settings: Settings) -> Reranker:
    """The configured reranker; raises BackendUnavailable with what to fix."""
    if settings.reranker_backend in ("none", "hybrid"):
        return IdentityReranker()
    try:
        from texcite.rerank.factory import make_reranker as factory
    except ImportError as err:  # pragma: no cover - the factory ships with the package
        raise BackendUnavailable(f"reranker backends are not available: {err}") from err
    return factory(settings)


class Ranker:
    """Ranks suggestions for a cursor; owns the project index and (lazily) the reranker."""

    def __init__(self, settings: Settings, read: ReadText = read_disk, workspace: str | None = None,
                 store: BibStore | None = None, reranker: Reranker | None = None,
                 dense: "DenseStage | None" = None) -> None:
        self.settings = settings
        self.matcher = CiteMatcher(settings.cite_commands)
        self.projects = ProjectIndex(settings, read, workspace, store)
        self._reranker = reranker
        self.fallback_message = ""
        self.dense = dense
        self.scorer: Scorer | None = None
        if dense is not None and uses_dense(settings):
            from texcite.hybrid import HybridScorer

            self.scorer = HybridScorer(dense)

    @property
    def reranker(self) -> Reranker:
        """The reranker, created on first use; a backend that cannot run falls back to recall order."""
        if self._reranker is None:
            try:
                self._reranker = make_reranker(self.settings)
            except BackendUnavailable as err:
                self.fallback_message = f"{err} — using BM25 order."
                log.warning("%s", self.fallback_message)
                self._reranker = IdentityReranker()
        return self._reranker

    def prepare(self, path: str, text: str, offset: int) -> Prepared | None:
        """Cite context, query, corpus and recall; None when the cursor is not in a citation key list."""
        request = build_request(text, offset, self.matcher)
        if request is None:
            return None
        corpus = self.projects.corpus(path)
        candidates = recall(corpus, request, self.settings.recall_top_k, self.scorer)
        query, docs = rerank_inputs(request, candidates, self.settings)
        return Prepared(request, corpus, candidates, query, docs)

    def finish(self, prepared: Prepared, scores: Sequence[float] | None, reranker: Reranker | None = None,
               incomplete: bool = False) -> Result:
        """Order the candidates with the reranker's scores (None: recall order)."""
        reranker = reranker or IdentityReranker()
        active = reranker.backend != "none" and scores is not None
        stage = f"rerank:{reranker.backend}" if active else "bm25"
        suggestions = finish(prepared.candidates, scores if active else None, stage)
        recall_stage = prepared.candidates[0].stage if prepared.candidates else "bm25"
        hybrid_only = reranker.backend == "none" and recall_stage == "hybrid"
        return Result(
            request=prepared.request,
            suggestions=suggestions,
            reranker_query=prepared.rerank_query if reranker.backend != "none" else prepared.request.query.text,
            instruction=self.settings.reranker_instruction,
            backend="hybrid" if hybrid_only else reranker.backend,
            model=self.dense.model_name if hybrid_only and self.dense is not None else reranker.model,
            fallback_message=self.fallback_message,
            incomplete=incomplete,
            corpus_size=len(prepared.corpus),
            extra={"recall": recall_stage},
        )

    def wait_dense(self, path: str) -> bool:
        """Build (or load from cache) the embeddings of ``path``'s corpus and wait for them (CLI, eval).

        Creates the dense stage if the settings want one; False (BM25 only) when it cannot run here.
        """
        if not uses_dense(self.settings):
            return False
        if self.dense is None:
            self.dense = make_dense_stage(self.settings)
            from texcite.hybrid import HybridScorer

            self.scorer = HybridScorer(self.dense)
        corpus = self.projects.corpus(path)
        future = self.dense.start(corpus.signature, corpus.entries)
        if future is not None:
            future.result()
        if self.dense.error and not self.fallback_message:
            self.fallback_message = f"{self.dense.error} — using BM25 order."
            log.warning("%s", self.fallback_message)
        return self.dense.index_for(corpus.signature) is not None

    def suggest_blocking(self, path: str, text: str, offset: int) -> Result | None:
        """The whole pipeline in the calling thread (CLI, eval); hybrid recall waits for the embeddings."""
        self.wait_dense(path)
        prepared = self.prepare(path, text, offset)
        if prepared is None:
            return None
        reranker = self.reranker
        scores = None
        if reranker.backend != "none" and prepared.rerank_docs:
            try:
                scores = reranker.rank(prepared.rerank_query, prepared.rerank_docs)
            except Exception as err:  # a failing backend must not take the ranking down
                self.fallback_message = f"reranker failed ({err}) — using BM25 order."
                log.warning("%s", self.fallback_message)
                reranker = IdentityReranker()
        return self.finish(prepared, scores, reranker)
