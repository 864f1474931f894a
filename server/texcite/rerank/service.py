"""RerankService: runs a Reranker so completion never blocks on it and never shows stale or wrong scores.

Model work happens on one worker thread. A request waits for its scores at most ``deadline_s``; past that it
gets None (answer in recall order, isIncomplete) while the work finishes in the background and fills a bounded
cache, so the next request is answered from the cache. Queued work that a newer request from the same source
supersedes is dropped. Any failure switches to "fallback": ranking falls back to the recall order, and an outage
(from the first failure to the next answer) is reported once as it begins and once as it ends, however many
requests fail in between. No LSP imports: this is core.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Hashable, Sequence

from texcite.lru import BoundedCache
from texcite.rerank.base import BackendUnavailable, Reranker, RerankError

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (state, message)
OutageCallback = Callable[[str, str], None]  # ("failed" | "recovered", message)
FIRST_BACKOFF_S, MAX_BACKOFF_S = 5.0, 300.0  # a failing server is tried again after 5 s, 10 s, ... at most 5 min
CacheKey = tuple[str, str, str, str, str]  # backend, model, instruction, query, document


@dataclass(eq=False)
class _Job:
    """Documents to score for one query; ``stale`` jobs are skipped (or stopped between chunks)."""

    query: str
    documents: list[str]
    source: Hashable | None
    instruction: str = ""
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    stale: bool = False
    started: bool = False


class RerankService:
    """Never-blocking, never-stale front of a Reranker; the engine runs every reranker through one (the server with
    a deadline, the CLI and eval waiting).

    ``factory`` builds the Reranker (may take minutes: it runs on the worker thread); ``on_status(state, message)``
    reports each change to "loading", "ready" or "fallback" and each failure; ``on_outage(change, message)`` says
    once that the reranker "failed" (an outage begins) and once that it "recovered" (it answers again). Both are
    called on the event loop when one is known.
    """

    def __init__(
        self,
        factory: Callable[[], Reranker],
        on_status: StatusCallback | None = None,
        on_outage: OutageCallback | None = None,
        *,
        instruction: str = "",
        cache_size: int = 200_000,
        chunk_size: int = 32,
        first_backoff_s: float = FIRST_BACKOFF_S,
    ) -> None:
        self._factory = factory
        self._on_status = on_status
        self._on_outage = on_outage
        self.instruction = instruction
        self.cache: BoundedCache[CacheKey, float] = BoundedCache(cache_size)
        self.chunk_size = max(1, chunk_size)
        self._reranker: Reranker | None = None
        self._state = "idle"
        self._outage = False  # failed, and not answered since: the failure was reported, the recovery is due
        self.failure = ""  # the message of the latest failure, while the outage lasts
        self._retry_at: float | None = None  # when a failed running backend is tried again
        self._first_backoff = self._backoff = first_backoff_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: deque[_Job | None] = deque()
        self._inflight: dict[tuple[str, str, str], _Job] = {}  # (instruction, query, document) -> queued/running job
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False

    # ---- public API -------------------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """idle (nothing loaded yet), loading, ready, or fallback (failed: use recall order)."""
        return self._state

    def start(self) -> None:
        """Load the reranker now (in the background) instead of on first use."""
        self._remember_loop()
        self._submit(None)

    async def scores(
        self, query: str, docs: Sequence[str], deadline_s: float, *, source: Hashable | None = None,
        instruction: str | None = None,
    ) -> list[float] | None:
        """Scores for ``docs`` if cached or computed within ``deadline_s``; else None while work continues.

        ``source`` (e.g. the editor document URI) lets a newer request drop this source's queued, unstarted work.
        None also means "fallback": check ``state`` to tell (then answer in recall order, complete).
        """
        self._remember_loop()
        instruction = instruction or self.instruction
        ready, value = self._immediate(query, docs, instruction)
        if ready:
            return value
        waits = self._enqueue(query, docs, source, instruction)
        if waits:
            wrapped = [asyncio.wrap_future(f) for f in waits]
            done, _ = await asyncio.wait(wrapped, timeout=max(0.0, deadline_s))
            if len(done) < len(wrapped):
                return None
        return self._from_cache(query, docs, instruction)

    def scores_blocking(self, query: str, docs: Sequence[str], timeout_s: float | None = None, *,
                        instruction: str | None = None) -> list[float] | None:
        """The blocking face (CLI, eval, the web page): waits (up to ``timeout_s``) and returns scores or None on
        failure. ``instruction``: one other than the configured one, for this call only."""
        instruction = instruction or self.instruction
        ready, value = self._immediate(query, docs, instruction)
        if ready:
            return value
        waits = self._enqueue(query, docs, None, instruction)
        done, _ = concurrent.futures.wait(waits, timeout=timeout_s)
        if len(done) < len(waits):
            return None
        return self._from_cache(query, docs, instruction)

    def cancel(self, source: Hashable | None = None) -> int:
        """Drop queued, unstarted work (of ``source``, or all); running work stops at its next chunk. Returns count."""
        n = 0
        with self._cond:
            for job in self._jobs:
                if job is not None and not job.stale and (source is None or job.source == source):
                    job.stale = True
                    n += 1
        return n

    def close(self, wait: bool = False) -> None:
        """Stop the worker thread after the running job (queued ones are dropped); on its way out it closes the
        reranker (an in-process vLLM shuts its engine down). ``wait``: return once that is done (a process about to
        exit); else never waits."""
        self.cancel()
        with self._cond:
            self._closed = True
            self._jobs.append(None)
            self._cond.notify_all()
            worker = self._worker
        if wait and worker is not None and worker is not threading.current_thread():
            worker.join()

    # ---- internals ----------------------------------------------------------------------------------------------

    def _remember_loop(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass

    def _tag(self, instruction: str) -> tuple[str, str, str]:
        r = self._reranker
        return (r.backend, r.model, instruction) if r is not None else ("", "", instruction)

    def _immediate(self, query: str, docs: Sequence[str], instruction: str) -> tuple[bool, list[float] | None]:
        """An answer that needs no waiting: (True, None) after a failure, or a full cache hit. A backend that
        failed while running is tried again once its backoff has passed (the next request goes through)."""
        if self._state == "fallback":
            if self._retry_at is None or time.monotonic() < self._retry_at:
                return True, None
            with self._cond:
                self._retry_at = None
                self._state = "ready" if self._reranker is not None else "idle"
            log.info("trying the reranker again")
        cached = self._from_cache(query, docs, instruction)
        return cached is not None, cached

    def _from_cache(self, query: str, docs: Sequence[str], instruction: str) -> list[float] | None:
        if self._reranker is None:
            return None if docs else []
        tag = self._tag(instruction)
        out: list[float] = []
        for d in docs:
            s = self.cache.get((*tag, query, d))
            if s is None:
                return None
            out.append(s)
        return out

    def _enqueue(self, query: str, docs: Sequence[str], source: Hashable | None,
                 instruction: str) -> list[concurrent.futures.Future]:
        """Queue the uncached, not-in-flight documents; return the futures the caller must wait for."""
        with self._cond:
            if source is not None:
                for job in self._jobs:
                    if job is not None and job.source == source and not job.started:
                        job.stale = True
            tag = self._tag(instruction)
            loaded = self._reranker is not None
            waits: dict[int, concurrent.futures.Future] = {}
            todo: list[str] = []
            seen: set[str] = set()
            for d in docs:
                if d in seen:
                    continue
                seen.add(d)
                if loaded and self.cache.get((*tag, query, d)) is not None:
                    continue
                other = self._inflight.get((instruction, query, d))
                if other is not None and not other.stale:
                    waits[id(other)] = other.future
                    continue
                todo.append(d)
            if todo or not loaded:
                job = _Job(query, todo, source, instruction)
                for d in todo:
                    self._inflight[(instruction, query, d)] = job
                waits[id(job)] = job.future
                self._submit_locked(job)
            return list(waits.values())

    def _submit(self, job: _Job | None) -> None:
        with self._cond:
            if job is None:  # a bare load request
                job = _Job("", [], None)
            self._submit_locked(job)

    def _submit_locked(self, job: _Job) -> None:
        if self._closed:
            job.future.set_result(None)
            return
        self._jobs.append(job)
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="texcite-rerank", daemon=True)
            self._worker.start()
        self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                job = self._jobs.popleft()
                if job is None:
                    self._release()
                    return
                job.started = True
            try:
                if job.stale:
                    log.debug("dropping stale rerank job for %d documents", len(job.documents))
                else:
                    self._process(job)
            except Exception:  # pragma: no cover - _process handles its own errors
                log.exception("rerank worker error")
            finally:
                with self._cond:
                    for key, owner in list(self._inflight.items()):
                        if owner is job:
                            del self._inflight[key]
                if not job.future.done():
                    job.future.set_result(None)

    def _release(self) -> None:
        reranker, self._reranker = self._reranker, None
        if reranker is None:
            return
        try:
            reranker.close()
        except Exception:
            log.exception("closing the reranker %s failed", reranker.backend)

    def _process(self, job: _Job) -> None:
        if self._state == "fallback":
            return
        if self._reranker is None and not self._load():
            return
        reranker = self._reranker
        assert reranker is not None
        if not job.documents:
            return
        tag = self._tag(job.instruction)
        for start in range(0, len(job.documents), self.chunk_size):
            if job.stale:
                log.debug("rerank job superseded after %d of %d documents", start, len(job.documents))
                return
            chunk = job.documents[start : start + self.chunk_size]
            try:
                scores = reranker.rank(job.query, chunk, job.instruction)
                if len(scores) != len(chunk):
                    raise RerankError(f"{reranker.backend} returned {len(scores)} scores for {len(chunk)} documents")
            except Exception as err:
                self._fail(f"reranker {reranker.backend} failed", err)
                return
            if self._outage:
                self._recover(f"reranker {reranker.backend} answers again; ranking uses it as before")
            for d, s in zip(chunk, scores, strict=True):
                self.cache.put((*tag, job.query, d), float(s))

    def _load(self) -> bool:
        self._set_state("loading", "loading the reranker…")
        t0 = time.monotonic()
        try:
            reranker = self._factory()
        except Exception as err:
            self._fail("could not load the reranker", err)
            return False
        self._reranker = reranker
        message = f"reranker ready: {reranker.backend} {reranker.model} ({time.monotonic() - t0:.1f}s to load)"
        if self._outage:
            self._recover(message)
        else:
            self._set_state("ready", message)
        return True

    def _fail(self, what: str, err: BaseException) -> None:
        """Switch to fallback; report the first failure of an outage with what to fix, only log later ones."""
        if isinstance(err, (BackendUnavailable, RerankError)):
            detail = str(err)
        else:
            detail = f"{type(err).__name__}: {err}".split("\n")[0]
        transient = isinstance(err, RerankError)  # the backend ran and failed: it may come back
        then = "and tries the reranker again now and then" if transient else "until the reranker settings change"
        end = "" if detail.endswith((".", "?", "!")) else "."
        message = f"{what}: {detail}{end} Ranking falls back to the recall order {then}."
        if transient:
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        self.failure = message
        self.cancel()
        self._state = "fallback"
        self._deliver(self._on_status, "fallback", message)
        if self._outage:
            log.warning("%s", message)
            return
        self._outage = True
        log.error("%s", message, exc_info=not isinstance(err, (BackendUnavailable, RerankError)))
        self._deliver(self._on_outage, "failed", message)

    def _recover(self, message: str) -> None:
        """The reranker answers again after an outage: forget the failure, report the recovery once."""
        self._outage = False
        self._backoff = self._first_backoff
        self.failure = ""
        self._set_state("ready", message)
        self._deliver(self._on_outage, "recovered", message)

    def _set_state(self, state: str, message: str) -> None:
        self._state = state
        log.info("%s", message)
        self._deliver(self._on_status, state, message)

    def _deliver(self, callback: Callable[[str, str], None] | None, what: str, message: str) -> None:
        """Call ``callback(what, message)`` on the event loop thread when there is one, else directly; reports keep
        their order."""
        if callback is None:
            return
        loop = self._loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is not None and loop is not current and loop.is_running():
            try:
                loop.call_soon_threadsafe(_call, callback, what, message)
                return
            except RuntimeError:  # loop closed meanwhile
                pass
        _call(callback, what, message)


def _call(callback: Callable[[str, str], None], what: str, message: str) -> None:
    try:
        callback(what, message)
    except Exception:
        log.exception("reranker status callback failed")
