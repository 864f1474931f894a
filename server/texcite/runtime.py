"""Process set-up in one place: the LSP channel's claim on stdout, logging, heap and GC tuning, offline models,
the numba guard, worker-thread priority and the lock for first imports of heavy packages.

Library modules call these helpers instead of changing process-wide state themselves, so every side effect
texcite has on its process is listed here.
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import re
import sys
import threading
from typing import Any, BinaryIO

# One lock for first imports of torch, transformers, onnxruntime and vllm: the dense stage and a reranker load in
# different worker threads, and two threads importing transformers' lazy modules at once can fail with a bogus
# ImportError.
IMPORT_LOCK = threading.RLock()
WORKER_NICE = 10  # background model work yields the CPU to the requests' threads


_SECRETS: set[str] = set()


def hide_secret(value: str) -> None:
    """Never let ``value`` (an API key, a password in a URL) appear in a log line, at any level, from any module."""
    if len(value) >= 4:  # shorter values would blank out ordinary words
        _SECRETS.add(value)


# An API key in a message not parsed yet (pygls logs raw JSON at debug level), and a URL's user:password@.
_KEY_FIELD_RE = re.compile(r"""(["']?api_?key["']?\s*[:=]\s*["']?)([^"',}\s]+)""", re.IGNORECASE)
_USERINFO_RE = re.compile(r"(://[^/\s:@]+:)([^/\s@]+)@")


def redact(text: str) -> str:
    """``text`` with API keys, URL passwords and every registered secret replaced by «hidden»."""
    hidden = _KEY_FIELD_RE.sub(r"\1«hidden»", _USERINFO_RE.sub(r"\1«hidden»@", text))
    for s in _SECRETS:
        hidden = hidden.replace(s, "«hidden»")
    return hidden


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def setup_logging(level: str | int, fmt: str = "texcite: %(levelname)s %(message)s") -> None:
    """Log to stderr (never stdout: in the server it is the LSP channel), with secrets hidden."""
    logging.basicConfig(level=level, stream=sys.stderr, format=fmt)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_Redact())


def claim_stdout() -> BinaryIO:
    """Keep stdout for the LSP channel alone: it moves to a private descriptor and fd 1 becomes stderr, so a stray
    print (a library, a model engine's worker process) lands in the log instead of corrupting the protocol."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


def offline_models() -> None:
    """Hugging Face libraries must never try the network: weights come from packages or local folders."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


_BM25S_LOCK = threading.Lock()


def import_bm25s() -> Any:
    """Import bm25s without numba (about 65 MB of resident memory and a second of start-up): texcite builds the
    score matrix itself and scores a handful of query terms, for which bm25s's numpy backend is as fast.
    numba stays importable for anything else that wants it."""
    with _BM25S_LOCK:
        if "bm25s" in sys.modules:
            return sys.modules["bm25s"]
        block = "numba" not in sys.modules
        if block:
            sys.modules["numba"] = None  # type: ignore[assignment]  # makes 'import numba' raise ImportError
        try:
            import bm25s
        finally:
            if block and sys.modules.get("numba", 0) is None:
                del sys.modules["numba"]
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
        return bm25s


def lower_thread_priority() -> None:
    """Nice the calling worker thread (Linux: per thread) so completions win the CPU while a build runs."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the work just runs at normal priority
        pass


_LIBC: Any = None


def release_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    Parsing and indexing a large bib frees far more than it keeps (the file's text, token lists, numpy
    temporaries); without a trim the server's resident size stays at the peak."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            _LIBC = libc if hasattr(libc, "malloc_trim") else False
        except OSError:
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


@functools.cache
def _unfreeze_at_exit() -> None:
    """Objects frozen by ``gc.freeze`` are never collected; at exit that makes extension modules report leaks."""
    atexit.register(gc.unfreeze)


def settle_heap() -> None:
    """After building a long-lived index: take its objects out of the cyclic GC's full passes (which would otherwise
    walk every entry of a 50k-entry bib again and again) and hand freed memory back to the OS."""
    gc.collect(1)
    gc.freeze()
    _unfreeze_at_exit()
    release_memory()
