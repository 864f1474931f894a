"""make_reranker and the engine's description: which backend each setting gives, and actionable errors when one cannot run."""

from __future__ import annotations

import builtins

import pytest

from texcite.rerank import factory
from texcite.engine import Engine
from texcite.rerank.base import BackendUnavailable
from texcite.rerank.factory import make_reranker, resolve_backend
from texcite.settings import Settings


def test_none_builds_no_reranker():
    with pytest.raises(BackendUnavailable, match="no neural reranker"):
        make_reranker(Settings().replace(reranker_backend="none"))


def test_auto_on_cpu_is_no_reranker(monkeypatch):
    monkeypatch.setattr(factory, "_cuda_available", lambda: False)
    assert resolve_backend(Settings()) == "none"
    engine = Engine(Settings())
    assert engine.stages().reranker == "off" and engine.stages().text() == "BM25 + MiniLM"
    engine.close()


def test_auto_on_gpu_with_vllm_is_vllm(monkeypatch):
    monkeypatch.setattr(factory, "_cuda_available", lambda: True)
    monkeypatch.setattr(factory, "_vllm_importable", lambda: True)
    assert resolve_backend(Settings()) == "vllm"
    engine = Engine(Settings())
    assert engine.stages().text() == "BM25 + MiniLM → Qwen3-Reranker-4B (vllm)"
    engine.close()


def test_auto_with_url_is_vllm_http():
    settings = Settings().replace(reranker_url="http://user:secret@gpu-box:8000", reranker_api_key="k")
    reranker = make_reranker(settings)  # builds the client; does not connect
    assert (reranker.backend, reranker.model) == ("vllm-http", "Qwen/Qwen3-Reranker-4B")
    engine = Engine(settings)
    assert engine.stages().text() == "BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu-box:8000)"
    engine.close()


def test_vllm_http_needs_a_url():
    with pytest.raises(BackendUnavailable, match="texcite.reranker.url"):
        make_reranker(Settings().replace(reranker_backend="vllm-http"))
    with pytest.raises(BackendUnavailable, match="not an http"):
        make_reranker(Settings().replace(reranker_backend="vllm-http", reranker_url="gpu-box:8000"))


@pytest.mark.parametrize(("backend", "module", "hint"), [
    ("transformers", "transformers", "pip install 'texcite[transformers]'"),
    ("vllm", "vllm", "pip install 'texcite[vllm]'"),
])
def test_missing_dependency_names_the_extra(monkeypatch, backend, module, hint):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {module!r}", name=module)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(BackendUnavailable) as info:
        make_reranker(Settings().replace(reranker_backend=backend))
    assert hint in str(info.value)


def test_cuda_requested_without_gpu(monkeypatch):
    torch = pytest.importorskip("torch", reason="needs torch")
    pytest.importorskip("transformers", reason="needs transformers")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendUnavailable, match="no CUDA GPU"):
        make_reranker(Settings().replace(reranker_backend="transformers", reranker_device="cuda"))


@pytest.mark.parametrize("backend", ["transformers", "vllm"])
def test_a_model_folder_that_is_not_there_is_said_so(tmp_path, backend):
    # Not the loaders' words on a malformed repository id: whatever they are installed or not.
    missing = str(tmp_path / "nope")
    with pytest.raises(BackendUnavailable, match=f"no model folder {missing} \\(texcite.reranker.model: "):
        make_reranker(Settings().replace(reranker_backend=backend, reranker_model=missing))
