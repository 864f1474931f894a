"""`texcite serve --tcp` is never open by accident: loopback unless an address is named; any other address needs
the token printed at start (or $TEXCITE_TCP_TOKEN); a TCP client reads only files of a LaTeX project under the
workspace folders it declared. Clients connect from a second address of the machine (127.0.0.2)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from lsp_helpers import EXAMPLE, HANG_GUARD_S
from test_tcp import RawClient, free_port

SECOND = "127.0.0.2"  # another address of this machine: the peer is not the server's own address


class Peer(RawClient):
    """A raw LSP client on a socket bound to ``source`` (framing and ``send`` as ``RawClient``'s); keeps the
    notifications it reads, and tells a closed connection from a message."""

    def __init__(self, host: str, port: int, source: str = SECOND) -> None:  # not RawClient's: this one binds a source
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(HANG_GUARD_S)
        self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buffer = b""
        self.next_id = 0
        self.notifications: list[dict] = []
        self.unanswered: set[str] = set()  # server->client requests this client never answers

    def read(self) -> dict | None:
        """The next message; None when the server closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: *(\d+)", head, re.I).group(1))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        self.buffer = rest[length:]
        return json.loads(rest[:length])

    def request(self, method: str, params) -> dict:
        """The whole response (result or error) to a request."""
        wanted = self.send(method, params)
        while True:
            message = self.read()
            assert message is not None, "server closed the connection"
            if message.get("id") == wanted and "method" not in message:
                return message
            if "method" in message and "id" in message and message["method"] in self.unanswered:
                continue
            if "method" in message and "id" in message:  # a server->client request: answer it
                body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}).encode()
                self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            elif "method" in message:
                self.notifications.append(message)

    def closed(self) -> bool:
        """True once the server has closed the connection (messages before that are skipped)."""
        while True:
            try:
                if self.read() is None:
                    return True
            except ConnectionResetError:
                return True

    def initialize(self, root, options: dict, capabilities: dict | None = None) -> dict:
        return self.request("initialize", {"processId": None, "rootUri": root.as_uri(),
                                           "capabilities": capabilities or {},
                                           "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                                           "initializationOptions": options})

    def labels(self, path, line: int, character: int) -> list[str]:
        uri = path.as_uri()
        self.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "latex", "version": 1,
                                                            "text": path.read_text()}}, request=False)
        deadline = time.monotonic() + HANG_GUARD_S
        items: list = []
        while time.monotonic() < deadline and not items:  # empty while the first request indexes the bib
            result = self.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                              "position": {"line": line, "character": character}})
            items = result["result"]["items"]
        return [i["label"] for i in items]


def start(address: str, tmp_path, env: dict | None = None):
    proc = subprocess.Popen([sys.executable, "-m", "texcite", "serve", "--tcp", address], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "TEXCITE_CACHE_DIR": str(tmp_path / "cache"), **(env or {})})
    port = int(address.rpartition(":")[2])
    deadline = time.monotonic() + HANG_GUARD_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)  # polling for the listening socket; no notification exists before a connection
    raise AssertionError("server did not listen")


def stop(proc) -> str:
    proc.terminate()
    proc.wait(timeout=HANG_GUARD_S)
    return proc.stderr.read()


@pytest.fixture
def servers():
    procs: list = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_bare_port_listens_on_loopback_only(tmp_path, servers):
    port = free_port()
    servers.append(start(str(port), tmp_path))
    with pytest.raises(ConnectionRefusedError):  # 127.0.0.2 is this machine, but not the address bound
        Peer(SECOND, port)
    peer = Peer("127.0.0.1", port)
    assert "result" in peer.initialize(EXAMPLE, {})  # loopback: no token asked


def test_another_address_needs_the_token_printed_once(tmp_path, servers):
    port = free_port()
    servers.append(proc := start(f"0.0.0.0:{port}", tmp_path))
    banner = proc.stderr.readline()
    token = re.search(r"initializationOptions\.token = (\S+)", banner).group(1)
    assert len(token) >= 32

    for options in ({}, {"token": "wrong"}, {"token": token[:-1]}, {"token": [token]}):
        peer = Peer(SECOND, port)
        answer = peer.initialize(EXAMPLE, options)
        assert answer["error"]["code"] == -32600 and "token" in answer["error"]["message"]
        assert token not in json.dumps(answer)
        assert peer.closed()
    peer = Peer(SECOND, port)  # anything but `initialize` first is refused too
    assert "error" in peer.request("texcite/status", {}) and peer.closed()

    peer = Peer(SECOND, port)
    assert "result" in peer.initialize(EXAMPLE, {"token": token, "recall": {"mode": "bm25"}})
    peer.send("initialized", {}, request=False)
    assert peer.labels(EXAMPLE / "chapters" / "method.tex", 8, 40)[0] == "nguyen2023distillation"
    assert not any("token" in json.dumps(n) for n in peer.notifications)  # not taken for an unknown setting
    log = banner + stop(proc)
    assert log.count(token) == 1


def test_a_client_that_sends_nothing_is_closed(tmp_path, servers, monkeypatch):
    port = free_port()
    servers.append(start(f"0.0.0.0:{port}", tmp_path, {"TEXCITE_TCP_TOKEN": "a-token-set-by-the-user"}))
    peer = Peer(SECOND, port)
    peer.sock.sendall(b"Content-Length: 100\r\n\r\n{")  # starts a message and stalls
    assert peer.closed()  # after AUTH_TIMEOUT_S, not never


def test_a_tcp_client_reads_only_its_workspace(tmp_path, servers):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir(), outside.mkdir()
    entry = "@article{%s, title={Deep learning of %s}, author={A. Author}, year={2020}}\n"
    (work / "refs.bib").write_text(entry % ("inside2020", "inside things"))
    (outside / "secret.bib").write_text(entry % ("secret2020", "secret things"))
    (work / "link.bib").symlink_to(outside / "secret.bib")
    (work / "notes.txt").write_text(entry % ("notes2020", "private notes"))
    (work / "main.tex").write_text("\\documentclass{article}\n\\begin{document}\nDeep learning \\cite{}\n"
                                   "\\bibliography{refs,../outside/secret,link,notes.txt}\n\\end{document}\n")
    port = free_port()
    servers.append(start(str(port), tmp_path))
    peer = Peer("127.0.0.1", port, "127.0.0.1")
    peer.initialize(work, {"recall": {"mode": "bm25"}, "bibFiles": [str(outside / "secret.bib")]})
    peer.send("initialized", {}, request=False)
    assert peer.labels(work / "main.tex", 2, 20) == ["inside2020"]
    peer.request("texcite/status", {})
    refused = [d["message"] for n in peer.notifications if n["method"] == "textDocument/publishDiagnostics"
               for d in n["params"]["diagnostics"]]
    assert any("outside the workspace folders" in m for m in refused)


def test_what_a_tcp_client_accepts_is_not_remembered(tmp_path, servers):
    port = free_port()
    servers.append(start(str(port), tmp_path))
    paper = tmp_path / "paper"
    shutil.copytree(EXAMPLE, paper)
    method = paper / "chapters" / "method.tex"
    line = method.read_text().splitlines()[8]  # "... distillation loss of \cite{} we train ..."
    at = line.rindex("{}") + 1
    peer = Peer("127.0.0.1", port, "127.0.0.1")
    peer.initialize(paper, {"recall": {"mode": "bm25", "remember": True}})
    peer.send("initialized", {}, request=False)
    key = peer.labels(method, 8, at)[0]
    peer.send("textDocument/didChange", {"textDocument": {"uri": method.as_uri(), "version": 2}, "contentChanges": [
        {"range": {"start": {"line": 8, "character": at}, "end": {"line": 8, "character": at}}, "text": key}]},
        request=False)
    peer.request("shutdown", None)  # the server reads what was accepted before it stops: nothing, for a TCP client
    assert not (tmp_path / "cache" / "memory").exists()
