"""The reranker's API key never reaches a log line, a message or the status — at any log level — and may come from
$TEXCITE_RERANKER_API_KEY instead of a settings file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lsp_helpers import EXAMPLE, HANG_GUARD_S
from texcite.settings import parse_settings

KEY = "sk-live-0123456789abcdef"
PASSWORD = "hunter2-secret"


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_the_key_is_in_no_log_line_message_or_status(tmp_path):
    options = {"reranker": {"backend": "vllm-http", "apiKey": KEY, "url": f"http://me:{PASSWORD}@127.0.0.1:9"},
               "recall": {"mode": "bm25"}, "completion": {"maxItems": "not a number"}}
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": EXAMPLE.as_uri(), "capabilities": {}, "initializationOptions": options}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "texcite/status", "params": {}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    run = subprocess.run([sys.executable, "-m", "texcite", "serve"], input=b"".join(map(frame, messages)),
                         capture_output=True, timeout=HANG_GUARD_S,
                         env={**os.environ, "TEXCITE_LOG": "DEBUG", "TEXCITE_CACHE_DIR": str(tmp_path)})
    out, err = run.stdout.decode(), run.stderr.decode()
    assert '"rerankerBackend": "vllm-http"' in out  # the status answered
    assert "maxItems" in out  # the settings warning was shown
    for secret in (KEY, PASSWORD):
        assert secret not in out and secret not in err


def test_the_key_may_come_from_the_environment():
    assert parse_settings({}, env={"TEXCITE_RERANKER_API_KEY": KEY}).reranker.api_key == KEY
    assert parse_settings({"reranker.apiKey": "x"}, env={"TEXCITE_RERANKER_API_KEY": KEY}).reranker.api_key == "x"
    assert KEY not in repr(parse_settings({}, env={"TEXCITE_RERANKER_API_KEY": KEY}))
