"""The same project state gives the same completion list whatever the session did before, through `texcite serve`:
citations completed, words written and everything restored with didChange edits, the lists at two cursors equal
those of servers that were asked nothing else (labels, order, details and the cards with their reasons)."""

from __future__ import annotations

import pathlib

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import SERVER, complete, copy_example, open_doc, start

OPTIONS = {"recall": {"mode": "bm25"}}


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper, OPTIONS)
    yield
    await lsp_client.shutdown_session()


def shown(result: types.CompletionList) -> list[tuple]:
    return [(i.label, i.sort_text, i.detail, i.documentation.value if i.documentation else None)
            for i in result.items]


def empty_braces(path: pathlib.Path, line: int) -> int:
    """The character inside the last ``{}`` of a line."""
    return path.read_text().splitlines()[line].rindex("{}") + 1


class Document:
    """An open document the test edits as a user would (incremental didChange, versions counting up)."""

    def __init__(self, client: LanguageClient, path: pathlib.Path) -> None:
        self.client, self.path, self.version = client, path, 1
        self.uri = open_doc(client, path)

    def insert(self, line: int, character: int, text: str) -> None:
        self.replace(line, character, character, text)

    def delete(self, line: int, character: int, length: int) -> None:
        self.replace(line, character, character + length, "")

    def replace(self, line: int, start: int, end: int, text: str) -> None:
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, start), types.Position(line, end)), text=text)]))


async def fresh_list(paper: pathlib.Path, path: pathlib.Path, line: int, character: int) -> list[tuple]:
    """The list of a server asked nothing else, on the files as they are on disk."""
    other = await SERVER.start()
    try:
        await start(other, paper, OPTIONS)
        return shown(await complete(other, open_doc(other, path), line, character))
    finally:
        await other.shutdown_session()
        await other.stop()


async def test_a_state_gets_the_same_list_after_edits_and_other_completions(client: LanguageClient):
    method_path, intro_path = client.paper / "chapters" / "method.tex", client.paper / "chapters" / "intro.tex"
    distillation = (8, empty_braces(method_path, 8))  # "... distillation loss of \cite{} we train ..."
    negatives = (19, empty_braces(method_path, 19))  # "... far more \citep[see][]{}."
    older = (24, empty_braces(intro_path, 24))  # "older papers \cite{}."
    method = Document(client, method_path)
    first = shown(await complete(client, method.uri, *distillation))  # the session's first question

    intro = Document(client, intro_path)
    intro.insert(*older, "zhang2021popularitybias")  # a citation completed (with a wrong key)
    after_completion = shown(await complete(client, method.uri, *negatives))
    method.insert(*negatives, "garcia2020hardnegatives")
    method.insert(9, 0, "hard negatives mined from a lexical ranking and ")  # words written near the citation
    elsewhere = shown(await complete(client, method.uri, *distillation))
    # everything restored, in another order than it was written
    intro.delete(*older, len("zhang2021popularitybias"))
    method.delete(*negatives, len("garcia2020hardnegatives"))
    method.delete(9, 0, len("hard negatives mined from a lexical ranking and "))

    again = shown(await complete(client, method.uri, *distillation))
    negatives_now = shown(await complete(client, method.uri, *negatives))
    assert again == first
    assert negatives_now == await fresh_list(client.paper, method_path, *negatives)
    assert elsewhere != first and after_completion != negatives_now  # the edits did change what was asked
