"""Process set-up in one place: the claim on stdout (for the LSP channel or the CLI's results), logging, heap and GC
tuning, offline models, the numba guard, worker-thread priority and the lock for first imports of heavy packages.

Library modules call these helpers instead of changing process-wide state themselves, so every side effect
texcite has on its process is listed here.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import logging
import os
import re
import sys
import threading
import traceback
from typing import Any, BinaryIO, Iterator, TextIO
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# One lock for first imports of torch, transformers, onnxruntime and vllm: the dense stage and a reranker load in
# different worker threads, and two threads importing transformers' lazy modules at once can fail with a bogus
# ImportError.
IMPORT_LOCK = threading.RLock()
WORKER_NICE = 10  # background model work yields the CPU to the requests' threads


_SECRETS: set[str] = set()


def hide_secret(value: Any) -> None:
    """Never let ``value`` (an API key, a password in a URL) appear in a log line, at any level, from any module.
    Any shape: every string or number inside a list or mapping is hidden."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += item.values()
        elif isinstance(item, (list, tuple)):
            stack += item
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = str(item).strip()
            if len(text) >= 4:  # shorter values would blank out ordinary words
                _SECRETS.add(text)


def hide_url_secrets(url: str) -> None:
    """Hide what a URL may carry: its user information (user name, password, a token as user name) and the values
    of query parameters named like secrets (``?api_key=``, ``token=``)."""
    parts = urlsplit(url.strip())
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        hide_secret([userinfo, unquote(userinfo), user, unquote(user), password, unquote(password)])
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _SECRET_NAME_RE.search(name):
            hide_secret([value, quote(value)])


def public_url(url: str) -> str:
    """A URL as it may be shown: without user information, secret query values hidden."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return redact(parts.geturl())


_SECRET_NAME_RE = re.compile(r"api[_-]?key|token|secret|passw(?:or)?d|pwd|signature|credential", re.IGNORECASE)
# A secret-named field in JSON, a Python repr or key=value text (its value: a quoted string, a bracketed list or
# object, or a bare word); a URL's user information; a secret-named query parameter; a bearer token.
_KEY_FIELD_RE = re.compile(
    r"""((?<![\w-])["']?[\w-]*(?:api[_-]?key|apikey|token|secret|passw(?:or)?d)["']?\s*[:=]\s*)""", re.IGNORECASE)
_USERINFO_RE = re.compile(r"""(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'<>]*@""")
_QUERY_RE = re.compile(r"""([?&;][\w.-]*(?:key|token|secret|passw(?:or)?d|pwd|signature|credential)[\w.-]*=)"""
                       r"""[^&#\s"'<>]*""", re.IGNORECASE)
_BEARER_RE = re.compile(r"(Bearer\s+)[^\s\"',]+", re.IGNORECASE)
_CLOSE = {"[": "]", "{": "}"}


def _value_end(text: str, i: int) -> int:
    """Where the value starting at ``text[i]`` ends: a quoted string, a bracketed value (nesting and quotes
    followed), or a bare word."""
    if i >= len(text):
        return i
    first = text[i]
    if first in "\"'":
        j = i + 1
        while j < len(text) and text[j] != first:
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, len(text))
    if first in _CLOSE:
        depth, j, quote_char = 0, i, ""
        while j < len(text):
            c = text[j]
            if quote_char:
                if c == "\\":
                    j += 1
                elif c == quote_char:
                    quote_char = ""
            elif c in "\"'":
                quote_char = c
            elif c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        return len(text)
    m = re.compile(r"[^\s,;&}\])]*").match(text, i)
    return m.end() if m else i


def _hide_fields(text: str) -> str:
    out, pos = [], 0
    for m in _KEY_FIELD_RE.finditer(text):
        if m.start() < pos:
            continue
        end = _value_end(text, m.end())
        if end == m.end():
            continue
        out += [text[pos:m.end()], "«hidden»"]
        pos = end
    return "".join(out) + text[pos:] if out else text


def redact(text: str) -> str:
    """``text`` with API keys, tokens, URL user information and secret query values, bearer tokens and every
    registered secret replaced by «hidden», whatever their shape."""
    hidden = _QUERY_RE.sub(r"\1«hidden»", _USERINFO_RE.sub(r"\1«hidden»@", _BEARER_RE.sub(r"\1«hidden»", text)))
    hidden = _hide_fields(hidden)
    for s in sorted(_SECRETS, key=len, reverse=True):
        if s in hidden:
            hidden = hidden.replace(s, "«hidden»")
    return hidden


class _Redact(logging.Filter):
    """Redacts a record's message and its traceback (an exception's text may carry a URL or a key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(level: str | int, fmt: str = "texcite: %(levelname)s %(message)s") -> None:
    """Log to stderr (never stdout: in the server it is the LSP channel), with secrets hidden. pygls logs every
    message it sends at INFO and whole `initialize` params: only at DEBUG does it speak below WARNING."""
    logging.basicConfig(level=level, stream=sys.stderr, format=fmt)
    root = logging.getLogger()
    root.setLevel(level)  # also when called again (`texcite serve` after the CLI's own set-up: $TEXCITE_LOG)
    for handler in root.handlers:
        if not any(isinstance(f, _Redact) for f in handler.filters):
            handler.addFilter(_Redact())
    logging.getLogger("pygls").setLevel(logging.WARNING if root.getEffectiveLevel() > logging.DEBUG else logging.NOTSET)


def claim_stdout() -> BinaryIO:
    """Keep stdout for the LSP channel alone: it moves to a private descriptor and fd 1 becomes stderr, so a stray
    print (a library, a model engine's worker process) lands in the log instead of corrupting the protocol."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


@contextlib.contextmanager
def results_stdout() -> Iterator[TextIO]:
    """While the CLI ranks and writes its results: fd 1 points at stderr, so whatever else writes to stdout (vLLM's
    log handler, its engine-core process, native code) lands on stderr, and the stream given writes to the real
    stdout (``--json`` output parses). fd 1 is restored afterwards. A ``sys.stdout`` without a descriptor (a program
    that replaced it) is given as it is: nothing else writes to it."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        yield sys.stdout
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    os.dup2(sys.stderr.fileno(), fd)
    out = open(saved, "w", encoding=sys.stdout.encoding, errors=sys.stdout.errors, closefd=False)
    try:
        yield out
    finally:
        try:
            out.flush()
        finally:
            sys.stdout.flush()  # what went to stderr through fd 1 stays there
            os.dup2(saved, fd)
            os.close(saved)


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
