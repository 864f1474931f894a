"""The LSP server: thin pygls handlers over the core (ranking, references, bib store).

Blocking work (discovery, parsing, recall) runs in worker threads and model work in the rerank service, so
the event loop keeps answering; answers computed for an outdated document version are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import uuid
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from texcite import __version__
from texcite.bibindex import BibFile, Diagnostic
from texcite.bibstore import BibStore
from texcite.indexcache import cache_dir
from texcite.presentation import detail, entry_markdown, filter_text, why_text
from texcite.ranking import Prepared, Ranker, Result, make_dense_stage, make_reranker, uses_dense
from texcite.recall import import_bm25s
from texcite.references import key_at, undefined_keys
from texcite.settings import Settings, parse_settings
from texcite.status import Status
from texcite.textpos import LineIndex

log = logging.getLogger("texcite")
INDEX_WAIT_S = 0.8  # longest a request waits for indexing before answering 'incomplete'


def _path(uri: str) -> str | None:
    path = to_fs_path(uri)
    return os.path.normpath(path) if path else None


def _is_bib(uri: str, language_id: str | None = None) -> bool:
    return (language_id or "") in ("bibtex", "biblatex") or uri.lower().endswith(".bib")


def _range(index: LineIndex, start: int, end: int) -> lsp.Range:
    (l0, c0), (l1, c1) = index.position(start), index.position(end)
    return lsp.Range(lsp.Position(l0, c0), lsp.Position(l1, c1))


def _line_range(line: int) -> lsp.Range:
    return lsp.Range(lsp.Position(line, 0), lsp.Position(line + 1, 0))


_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


class TexciteServer(LanguageServer):
    """Holds the session state: settings, the ranker (project index + bib store), the rerank service."""

    def __init__(self) -> None:
        super().__init__("texcite", __version__)
        self.settings = Settings()
        self.store = BibStore(on_parsed=self._bib_parsed)
        self.ranker = Ranker(self.settings, self._read, store=self.store)
        self.service: Any = None
        self.status = Status()
        self._announced: set[str] = set()
        self._bib_diagnostics: dict[str, list[Diagnostic]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._indexing: dict[tuple[str, ...], asyncio.Future] = {}
        self._parsing: dict[str, asyncio.Future] = {}
        self._load_progress: asyncio.Future | None = None
        self.closing = False
        self.dense: Any = None  # the hybrid recall's embedding stage (texcite.dense.DenseStage), shared by rankers
        self._embedding: dict[tuple, asyncio.Future] = {}
        self._embed_tokens: dict[tuple, str | None] = {}

    # -- reading files: editor buffers first ---------------------------------------------------------------
    def _read(self, path: str) -> str | None:
        for doc in list(self.workspace.text_documents.values()):
            if _path(doc.uri) == os.path.normpath(path):
                return doc.source
        try:
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return None

    def workspace_folder(self) -> str | None:
        try:
            folders = list(self.workspace.folders.values())
            if folders:
                return _path(folders[0].uri)
            return self.workspace.root_path
        except Exception:
            return None

    # -- settings ------------------------------------------------------------------------------------------
    def apply_settings(self, raw: Any) -> None:
        """Adopt new settings; invalid values are announced once and replaced by defaults."""
        settings = parse_settings(raw if isinstance(raw, dict) else {})
        for problem in settings.problems:
            self.announce(f"texcite settings: {problem}", lsp.MessageType.Warning)
        old = self.settings
        self.settings = settings
        self.store.cache.directory = cache_dir(settings.cache_dir)
        self._ensure_dense(old)
        self.ranker = Ranker(settings, self._read, self.workspace_folder(), self.store, dense=self.dense)
        if self.service is None or _rerank_key(old) != _rerank_key(settings):
            self._start_service()
        if self._loop is not None:
            self.protocol.notify("texcite/status", self.status.as_json())

    # -- hybrid recall: entry embeddings in the background ----------------------------------------------------
    def _ensure_dense(self, old: Settings) -> None:
        """(Re)create the dense stage when hybrid recall is on and its model or cache folder changed."""
        s = self.settings
        if self.dense is not None and (not uses_dense(s) or (old.dense_model, old.cache_dir) != (s.dense_model, s.cache_dir)):
            self.dense.close()
            self.dense = None
        if self.dense is None and uses_dense(s):
            self.dense = make_dense_stage(s, on_progress=self._on_dense_progress, on_error=self._on_dense_error)

    def start_embedding(self, corpus: Any) -> None:
        """Embed a corpus's entries in the background with $/progress (idempotent); completion uses BM25 meanwhile."""
        dense, sig = self.dense, corpus.signature
        if dense is None or dense.error or dense.index_for(sig) is not None or sig in self._embedding:
            return
        self._embedding[sig] = task = asyncio.ensure_future(self._embed(dense, corpus))
        task.add_done_callback(lambda _t: self._embedding.pop(sig, None))

    async def _embed(self, dense: Any, corpus: Any) -> None:
        sig = corpus.signature
        future = dense.start(sig, corpus.entries)
        if future is None:
            return
        self._embed_tokens[sig] = await self._progress_begin("texcite: embedding bibliography")
        self.status.update(recall="hybrid (embedding)")
        try:
            index = await asyncio.wrap_future(future)
        finally:
            token = self._embed_tokens.pop(sig, None)
        ready = index is not None and dense.index_for(sig) is not None
        self.status.update(recall="hybrid" if ready else "bm25")
        self._progress_end(token, f"{len(corpus)} entries embedded" if ready else "embedding stopped; using BM25")
        self.protocol.notify("texcite/status", self.status.as_json())

    def _on_dense_progress(self, signature: tuple, done: int, total: int) -> None:
        """From the embedding worker: report progress on the build's token."""
        def report() -> None:
            token = self._embed_tokens.get(signature)
            if token is not None and total:
                self.work_done_progress.report(token, lsp.WorkDoneProgressReport(
                    message=f"{done}/{total} texts", percentage=int(100 * done / total)))
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(report)

    def _on_dense_error(self, message: str) -> None:
        """From the embedding worker: the dense stage cannot run here; completion stays on BM25."""
        def apply() -> None:
            self.status.update(recall="bm25", message=message)
            self.announce(f"texcite: {message} — using BM25 order.", lsp.MessageType.Warning)
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(apply)

    def _start_service(self) -> None:
        from texcite.rerank.service import RerankService

        settings = self.settings
        self.status.update(backend=settings.reranker_backend, model=settings.reranker_model, state="off", message="")
        if self.service is not None:
            self.service.close()
        self.service = RerankService(lambda: make_reranker(settings), self._on_rerank_status,
                                     instruction=settings.reranker_instruction)
        if settings.reranker_load_at_startup:
            self.service.start()

    def _on_rerank_status(self, state: str, message: str) -> None:
        """Called from the service (maybe in its worker thread): update the status bar and warn once."""
        def apply() -> None:
            self.status.update(state=state, message=message)
            reranker = getattr(self.service, "reranker", None)
            if reranker is not None:
                self.status.update(backend=reranker.backend, model=reranker.model)
            self.protocol.notify("texcite/status", self.status.as_json())
            if state == "fallback" and message:
                self.announce(message, lsp.MessageType.Warning)
            if state == "loading" and self._load_progress is None:
                self._load_progress = asyncio.ensure_future(self._progress_begin("texcite: loading reranker model"))
            elif state != "loading" and self._load_progress is not None:
                task, self._load_progress = self._load_progress, None
                task.add_done_callback(lambda t: self._progress_end(t.result(), state))
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(apply)

    async def _progress_begin(self, title: str) -> str | None:
        """Start a $/progress report if the client supports it; returns its token (None if not)."""
        caps = self.client_capabilities.window
        if caps is None or not caps.work_done_progress:
            return None
        token = str(uuid.uuid4())
        try:
            await self.work_done_progress.create_async(token)
        except Exception:
            log.info("client refused a progress token")
            return None
        self.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title))
        return token

    def _progress_end(self, token: str | None, message: str) -> None:
        if token is not None:
            self.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=message))

    def announce(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """window/showMessage once per distinct message (problems a user must act on); always logged."""
        log.warning("%s", message)
        if message in self._announced:
            return
        self._announced.add(message)
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=message))

    # -- diagnostics ---------------------------------------------------------------------------------------
    def _bib_parsed(self, bib: BibFile) -> None:
        self._bib_diagnostics[bib.path] = list(bib.diagnostics)
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self.publish_bib_diagnostics, bib.path)

    def publish_bib_diagnostics(self, path: str) -> None:
        items = [
            lsp.Diagnostic(range=_line_range(d.line), message=d.message, severity=_SEVERITY.get(d.severity),
                           source="texcite")
            for d in self._bib_diagnostics.get(path, [])
        ]
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=from_fs_path(path), diagnostics=items))

    async def refresh_tex_diagnostics(self, uri: str) -> None:
        """Undefined keys and missing bibliographies of one open .tex document."""
        if self.closing:
            return
        doc = self.workspace.get_text_document(uri)
        path = _path(uri)
        if path is None:
            return
        version, text = doc.version, doc.source
        ranker = self.ranker
        try:
            await self.ensure_indexed(path, wait_s=None)
            project, corpus = await asyncio.to_thread(self._project_and_corpus, ranker, path)
        except Exception:
            log.exception("indexing failed for %s", path)
            return
        if self.workspace.get_text_document(uri).version != version:
            return  # a newer version will publish its own
        index = LineIndex(text)
        items = []
        for ref in project.references:
            if ref.path is None and ref.source == path:
                items.append(lsp.Diagnostic(range=_line_range(ref.line), severity=lsp.DiagnosticSeverity.Error,
                                            source="texcite", message=f"Bibliography '{ref.name}' not found."))
        if self.settings.diagnostics_undefined_keys and project.bib_files:
            for use in await asyncio.to_thread(undefined_keys, text, ranker.matcher, corpus.by_key):
                items.append(lsp.Diagnostic(range=_range(index, use.start, use.end), severity=lsp.DiagnosticSeverity.Warning,
                                            source="texcite", message=f"Citation key '{use.key}' is not defined in any .bib file."))
        if not project.bib_files:
            self.announce(f"texcite: no .bib file found for {os.path.basename(path)}; add \\bibliography{{...}} or \\addbibresource{{...}}.",
                          lsp.MessageType.Info)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))
        for d in corpus.merge_problems:
            self._bib_diagnostics.setdefault(d.path, [])
            if d not in self._bib_diagnostics[d.path]:
                self._bib_diagnostics[d.path].append(d)
                self.publish_bib_diagnostics(d.path)

    def _project_and_corpus(self, ranker: Ranker, path: str):
        project = ranker.projects.project(path)
        return project, ranker.projects.corpus(path)

    # -- indexing with progress ----------------------------------------------------------------------------
    async def ensure_indexed(self, path: str, wait_s: float | None = INDEX_WAIT_S) -> bool:
        """Index ``path``'s bibliographies in the background (with $/progress); False if not ready in ``wait_s``.

        Requests never wait longer than that for a big .bib: they answer 'incomplete' and the editor asks again.
        """
        ranker = self.ranker
        project = await asyncio.to_thread(ranker.projects.project, path)
        if all(self.store.is_fresh(p) for p in project.bib_files) and not self._indexing:
            return True
        key = tuple(project.bib_files)
        task = self._indexing.get(key)
        if task is None:
            task = asyncio.ensure_future(self._index(ranker, path))
            self._indexing[key] = task
            task.add_done_callback(lambda _t: self._indexing.pop(key, None))
        try:
            await asyncio.wait_for(asyncio.shield(task), wait_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def _index(self, ranker: Ranker, path: str) -> None:
        token = await self._progress_begin("texcite: indexing bibliography")
        try:
            corpus = await asyncio.to_thread(ranker.projects.corpus, path)
            self.status.update(indexed_entries=len(corpus), bib_files=[f.path for f in corpus.files])
            self.start_embedding(corpus)
        except Exception:
            log.exception("indexing failed for %s", path)
        finally:
            self._progress_end(token, f"{self.status.indexed_entries} entries")

    # -- completion ----------------------------------------------------------------------------------------
    async def rank_at(self, uri: str, position: lsp.Position,
                      index_wait_s: float | None = INDEX_WAIT_S) -> tuple[Result | None, bool]:
        """Ranked suggestions at a position; (None, False) outside a cite, (None, True) when not ready or stale."""
        doc = self.workspace.get_text_document(uri)
        path = _path(uri) or uri
        version, text = doc.version, doc.source
        offset = doc.offset_at_position(position)
        started = time.perf_counter()
        ranker = self.ranker
        if ranker.matcher.context_at(text, offset) is None:
            return None, False
        if not await self.ensure_indexed(path, index_wait_s):
            return None, True
        prepared: Prepared | None = await asyncio.to_thread(ranker.prepare, path, text, offset)
        if prepared is None:
            return None, False
        self.start_embedding(prepared.corpus)
        scores, reranker, incomplete = None, None, False
        service = self.service
        if service is not None and self.settings.reranker_backend != "none" and prepared.rerank_docs:
            deadline = self.settings.completion_deadline_ms / 1000.0
            scores = await service.scores(prepared.rerank_query, prepared.rerank_docs, deadline, source=uri)
            reranker = service.reranker
            if scores is None and service.state not in ("fallback", "off"):
                incomplete = True
        if self.workspace.get_text_document(uri).version != version:
            return None, True
        result = ranker.finish(prepared, scores, reranker, incomplete)
        self.status.update(last_latency_ms=round((time.perf_counter() - started) * 1000, 1),
                           indexed_entries=result.corpus_size)
        return result, False


def _rerank_key(s: Settings) -> tuple:
    return (s.reranker_backend, s.reranker_model, s.reranker_url, s.reranker_api_key, s.reranker_instruction,
            s.reranker_max_length, s.reranker_batch_size, s.reranker_device, s.reranker_timeout_ms, s.vllm_dtype,
            s.vllm_max_model_len, s.vllm_gpu_memory_utilization, s.vllm_tensor_parallel_size, s.vllm_quantization,
            s.dense_model, s.cache_dir)


server = TexciteServer()


def completion_items(result: Result, text_index: LineIndex, limit: int) -> lsp.CompletionList:
    """LSP completion list of a ranking result: our order kept through sortText, the partial key replaced."""
    cite = result.request.cite
    (l0, c0), (l1, c1) = text_index.position(cite.replace_start), text_index.position(cite.replace_end)
    edit_range = lsp.Range(lsp.Position(l0, c0), lsp.Position(l1, c1)) if l0 == l1 else None
    items = []
    shown = result.suggestions[:limit]
    for s in shown:
        e = s.entry
        items.append(lsp.CompletionItem(
            label=e.key,
            kind=lsp.CompletionItemKind.Reference,
            detail=detail(e),
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                            value=entry_markdown(e, why_text(s.stage, s.score, s.recall_score, s.rank))),
            sort_text=f"{s.rank:06d}",
            filter_text=filter_text(e),
            text_edit=lsp.TextEdit(range=edit_range, new_text=cite.insert_text(e.key)) if edit_range else None,
            insert_text=None if edit_range else cite.insert_text(e.key),
        ))
    incomplete = result.incomplete or len(result.suggestions) > len(shown)
    return lsp.CompletionList(is_incomplete=incomplete, items=items)


@server.feature(lsp.INITIALIZE)
def on_initialize(ls: TexciteServer, params: lsp.InitializeParams) -> None:
    # No notifications before the initialize response: the event loop is adopted in `initialized`.
    ls.apply_settings(params.initialization_options or {})


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: TexciteServer, params: lsp.InitializedParams) -> None:
    ls._loop = asyncio.get_running_loop()
    # Warm the recall engine's import (scipy; numba is kept out) now rather than on the first completion.
    asyncio.ensure_future(asyncio.to_thread(import_bm25s))
    ls.ranker = Ranker(ls.settings, ls._read, ls.workspace_folder(), ls.store, dense=ls.dense)
    caps = ls.client_capabilities.workspace
    if caps is not None and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration:
        watchers = [lsp.FileSystemWatcher(glob_pattern="**/*.bib"), lsp.FileSystemWatcher(glob_pattern="**/*.tex")]
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="texcite-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        except Exception:
            log.info("client did not accept file watchers")
    await fetch_configuration(ls)


async def fetch_configuration(ls: TexciteServer) -> None:
    """Ask the client for the `texcite` section (when it supports workspace/configuration)."""
    caps = ls.client_capabilities.workspace
    if caps is None or not caps.configuration:
        return
    try:
        result = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="texcite")]))
    except Exception as err:
        log.info("workspace/configuration failed: %s", err)
        return
    if result and isinstance(result[0], dict):
        ls.apply_settings(result[0])


@server.feature(lsp.SHUTDOWN)
def on_shutdown(ls: TexciteServer, params: None) -> None:
    """Stop background work so nothing is sent after the client stops listening."""
    ls.closing = True
    if ls.service is not None:
        ls.service.close()
    if ls.dense is not None:
        ls.dense.close()
    for task in [*ls._indexing.values(), *ls._parsing.values()]:
        task.cancel()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(ls: TexciteServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get("texcite"), dict):
        ls.apply_settings(settings["texcite"])
    else:
        await fetch_configuration(ls)
    for doc in list(ls.workspace.text_documents.values()):
        if not _is_bib(doc.uri, doc.language_id):
            asyncio.ensure_future(ls.refresh_tex_diagnostics(doc.uri))


def _document_changed(ls: TexciteServer, uri: str, language_id: str | None = None, closed: bool = False) -> None:
    path = _path(uri)
    if path is None:
        return
    if _is_bib(uri, language_id):
        ls.store.set_buffer(path, None if closed else ls.workspace.get_text_document(uri).source)
        # Bib content changed: re-check every open .tex (undefined keys may have appeared or vanished).
        for doc in list(ls.workspace.text_documents.values()):
            if not _is_bib(doc.uri, doc.language_id):
                asyncio.ensure_future(ls.refresh_tex_diagnostics(doc.uri))
        if not closed and path not in ls._parsing:
            # One parse at a time per file; edits made meanwhile are picked up by the next request.
            task = asyncio.ensure_future(asyncio.to_thread(ls.store.get, path))
            ls._parsing[path] = task
            task.add_done_callback(lambda _t: ls._parsing.pop(path, None))
    else:
        ls.ranker.projects.invalidate_projects()
        if not closed:
            asyncio.ensure_future(ls.refresh_tex_diagnostics(uri))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def on_open(ls: TexciteServer, params: lsp.DidOpenTextDocumentParams) -> None:
    _document_changed(ls, params.text_document.uri, params.text_document.language_id)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: TexciteServer, params: lsp.DidChangeTextDocumentParams) -> None:
    _document_changed(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def on_close(ls: TexciteServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    _document_changed(ls, uri, closed=True)
    if not _is_bib(uri):
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched(ls: TexciteServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    tex_changed = False
    for change in params.changes:
        path = _path(change.uri)
        if path is None:
            continue
        if path.lower().endswith(".bib"):
            ls.store.invalidate(path)
        else:
            tex_changed = True
    if tex_changed or params.changes:
        ls.ranker.projects.invalidate_projects()
    for doc in list(ls.workspace.text_documents.values()):
        if not _is_bib(doc.uri, doc.language_id):
            asyncio.ensure_future(ls.refresh_tex_diagnostics(doc.uri))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["{", ","], resolve_provider=False))
async def on_completion(ls: TexciteServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
    uri = params.text_document.uri
    if _is_bib(uri):
        return None
    result, stale = await ls.rank_at(uri, params.position)
    if stale:
        return lsp.CompletionList(is_incomplete=True, items=[])
    if result is None:
        return None
    doc = ls.workspace.get_text_document(uri)
    return completion_items(result, LineIndex(doc.source), ls.settings.completion_max_items)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: TexciteServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = await _entry_at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    entry, use, index = found
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=entry_markdown(entry, abstract_limit=1200)),
                     range=_range(index, use.start, use.end))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
async def on_definition(ls: TexciteServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    found = await _entry_at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    entry = found[0]
    return lsp.Location(uri=from_fs_path(entry.path), range=lsp.Range(lsp.Position(entry.line, 0), lsp.Position(entry.line, 0)))


async def _entry_at(ls: TexciteServer, uri: str, position: lsp.Position):
    if _is_bib(uri):
        return None
    doc = ls.workspace.get_text_document(uri)
    text = doc.source
    use = key_at(text, doc.offset_at_position(position), ls.ranker.matcher)
    path = _path(uri)
    if use is None or path is None or not await ls.ensure_indexed(path):
        return None
    corpus = await asyncio.to_thread(ls.ranker.projects.corpus, path)
    entry = corpus.by_key.get(use.key)
    return None if entry is None else (entry, use, LineIndex(text))


@server.feature("texcite/suggest")
async def on_suggest(ls: TexciteServer, params: Any) -> dict:
    """Ranked suggestions for the paragraph at a position, in or out of a cite command (VS Code QuickPick)."""
    uri = params.textDocument.uri
    position = lsp.Position(params.position.line, params.position.character)
    result, _ = await ls.rank_at(uri, position, index_wait_s=None)  # a user-invoked command may wait for the index
    cite = None
    if result is None:
        # Outside a cite command: rank for the paragraph as if a \cite{} stood at the cursor.
        doc = ls.workspace.get_text_document(uri)
        offset = doc.offset_at_position(position)
        text = doc.source[:offset] + "\\cite{}" + doc.source[offset:]
        path = _path(uri) or uri
        prepared = await asyncio.to_thread(ls.ranker.prepare, path, text, offset + len("\\cite{"))
        if prepared is None:
            return {"query": "", "suggestions": [], "cite": None}
        result = ls.ranker.finish(prepared, None)
    else:
        index = LineIndex(ls.workspace.get_text_document(uri).source)
        group = result.request.cite.group
        if group is not None:
            cite = {"keys": result.request.cite.command.keys(index.text),
                    "range": _to_json_range(_range(index, group.start, group.end))}
    return {
        "query": result.reranker_query,
        "cite": cite,
        "suggestions": [
            {"key": s.entry.key, "rank": s.rank, "score": s.score, "title": s.entry.title,
             "authors": ", ".join(s.entry.authors), "year": s.entry.year, "venue": s.entry.venue}
            for s in result.suggestions[: ls.settings.completion_max_items]
        ],
    }


def _to_json_range(r: lsp.Range) -> dict:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


@server.feature("texcite/status")
def on_status(ls: TexciteServer, params: Any) -> dict:
    return ls.status.as_json()


def run(tcp: str | None = None) -> None:
    """Serve over stdio (default) or TCP; logs go to stderr, never stdout (the LSP channel)."""
    logging.basicConfig(level=os.environ.get("TEXCITE_LOG", "INFO"), stream=sys.stderr, format="texcite: %(levelname)s %(message)s")
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io(sys.stdin.buffer, _claim_stdout())


def _claim_stdout():
    """Keep stdout for the LSP channel alone: it moves to a private descriptor and fd 1 becomes stderr, so a stray
    print (a library, a model engine's worker process) lands in the log instead of corrupting the protocol."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel
