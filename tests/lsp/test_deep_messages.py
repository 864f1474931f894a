"""No message ends the server: JSON nested 1,200, 5,000 or 100,000 levels deep is answered with an error (a
request) or dropped (a notification), over stdio and TCP, and the next message is read; a handler that fails, or a
notification's method sent as a request, gets an error answer, never an exit or silence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lsp_helpers import EXAMPLE, HANG_GUARD_S
from test_protocol import INIT, frame, replies
from test_tcp import free_port
from test_tcp_access import Peer, start


def deep(depth: int, request_id: int | None = None) -> bytes:
    """A texcite/status message whose params nest ``depth`` lists; its id (if any) after them, as a fuzzer would."""
    body = b'{"jsonrpc": "2.0", "method": "texcite/status", "params": ' + b"[" * depth + b"]" * depth
    if request_id is not None:
        body += b', "id": %d' % request_id
    body += b"}"
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


STATUS = {"jsonrpc": "2.0", "id": 9, "method": "texcite/status", "params": {}}
DEPTHS = {2: 1200, 3: 5000, 4: 100_000}
ODD = [{"jsonrpc": "2.0", "id": 20, "method": "texcite/suggest", "params": [1, 2]},  # a handler that raises
       {"jsonrpc": "2.0", "id": 21, "method": "workspace/didChangeConfiguration", "params": {"settings": {}}}]


def test_deep_messages_over_stdio(tmp_path):
    stream = b"".join(map(frame, INIT)) + b"".join(deep(n, i) for i, n in DEPTHS.items()) + deep(5000) + b"".join(
        map(frame, [STATUS, {"jsonrpc": "2.0", "id": 10, "method": "shutdown", "params": None},
                    {"jsonrpc": "2.0", "method": "exit", "params": None}]))
    done = subprocess.run([sys.executable, "-m", "texcite", "serve"], input=stream, capture_output=True,
                          timeout=HANG_GUARD_S, env={**os.environ, "TEXCITE_CACHE_DIR": str(tmp_path)})
    answers = replies(done.stdout)
    for i, n in DEPTHS.items():
        assert answers[i]["error"]["code"] == -32600 and "nested deeper" in answers[i]["error"]["message"], n
    assert "result" in answers[9] and done.returncode == 0
    assert b"Traceback" not in done.stderr and b"RecursionError" not in done.stderr


def test_deep_messages_over_tcp_and_failing_handlers(tmp_path):
    port = free_port()
    proc = start(str(port), tmp_path)
    try:
        peer = Peer("127.0.0.1", port, "127.0.0.1")
        assert "result" in peer.initialize(EXAMPLE, {"recall": {"mode": "bm25"}})
        for i, n in DEPTHS.items():
            peer.sock.sendall(deep(n, i) + deep(n))
            answer = peer.read()
            assert answer == {"jsonrpc": "2.0", "id": i, "error": {"code": -32600, "message": answer["error"]["message"]}}
        for message in ODD:
            peer.next_id = message["id"] - 1
            assert "error" in peer.request(message["method"], message["params"])
        assert "result" in peer.request("texcite/status", {})
        proc.terminate()
        assert proc.wait(timeout=HANG_GUARD_S) == 0
        assert "RecursionError" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize("depth", [99, 100])
def test_the_depth_bound(depth):
    """100 levels in all (the message itself and 99 nested lists) are read; 101 are not."""
    from texcite.lsp.framing import TooDeep, loads_bounded

    value = json.loads("[" * depth + "]" * depth)
    body = json.dumps({"jsonrpc": "2.0", "id": "x", "method": "m", "params": value}).encode()
    if depth < 100:
        assert loads_bounded(body)["id"] == "x"
    else:
        with pytest.raises(TooDeep) as err:
            loads_bounded(body)
        assert err.value.request_id == "x"
