"""End to end with a real reranker: `texcite serve` reranks with the tiny Qwen3 model through transformers.

The deadline path is hit first (recall order, isIncomplete), then the finished rerank is served; a later request
with no time budget at all is answered from the score cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lsp_helpers import SERVER, complete, copy_example, open_doc, start  # noqa: E402

pytestmark = pytest.mark.engine


def settings(model: Path, deadline_ms: int) -> dict:
    return {"reranker": {"backend": "transformers", "model": str(model), "maxLength": 1024, "topK": 8,
                         "device": "cpu"},
            "completion": {"deadlineMs": deadline_ms}}


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path, tiny_model_dir):
    lsp_client.paper = copy_example(tmp_path)
    lsp_client.model = tiny_model_dir
    await start(lsp_client, lsp_client.paper, settings(tiny_model_dir, 0))
    yield
    await lsp_client.shutdown_session()


def reconfigure(client: LanguageClient, deadline_ms: int) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"texcite": settings(client.model, deadline_ms)}))


async def test_deadline_then_rerank_then_cache(client: LanguageClient):
    uri = open_doc(client, client.paper / "chapters" / "method.tex")
    # Recall is hybrid (BM25 + MiniLM) under the reranker: wait until the entry embeddings are ready, so the
    # candidates the reranker sees do not change between the requests below.
    while not any(getattr(s, "recall", "") == "hybrid" for s in getattr(client, "statuses", [])):
        await client.wait_for_notification("texcite/status")

    first = await complete(client, uri, 8, 40)
    # With a 0 ms deadline the model cannot have answered yet: recall order, and (as always) incomplete.
    assert first.is_incomplete and "Ranked by BM25 + MiniLM" in first.items[0].documentation.value
    assert not any("reranker score" in i.documentation.value for i in first.items)

    reconfigure(client, 60_000)  # now wait as long as the (loading) model needs
    second = await complete(client, uri, 8, 40)
    reranked = [i for i in second.items if "reranker score" in i.documentation.value]
    assert len(reranked) == 8  # reranker.topK candidates carry the model's score

    reconfigure(client, 0)  # no time budget at all: only the cache can answer
    third = await complete(client, uri, 8, 40)
    assert len([i for i in third.items if "reranker score" in i.documentation.value]) == 8
    assert [i.label for i in third.items] == [i.label for i in second.items]

    status = await client.protocol.send_request_async("texcite/status", {})
    assert status.reranker == "ready" and status.rerankerBackend == "transformers"
    assert status.ranking == f"BM25 + MiniLM → {client.model.name} (transformers)"
