"""The custom messages between server and VS Code extension agree: the fields of each payload the server sends
are the fields its TypeScript type in ``vscode-extension/src/protocol.ts`` declares."""

from __future__ import annotations

import pathlib
import re

from texcite.bib.model import Entry
from texcite.ranking import Suggestion
from texcite.lsp.completion import SUGGEST_METHOD, suggestion_json
from texcite.lsp.status import STATUS_METHOD, Status
from texcite.stages import Stages

PROTOCOL = pathlib.Path(__file__).resolve().parents[2] / "vscode-extension" / "src" / "protocol.ts"


def ts_fields(interface: str) -> set[str]:
    text = PROTOCOL.read_text()
    body = re.search(r"export interface " + interface + r" \{(.*?)\n\}", text, re.S)
    assert body, f"protocol.ts has no interface {interface}"
    without_comments = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return set(re.findall(r"^\s*(\w+)\??:", without_comments, re.M))


def ts_field_types(interface: str) -> dict[str, str]:
    """Each field's TypeScript type as written ('string', 'number | null', 'RerankerState', ...)."""
    text = PROTOCOL.read_text()
    body = re.search(r"export interface " + interface + r" \{(.*?)\n\}", text, re.S)
    assert body, f"protocol.ts has no interface {interface}"
    without_comments = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return {name: kind.strip() for name, kind in re.findall(r"^\s*(\w+)\??:\s*([^;]+);", without_comments, re.M)}


def conforms(value: object, ts_type: str) -> bool:
    """Does a JSON value have the TypeScript type (the primitives, arrays of them, null, and string unions)?"""
    if "|" in ts_type and not ts_type.startswith("'"):
        return any(conforms(value, part.strip()) for part in ts_type.split("|"))
    if ts_type == "null":
        return value is None
    if ts_type == "string":
        return isinstance(value, str)
    if ts_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ts_type == "boolean":
        return isinstance(value, bool)
    if ts_type.endswith("[]"):
        return isinstance(value, list) and all(conforms(v, ts_type[:-2]) for v in value)
    return value in ts_string_union(ts_type)


def ts_string_union(name: str) -> set[str]:
    m = re.search(r"export type " + name + r" = ([^;]+);", PROTOCOL.read_text())
    assert m, f"protocol.ts has no type {name}"
    return set(re.findall(r"'([^']*)'", m.group(1)))


def test_method_names_agree():
    text = PROTOCOL.read_text()
    assert f"'{STATUS_METHOD}'" in text and f"'{SUGGEST_METHOD}'" in text


def test_status_payload_matches_server_status():
    assert set(Status().as_json()) == ts_fields("ServerStatus")
    assert ts_string_union("DenseState") == {"off", "on", "failed"}
    assert ts_string_union("RerankerState") == {"off", "idle", "loading", "ready", "fallback"}
    assert ts_string_union("RecallState") == {"bm25", "hybrid"}
    assert ts_string_union("DenseLoading") == {"", "model", "embedding"}


def _statuses() -> list[Status]:
    """Payloads the server sends: starting, each dense and reranker state, loading, embedding, answered."""
    qwen = {"reranker_backend": "vllm-http", "reranker_model": "Qwen/Qwen3-Reranker-4B",
            "reranker_url": "http://gpu:8000"}
    statuses = [Status()]
    statuses += [Status(stages=Stages(recall="hybrid", dense=dense)) for dense in ("off", "on", "failed")]
    statuses += [Status(stages=Stages(recall="hybrid", dense="on", reranker=state, **qwen), recall="hybrid")
                 for state in ("idle", "loading", "ready", "fallback")]
    statuses.append(Status(stages=Stages(recall="hybrid", dense="on"), dense_loading="model"))
    statuses.append(Status(stages=Stages(recall="hybrid", dense="on"), dense_loading="embedding", embedded=120,
                           to_embed=224, indexed_entries=224, bib_files=["/w/refs.bib"], last_latency_ms=41.6))
    return statuses


def test_status_values_have_the_declared_types():
    types = ts_field_types("ServerStatus")
    for status in _statuses():
        payload = status.as_json()
        wrong = {name: value for name, value in payload.items() if not conforms(value, types[name])}
        assert not wrong, f"fields whose values protocol.ts does not allow: {wrong} (types {types})"


def test_suggestion_payload_matches_suggestion():
    entry = Entry("k", "article", {"title": "T", "author": "A B", "year": "2020"}, "/x.bib", 0)
    assert set(suggestion_json(Suggestion(entry, 1, 1.0, "bm25", 1.0))) == ts_fields("Suggestion")
    assert ts_fields("SuggestResult") == {"query", "suggestions", "cite"}
    assert ts_fields("CiteContext") == {"keys", "range"}
