"""Dense recall stage: sentence embeddings of bib entries (all-MiniLM-L6-v2 on CPU), cached on disk, built in the background.

Embeddings are keyed by (model, sha1 of the embedded text), so a restart or a one-entry edit embeds only what
changed. The encoder is an ``Embedder`` (ONNX Runtime by default, torch for a Hugging Face folder), imported
lazily; without its runtime, ``BackendUnavailable`` names the extra to install.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Protocol, Sequence

import numpy as np

from texcite.bib.diskcache import cache_dir as resolve_cache_dir
from texcite.bib.model import Entry
from texcite.lru import BoundedCache
from texcite.retrieval.embeddings.cache import EmbeddingCache
from texcite.rerank.base import BackendUnavailable
from texcite.runtime import lower_thread_priority

log = logging.getLogger(__name__)

QUERY_MAX_TOKENS = 48     # queries are the ~30 words around the marker; the cap bounds the per-completion cost
TEXT_MAX_TOKENS = 128     # entry texts (titles; a long one is cut at all-MiniLM-L6-v2's training length)
QUERY_CACHE = 256         # recent query vectors kept (typing inside one \cite{} repeats the same sentence)
BATCH_SIZE = 16           # texts per encoder call: small batches keep the GIL hand-offs short
SAVE_EVERY = 4096         # new embeddings between cache checkpoints during a long first build
FULL_SPEED_S = 1.0        # a build's first second runs at normal priority, on two threads (see FirstSecond)
KEEP_INDEXES = 4          # corpora whose embeddings stay in memory (a few projects open at once)

class Encodes(Protocol):
    """What a build needs of an encoder: unit vectors (float32 rows) for texts."""

    def embed(self, texts: Sequence[str], batch_size: int = ..., max_tokens: int = ...) -> np.ndarray: ...


class Embedder(Encodes, Protocol):
    """A sentence encoder: ``model_id`` names its weights for the cache, ``name`` the model for people."""

    @property
    def model_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    def load(self) -> None: ...


# progress(done, total) during a build; called from the worker thread.
Progress = Callable[[int, int], None]


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def entry_text(entry: Entry) -> str:
    """The text embedded per entry: its title (its whole document when it has none). Measured on the dev theses,
    embedding the abstract too adds nothing to the fused ranking (leave-one-project-out MRR 0.479 with titles
    alone, 0.480 with both; bench/results/fusion.md) and costs ten times the time, so the first list waited for
    it: titles make the dense stage ready within a second or two of opening a project."""
    return entry.title or entry.document


@dataclass
class DenseIndex:
    """Embeddings of one corpus's entries (rows follow the corpus's entry order)."""

    keys: list[str]
    vectors: np.ndarray
    embedded: int = 0  # texts computed for this index (the rest came from the cache)

    def scores(self, query_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each query vector (rows) with every entry: (queries, entries).

        einsum, not ``q @ m.T``: BLAS's threaded GEMM spins on a busy 2-core machine (0.1-15 ms for 10k x 384);
        the single-threaded loop is a steady ~0.5 ms.
        """
        return np.einsum("ed,qd->qe", self.vectors, query_vectors)

    @cached_property
    def position(self) -> dict[str, int]:
        """Row of each key."""
        return {k: i for i, k in enumerate(self.keys)}


def _embedded(embedder: Encodes, texts: list[str]) -> np.ndarray:
    """The vectors of ``texts`` at the precision the cache stores (float16: a fresh build ranks exactly as a warm
    start will); a text the model fails on gets a zero vector, close to nothing."""
    embedded = embedder.embed(texts, max_tokens=TEXT_MAX_TOKENS).astype(np.float16).astype(np.float32)
    embedded[~np.isfinite(embedded).all(axis=1)] = 0.0
    return embedded


def vectors_now(entries: Sequence[Entry], embedder: Encodes, cache: EmbeddingCache) -> np.ndarray:
    """The vectors of ``entries`` (rows in their order) at once, as ``build_index`` gives them: the cached ones, the
    rest embedded in the calling thread and cached (the build that embeds their corpus, or its next checkpoint,
    saves them); an entry with no text a zero vector."""
    texts = [entry_text(e) for e in entries]
    digests = [text_digest(t) for t in texts]
    found = {d: v for d in digests if (v := cache.get(d)) is not None}
    missing = sorted({d: t for d, t in zip(digests, texts, strict=True) if d not in found and t.strip()}.items(),
                     key=lambda dt: len(dt[1]))
    if missing:
        for (digest, _), v in zip(missing, _embedded(embedder, [t for _, t in missing]), strict=True):
            cache.put(digest, v)
            found[digest] = v
    if not entries:
        return np.zeros((0, 0), np.float32)
    dim = next(iter(found.values())).shape[0] if found else embedder.embed(["x"]).shape[1]
    zero = np.zeros(dim, np.float32)
    return np.stack([found.get(d, zero) for d in digests])


def build_index(entries: Sequence[Entry], embedder: Encodes, cache: EmbeddingCache | None,
                progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False) -> DenseIndex | None:
    """Embed every entry's text, reusing cached vectors; None if cancelled. Blocking: run in a worker."""
    digests = [text_digest(entry_text(e)) for e in entries]
    texts = {d: entry_text(e) for d, e in zip(digests, entries, strict=True)}
    wanted = {d: text for d, text in texts.items() if text.strip()}
    blank = texts.keys() - wanted.keys()  # an entry with no text: a zero vector, close to nothing
    vectors: dict[str, np.ndarray] = {}
    missing = []
    for digest, text in wanted.items():
        v = cache.get(digest) if cache is not None else None
        if v is None:
            missing.append((digest, text))
        else:
            vectors[digest] = v
    total, computed = len(missing), 0
    if progress:
        progress(0, total)
    since_save = 0
    chunk = BATCH_SIZE * 4
    missing.sort(key=lambda dt: len(dt[1]))  # similar lengths batch with little padding
    for start in range(0, total, chunk):
        if cancelled():
            if cache is not None:
                cache.save()
            return None
        part = missing[start : start + chunk]
        if cache is not None:  # a request may have embedded some meanwhile (``vectors_now``): its vectors serve
            vectors.update((d, v) for d, _ in part if (v := cache.get(d)) is not None)
            part = [(d, t) for d, t in part if d not in vectors]
        if part:
            for (digest, _), v in zip(part, _embedded(embedder, [t for _, t in part]), strict=True):
                vectors[digest] = v
                if cache is not None:
                    cache.put(digest, v)
        since_save += len(part)
        computed += len(part)
        if cache is not None and since_save >= SAVE_EVERY:
            cache.save()
            since_save = 0
        if progress:
            progress(min(start + chunk, total), total)
    if cache is not None:
        cache.save()
    if blank:
        dim = next(iter(vectors.values())).shape[0] if vectors else embedder.embed(["x"]).shape[1]
        vectors.update((d, np.zeros(dim, np.float32)) for d in blank)
    dim = next(iter(vectors.values())).shape[0] if vectors else 0
    matrix = np.stack([vectors[d] for d in digests]).astype(np.float32) if digests else np.zeros((0, dim), np.float32)
    return DenseIndex([e.key for e in entries], matrix, computed)


class FirstSecond:
    """The encoder as one build sees it. A build is what a project's first completion waits for
    (completion.denseWaitMs): for FULL_SPEED_S it runs at normal priority and, on a machine with more than one
    core, splits each chunk with a second thread (224 titles: 0.8 s instead of 1.5 s on 2 cores), which embeds a few
    hundred titles; then it yields the CPU to completions and the editor, one thread at lowered priority (a thread's
    nice value is not raised again: the worker's later builds yield too)."""

    def __init__(self, embedder: Embedder, helper: ThreadPoolExecutor | None) -> None:
        self.embedder = embedder
        self.helper = helper
        self.until = time.monotonic() + FULL_SPEED_S

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, max_tokens: int = TEXT_MAX_TOKENS) -> np.ndarray:
        if time.monotonic() > self.until:
            if self.until != float("inf"):
                lower_thread_priority()
                self.until = float("inf")
            return self.embedder.embed(texts, batch_size, max_tokens)
        half = len(texts) // 2
        if self.helper is None or half < batch_size:
            return self.embedder.embed(texts, batch_size, max_tokens)
        other = self.helper.submit(self.embedder.embed, texts[half:], batch_size, max_tokens)
        return np.concatenate([self.embedder.embed(texts[:half], batch_size, max_tokens), other.result()])


@dataclass
class _Job:
    future: Future
    cancel: threading.Event = field(default_factory=threading.Event)
    awaited: bool = False  # a completion waited for it already


class DenseStage:
    """Owns the embedder and cache; builds one DenseIndex per corpus in a background thread, serves them when ready.

    ``on_progress(signature, done, total)`` reports builds in entries (done == 0 at the start, done == total at
    the end),
    ``on_loaded()`` the model loaded by ``warm`` and ``on_error(message)``
    a backend that cannot run; both are called from the worker thread.
    """

    def __init__(self, embedder: Embedder, cache_dir: str = "",
                 on_progress: Callable[[tuple, int, int], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_loaded: Callable[[], None] | None = None) -> None:
        self.embedder = embedder
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.on_progress = on_progress
        self.on_error = on_error
        self.on_loaded = on_loaded
        self.error = ""
        self.embedded = 0  # entries' texts actually embedded (not from cache): observable reuse
        self._cache: EmbeddingCache | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-dense")
        # The second thread of a build's first second (FirstSecond), where there is a second core.
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-dense-help") \
            if (os.cpu_count() or 1) > 1 else None
        self._ready: BoundedCache[tuple, DenseIndex] = BoundedCache(KEEP_INDEXES)  # corpora no longer used go
        self._jobs: dict[tuple, _Job] = {}
        self._queries: BoundedCache[str, np.ndarray] = BoundedCache(QUERY_CACHE)
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    @property
    def name(self) -> str:
        """The dense model, for people (MiniLM, USE)."""
        return self.embedder.name

    def warm(self) -> Future:
        """Load the model in the background now (the server does this at start, so the first corpus embeds at
        once); a failure is reported through ``on_error`` like a build's."""
        return self._pool.submit(self._load)

    def _load(self) -> None:
        if self.error:
            return
        try:
            self.embedder.load()
        except Exception as err:
            self._failed(err)
            return
        if self.on_loaded:
            self.on_loaded()

    def _failed(self, err: BaseException) -> None:
        # A missing extra or model is said once by the caller: on_error (the server), the fallback message (CLI).
        if isinstance(err, BackendUnavailable):
            self.error = str(err)
            log.info("hybrid ranking unavailable: %s", err)
        else:  # never let a model failure escape the worker silently
            log.exception("embedding failed", exc_info=err)
            self.error = f"embedding failed: {err}"
        if self.on_error:
            self.on_error(self.error)

    def index_for(self, signature: tuple) -> DenseIndex | None:
        """The index of a corpus, or None before it is built (callers then use BM25 alone)."""
        with self._lock:
            return self._ready.get(signature)

    def vectors_now(self, entries: Sequence[Entry]) -> np.ndarray | None:
        """``vectors_now`` of ``entries`` (blocking: a request's few dozen while their corpus's build is under way);
        None until a build has loaded the model and opened the cache, or when the model cannot run."""
        cache = self._cache
        if self.error or cache is None:
            return None
        try:
            return vectors_now(entries, self.embedder, cache)
        except Exception:  # the build meets it too and says why; this request ranks without
            log.exception("embedding a request's entries failed")
            return None

    def start(self, signature: tuple, entries: Sequence[Entry]) -> Future | None:
        """Schedule the embedding of a corpus (no-op if ready or underway); returns the job's future."""
        if self.error:
            return None
        with self._lock:
            if self._ready.get(signature) is not None:
                return None
            job = self._jobs.get(signature)
            if job is not None:
                return job.future
            # Only the newest corpus matters: an older build still queued is abandoned (its vectors stay cached).
            for old in self._jobs.values():
                old.cancel.set()
            cancel = threading.Event()
            # The entries are listed in the worker: a library read back from its cache makes them as they are asked for.
            future = self._pool.submit(self._build, signature, entries, cancel)
            self._jobs[signature] = _Job(future, cancel)
            return future

    def start_awaited(self, signature: tuple, entries: Sequence[Entry]) -> Future | None:
        """``start``, and the build's future for the first completion that asks (it waits for it, so that on an
        ordinary bibliography the project's first list comes in the final order); None for the others, which answer
        at once meanwhile (a re-ask while typing waited again: 2 s each on an 855-entry bibliography)."""
        future = self.start(signature, entries)
        with self._lock:
            job = self._jobs.get(signature)
            if future is None or job is None or job.awaited:
                return None
            job.awaited = True
        return future

    def _build(self, signature: tuple, entries: Sequence[Entry], cancel: threading.Event) -> DenseIndex | None:
        if self.error:  # the model failed to load: reported once already
            return None
        entries = list(entries)
        if self.on_progress:
            self.on_progress(signature, 0, len(entries))
        try:
            self.embedder.load()
            if self._cache is None:
                self._cache = EmbeddingCache(self.cache_dir, f"{self.embedder.model_id}-{TEXT_MAX_TOKENS}t")

            def progress(done: int, total: int) -> None:  # in texts to embed (entries sharing a title share one)
                if self.on_progress and done < total:
                    self.on_progress(signature, done * len(entries) // total, len(entries))

            index = build_index(entries, FirstSecond(self.embedder, self._helper), self._cache, progress,
                                cancel.is_set)
            if index is not None:
                self.embedded += index.embedded
        except Exception as err:
            self._failed(err)
            index = None
        with self._lock:
            self._jobs.pop(signature, None)
            if index is not None:
                self._ready.put(signature, index)
        if self.on_progress and index is not None:
            self.on_progress(signature, len(entries), len(entries))
        return index

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors (blocking; ~10 ms on CPU, recent ones cached). Call from a worker, never the event loop."""
        known = {t: v for t in texts if (v := self._queries.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = self.embedder.embed(missing, max_tokens=QUERY_MAX_TOKENS)
            for t, v in zip(missing, vectors, strict=True):
                self._queries.put(t, v)
                known[t] = v
        return np.stack([known[t] for t in texts])

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._helper is not None:
            self._helper.shutdown(wait=False, cancel_futures=True)
