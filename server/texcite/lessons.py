"""What the open project teaches the ranking: each resolvable citation of the project as saved on disk becomes a
lesson (its command emptied as for a probe of `texcite eval`: ``latex.emptied``; ranked by the engine's pipeline with
the shipped model: ``retrieval.adaptation.lesson``), and so does each key of a multi-key command, the others kept (a
lesson of adding a key, as `texcite eval --add-one` probes), and each citation the writer accepted (``memory``) whose
key the project defines and its saved files do not cite yet; the project's adaptation is fit on them.

One adaptation per saved state of a project (its files as on disk, its bibliography, the writer's memory, the stage
and encoder that rank it), built in a worker thread at lowered priority, never on the event loop. Requests use it
once it is built (``current``): until then, with ``recall.adapt`` off, and for projects with fewer than MIN_LESSONS citations, the
shipped model ranks alone. The CLI and eval wait for it (``wait``), so every front end ranks a project state alike.
Unsaved edits do not move it: the same files, bibliography, writer's memory and cursor give the same list whatever
came before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from functools import partial
from typing import Callable, Protocol

import numpy as np

from texcite.bib.diskcache import cache_dir, private_file
from texcite.cachefolder import keep_tidy, mark_used
from texcite.engine_events import EngineEvents
from texcite.files import read_disk
from texcite.latex.cite import CiteMatcher
from texcite.latex.emptied import Example, citation_examples
from texcite.latex.facts import FileFacts, scan_file, update_facts
from texcite.latex.graph import Project
from texcite.memory import Accepted, WriterMemory
from texcite.ranking import Request, Scored, build_request
from texcite.retrieval.adaptation import FOLDS, INPUTS, MIN_LESSONS, Adaptation, Lesson, adapt, fold_of, lesson
from texcite.retrieval.bm25 import TOKENS_VERSION
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.fusion import FusionModel
from texcite.runtime import lower_thread_priority
from texcite.settings import Settings
from texcite.stages import Stages

log = logging.getLogger(__name__)
KEPT = 8  # adaptations kept in memory (the latest saved states of the projects served)
MAX_LESSONS = 300  # citations ranked per build: each costs about one completion (10 to 50 ms)
MAX_REMEMBERED_LESSONS = 100  # of them, the newest accepted citations at most
MAX_ADDING_LESSONS = 150  # and besides them, keys added to a command that keeps others (`texcite eval --add-one`)
VERSION = 7  # of the lessons and the fit (and of the query they are ranked with): another version's is fit again


class Scorer(Protocol):
    """What the lessons are ranked by: the engine's pipeline (``Engine.score``) and what it reads LaTeX with."""

    matcher: CiteMatcher
    settings: Settings
    events: EngineEvents

    def stages(self, encoder: str = "") -> Stages: ...

    def score(self, path: str, request: Request, project: Project, corpus: Corpus,
              files: list[tuple[str, str, FileFacts]], dense_wait_s: float = 0.0) -> Scored: ...


class ProjectAdaptations:
    """The adaptation of each project state, built in the background from the engine's own scoring."""

    def __init__(self, engine: Scorer) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._done: dict[tuple, Adaptation | None] = {}
        self._latest: dict[tuple, Adaptation | None] = {}  # per project and ranking: the latest built
        self._building: dict[tuple, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-lessons")
        self._memory: WriterMemory | None = None

    @property
    def memory(self) -> WriterMemory:
        """The writer's memory of the cache folder the settings name."""
        if self._memory is None or self._memory.folder != self.engine.settings.cache_dir:
            self._memory = WriterMemory(self.engine.settings.cache_dir)
        return self._memory

    def _remembered(self) -> tuple[int, int] | None:
        return self.memory.stamp() if self.engine.settings.recall.remember else None

    def _key(self, project: Project, corpus: Corpus, stage: str, encoder: str, model: FusionModel) -> tuple:
        stamps: list[tuple[str, int | None, int | None]] = []
        for tex in project.tex_files:
            try:
                st = os.stat(tex)
                stamps.append((tex, st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append((tex, None, None))
        return project.root, stage, encoder, id(model), corpus.signature, tuple(stamps), self._remembered()

    def current(self, project: Project, corpus: Corpus, stage: str, encoder: str,
                model: FusionModel) -> Adaptation | None:
        """The adaptation of the project as saved for this ranking (stage, encoder, shipped model). While the one
        of a newly saved state is being built, the latest built for the project (the writer's saves differ by a
        few citations; the new one's correction of empty commands as soon as it is fit); None before any, while the embeddings are being built (the lessons wait for the ranking
        they adapt), with ``recall.adapt`` off, and for a project citing fewer than MIN_LESSONS times."""
        if not self._adapts(stage, encoder):
            return None
        return self._lookup(project, corpus, stage, encoder, model)[1]

    def _adapts(self, stage: str, encoder: str) -> bool:
        """Is a list ranked by ``stage`` adapted: with ``recall.adapt`` on, once it is the stage the engine settles
        on (hybrid while the dense model works; BM25 alone when recall is bm25 or the dense model failed)?"""
        settled = "hybrid" if self.engine.stages(encoder).hybrid else "bm25"
        return self.engine.settings.recall.adapt and stage == settled

    def _lookup(self, project: Project, corpus: Corpus, stage: str, encoder: str,
                model: FusionModel) -> tuple[Future | None, Adaptation | None]:
        """The build under way (None when done) and the adaptation to use now."""
        key = self._key(project, corpus, stage, encoder, model)
        with self._lock:
            if key in self._done:
                return None, self._done[key]
            if key not in self._building:
                for older in [k for k, f in self._building.items() if k[:4] == key[:4] and f.cancel()]:
                    del self._building[older]  # saved again before its build began: only the newest is built
                self._building[key] = self._pool.submit(self._build, key, project, corpus, stage, encoder, model)
            return self._building[key], self._latest.get(key[:4])

    def wait(self, project: Project, corpus: Corpus, stage: str, encoder: str,
             model: FusionModel) -> Adaptation | None:
        """The adaptation of the project as saved, built now if it is not (the CLI, eval)."""
        if not self._adapts(stage, encoder):
            return None
        future, adaptation = self._lookup(project, corpus, stage, encoder, model)
        if future is not None:
            try:
                future.result()
            except CancelledError:  # the files were saved again meanwhile: the latest built is the best there is
                pass
            key = self._key(project, corpus, stage, encoder, model)
            with self._lock:
                adaptation = self._done.get(key, self._latest.get(key[:4]))
        return adaptation

    @staticmethod
    def fold(project: Project, path: str, text: str, start: int) -> int:
        """The fold of the citation command starting at ``start`` of ``text`` (the file ``path``)."""
        relative = os.path.relpath(os.path.abspath(path), os.path.dirname(project.root))
        return fold_of(relative, text.count("\n", 0, start))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _build(self, key: tuple, project: Project, corpus: Corpus, stage: str, encoder: str,
               model: FusionModel) -> None:
        lower_thread_priority()
        ranked = False  # were lessons ranked (reported as they began)?
        try:
            adaptation, ranked = self._lessons_fit(project, corpus, stage, encoder, model,
                                                   partial(self._early, key))
        except Exception:  # a bug here must not break completion: the shipped model ranks
            log.exception("adapting to %s failed", project.root)
            adaptation = None
        with self._lock:
            self._building.pop(key, None)
            self._done[key] = self._latest[key[:4]] = adaptation
            while len(self._done) > KEPT:
                self._done.pop(next(iter(self._done)))
        if ranked:  # reported once requests find it
            self.engine.events.adapting(project.root, adaptation.lessons if adaptation is not None else 0)

    def _early(self, key: tuple, adaptation: Adaptation) -> None:
        """Requests use ``adaptation`` (of empty commands only) while the build of ``key`` goes on."""
        with self._lock:
            if key in self._building:
                self._latest[key[:4]] = adaptation

    def _lessons_fit(self, project: Project, corpus: Corpus, stage: str, encoder: str, model: FusionModel,
                     early: Callable[[Adaptation], None]) -> tuple[Adaptation | None, bool]:
        """The adaptation from the disk cache, else fit on the project's lessons (and cached; ``early`` gets the one
        of empty commands before the keys added to commands are ranked); and whether lessons were ranked."""
        engine, matcher = self.engine, self.engine.matcher
        bibs = {f.path for f in corpus.files}  # a chapter's own bibliographies (chapterbib): its files' lessons only
        texts = [(tex, text) for tex in project.tex_files
                 if set(project.bibs_for(tex)) == bibs and (text := read_disk(tex)) is not None]
        examples = [ex for tex, text in texts for ex in citation_examples(tex, text, matcher, corpus.by_key)[0]]
        cited = {key for ex in examples for key in ex.keys}
        # A citation accepted in this project's files teaches it once saved, as they are; one made elsewhere now.
        own = set(project.tex_files)
        remembered = [one for one in self.memory.entries()
                      if one.key in corpus.by_key and one.key not in cited and one.file not in own] \
            if engine.settings.recall.remember else []
        remembered = remembered[-MAX_REMEMBERED_LESSONS:]
        if len(examples) + len(remembered) < MIN_LESSONS:
            return None, False
        # A book's thousands of citations: MAX_LESSONS spread evenly over it teach as much, at a bounded cost.
        most = MAX_LESSONS - len(remembered)
        examples = _spread(examples, most)
        digest = hashlib.sha1(json.dumps([VERSION, TOKENS_VERSION, stage, encoder, list(corpus.signature), texts,
                                          [list(vars(one).values()) for one in remembered]]).encode()
                              + model.as_json_bytes()).hexdigest()
        path = os.path.join(cache_dir(engine.settings.cache_dir), "adaptations", f"{digest}.npz")
        cached = _read(path)
        if cached is not None:
            return cached, False
        engine.events.adapting(project.root, None)
        # Read only for a fit: the saved files (in the digest) define them.
        adding = _spread([ex for tex, text in texts for ex in citation_examples(tex, text, matcher, corpus.by_key,
                                                                                  mode="add-one")[0]],
                         MAX_ADDING_LESSONS)
        adaptation = self._fit(project, corpus, stage, encoder, texts, (examples, adding), remembered, early)
        if adaptation is not None:
            _write(path, adaptation)
        return adaptation, True

    def _fit(self, project: Project, corpus: Corpus, stage: str, encoder: str, texts: list[tuple[str, str]],
             examples: tuple[list[Example], list[Example]], remembered: list[Accepted],
             early: Callable[[Adaptation], None]) -> Adaptation | None:
        """Each example (of an empty command, of adding a key) and accepted citation ranked by the engine's pipeline
        as a lesson, and the adaptation fit on them; the one of empty commands goes to ``early`` first."""
        files = [(tex, text, scan_file(text, self.engine.matcher)) for tex, text in texts]
        emptied, adding = examples
        lessons = self._examples(project, corpus, stage, encoder, files, emptied)
        if lessons is None:
            return None
        lessons += self._remembered_lessons(project, corpus, stage, encoder, files, remembered)
        if adding:
            if (first := adapt(lessons)) is not None:
                early(first)
            more = self._examples(project, corpus, stage, encoder, files, adding)
            if more is None:
                return None
            lessons += more
        return adapt(lessons)

    def _examples(self, project: Project, corpus: Corpus, stage: str, encoder: str,
                  files: list[tuple[str, str, FileFacts]], examples: list[Example]) -> list[Lesson] | None:
        """The lessons of ``examples``; None when the ranking changed meanwhile (they are not this state's)."""
        matcher = self.engine.matcher
        lessons: list[Lesson] = []
        for ex in examples:
            shown = [(p, ex.text, update_facts(t, f, ex.text, matcher) or scan_file(ex.text, matcher))
                     if p == ex.path else (p, t, f) for p, t, f in files]
            facts = next(f for p, _, f in shown if p == ex.path)
            taught = self._lesson(project, corpus, stage, encoder, ex.path, ex.text, ex.offset, facts, shown, ex.keys)
            if taught is None:
                return None
            lessons += taught
        return lessons

    def _remembered_lessons(self, project: Project, corpus: Corpus, stage: str, encoder: str,
                            files: list[tuple[str, str, FileFacts]], remembered: list[Accepted]) -> list[Lesson]:
        """The lessons of the accepted citations."""
        matcher = self.engine.matcher
        lessons: list[Lesson] = []
        home = os.path.dirname(project.root)
        for i, accepted in enumerate(remembered):
            # Its lines as one more file of the project: the project's own citations are its evidence.
            path = os.path.join(home, f".texcite-accepted-{i}.tex")
            facts = scan_file(accepted.text, matcher)
            taught = self._lesson(project, corpus, stage, encoder, path, accepted.text, accepted.offset, facts,
                                  files + [(path, accepted.text, facts)], (accepted.key,),
                                  fold_of(os.path.relpath(accepted.file, home), accepted.line))
            lessons += taught or []  # None: its text read as another language, not taught
        return lessons

    def _lesson(self, project: Project, corpus: Corpus, stage: str, encoder: str, path: str, text: str, offset: int,
                facts: FileFacts, files: list[tuple[str, str, FileFacts]], keys: tuple[str, ...],
                fold: int | None = None) -> list[Lesson] | None:
        """The lessons (at most one) of citing ``keys`` at ``offset`` of ``text`` (the file ``path``, ranked with the
        project's files as ``files``) by the engine's pipeline, in ``fold`` (by default the fold of its command): none
        when there is no citation there or it teaches nothing; None instead when it was ranked by another stage or
        encoder than ``stage`` and ``encoder``."""
        request = build_request(text, offset, self.engine.matcher, facts)
        if request is None:
            return []
        scored = self.engine.score(path, request, project, corpus, files)
        if (scored.stage, scored.encoder) != (stage, encoder):
            return None
        if fold is None:
            fold = self.fold(project, path, text, request.cite.command.start)
        kept = [corpus.position[k] for k in request.cite.existing_keys if k in corpus.position]
        one = lesson(scored.signals, scored.scores, [corpus.position[k] for k in keys], kept, fold)
        return [] if one is None else [one]


def _spread(examples: list[Example], most: int) -> list[Example]:
    """At most ``most`` of ``examples``, spread evenly over them."""
    return [examples[i * len(examples) // most] for i in range(most)] if len(examples) > most else examples


def _read(path: str) -> Adaptation | None:
    """A cached adaptation; None when there is none or it is unreadable (then it is fit again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            weights, lessons = data["weights"], int(data["lessons"])
            adding = data["adding"] if "adding" in data else None
    except Exception:  # missing, truncated, another format: fit again
        return None
    mark_used(path)
    shape = (FOLDS, len(INPUTS))
    return Adaptation(weights, lessons, adding) \
        if weights.shape == shape and (adding is None or adding.shape == shape) else None


def _write(path: str, adaptation: Adaptation) -> None:
    tmp = None
    try:
        fh, tmp = private_file(os.path.dirname(path), ".npz")
        with fh:
            lessons = np.int64(adaptation.lessons)
            if adaptation.adding is None:
                np.savez(fh, weights=adaptation.weights, lessons=lessons)
            else:
                np.savez(fh, weights=adaptation.weights, lessons=lessons, adding=adaptation.adding)
        os.replace(tmp, path)
        tmp = None
        keep_tidy(os.path.dirname(os.path.dirname(path)))
    except OSError as err:  # a read-only or full disk only costs a fit next time
        log.info("cannot write %s: %s", path, err)
    finally:
        if tmp is not None:
            os.unlink(tmp)
