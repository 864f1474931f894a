"""The engine's reports in a session: they arrive on worker threads and are carried onto the event loop
(``Jobs.call_soon``) to the features that show them — bib diagnostics, the status, `$/progress` of embedding."""

from __future__ import annotations

from lsprotocol import types as lsp

from texcite.bib.model import BibFile
from texcite.engine_events import EngineEvents
from texcite.lsp.documents import Documents
from texcite.lsp.jobs import Jobs, Progress
from texcite.lsp.status import StatusFeature


ADAPTING_TITLE = "texcite: learning from this project's citations"
LIBRARY_TITLES = {"indexing": "texcite: indexing your library", "embedding": "texcite: embedding your library's titles"}
LIBRARY_UNITS = {"indexing": "entries", "embedding": "titles embedded"}


class SessionEvents(EngineEvents):
    """Engine events -> features. The engine is built before the features that need it, so they are attached
    afterwards (``attach``); reports before that are dropped like any before `initialized`."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.documents: Documents | None = None
        self.status: StatusFeature | None = None
        # Each work under way (embedding a bibliography, adapting to a project, the library): its `$/progress`,
        # None while the token is on its way, or how it ended when it ended before the token came.
        self._works: dict[tuple, Progress | str | None] = {}

    def attach(self, documents: Documents, status: StatusFeature) -> None:
        self.documents, self.status = documents, status

    def bib_parsed(self, bib: BibFile) -> None:
        if self.documents is not None:
            self.jobs.call_soon(self.documents.bib_parsed, bib)

    def dense_progress(self, signature: tuple, done: int, total: int) -> None:
        self.jobs.call_soon(self._dense_progress, signature, done, total)

    def dense_error(self, message: str) -> None:
        self.jobs.call_soon(self._dense_error, message)

    def rerank_state(self, state: str, message: str) -> None:
        self.jobs.call_soon(self._rerank_state)

    def rerank_outage(self, change: str, message: str) -> None:
        self.jobs.call_soon(self._rerank_outage, change, message)

    def dense_loaded(self) -> None:
        self.jobs.call_soon(self._dense_loaded)

    def library_indexed(self, entries: int, unread: dict[str, str], lost: dict[str, str]) -> None:
        """The writer's library was (re)indexed: an undefined key it now holds gets its quick fix; a file of
        ``texcite.library.files`` not read, or read with entries lost, is said (once per distinct message)."""
        if self.documents is not None:
            self.jobs.call_soon(self.documents.refresh_all)
        if unread:
            said = "; ".join(f"{path}: {why}" for path, why in unread.items())
            self.jobs.call_soon(self._announce, f"texcite: library file{'s' * (len(unread) > 1)} not read ({said}); "
                                                f"check texcite.library.files. The library has {entries} entries.")
        if lost:
            said = "; ".join(f"{path}: {what}" for path, what in lost.items())
            self.jobs.call_soon(self._announce, f"texcite: not all of the library could be read ({said}); its "
                                                "other entries are ranked.")

    def _announce(self, message: str) -> None:
        if self.status is not None:
            self.status.announce(message)

    def adapting(self, root: str, lessons: int | None) -> None:
        self.jobs.call_soon(self._adapting, root, lessons)

    def _adapting(self, root: str, lessons: int | None) -> None:
        """`$/progress` while a project's citations are ranked as lessons (``lessons`` None), ended with what they
        taught; the status counts the projects under way."""
        if self.status is not None:
            self.status.adapting(root, lessons is None)
        if lessons is None:
            self._begin(("adapting", root), ADAPTING_TITLE)
        else:
            self._end(("adapting", root), f"adapted to {lessons} citations" if lessons else
                      "no adaptation: too few citations ranked")

    def library_progress(self, what: str, done: int, total: int) -> None:
        self.jobs.call_soon(self._library_progress, what, done, total)

    def _library_progress(self, what: str, done: int, total: int) -> None:
        """`$/progress` while the library is indexed or its titles embedded, ended with how many."""
        key = ("library", what)
        if done >= total:
            self._end(key, f"{total} {LIBRARY_UNITS[what]}")
            return
        self._begin(key, LIBRARY_TITLES[what])
        if done:
            self._report(key, f"{done}/{total}", int(100 * done / total))

    def _begin(self, key: tuple, title: str) -> None:
        """Begin the `$/progress` titled ``title`` of the work ``key``, unless it is under way."""
        if key in self._works:
            return
        self._works[key] = None  # a token is on its way

        async def begin() -> None:
            progress = await self.jobs.progress(title)
            ended = self._works.get(key)
            if isinstance(ended, str):  # finished meanwhile
                del self._works[key]
                progress.end(ended)
            else:
                self._works[key] = progress
        self.jobs.spawn(begin())

    def _report(self, key: tuple, message: str, percentage: int) -> None:
        """Report on the `$/progress` of the work ``key`` (once its token has come; until then nothing is said)."""
        progress = self._works.get(key)
        if isinstance(progress, Progress):
            progress.report(message, percentage)

    def _end(self, key: tuple, message: str) -> None:
        """End the `$/progress` of the work ``key`` with ``message`` (once its token has come)."""
        progress = self._works.get(key)
        if isinstance(progress, Progress):
            del self._works[key]
            progress.end(message)
        elif key in self._works:
            self._works[key] = message

    def _dense_loaded(self) -> None:
        building = any(key[0] == "dense" and not isinstance(work, str) for key, work in self._works.items())
        if self.status is not None and not building:  # nothing is loading any more
            self.status.dense_loading("")

    def _dense_progress(self, signature: tuple, done: int, total: int) -> None:
        """`$/progress` and the status while a bibliography is embedded, ended with how many entries."""
        status = self.status
        if status is None:
            return
        key = ("dense", signature)
        if done >= total:
            self._end(key, f"{total} entries embedded")
            status.dense_ready(True)
            return
        status.dense_loading("embedding", done, total)
        self._begin(key, "texcite: embedding bibliography")
        self._report(key, f"{done}/{total} entries", int(100 * done / total))

    def _dense_error(self, message: str) -> None:
        for key in [key for key in self._works if key[0] == "dense"]:
            self._end(key, "embedding stopped; using BM25")
        if self.status is not None:
            self.status.dense_ready(False)
            self.status.announce(f"texcite: {message} — using BM25 order.")

    def _rerank_state(self) -> None:
        if self.status is not None:
            self.status.refresh()

    def _rerank_outage(self, change: str, message: str) -> None:
        """A warning as an outage begins, an info message as it ends (the status says what ranks meanwhile)."""
        if self.status is not None:
            kind = lsp.MessageType.Warning if change == "failed" else lsp.MessageType.Info
            self.status.tell(f"texcite: {message}", kind)
