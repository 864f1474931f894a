"""A stdlib HTTP server on 127.0.0.1 standing in for `vllm serve`: its /v1/rerank reply is chosen by the test and
may be switched while it runs (``fake.mode = "malformed"``)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
