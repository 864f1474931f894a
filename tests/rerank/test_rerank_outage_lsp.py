"""A reranker outage as a writer sees it: `texcite serve` reranks through a local stand-in for `vllm serve` that the
test breaks and mends. One warning as the outage begins (however many completions it lasts), one info message
as reranking comes back, and the status drops the failure then; the next outage is told anew."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest_lsp
from fake_vllm import FakeVllm
from lsprotocol import types
from pytest_lsp import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lsp_helpers import HANG_GUARD_S, SERVER, complete, copy_example, open_doc, start  # noqa: E402

# Citation key lists in the example paper, each in its own place of a paragraph (so each asks a new query):
# (file, 0-based line, the text just before the cursor).
SPOTS = [("method", 8, "loss of \\cite{"), ("method", 19, "far more \\citep[see][]{"),
         ("method", 14, "\\citep{"), ("method", 23, "training \\citep{"), ("intro", 24, "older papers \\cite{"),
         ("method", 24, "tests \\citep[Sec.~4]{")]


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    lsp_client.paper = copy_example(tmp_path)
    lsp_client.fake = FakeVllm("ok")
    lsp_client.opened = set()
    await start(lsp_client, lsp_client.paper, {
        "recall": {"mode": "bm25"},
        "reranker": {"backend": "vllm-http", "url": lsp_client.fake.url, "model": "fake-reranker", "topK": 5,
                     "timeoutMs": 5000, "loadAtStartup": True},
        "completion": {"deadlineMs": 30000}})  # a completion waits for the rerank: what ranked it is certain
    yield
    await lsp_client.shutdown_session()
    lsp_client.fake.close()


async def at(client: LanguageClient, spot: tuple[str, int, str]) -> types.CompletionList:
    name, line, before = spot
    path = client.paper / "chapters" / f"{name}.tex"
    uri = path.as_uri()
    if uri not in client.opened:
        client.opened.add(open_doc(client, path))
    text = path.read_text().splitlines()[line]
    return await complete(client, uri, line, text.index(before) + len(before))


def reranked(result: types.CompletionList) -> bool:
    assert result.items
    return any("reranker score" in item.documentation.value for item in result.items)


def shown(client: LanguageClient, kind: types.MessageType) -> list[str]:
    return [m.message for m in client.messages if m.type == kind and "reranker" in m.message]


async def until_shown(client: LanguageClient, kind: types.MessageType, count: int) -> list[str]:
    """The reranker's messages of ``kind`` once there are ``count`` of them (waits on their notifications)."""
    while len(shown(client, kind)) < count:
        await asyncio.wait_for(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE), HANG_GUARD_S)
    return shown(client, kind)


async def status(client: LanguageClient):
    return await client.protocol.send_request_async("texcite/status", None)


async def test_an_outage_is_told_once_and_its_end_once(client: LanguageClient):
    fake = client.fake
    assert reranked(await at(client, SPOTS[0]))
    assert (await status(client)).reranker == "ready"

    fake.mode = "malformed"  # the server now answers garbage
    for spot in SPOTS[1:4]:  # several completions during the outage, each in recall order
        assert not reranked(await at(client, spot))
    [warning] = await until_shown(client, types.MessageType.Warning, 1)
    assert "vllm-http" in warning and "malformed reply" in warning and "falls back to the recall order" in warning
    now = await status(client)
    assert now.reranker == "fallback" and "malformed reply" in now.message

    fake.mode = "ok"  # mended: the writer goes on typing; reranking is tried again after its backoff (5 s)
    while True:
        typed = asyncio.ensure_future(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE))
        if reranked(await at(client, SPOTS[1])):
            break
        try:
            await asyncio.wait_for(typed, 0.5)  # the next keystroke, unless a message comes first
        except asyncio.TimeoutError:
            pass
    [info] = await until_shown(client, types.MessageType.Info, 1)
    assert "vllm-http answers again" in info
    assert len(shown(client, types.MessageType.Warning)) == 1  # the whole outage: one warning
    now = await status(client)
    assert now.reranker == "ready" and now.message == ""
    assert client.statuses[-1].message == ""  # the status pushed to the client forgot the failure too

    fake.mode = "malformed"  # a second outage is a new one: told again
    assert not reranked(await at(client, SPOTS[4]))
    await until_shown(client, types.MessageType.Warning, 2)
    assert len(shown(client, types.MessageType.Info)) == 1
