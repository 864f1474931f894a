"""What ranks now, as one structured value: the recall mode, the dense model's state and the neural reranker's
(backend, model, where it runs, its state), with the text people read ("BM25 + MiniLM → Qwen3-Reranker-4B
(vllm-http at http://gpu:8000)"). The engine builds it; the status feature sends its fields; the CLI, the web
page and completion documentation show its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from texcite.runtime import public_url



def describe_ranking(dense: str = "", reranker: str = "", model: str = "", url: str = "") -> str:
    """'BM25', 'BM25 + MiniLM' (``dense``: the dense model's name when it ranked), 'BM25 + MiniLM →
    Qwen3-Reranker-4B (vllm-http at http://gpu:8000)'."""
    text = f"BM25 + {dense}" if dense else "BM25"
    if reranker:
        where = f"{reranker} at {public_url(url)}" if url else reranker
        text += f" → {model.rsplit('/', 1)[-1]} ({where})"
    return text


@dataclass(frozen=True)
class Stages:
    """The ranking stages configured and their states."""

    recall: str = "bm25"  # the configured recall mode: hybrid | bm25
    dense: str = "off"  # the dense model: off (recall mode bm25) | on | failed
    dense_error: str = ""  # why the dense model failed, when it did
    dense_name: str = ""  # the dense model, for people (MiniLM, USE); '' when recall is bm25
    reranker: str = "off"  # the neural reranker: off | idle | loading | ready | fallback
    reranker_backend: str = ""  # '' when no neural reranker is configured
    reranker_model: str = ""
    reranker_url: str = ""  # vllm-http's server, without credentials
    reranker_error: str = ""  # why the reranker fell back, while it does

    @property
    def hybrid(self) -> bool:
        """Does the dense model take part in ranking (once a corpus's embeddings exist)?"""
        return self.dense == "on"

    def text(self, hybrid: bool | None = None, reranked: bool | None = None) -> str:
        """What ranks, for people; ``hybrid``/``reranked`` say what ranked one particular list (default: what is
        configured and working)."""
        dense = self.dense_name if (self.hybrid if hybrid is None else hybrid) else ""
        if reranked is None:
            reranked = self.reranker not in ("off", "fallback")
        if not reranked or not self.reranker_backend:
            return describe_ranking(dense)
        return describe_ranking(dense, self.reranker_backend, self.reranker_model, self.reranker_url)

    def as_json(self) -> dict[str, Any]:
        """camelCase fields of the `texcite/status` payload (the extension's protocol.ts ``ServerStatus``)."""
        return {"dense": self.dense, "denseModel": self.dense_name if self.dense != "off" else "",
                "reranker": self.reranker, "rerankerBackend": self.reranker_backend,
                "rerankerModel": self.reranker_model, "rerankerUrl": self.reranker_url}
