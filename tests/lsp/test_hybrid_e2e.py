"""End to end with the default settings: completion answers (from BM25 if the embeddings are not ready within
``completion.denseWaitMs``), then from the hybrid (BM25 + MiniLM) once the server's background embedding has
reported its $/progress end; and, with a cold cache, a first completion that waits for the embeddings being built
is already in the final order."""

from __future__ import annotations

import os
import sys
import tempfile

import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_helpers import complete, copy_example, open_doc, progress_ended, start

# A fresh embedding cache for the server process, so the first completion finds no embeddings yet.
CACHE_HOME = tempfile.mkdtemp(prefix="texcite-e2e-cache-")
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "texcite", "serve"],
                            server_env={**os.environ, "TEXCITE_CACHE_DIR": CACHE_HOME, "HF_HUB_OFFLINE": "1"})
EMBEDDING_TITLE = "texcite: embedding bibliography"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper)  # no settings: hybrid recall, no neural reranker on this CPU
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=SERVER.server_command,
    server_env={**SERVER.server_env, "TEXCITE_CACHE_DIR": tempfile.mkdtemp(prefix="texcite-e2e-cold-")}))
async def waiting_client(lsp_client: LanguageClient, tmp_path):
    """A server with an empty cache whose completions may wait as long as the embeddings take (the default's 2 s
    is a bound for people; a loaded test machine may need more)."""
    lsp_client.paper = copy_example(tmp_path)
    await start(lsp_client, lsp_client.paper, {"completion": {"denseWaitMs": 60000}})
    yield
    await lsp_client.shutdown_session()


async def test_the_first_answer_of_a_cold_start_is_in_the_final_order(waiting_client: LanguageClient):
    uri = open_doc(waiting_client, waiting_client.paper / "chapters" / "method.tex")
    first = await complete(waiting_client, uri, 8, 40)
    assert "*Ranked by BM25 + MiniLM.*" in first.items[0].documentation.value
    assert first.items[0].label == "nguyen2023distillation"


async def test_default_backend_answers_from_bm25_then_from_the_hybrid(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    first = await complete(client, uri, 8, 40)
    assert first.items[0].label == "nguyen2023distillation" and first.is_incomplete  # asked again as the user types

    reports = await progress_ended(client, EMBEDDING_TITLE)
    assert reports[-1].message == "32 entries embedded"

    second = await complete(client, uri, 8, 40)
    why = second.items[0].documentation.value
    assert "**Why #1** (relevance 100/100): " in why and "*Ranked by BM25 + MiniLM.*" in why
    assert second.items[0].label == "nguyen2023distillation"
    assert [i.sort_text for i in second.items] == sorted(i.sort_text for i in second.items)
    status = await client.protocol.send_request_async("texcite/status", {})
    assert status.recall == "hybrid"
