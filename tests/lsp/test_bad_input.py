"""Bad input never takes the server down: every case still answers requests and reports what is wrong.

Requests are bounded only by a hang guard (a hang fails the test instead of stalling CI); speed is in bench/.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_helpers import HANG_GUARD_S, SERVER, complete, diagnostics_for, open_doc, start

PARAGRAPH = ("Sparse retrieval with term weighting scores documents by the overlap of their words with "
             "the query, as in the probabilistic relevance framework \\cite{}.")


def write_project(root, bib_bytes: bytes | None = None, tex_body: str = PARAGRAPH, bib_name: str = "refs",
                  extra_tex: dict | None = None):
    root.mkdir(parents=True, exist_ok=True)
    tex = root / "main.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n" + tex_body + f"\n\n\\bibliography{{{bib_name}}}\n\\end{{document}}\n")
    if bib_bytes is not None:
        (root / "refs.bib").write_bytes(bib_bytes)
    for name, text in (extra_tex or {}).items():
        (root / name).write_text(text)
    return tex


GOOD = (b"@article{robertson2009bm25, title={The Probabilistic Relevance Framework: BM25 and Beyond},\n"
        b"  author={Robertson, Stephen and Zaragoza, Hugo}, year={2009}}\n"
        b"@article{other2020, title={Protein folding with graphs}, author={Other, Ann}, year={2020}}\n")


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.root = tmp_path / "proj"
    lsp_client.root.mkdir()
    await start(lsp_client, lsp_client.root, {"recall": {"mode": "bm25"}})
    yield
    await lsp_client.shutdown_session()


async def cite_completion(client: LanguageClient, tex, wait_until_ready: bool = True) -> types.CompletionList:
    """Completion inside the first empty \\cite{}."""
    text = tex.read_text()
    offset = text.index("\\cite{}") + len("\\cite{")
    line = text.count("\n", 0, offset)
    character = offset - (text.rfind("\n", 0, offset) + 1)
    return await complete(client, tex.as_uri(), line, character, wait_until_ready)


async def test_unbalanced_braces_keep_the_rest(client: LanguageClient):
    bib = b"@article{broken, title={never closed,\n  year=2001\n\n" + GOOD
    tex = write_project(client.root, bib)
    uri = open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"
    diags = await diagnostics_for(client, (client.root / "refs.bib").as_uri(), lambda ds: len(ds) > 0)
    assert diags[0].range.start.line == 0 and diags[0].severity == types.DiagnosticSeverity.Error
    assert uri


async def test_binary_file_named_bib(client: LanguageClient):
    tex = write_project(client.root, bytes(range(256)) * 64)
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert result is None or not result.items
    diags = await diagnostics_for(client, (client.root / "refs.bib").as_uri(), lambda ds: len(ds) > 0)
    assert "not a text file" in diags[0].message


async def test_invalid_utf8_is_read_with_a_warning(client: LanguageClient):
    bib = GOOD.replace(b"Zaragoza", b"Zaragoz\xe1")
    tex = write_project(client.root, bib)
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"
    diags = await diagnostics_for(client, (client.root / "refs.bib").as_uri(), lambda ds: len(ds) > 0)
    assert diags[0].severity == types.DiagnosticSeverity.Warning and "UTF-8" in diags[0].message


async def test_input_loop_ends(client: LanguageClient):
    tex = write_project(client.root, GOOD, tex_body="\\input{a}\n" + PARAGRAPH,
                        extra_tex={"a.tex": "\\input{b}\n", "b.tex": "\\input{a}\\input{main}\n"})
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"


async def test_missing_bibliography_is_a_diagnostic(client: LanguageClient):
    tex = write_project(client.root, GOOD, bib_name="refs,missing")
    uri = open_doc(client, tex)
    diags = await diagnostics_for(client, uri, lambda ds: any("missing" in d.message for d in ds))
    d = next(d for d in diags if "missing" in d.message)
    assert "not found" in d.message and d.range.start.line == tex.read_text().splitlines().index("\\bibliography{refs,missing}")
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"


async def test_huge_single_paragraph_tex(client: LanguageClient):
    rng = random.Random(1)
    words = ["sparse", "dense", "retrieval", "model", "protein", "graph", "cell", "signal", "noise", "energy"]
    filler = " ".join(rng.choice(words) for _ in range(800_000))  # ~5 MB, one paragraph
    tex = write_project(client.root, GOOD, tex_body=filler + " " + PARAGRAPH + " " + filler)
    assert tex.stat().st_size > 5_000_000
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert {i.label for i in result.items} == {"robertson2009bm25", "other2020"}


def generated_bib(size: int, head: bytes = GOOD) -> bytes:
    """``head`` then generated entries up to ``size`` bytes."""
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(5000)]
    chunks = [head]
    i = 0
    while sum(map(len, chunks)) < size:
        abstract = " ".join(rng.choice(vocab) for _ in range(160))
        chunks.append(f"@article{{gen{i}, title={{Generated {i}}}, author={{Auto, Gen}}, year={{2000}},\n"
                      f"  abstract={{{abstract}}}}}\n".encode())
        i += 1
    return b"".join(chunks)


async def test_twenty_megabyte_bib_keeps_the_server_responsive(client: LanguageClient):
    tex = write_project(client.root, generated_bib(20_000_000))
    open_doc(client, tex)
    # While the index builds, requests answer (possibly 'incomplete') instead of hanging.
    first = await cite_completion(client, tex, wait_until_ready=False)
    assert first is not None
    hover = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(tex.as_uri()), types.Position(0, 2))), HANG_GUARD_S)
    assert hover is None
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"


async def test_hostile_patterns_are_answered(client: LanguageClient):
    """The texts that froze the server: optional arguments and math opened tens of thousands of times, in the
    .tex before the cursor and in a bib field; a device named as an input and as the root."""
    hostile_field = "\\\\label[" * 30_000 + "\\\\(" * 40_000
    bib = GOOD + f"@article{{weird, title={{Weird}}, abstract={{{hostile_field}}}}}\n".encode()
    body = ("\\section[" * 50_000 + "\n\n\\bibliography[" * 2_000 + "\n\n"
            + "\\begin{comment}\\end{comment}\\%" * 10_000 + "\n\n\\input{/dev/zero}\n\n" + PARAGRAPH)
    tex = write_project(client.root, bib, tex_body="% !TEX root = /dev/zero\n" + body)
    open_doc(client, tex)
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"
    assert "weird" in {i.label for i in result.items}


def indexing(client: LanguageClient) -> list | None:
    """The reports of the server's 'indexing bibliography' progress, once it has begun (None before)."""
    for reports in client.progress_reports.values():
        if reports and isinstance(reports[0], types.WorkDoneProgressBegin) and "indexing" in reports[0].title:
            return reports
    return None


async def test_status_is_answered_while_a_bib_with_huge_math_fields_indexes(client: LanguageClient):
    """Parsing runs off the event loop in short steps: `texcite/status` is answered while a 10 MB bib with three
    350 KB math fields is indexed (each answer arrives before the indexing's progress ends)."""
    math = "".join(f"\\({chr(97 + i % 26)}_{{{i}}} + \\sum_k x^{{{i}}}" for i in range(14_000))  # never closed
    head = GOOD + "".join(f"@article{{math{i}, title={{Formulas {uuid.uuid4().hex}}}, abstract={{{math}}}}}\n"
                          for i in range(3)).encode()  # a new digest: never a warm cache
    assert len(math) > 300_000
    tex = write_project(client.root, generated_bib(10_000_000, head))
    open_doc(client, tex)
    while indexing(client) is None:
        await asyncio.wait_for(client.wait_for_notification(types.PROGRESS), HANG_GUARD_S)
    for _ in range(5):
        status = await asyncio.wait_for(client.protocol.send_request_async("texcite/status", {}), HANG_GUARD_S)
        assert status.indexedEntries == 0
        assert not isinstance(indexing(client)[-1], types.WorkDoneProgressEnd)  # answered while it indexes
    result = await cite_completion(client, tex)
    assert result.items[0].label == "robertson2009bm25"
    assert {"math0", "math1", "math2"} <= {i.label for i in result.items}
