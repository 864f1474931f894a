"""Protocol conformance where pygls alone falls short: invalid params are answered with InvalidParams, requests
after `shutdown` with InvalidRequest, and `exit` ends the process at once (0 after shutdown, 1 without)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from lsp_helpers import EXAMPLE, HANG_GUARD_S


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def replies(stdout: bytes) -> dict:
    """Responses by id, from the server's framed output."""
    out = {}
    while stdout:
        head, _, rest = stdout.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        message = json.loads(rest[:length])
        if "id" in message and "method" not in message:
            out[message["id"]] = message
        stdout = rest[length:]
    return out


def run(messages: list[dict], tmp_path) -> tuple[int, dict, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "texcite", "serve"], input=b"".join(map(frame, messages)),
                          capture_output=True, timeout=HANG_GUARD_S,
                          env={**os.environ, "TEXCITE_CACHE_DIR": str(tmp_path)})
    return done.returncode, replies(done.stdout), time.monotonic() - started


INIT = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": EXAMPLE.as_uri(), "capabilities": {},
                    "initializationOptions": {"recall": {"mode": "bm25"}}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}}]
URI = (EXAMPLE / "chapters" / "method.tex").as_uri()


def test_invalid_params_and_requests_after_shutdown_are_answered(tmp_path):
    bad_positions = [-1, 2 ** 63, "eight"]
    messages = INIT + [
        {"jsonrpc": "2.0", "id": 10 + i, "method": "textDocument/hover",
         "params": {"textDocument": {"uri": URI}, "position": {"line": p, "character": 0}}}
        for i, p in enumerate(bad_positions)
    ] + [{"jsonrpc": "2.0", "id": 20, "method": "shutdown", "params": None},
         {"jsonrpc": "2.0", "id": 21, "method": "texcite/status", "params": {}},
         {"jsonrpc": "2.0", "method": "exit", "params": None}]
    code, answers, _ = run(messages, tmp_path)
    assert code == 0
    for i in range(len(bad_positions)):
        assert answers[10 + i]["error"]["code"] == -32602, answers.get(10 + i)
    assert answers[20]["result"] is None
    assert answers[21]["error"]["code"] == -32600


def test_exit_without_shutdown_ends_at_once_with_code_1(tmp_path):
    code, answers, seconds = run(INIT + [{"jsonrpc": "2.0", "method": "exit", "params": None}], tmp_path)
    assert code == 1 and 1 in answers and seconds < HANG_GUARD_S
