"""Qwen3-Reranker on an in-process vLLM engine (pooling runner, the causal LM converted to a yes/no classifier).

The fast path on a CUDA machine. vLLM starts worker processes with ``spawn``, so the program that constructs
this backend must have an ``if __name__ == "__main__"`` guard (the ``texcite`` console script has one).
"""

from __future__ import annotations

import gc
import logging
from typing import Any, Sequence

from texcite.runtime import IMPORT_LOCK
from texcite.rerank.base import BackendUnavailable, RerankError
from texcite.rerank.qwen3_format import HF_OVERRIDES, Qwen3Format
from texcite.settings import DEFAULT_INSTRUCTION

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'texcite[vllm]' (CUDA machines: pip install vllm)"


class VllmReranker:
    """Scores with ``vllm.LLM.score(query_half, doc_halves)``; pairs are truncated on tokens before formatting."""

    backend = "vllm"

    def __init__(
        self,
        model: str,
        *,
        instruction: str = DEFAULT_INSTRUCTION,
        max_length: int = 8192,
        dtype: str = "auto",
        max_model_len: int = 8192,
        gpu_memory_utilization: float = 0.8,
        tensor_parallel_size: int = 1,
        quantization: str = "",
        **engine_kwargs: Any,
    ) -> None:
        try:
            with IMPORT_LOCK:
                import vllm
        except ImportError as err:
            raise BackendUnavailable(
                f"the vllm reranker needs vLLM ({err.name} is missing); install it with: {INSTALL_HINT}, "
                "or set texcite.reranker.url to a running `vllm serve` (backend vllm-http)"
            ) from err
        self.model = model
        try:
            self._llm = vllm.LLM(
                model=model,
                runner="pooling",
                hf_overrides=dict(HF_OVERRIDES),
                dtype=dtype,
                max_model_len=max_model_len,
                gpu_memory_utilization=gpu_memory_utilization,
                tensor_parallel_size=tensor_parallel_size,
                quantization=quantization or None,
                **engine_kwargs,
            )
        except Exception as err:  # vLLM raises many types (ValueError, RuntimeError, OSError...)
            raise BackendUnavailable(
                f"vLLM could not load {model!r}: {str(err).splitlines()[0] if str(err) else type(err).__name__}; "
                "check texcite.reranker.model and the texcite.vllm.* settings (memory, dtype, maxModelLen)"
            ) from err
        # The pair must fit the engine's context as well as the user's budget.
        budget = min(int(max_length), int(max_model_len))
        self.format = Qwen3Format.create(self._llm.get_tokenizer(), instruction, budget)
        log.info("vLLM reranker %s loaded", model)

    def close(self) -> None:
        """Shut the engine down now: its engine-core process and the threads that talk to it stop here, not at
        interpreter exit, where a native thread still running aborts the process."""
        llm, self._llm = self._llm, None
        if llm is None:
            return
        llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()  # the engine's objects hold one another: free them (and their memory) now

    def rank(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]:
        """P("yes") for each document: one ``LLM.score`` call per distinct query half (normally just one)."""
        if not documents:
            return []
        q_halves, d_halves = self.format.for_instruction(instruction).halves(query, documents)
        scores: list[float] = [0.0] * len(documents)
        groups: dict[str, list[int]] = {}
        for i, q in enumerate(q_halves):
            groups.setdefault(q, []).append(i)
        for q, idx in groups.items():
            outputs = self._llm.score(q, [d_halves[i] for i in idx], use_tqdm=False)
            if len(outputs) != len(idx):
                raise RerankError(f"vLLM returned {len(outputs)} scores for {len(idx)} documents")
            for i, out in zip(idx, outputs, strict=True):
                scores[i] = float(out.outputs.score)
        return scores

