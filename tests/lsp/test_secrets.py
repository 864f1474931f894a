"""The reranker's API key never reaches a log line, a message or the status — at any log level — and may come from
$TEXCITE_RERANKER_API_KEY instead of a settings file; no shape of secret (a key with spaces, a list, a URL's user
information in any form, query-string tokens) is printed by the server or the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lsp_helpers import EXAMPLE, HANG_GUARD_S
from texcite.runtime import redact
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


# Every shape a secret setting was seen in, with the strings that must never be printed.
SHAPES = {
    "key with a space and a comma": ({"apiKey": "sk-space-AAA1 BBB2-ccc,DDD3-eee"},
                                     ["sk-space-AAA1", "BBB2-ccc", "DDD3-eee"]),
    "key as a list": ({"apiKey": ["sk-list-one111", "sk-list-two222"]}, ["sk-list-one111", "sk-list-two222"]),
    "key as an object and a number": ({"apiKey": {"k": "sk-dict-333"}}, ["sk-dict-333"]),
    "key as a number": ({"apiKey": 987654321123}, ["987654321123"]),
    "password and no user": ({"url": "http://:pw-nouser-444@127.0.0.1:9"}, ["pw-nouser-444"]),
    "token as the user": ({"url": "http://tok-user-555@127.0.0.1:9"}, ["tok-user-555"]),
    "password with an @": ({"url": "http://me:pa@ss-666@127.0.0.1:9"}, ["pa@ss-666", "ss-666"]),
    "query-string tokens": ({"url": "http://127.0.0.1:9/v1?api_key=qs-key-777&token=qs-tok-888"},
                            ["qs-key-777", "qs-tok-888"]),
}


class StdioSession:
    """`texcite serve` at DEBUG over pipes (its log in a file), read message by message."""

    def __init__(self, tmp_path) -> None:
        self.log = tmp_path / "server.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "texcite", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log.open("wb"),
                                     env={**os.environ, **OFFLINE, "TEXCITE_LOG": "DEBUG",
                                          "TEXCITE_CACHE_DIR": str(tmp_path)})
        self.seen: list[bytes] = []

    def send(self, message: dict) -> None:
        self.proc.stdin.write(frame(message))
        self.proc.stdin.flush()

    def until(self, done) -> dict:
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = self.proc.stdout.read(1)
                assert byte, self.log.read_text()[-2000:]
                head += byte
            body = self.proc.stdout.read(int(head.split(b":")[1].split(b"\r")[0]))
            self.seen.append(body)
            message = json.loads(body)
            if done(message):
                return message

    def close(self) -> str:
        """Everything the server printed: its messages and its log."""
        self.send({"jsonrpc": "2.0", "id": 99, "method": "shutdown", "params": None})
        self.send({"jsonrpc": "2.0", "method": "exit", "params": None})
        self.proc.stdin.close()
        self.seen.append(self.proc.stdout.read())
        assert self.proc.wait(timeout=HANG_GUARD_S) == 0
        return b"".join(self.seen).decode() + self.log.read_text()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_no_shape_of_secret_is_printed_by_the_server(tmp_path, shape):
    reranker, secrets = SHAPES[shape]
    options = {"reranker": {"backend": "vllm-http", "url": "http://127.0.0.1:9", "timeoutMs": 100, **reranker},
               "recall": {"mode": "bm25"}}
    method = EXAMPLE / "chapters" / "method.tex"
    suggest = {"textDocument": {"uri": method.as_uri()}, "position": {"line": 8, "character": 40}}
    server = StdioSession(tmp_path)
    server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": EXAMPLE.as_uri(), "capabilities": {}, "initializationOptions": options}})
    server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": method.as_uri(), "languageId": "latex", "version": 1, "text": method.read_text()}}})
    server.until(lambda m: m.get("method") == "texcite/status" and m["params"]["reranker"] not in ("idle", "loading"))
    server.send({"jsonrpc": "2.0", "id": 2, "method": "texcite/suggest", "params": suggest})  # the reranker fails
    server.until(lambda m: m.get("id") == 2)
    server.send({"jsonrpc": "2.0", "id": 3, "method": "workspace/didChangeConfiguration",  # misused: logged
                 "params": {"settings": {"texcite": options}}})
    server.send({"jsonrpc": "2.0", "id": 4, "method": "texcite/status", "params": {}})
    server.until(lambda m: m.get("id") == 4)
    text = server.close()
    assert "cannot connect to http://127.0.0.1:9" in text and "«hidden»" in text
    for secret in secrets:
        assert secret not in text, (shape, secret)


OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # the tokenizer is not looked for on the network


@pytest.mark.parametrize("flags", [[], ["-v", "--json"]])
def test_no_url_password_in_cli_output(flags):
    url = "http://me:cli-PW-999@127.0.0.1:9/?token=cli-tok-000"
    verbose, json_out = flags[:1] if "-v" in flags else [], flags[1:] if "-v" in flags else flags
    run = subprocess.run([sys.executable, "-m", "texcite", *verbose, "suggest", str(EXAMPLE / "chapters" / "method.tex"),
                          "--line", "8", "--character", "40", "--recall", "bm25", "--reranker", "vllm-http",
                          "--url", url, *json_out], capture_output=True, text=True, timeout=HANG_GUARD_S,
                         env={**os.environ, **OFFLINE})
    assert run.returncode == 0, run.stderr
    assert "127.0.0.1:9" in run.stdout + run.stderr  # the failure or the ranking names the server
    for secret in ("cli-PW-999", "cli-tok-000"):
        assert secret not in run.stdout + run.stderr


def test_redact_hides_every_shape_and_tracebacks(caplog):
    for text in ['{"apiKey": "a b, c"}', "{'apiKey': ['a1', {'b': 'c2'}]}", "apiKey=xyz1", "http://:s3cr@h",
                 "http://t0k1@h/x", "http://u:p@s@h", "http://h/?api_key=k9&x=1&access_token=t8", "Bearer bt7"]:
        hidden = redact(text)
        assert "«hidden»" in hidden
        for secret in ("a b", "c2", "a1", "xyz1", "s3cr", "t0k1", "p@s", "k9", "t8", "bt7"):
            assert secret not in hidden, (text, hidden)
    assert redact("max_items: 5, tokens=3, http://gpu:8000/v1") == "max_items: 5, tokens=3, http://gpu:8000/v1"
