"""RerankService: deadline + background cache fill, uncached-only work, stale work dropped, one fallback message."""

from __future__ import annotations

import asyncio
import threading

from texcite.rerank.base import BackendUnavailable
from texcite.rerank.service import RerankService

WAIT = 5.0  # generous upper bound for event waits; tests normally finish in milliseconds


class GatedFake:
    """A deliberately slow fake backend: each rank() blocks until the test opens the gate."""

    backend = "fake"
    model = "gated"

    def __init__(self, gated: bool = True) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.closed_on = ""  # the thread that closed it
        self.entered = threading.Event()
        self.gate = threading.Event()
        if not gated:
            self.gate.set()

    def rank(self, query, documents, instruction=None):
        self.calls.append((query, list(documents)))
        self.entered.set()
        assert self.gate.wait(WAIT), "test never opened the gate"
        return [float(len(d)) for d in documents]

    def close(self):
        self.closed_on = threading.current_thread().name


class Recorder:
    def __init__(self) -> None:
        self.statuses: list[tuple[str, str]] = []
        self.fallback = threading.Event()

    def __call__(self, state, message):
        self.statuses.append((state, message))
        if state == "fallback":
            self.fallback.set()

    def states(self):
        return [s for s, _ in self.statuses]


async def test_deadline_returns_none_then_cache_serves():
    fake, rec = GatedFake(), Recorder()
    service = RerankService(lambda: fake, rec, instruction="i")
    try:
        assert await service.scores("q", ["aa", "b"], deadline_s=0.01) is None  # gate closed: too slow
        assert await asyncio.to_thread(fake.entered.wait, WAIT)
        fake.gate.set()
        assert await service.scores("q", ["aa", "b"], deadline_s=WAIT) == [2.0, 1.0]  # waits for the running job
        assert await service.scores("q", ["b", "aa"], deadline_s=0) == [1.0, 2.0]  # pure cache hit
        assert fake.calls == [("q", ["aa", "b"])]
        assert rec.states() == ["loading", "ready"] and "fake gated" in rec.statuses[-1][1]
    finally:
        service.close()


async def test_only_uncached_documents_reach_the_model():
    fake = GatedFake(gated=False)
    service = RerankService(lambda: fake)
    try:
        assert await service.scores("q", ["a", "bb"], deadline_s=WAIT) == [1.0, 2.0]
        assert await service.scores("q", ["a", "bb", "ccc", "a"], deadline_s=WAIT) == [1.0, 2.0, 3.0, 1.0]
        assert await service.scores("other query", ["a"], deadline_s=WAIT) == [1.0]
        assert fake.calls == [("q", ["a", "bb"]), ("q", ["ccc"]), ("other query", ["a"])]
    finally:
        service.close()


async def test_newer_request_from_same_source_drops_queued_work():
    fake = GatedFake()
    service = RerankService(lambda: fake)
    try:
        assert await service.scores("q1", ["x"], deadline_s=0, source="doc.tex") is None
        assert await asyncio.to_thread(fake.entered.wait, WAIT)  # q1 is running
        assert await service.scores("q2", ["x"], deadline_s=0, source="doc.tex") is None  # queued
        assert await service.scores("other", ["y"], deadline_s=0, source="other.tex") is None  # other source
        assert await service.scores("q3", ["x"], deadline_s=0, source="doc.tex") is None  # supersedes q2
        fake.gate.set()
        assert await service.scores("q3", ["x"], deadline_s=WAIT, source="doc.tex") == [1.0]
        assert await service.scores("other", ["y"], deadline_s=WAIT) == [1.0]
        assert [q for q, _ in fake.calls] == ["q1", "other", "q3"]  # q2 was never computed
    finally:
        service.close()


async def test_cancel_drops_unstarted_jobs():
    fake = GatedFake()
    service = RerankService(lambda: fake)
    try:
        assert await service.scores("q1", ["x"], deadline_s=0) is None
        assert await asyncio.to_thread(fake.entered.wait, WAIT)
        assert await service.scores("q2", ["x"], deadline_s=0) is None
        assert service.cancel() == 1
        fake.gate.set()
        assert await service.scores("q1", ["x"], deadline_s=WAIT) == [1.0]
        assert [q for q, _ in fake.calls] == ["q1"]
    finally:
        service.close()


class Broken:
    backend = "fake"
    model = "broken"

    def __init__(self) -> None:
        self.calls = 0

    def rank(self, query, documents, instruction=None):
        self.calls += 1
        raise RuntimeError("device-side assert triggered")

    def close(self):
        pass


async def test_ranking_failure_announces_once_and_falls_back():
    broken, rec = Broken(), Recorder()
    service = RerankService(lambda: broken, rec)
    try:
        assert await service.scores("q", ["a"], deadline_s=WAIT) is None
        assert await asyncio.to_thread(rec.fallback.wait, WAIT)
        assert await service.scores("q2", ["b"], deadline_s=WAIT) is None
        assert service.scores_blocking("q3", ["c"]) is None
        assert service.state == "fallback" and broken.calls == 1
        fallbacks = [m for s, m in rec.statuses if s == "fallback"]
        assert len(fallbacks) == 1
        assert "RuntimeError: device-side assert triggered" in fallbacks[0] and "recall order" in fallbacks[0]
    finally:
        service.close()


async def test_load_failure_says_what_to_install_and_is_not_retried():
    rec = Recorder()
    loads = []

    def missing():
        loads.append(1)
        raise BackendUnavailable("the transformers reranker needs torch; pip install 'texcite[transformers]'")

    service = RerankService(missing, rec)
    try:
        assert await service.scores("q", ["a"], deadline_s=WAIT) is None
        assert await asyncio.to_thread(rec.fallback.wait, WAIT)
        assert "pip install 'texcite[transformers]'" in rec.statuses[-1][1]
        assert "until the reranker settings change" in rec.statuses[-1][1]
        assert await service.scores("q", ["ab"], deadline_s=WAIT) is None
        assert service.scores_blocking("q", ["ab"], timeout_s=WAIT) is None
        assert service.state == "fallback" and len(loads) == 1  # a new setting builds a new service
        assert rec.states() == ["loading", "fallback"]
    finally:
        service.close()


def test_blocking_api_and_eager_start():
    fake, rec = GatedFake(gated=False), Recorder()
    service = RerankService(lambda: fake, rec)
    try:
        service.start()
        assert service.scores_blocking("q", ["abc", "d"], timeout_s=WAIT) == [3.0, 1.0]
        assert service.scores_blocking("q", ["d"]) == [1.0]
        assert fake.calls == [("q", ["abc", "d"])]
        assert rec.states() == ["loading", "ready"]
    finally:
        service.close()


async def test_scores_stay_cached_up_to_the_cache_size():
    fake = GatedFake(gated=False)
    service = RerankService(lambda: fake, cache_size=2)
    try:
        assert await service.scores("q", ["a", "bb"], deadline_s=WAIT) == [1.0, 2.0]
        assert await service.scores("q", ["a"], deadline_s=WAIT) == [1.0]  # cached; a is now the most recent
        assert await service.scores("q", ["ccc"], deadline_s=WAIT) == [3.0]  # bb is forgotten
        assert await service.scores("q", ["a", "bb"], deadline_s=WAIT) == [1.0, 2.0]
        assert fake.calls == [("q", ["a", "bb"]), ("q", ["ccc"]), ("q", ["bb"])]
    finally:
        service.close()


def test_close_waits_for_the_running_job_then_closes_the_reranker_on_its_thread():
    """What the CLI does before it exits: no engine thread may outlive the interpreter."""
    fake = GatedFake()
    service = RerankService(lambda: fake)
    assert service.scores_blocking("q", ["x"], timeout_s=0) is None
    assert fake.entered.wait(WAIT)  # the job runs; the gate holds it
    closing = threading.Thread(target=service.close, kwargs={"wait": True})
    closing.start()
    closing.join(0.1)
    assert closing.is_alive() and fake.closed_on == ""  # the gate is shut: close cannot have finished
    fake.gate.set()
    closing.join(WAIT)
    assert not closing.is_alive() and fake.closed_on == "texcite-rerank"
