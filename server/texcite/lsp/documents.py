"""Document sync and diagnostics: editor buffers are the engine's source of text, .bib buffers go to the bib
store, the project's bibliographies are indexed in the background (with `$/progress`), and every open .tex gets
diagnostics for undefined keys and missing bibliographies."""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
from functools import partial
from typing import Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from texcite.bib.model import BibFile, Diagnostic
from texcite.engine import Engine
from texcite.latex.graph import BibReference, Project
from texcite.lsp.buffers import Buffers, fs_path, is_bib
from texcite.lsp.jobs import Jobs
from texcite.lsp.positions import DocumentPositions
from texcite.lsp.status import StatusFeature
from texcite.retrieval.corpus import Corpus

log = logging.getLogger("texcite")
INDEX_WAIT_S = 0.8  # longest a request waits for indexing before answering 'incomplete'
DIAGNOSTICS_DELAY_S = 0.3  # diagnostics wait for a pause in typing: a keystroke costs no background scan
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


def line_range(line: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line, 0), lsp.Position(line + 1, 0))


def being_typed(key: str, known: list[str]) -> bool:
    """Is ``key`` the start of a defined key (sorted ``known``)? Then the writer is still typing it (the completion
    list is open), and calling it undefined would only flash a warning under every keystroke."""
    i = bisect.bisect_left(known, key)
    return i < len(known) and known[i].startswith(key)


def missing_message(ref: BibReference) -> str:
    """The diagnostic of a bibliography that was named but not found: where it was looked for."""
    if "\\" in ref.name and not ref.name.startswith("\\subfix"):
        return (f"Bibliography '{ref.name}' is a macro: texcite reads its value from the last build's .aux/.bcf, "
                "and found none; build the document once.")
    return f"Bibliography '{ref.name}' not found; looked in: {'; '.join(ref.searched)}."


class Documents:
    """Owns what the session does with documents: sync (buffers to the engine), bib diagnostics, indexing in the
    background, and the diagnostics of every open .tex."""

    def __init__(self, ls: LanguageServer, engine: Engine, buffers: Buffers, jobs: Jobs, status: StatusFeature,
                 positions: DocumentPositions) -> None:
        self.ls = ls
        self.engine = engine
        self.buffers = buffers
        self.jobs = jobs
        self.status = status
        self.positions = positions
        self._bib_diagnostics: dict[str, list[Diagnostic]] = {}

    # -- sync --------------------------------------------------------------------------------------------------
    def changed(self, uri: str, language_id: str | None = None, closed: bool = False, typing: bool = False) -> None:
        """A document was opened, edited (``typing``: diagnostics wait for a pause) or closed."""
        path = fs_path(uri)
        if path is None:
            return
        engine = self.engine
        delay = DIAGNOSTICS_DELAY_S if typing else 0.0
        if is_bib(uri, language_id):
            engine.set_bib_buffer(path, None if closed else self.buffers.document(uri).source)
            self.refresh_all(delay)  # undefined keys may have appeared or vanished
            if not closed:
                # One parse at a time per file; edits made meanwhile are picked up by the next request.
                self.jobs.once(("parse", path), partial(asyncio.to_thread, engine.parse_bib, path))
        elif closed:
            self.positions.forget(uri)
            self.ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        else:
            self.jobs.later(("diagnostics", uri), delay, lambda: self.refresh(uri))

    def watched(self, changes: Sequence[lsp.FileEvent]) -> None:
        """Files changed on disk (the client's watcher)."""
        for change in changes:
            path = fs_path(change.uri)
            if path is None:
                continue
            self.buffers.changed_on_disk(path)
            if path.lower().endswith(".bib"):
                self.engine.bib_changed(path)
        self.refresh_all()

    # -- indexing ----------------------------------------------------------------------------------------------
    async def ensure_indexed(self, path: str, wait_s: float | None = INDEX_WAIT_S) -> bool:
        """Index ``path``'s bibliographies in the background (with $/progress); False if not ready in ``wait_s``.

        Requests never wait longer than that for a big .bib: they answer 'incomplete' and the editor asks again.
        """
        engine = self.engine
        if await asyncio.to_thread(engine.is_indexed, path):
            return True
        project = await asyncio.to_thread(engine.project, path)
        task = self.jobs.once(("index", tuple(project.bib_files)), lambda: self._index(path))
        try:
            await asyncio.wait_for(asyncio.shield(task), wait_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def _index(self, path: str) -> None:
        progress = await self.jobs.progress("texcite: indexing bibliography")
        entries = 0
        try:
            corpus = await asyncio.to_thread(self.engine.corpus, path)
            entries = len(corpus)
            self.status.indexed(entries, [f.path for f in corpus.files])
            await asyncio.to_thread(self.engine.start_embedding, path)  # embed now, before the first completion asks
        except Exception:
            log.exception("indexing failed for %s", path)
        finally:
            progress.end(f"{entries} entries")

    # -- diagnostics -------------------------------------------------------------------------------------------
    def bib_parsed(self, bib: BibFile) -> None:
        """On the loop: a bib file was (re)parsed; publish its diagnostics."""
        self._bib_diagnostics[bib.path] = list(bib.diagnostics)
        self.publish_bib(bib.path)

    def publish_bib(self, path: str) -> None:
        items = [lsp.Diagnostic(range=line_range(d.line), message=d.message, severity=_SEVERITY.get(d.severity),
                                source="texcite")
                 for d in self._bib_diagnostics.get(path, [])]
        self.ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=from_fs_path(path),
                                                                               diagnostics=items))

    def refresh_all(self, delay_s: float = 0.0) -> None:
        for uri in self.buffers.open_tex_uris():
            self.jobs.later(("diagnostics", uri), delay_s, partial(self.refresh, uri))

    async def refresh(self, uri: str) -> None:
        """Undefined keys and missing bibliographies of one open .tex document."""
        path = fs_path(uri)
        if path is None or self.jobs.closing:
            return
        doc = self.buffers.document(uri)
        version, text = doc.version, doc.source
        engine = self.engine
        await self.ensure_indexed(path, wait_s=None)
        project = await asyncio.to_thread(engine.project, path)
        corpus = await asyncio.to_thread(engine.corpus, path)
        if self.buffers.document(uri).version != version:
            return  # a newer version will publish its own
        items = await asyncio.to_thread(self._tex_diagnostics, doc, path, text, project, corpus)
        if project.truncated:
            self.status.announce(f"texcite: {os.path.basename(project.root)} includes more than "
                                 f"{len(project.tex_files)} files; the rest were not read for bibliographies.")
        if project.fallback and project.bib_files:
            self.status.announce(f"texcite: {os.path.basename(project.root)} names no bibliography; offering every "
                                 f".bib of {project.folder or os.path.dirname(project.root)} "
                                 f"({len(project.bib_files)} files).", lsp.MessageType.Info)
        if not project.bib_files:
            self.status.announce(f"texcite: no .bib file found for {os.path.basename(path)}; add "
                                 "\\bibliography{...} or \\addbibresource{...}.", lsp.MessageType.Info)
        self.ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items,
                                                                                version=version))
        for d in corpus.merge_problems:
            published = self._bib_diagnostics.setdefault(d.path, [])
            if d not in published:
                published.append(d)
                self.publish_bib(d.path)

    def _tex_diagnostics(self, doc: TextDocument, path: str, text: str, project: Project,
                         corpus: Corpus) -> list[lsp.Diagnostic]:
        """Missing bibliographies and undefined keys of one version of a .tex (blocking: thousands of citations
        cost a worker thread, never the event loop)."""
        starts = self.positions.of(doc).starts  # the command's columns, in the client's encoding
        items = [lsp.Diagnostic(range=line_range(ref.line) if ref.line >= len(starts) else
                                self.positions.range(doc, starts[ref.line] + ref.start, starts[ref.line] + ref.end),
                                severity=lsp.DiagnosticSeverity.Error, source="texcite",
                                message=missing_message(ref))
                 for ref in project.references if not ref.paths and not ref.remote and ref.source == path]
        if self.engine.settings.diagnostics.undefined_keys and project.bib_files:
            facts = self.engine.facts(path, text)
            known = sorted(corpus.by_key)
            by_case: dict[str, str] | None = None  # the keys by their folded case, made at the first undefined key
            for use in facts.cites:
                if use.key == "*" or use.key in corpus.by_key or being_typed(use.key, known):  # \nocite{*}
                    continue
                message = f"Citation key '{use.key}' is not defined in any .bib file."
                by_case = by_case if by_case is not None else {k.casefold(): k for k in known}
                if use.key.casefold() in by_case:
                    message = (f"Citation key '{use.key}' is not defined in any .bib file; "
                               f"'{by_case[use.key.casefold()]}' is (only the case differs: BibTeX takes it with a "
                               "warning, biber does not).")
                ref = self.engine.library_entry(use.key)
                if ref is not None:  # a quick fix adds it (``lsp.library``)
                    message += f" Your library has it ({os.path.basename(ref.file)}): a quick fix adds it."
                items.append(lsp.Diagnostic(range=self.positions.range(doc, use.start, use.end),
                                            severity=lsp.DiagnosticSeverity.Warning, source="texcite",
                                            message=message, data={"libraryKey": use.key} if ref else None))
        return items
