"""vllm-http failure modes against tiny local stdlib servers: each fails fast with one actionable message."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time

import pytest
from conftest import free_port
from fake_vllm import LIES, FakeVllm

from texcite.rerank.base import RerankError
from texcite.rerank.service import RerankService
from texcite.rerank.vllm_http import VllmHttpReranker

DOCS = ["doc a", "doc b", "doc c"]


@pytest.fixture
def fake_server(request):
    server = FakeVllm(request.param)
    if request.param == "down":
        server.close()
    yield server
    if request.param != "down":
        server.close()


def client(url: str, **kw) -> VllmHttpReranker:
    kw.setdefault("timeout_ms", 400)
    return VllmHttpReranker(url, "Qwen/Qwen3-Reranker-4B", tokenizer=None, connect_timeout_s=0.5, **kw)


@pytest.mark.parametrize("fake_server", ["ok"], indirect=True)
def test_success_maps_indices_and_sends_halves_and_key(fake_server):
    c = client(fake_server.url, api_key="s3cret")
    assert c.rank("my query", DOCS) == [0.1, 0.2, 0.3]
    req = fake_server.requests[0]
    assert req["model"] == "Qwen/Qwen3-Reranker-4B" and req["top_n"] == 3
    assert req["query"].startswith("<|im_start|>system\n") and req["query"].endswith("<Query>: my query\n")
    assert req["documents"][0].startswith("<Document>: doc a<|im_end|>")
    assert fake_server.headers[0]["Authorization"] == "Bearer s3cret"


def test_server_down_fails_fast():
    c = client(f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    with pytest.raises(RerankError, match="cannot connect to .*start `vllm serve`"):
        c.rank("q", DOCS, budget_s=1.0)
    assert time.monotonic() - t0 < 2.0


def test_a_refused_connection_is_said_without_waiting_out_the_timeouts(caplog):
    """Nothing listens at the URL: three attempts, not retries until the default connect and read timeouts (13 s)
    run out."""
    c = VllmHttpReranker(f"http://127.0.0.1:{free_port()}", "Qwen/Qwen3-Reranker-4B", tokenizer=None)  # defaults
    with caplog.at_level(logging.DEBUG, logger="texcite.rerank.vllm_http"), \
            pytest.raises(RerankError, match=r"cannot connect to .*\(Connection refused\)"):
        c.rank("q", DOCS)
    assert [r.getMessage().split(" (")[0] for r in caplog.records if "retrying" in r.getMessage()] == [
        "vllm-http attempt 1 failed", "vllm-http attempt 2 failed"]


@pytest.mark.parametrize("fake_server", ["slow"], indirect=True)
def test_slow_server_times_out_within_budget(fake_server):
    t0 = time.monotonic()
    with pytest.raises(RerankError, match="did not answer within .*timeoutMs"):
        client(fake_server.url).rank("q", DOCS, budget_s=5.0)
    assert time.monotonic() - t0 < 1.5
    assert len(fake_server.requests) == 1  # a read timeout is not retried


@pytest.mark.parametrize("fake_server", ["500"], indirect=True)
def test_http_500_is_retried_then_reported(fake_server):
    t0 = time.monotonic()
    with pytest.raises(RerankError, match="HTTP 500: CUDA out of memory"):
        client(fake_server.url).rank("q", DOCS, budget_s=1.0)
    assert time.monotonic() - t0 < 1.5
    assert len(fake_server.requests) >= 2


@pytest.mark.parametrize(("fake_server", "pattern"), [("malformed", "malformed reply"), ("short", "1 results for 3"),
                                                      ("404", "404.*--runner pooling")], indirect=["fake_server"])
def test_bad_replies_are_reported(fake_server, pattern):
    with pytest.raises(RerankError, match=pattern) as info:
        client(fake_server.url).rank("q", DOCS, budget_s=1.0)
    assert "\n" not in str(info.value)
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("fake_server", ["slow", "500", "malformed", "down"], indirect=True)
def test_service_reports_one_failure(fake_server):
    url = fake_server.url if fake_server.mode != "down" else f"http://127.0.0.1:{free_port()}"
    reported = threading.Event()
    outages: list[tuple[str, str]] = []

    def on_outage(change, message):
        outages.append((change, message))
        reported.set()

    service = RerankService(lambda: client(url, timeout_ms=300), on_outage=on_outage)

    async def go():
        t0 = time.monotonic()
        first = await service.scores("q", DOCS, deadline_s=3.0)
        await asyncio.to_thread(reported.wait, 5)
        second = await service.scores("q2", DOCS, deadline_s=3.0)
        return first, second, time.monotonic() - t0

    try:
        first, second, elapsed = asyncio.run(go())
    finally:
        fake_server.release.set()
        service.close()
    assert first is None and second is None and elapsed < 3.0
    assert service.state == "fallback"
    assert len(outages) == 1 and outages[0][0] == "failed"
    assert "vllm-http" in outages[0][1] and "falls back to the recall order" in outages[0][1]


@pytest.mark.parametrize("fake_server", ["ok"], indirect=True)
def test_an_outage_is_reported_once_as_it_begins_and_once_as_it_ends(fake_server):
    """However many requests fail while the server is broken, one "failed"; one "recovered" once it answers again,
    with the failure forgotten; the next outage is reported anew."""
    outages: list[tuple[str, str]] = []
    service = RerankService(lambda: client(fake_server.url), on_outage=lambda c, m: outages.append((c, m)),
                            first_backoff_s=0.05)
    queries = itertools.count()

    async def keystrokes(until):
        """New queries, as a writer types, until ``until(scores)``; returns those scores."""
        for _ in range(400):
            got = await service.scores(f"query {next(queries)}", DOCS, deadline_s=5.0)
            if until(got):
                return got
            await asyncio.sleep(0.05)  # the next keystroke
        raise AssertionError(f"never happened; outages: {outages}")

    async def go():
        assert await keystrokes(lambda got: True) is not None
        assert outages == []
        fake_server.mode = "malformed"
        before = len(fake_server.requests)
        await keystrokes(lambda got: len(fake_server.requests) >= before + 3)  # three failures reach the server
        assert [c for c, _ in outages] == ["failed"] and "malformed reply" in outages[0][1]
        assert service.state == "fallback" and "malformed reply" in service.failure

        fake_server.mode = "ok"
        await keystrokes(lambda got: got is not None)
        assert [c for c, _ in outages] == ["failed", "recovered"] and "answers again" in outages[1][1]
        assert service.state == "ready" and service.failure == ""

        fake_server.mode = "malformed"
        assert await keystrokes(lambda got: True) is None
        assert [c for c, _ in outages] == ["failed", "recovered", "failed"]

    try:
        asyncio.run(go())
    finally:
        service.close()


@pytest.mark.parametrize("fake_server", list(LIES), indirect=True)
def test_replies_that_lie_are_refused(fake_server):
    with pytest.raises(RerankError, match="malformed reply"):
        client(fake_server.url).rank("q", DOCS, budget_s=1.0)


@pytest.mark.parametrize("fake_server", ["huge"], indirect=True)
def test_a_huge_reply_is_refused(fake_server):
    with pytest.raises(RerankError, match="reply over 8 MB"):
        client(fake_server.url, timeout_ms=5000).rank("q", DOCS, budget_s=5.0)


@pytest.mark.parametrize("fake_server", ["trickle"], indirect=True)
def test_a_trickling_server_cannot_stretch_the_deadline(fake_server):
    t0 = time.monotonic()
    with pytest.raises(RerankError, match="did not answer within"):
        client(fake_server.url, timeout_ms=400).rank("q", DOCS, budget_s=1.0)
    assert time.monotonic() - t0 < 1.5  # one deadline for the exchange, not one per byte


@pytest.mark.parametrize("fake_server", ["flaky"], indirect=True)
def test_reranking_comes_back_when_the_server_does(fake_server):
    statuses: list[str] = []
    service = RerankService(lambda: client(fake_server.url, timeout_ms=300), lambda s, m: statuses.append(s),
                            first_backoff_s=0.05)

    async def go():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            got = await service.scores("q", DOCS, deadline_s=2.0)
            if got is not None:
                return got
            await asyncio.sleep(0.05)  # the next keystroke
        return None

    try:
        assert asyncio.run(go()) == [0.5, 0.5, 0.5]
    finally:
        service.close()
    assert "fallback" in statuses and statuses[-1] == "ready" and service.state == "ready"
