"""Shared pieces of the end-to-end tests: a copy of the example paper and waiting for server notifications."""

from __future__ import annotations

import asyncio
import pathlib
import shutil
import sys

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "paper"
HANG_GUARD_S = 60  # a request that takes this long has hung: fail instead of stalling CI (speed is in bench/)
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "texcite", "serve"])


def copy_example(dest: pathlib.Path) -> pathlib.Path:
    """A private copy of the example paper (tests edit it)."""
    target = dest / "paper"
    shutil.copytree(EXAMPLE, target)
    return target


async def start(client: LanguageClient, root: pathlib.Path, options: dict | None = None) -> None:
    """initialize + initialized as VS Code would, with ``options`` as initializationOptions and configuration."""
    if options is not None:
        client.set_configuration(options, section="texcite")

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params):  # accept file watchers like an editor would
        client.registrations = getattr(client, "registrations", []) + list(params.registrations)

    @client.feature("texcite/status")
    def _status(params):
        client.statuses = getattr(client, "statuses", []) + [params]
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options or {},
    ))


def open_doc(client: LanguageClient, path: pathlib.Path, language: str = "latex", version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=path.read_text())))
    return uri


async def diagnostics_for(client: LanguageClient, uri: str, predicate=lambda ds: True):
    """Wait until diagnostics for ``uri`` satisfy ``predicate`` (notification-driven, no sleeping)."""
    while uri not in client.diagnostics or not predicate(client.diagnostics[uri]):
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics[uri]


def progress_running(client: LanguageClient) -> bool:
    """True while some $/progress the server began has not ended."""
    return any(not reports or not isinstance(reports[-1], types.WorkDoneProgressEnd)
               for reports in client.progress_reports.values())


async def complete(client: LanguageClient, uri: str, line: int, character: int,
                   wait_until_ready: bool = True) -> types.CompletionList:
    """Completion at a position; while the server is still indexing (no items yet) ask again once its progress
    moves on, as an editor does when the user keeps typing. Lists are always incomplete (the editor re-asks at
    every keystroke), so an empty list with no indexing under way is asked once more and then taken as final."""
    settled = False
    while True:
        result = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character))), HANG_GUARD_S)
        assert isinstance(result, types.CompletionList), result
        if result.items or not wait_until_ready:
            return result
        if progress_running(client):
            await client.wait_for_notification(types.PROGRESS)
        elif settled:
            return result
        else:
            settled = True


def progress_titled(client: LanguageClient, title: str) -> list:
    """The $/progress reports of the work titled ``title`` (empty until it has begun)."""
    for reports in client.progress_reports.values():
        if reports and isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].title == title:
            return reports
    return []


async def progress_ended(client: LanguageClient, title: str) -> list:
    """Wait (on notifications, not time) until the $/progress titled ``title`` has ended; its reports."""
    while not (reports := progress_titled(client, title)) or not isinstance(reports[-1], types.WorkDoneProgressEnd):
        await asyncio.wait_for(client.wait_for_notification(types.PROGRESS), HANG_GUARD_S * 5)
    return reports
