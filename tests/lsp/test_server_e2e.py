"""End to end through a real LSP client: `texcite serve` as a subprocess over stdio, on the example paper."""

from __future__ import annotations

import asyncio
import os

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import HANG_GUARD_S, SERVER, complete, copy_example, diagnostics_for, open_doc, start


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper, {"recall": {"mode": "bm25"}})
    yield
    await lsp_client.shutdown_session()


async def test_completion_ranks_the_entry_the_paragraph_is_about(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await complete(client, uri, 8, 40)
    top = result.items[0]
    assert top.label == "nguyen2023distillation"
    assert top.kind == types.CompletionItemKind.Reference
    assert "(20" in top.detail and " — " in top.detail
    assert top.documentation.kind == types.MarkupKind.Markdown
    assert "BM25" in top.documentation.value
    assert [i.sort_text for i in result.items] == sorted(i.sort_text for i in result.items)
    assert top.text_edit.range.start == types.Position(8, 40) == top.text_edit.range.end
    assert "nguyen2023distillation" in top.filter_text and len(top.filter_text) <= 128


async def test_second_known_answer_with_optional_arguments(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await complete(client, uri, 19, 55)
    assert result.items[0].label == "garcia2020hardnegatives"


async def test_typed_prefix_and_existing_keys(client: LanguageClient):
    path = client.paper / "chapters" / "method.tex"
    uri = open_doc(client, path)
    # line 3 holds \citep{okafor2019termweighting,lowe2015foundations}: put the cursor after "lowe"
    line = path.read_text().splitlines()[3]
    character = line.index("lowe2015") + len("lowe")
    result = await complete(client, uri, 3, character)
    labels = [i.label for i in result.items]
    assert labels[0] == "lowe2015foundations"
    assert "okafor2019termweighting" not in labels  # already cited in this command
    edit = result.items[0].text_edit
    assert edit.range.start.character == line.index("lowe2015")
    assert edit.range.end.character == line.index("lowe2015") + len("lowe2015foundations")


async def test_no_completion_outside_a_cite(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(9, 5)))
    assert result is None or not getattr(result, "items", result)


async def test_hover_and_definition(client: LanguageClient):
    path = client.paper / "chapters" / "method.tex"
    uri = open_doc(client, path)
    line = path.read_text().splitlines()[3]
    pos = types.Position(3, line.index("lowe2015") + 2)
    await complete(client, uri, 8, 40)  # the index is ready once completion answers with items
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos))
    assert hover is not None and "lowe2015foundations" in hover.contents.value
    loc = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), pos))
    bib = client.paper / "refs.bib"
    assert loc.uri == bib.as_uri()
    assert "lowe2015foundations" in bib.read_text().splitlines()[loc.range.start.line]


async def test_undefined_key_diagnostic(client: LanguageClient):
    path = client.paper / "chapters" / "method.tex"
    path.write_text(path.read_text().replace("\\cite{}", "\\cite{nobody2099} \\cite{nguy} \\cite{Lowe2015Foundations}"))
    uri = open_doc(client, path)
    diags = await diagnostics_for(client, uri, lambda ds: any("nobody2099" in d.message for d in ds))
    assert [d.message for d in diags if "nobody2099" in d.message]
    assert not [d for d in diags if "'nguy'" in d.message]  # the start of nguyen2023distillation: being typed
    d = next(d for d in diags if "nobody2099" in d.message)
    assert d.range.start.line == 8
    assert [d.message for d in diags if "Lowe2015" in d.message] == [
        "Citation key 'Lowe2015Foundations' is not defined in any .bib file; 'lowe2015foundations' is (only the case "
        "differs: BibTeX takes it with a warning, biber does not)."]


async def test_bib_parse_errors_and_duplicates_are_diagnostics(client: LanguageClient):
    bib = client.paper / "refs.bib"
    text = bib.read_text()
    bib.write_text(text + "\n@article{broken, title={unclosed\n\n@article{lowe2015foundations, title={again}}\n"
                   "@article{after2024ok, title={Entry after the broken one}}\n")
    open_doc(client, client.paper / "chapters" / "method.tex")
    diags = await diagnostics_for(client, bib.as_uri(), lambda ds: len(ds) >= 2)
    messages = " | ".join(d.message for d in diags)
    assert "Malformed" in messages and "Duplicate key 'lowe2015foundations'" in messages


async def test_bib_edited_on_disk_changes_next_completion(client: LanguageClient):
    path = client.paper / "chapters" / "method.tex"
    uri = open_doc(client, path)
    first = await complete(client, uri, 8, 40)
    assert "zz2025quantumbananas" not in [i.label for i in first.items]
    bib = client.paper / "refs.bib"
    bib.write_text(bib.read_text() + "\n@article{zz2025quantumbananas, title={Margin distillation of a large teacher "
                   "into a compact student reranker on soft score margins}, author={Zed, Zoe}, year={2025}}\n")
    os.utime(bib, None)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=bib.as_uri(), type=types.FileChangeType.Changed)]))
    second = await complete(client, uri, 8, 40)
    assert "zz2025quantumbananas" in [i.label for i in second.items[:3]]


async def test_invalid_setting_gives_a_message_and_the_default(client: LanguageClient):
    client.set_configuration({"completion": {"maxItems": "lots"}, "recall": {"mode": "bm25"}}, section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    while not any("maxItems" in m.message for m in client.messages):
        await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await complete(client, uri, 8, 40)
    assert 1 < len(result.items) <= 50


async def test_max_items_setting(client: LanguageClient):
    client.set_configuration({"completion": {"maxItems": 3}, "recall": {"mode": "bm25"}}, section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await client.wait_for_notification("texcite/status")  # sent once the new settings are applied
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await complete(client, uri, 8, 40)
    assert len(result.items) == 3
    assert result.is_incomplete  # the editor asks again as the user types: the server filters


async def test_indexing_reports_progress(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    await complete(client, uri, 8, 40)
    kinds = [type(r).__name__ for reports in client.progress_reports.values() for r in reports]
    assert "WorkDoneProgressBegin" in kinds and "WorkDoneProgressEnd" in kinds


async def test_custom_suggest_and_status_requests(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    inside = await client.protocol.send_request_async("texcite/suggest", {
        "textDocument": {"uri": uri}, "position": {"line": 8, "character": 40}})
    assert inside.suggestions[0].key == "nguyen2023distillation"
    assert inside.cite.range.start.line == 8
    # Outside a cite command the paragraph still ranks (the extension then inserts a new \cite{key}).
    outside = await client.protocol.send_request_async("texcite/suggest", {
        "textDocument": {"uri": uri}, "position": {"line": 9, "character": 5}})
    assert outside.cite is None and outside.suggestions[0].key == "nguyen2023distillation"
    status = await client.protocol.send_request_async("texcite/status", None)
    assert status.indexedEntries >= 30 and status.lastLatencyMs is not None


async def test_a_cache_dir_inside_the_workspace_is_refused(client: LanguageClient):
    inside = client.paper / ".cache-planted"
    client.set_configuration({"cacheDir": str(inside), "recall": {"mode": "bm25"}}, section="texcite")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    while not any("inside the workspace" in m.message for m in client.messages):
        await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    assert (await complete(client, uri, 8, 40)).items
    assert not inside.exists()


async def test_opening_a_document_indexes_its_bibliography(client: LanguageClient):
    """No completion asked: opening the file (right behind `initialized`) is enough to index and say so."""
    open_doc(client, client.paper / "chapters" / "method.tex", language="plaintex")
    while not any(getattr(s, "indexedEntries", 0) >= 30 for s in getattr(client, "statuses", [])):
        await asyncio.wait_for(client.wait_for_notification("texcite/status"), HANG_GUARD_S)
