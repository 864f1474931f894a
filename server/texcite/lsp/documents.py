"""Document sync and diagnostics: editor buffers are the engine's source of text, .bib buffers go to the bib
store, the project's bibliographies are indexed in the background (with `$/progress`), and every open .tex gets
diagnostics for undefined keys and missing bibliographies."""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
from typing import TYPE_CHECKING, Hashable

from lsprotocol import types as lsp
from pygls.uris import from_fs_path, to_fs_path

from texcite.bib.model import BibFile, Diagnostic
from texcite.files import Sources
from texcite.lsp import access

if TYPE_CHECKING:
    from texcite.lsp.server import TexciteServer

log = logging.getLogger("texcite")
INDEX_WAIT_S = 0.8  # longest a request waits for indexing before answering 'incomplete'
DIAGNOSTICS_DELAY_S = 0.3  # diagnostics wait for a pause in typing: a keystroke costs no background scan
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


def fs_path(uri: str) -> str | None:
    path = to_fs_path(uri)
    return os.path.normpath(path) if path else None


def is_bib(uri: str, language_id: str | None = None) -> bool:
    return (language_id or "") in ("bibtex", "biblatex") or uri.lower().endswith(".bib")


def line_range(line: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line, 0), lsp.Position(line + 1, 0))


def being_typed(key: str, known: list[str]) -> bool:
    """Is ``key`` the start of a defined key (sorted ``known``)? Then the writer is still typing it (the completion
    list is open), and calling it undefined would only flash a warning under every keystroke."""
    i = bisect.bisect_left(known, key)
    return i < len(known) and known[i].startswith(key)


class Documents(Sources):
    """Owns what the session knows of files: open buffers (through pygls's workspace), files on disk, bib
    diagnostics, indexing. As the engine's ``Sources``: editor buffers first; a file on disk is read again only
    when the client's watcher reports a change (or, for a client without file watching, when its stat changes)."""

    def __init__(self, server: "TexciteServer") -> None:
        self.server = server
        self._bib_diagnostics: dict[str, list[Diagnostic]] = {}
        self._disk: dict[str, Hashable | None] = {}  # stamps of files on disk, forgotten on a watcher event
        self.watching = False  # the client sends workspace/didChangeWatchedFiles for .tex and .bib

    # -- text for the engine (called from worker threads) -----------------------------------------------------
    def _buffer(self, path: str):
        wanted = os.path.normpath(path)
        for doc in list(self.server.workspace.text_documents.values()):
            if fs_path(doc.uri) == wanted:
                return doc
        return None

    def stamp(self, path: str) -> Hashable | None:
        doc = self._buffer(path)
        if doc is not None:
            return ("buffer", doc.version)
        if self.refusal(path):
            return None
        if not self.watching:
            return super().stamp(path)
        if path not in self._disk:
            self._disk[path] = super().stamp(path)
        return self._disk[path]

    def read(self, path: str) -> str | None:
        doc = self._buffer(path)
        if doc is not None:
            return doc.source
        return None if self.refusal(path) else super().read(path)

    def refusal(self, path: str) -> str | None:
        """Why ``path`` may not be read from disk for this client (None: it may): a TCP client is confined to the
        workspace folders it declared (``access.refusal``); a stdio client is the user's own editor."""
        if self.server.connection is None:
            return None
        return access.refusal(path, self.workspace_folders())

    def workspace_folders(self) -> list[str]:
        """Every folder the client declared (workspace folders and the root)."""
        try:
            folders = [fs_path(f.uri) for f in list(self.server.workspace.folders.values())]
            root = self.server.workspace.root_path
        except RuntimeError:  # no workspace before initialize
            return []
        return [f for f in folders + [root] if f]

    def workspace_folder(self) -> str | None:
        """The first workspace folder (None before `initialize`, or with no folder)."""
        try:
            folders = list(self.server.workspace.folders.values())
        except RuntimeError:  # no workspace before initialize
            return None
        if folders:
            return fs_path(folders[0].uri)
        return self.server.workspace.root_path

    def open_tex_uris(self) -> list[str]:
        return [d.uri for d in list(self.server.workspace.text_documents.values()) if not is_bib(d.uri, d.language_id)]

    # -- sync --------------------------------------------------------------------------------------------------
    def changed(self, uri: str, language_id: str | None = None, closed: bool = False, typing: bool = False) -> None:
        """A document was opened, edited (``typing``: diagnostics wait for a pause) or closed."""
        path = fs_path(uri)
        if path is None:
            return
        engine = self.server.engine
        delay = DIAGNOSTICS_DELAY_S if typing else 0.0
        if is_bib(uri, language_id):
            engine.store.set_buffer(path, None if closed else self.server.workspace.get_text_document(uri).source)
            self.refresh_all(delay)  # undefined keys may have appeared or vanished
            if not closed:
                # One parse at a time per file; edits made meanwhile are picked up by the next request.
                self.server.jobs.once(("parse", path), lambda: asyncio.to_thread(engine.store.get, path))
        elif closed:
            self.server.completion.forget(uri)
            self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        else:
            self.server.jobs.later(("diagnostics", uri), delay, lambda: self.refresh(uri))

    def watched(self, changes: list[lsp.FileEvent]) -> None:
        """Files changed on disk (the client's watcher)."""
        engine = self.server.engine
        for change in changes:
            path = fs_path(change.uri)
            if path is None:
                continue
            self._disk.pop(path, None)
            if path.lower().endswith(".bib"):
                engine.store.invalidate(path)
        self.refresh_all()

    # -- indexing ----------------------------------------------------------------------------------------------
    async def ensure_indexed(self, path: str, wait_s: float | None = INDEX_WAIT_S) -> bool:
        """Index ``path``'s bibliographies in the background (with $/progress); False if not ready in ``wait_s``.

        Requests never wait longer than that for a big .bib: they answer 'incomplete' and the editor asks again.
        """
        engine = self.server.engine
        if await asyncio.to_thread(engine.is_indexed, path):
            return True
        project = await asyncio.to_thread(engine.project, path)
        task = self.server.jobs.once(("index", tuple(project.bib_files)), lambda: self._index(path))
        try:
            await asyncio.wait_for(asyncio.shield(task), wait_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def _index(self, path: str) -> None:
        progress = await self.server.jobs.progress("texcite: indexing bibliography")
        engine, status = self.server.engine, self.server.status
        try:
            corpus = await asyncio.to_thread(engine.corpus, path)
            status.status.indexed_entries, status.status.bib_files = len(corpus), [f.path for f in corpus.files]
            status.refresh()
            if engine.dense is not None:  # embed now, before the first completion asks
                engine.dense.start(corpus.signature, corpus.entries)
        except Exception:
            log.exception("indexing failed for %s", path)
        finally:
            progress.end(f"{status.status.indexed_entries} entries")

    # -- diagnostics -------------------------------------------------------------------------------------------
    def bib_parsed(self, bib: BibFile) -> None:
        """On the loop: a bib file was (re)parsed; publish its diagnostics."""
        self._bib_diagnostics[bib.path] = list(bib.diagnostics)
        self.publish_bib(bib.path)

    def publish_bib(self, path: str) -> None:
        items = [lsp.Diagnostic(range=line_range(d.line), message=d.message, severity=_SEVERITY.get(d.severity),
                                source="texcite")
                 for d in self._bib_diagnostics.get(path, [])]
        self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=from_fs_path(path),
                                                                                   diagnostics=items))

    def refresh_all(self, delay_s: float = 0.0) -> None:
        for uri in self.open_tex_uris():
            self.server.jobs.later(("diagnostics", uri), delay_s, lambda uri=uri: self.refresh(uri))

    async def refresh(self, uri: str) -> None:
        """Undefined keys and missing bibliographies of one open .tex document."""
        server = self.server
        path = fs_path(uri)
        if path is None or server.jobs.closing:
            return
        doc = server.workspace.get_text_document(uri)
        version, text = doc.version, doc.source
        engine = server.engine
        await self.ensure_indexed(path, wait_s=None)
        project = await asyncio.to_thread(engine.project, path)
        corpus = await asyncio.to_thread(engine.corpus, path)
        if server.workspace.get_text_document(uri).version != version:
            return  # a newer version will publish its own
        items = [lsp.Diagnostic(range=line_range(ref.line), severity=lsp.DiagnosticSeverity.Error, source="texcite",
                                message=f"Bibliography '{ref.name}' not found.")
                 for ref in project.references if ref.path is None and ref.source == path]
        if engine.settings.diagnostics.undefined_keys and project.bib_files:
            facts = await asyncio.to_thread(engine.projects.facts, path, text)
            known = sorted(corpus.by_key)
            for use in facts.cites:
                if use.key == "*" or use.key in corpus.by_key or being_typed(use.key, known):  # \nocite{*}
                    continue
                items.append(lsp.Diagnostic(range=server.completion.range(doc, use.start, use.end),
                                            severity=lsp.DiagnosticSeverity.Warning, source="texcite",
                                            message=f"Citation key '{use.key}' is not defined in any .bib file."))
        if project.truncated:
            server.status.announce(f"texcite: {os.path.basename(project.root)} includes more than "
                                   f"{len(project.tex_files)} files; the rest were not read for bibliographies.")
        if not project.bib_files:
            server.status.announce(f"texcite: no .bib file found for {os.path.basename(path)}; add "
                                   "\\bibliography{...} or \\addbibresource{...}.", lsp.MessageType.Info)
        server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items,
                                                                               version=version))
        for d in corpus.merge_problems:
            known = self._bib_diagnostics.setdefault(d.path, [])
            if d not in known:
                known.append(d)
                self.publish_bib(d.path)
