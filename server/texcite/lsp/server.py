"""The language server: the session (settings, the engine, the features that own their state) and `run`.

Handlers are one line each: the features (``documents``, ``completion``, ``status``) convert and schedule; the
engine ranks. Engine events arrive on worker threads and reach the features through ``jobs.call_soon``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from texcite import __version__
from texcite.bib.model import BibFile
from texcite.engine import DENSE_NAME, Engine, EngineEvents
from texcite.lsp.completion import SUGGEST_METHOD, Completion
from texcite.lsp.documents import Documents, is_bib
from texcite.lsp.jobs import Jobs, Progress
from texcite.lsp.status import STATUS_METHOD, StatusFeature
from texcite.runtime import claim_stdout, import_bm25s, setup_logging
from texcite.settings import parse_settings

log = logging.getLogger("texcite")


class SessionEvents(EngineEvents):
    """The engine's reports (from worker threads), carried onto the event loop to the features."""

    def __init__(self, server: "TexciteServer") -> None:
        self.server = server
        self._progress: dict[tuple, Progress | None] = {}

    def bib_parsed(self, bib: BibFile) -> None:
        self.server.jobs.call_soon(self.server.documents.bib_parsed, bib)

    def dense_progress(self, signature: tuple, done: int, total: int) -> None:
        self.server.jobs.call_soon(self._dense_progress, signature, done, total)

    def dense_error(self, message: str) -> None:
        self.server.jobs.call_soon(self._dense_error, message)

    def rerank_state(self, state: str, message: str) -> None:
        self.server.jobs.call_soon(self._rerank_state, state, message)

    def _dense_progress(self, signature: tuple, done: int, total: int) -> None:
        status = self.server.status
        if done >= total:
            progress = self._progress.pop(signature, None)
            if progress is not None:
                progress.end(f"{total} entries embedded")
            status.dense_ready(True)
            return
        if signature not in self._progress:
            self._progress[signature] = None  # a token is on its way
            status.dense_loading(f"{DENSE_NAME}: embedding {total} entries")

            async def begin() -> None:
                progress = await self.server.jobs.progress("texcite: embedding bibliography")
                if signature in self._progress:
                    self._progress[signature] = progress
                else:  # finished meanwhile
                    progress.end(f"{total} entries embedded")
            self.server.jobs.spawn(begin())
            return
        progress = self._progress.get(signature)
        if progress is not None:
            progress.report(f"{done}/{total} texts", int(100 * done / total))

    def _dense_error(self, message: str) -> None:
        for progress in self._progress.values():
            if progress is not None:
                progress.end("embedding stopped; using BM25")
        self._progress.clear()
        self.server.status.dense_ready(False)
        self.server.status.status.message = message
        self.server.status.announce(f"texcite: {message} — using BM25 order.")

    def _rerank_state(self, state: str, message: str) -> None:
        self.server.status.rerank_state(state, message)
        if state == "fallback" and message:
            self.server.status.announce(message)


class TexciteServer(LanguageServer):
    """One editor session: the engine and the features that serve it."""

    def __init__(self) -> None:
        super().__init__("texcite", __version__)
        self.jobs = Jobs(self)
        self.documents = Documents(self)
        self.completion = Completion(self)
        self.status = StatusFeature(self)
        self.engine = Engine(read=self.documents.read, events=SessionEvents(self))

    def apply_settings(self, raw: Any) -> None:
        """Adopt new settings (invalid values are announced once and replaced by defaults); the engine restarts
        only the components whose settings changed."""
        settings = parse_settings(raw if isinstance(raw, dict) else {})
        for problem in settings.problems:
            self.status.announce(f"texcite settings: {problem}")
        self.engine.configure(settings)
        self.status.refresh()

    async def start_session(self) -> None:
        """After `initialized`: adopt the loop, load the models in the background, watch files, fetch settings."""
        self.jobs.adopt_loop()
        self.engine.open_workspace(self.documents.workspace_folder())
        # Warm the recall engine's import (scipy; numba is kept out) now rather than on the first completion.
        self.jobs.spawn(asyncio.to_thread(import_bm25s))
        await self._watch_files()
        await self.fetch_configuration()
        self.engine.warm()
        if self.engine.dense is not None and not self.engine.dense.error:
            self.status.dense_loading(f"{DENSE_NAME}: loading model")
        self.status.refresh()

    async def _watch_files(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is None or not caps.did_change_watched_files or not caps.did_change_watched_files.dynamic_registration:
            return
        watchers = [lsp.FileSystemWatcher(glob_pattern="**/*.bib"), lsp.FileSystemWatcher(glob_pattern="**/*.tex")]
        try:
            await self.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="texcite-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        except Exception:
            log.info("client did not accept file watchers")

    async def fetch_configuration(self) -> None:
        """Ask the client for the `texcite` section (when it supports workspace/configuration)."""
        caps = self.client_capabilities.workspace
        if caps is None or not caps.configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="texcite")]))
        except Exception as err:
            log.info("workspace/configuration failed: %s", err)
            return
        if result and isinstance(result[0], dict):
            self.apply_settings(result[0])

    async def configuration_changed(self, settings: Any) -> None:
        if isinstance(settings, dict) and isinstance(settings.get("texcite"), dict):
            self.apply_settings(settings["texcite"])
        else:
            await self.fetch_configuration()
        self.documents.refresh_all()

    def shutdown(self) -> None:
        """Stop background work so nothing is sent after the client stops listening."""
        self.jobs.close()
        self.engine.close()


server = TexciteServer()


@server.feature(lsp.INITIALIZE)
def on_initialize(ls: TexciteServer, params: lsp.InitializeParams) -> None:
    # No notifications before the initialize response: the event loop is adopted in `initialized`.
    ls.apply_settings(params.initialization_options or {})


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: TexciteServer, params: lsp.InitializedParams) -> None:
    await ls.start_session()


@server.feature(lsp.SHUTDOWN)
def on_shutdown(ls: TexciteServer, params: None) -> None:
    ls.shutdown()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(ls: TexciteServer, params: lsp.DidChangeConfigurationParams) -> None:
    await ls.configuration_changed(params.settings)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def on_open(ls: TexciteServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.documents.changed(params.text_document.uri, params.text_document.language_id)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: TexciteServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.documents.changed(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def on_close(ls: TexciteServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.documents.changed(params.text_document.uri, closed=True)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched(ls: TexciteServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    ls.documents.watched(params.changes)


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["{", ","], resolve_provider=False))
async def on_completion(ls: TexciteServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
    return await ls.completion.complete(params)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: TexciteServer, params: lsp.HoverParams) -> lsp.Hover | None:
    return await ls.completion.hover(params)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
async def on_definition(ls: TexciteServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    return await ls.completion.definition(params)


@server.feature(SUGGEST_METHOD)
async def on_suggest(ls: TexciteServer, params: Any) -> dict:
    return await ls.completion.suggest(params)


@server.feature(STATUS_METHOD)
def on_status(ls: TexciteServer, params: Any) -> dict:
    return ls.status.status.as_json()


def run(tcp: str | None = None) -> None:
    """Serve over stdio (default) or TCP; logs go to stderr, never stdout (the LSP channel)."""
    setup_logging(os.environ.get("TEXCITE_LOG", "INFO"))
    if tcp:
        host, _, port = tcp.rpartition(":")
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: os._exit(0))
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io(sys.stdin.buffer, claim_stdout())
