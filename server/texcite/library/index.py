"""The library's index: its files read (``.bib`` through a ``BibStore`` of its own, cached on disk like project
bibs; CSL-JSON through ``csl``) and merged into one BM25-indexed ``Corpus``, built in a worker thread, never on the
event loop, then packed into the library's own cache (``library.cache``), from which the next start reads it back
at once, typed-text index included. One per engine, so every project of a server shares it. A file that changes
on disk (its stamp, ``cache.file_stamp``) is read again in the background while the previous index keeps
answering.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Callable, Collection, Sequence

import numpy as np

from texcite.bib.incremental import Analyzer
from texcite.bib.model import BibFile, Diagnostic, Entry, LibraryRef
from texcite.bib.store import BibStore
from texcite.files import UnreadableFile, read_bytes, read_disk
from texcite.library.cache import LibraryCache, Stamp, file_stamp
from texcite.library.csl import read_csl
from texcite.library.keys import distinct_keys
from texcite.library.nearest import TitleProjection
from texcite.library.packed import LibrarySearch, PackedLibrary
from texcite.retrieval.bm25 import Bm25Index
from texcite.retrieval.corpus import Corpus, corpus_key

if TYPE_CHECKING:
    from texcite.retrieval.embeddings.dense import DenseIndex, DenseStage, Embedder

log = logging.getLogger(__name__)
MAX_JSON_BYTES = 1 << 30
EMPTY_DIGEST = hashlib.sha1(b"").hexdigest()  # an empty library file's: nothing to say of it
PACK_WAIT_S = 60.0  # how long closing waits for the pack being written (a 50,000-entry library: seconds)


def library_paths(files: Sequence[str], base: str | None = None) -> tuple[str, ...]:
    """The setting's paths, ``~`` expanded and absolute: a relative one is ``base``'s (the workspace folder)."""
    expanded = [os.path.expanduser(p) for p in files if p.strip()]
    return tuple(os.path.abspath(os.path.join(base, p) if base else p) for p in expanded)


def lost_entries(problems: Sequence[Diagnostic], unread: Collection[str] = ()) -> dict[str, str]:
    """Per library file that was read but whose content (or some of its entries) is lost, one line for people: the
    first such problem, where, and how many more. A key defined twice (``library.keys``: no work lost) or a guessed
    encoding is a warning, not said; the files of ``unread`` are said otherwise."""
    lost: dict[str, list[Diagnostic]] = {}
    for problem in problems:
        if problem.severity == "error" and problem.path not in unread:
            lost.setdefault(problem.path, []).append(problem)
    out = {}
    for path, found in lost.items():
        first = found[0]
        where = f"line {first.line + 1}: " if first.line and not path.lower().endswith(".json") else ""  # (0: the file)
        out[path] = where + first.message + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
    return out


class LibraryIndex:
    """The library's corpus, built in the background; ``current()`` answers at once (None until it is built)."""

    def __init__(self, analyze: Analyzer, cache_directory: str | None, tokens_version: int,
                 refuse: Callable[[str], str | None] = lambda path: None,
                 on_indexed: Callable[[int, dict[str, str], dict[str, str]], None] = lambda entries, unread, lost: None,
                 on_progress: Callable[[str, int, int], None] = lambda what, done, total: None) -> None:
        """``refuse``: why a file may not be read for this client (None: it may; the server confines TCP clients
        to their workspace folders, library files included); ``on_indexed(entries, unread, lost)``: an index was
        built (called from the worker), without the files of ``unread`` (path: why, ``unread``) and what was lost of
        the others (path: what, ``lost_entries``); ``on_progress(what, done, total)``: an index being built from the files ("indexing") or the titles embedded ("embedding")."""
        self.store = BibStore(analyze, cache_directory=cache_directory, tokens_version=tokens_version)
        self.store.refuse = refuse
        self.cache = LibraryCache(self.store.cache, tokens_version)
        self.dense: dict[str, DenseStage] = {}  # the library's title embeddings per encoder, with hybrid recall
        self._embedders: Callable[[str], Embedder] | None = None
        self._dense_cache = ""
        self._projections: dict[str, tuple[DenseIndex, Future]] = {}  # per encoder: its titles' ``TitleProjection``
        self.paths: tuple[str, ...] = ()
        self.problems: list[Diagnostic] = []  # files not read, and what the merge reported (duplicate keys)
        self.lost: dict[str, str] = {}  # ``lost_entries`` of the files read
        self._corpus: LibrarySearch | None = None
        self._stamps: tuple[Stamp | None, ...] = ()
        self._future: Future | None = None
        self._typing: Future | None = None  # the typed-text index of the corpus just built
        self._packing: Future | None = None  # then its pack (``library.cache``)
        self._typed: LibrarySearch | None = None  # the corpus whose typed-text index is built
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="texcite-library")
        self._eager = False  # index as soon as the files are known (``warm``: the server), else when first needed
        self._closed = False
        self.on_indexed = on_indexed
        self.on_progress = on_progress

    def configure(self, files: Sequence[str], base: str | None = None) -> None:
        """Use these library files (the setting's paths, a relative one ``base``'s); a different list is indexed
        anew, in the background once ``warm`` was called, else when first asked for."""
        paths = library_paths(files, base)
        if paths == self.paths:
            return
        with self._lock:
            self.paths, self._corpus, self._stamps = paths, None, ()
        if paths and self._eager:
            self.start()

    def warm(self) -> None:
        """Index the library now, in the background, and whenever its files change from now on (the server)."""
        self._eager = True
        self.start()

    def embed_with(self, embedders: Callable[[str], Embedder] | None, first: str, cache_directory: str) -> None:
        """Embed the library's titles with the encoders the documents use (``embedders(encoder)``: the project's
        model of that name; None: not at all), each in a worker of its own at low priority: ``first`` after each
        index is built, another once a document ranked by it asks (``vectors``). Until then the library's entries
        have no dense signals for that document."""
        with self._lock:
            stages, self.dense = list(self.dense.values()), {}
            self._embedders, self._dense_cache = embedders, cache_directory
        for old in stages:
            old.close()
        corpus, stage = self._corpus, self._stage(first)
        if stage is not None and corpus is not None:
            stage.start(corpus.signature, corpus.entries)

    def _stage(self, encoder: str) -> DenseStage | None:
        """The dense stage embedding the library's titles with ``encoder``, made when first needed."""
        with self._lock:
            if self._embedders is None or not encoder:
                return None
            stage = self.dense.get(encoder)
            if stage is None:
                from texcite.retrieval.embeddings.dense import DenseStage

                stage = self.dense[encoder] = DenseStage(
                    self._embedders(encoder), self._dense_cache,
                    on_progress=lambda signature, done, total: self.on_progress("embedding", done, total),
                    on_error=lambda message: self.on_progress("embedding", 0, 0))  # (the project's stage says why)
            return stage

    def vectors(self, corpus: LibrarySearch, encoder: str) -> DenseIndex | None:
        """The title embeddings of ``corpus`` (a ``current()``) by ``encoder``, when built (asked before, their
        build begins)."""
        stage = self._stage(encoder)
        if stage is None:
            return None
        index = stage.index_for(corpus.signature)
        if index is None or len(index.keys) != len(corpus):
            stage.start(corpus.signature, corpus.entries)
            return None
        return index

    def vectors_now(self, corpus: LibrarySearch, encoder: str, rows: Sequence[int]) -> np.ndarray | None:
        """The title vectors of ``corpus``'s ``rows`` by ``encoder`` before ``vectors`` has them all: the cached
        ones, the rest embedded now in the calling thread (``DenseStage.vectors_now``: a request's few dozen, a few
        milliseconds each here); None until that encoder's first build has loaded it."""
        stage = self._stage(encoder)
        return stage.vectors_now([corpus.entries[r] for r in rows]) if stage is not None else None

    def projection(self, index: DenseIndex, encoder: str) -> TitleProjection | None:
        """``index`` (the library's titles by ``encoder``) projected for recall by meaning (``library.nearest``), in
        the worker, once: None until done."""
        job = self._projecting(index, encoder)
        return job.result() if job.done() and not job.cancelled() else None

    def _projecting(self, index: DenseIndex, encoder: str) -> Future:
        with self._lock:
            kept = self._projections.get(encoder)
            if kept is None or kept[0] is not index:
                kept = self._projections[encoder] = (index, self._pool.submit(TitleProjection.of, index.vectors))
            return kept[1]

    def start(self) -> Future | None:
        """Index the files now in the worker, unless that is under way (None: no library configured)."""
        if not self.paths:
            return None
        with self._lock:
            if self._future is None or self._future.done():
                self._future = self._pool.submit(self._build, self.paths)
            return self._future

    def _stale(self) -> bool:
        return self._stamps != tuple(file_stamp(p) for p in self.paths)

    def current(self) -> LibrarySearch | None:
        """The library's corpus as built (None: none configured, or the first index is not ready yet). A file
        changed since starts a new index; this one answers until it is done."""
        corpus = self._corpus
        if self.paths and (corpus is None or self._stale()):
            future = self._future
            if future is None or future.done():
                self.start()
        return corpus

    def indexed(self) -> LibrarySearch | None:
        """The library's corpus, indexing it now if needed (blocking)."""
        if self.paths and (self._corpus is None or self._stale()):
            future = self.start()
            if future is not None:
                future.result()
        return self._corpus

    def wait(self, encoder: str = "") -> LibrarySearch | None:
        """The library's corpus, indexed (its typed-text index too) and, with hybrid recall, embedded by
        ``encoder`` (if one is named) and projected (``projection``) now if needed (CLI, eval)."""
        corpus, dense, typing = self.indexed(), self._stage(encoder), self._typing
        if typing is not None:
            typing.result()
        if corpus is not None and dense is not None:
            embedding = dense.start(corpus.signature, corpus.entries)
            if embedding is not None:
                embedding.result()
            index = dense.index_for(corpus.signature)
            if index is not None:
                self._projecting(index, encoder).result()
        return corpus

    def flush(self) -> None:
        """Wait until the library's cache files are written: its pack, and its files' parses and BM25 index."""
        packing = self._packing
        if packing is not None:
            packing.result()
        self.store.cache.flush()

    def entry(self, ref: LibraryRef) -> Entry | None:
        """The entry ``ref`` names (None: the library no longer has it); blocking, the library may be indexed
        first."""
        library = self.indexed()
        entry = library.by_key.get(ref.key) if library is not None else None
        return entry if entry is not None and entry.path == ref.file else None

    def ref(self, key: str) -> LibraryRef | None:
        """Where the library holds ``key`` (None: nowhere, or the library is not indexed yet); never waits."""
        library = self._corpus
        entry = library.by_key.get(key) if library is not None else None
        return LibraryRef(entry.path, entry.cite_key) if entry is not None else None

    def unread(self, paths: Sequence[str], stamps: Sequence[Stamp | None]) -> dict[str, str]:
        """The library files not read, and why: refused for this client (whether or not they exist), not found or
        not readable (a mistyped path in the setting, an export deleted or locked)."""
        out = {}
        for path, stamp in zip(paths, stamps, strict=True):
            why = self.store.refuse(path) or ("not found" if stamp is None else
                                              "not readable" if not os.access(path, os.R_OK) else None)
            if why:
                out[path] = why
        return out

    def _read(self, path: str) -> BibFile:
        if path.lower().endswith(".json"):
            refused = self.store.refuse(path)
            if refused:
                return BibFile(path, "", diagnostics=[Diagnostic(path, 0, f"Library not read: {refused}")])
            try:
                return read_csl(read_bytes(path, MAX_JSON_BYTES), path)
            except (UnreadableFile, OSError) as err:
                return BibFile(path, "", diagnostics=[Diagnostic(path, 0, f"Library not read: {err}")])
        bib = self.store.get(path)
        if not bib.entries and not bib.diagnostics and bib.digest not in ("", EMPTY_DIGEST):  # (a .ris export, say)
            return BibFile(path, bib.digest, diagnostics=[Diagnostic(
                path, 0, "No BibTeX entry found: texcite reads BibTeX/BibLaTeX .bib and CSL-JSON .json libraries")])
        return bib

    def _build(self, paths: tuple[str, ...]) -> None:
        try:
            stamps = tuple(file_stamp(p) for p in paths)
            # A file refused for this client is not read: no pack of it is served (nor written, below).
            readable = not any(self.store.refuse(p) for p in paths)
            packed = self.cache.load(paths, stamps) if readable else None
            if packed is not None:
                corpus: LibrarySearch = packed[0]
                problems = packed[1]
            else:
                self.on_progress("indexing", 0, 1)  # (a pack is read back in a fraction of a second)
                self._recall(paths)
                store = self.store
                with store.cache.deferred():
                    files, renamed = distinct_keys([self._read(p) for p in paths], lambda p: read_disk(p, 1 << 30))
                    built = Corpus(files, entry_tokens=store.entry_tokens, index_cache=store.cache)
                    _ = built.bm25, built.helpers  # the typed-text index follows once this one answers
                corpus = built
                problems = [d for f in files for d in f.diagnostics] + renamed + built.merge_problems
        except Exception:  # the project's entries still rank; the log says why the library does not
            if not self._closed:  # (a process exiting mid-build: nothing to say)
                log.exception("library not indexed")
            self.on_progress("indexing", 0, 0)
            return
        self.on_progress("indexing", len(corpus), len(corpus))
        unread = self.unread(paths, stamps)
        lost = lost_entries(problems, unread)
        with self._lock:
            if paths != self.paths:
                return  # the setting changed meanwhile
            self._corpus, self._stamps, self.problems, self.lost = corpus, stamps, problems, lost
            if packed is not None:
                self._typed = corpus  # packed with its typed-text index
        for stage in list(self.dense.values()):  # ``first``'s, made by ``embed_with``, and those documents asked for
            stage.start(corpus.signature, corpus.entries)
        for problem in self.problems[:20]:
            log.info("library: %s:%d: %s", problem.path, problem.line + 1, problem.message)
        self.on_indexed(len(corpus), unread, lost)
        if isinstance(corpus, Corpus):
            self._typing = self._pool.submit(self._build_typed, corpus)
            if readable:  # (a file refused for this client is not packed)
                self._packing = self._pool.submit(self.cache.save, paths, stamps, corpus, problems)

    def _recall(self, paths: tuple[str, ...]) -> None:
        """Before the first build of a process that started from the pack: the library as packed, its .bib files'
        parses from the bib cache (a changed file re-parses only its changed entries) and its BM25 index read back
        as a warm start reads it, which remembers its term counts (only the changed entries' terms are counted)."""
        with self._lock:
            corpus, stamps = self._corpus, dict(zip(self.paths, self._stamps, strict=False))
        if not isinstance(corpus, PackedLibrary):
            return
        recalled = []
        for path, digest in corpus.signature:
            stamp = stamps.get(path)
            if path in paths and stamp is not None and not path.lower().endswith(".json"):
                recalled.append(self.store.recall(path, digest, stamp[1]))
        parsed = [p for p in recalled if p is not None]
        if len(parsed) != len(corpus.signature):
            return
        files = [p.bib for p in parsed]
        stored = self.store.cache.load("bm25", corpus_key(files, Bm25Index.k1, Bm25Index.b))
        if stored is not None:
            tokens = {id(e): t for p in parsed for e, t in zip(p.bib.entries, p.tokens, strict=False)}
            previous = Corpus(files)
            Bm25Index(previous.entries, tokens=[tokens.get(id(e)) for e in previous.entries], stored=stored)

    def _build_typed(self, corpus: Corpus) -> None:
        _ = corpus.typed
        self._typed = corpus

    def typed_ready(self, corpus: LibrarySearch) -> bool:
        """Is ``corpus``'s typed-text index built (until then text typed in the braces finds no library entry,
        rather than a request building it)?"""
        return self._typed is corpus

    def close(self) -> None:
        """Stop; a pack queued or being written is written first (at most PACK_WAIT_S): the next start reads the
        library back from it (a server stopped right after indexing 50,000 entries indexed them again, 38 s)."""
        self._closed = True
        packing = self._packing
        pending = packing is not None and not packing.done()
        self._pool.shutdown(wait=False, cancel_futures=not pending)
        if packing is not None and pending:
            wait([packing], timeout=PACK_WAIT_S)
        for stage in list(self.dense.values()):
            stage.close()
