"""`texcite serve --tcp`: any number of clients, one after another and at the same time, each its own session;
`exit` ends one connection only; SIGTERM and SIGINT stop the server cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lsp_helpers import EXAMPLE, HANG_GUARD_S


class RawClient:
    """A minimal LSP client over a socket: framed JSON-RPC, requests answered in order of reading."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
        self.buffer = b""
        self.next_id = 0

    def send(self, method: str, params, request: bool = True):
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.next_id if request else None

    def _read(self) -> dict:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            rest += chunk
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def request(self, method: str, params):
        wanted = self.send(method, params)
        while True:
            message = self._read()
            if message.get("id") == wanted and "method" not in message:
                return message.get("result")
            if "method" in message and "id" in message:  # a server->client request: answer it
                self.sock.sendall(self._reply(message["id"]))

    @staticmethod
    def _reply(request_id) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": None}).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def open_session(self, root) -> None:
        self.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                    "initializationOptions": {"recall": {"mode": "bm25"}}})
        self.send("initialized", {}, request=False)

    def completion_labels(self, path, line: int, character: int) -> list[str]:
        uri = path.as_uri()
        self.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "latex", "version": 1,
                                                            "text": path.read_text()}}, request=False)
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:  # empty while the first request indexes the bib
            result = self.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                              "position": {"line": line, "character": character}})
            if result and result["items"]:
                return [i["label"] for i in result["items"]]
        raise AssertionError("no completion items")

    def close(self) -> None:
        self.request("shutdown", None)
        self.send("exit", None, request=False)
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tcp_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "texcite", "serve", "--tcp", f"127.0.0.1:{port}"],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TEXCITE_CACHE_DIR": str(tmp_path / "cache")})
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)  # polling for the listening socket; no notification exists before a connection
    yield proc, port
    if proc.poll() is None:
        proc.kill()
    proc.wait()


METHOD = EXAMPLE / "chapters" / "method.tex"


def test_clients_one_after_another_and_at_once(tcp_server):
    proc, port = tcp_server
    first, second = RawClient(port), RawClient(port)
    first.open_session(EXAMPLE)
    second.open_session(EXAMPLE)
    assert first.completion_labels(METHOD, 8, 40)[0] == "nguyen2023distillation"
    assert second.completion_labels(METHOD, 8, 40)[0] == "nguyen2023distillation"
    first.close()  # one client leaving ends its session only
    assert second.completion_labels(METHOD, 8, 40)[0] == "nguyen2023distillation"
    second.close()
    third = RawClient(port)
    third.open_session(EXAMPLE)
    assert third.completion_labels(METHOD, 8, 40)[0] == "nguyen2023distillation"
    third.close()
    assert proc.poll() is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(tcp_server, sig):
    proc, port = tcp_server
    client = RawClient(port)
    client.open_session(EXAMPLE)
    proc.send_signal(sig)
    assert proc.wait(timeout=HANG_GUARD_S) == 0
    assert "Traceback" not in proc.stderr.read()
