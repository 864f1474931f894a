"""The reranker protocol every backend implements, and the errors a backend reports."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (missing extra, no GPU, model or server missing); the message says what to fix."""


class RerankError(RuntimeError):
    """A loaded backend failed to score (server down, timeout, bad reply); the message says what to fix."""


@runtime_checkable
class Reranker(Protocol):
    """Scores documents for one query; higher is better. ``rank`` may block: callers run it off the event loop.
    ``instruction`` (None: the one the backend was built with) tells the model what "relevant" means."""

    backend: str
    model: str

    def rank(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]: ...

    def close(self) -> None:
        """Release what the backend holds (an engine and its processes and threads) now, on the thread that ran it;
        it is not used again."""
