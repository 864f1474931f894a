"""Reading LSP messages from a byte stream: ``Content-Length`` frames, resynchronised after a damaged frame.

pygls's reader trusts every header: a wrong length leaves it waiting for bytes that never come, or reading the
next messages as part of a broken one, and the server stays alive but deaf. Here a frame whose body is not JSON
is dropped with a log line and reading resumes at the next header; and since a JSON body cannot contain a
header (raw CR/LF may not appear inside JSON strings, letters may not appear outside them), a header showing up
where a body is still expected means the length was wrong: that frame is dropped at once.
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
_KEEP = 64  # bytes kept of a buffer that holds no header yet (a header may be split across reads)


async def read_messages(read: Callable[[], Awaitable[bytes]], handle: Callable[[Any], None],
                        stop: threading.Event, decode: Callable[[bytes], Any] = json.loads) -> None:
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
