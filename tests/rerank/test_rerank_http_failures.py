"""vllm-http failure modes against tiny local stdlib servers: each fails fast with one actionable message."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import free_port

from texcite.rerank.base import RerankError
from texcite.rerank.service import RerankService
from texcite.rerank.vllm_http import VllmHttpReranker

DOCS = ["doc a", "doc b", "doc c"]
# Replies that parse as JSON but lie: each must be refused, never shown as a rerank.
LIES = {
    "nan": lambda n: json.dumps({"results": [{"index": i, "relevance_score": float("nan")} for i in range(n)]}),
    "inf": lambda n: '{"results": [' + ",".join(f'{{"index": {i}, "relevance_score": 1e999}}' for i in range(n)) + "]}",
    "shifted": lambda n: json.dumps({"results": [{"index": i + 1, "relevance_score": 0.5} for i in range(n)]}),
    "boolean": lambda n: json.dumps({"results": [{"index": i == 1, "relevance_score": 0.5} for i in range(n)]}),
    "twice": lambda n: json.dumps({"results": [{"index": 0, "relevance_score": 0.5} for _ in range(n)]}),
    "string": lambda n: json.dumps({"results": [{"index": i, "relevance_score": "high"} for i in range(n)]}),
}


class FakeVllm:
    """A stdlib HTTP server on 127.0.0.1 whose /v1/rerank reply is chosen by the test."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                if fake.mode == "slow":
                    fake.release.wait(10)
                    status, reply = 200, b"{}"
                elif fake.mode == "500":
                    status, reply = 500, b'{"error": {"message": "CUDA out of memory"}}'
                elif fake.mode == "malformed":
                    status, reply = 200, b"<html>not json</html>"
                elif fake.mode == "short":
                    status, reply = 200, json.dumps({"results": [{"index": 0, "relevance_score": 0.5}]}).encode()
                elif fake.mode == "404":
                    status, reply = 404, b'{"error": {"message": "The model `x` does not exist."}}'
                elif fake.mode in LIES:
                    n = len(body["documents"])
                    status, reply = 200, LIES[fake.mode](n).encode()
                elif fake.mode == "huge":
                    status, reply = 200, b'{"results": [' + b" " * (9 << 20) + b"]}"
                elif fake.mode == "trickle":  # headers at once, then one byte every 50 ms
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(1000):
                        if fake.release.wait(0.05):
                            return
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                elif fake.mode == "flaky":  # failing for a second after the first request, then well
                    fake.first = getattr(fake, "first", None) or time.monotonic()
                    if time.monotonic() - fake.first < 1.0:
                        status, reply = 500, b'{"error": {"message": "restarting"}}'
                    else:
                        n = len(body["documents"])
                        status, reply = 200, json.dumps({"results": [{"index": i, "relevance_score": 0.5}
                                                                     for i in range(n)]}).encode()
                else:  # ok: results sorted by score, as vLLM returns them
                    n = len(body["documents"])
                    results = [{"index": i, "relevance_score": (i + 1) / 10} for i in reversed(range(n))]
                    status, reply = 200, json.dumps({"results": results}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


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
def test_service_announces_one_fallback(fake_server):
    url = fake_server.url if fake_server.mode != "down" else f"http://127.0.0.1:{free_port()}"
    announced = threading.Event()
    statuses: list[tuple[str, str]] = []

    def on_status(state, message):
        statuses.append((state, message))
        if state == "fallback":
            announced.set()

    service = RerankService(lambda: client(url, timeout_ms=300), on_status)

    async def go():
        t0 = time.monotonic()
        first = await service.scores("q", DOCS, deadline_s=3.0)
        await asyncio.to_thread(announced.wait, 5)
        second = await service.scores("q2", DOCS, deadline_s=3.0)
        return first, second, time.monotonic() - t0

    try:
        first, second, elapsed = asyncio.run(go())
    finally:
        fake_server.release.set()
        service.close()
    assert first is None and second is None and elapsed < 3.0
    assert service.state == "fallback"
    fallbacks = [m for s, m in statuses if s == "fallback"]
    assert len(fallbacks) == 1 and "vllm-http" in fallbacks[0]


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
