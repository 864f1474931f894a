"""Each project layout through `texcite serve` from a fresh process: the keys offered inside a citation are exactly
the document's own; old keys (biblatex ids), apacite's commands, missing bibliographies and multi-root workspaces."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from lsp_helpers import HANG_GUARD_S, SERVER, complete, diagnostics_for, open_doc, start
from test_layouts import DOC, LAYOUTS, bib, write

OPTIONS = {"recall": {"mode": "bm25"}}


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def own_keys(folder: Path, files: list[str]) -> set[str]:
    keys = set()
    for name in files:
        text = (folder / name).read_text()
        keys |= set(re.findall(r"@\w+\{([^,\s]+),", text)) | set(re.findall(r"\\bibitem(?:\[[^\]]*\])?\{([^}]+)\}", text))
    return keys


async def offered(client: LanguageClient, path: Path, line: int, character: int) -> list[types.CompletionItem]:
    uri = open_doc(client, path)
    return (await complete(client, uri, line, character)).items


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
async def test_a_layout_offers_exactly_its_own_keys(client: LanguageClient, tmp_path: Path, layout: str):
    files, opened, expected = LAYOUTS[layout]
    write(tmp_path, files)
    path = tmp_path / opened
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + ["See \\cite{}."]) + "\n")
    await start(client, tmp_path, OPTIONS)
    items = await offered(client, path, len(lines), len("See \\cite{"))
    assert {i.label for i in items} == own_keys(tmp_path, expected)


async def test_an_old_key_completes_hovers_and_is_defined(client: LanguageClient, tmp_path: Path):
    write(tmp_path, {
        "main.tex": DOC % ("\\addbibresource{refs.bib}", "As \\cite{smith2019} showed, \\cite{smi}."),
        "refs.bib": "@article{smith2020, ids = {smith2019}, title = {Renamed}, author = {Smith, Ann}, year = {2020}}\n"
                    "@article{doe2021, title = {Other}, author = {Doe, Jo}, year = {2021}}\n",
    })
    await start(client, tmp_path, OPTIONS)
    uri = open_doc(client, tmp_path / "main.tex")
    line = (tmp_path / "main.tex").read_text().splitlines()[3]
    items = (await complete(client, uri, 3, line.index("{smi}") + 4)).items
    assert [i.label for i in items] == ["smith2020"]  # one item per work, the key it has now
    assert items[0].text_edit.new_text == "smith2020"
    assert items[0].label_details.description == "Smith 2020"
    pos = types.Position(3, line.index("smith2019") + 2)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos))
    assert hover is not None and "Renamed" in hover.contents.value
    assert "`smith2020` (old key `smith2019`)" in hover.contents.value
    loc = await client.text_document_definition_async(types.DefinitionParams(types.TextDocumentIdentifier(uri), pos))
    assert loc.uri == (tmp_path / "refs.bib").as_uri() and loc.range.start.line == 0
    diags = await diagnostics_for(client, uri)
    assert not [d for d in diags if "smith2019" in d.message]


@pytest.mark.parametrize("command", ["\\citeA{", "\\citeyearNP{", "\\cite<see>[p.~3]{"])
async def test_apacite_commands_complete(client: LanguageClient, tmp_path: Path, command: str):
    write(tmp_path, {"main.tex": DOC % ("\\usepackage{apacite}", f"Text {command}}}.\n\\bibliography{{refs}}"),
                     "refs.bib": bib("a", "b")})
    await start(client, tmp_path, OPTIONS)
    items = await offered(client, tmp_path / "main.tex", 3, len(f"Text {command}"))
    assert {i.label for i in items} == {"a", "b"}


async def test_a_missing_bibliography_is_a_diagnostic_on_its_command(client: LanguageClient, tmp_path: Path):
    write(tmp_path, {"main.tex": DOC % ("", "Text.\n\\bibliography{refs,gone}"), "refs.bib": bib("a")})
    await start(client, tmp_path, OPTIONS)
    uri = open_doc(client, tmp_path / "main.tex")
    diags = await diagnostics_for(client, uri, lambda ds: any("gone" in d.message for d in ds))
    (d,) = [d for d in diags if "gone" in d.message]
    assert d.range.start == types.Position(4, 0) and d.range.end == types.Position(4, len("\\bibliography{refs,gone}"))
    assert d.message.startswith(f"Bibliography 'gone' not found; looked in: {tmp_path}")


async def test_each_workspace_folder_is_its_own_project(client: LanguageClient, tmp_path: Path):
    for name, key in (("paper", "p"), ("thesis", "t"), ("talk", "k")):
        # No bibliography named: the fallback is every .bib of the file's own workspace folder.
        write(tmp_path / name, {"tex/main.tex": DOC % ("", "Text \\cite{}."), "bib/refs.bib": bib(key + "1", key + "2")})
    folders = [types.WorkspaceFolder(uri=(tmp_path / n).as_uri(), name=n) for n in ("paper", "thesis")]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params):  # accept file watchers like an editor would
        return None
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=folders[0].uri, workspace_folders=folders,
        initialization_options=OPTIONS))
    assert {i.label for i in await offered(client, tmp_path / "thesis/tex/main.tex", 3, 11)} == {"t1", "t2"}
    assert {i.label for i in await offered(client, tmp_path / "paper/tex/main.tex", 3, 11)} == {"p1", "p2"}
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        types.WorkspaceFoldersChangeEvent(added=[types.WorkspaceFolder((tmp_path / "talk").as_uri(), "talk")],
                                          removed=[])))
    items = await asyncio.wait_for(offered(client, tmp_path / "talk/tex/main.tex", 3, 11), HANG_GUARD_S)
    assert {i.label for i in items} == {"k1", "k2"}


async def test_a_class_file_edited_on_disk_changes_the_bibliography(client: LanguageClient, tmp_path: Path):
    write(tmp_path, {"thesis.tex": "\\documentclass{mini}\n\\begin{document}\nText \\cite{}.\n\\end{document}\n",
                     "mini.cls": "\\LoadClass{report}\n\\addbibresource{old.bib}\n", "old.bib": bib("o1", "o2"),
                     "new.bib": bib("n1")})
    await start(client, tmp_path, OPTIONS)
    assert {i.label for i in await offered(client, tmp_path / "thesis.tex", 2, 11)} == {"o1", "o2"}
    (tmp_path / "mini.cls").write_text("\\LoadClass{report}\n\\addbibresource{new.bib}\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=(tmp_path / "mini.cls").as_uri(), type=types.FileChangeType.Changed)]))
    uri = (tmp_path / "thesis.tex").as_uri()
    assert {i.label for i in (await complete(client, uri, 2, 11)).items} == {"n1"}
