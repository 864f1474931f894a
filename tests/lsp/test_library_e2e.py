"""The writer's library through a real `texcite serve`: an entry of `library.files` that the project's refs.bib
lacks is offered as a library item, and executing the item's command makes the server send `workspace/applyEdit`
appending the entry to refs.bib (at the end of its text, as the library has it); a key the project uses for
another work is offered with a suffix; with no bibliography to add to, a message holds the entry's text."""

from __future__ import annotations

import asyncio
import re
from typing import Union

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import HANG_GUARD_S, SERVER, complete, copy_example, diagnostics_for, progress_ended, start
from texcite.lsp.events import LIBRARY_TITLES

CLASH = """@book{lowe2015foundations,
  author = {Marsh, Ada},
  title = {Two-Stage Retrieval Pipelines with BM25 and Learned Rerankers},
  year = {2021},
}
"""


def _move_to_library(project, library) -> str:
    """refs.bib without okafor2019termweighting, which goes to ``library`` with a work whose key clashes."""
    bib = project / "refs.bib"
    text = bib.read_text()
    entry = re.search(r"@article\{okafor2019termweighting,.*?\n\}\n", text, re.S).group(0)
    bib.write_text(text.replace(entry, ""))
    library.write_text("% my library\n\n" + entry + "\n" + CLASH)
    method = project / "chapters" / "method.tex"
    method.write_text(method.read_text().replace("\\citep{okafor2019termweighting,lowe2015foundations}",
                                                 "\\citep{}"))
    return entry


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    project = copy_example(tmp_path)
    library = tmp_path / "library.bib"
    lsp_client.entry = _move_to_library(project, library)
    lsp_client.project = project
    lsp_client.edits = []

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def _apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        lsp_client.edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    await start(lsp_client, project, {"recall": {"mode": "bm25"}, "library": {"files": [str(library)]}})
    yield
    await lsp_client.shutdown_session()


def _open_method(client: LanguageClient) -> tuple[str, int, int]:
    path = client.project / "chapters" / "method.tex"
    text = path.read_text()
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="latex", version=1, text=text)))
    before = text[:text.index("\\citep{}") + len("\\citep{")]
    return uri, before.count("\n"), len(before) - before.rfind("\n") - 1


async def _library_items(client: LanguageClient) -> dict[str, types.CompletionItem]:
    uri, line, character = _open_method(client)
    while True:  # the library is indexed in the background: ask again, as a writer typing on would
        result = await complete(client, uri, line, character)
        items = {i.label: i for i in result.items if i.command is not None}
        if items:
            return items


async def _execute(client: LanguageClient, command: types.Command):
    return await asyncio.wait_for(client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command.command, arguments=command.arguments)), HANG_GUARD_S)


async def test_accepting_a_library_item_appends_it_to_the_bib(client: LanguageClient):
    items = await _library_items(client)
    item = items["okafor2019termweighting"]
    assert item.label_details.description.startswith("library")
    assert "not in refs.bib yet — accepting adds it" in item.documentation.value
    assert item.text_edit.new_text == "okafor2019termweighting"
    assert item.command.command == "texcite.addLibraryEntry"
    assert await _execute(client, item.command) is True
    (params,) = client.edits
    bib = client.project / "refs.bib"
    ((uri, (edit,)),) = params.edit.changes.items()
    assert uri == bib.as_uri()
    assert edit.new_text.strip() == client.entry.strip()  # the library's block, verbatim


def _applied(text: str, edit: types.TextEdit) -> str:
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[:edit.range.start.line]) + edit.range.start.character
    return text[:start] + edit.new_text + text[start:]


async def test_the_entry_goes_before_the_final_newline(client: LanguageClient):
    """Appended after a blank line, at the end of refs.bib's last line: Neovim keeps no line after a file's final
    newline, and an edit there left an empty last line (refs.bib saved with a blank line at its end)."""
    items = await _library_items(client)
    assert await _execute(client, items["okafor2019termweighting"].command) is True
    ((_, (edit,)),) = client.edits[0].edit.changes.items()
    text = (client.project / "refs.bib").read_text()
    lines = text.split("\n")
    assert lines[-1] == ""
    last = types.Position(len(lines) - 2, len(lines[-2]))
    assert edit.range == types.Range(last, last)
    assert _applied(text, edit) == text + "\n" + client.entry.rstrip("\n") + "\n"


async def test_a_key_used_for_another_work_gets_a_suffix(client: LanguageClient):
    items = await _library_items(client)
    assert "lowe2015foundations" not in items  # the project's own entry is no library item
    item = items["lowe2015foundations_lib"]
    assert item.text_edit.new_text == "lowe2015foundations_lib"
    assert await _execute(client, item.command) is True
    (params,) = client.edits
    (edits,) = params.edit.changes.values()
    assert edits[0].new_text.lstrip().startswith("@book{lowe2015foundations_lib,")
    assert "Two-Stage Retrieval Pipelines" in edits[0].new_text


async def test_a_missing_bibliography_is_a_message_with_the_entry(client: LanguageClient):
    items = await _library_items(client)
    (client.project / "refs.bib").unlink()
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[types.FileEvent(
        uri=(client.project / "refs.bib").as_uri(), type=types.FileChangeType.Deleted)]))
    assert await _execute(client, items["okafor2019termweighting"].command) is False
    assert not client.edits
    message = client.messages[-1].message
    assert "Saturating Term Frequency" in message and "@article{okafor2019termweighting," in message


def _code_actions_as_sent(client: LanguageClient) -> None:
    """Read a code action holding a command as a CodeAction, as editors do (lsprotocol's own hook takes every
    object with a ``command`` member for a Command, whatever that member holds)."""
    converter = client.protocol._converter

    def hook(obj, _):
        is_command = isinstance(obj.get("command"), str)
        return converter.structure(obj, types.Command if is_command else types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)


async def test_a_library_key_inserted_without_the_command_gets_a_quick_fix(client: LanguageClient):
    _code_actions_as_sent(client)
    await _library_items(client)  # the library is indexed
    path = client.project / "chapters" / "method.tex"
    uri = path.as_uri()
    text = path.read_text().replace("\\citep{}", "\\citep{okafor2019termweighting}")
    client.text_document_did_change(types.DidChangeTextDocumentParams(  # what Neovim's omnifunc leaves
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    (warning,) = await diagnostics_for(client, uri, lambda ds: any("library" in d.message for d in ds))
    assert "okafor2019termweighting" in warning.message and "quick fix adds it" in warning.message
    actions = await asyncio.wait_for(client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=warning.range,
        context=types.CodeActionContext(diagnostics=[warning]))), HANG_GUARD_S)
    (action,) = actions
    assert action.title == "Add okafor2019termweighting from your library to refs.bib"
    assert action.kind == types.CodeActionKind.QuickFix and action.is_preferred
    assert await _execute(client, action.command) is True
    (params,) = client.edits
    ((bib_uri, (edit,)),) = params.edit.changes.items()
    assert bib_uri == (client.project / "refs.bib").as_uri()
    assert edit.new_text.strip() == client.entry.strip()


def _indexings(client: LanguageClient) -> list:
    """The $/progress of each indexing of the library so far (begun, ended or not)."""
    return [reports for reports in client.progress_reports.values()
            if reports and isinstance(reports[0], types.WorkDoneProgressBegin)
            and reports[0].title == LIBRARY_TITLES["indexing"]]


async def test_a_library_indexed_after_the_document_opened_brings_the_quick_fix(client: LanguageClient, tmp_path):
    """A document already citing a key only the library has (inserted by an editor that ran no command), and a
    library still being indexed: once it is, the key's warning says the library has it."""
    await _library_items(client)
    big = tmp_path / "big-library.bib"
    big.write_text(client.entry + "".join(f"@misc{{filler{i}, title={{Filler work number {i} on topic {i % 97}}}, "
                                          f"author={{Doe, Jane}}, year={{2001}}}}\n" for i in range(30_000)))
    indexings = len(_indexings(client))
    client.set_configuration({"recall": {"mode": "bm25"}, "library": {"files": [str(big)]}}, section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    while len(_indexings(client)) == indexings:  # the server pulled the setting: the big library is being indexed
        await asyncio.wait_for(client.wait_for_notification(types.PROGRESS), HANG_GUARD_S)
    path = client.project / "chapters" / "method.tex"
    uri = path.as_uri()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text=path.read_text().replace("\\citep{}", "\\citep{okafor2019termweighting}"))]))
    (warning,) = await asyncio.wait_for(diagnostics_for(client, uri, lambda ds: any(
        "okafor2019termweighting" in d.message for d in ds)), HANG_GUARD_S)
    assert "library" not in warning.message  # said while the new library is being indexed
    (warning,) = await asyncio.wait_for(diagnostics_for(client, uri, lambda ds: any(
        "Your library has it (big-library.bib)" in d.message for d in ds)), HANG_GUARD_S)


async def _said_of(client: LanguageClient, files: list, words: str) -> types.ShowMessageParams:
    """Set ``library.files`` to ``files``; the one message the server then shows with ``words`` in it."""
    client.set_configuration({"recall": {"mode": "bm25"}, "library": {"files": [str(f) for f in files]}},
                             section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    while not any(words in m.message for m in client.messages):
        await asyncio.wait_for(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE), HANG_GUARD_S)
    (said,) = [m for m in client.messages if words in m.message]
    assert said.type == types.MessageType.Warning
    return said


async def test_a_library_file_not_found_is_said(client: LanguageClient, tmp_path):
    missing = tmp_path / "Zotero" / "My Library.bib"
    said = await _said_of(client, [tmp_path / "library.bib", missing], "not read")
    assert said.message == (f"texcite: library file not read ({missing}: not found); check texcite.library.files. "
                            "The library has 2 entries.")
    assert "okafor2019termweighting" in await _library_items(client)  # the files read still serve


async def test_a_library_entry_that_cannot_be_read_is_said(client: LanguageClient, tmp_path):
    export = tmp_path / "export.bib"
    export.write_text("@article{fine, title = {A fine entry}, year = {2001}}\n\n@article{cut, title = {An export cut sh\n")
    said = await _said_of(client, [tmp_path / "library.bib", export], "could be read")
    assert said.message == (f"texcite: not all of the library could be read ({export}: line 3: Malformed entry, "
                            "skipped: @article{cut, title = {An export cut sh); its other entries are ranked.")
    items = await _library_items(client)
    assert "okafor2019termweighting" in items and "fine" in items  # the entries read still serve


async def test_indexing_the_library_and_embedding_its_titles_are_progress(client: LanguageClient, tmp_path):
    reports = await progress_ended(client, LIBRARY_TITLES["indexing"])
    assert reports[-1].message == "2 entries"
    library = tmp_path / "titles.bib"
    library.write_text("".join(f"@misc{{w{i}, title={{Work {i} of {tmp_path.name}}}, year={{2001}}}}\n"
                               for i in range(3)))
    client.set_configuration({"recall": {"mode": "hybrid"}, "library": {"files": [str(library)]}}, section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    reports = await progress_ended(client, LIBRARY_TITLES["embedding"])
    assert reports[-1].message == "3 titles embedded"
