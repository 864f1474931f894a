"""Client for a running ``vllm serve`` Qwen3-Reranker (``POST {url}/v1/rerank``), standard library only.

Sends the pre-formatted query/document halves (as the Qwen3-Reranker model card does for vLLM), so the server's
relevance_score is exactly P("yes") of the formula. Every failure becomes a one-line ``RerankError``.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import socket
import ssl
import threading
import time
from typing import Any, Sequence
from urllib.parse import urlsplit

from texcite.rerank.base import BackendUnavailable, RerankError
from texcite.rerank.qwen3_format import ByteCodec, Qwen3Format
from texcite.runtime import public_url
from texcite.settings import DEFAULT_INSTRUCTION

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 8 << 20

_RETRYABLE = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected,
              BrokenPipeError)


# A refused connection is tried this many times (0.3 s of pauses; a server restarting), then given up however much
# of the budget is left: nothing listens there, and the writer is told at once, not after the timeouts.
REFUSED_ATTEMPTS = 3


class _Retry(Exception):
    """Internal: a transient failure (connection error or 5xx) worth another attempt while time remains
    (``refused``: the connection was refused, REFUSED_ATTEMPTS at most)."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.refused = refused


def _local_tokenizer(model: str) -> Any | None:
    """The model's tokenizer if it is already on disk (exact truncation), else None (byte-bound truncation)."""
    if not _on_disk(model):  # transformers takes seconds to import: not for a tokenizer that is not there
        return None
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None
    try:
        return AutoTokenizer.from_pretrained(model, local_files_only=True)
    except Exception:  # not cached, not a local dir, or no tokenizer files
        return None


def _on_disk(model: str) -> bool:
    """Is ``model`` a folder, or a model id whose tokenizer is in the Hugging Face cache?"""
    if os.path.isdir(model):
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(model, "tokenizer_config.json"), str)
    except Exception:  # not a valid model id
        return False


class VllmHttpReranker:
    """Reranks through ``/v1/rerank`` with connect/read timeouts, retries on connection errors/5xx within budget."""

    backend = "vllm-http"

    def __init__(
        self,
        url: str,
        model: str,
        *,
        instruction: str = DEFAULT_INSTRUCTION,
        max_length: int = 8192,
        api_key: str = "",
        timeout_ms: int = 10000,
        connect_timeout_s: float = 3.0,
        tokenizer: Any | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendUnavailable(
                f"texcite.reranker.url {public_url(url)!r} is not an http(s) URL; use e.g. http://gpu-box:8000"
            )
        self.url = public_url(url.strip().rstrip("/"))  # shown in messages: no user information, no token
        self.model = model
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        base = parts.path.rstrip("/")
        self._path = base + ("/rerank" if base.endswith("/v1") else "/v1/rerank")
        self.endpoint = public_url(f"{parts.scheme}://{parts.netloc}{self._path}")
        self._api_key = api_key
        self.read_timeout_s = max(0.05, timeout_ms / 1000.0)
        self.connect_timeout_s = connect_timeout_s
        if tokenizer is None:
            tokenizer = _local_tokenizer(model)
        self.format = Qwen3Format.create(tokenizer or ByteCodec(), instruction, max_length, require_yes_no=False)

    def rank(self, query: str, documents: Sequence[str], instruction: str | None = None, *,
             budget_s: float | None = None) -> list[float]:
        """Scores for ``documents``; ``budget_s`` bounds the whole call including retries (default: timeouts)."""
        if not documents:
            return []
        budget = budget_s if budget_s is not None else self.connect_timeout_s + self.read_timeout_s
        deadline = time.monotonic() + max(0.0, budget)
        q_halves, d_halves = self.format.for_instruction(instruction).halves(query, documents)
        scores: list[float] = [0.0] * len(documents)
        groups: dict[str, list[int]] = {}
        for i, q in enumerate(q_halves):
            groups.setdefault(q, []).append(i)
        for q, idx in groups.items():
            for i, s in zip(idx, self._rerank(q, [d_halves[i] for i in idx], deadline), strict=True):
                scores[i] = s
        return scores

    def close(self) -> None:
        """Nothing to release: each request opens and closes its own connection."""

    def _rerank(self, query: str, documents: list[str], deadline: float) -> list[float]:
        payload = json.dumps(
            {"model": self.model, "query": query, "documents": documents, "top_n": len(documents)}
        ).encode("utf-8")
        attempt = 0
        while True:
            try:
                return self._attempt(payload, len(documents), deadline)
            except _Retry as retry:
                attempt += 1
                pause = min(0.1 * 2 ** (attempt - 1), 1.0)
                remaining = deadline - time.monotonic()
                if remaining <= pause + 0.05 or (retry.refused and attempt >= REFUSED_ATTEMPTS):
                    raise RerankError(retry.message) from None
                log.debug("vllm-http attempt %d failed (%s); retrying in %.1fs", attempt, retry.message, pause)
                time.sleep(pause)

    def _attempt(self, payload: bytes, n_docs: int, deadline: float) -> list[float]:
        where = self.endpoint
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RerankError(f"vllm-http: no time left to reach {self.url}; raise texcite.reranker.timeoutMs")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        conn_cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = conn_cls(self._host, self._port, timeout=min(self.connect_timeout_s, remaining))
        try:
            try:
                conn.connect()
            except socket.gaierror as err:
                raise RerankError(
                    f"vllm-http: cannot resolve host {self._host!r} ({err.strerror}); fix texcite.reranker.url"
                ) from None
            except ssl.SSLError as err:
                raise RerankError(f"vllm-http: TLS error talking to {self.url} ({err.reason}); check the URL scheme") from None
            except (TimeoutError, OSError) as err:
                reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
                raise _Retry(
                    f"vllm-http: cannot connect to {self.url} ({reason}); start `vllm serve` there "
                    "or fix texcite.reranker.url", isinstance(err, ConnectionRefusedError)
                ) from None
            read_timeout = max(0.01, min(self.read_timeout_s, deadline - time.monotonic()))
            assert conn.sock is not None
            conn.sock.settimeout(read_timeout)
            # One deadline for the whole exchange: a server that trickles bytes cannot stretch it read by read.
            fired = threading.Event()
            watchdog = threading.Timer(read_timeout, _abort, (conn.sock, fired))
            watchdog.start()
            try:
                conn.request("POST", self._path, body=payload, headers=headers)
                resp = conn.getresponse()
                status, body = resp.status, _read_capped(resp)
                if fired.is_set():  # cut at the deadline: what arrived is a fragment
                    raise TimeoutError
            except (TimeoutError, OSError, http.client.HTTPException) as err:
                if not fired.is_set() and not isinstance(err, TimeoutError):
                    if isinstance(err, _RETRYABLE):
                        raise _Retry(f"vllm-http: connection to {self.url} dropped ({type(err).__name__}); "
                                     "check the vllm serve log") from None
                    raise RerankError(f"vllm-http: request to {self.url} failed ({err}); check the server") from None
                raise RerankError(
                    f"vllm-http: {self.url} did not answer within {read_timeout:.1f}s; raise "
                    "texcite.reranker.timeoutMs or check the server's load"
                ) from None
            finally:
                watchdog.cancel()
        finally:
            conn.close()
        if status >= 500:
            raise _Retry(f"vllm-http: {where} returned HTTP {status}: {_excerpt(body)}; check the vllm serve log")
        if status in (401, 403):
            raise RerankError(f"vllm-http: {where} refused the request (HTTP {status}); set texcite.reranker.apiKey")
        if status == 404:
            raise RerankError(
                f"vllm-http: {where} returned 404 ({_excerpt(body)}); serve the model with `--runner pooling` and "
                "make texcite.reranker.model match the served model name"
            )
        if status == 400:
            raise RerankError(
                f"vllm-http: {where} rejected the request (HTTP 400: {_excerpt(body)}); if a prompt is too long, "
                "set texcite.reranker.maxLength to at most the server's --max-model-len"
            )
        if status != 200:
            raise RerankError(f"vllm-http: {where} returned HTTP {status}: {_excerpt(body)}")
        return _parse(body, n_docs, where)



def _abort(sock: socket.socket, fired: threading.Event) -> None:
    """At the deadline: cut the connection under the reading thread (its read then ends at once). The socket is
    the one connected, held here: http.client forgets it once a response says it will close."""
    fired.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _read_capped(resp: http.client.HTTPResponse) -> bytes:
    """The body, refused past MAX_REPLY_BYTES (a rerank reply is a few kilobytes)."""
    body = resp.read(MAX_REPLY_BYTES + 1)
    if len(body) > MAX_REPLY_BYTES:
        raise RerankError(f"vllm-http: reply over {MAX_REPLY_BYTES >> 20} MB; is the URL a vLLM reranker?")
    return body


def _excerpt(body: bytes, limit: int = 160) -> str:
    """A short single-line rendering of a response body for error messages (vLLM errors are JSON)."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            err = data.get("error", data)
            text = err.get("message", text) if isinstance(err, dict) else str(err)
    except ValueError:
        pass
    text = " ".join(str(text).split())
    return text[:limit] + ("…" if len(text) > limit else "") if text else "empty body"


def _parse(body: bytes, n_docs: int, where: str) -> list[float]:
    """``{"results": [{"index", "relevance_score"}]}`` -> scores in document order, or RerankError."""
    try:
        data = json.loads(body)
        results = data["results"]
        scores: list[float | None] = [None] * n_docs
        for item in results:
            index, score = item["index"], item["relevance_score"]
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_docs:
                raise ValueError(f"index {index!r}")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise ValueError(f"score {score!r}")
            if scores[index] is not None:
                raise ValueError(f"index {index} twice")
            scores[index] = float(score)
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise RerankError(
            f"vllm-http: malformed reply from {where} ({type(err).__name__}: {err}; {_excerpt(body, 80)}); is it a vLLM "
            "server running a reranker with --runner pooling?"
        ) from None
    if len(results) != n_docs or any(s is None for s in scores):
        raise RerankError(
            f"vllm-http: {where} returned {len(results)} results for {n_docs} documents; check the vLLM version"
        )
    return [float(s) for s in scores]  # type: ignore[arg-type]
