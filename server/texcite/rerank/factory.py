"""Pick and build the reranker the settings ask for (``none | vllm | vllm-http | transformers | auto | hybrid``)."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from texcite.rerank.base import BackendUnavailable, IdentityReranker, Reranker
from texcite.settings import Settings

log = logging.getLogger(__name__)


def _cuda_available() -> bool:
    """True when torch is importable and sees a CUDA GPU (without importing torch if it is not installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # broken torch install: treat as no GPU
        return False


def _vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


def resolve_backend(settings: Settings) -> str:
    """The concrete backend ``auto`` stands for on this machine; other values are returned unchanged.

    auto = vllm-http if a URL is set, else in-process vLLM on a CUDA GPU, else "hybrid": BM25 + MiniLM recall
    on CPU (texcite.hybrid) with no reranker after it.
    """
    backend = settings.reranker_backend
    if backend != "auto":
        return backend
    if settings.reranker_url.strip():
        return "vllm-http"
    if _cuda_available() and _vllm_importable():
        return "vllm"
    return "hybrid"


def make_reranker(settings: Settings, **engine_kwargs: Any) -> Reranker:
    """Build the reranker for ``settings`` (may load a model: call off the event loop).

    Raises BackendUnavailable with an actionable message when the backend cannot run here.
    ``hybrid`` and CPU ``auto`` give IdentityReranker: the hybrid ranker is a recall stage, not a reranker.
    """
    backend = resolve_backend(settings)
    if backend in ("none", "hybrid"):
        return IdentityReranker()
    if backend == "vllm-http":
        from texcite.rerank.vllm_http import VllmHttpReranker

        if not settings.reranker_url.strip():
            raise BackendUnavailable(
                "reranker backend vllm-http needs texcite.reranker.url (e.g. http://gpu-box:8000)"
            )
        return VllmHttpReranker(
            settings.reranker_url,
            settings.reranker_model,
            instruction=settings.reranker_instruction,
            max_length=settings.reranker_max_length,
            api_key=settings.reranker_api_key,
            timeout_ms=settings.reranker_timeout_ms,
        )
    if backend == "vllm":
        from texcite.rerank.vllm_backend import VllmReranker

        return VllmReranker(
            settings.reranker_model,
            instruction=settings.reranker_instruction,
            max_length=settings.reranker_max_length,
            dtype=settings.vllm_dtype,
            max_model_len=settings.vllm_max_model_len,
            gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
            tensor_parallel_size=settings.vllm_tensor_parallel_size,
            quantization=settings.vllm_quantization,
            **engine_kwargs,
        )
    if backend == "transformers":
        from texcite.rerank.transformers_backend import TransformersReranker

        return TransformersReranker(
            settings.reranker_model,
            instruction=settings.reranker_instruction,
            max_length=settings.reranker_max_length,
            batch_size=settings.reranker_batch_size,
            device=settings.reranker_device,
        )
    raise BackendUnavailable(
        f"unknown texcite.reranker.backend {backend!r}; use one of auto, none, hybrid, vllm, vllm-http, transformers"
    )


def describe(settings: Settings, reranker: Reranker | None = None) -> str:
    """One line for the CLI/status: the backend and model actually used (e.g. ``vllm-http Qwen/… @ http://…``)."""
    if reranker is not None:
        backend, model = reranker.backend, reranker.model
        url = getattr(reranker, "url", "")
    else:
        backend = resolve_backend(settings)
        model = "" if backend in ("none", "hybrid") else settings.reranker_model
        url = settings.reranker_url if backend == "vllm-http" else ""
    if settings.reranker_backend == "auto" and backend != "auto":
        backend = f"{backend} (auto)"
    text = backend if not model else f"{backend} {model}"
    return f"{text} @ {url}" if url else text
