"""Protocol conformance: an unknown request gets MethodNotFound (−32601) whatever its params, a known one with
params that do not fit gets InvalidParams; a client that advertises workDoneProgress but never answers
`window/workDoneProgress/create` still gets its completions (the server stops waiting for the token)."""

from __future__ import annotations

from lsp_helpers import EXAMPLE
from test_protocol import INIT, URI, run
from test_tcp import free_port
from test_tcp_access import Peer, start


def test_unknown_requests_are_method_not_found(tmp_path):
    messages = INIT + [
        {"jsonrpc": "2.0", "id": 10, "method": "textDocument/references", "params": {}},  # lsprotocol knows it
        {"jsonrpc": "2.0", "id": 11, "method": "textDocument/references",
         "params": {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0},
                    "context": {"includeDeclaration": True}}},
        {"jsonrpc": "2.0", "id": 12, "method": "no/such/method", "params": [1, 2]},
        {"jsonrpc": "2.0", "id": 13, "method": "textDocument/hover", "params": {"position": "x"}},  # served here
        {"jsonrpc": "2.0", "id": 20, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None}]
    code, answers, _ = run(messages, tmp_path)
    assert code == 0
    assert [answers[i]["error"]["code"] for i in (10, 11, 12)] == [-32601] * 3
    assert answers[13]["error"]["code"] == -32602


def test_a_client_that_never_answers_progress_requests_gets_completions(tmp_path):
    port = free_port()
    proc = start(str(port), tmp_path)
    try:
        peer = Peer("127.0.0.1", port, "127.0.0.1")
        peer.unanswered.add("window/workDoneProgress/create")
        peer.initialize(EXAMPLE, {"recall": {"mode": "bm25"}}, capabilities={"window": {"workDoneProgress": True}})
        peer.send("initialized", {}, request=False)
        assert peer.labels(EXAMPLE / "chapters" / "method.tex", 8, 40)[0] == "nguyen2023distillation"
    finally:
        proc.kill()
        proc.wait()
