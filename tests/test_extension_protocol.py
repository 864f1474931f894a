"""The custom messages between server and VS Code extension agree: the fields of each payload the server sends
are the fields its TypeScript type in ``vscode-extension/src/protocol.ts`` declares."""

from __future__ import annotations

import pathlib
import re

from texcite.bib.model import Entry
from texcite.ranking import Suggestion
from texcite.lsp.completion import SUGGEST_METHOD, suggestion_json
from texcite.lsp.status import STATUS_METHOD, Status

PROTOCOL = pathlib.Path(__file__).resolve().parent.parent / "vscode-extension" / "src" / "protocol.ts"


def ts_fields(interface: str) -> set[str]:
    text = PROTOCOL.read_text()
    body = re.search(r"export interface " + interface + r" \{(.*?)\n\}", text, re.S)
    assert body, f"protocol.ts has no interface {interface}"
    without_comments = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return set(re.findall(r"^\s*(\w+)\??:", without_comments, re.M))


def ts_string_union(name: str) -> set[str]:
    m = re.search(r"export type " + name + r" = ([^;]+);", PROTOCOL.read_text())
    assert m, f"protocol.ts has no type {name}"
    return set(re.findall(r"'([^']*)'", m.group(1)))


def test_method_names_agree():
    text = PROTOCOL.read_text()
    assert f"'{STATUS_METHOD}'" in text and f"'{SUGGEST_METHOD}'" in text


def test_status_payload_matches_server_status():
    assert set(Status().as_json()) == ts_fields("ServerStatus")
    assert ts_string_union("RerankerState") == {"off", "idle", "loading", "ready", "fallback"}
    assert ts_string_union("RecallState") == {"bm25", "hybrid"}


def test_suggestion_payload_matches_suggestion():
    entry = Entry("k", "article", {"title": "T", "author": "A B", "year": "2020"}, "/x.bib", 0)
    assert set(suggestion_json(Suggestion(entry, 1, 1.0, "bm25", 1.0))) == ts_fields("Suggestion")
    assert ts_fields("SuggestResult") == {"query", "suggestions", "cite"}
    assert ts_fields("CiteContext") == {"keys", "range"}
