"""What the server says about itself: the `texcite/status` payload (request and notification) — the ranking
stages as fields (``texcite.stages``), what is loading with counts of entries, the bibliographies indexed — and
the messages a user is shown (`window/showMessage`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from texcite.engine import Engine
from texcite.lsp.jobs import Jobs
from texcite.runtime import redact
from texcite.stages import Stages

log = logging.getLogger("texcite")
STATUS_METHOD = "texcite/status"


@dataclass
class Status:
    """The `texcite/status` payload (``as_json`` gives its camelCase form; the extension's protocol.ts mirrors it)."""

    stages: Stages = field(default_factory=Stages)
    recall: str = "bm25"  # what ranks now: bm25, or hybrid once the bibliography's embeddings exist
    dense_loading: str = ""  # '' | model (the dense model loads) | embedding (the bibliography is embedded)
    embedded: int = 0  # entries embedded so far, while embedding
    to_embed: int = 0  # entries to embed, while embedding
    message: str = ""
    indexed_entries: int = 0
    bib_files: list[str] = field(default_factory=list)
    last_latency_ms: float | None = None
    adapting: int = 0  # projects whose citations are being ranked to adapt to them: their order changes after

    def as_json(self) -> dict[str, Any]:
        return {**self.stages.as_json(), "ranking": self.stages.text(hybrid=self.recall == "hybrid"),
                "recall": self.recall, "denseLoading": self.dense_loading, "embedded": self.embedded,
                "toEmbed": self.to_embed, "message": self.message, "indexedEntries": self.indexed_entries,
                "bibFiles": list(self.bib_files), "lastLatencyMs": self.last_latency_ms, "adapting": self.adapting}


class StatusFeature:
    """Owns the status: updates it from the engine's stages and events, pushes it to the client, answers
    `texcite/status`."""

    def __init__(self, ls: LanguageServer, engine: Engine, jobs: Jobs) -> None:
        self.ls = ls
        self.engine = engine
        self.jobs = jobs
        self.status = Status()
        self._announced: set[str] = set()
        self._adapting: set[str] = set()  # the roots of the projects being adapted

    def refresh(self) -> None:
        """Take the stages from the engine; push the status when the session is running."""
        s = self.status
        s.stages = self.engine.stages()
        if not s.stages.hybrid:
            s.recall, s.dense_loading = "bm25", ""
        # What fails now, if anything: a message goes once the stage works again.
        failure = s.stages.reranker_error if s.stages.reranker == "fallback" else s.stages.dense_error
        s.message = redact(failure)
        if self.jobs.running:
            self.ls.protocol.notify(STATUS_METHOD, s.as_json())

    def indexed(self, entries: int, bib_files: list[str]) -> None:
        self.status.indexed_entries, self.status.bib_files = entries, bib_files
        self.refresh()

    def answered(self, latency_ms: float, entries: int) -> None:
        """A completion was answered (no push: the next change carries it)."""
        self.status.last_latency_ms, self.status.indexed_entries = round(latency_ms, 1), entries

    def dense_loading(self, what: str, done: int = 0, total: int = 0) -> None:
        """The dense model is loading (``model``), embedding entries (``embedding``, done of total), or not ('')."""
        s = self.status
        s.dense_loading, s.embedded, s.to_embed = what, done, total
        self.refresh()

    def dense_ready(self, ready: bool) -> None:
        s = self.status
        s.dense_loading, s.embedded, s.to_embed = "", 0, 0
        s.recall = "hybrid" if ready else "bm25"
        self.refresh()

    def adapting(self, root: str, under_way: bool) -> None:
        """The project of ``root`` is being adapted to (its citations ranked as lessons), or no longer."""
        (self._adapting.add if under_way else self._adapting.discard)(root)
        self.status.adapting = len(self._adapting)
        self.refresh()

    def as_json(self) -> dict[str, Any]:
        return self.status.as_json()

    def announce(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """window/showMessage once per distinct message (problems a user must act on); always logged."""
        message = redact(message)
        if message in self._announced:
            log.log(_log_level(kind), "%s", message)
            return
        self._announced.add(message)
        self.tell(message, kind)

    def tell(self, message: str, kind: lsp.MessageType) -> None:
        """window/showMessage now (secrets hidden), and the same line in the log."""
        message = redact(message)
        log.log(_log_level(kind), "%s", message)
        self.ls.window_show_message(lsp.ShowMessageParams(type=kind, message=message))


def _log_level(kind: lsp.MessageType) -> int:
    """Errors and warnings shown to the user are warnings in the log; the rest is information."""
    return logging.WARNING if kind <= lsp.MessageType.Warning else logging.INFO
