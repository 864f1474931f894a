"""The page's handle on the one pipeline: an ``Engine`` per ranking stage — BM25, the hybrid, the configured neural
reranker — built once for the app's life (a model loads once), sharing one view of the files
(``sources.ProjectSources``), used by one request at a time.

A request is a ``Spot`` (a text, a cursor in a citation's key list, the project file the text is) and a
bibliography: the project's own, or one uploaded ``.bib`` instead (then the text is ranked in a private empty
folder, so only the upload is indexed). Each stage's engine answers through ``Engine.suggest``, exactly as the CLI,
once the bibliography's embeddings exist (they are awaited without holding the engines). An evaluation has engines
of its own (``evaluate``).
"""

from __future__ import annotations

import os
import tempfile
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from texcite.bib.model import BibFile, Diagnostic, Entry
from texcite.engine import Engine
from texcite.engine_events import EngineEvents
from texcite.files import inside
from texcite.latex.cite import CiteMatcher
from texcite.latex.query import MARKER
from texcite.latex.scan import keys_in
from texcite.ranking import Result
from texcite.rerank.factory import resolve_backend
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.fusion import model_for
from texcite.retrieval.signals import BM25_VIEWS, dense_signals, mention_signals, text_signals
from texcite.settings import Settings
from texcite.web.safety import outside

if TYPE_CHECKING:
    from texcite.evaluation.examples import ExampleSources

PASTED = "(pasted text).tex"  # the name a pasted paragraph is ranked under (never read from disk)
MAX_EMBEDDING_WAITS = 2  # requests waiting at once for a bibliography's embeddings (an upload's: minutes)
MAX_UPLOADS_KEPT = 2  # uploads whose parse and index stay in memory (the latest ones); older ones are parsed again
PROGRESS_EVERY_S = 0.5  # how often a waiting request reports the embedding's progress


def stage_settings(settings: Settings) -> dict[str, Settings]:
    """The settings of each stage the configuration has, in pipeline order: BM25 alone; the hybrid when recall is
    hybrid; the configured neural reranker when there is one (the last is what the server ranks with). The page's
    visitors' lists leave out the memory of the citations accepted on the machine serving it (``memory``)."""
    settings = settings.replace(recall_remember=False)
    stages = {"bm25": settings.replace(recall_mode="bm25", reranker_backend="none")}
    if settings.recall.mode == "hybrid":
        stages["hybrid"] = settings.replace(reranker_backend="none")
    if resolve_backend(settings) != "none":
        stages["reranker"] = settings
    return stages


def rank_documents(engine: Engine, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]:
    """Scores (higher is better) of free-text candidates for a free-text query, by what ranks in ``engine``: the
    neural reranker when one is configured and working (with ``instruction``, else its configured one), else the
    fused BM25 and MiniLM signals (there is no project, so no citation evidence). Blocking."""
    if not documents:
        return []
    scores = engine.rerank_blocking(query, documents, instruction)
    if scores is not None:
        return scores
    entries = [Entry(f"candidate{i + 1}", "misc", {"title": d}, "", i) for i, d in enumerate(documents)]
    corpus = Corpus([BibFile("<candidates>", str(hash(tuple(documents))), entries)])
    views = {**{view: query for view in BM25_VIEWS.values()}, "sect": ""}
    signals = {**text_signals(corpus, views), **mention_signals(corpus, query)}
    stage = "bm25"
    vectors = engine.embed_texts([query, *documents])
    if vectors is not None:
        similarity = vectors[1:] @ vectors[0]
        signals["dense"] = signals["dense_sent"] = dense_signals(similarity)
        stage = "hybrid"
    return model_for(engine.models, stage, len(documents)).score(signals).tolist()


@dataclass(frozen=True)
class Spot:
    """Where to rank: the text, the cursor inside a citation's key list, the project file the text is (None:
    pasted text) and the keys the citation held before it was emptied (to mark them in the results)."""

    text: str
    offset: int
    file: str | None = None
    cited: tuple[str, ...] = ()


def make_spot(text: str, cursor: int, file: str | None, as_if_empty: bool, matcher: CiteMatcher) -> Spot | None:
    """The spot for a text: its first ``[CITATION]`` marker (which becomes ``\\cite{}``), else the cursor (a
    character offset, -1 for none). With ``as_if_empty`` a citation's keys are removed from the key list under the
    cursor, so the ranking is the one its author saw before choosing them. None: no marker and no cursor."""
    if MARKER in text:
        at = text.index(MARKER)
        return Spot(text[:at] + "\\cite{}" + text[at + len(MARKER):], at + len("\\cite{"), file)
    if not 0 <= cursor <= len(text):
        return None
    context = matcher.context_at(text, cursor)
    if not as_if_empty or context is None or context.group is None:
        return Spot(text, cursor, file)
    group = context.group
    cited = tuple(m.group(0) for m in keys_in(text, group.start, group.end))
    return Spot(text[:group.start] + text[group.end:], group.start, file, cited)


@dataclass
class Ranked:
    """One stage's answer: what ranked, the engine's result (None: the spot is not in a key list), how many
    entries were ranked and the bibliographies' problems as lines for people."""

    stage: str
    label: str
    result: Result | None
    entries: int
    bib_names: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# (fraction done, what is being done) while a request waits; gradio's ``gr.Progress`` is one.
OnProgress = Callable[..., None]


class _DenseProgress(EngineEvents):
    """The last (done, total) the dense stage reported for each corpus it embeds (called from its worker)."""

    def __init__(self) -> None:
        self.reports: dict[tuple, tuple[int, int]] = {}

    def dense_progress(self, signature: tuple, done: int, total: int) -> None:
        self.reports[signature] = (done, total)


class Rankers:
    """The stages' engines over one project folder (or none), reading .tex text from ``sources`` (whose ``texts``
    the page sets to the document it ranks). One engine serves one request at a time (a lock), for short steps
    only: a bibliography's embeddings are awaited outside the lock (at most ``MAX_EMBEDDING_WAITS`` requests at
    once), so a visitor's upload being embedded never holds up another visitor's Suggest. ``close`` stops the
    engines' model workers."""

    def __init__(self, project: str | None, settings: Settings, sources: "ExampleSources") -> None:
        self.project = project
        self.settings = settings
        self.matcher = CiteMatcher(settings.cite_commands)
        self.sources = sources
        self._scratch = tempfile.TemporaryDirectory(prefix="texcite-web-")
        self.stage_settings = stage_settings(settings)
        self._progress = {name: _DenseProgress() for name in self.stage_settings}
        self.engines = {name: Engine(s, sources, workspace=project or self._scratch.name, env=self._env(None),
                                     events=self._progress[name])
                        for name, s in self.stage_settings.items()}
        self._scope: dict[str, tuple] = {name: (project or self._scratch.name, None) for name in self.engines}
        self._lock = threading.Lock()
        self._waits = threading.BoundedSemaphore(MAX_EMBEDDING_WAITS)
        self._uploads: list[str] = []  # the uploads ranked lately, the latest last

    @property
    def configured(self) -> str:
        """The stage the server would rank with (the last of the pipeline)."""
        return list(self.engines)[-1]

    def label(self, stage: str) -> str:
        return self.engines[stage].stages().text()

    def warm(self) -> None:
        """Start loading the models now, in the background."""
        for engine in self.engines.values():
            engine.warm()

    def close(self) -> None:
        """Stop the engines as the process exits: each waits until its reranker's engine has shut down, so no
        model thread outlives the interpreter (which aborts it: "terminate called without an active exception")."""
        for engine in self.engines.values():
            engine.close(wait=True)
        self._scratch.cleanup()

    # -- ranking ---------------------------------------------------------------------------------------------------
    def rank(self, spot: Spot, upload: str | None, stages: Sequence[str] | None = None,
             progress: OnProgress | None = None) -> list[Ranked]:
        """Each stage's ranking of ``spot`` against the project's bibliographies, or ``upload`` instead;
        ``progress`` hears how the indexing and embedding go."""
        return [self._rank(stage, spot, upload, progress) for stage in (stages or [self.configured])]

    def rerank(self, query: str, documents: Sequence[str], instruction: str | None = None) -> tuple[list[float], str]:
        """Scores of free-text candidates by the configured ranker, and what ranked them. ``instruction``: one for
        the neural reranker other than the configured one (None: the configured one)."""
        with self._lock:
            engine = self.engines[self.configured]
            return rank_documents(engine, query, documents, instruction), engine.stages().text()

    def _env(self, upload: str | None) -> dict[str, str]:
        # A name a document gives is looked up beside it and at the top of the project folder (as `texcite eval`
        # does), never in the process's BIBINPUTS; an uploaded .bib is ranked alone.
        return {"BIBINPUTS": self.project} if self.project and upload is None else {}

    def _use(self, stage: str, upload: str | None) -> str:
        """Point the stage's engine at the project, or at the private folder with ``upload``; its workspace."""
        workspace = self.project if self.project and upload is None else self._scratch.name
        if upload is not None:
            self._keep(upload)
        if self._scope[stage] != (workspace, upload):
            engine = self.engines[stage]
            engine.open_workspace(workspace, self._env(upload))
            engine.configure(self.stage_settings[stage].replace(bib_files=(upload,) if upload else ()))
            self._scope[stage] = (workspace, upload)
        return workspace

    def _keep(self, upload: str) -> None:
        """``upload`` is the latest; the engines forget the uploads before the last MAX_UPLOADS_KEPT (memory
        stays bounded however many visitors upload)."""
        if upload in self._uploads:
            self._uploads.remove(upload)
        self._uploads.append(upload)
        while len(self._uploads) > MAX_UPLOADS_KEPT:
            old = self._uploads.pop(0)
            for engine in self.engines.values():
                engine.forget_bib(old)

    def _rank(self, stage: str, spot: Spot, upload: str | None, progress: OnProgress | None) -> Ranked:
        engine = self.engines[stage]
        while True:
            with self._lock:
                workspace = self._use(stage, upload)
                path = spot.file if spot.file and upload is None else os.path.join(workspace, PASTED)
                self.sources.texts = {path: spot.text}
                project = engine.project(path)
                refused = outside(self.project, project.bib_files, [upload] if upload else [])
                for bib in refused:
                    engine.set_bib_buffer(bib, "")  # indexed as empty: never read from disk
                if progress is not None and not engine.is_indexed(path):
                    progress(0.0, desc=f"{self.label(stage)}: indexing the bibliography")
                corpus = engine.corpus(path)
                embedding = engine.start_embedding(path)
                if embedding is None:  # embedded (or nothing to embed): ranking is a short step
                    result = engine.suggest(path, spot.text, spot.offset)
                    break
            self._await(stage, corpus, embedding, progress)
        problems = [f"{self._shown(bib)}: outside the project folder; not read." for bib in refused]
        if upload is None:
            problems += [f"{self._shown(ref.source)}:{ref.line + 1}: bibliography '{ref.name}' not found."
                         for ref in project.references if ref.path is None]
        diagnostics: list[Diagnostic] = [d for f in corpus.files for d in f.diagnostics] + list(corpus.merge_problems)
        problems += [f"{self._shown(d.path)}:{d.line + 1}: {d.message}" for d in diagnostics]
        problems += [f"library {library}: {what}" for library, what in engine.library_lost().items()]
        names = [self._shown(f.path) for f in corpus.files if f.path not in refused]
        return Ranked(stage, engine.stages().text(), result, len(corpus), names, problems)

    def _await(self, stage: str, corpus: Corpus, embedding: Future, progress: OnProgress | None) -> None:
        """Wait, without the lock, until ``corpus``'s embeddings are built (or their build gave way to another
        corpus's: the caller starts it again, and the vectors embedded so far are kept)."""
        with self._waits:
            while True:
                try:
                    embedding.result(timeout=PROGRESS_EVERY_S)
                    return
                except FutureTimeout:
                    done, total = self._progress[stage].reports.get(corpus.signature, (0, len(corpus)))
                    if progress is not None:
                        progress(done / max(total, 1), desc=f"{self.label(stage)}: embedding entry {done:,} of "
                                                            f"{total:,}")

    def _shown(self, path: str) -> str:
        """A file as the page names it: relative to the project folder, else its base name (an upload)."""
        if self.project and inside(path, self.project):
            return os.path.relpath(path, self.project).replace(os.sep, "/")
        return os.path.basename(path)
