"""Positions in the encoding the client negotiated (UTF-8, UTF-16, UTF-32): completion edits, hover ranges and
diagnostics on lines holding accents, CJK and emoji."""

from __future__ import annotations

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from lsp_helpers import SERVER, complete, copy_example, diagnostics_for

PREFIX = "Café théorie 中文 😀 "
LINE = PREFIX + "\\cite{nguy} and \\cite{nobody2099}."
UNITS = {
    types.PositionEncodingKind.Utf8: lambda s: len(s.encode("utf-8")),
    types.PositionEncodingKind.Utf16: lambda s: len(s.encode("utf-16-le")) // 2,
    types.PositionEncodingKind.Utf32: len,
}


@pytest_lsp.fixture(config=SERVER, params=list(UNITS))
async def client(request, lsp_client: LanguageClient, tmp_path):
    paper = copy_example(tmp_path)

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params):  # accept file watchers like an editor would
        return None

    caps = client_capabilities("visual-studio-code")
    caps.general = types.GeneralClientCapabilities(position_encodings=[request.param])
    result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=paper.as_uri(), initialization_options={"recall": {"mode": "bm25"}}))
    assert result.capabilities.position_encoding == request.param
    lsp_client.encoding = request.param
    lsp_client.paper = paper
    yield
    await lsp_client.shutdown_session()


async def test_ranges_are_in_the_negotiated_encoding(client: LanguageClient):
    units = UNITS[client.encoding]
    path = client.paper / "chapters" / "method.tex"
    text = path.read_text()
    line = text.count("\n", 0, text.index("\\cite{}"))  # a line of the chapter, replaced by ours
    lines = text.split("\n")
    lines[line] = LINE
    path.write_text("\n".join(lines))
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="latex", version=1, text=path.read_text())))
    key_start = units(PREFIX + "\\cite{")
    result = await complete(client, uri, line, key_start + units("nguy"))
    edit = result.items[0].text_edit
    assert result.items[0].label == "nguyen2023distillation"
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character) == (
        line, key_start, key_start + units("nguy"))

    diagnostics = await diagnostics_for(client, uri, lambda ds: any("nobody2099" in d.message for d in ds))
    bad = next(d for d in diagnostics if "nobody2099" in d.message)
    start = units(PREFIX + "\\cite{nguy} and \\cite{")
    assert (bad.range.start.character, bad.range.end.character) == (start, start + units("nobody2099"))



def test_lone_surrogates_do_not_shift_the_column(tmp_path):
    """A lone surrogate (half of a broken emoji, sent as a JSON escape) is one UTF-16 code unit: the cursor's column
    and the completion's edit range are where the client counts them."""
    from test_tcp import free_port
    from test_tcp_access import Peer, start

    prefix = "broken \ud83d pair \ude00 and 😀 "
    path = copy_example(tmp_path) / "chapters" / "method.tex"
    lines = path.read_text().split("\n")
    line = next(i for i, text in enumerate(lines) if "\\cite{}" in text)
    lines[line] = prefix + "\\cite{} and more"
    key_start = len(prefix.encode("utf-16-le", "surrogatepass")) // 2 + len("\\cite{")
    port = free_port()
    proc = start(str(port), tmp_path)
    try:
        peer = Peer("127.0.0.1", port, "127.0.0.1")
        peer.initialize(path.parent.parent, {"recall": {"mode": "bm25"}})
        peer.send("initialized", {}, request=False)
        peer.send("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "latex", "version": 1,
                                                            "text": "\n".join(lines)}}, request=False)
        items: list = []
        while not items:  # empty while the first request indexes the bib (the hang guard bounds it)
            result = peer.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()}, "position": {
                "line": line, "character": key_start}})["result"]
            assert result is not None, "the cursor was not seen inside \\cite{}"
            items = result["items"]
        edit = items[0]["textEdit"]["range"]
        assert (edit["start"]["character"], edit["end"]["character"]) == (key_start, key_start)
    finally:
        proc.kill()
        proc.wait()
