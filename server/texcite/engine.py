"""The ranking engine: (file, text, cursor) -> ranked suggestions. The only place that knows the stages — the
signals (BM25, MiniLM, the project's citation evidence), their learned fusion and a neural reranker — and which
of them run.

``prepare`` does the blocking part (cite context, query, corpus, signals, fusion, recall) and ``finish`` orders by
the fused scores, with the reranker's joined in where they are at hand. ``suggest`` (CLI, eval) waits for
everything; ``suggest_async`` (the server) is the same two steps with recall in a worker thread and the reranker
under a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Sequence

import numpy as np

from texcite.bib.diskcache import cache_dir
from texcite.bib.model import BibFile, Entry
from texcite.bib.store import BibStore
from texcite.files import Sources
from texcite.latex.cite import CiteContext, CiteMatcher
from texcite.latex.facts import FileFacts, scan_file
from texcite.latex.project import Project, ProjectIndex
from texcite.latex.query import QueryContext, query_context
from texcite.rerank.factory import make_reranker, resolve_backend
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries, tokenize
from texcite.retrieval.corpus import Corpora, Corpus
from texcite.retrieval.evidence import EvidenceIndex, KeyEvidence
from texcite.retrieval.explain import reasons
from texcite.retrieval.fusion import FusionModel, load_models, model_for, relevance
from texcite.retrieval.signals import (BM25_VIEWS, dense_signals, evidence_signals, mention_signals, text_signals,
                                      znorm)
from texcite.runtime import public_url
from texcite.settings import Settings

log = logging.getLogger(__name__)

DENSE_NAME = "MiniLM"
EXPLAINED = 12  # the items of a list that get reasons: about what a completion popup shows without scrolling
QUERY_VIEWS = ("default", "paragraph", "sentence")  # BM25 query: the server's, or one view alone (eval)


@dataclass(frozen=True)
class Request:
    """What ranking needs from a document: the cite context at the cursor and the query around it."""

    cite: CiteContext
    query: QueryContext
    offset: int = 0
    facts: FileFacts | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Candidate:
    """An entry after recall: its row in the corpus, its fused score and the stage that produced it."""

    entry: Entry
    row: int
    recall_score: float
    stage: str


@dataclass(frozen=True)
class Suggestion:
    """A ranked entry: 1-based rank, the score that ordered it (fused, plus the reranker's share where it ran),
    the stage, its relevance within the list (0-100, the best is 100) and why it ranked, in words."""

    entry: Entry
    rank: int
    score: float
    stage: str
    recall_score: float
    relevance: int = 0
    reasons: tuple[str, ...] = ()
    rerank_score: float | None = None  # the neural reranker's own score, where it ran


@dataclass
class Prepared:
    """Recall done: the candidates, and what the reranker would score next."""

    request: Request
    corpus: Corpus
    candidates: list[Candidate]
    recall_stage: str  # bm25 | hybrid
    signals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    inputs: np.ndarray | None = field(default=None, repr=False)  # the model's inputs (its features x entries)
    model: FusionModel | None = None
    evidence: KeyEvidence | None = None


@dataclass
class Result:
    """Ranked suggestions plus what produced them (for `suggest --json`, status and completion docs)."""

    request: Request
    suggestions: list[Suggestion]
    query: str  # the text the last stage scored: the reranker's marked paragraph, else the recall query
    ranking: str  # what ranked, for people: "BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at …)"
    fallback_message: str = ""
    corpus_size: int = 0


class EngineEvents:
    """What the engine reports while it works; called from worker threads. The defaults do nothing (CLI, eval)."""

    def bib_parsed(self, bib: BibFile) -> None: ...

    def dense_progress(self, signature: tuple, done: int, total: int) -> None: ...

    def dense_error(self, message: str) -> None: ...

    def dense_loaded(self) -> None: ...

    def rerank_state(self, state: str, message: str) -> None: ...


def build_request(text: str, offset: int, matcher: CiteMatcher, facts: FileFacts | None = None) -> Request | None:
    """The request for a cursor, or None when the cursor is not inside a citation key list. ``facts`` are the
    text's (``latex.facts``; scanned here when not given)."""
    facts = facts if facts is not None else scan_file(text, matcher)
    cite = matcher.context_at(text, offset, facts.in_verbatim)
    if cite is None:
        return None
    query = query_context(text, offset, matcher, (cite.command.start, cite.command.end), facts.section_at(offset))
    return Request(cite, query, offset, facts)


def recall(corpus: Corpus, request: Request, scores: np.ndarray, stage: str, top_k: int) -> list[Candidate]:
    """Candidates best first, keys already in the command left out. With text typed in the braces, only the
    entries it matches (``retrieval.typed``), all of them, strong matches first; else the top ``top_k``."""
    exclude = set(request.cite.existing_keys)
    if request.cite.prefix.strip():
        strong, weak = corpus.typed.matches(request.cite.prefix)
        order = np.concatenate([best_first(scores, np.flatnonzero(strong)), best_first(scores, np.flatnonzero(weak))])
    else:
        order = best_first(scores, top=top_k + len(exclude))
    out = [Candidate(corpus.entries[i], int(i), float(scores[i]), stage)
           for i in order if corpus.entries[i].key not in exclude]
    return out if request.cite.prefix.strip() else out[:top_k]


def best_first(scores: np.ndarray, rows: np.ndarray | None = None, top: int | None = None) -> np.ndarray:
    """``rows`` (default: all) by descending score, ties in row order; only the ``top`` first when given (found
    by partition: sorting 10k scores costs more than the rest of recall)."""
    rows = np.arange(len(scores)) if rows is None else rows
    values = scores[rows]
    if top is not None and top < len(rows):
        cut = np.partition(values, len(values) - top)[len(values) - top]  # the top-th largest
        ties = np.flatnonzero(values == cut)[: top - int((values > cut).sum())]
        keep = np.concatenate([np.flatnonzero(values > cut), ties])
        rows, values = rows[keep], values[keep]
    return rows[np.lexsort((rows, -values))]


def joined_scores(candidates: Sequence[Candidate], rerank_scores: Sequence[float], weight: float) -> list[float]:
    """The head's fused scores plus ``weight`` times the reranker's, z-normalised over the head: the reranker
    is one more signal, not the judge."""
    head = np.array([c.recall_score for c in candidates[: len(rerank_scores)]], dtype=np.float64)
    return (head + weight * znorm(np.asarray(rerank_scores, dtype=np.float64))).tolist()


def order(candidates: Sequence[Candidate], rerank_scores: Sequence[float] | None, stage: str,
          weight: float = 1.0) -> list[tuple[Candidate, float, str, float | None]]:
    """(candidate, score, stage, reranker score) best first: the reranked head by fused + reranker scores
    (``joined_scores``), the rest in recall order (None: all in recall order)."""
    if rerank_scores is None:
        return [(c, c.recall_score, c.stage, None) for c in candidates]
    joined = joined_scores(candidates, rerank_scores, weight)
    head = sorted(zip(candidates, joined, rerank_scores), key=lambda row: -row[1])
    return ([(c, s, stage, float(r)) for c, s, r in head]
            + [(c, c.recall_score, c.stage, None) for c in candidates[len(rerank_scores):]])


def describe_ranking(hybrid: bool, reranker: str = "", model: str = "", url: str = "") -> str:
    """'BM25', 'BM25 + MiniLM', 'BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)'."""
    text = f"BM25 + {DENSE_NAME}" if hybrid else "BM25"
    if reranker:
        where = f"{reranker} at {public_url(url)}" if url else reranker
        text += f" → {model.rsplit('/', 1)[-1]} ({where})"
    return text


class Engine:
    """Owns everything that ranks: the project index, the bib store and corpora, the dense stage (hybrid recall)
    and the reranker service. ``configure`` rebuilds only the components whose settings section changed."""

    def __init__(self, settings: Settings | None = None, sources: Sources | None = None, workspace: str | None = None,
                 env: dict[str, str] | None = None, events: EngineEvents | None = None,
                 query_view: str = "default") -> None:
        self.events = events or EngineEvents()
        self.sources = sources or Sources()
        self.workspace = workspace
        self.env = env
        self.query_view = query_view
        settings = settings or Settings()
        self.store = BibStore(analyze_entries, on_parsed=self.events.bib_parsed,
                              cache_directory=cache_dir(settings.cache_dir), tokens_version=TOKENS_VERSION)
        self.corpora = Corpora(self.store)
        self.evidence = EvidenceIndex()
        self.models = load_models()
        self.dense = None  # texcite.retrieval.dense.DenseStage when recall is hybrid
        self.scorer = None  # texcite.retrieval.hybrid.HybridScorer over it
        self.service = None  # texcite.rerank.service.RerankService when a neural reranker is configured
        self.settings: Settings | None = None
        self.configure(settings)

    # -- configuration -----------------------------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Adopt settings: components whose section is unchanged keep running (a section's equality is its key)."""
        old, self.settings = self.settings, settings
        self.matcher = CiteMatcher(settings.cite_commands)
        self.projects = ProjectIndex(self.sources, self.matcher, self.workspace, settings.bib_files, self.env)
        self.store.cache.directory = cache_dir(settings.cache_dir)
        self.sources.max_bytes = settings.files.max_tex_size << 20
        if self.store.parser.max_bytes != settings.files.max_bib_size << 20:
            self.store.parser.max_bytes = settings.files.max_bib_size << 20
            self.store.invalidate_all()  # a file refused (or read) under the old cap is read again
        dense_key = (settings.recall.mode, settings.dense, settings.cache_dir)
        if old is None or dense_key != (old.recall.mode, old.dense, old.cache_dir):
            self._close_dense()
            if settings.recall.mode == "hybrid":
                from texcite.retrieval.dense import DenseStage
                from texcite.retrieval.hybrid import HybridScorer

                self.dense = DenseStage(settings.dense.model, settings.cache_dir,
                                        on_progress=self.events.dense_progress, on_error=self.events.dense_error,
                                        on_loaded=self.events.dense_loaded)
                self.scorer = HybridScorer(self.dense)
        if old is None or (settings.reranker, settings.vllm) != (old.reranker, old.vllm):
            if self.service is not None:
                self.service.close()
                self.service = None
            if resolve_backend(settings) != "none":
                from texcite.rerank.service import RerankService

                self.service = RerankService(partial(make_reranker, settings), self.events.rerank_state,
                                             instruction=settings.reranker.instruction)
                if settings.reranker.load_at_startup:
                    self.service.start()

    def open_workspace(self, workspace: str | None, env: dict[str, str] | None = None) -> None:
        """Serve documents of another folder (projects are discovered anew; models and caches stay)."""
        self.workspace, self.env = workspace, env
        self.projects = ProjectIndex(self.sources, self.matcher, workspace, self.settings.bib_files, env)

    def warm(self) -> None:
        """Start loading the models now, in the background (the server calls this when it starts)."""
        if self.dense is not None:
            self.dense.warm()
        if self.service is not None:
            self.service.start()

    def close(self) -> None:
        self._close_dense()
        if self.service is not None:
            self.service.close()

    def _close_dense(self) -> None:
        if self.dense is not None:
            self.dense.close()
            self.scorer.close()
        self.dense = self.scorer = None

    # -- what ranks --------------------------------------------------------------------------------------------
    def reranker_label(self) -> tuple[str, str, str]:
        """(backend, model, url) of the configured neural reranker; empty strings when there is none."""
        if self.service is None:
            return "", "", ""
        backend = resolve_backend(self.settings)
        url = self.settings.reranker.url if backend == "vllm-http" else ""
        return backend, self.settings.reranker.model, url

    def describe(self, hybrid: bool | None = None, reranked: bool | None = None) -> str:
        """What ranks (by default: everything configured), for people."""
        hybrid = self.dense is not None and not self.dense.error if hybrid is None else hybrid
        backend, model, url = self.reranker_label()
        if reranked is False or (self.service is not None and self.service.state == "fallback"):
            backend = ""
        return describe_ranking(hybrid, backend, model, url)

    # -- the pipeline ------------------------------------------------------------------------------------------
    def project(self, path: str) -> Project:
        return self.projects.project(path)

    def corpus(self, path: str) -> Corpus:
        """The corpus a .tex file cites from (parsing whatever changed since last time)."""
        return self.corpora.corpus(self.projects.project(path).bib_files)

    def is_indexed(self, path: str) -> bool:
        """Are the bib files of ``path``'s project parsed and unchanged (a request would not wait for parsing)?"""
        return all(self.store.is_fresh(p) for p in self.projects.project(path).bib_files)

    def wait_embeddings(self, corpus: Corpus) -> None:
        """Build (or load from cache) the corpus's embeddings and wait for them (CLI, eval)."""
        if self.dense is not None:
            future = self.dense.start(corpus.signature, corpus.entries)
            if future is not None:
                future.result()

    def key_evidence(self, path: str, text: str, request: Request, project: Project, sentence: str) -> KeyEvidence:
        """What the project's other citations say about each key, for this request (``retrieval.evidence``);
        ``sentence`` is the query's citing-sentence view."""
        path = os.path.normpath(os.path.abspath(path))
        files = []
        for tex in project.tex_files:
            if tex == path:
                files.append((tex, text, request.facts))
            else:
                found = self.projects.files.text_and_facts(tex)
                if found is not None:
                    files.append((tex, *found))
        if path not in {f[0] for f in files}:
            files.append((path, text, request.facts))
        cite = request.cite
        return self.evidence.evidence(files, path, request.offset, cite.command.start, cite.existing_keys,
                                      request.query.section_title, tokenize(sentence))

    def signals(self, path: str, text: str, request: Request, project: Project,
                corpus: Corpus) -> tuple[dict, KeyEvidence, str]:
        """Every signal of every entry for a request, the evidence behind them and the stage (hybrid once the
        corpus's embeddings exist, else bm25)."""
        views = request.query.views()
        dense = self.scorer.start(corpus, views) if self.scorer is not None else None
        evidence = self.key_evidence(path, text, request, project, views["sent"])
        signals = {**text_signals(corpus, views), **corpus.entry_signals, **mention_signals(corpus, views["sent"]),
                   **evidence_signals(corpus, evidence)}
        if dense is not None:
            signals.update(dense())
        return signals, evidence, "hybrid" if dense is not None else "bm25"

    def prepare(self, path: str, text: str, offset: int) -> Prepared | None:
        """Cite context, query, corpus, signals, fused scores and recall; None when the cursor is not in a
        citation key list."""
        request = build_request(text, offset, self.matcher, self.projects.facts(path, text))
        if request is None:
            return None
        project = self.projects.project(path)
        corpus = self.corpora.corpus(project.bib_files)
        if self.query_view != "default":  # one BM25 view alone: the baselines of `texcite eval --query`
            views = request.query.views()
            scores = corpus.bm25.scores(views["para" if self.query_view == "paragraph" else "sent"])
            return Prepared(request, corpus, recall(corpus, request, scores, "bm25", self.settings.recall.top_k), "bm25")
        signals, evidence, stage = self.signals(path, text, request, project, corpus)
        model = model_for(self.models, stage, len(corpus))
        inputs = model.inputs(signals) if len(corpus) else None
        scores = model.score_inputs(inputs) if inputs is not None else np.zeros(0, np.float32)
        candidates = recall(corpus, request, scores, stage, self.settings.recall.top_k)
        return Prepared(request, corpus, candidates, stage, signals, inputs, model, evidence)

    def rerank_inputs(self, prepared: Prepared) -> tuple[str, list[str]] | None:
        """The reranker's query (paragraph with the [CITATION] marker) and the documents of the top candidates;
        None when no neural reranker is configured or there is nothing to score."""
        if self.service is None or not prepared.candidates:
            return None
        head = prepared.candidates[: self.settings.reranker.top_k]
        return prepared.request.query.marked, [c.entry.document for c in head]

    def finish(self, prepared: Prepared, scores: Sequence[float] | None) -> Result:
        """Order the candidates with the reranker's scores (None: recall order)."""
        backend = self.reranker_label()[0] if scores is not None else ""
        stage = f"rerank:{backend}" if backend else prepared.recall_stage
        fallback = ""
        if self.service is not None and self.service.state == "fallback":
            fallback = self.service.failure
        elif self.dense is not None and self.dense.error:
            fallback = f"{self.dense.error} — using BM25 order."
        query = prepared.request.query.marked if backend else prepared.request.query.text
        return Result(
            request=prepared.request,
            suggestions=self._suggestions(prepared, scores, stage),
            query=query,
            ranking=self.describe(hybrid=prepared.recall_stage == "hybrid", reranked=bool(backend)),
            fallback_message=fallback,
            corpus_size=len(prepared.corpus),
        )

    def _suggestions(self, prepared: Prepared, rerank_scores: Sequence[float] | None, stage: str) -> list[Suggestion]:
        """The ranked list with each item's relevance and, for the items a list shows, why it ranked."""
        ranked = order(prepared.candidates, rerank_scores, stage, self.settings.reranker.weight)
        rel = relevance(np.array([row[1] for row in ranked]))
        model = prepared.model
        explained = min(EXPLAINED, self.settings.completion.max_items)
        paragraph = prepared.request.query.paragraph

        @cache
        def query_words() -> dict[str, str]:
            """token -> the paragraph's word it came from (for "title matches 'word'")."""
            out: dict[str, str] = {}
            for word in paragraph.split():
                for token in tokenize(word):
                    out.setdefault(token, word.strip(".,;:()[]{}'\"").lower())
            return out

        section = prepared.request.query.section_title
        reranker = self.settings.reranker.model.rsplit("/", 1)[-1]
        explained = min(explained, len(ranked)) if model is not None and prepared.inputs is not None else 0
        lifts = model.contributions(prepared.inputs, [c.row for c, *_ in ranked[:explained]]) if explained else []
        out = []
        for i, (c, score, st, rerank_score) in enumerate(ranked):
            why: tuple[str, ...] = ()
            if i < explained:
                lift = lifts[i]
                if rerank_score is not None:
                    lift["reranker"] = score - c.recall_score
                why = reasons(c.entry, lift, prepared.evidence, query_words, section, reranker)
            out.append(Suggestion(c.entry, i + 1, float(score), st, c.recall_score, int(rel[i]), why, rerank_score))
        return out

    def rank_documents(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]:
        """Scores (higher is better) of free-text candidates for a free-text query, by what ranks here: the neural
        reranker when one is configured and working, else the fused BM25 and MiniLM signals (there is no project,
        so no citation evidence). A new ``instruction`` for the reranker reloads it. Blocking (CLI, web page)."""
        if not documents:
            return []
        if self.service is not None and instruction and instruction != self.settings.reranker.instruction:
            self.configure(self.settings.replace(reranker_instruction=instruction))
        if self.service is not None:
            scores = self.service.scores_blocking(query, list(documents))
            if scores is not None:
                return scores
        entries = [Entry(f"candidate{i + 1}", "misc", {"title": d}, "", i) for i, d in enumerate(documents)]
        corpus = Corpus([BibFile("<candidates>", str(hash(tuple(documents))), entries)])
        views = {**{view: query for view in BM25_VIEWS.values()}, "sect": ""}
        signals = {**text_signals(corpus, views), **mention_signals(corpus, query)}
        stage = "bm25"
        if self.dense is not None and not self.dense.error:
            vectors = self.dense.embed_queries([query, *documents])
            similarity = vectors[1:] @ vectors[0]
            signals.update(dense_signals({"doc": similarity, "title": similarity}))
            signals.update(dense_signals({"doc": similarity, "title": similarity}, "dense_sent"))
            stage = "hybrid"
        return model_for(self.models, stage, len(documents)).score(signals).tolist()

    def suggest(self, path: str, text: str, offset: int) -> Result | None:
        """The whole pipeline in the calling thread (CLI, eval): waits for the embeddings and the reranker."""
        self.wait_embeddings(self.corpus(path))
        prepared = self.prepare(path, text, offset)
        if prepared is None:
            return None
        inputs = self.rerank_inputs(prepared)
        scores = self.service.scores_blocking(*inputs) if inputs is not None else None
        return self.finish(prepared, scores)

    async def suggest_async(self, path: str, text: str, offset: int, deadline_s: float) -> Result | None:
        """The same pipeline for the server: recall in a worker thread, the reranker for at most ``deadline_s``
        (recall order past it, while its scores are computed for the next request)."""
        prepared = await asyncio.to_thread(self.prepare, path, text, offset)
        if prepared is None:
            return None
        inputs = self.rerank_inputs(prepared)
        scores = await self.service.scores(*inputs, deadline_s, source=path) if inputs is not None else None
        return self.finish(prepared, scores)
