"""What the server reports about itself (`texcite/status`): backend, model, state, index size, last latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Status:
    """Mutable status; ``as_json`` gives the `texcite/status` payload (camelCase keys)."""

    backend: str = "auto"
    model: str = ""
    state: str = "off"  # loading | ready | fallback | off
    message: str = ""
    indexed_entries: int = 0
    bib_files: list[str] = field(default_factory=list)
    last_latency_ms: float | None = None
    recall: str = "bm25"  # bm25 | hybrid (embedding) | hybrid

    def update(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "state": self.state,
            "message": self.message,
            "indexedEntries": self.indexed_entries,
            "bibFiles": list(self.bib_files),
            "lastLatencyMs": self.last_latency_ms,
            "recall": self.recall,
        }
