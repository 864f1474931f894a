"""The language server: one editor session (settings, the engine, the features that own their state) and its
handlers.

Handlers are one line per feature: the features (``documents``, ``completion``, ``status``, ``accepted``,
``library``) convert and schedule; the engine ranks. Each feature is built with the collaborators it uses (esbonio's
way), never the server; engine events reach them through ``events.SessionEvents``. The protocol is ``protocol``; the transports ``transport``.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from texcite import __version__
from texcite.engine import Engine
from texcite.lsp.accepted import FORGET_COMMAND, AcceptedCitations
from texcite.lsp.buffers import Buffers
from texcite.lsp.completion import SUGGEST_METHOD, Completion
from texcite.lsp.documents import Documents
from texcite.lsp.events import SessionEvents
from texcite.lsp.jobs import Jobs
from texcite.lsp.library import ADD_COMMAND, LibraryEntries
from texcite.lsp.positions import DocumentPositions
from texcite.lsp.protocol import TexciteProtocol
from texcite.lsp.status import STATUS_METHOD, StatusFeature
from texcite.files import inside
from texcite.settings import parse_settings

log = logging.getLogger("texcite")


class TexciteServer(LanguageServer):
    """One editor session: the engine and the features that serve it."""

    def __init__(self, connection: threading.Event | None = None) -> None:
        super().__init__("texcite", __version__, protocol_cls=TexciteProtocol)
        self.connection = connection
        self.jobs = Jobs(self)
        self.buffers = Buffers(self, confined=connection is not None)  # a TCP client: lsp/access.py
        events = SessionEvents(self.jobs)
        self.engine = Engine(sources=self.buffers, events=events)
        positions = DocumentPositions()
        self.status = StatusFeature(self, self.engine, self.jobs)
        self.documents = Documents(self, self.engine, self.buffers, self.jobs, self.status, positions)
        self.accepted = AcceptedCitations(self, self.engine, self.buffers, self.jobs)
        self.completion = Completion(self.engine, self.buffers, self.documents, positions, self.status, self.accepted)
        self.library = LibraryEntries(self, self.engine, self.buffers, positions)
        events.attach(self.documents, self.status)

    def apply_settings(self, raw: Any) -> None:
        """Adopt new settings (invalid values are announced once and replaced by defaults); the engine restarts
        only the components whose settings changed."""
        settings = parse_settings(raw if isinstance(raw, dict) else {})
        folder = self.buffers.workspace_folder()
        if settings.cache_dir and folder and inside(os.path.expanduser(settings.cache_dir), folder):
            # A repository must not choose where (and what) the server reads as its cache.
            settings = settings.replace(cache_dir="", problems=settings.problems + (
                f"cacheDir: {settings.cache_dir} is inside the workspace; using the default cache folder",))
        elif settings.cache_dir and self.connection is not None:  # nor may a TCP peer choose where it writes
            settings = settings.replace(cache_dir="", problems=settings.problems + (
                "cacheDir is not taken from a TCP client; using the default cache folder",))
        if self.connection is not None:  # a TCP peer neither writes nor reads the machine's writer's memory
            settings = settings.replace(recall_remember=False)
        for problem in settings.problems:
            self.status.announce(f"texcite settings: {problem}")
        self.engine.configure(settings)
        self.status.refresh()

    async def start_session(self) -> None:
        """After `initialized`: adopt the loop, load the models in the background, watch files, fetch settings."""
        self.jobs.adopt_loop()
        self.engine.open_workspace(self.buffers.workspace_folder())
        await self._watch_files()
        await self.fetch_configuration()
        self.engine.warm()
        if self.engine.stages().hybrid:
            self.status.dense_loading("model")
        self.status.refresh()

    async def _watch_files(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is None or not caps.did_change_watched_files or not caps.did_change_watched_files.dynamic_registration:
            return
        watchers = [lsp.FileSystemWatcher(glob_pattern=f"**/*.{ext}") for ext in ("bib", "tex", "cls", "sty")]
        try:
            await self.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="texcite-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        except Exception:
            log.info("client did not accept file watchers")
        else:
            self.buffers.watching = True

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

    def stop_session(self) -> None:
        """Stop background work so nothing is sent after the client stops listening."""
        self.accepted.flush()
        self.jobs.close()
        self.engine.close()


def create_server(connection: threading.Event | None = None) -> TexciteServer:
    """A server with its handlers; ``connection`` is set when its TCP client says `exit` (None: stdio)."""
    ls = TexciteServer(connection)

    @ls.feature(lsp.INITIALIZE)
    def on_initialize(ls: TexciteServer, params: lsp.InitializeParams) -> None:
        # No notifications before the initialize response: the event loop is adopted in `initialized`.
        ls.apply_settings(params.initialization_options or {})

    @ls.feature(lsp.INITIALIZED)
    async def on_initialized(ls: TexciteServer, params: lsp.InitializedParams) -> None:
        await ls.start_session()

    @ls.feature(lsp.SHUTDOWN)
    def on_shutdown(ls: TexciteServer, params: None) -> None:
        ls.stop_session()

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: TexciteServer, params: lsp.DidChangeConfigurationParams) -> None:
        await ls.configuration_changed(params.settings)

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def on_folders(ls: TexciteServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
        ls.documents.refresh_all()  # pygls updated the folders; projects are found again against them

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: TexciteServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, params.text_document.language_id)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: TexciteServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, typing=True)
        ls.accepted.changed(params.text_document.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: TexciteServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, closed=True)
        ls.accepted.changed(params.text_document.uri, closed=True)

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def on_watched(ls: TexciteServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        ls.documents.watched(params.changes)

    @ls.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=["{", ","], resolve_provider=False))
    async def on_completion(ls: TexciteServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        return await ls.completion.complete(params)

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: TexciteServer, params: lsp.HoverParams) -> lsp.Hover | None:
        return await ls.completion.hover(params)

    @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(ls: TexciteServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        return await ls.completion.definition(params)

    @ls.feature(SUGGEST_METHOD)
    async def on_suggest(ls: TexciteServer, params: Any) -> dict:
        return await ls.completion.suggest(params)

    @ls.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    async def on_code_action(ls: TexciteServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        return await ls.library.code_actions(params)

    @ls.command(ADD_COMMAND)
    async def on_add_library_entry(ls: TexciteServer, *arguments: Any) -> bool:
        return await ls.library.add(arguments)

    @ls.command(FORGET_COMMAND)
    async def on_forget_accepted(ls: TexciteServer, *arguments: Any) -> int:
        return await ls.accepted.forget()

    @ls.feature(STATUS_METHOD)
    def on_status(ls: TexciteServer, params: Any) -> dict:
        return ls.status.as_json()

    return ls
