"""Every text encoding editors write is read, with every entry and its accents: UTF-8 with or without a BOM,
UTF-16 LE/BE with a BOM (and without one), UTF-32 with one; other bytes are read as Windows-1252
or Latin-1 (or as UTF-8 with the bad bytes replaced, when the file is UTF-8 but for them) with a warning. A NUL byte or a lone surrogate in an
`\\input` name or a `% !TEX root` costs that name only, never the project's entries."""

from __future__ import annotations

import codecs

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import complete, diagnostics_for, open_doc
from test_bad_input import cite_completion, client, write_project  # noqa: F401 (client: the fixture)
from texcite.bib.incremental import BibParser
from texcite.bib.parse import parse_bytes
from texcite.files import read_disk
from texcite.retrieval.bm25 import analyze_entries

BIB = ("@article{mueller2020, title={Über Ärger und Größe}, author={Müller, Jürgen and Ødegård, Åse}, year={2020}}\n"
       "@book{zhang2019, title={数据 retrieval}, author={Zhang, Wěi}, year={2019}}\n")
ENCODED = {
    "utf-8": BIB.encode("utf-8"),
    "utf-8 with BOM": codecs.BOM_UTF8 + BIB.encode("utf-8"),
    "utf-16 LE with BOM": codecs.BOM_UTF16_LE + BIB.encode("utf-16-le"),
    "utf-16 BE with BOM": codecs.BOM_UTF16_BE + BIB.encode("utf-16-be"),
    "utf-16 LE without BOM": BIB.encode("utf-16-le"),
    "utf-32 LE with BOM": codecs.BOM_UTF32_LE + BIB.encode("utf-32-le"),
}


def both_parsers(path):
    yield parse_bytes(path.read_bytes(), str(path))  # a whole file's bytes
    yield BibParser(analyze_entries).read(str(path)).bib  # as the server reads it (incremental, cached)


@pytest.mark.parametrize("encoding", list(ENCODED))
def test_every_editor_encoding_keeps_every_entry(tmp_path, encoding):
    path = tmp_path / "refs.bib"
    path.write_bytes(ENCODED[encoding])
    for bib in both_parsers(path):
        assert [e.key for e in bib.entries] == ["mueller2020", "zhang2019"], encoding
        assert bib.entries[0].fields["author"] == "Müller, Jürgen and Ødegård, Åse"
        assert bib.entries[1].fields["title"] == "数据 retrieval"
        assert bib.diagnostics == []
    tex = tmp_path / "main.tex"
    tex.write_bytes(ENCODED[encoding].replace(b"@", b"%", 1) if encoding == "utf-8" else ENCODED[encoding])
    assert "Größe" in read_disk(str(tex))


def test_latin1_and_damaged_utf8_are_read_with_a_warning(tmp_path):
    latin = "@article{k1, author={Müller, Jürgen}, title={Größe}, year={2001}}\n"
    windows = "@article{k1, author={Müller, Jürgen}, title={Größe – “quoted” it’s}, year={2001}}\n"
    cases = {"latin-1": (latin.encode("latin-1"), "Müller, Jürgen", "Latin-1"),
             "windows-1252": (windows.encode("cp1252"), "Müller, Jürgen", "Windows-1252"),
             "utf-8, one bad byte": (latin.encode("utf-8").replace(b"Gr", b"G\xffr"), "Müller, Jürgen", "replaced")}
    for name, (data, author, said) in cases.items():
        path = tmp_path / "refs.bib"
        path.write_bytes(data)
        for bib in both_parsers(path):
            assert [e.fields["author"] for e in bib.entries] == [author], name
            if name == "windows-1252":  # its quotes and dashes, not control characters
                assert bib.entries[0].title == "Größe – “quoted” it’s"
            assert len(bib.diagnostics) == 1 and said in bib.diagnostics[0].message
            assert bib.diagnostics[0].severity == "warning"




GOOD = ("@article{robertson2009bm25, title={The Probabilistic Relevance Framework: BM25 and Beyond},\n"
        "  author={Robertson, Stephen and Zaragoza, Hugo}, year={2009}}\n")


async def test_a_utf16_bib_from_windows_is_indexed(client: LanguageClient):  # noqa: F811 (the fixture)
    tex = write_project(client.root, codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"))
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert [i.label for i in result.items] == ["robertson2009bm25"]


@pytest.mark.parametrize("bad", ["x\x00y", "x\ud800y", "x\udc80y"])
async def test_an_impossible_file_name_costs_that_name_only(client: LanguageClient, bad):  # noqa: F811 (the fixture)
    tex = write_project(client.root, GOOD.encode(), bib_name="refs,BAD",
                        tex_body="\\input{BAD}\\include{BAD}\n\\cite{}\n")
    text = ("% !TEX root = BAD.tex\n" + tex.read_text()).replace("BAD", bad)  # as the editor holds it
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=tex.as_uri(), language_id="latex", version=1, text=text)))
    line = text.splitlines().index("\\cite{}")
    result = await complete(client, tex.as_uri(), line, len("\\cite{"))
    assert [i.label for i in result.items] == ["robertson2009bm25"]
    diags = await diagnostics_for(client, tex.as_uri(), lambda ds: any("not found" in d.message for d in ds))
    assert any("not found" in d.message for d in diags)
