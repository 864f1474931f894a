"""Keys written the Zotero / Better BibTeX way (`traversaro_unied_2017`, `conway:onag`, `nori/icub.design_2015`)
through a real LSP client: every item's edit replaces the whole key being typed, and its filterText is exactly the
text from the start of that edit to the cursor, so a client that filters on its own (Eglot, Neovim) keeps every
item the server chose. Also what a writer sees first after typing a few letters of a key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import SERVER, complete, start

ZOTERO = Path(__file__).resolve().parents[1] / "fixtures" / "zotero"
LINE = 15  # "We compare the whole-body controllers of the robot."


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.project = Path(shutil.copytree(ZOTERO, tmp_path / "zotero"))
    await start(lsp_client, lsp_client.project, {"recall": {"mode": "bm25"}})
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, line_text: str) -> str:
    path = client.project / "main.tex"
    lines = path.read_text().split("\n")
    lines[LINE] = line_text
    path.write_text("\n".join(lines))
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="latex", version=1, text=path.read_text())))
    return uri


@pytest.mark.parametrize("before, after, key_start, first", [
    ("We compare \\parencite{traversaro_un", "}", "We compare \\parencite{", "traversaro_unied_2017"),
    ("We compare \\parencite{traversaro_un", "ied_2017}", "We compare \\parencite{", "traversaro_unied_2017"),
    ("We compare \\cite{featherstone_rigid_2008,conway:", "}", "We compare \\cite{featherstone_rigid_2008,",
     "conway:onag"),
    ("We compare \\cite{conway:onag, nori/icub.", "}", "We compare \\cite{conway:onag, ", "nori/icub.design_2015"),
    ("We compare \\cite{dafarra_whole-b", "}", "We compare \\cite{", "dafarra_whole-body_2018"),
])
async def test_every_item_replaces_the_whole_key(client: LanguageClient, before, after, key_start, first):
    uri = _open(client, before + after)
    result = await complete(client, uri, LINE, len(before))
    typed = before[len(key_start):]
    assert result.items and result.items[0].label == first
    end = len(before) + len(after) - 1 if after != "}" else len(before)  # the rest of the key, not the brace
    for item in result.items:
        edit = item.text_edit
        assert (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (
            LINE, len(key_start), end), item.label
        assert item.filter_text == typed, item.label
        assert edit.new_text == item.label


async def test_typed_key_prefix_comes_before_author_and_title_words(client: LanguageClient):
    """`and` starts two keys, a co-author (Andrade) and title words; `the` starts keys and is a stopword."""
    for typed, keys in (("and", {"andrle_geometric_2013", "andrychowicz_what_2020"}),
                        ("the", {"theodorou_generalized_2010", "the_robot_2019"})):
        before = f"We compare \\cite{{{typed}"
        uri = _open(client, before + "}")
        result = await complete(client, uri, LINE, len(before))
        labels = [i.label for i in result.items]
        assert set(labels[:2]) == keys, (typed, labels)


async def test_hover_is_a_short_card_saying_where_the_key_is_cited(client: LanguageClient):
    line = "We compare \\parencite{traversaro_unied_2017} and again \\cite{traversaro_unied_2017}."
    uri = _open(client, line)
    await complete(client, uri, 7, len("\\parencite{trav"))  # the index is ready once completion answers
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(LINE, line.index("traversaro") + 3)))
    card = hover.contents.value
    assert card.startswith("**A Unified View of the Equations of Motion")
    assert "Silvio Traversaro, Daniele Pucci, Francesco Nori" in card and "*Preprint, 2017*" in card
    abstract = card.split("\n\n")[2]
    assert abstract.endswith(" …") and len(abstract) < 320  # the first ~300 characters, cut at a word
    assert ("You cite it 3 times in this file: in “Floating base dynamics” and “Learning” (2×)." in card), card
    assert "`traversaro_unied_2017` · article · refs.bib:4" in card


async def test_documentation_says_why_in_plain_words(client: LanguageClient):
    before = "We compare the whole-body controllers \\cite{"
    uri = _open(client, before + "}")
    result = await complete(client, uri, LINE, len(before))
    docs = [i.documentation.value for i in result.items]
    assert all("**Why #" in d and "*Ranked by " in d for d in docs)
    assert any("you cite it" in d or "shares" in d for d in docs), docs[:3]
    card = next(i.documentation.value for i in result.items if i.label == "traversaro_unied_2017")
    assert "You cite it once in this file: in “Floating base dynamics”." in card, card
