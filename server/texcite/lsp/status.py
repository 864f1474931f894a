"""What the server says about itself: the `texcite/status` payload (request and notification), and messages a
user must act on, shown once each."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from texcite.runtime import redact

if TYPE_CHECKING:
    from texcite.lsp.server import TexciteServer

log = logging.getLogger("texcite")
STATUS_METHOD = "texcite/status"


@dataclass
class Status:
    """The `texcite/status` payload (``as_json`` gives its camelCase form; the extension's protocol.ts mirrors it)."""

    ranking: str = "BM25"  # what ranks right now, for people
    loading: str = ""  # what is loading now ('' when nothing)
    recall: str = "bm25"  # bm25 | hybrid
    reranker: str = "off"  # off | idle | loading | ready | fallback
    reranker_backend: str = ""  # '' when no neural reranker is configured
    reranker_model: str = ""
    message: str = ""
    indexed_entries: int = 0
    bib_files: list[str] = field(default_factory=list)
    last_latency_ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ranking": self.ranking, "loading": self.loading, "recall": self.recall, "reranker": self.reranker,
                "rerankerBackend": self.reranker_backend, "rerankerModel": self.reranker_model,
                "message": self.message, "indexedEntries": self.indexed_entries, "bibFiles": list(self.bib_files),
                "lastLatencyMs": self.last_latency_ms}


class StatusFeature:
    """Owns the status: updates it from the engine's events, pushes it to the client, answers `texcite/status`."""

    def __init__(self, server: "TexciteServer") -> None:
        self.server = server
        self.status = Status()
        self._announced: set[str] = set()
        self._dense_loading = ""
        self._rerank_loading = ""

    def refresh(self, notify: bool = True) -> None:
        """Recompute what ranks from the engine and the stages' states; push it when the session is running."""
        engine, s = self.server.engine, self.status
        backend, model, _ = engine.reranker_label()
        s.reranker_backend, s.reranker_model = backend, model
        if engine.service is None:
            s.reranker = "off"
        else:
            s.reranker = engine.service.state
        if engine.dense is None or engine.dense.error:
            s.recall = "bm25"
        s.ranking = engine.describe(hybrid=s.recall == "hybrid", reranked=s.reranker == "ready")
        s.loading = ", ".join(x for x in (self._dense_loading, self._rerank_loading) if x)
        if notify and self.server.jobs.running:
            self.server.protocol.notify(STATUS_METHOD, s.as_json())

    def dense_loading(self, text: str) -> None:
        self._dense_loading = text
        self.refresh()

    def dense_ready(self, ready: bool) -> None:
        self._dense_loading = ""
        self.status.recall = "hybrid" if ready else "bm25"
        self.refresh()

    def rerank_state(self, state: str, message: str) -> None:
        self._rerank_loading = f"reranker {self.status.reranker_model.rsplit('/', 1)[-1]}" if state == "loading" else ""
        if state == "fallback":
            self.status.message = redact(message)
        self.refresh()

    def announce(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """window/showMessage once per distinct message (problems a user must act on); always logged."""
        message = redact(message)
        log.warning("%s", message)
        if message in self._announced:
            return
        self._announced.add(message)
        self.server.window_show_message(lsp.ShowMessageParams(type=kind, message=message))
