"""The ranking engine: (file, text, cursor) -> ranked suggestions. It owns what ranks — the project index, the bib
store and corpora, the writer's library (``library``), the dense stages (one per encoder the documents' languages
call for: ``retrieval.embeddings.by_language``) and the neural reranker service — adopts settings by rebuilding only
what changed, and runs the pipeline: request (``ranking``) → corpus → language (``latex.language``) → signals
(``retrieval.signals``, the dense ones from ``retrieval.embeddings.hybrid``) → fusion (``retrieval.fusion``) →
shortlist, library candidates (``library.candidates``) and reranker join (``retrieval.select``) → reasons
(``retrieval.explain``).

``prepare`` does the blocking part and ``finish`` orders by the fused scores, with the reranker's joined in where
they are at hand. ``suggest`` (CLI, eval) waits for everything; ``suggest_async`` (the server) runs the shortlist in
a worker thread and the reranker under a deadline. Callers reach the components only through the methods below.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Future, wait
from functools import partial
from typing import TYPE_CHECKING, Sequence

import numpy as np

from texcite.bib.diskcache import cache_dir
from texcite.bib.model import BibFile, LibraryRef
from texcite.bib.store import BibStore
from texcite.files import Sources
from texcite.latex.cite import CiteContext, CiteMatcher
from texcite.latex.facts import FileFacts
from texcite.latex.graph import Project
from texcite.latex.language import UNKNOWN, ProjectLanguages
from texcite.latex.project import ProjectIndex
from texcite.engine_events import EngineEvents
from texcite.library.addition import Addition, addition
from texcite.library.candidates import with_library
from texcite.library.index import LibraryIndex
from texcite.lessons import ProjectAdaptations
from texcite.ranking import Prepared, Request, Result, Scored, Suggestion, build_request
from texcite.rerank.factory import make_reranker, resolve_backend
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries, tokenize
from texcite.retrieval.corpus import Corpora, Corpus
from texcite.retrieval.evidence import EvidenceIndex
from texcite.retrieval.explain import explain
from texcite.retrieval.fusion import load_models, model_for, relevance
from texcite.retrieval.select import join, shortlist
from texcite.retrieval.signals import request_signals, topic_signals
from texcite.settings import Settings
from texcite.runtime import public_url
from texcite.stages import Stages

if TYPE_CHECKING:
    from texcite.rerank.service import RerankService
    from texcite.retrieval.embeddings.by_language import DenseEncoders

log = logging.getLogger(__name__)

EXPLAINED = 12  # the items of a list that get reasons: about what a completion popup shows without scrolling
QUERY_VIEWS = ("default", "paragraph", "sentence")  # BM25 query: the server's, or one view alone (eval)


class Engine:
    """Owns everything that ranks. ``configure`` rebuilds only the components whose settings changed."""

    def __init__(self, settings: Settings | None = None, sources: Sources | None = None, workspace: str | None = None,
                 env: dict[str, str] | None = None, events: EngineEvents | None = None,
                 query_view: str = "default") -> None:
        self.events = events or EngineEvents()
        self.sources = sources or Sources()
        self.workspace, self.env = workspace, env
        self.query_view = query_view
        settings = settings or Settings()
        self.store = BibStore(analyze_entries, on_parsed=self.events.bib_parsed,
                              cache_directory=cache_dir(settings.cache_dir), tokens_version=TOKENS_VERSION)
        self.store.refuse = self.sources.refusal  # a .bib the client may not read is indexed as refused
        self.corpora = Corpora(self.store)
        self.library = LibraryIndex(analyze_entries, cache_dir(settings.cache_dir), TOKENS_VERSION,
                                    self.sources.refusal, self.events.library_indexed, self.events.library_progress)
        self.evidence = EvidenceIndex()
        self.adaptations = ProjectAdaptations(self)  # what each project's own citations teach (``lessons``)
        self.models = load_models()
        self.dense: DenseEncoders | None = None  # when recall is hybrid: a dense stage per encoder in use
        self.encoder = ""  # the encoder of the latest document ranked or opened (what ``stages`` describes)
        self.languages = ProjectLanguages()
        self.service: RerankService | None = None  # when a neural reranker is configured
        self.backend = "none"  # the reranker backend in use (``auto`` resolved)
        self.matcher = CiteMatcher(settings.cite_commands)  # the citation commands understood (``citeCommands`` too)
        self.projects = ProjectIndex(self.sources, self.matcher, workspace, settings.bib_files, env)
        self.settings = settings
        self._adopt(settings, None)

    # -- configuration -----------------------------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Adopt settings: components whose settings are unchanged keep running (a section's equality is its key)."""
        old, self.settings = self.settings, settings
        self._adopt(settings, old)

    def _adopt(self, settings: Settings, old: Settings | None) -> None:
        if old is not None and settings.cite_commands != old.cite_commands:
            self.matcher = CiteMatcher(settings.cite_commands)
        if old is not None and (settings.cite_commands, settings.bib_files) != (old.cite_commands, old.bib_files):
            self.projects = ProjectIndex(self.sources, self.matcher, self.workspace, settings.bib_files, self.env)
        self.store.cache.directory = self.library.store.cache.directory = cache_dir(settings.cache_dir)
        self.library.configure(settings.library.files, self.workspace)
        self.sources.max_bytes = settings.files.max_tex_size << 20
        if self.store.parser.max_bytes != settings.files.max_bib_size << 20:
            self.store.parser.max_bytes = settings.files.max_bib_size << 20
            self.store.invalidate_all()  # a file refused (or read) under the old cap is read again
        dense_key = (settings.recall.mode, settings.dense, settings.cache_dir)
        if old is None or dense_key != (old.recall.mode, old.dense, old.cache_dir):
            self._close_dense()
            if settings.recall.mode == "hybrid":
                from texcite.retrieval.embeddings.by_language import DenseEncoders

                self.dense = DenseEncoders(settings.dense.model, settings.cache_dir, self.events.dense_progress,
                                           self.events.dense_error, self.events.dense_loaded)
                self.encoder = self.dense.encoder(UNKNOWN)
            dense = self.dense
            self.library.embed_with(None if dense is None else lambda encoder: dense.stage(encoder).embedder,
                                    self.encoder if dense is not None else "", settings.cache_dir)
        if old is None or (settings.reranker, settings.vllm) != (old.reranker, old.vllm):
            if self.service is not None:
                self.service.close()
                self.service = None
            # What ``auto`` stands for is found once per reranker configuration, not on every request.
            self.backend = resolve_backend(settings)
            if self.backend != "none":
                from texcite.rerank.service import RerankService

                self.service = RerankService(partial(make_reranker, settings), self.events.rerank_state,
                                             self.events.rerank_outage, instruction=settings.reranker.instruction)
                if settings.reranker.load_at_startup:
                    self.service.start()

    def open_workspace(self, workspace: str | None, env: dict[str, str] | None = None) -> None:
        """Serve documents of another folder (projects are discovered anew; models and caches stay)."""
        self.workspace, self.env = workspace, env
        self.projects = ProjectIndex(self.sources, self.matcher, workspace, self.settings.bib_files, env)
        self.library.configure(self.settings.library.files, workspace)

    def warm(self) -> None:
        """Load the models and index the library now, in the background (the server, as it starts; the CLI waits)."""
        self.library.warm()
        if self.dense is not None:
            self.dense.stage(self.dense.encoder(UNKNOWN)).warm()
        if self.service is not None:
            self.service.start()

    def load_dense(self, timeout_s: float | None = None) -> None:
        """Load the dense model now and wait for it (``stages()`` then says whether it works)."""
        if self.dense is not None:
            self.dense.stage(self.encoder).warm().result(timeout=timeout_s)

    def close(self, wait: bool = False) -> None:
        """Stop background work, release the models; ``wait``: until the reranker has shut down (a process exiting)."""
        self._close_dense()
        self.library.close()
        self.adaptations.close()
        if self.service is not None:
            self.service.close(wait)

    def _close_dense(self) -> None:
        if self.dense is not None:
            self.dense.close()
        self.dense = None

    # -- what ranks --------------------------------------------------------------------------------------------
    def stages(self, encoder: str = "") -> Stages:
        """The stages configured and their states, now; the dense model ``encoder``'s (default: the latest one's)."""
        stage = self.dense.stage(encoder or self.encoder) if self.dense is not None else None
        dense = "off" if stage is None else "failed" if stage.error else "on"
        error, name = (stage.error, stage.name) if stage is not None else ("", "")
        if self.service is None:
            return Stages(self.settings.recall.mode, dense, error, name)
        url = public_url(self.settings.reranker.url) if self.backend == "vllm-http" else ""
        state = self.service.state
        return Stages(self.settings.recall.mode, dense, error, name, state, self.backend, self.settings.reranker.model,
                      url, self.service.failure if state == "fallback" else "")

    # -- documents and bibliographies --------------------------------------------------------------------------
    def project(self, path: str) -> Project:
        return self.projects.project(path)

    def facts(self, path: str, text: str) -> FileFacts:
        """The LaTeX facts of a file's text (cites, includes, bibliographies, sections), kept per version."""
        return self.projects.facts(path, text)

    def cite_at(self, path: str, text: str, offset: int) -> CiteContext | None:
        """The citation key list at ``offset``, or None outside one (or inside a verbatim environment)."""
        self.projects.project(path)  # the citation commands the project defines (multibib's) are learnt first
        return self.matcher.context_at(text, offset, self.projects.facts(path, text).in_verbatim)

    def corpus(self, path: str) -> Corpus:
        """The corpus a .tex file cites from, its chapter's under chapterbib (parsing what changed since)."""
        return self.corpora.corpus(self.projects.project(path).bibs_for(path))

    def is_indexed(self, path: str) -> bool:
        """Are the bib files of ``path``'s project parsed and unchanged (a request would not wait for parsing)?"""
        return all(self.store.is_fresh(p) for p in self.projects.project(path).bibs_for(path))

    def set_bib_buffer(self, path: str, text: str | None) -> None:
        """A .bib's text as an editor holds it (None: closed, the file on disk counts again)."""
        self.store.set_buffer(path, text)

    def parse_bib(self, path: str) -> BibFile:
        """Parse a .bib now (whatever changed since last time)."""
        return self.store.get(path)

    def forget_bib(self, path: str) -> None:
        """A .bib no longer used (the web page's earlier uploads): its parse and the corpora holding it go."""
        self.store.forget(path)
        self.corpora.forget(path)

    def bib_changed(self, path: str) -> None:
        """A .bib changed on disk: read it again when next needed."""
        self.store.invalidate(path)

    def language(self, path: str, text: str | None = None) -> str:
        """The language of ``path``'s document (``latex.language``), with ``text`` as ``path``'s text if given."""
        files = self.projects.files_of(path, text)
        return self.languages.language(self.projects.project(path).root, [(f[0], f[1]) for f in files])

    def encoder_of(self, path: str) -> str:
        """The encoder that embeds ``path``'s document ('' when recall is bm25); ``stages(encoder)`` describes it."""
        return self.dense.encoder(self.language(path)) if self.dense is not None else ""

    @property
    def dense_note(self) -> str:
        """Why ``auto`` ranks a document with MiniLM although its language is USE's (USE is not installed), or ''."""
        return self.dense.note if self.dense is not None else ""

    def start_embedding(self, path: str, text: str | None = None) -> Future | None:
        """Begin embedding the entries of ``path``'s corpus in the background (hybrid recall) with the encoder of
        its document's language (``text``: ``path``'s text, if not the file's), unless done or under way."""
        if self.dense is None:
            return None
        corpus = self.corpus(path)
        self.encoder = self.dense.encoder(self.language(path, text))
        return self.dense.stage(self.encoder).start(corpus.signature, corpus.entries)

    def wait_embeddings(self, path: str, text: str | None = None) -> None:
        """Build (or load from cache) the embeddings of ``path``'s corpus and wait for them (CLI, eval)."""
        future = self.start_embedding(path, text)
        if future is not None:
            future.result()

    def library_addition(self, path: str, ref: LibraryRef, key: str) -> Addition | None:
        """What accepting library entry ``ref`` as ``key`` in ``path`` adds, where (None: no longer in the library)."""
        entry = self.library.entry(ref)
        return None if entry is None else addition(self.projects.project(path), path, entry, key,
                                                   self.settings.library.target_bib, self.workspace)

    def library_entry(self, key: str) -> LibraryRef | None:
        """Where the writer's library holds ``key`` (None: nowhere, or it is not indexed yet); never waits."""
        return self.library.ref(key)

    def wait_library(self) -> int:
        """Index (and embed, with hybrid recall) the writer's library now: its number of entries (CLI, eval)."""
        return len(self.library.wait(self.encoder if self.dense is not None else "") or ())

    def library_lost(self) -> dict[str, str]:
        """Per library file read, what of it was lost as of the latest index (``library.index.lost_entries``)."""
        return dict(self.library.lost)

    # -- free text (the web page's Rerank tab) -------------------------------------------------------------------
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray | None:
        """Unit vectors of texts by the dense model; None when hybrid recall is off or its model failed."""
        if self.dense is None or self.dense.stage(self.encoder).error:
            return None
        return self.dense.stage(self.encoder).embed_queries(list(texts))

    def rerank_blocking(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float] | None:
        """The neural reranker's scores for free-text documents, with ``instruction`` if given (else the
        configured one); None when no reranker is configured or it is failing. Blocking."""
        if self.service is None:
            return None
        return self.service.scores_blocking(query, list(documents), instruction=instruction)

    # -- the pipeline ------------------------------------------------------------------------------------------
    def prepare(self, path: str, text: str, offset: int, dense_wait_s: float = 0.0) -> Prepared | None:
        """Request, corpus, signals, fused scores and the shortlist; None when the cursor is not in a citation key
        list. While the corpus's embeddings are being built, waits up to ``dense_wait_s`` for them."""
        project = self.projects.project(path)  # (the citation commands it defines are learnt first)
        request = build_request(text, offset, self.matcher, self.projects.facts(path, text))
        if request is None:
            return None
        corpus = self.corpora.corpus(project.bibs_for(path))
        cite, top_k = request.cite, self.settings.recall.top_k
        views = request.query.views()
        if self.query_view != "default":  # one BM25 view alone: the baselines of `texcite eval --query`
            scores = corpus.bm25.scores(views["para" if self.query_view == "paragraph" else "sent"])
            return Prepared(request, corpus, shortlist(corpus.entries, corpus.typed, scores, "bm25", top_k,
                                                       cite.prefix, cite.existing_keys), "bm25")
        files = self.projects.files_of(path, text)
        scored = self.score(path, request, project, corpus, files, dense_wait_s)
        signals, stage, model, inputs, scores = scored.signals, scored.stage, scored.model, scored.inputs, scored.scores
        adaptation = self.adaptations.current(project, corpus, stage, scored.encoder, model)
        correction = None
        if adaptation is not None:  # what the project's own citations teach (``lessons``)
            fold = self.adaptations.fold(project, path, text, cite.command.start)
            correction = adaptation.correct(signals, scores, fold, cite.adding)
            scores = scores + correction.delta()
        # After the works: uncited entries serving others (crossref'd, @xdata, @set), another multibib bibliography's.
        helpers = corpus.helpers & (signals["uncited"] > 0) | corpus.outside(project.scope(cite.command.name))
        candidates = shortlist(corpus.entries, corpus.typed, scores, stage, top_k, cite.prefix, cite.existing_keys,
                               helpers)
        # The writer's library joins (``library.candidates``), its titles embedded by this document's encoder.
        candidates, inputs, shift = with_library(self.library, corpus, views, cite, model, stage, scored.stats,
                                                 candidates, inputs, top_k, scored.dense, scored.encoder, correction)
        return Prepared(request, corpus, candidates, stage, scored.encoder, signals, inputs, model, scored.evidence,
                        adaptation, shift, correction)

    def score(self, path: str, request: Request, project: Project, corpus: Corpus,
              files: list[tuple[str, str, FileFacts]], dense_wait_s: float = 0.0) -> Scored:
        """Every signal of every entry for ``request`` (the project's files being ``files``), and the shipped
        model's scores."""
        views = request.query.views()
        encoder, dense = "", None
        if self.dense is not None:
            language = self.languages.language(project.root, [(f[0], f[1]) for f in files])  # files read once
            encoder = self.encoder = self.dense.encoder(language)
            if dense_wait_s > 0:
                # On an ordinary bibliography the project's first completion then comes in the final order.
                future = self.dense.stage(encoder).start_awaited(corpus.signature, corpus.entries)
                if future is not None:
                    wait([future], timeout=dense_wait_s)
            dense = self.dense.scorer(encoder).start(corpus, views)
        cite = request.cite  # what the project's other citations say about each key (``retrieval.evidence``)
        evidence = self.evidence.evidence(files, os.path.normpath(os.path.abspath(path)), request.offset,
                                          cite.command.start, cite.existing_keys, request.query.section_title,
                                          tokenize(views["sent"]))
        stats: dict[str, tuple[float, float]] = {}
        signals = request_signals(corpus, views, evidence, stats)
        if dense is not None:
            signals.update(topic_signals(dense.index.vectors, corpus.position, evidence.anchors, evidence.previous))
            signals.update(dense.signals(stats))
        stage = "hybrid" if dense is not None else "bm25"
        model = model_for(self.models, stage, len(corpus))
        inputs = model.inputs(signals) if len(corpus) else None
        scores = model.score_inputs(inputs) if inputs is not None else np.zeros(0, np.float32)
        return Scored(signals, stats, stage, encoder, model, inputs, scores, dense, evidence)

    def rerank_inputs(self, prepared: Prepared) -> tuple[str, list[str]] | None:
        """The reranker's query (paragraph with the [CITATION] marker) and the documents of the top candidates;
        None when no neural reranker is configured or there is nothing to score."""
        if self.service is None or not prepared.candidates:
            return None
        head = prepared.candidates[: self.settings.reranker.top_k]
        return prepared.request.query.marked, [c.entry.document for c in head]

    def finish(self, prepared: Prepared, scores: Sequence[float] | None) -> Result:
        """Order the candidates with the reranker's scores (None: shortlist order), with relevance and reasons."""
        stages = self.stages(prepared.encoder)
        backend = stages.reranker_backend if scores is not None else ""
        stage = f"rerank:{backend}" if backend else prepared.stage
        fallback = stages.reranker_error if stages.reranker == "fallback" else \
            f"{stages.dense_error} — using BM25 order." if stages.dense_error else ""
        query = prepared.request.query
        ranked = join(prepared.candidates, scores, stage, self.settings.reranker.weight)
        rel = relevance(np.array([r.score for r in ranked]))
        adapted = prepared.correction.lifts if prepared.correction is not None else None
        why = explain(ranked, min(EXPLAINED, self.settings.completion.max_items), prepared.model, prepared.inputs,
                      prepared.evidence, query.paragraph, query.section_title,
                      self.settings.reranker.model.rsplit("/", 1)[-1], adapted)
        suggestions = [Suggestion(r.candidate.entry, i + 1, float(r.score), r.stage, r.candidate.fused_score,
                                  int(rel[i]), why[i] if i < len(why) else (), r.rerank_score, r.candidate.library)
                       for i, r in enumerate(ranked)]
        return Result(request=prepared.request, suggestions=suggestions,
                      query=query.marked if backend else query.text,
                      ranking=stages.text(hybrid=prepared.stage == "hybrid", reranked=bool(backend))
                      + (f", adapted to this project ({a.lessons} citations)" if (a := prepared.adaptation) else ""),
                      fallback_message=fallback, corpus_size=len(prepared.corpus),
                      library_offset=prepared.library_offset)

    def suggest(self, path: str, text: str, offset: int) -> Result | None:
        """The whole pipeline in the calling thread (CLI, eval): waits for all it uses (``lessons`` included)."""
        self.wait_embeddings(path, text)
        self.wait_library()
        prepared = self.prepare(path, text, offset)
        if prepared is None:
            return None
        if prepared.model is not None and self.adaptations.wait(self.project(path), prepared.corpus, prepared.stage,
                                                                prepared.encoder, prepared.model) is not prepared.adaptation:
            prepared = self.prepare(path, text, offset) or prepared  # ranked again, as the project teaches
        inputs = self.rerank_inputs(prepared)
        scores = self.service.scores_blocking(*inputs) if self.service is not None and inputs is not None else None
        return self.finish(prepared, scores)

    async def suggest_async(self, path: str, text: str, offset: int, deadline_s: float) -> Result | None:
        """The same pipeline for the server: the shortlist in a worker thread, the reranker for at most
        ``deadline_s`` (shortlist order past it, while its scores are computed for the next request)."""
        prepared = await asyncio.to_thread(self.prepare, path, text, offset,
                                           self.settings.completion.dense_wait_ms / 1000.0)
        if prepared is None:
            return None
        inputs = self.rerank_inputs(prepared)
        scores = None
        if self.service is not None and inputs is not None:
            scores = await self.service.scores(*inputs, deadline_s, source=path)
        return self.finish(prepared, scores)
