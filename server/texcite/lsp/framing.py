"""Reading LSP messages from a byte stream: ``Content-Length`` frames, resynchronised after a damaged frame.

pygls's reader trusts every header: a wrong length leaves it waiting for bytes that never come, or reading the
next messages as part of a broken one, and the server stays alive but deaf. Here a frame whose body is not JSON
is dropped with a log line and reading resumes at the next header; and since a JSON body cannot contain a
header (raw CR/LF may not appear inside JSON strings, letters may not appear outside them), a header showing up
where a body is still expected means the length was wrong: that frame is dropped at once.

A body is decoded by ``loads_bounded``: JSON nested deeper than ``MAX_DEPTH`` (which would exhaust the decoder's
or a handler's recursion) is refused with ``TooDeep``, naming the request's id when it has one, so the server can
answer it with an error; either way the message is dropped and the next one read.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Awaitable, Callable

log = logging.getLogger("texcite")

HEADER_RE = re.compile(rb"Content-Length:[ \t]*(\d{1,12})\r\n(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r\n)*\r\n",
                       re.IGNORECASE)
MAX_MESSAGE = 512 << 20  # a frame announcing more is dropped
MAX_DEPTH = 100  # LSP messages nest about ten levels; settings a few more
_ID_SCAN_BYTES = 4 << 20  # how far into a body too deep to decode the request's id is looked for
_TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_ID_VALUE_RE = re.compile(rb'\s*:\s*(-?\d{1,18}(?![\d.eE])|"(?:[^"\\]|\\.)*")')
_KEEP = 64  # bytes kept of a buffer that holds no header yet (a header may be split across reads)


class TooDeep(ValueError):
    """A JSON message nested deeper than ``MAX_DEPTH``; ``request_id`` is its id if it is a request (else None)."""

    def __init__(self, request_id: int | str | None) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")
        self.request_id = request_id


def loads_bounded(body: bytes) -> Any:
    """``json.loads(body)``, but TooDeep for a value nested deeper than ``MAX_DEPTH`` (ValueError if not JSON)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise TooDeep(_request_id(body)) from None
    stack = [(value, 1)]
    while stack:  # iterative: the check must not recurse itself
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    request = isinstance(value, dict) and "method" in value
                    raise TooDeep(value.get("id") if request else None)
                stack.append((child, depth + 1))
    return value


def _request_id(body: bytes) -> int | str | None:
    """The ``id`` of a request whose body cannot be decoded (its top-level ``id`` and ``method`` keys found by a
    scan of strings and brackets), or None."""
    depth, found, request_id, method = 0, False, None, False
    for m in _TOKEN_RE.finditer(body, 0, _ID_SCAN_BYTES):
        token = m.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
        elif depth == 1 and token == b'"method"':
            method = True
        elif depth == 1 and token == b'"id"' and not found:
            value = _ID_VALUE_RE.match(body, m.end())
            if value is not None:
                found, request_id = True, json.loads(value.group(1))
        if found and method:
            return request_id
    return None


async def read_messages(read: Callable[[], Awaitable[bytes]], handle: Callable[[Any], None],
                        stop: threading.Event, decode: Callable[[bytes], Any] = loads_bounded) -> None:
    """Read frames until end of stream or ``stop``; ``handle(decode(body))`` for each good one."""
    buffer = b""
    while not stop.is_set():
        m = HEADER_RE.search(buffer)
        if m is None:
            chunk = await read()
            if not chunk:
                return
            if len(buffer) > _KEEP and b"Content-Length" not in buffer:
                log.warning("skipped %d bytes that are not an LSP message", len(buffer) - _KEEP)
                buffer = buffer[-_KEEP:]
            buffer += chunk
            continue
        if m.start():
            log.warning("skipped %d bytes before an LSP message", m.start())
        length, start = int(m.group(1)), m.end()
        if length > MAX_MESSAGE:
            log.warning("dropped a message announcing %d bytes (over %d MB)", length, MAX_MESSAGE >> 20)
            buffer = buffer[start:]
            continue
        broken = False
        while len(buffer) < start + length:
            if HEADER_RE.search(buffer, start) is not None:  # the next message began: this length was wrong
                broken = True
                break
            chunk = await read()
            if not chunk:
                return
            buffer += chunk
        if not broken and HEADER_RE.search(buffer, start, start + length) is not None:
            broken = True  # the announced body runs into the next message
        if not broken:
            body = buffer[start:start + length]
            try:
                message = decode(body)
            except TooDeep as err:
                log.warning("dropped an LSP message %s; reading on", err)
                buffer = buffer[start + length:]
                continue
            except ValueError as err:
                log.warning("dropped an LSP message that is not JSON (%s); reading on at the next header", err)
            else:
                buffer = buffer[start + length:]
                try:
                    handle(message)
                except Exception:  # one bad message must not end the session
                    log.exception("could not handle an LSP message")
                continue
        else:
            log.warning("dropped an LSP message whose Content-Length (%d) did not match its body", length)
        nxt = HEADER_RE.search(buffer, start)
        buffer = buffer[nxt.start():] if nxt is not None else b""
