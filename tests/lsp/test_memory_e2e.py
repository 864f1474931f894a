"""The writer's memory through a real `texcite serve`: the key a writer takes from a completion list (the editor
applying the item's edit, as every editor does) is remembered in the cache folder with the lines around it, and
`texcite.forgetAccepted` deletes it all and says how much it held."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import tempfile

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_helpers import HANG_GUARD_S, SERVER, complete, copy_example, open_doc, start

CACHE = pathlib.Path(tempfile.mkdtemp(prefix="texcite-memory-"))
MEMORY = CACHE / "memory" / "accepted.jsonl"
CACHE_OFF = pathlib.Path(tempfile.mkdtemp(prefix="texcite-memory-off-"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER.server_command,
                                              server_env={**os.environ, "TEXCITE_CACHE_DIR": str(CACHE)}))
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper, {"recall": {"mode": "bm25"}})
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER.server_command,
                                              server_env={**os.environ, "TEXCITE_CACHE_DIR": str(CACHE_OFF)}))
async def client_off(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper, {"recall": {"mode": "bm25", "remember": False}})
    yield


def accept(client: LanguageClient, uri: str, item: types.CompletionItem) -> None:
    """The editor applies the item's edit."""
    assert isinstance(item.text_edit, types.TextEdit)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=item.text_edit.range,
                                                                text=item.text_edit.new_text)]))


async def remembered() -> list[dict]:
    """The memory once it holds something (the server reads a citation after the edits pause)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_GUARD_S
    while not MEMORY.exists() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return [json.loads(line) for line in MEMORY.read_text().splitlines()]


async def test_a_key_taken_from_the_list_is_remembered_and_forgotten_on_command(client: LanguageClient):
    path = client.paper / "chapters" / "method.tex"
    line = path.read_text().splitlines()[8]  # "... distillation loss of \cite{} we train ..."
    uri = open_doc(client, path)
    listed = await complete(client, uri, 8, line.rindex("{}") + 1)
    taken = listed.items[2]
    accept(client, uri, taken)

    [memory] = await remembered()
    assert (memory["key"], memory["file"], memory["line"]) == (taken.label, str(path), 8)
    assert "distillation loss of \\cite{} we train" in memory["text"]
    assert memory["text"][memory["offset"] - len("of \\cite{"):memory["offset"]] == "of \\cite{"
    assert oct(MEMORY.stat().st_mode & 0o777) == "0o600"

    forgot = await asyncio.wait_for(client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="texcite.forgetAccepted")), HANG_GUARD_S)
    assert forgot == 1 and not MEMORY.exists()
    assert client.messages[-1].message == f"texcite: forgot 1 accepted citation ({MEMORY})."


async def test_with_remember_off_nothing_is_remembered(client_off: LanguageClient):
    path = client_off.paper / "chapters" / "method.tex"
    line = path.read_text().splitlines()[8]
    uri = open_doc(client_off, path)
    accept(client_off, uri, (await complete(client_off, uri, 8, line.rindex("{}") + 1)).items[0])
    await client_off.shutdown_session()  # the server reads what was accepted before it stops
    assert not (CACHE_OFF / "memory").exists()
