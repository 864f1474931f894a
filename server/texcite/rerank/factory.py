"""Pick and build the neural reranker the settings ask for (``auto | none | vllm | vllm-http | transformers``)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from texcite.rerank.base import BackendUnavailable, Reranker
from texcite.settings import BACKENDS, Settings


def _cuda_available() -> bool:
    """Is an NVIDIA GPU driver present? Checked through its device files, without importing torch (seconds of
    start-up on every machine, GPU or not); a wrong guess only costs a clear error when vLLM loads."""
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/proc/driver/nvidia/version")


def _vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


def resolve_backend(settings: Settings) -> str:
    """The concrete backend ``auto`` stands for on this machine; other values are returned unchanged.

    auto = vllm-http if a URL is set, else in-process vLLM on a CUDA GPU, else none (recall order).
    """
    backend = settings.reranker.backend
    if backend != "auto":
        return backend
    if settings.reranker.url.strip():
        return "vllm-http"
    if _cuda_available() and _vllm_importable():
        return "vllm"
    return "none"


def make_reranker(settings: Settings, **engine_kwargs: Any) -> Reranker:
    """Build the neural reranker for ``settings`` (may load a model: call off the event loop).

    Raises BackendUnavailable with an actionable message when the backend cannot run here (or is none).
    """
    backend = resolve_backend(settings)
    r, v = settings.reranker, settings.vllm
    if backend == "vllm-http":
        from texcite.rerank.vllm_http import VllmHttpReranker

        if not r.url.strip():
            raise BackendUnavailable("reranker backend vllm-http needs texcite.reranker.url (e.g. http://gpu-box:8000)")
        return VllmHttpReranker(r.url, r.model, instruction=r.instruction, max_length=r.max_length,
                                api_key=r.api_key, timeout_ms=r.timeout_ms)
    if (os.path.isabs(r.model) or r.model.startswith((".", "~"))) and not os.path.isdir(r.model):
        raise BackendUnavailable(f"no model folder {r.model} (texcite.reranker.model: a Qwen3-Reranker id or the "
                                 "folder of a local copy)")  # not a model id either: the loaders' own words are worse
    if backend == "vllm":
        from texcite.rerank.vllm_backend import VllmReranker

        return VllmReranker(r.model, instruction=r.instruction, max_length=r.max_length, dtype=v.dtype,
                            max_model_len=v.max_model_len, gpu_memory_utilization=v.gpu_memory_utilization,
                            tensor_parallel_size=v.tensor_parallel_size, quantization=v.quantization,
                            **engine_kwargs)
    if backend == "transformers":
        from texcite.rerank.transformers_backend import TransformersReranker

        return TransformersReranker(r.model, instruction=r.instruction, max_length=r.max_length,
                                    batch_size=r.batch_size, device=r.device)
    raise BackendUnavailable(f"no neural reranker for texcite.reranker.backend {backend!r}; use one of "
                             + ", ".join(b for b in BACKENDS if b not in ("auto", "none")))
