"""What the engine reports while it works (bib parsed, embedding progress, the library indexed, a project being
adapted, the reranker's state): called from worker threads; the server carries them to the editor (``lsp.events``),
``texcite suggest`` says the long waits on stderr (``wait_notes``), eval ignores them.
"""

from __future__ import annotations

from texcite.bib.model import BibFile


class EngineEvents:
    """What the engine reports while it works; called from worker threads. The defaults do nothing (eval)."""

    def bib_parsed(self, bib: BibFile) -> None: ...
    def dense_progress(self, signature: tuple, done: int, total: int) -> None: ...
    def dense_error(self, message: str) -> None: ...
    def dense_loaded(self) -> None: ...
    def library_indexed(self, entries: int, unread: dict[str, str], lost: dict[str, str]) -> None:
        """The writer's library was (re)indexed: ``entries`` entries, without the files of ``unread`` (path: why) and
        what of the others' content could not be read (path: what, ``library.index.lost_entries``)."""

    def library_progress(self, what: str, done: int, total: int) -> None:
        """The writer's library being indexed ("indexing": 0 of 1 as it begins, its entries of its entries as it
        ends) or its titles embedded ("embedding": titles done of the titles to embed)."""

    def adapting(self, root: str, lessons: int | None) -> None:
        """The project of ``root`` is being adapted (``lessons``: None as its citations begin to be ranked, then
        how many taught the adaptation; 0 when none did)."""
    def rerank_state(self, state: str, message: str) -> None: ...

    def rerank_outage(self, change: str, message: str) -> None:
        """The reranker "failed" (ranking falls back to the recall order) or "recovered": once per outage each."""
