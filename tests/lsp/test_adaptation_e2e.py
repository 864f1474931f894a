"""A project citing often enough is adapted by `texcite serve` too: `$/progress` says the server is learning from
the project's citations and, at its end, how many taught it (`texcite/status` counts the projects being adapted); the
lists then say they are adapted."""

from __future__ import annotations


import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import SERVER, complete, progress_ended, start
from test_lessons import probe, write_project
from texcite.lsp.events import ADAPTING_TITLE


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.root = tmp_path / "thesis"
    lsp_client.root.mkdir()
    await start(lsp_client, lsp_client.root, {"recall": {"mode": "bm25"}})
    yield
    await lsp_client.shutdown_session()


async def test_the_server_learns_from_the_saved_citations_and_says_so(client: LanguageClient):
    _, text = write_project(client.root, 40)
    emptied, offset = probe(text, 3)  # the writer empties a citation in the editor, unsaved
    uri = client.root.joinpath("main.tex").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="latex", version=1, text=emptied)))
    line = emptied.count("\n", 0, offset)
    character = offset - (emptied.rfind("\n", 0, offset) + 1)
    await complete(client, uri, line, character)
    reports = await progress_ended(client, ADAPTING_TITLE)
    assert reports[-1].message == "adapted to 40 citations"
    # texcite/status counts the projects being adapted: a client can wait for the final order on it
    adapting = [status.adapting for status in client.statuses]
    assert 1 in adapting and adapting[-1] == 0
    adapted = await complete(client, uri, line, character)
    doc = adapted.items[0].documentation
    assert isinstance(doc, types.MarkupContent) and "adapted to this project (40 citations)" in doc.value
