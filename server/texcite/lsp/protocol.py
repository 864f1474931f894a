"""pygls's JSON-RPC protocol, stricter where the LSP specification asks: a request whose params do not fit its
method gets an InvalidParams error (pygls answered nothing), a request after `shutdown` gets InvalidRequest (pygls
dropped it), and `exit` ends the process at once — code 0 after `shutdown`, 1 without — whatever background work
runs, or on a TCP connection ends that connection only."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from typing import Any, Callable, Protocol, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import JsonRPCNotification, JsonRPCProtocol, LanguageServerProtocol, lsp_method

log = logging.getLogger("texcite")
REJECTED = "$/texcite/rejected"  # stands in for a message that could not be read (already answered)


class Session(Protocol):
    """What `exit` needs of the server: its TCP connection's end (None on stdio) and a way to stop its work."""

    connection: threading.Event | None

    def stop_session(self) -> None: ...


class TexciteProtocol(LanguageServerProtocol):
    """The server's protocol (see the module's docstring)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError):
            if "id" in data and "method" in data:
                self._send_response(data["id"], error=lsp.ResponseError(
                    code=JsonRpcInvalidParams.CODE, message=f"invalid params for {data['method']}"))
            return JsonRPCNotification(method=REJECTED, jsonrpc=JsonRPCProtocol.VERSION, params=None)

    def handle_message(self, message: Any) -> None:
        if getattr(message, "method", None) == REJECTED:
            return
        if self._shutdown and getattr(message, "id", None) is not None and getattr(message, "method", lsp.EXIT) != lsp.EXIT:
            self._send_response(message.id, error=lsp.ResponseError(
                code=JsonRpcInvalidRequest.CODE, message="the server is shutting down"))
            return
        super().handle_message(message)

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> None:  # type: ignore[override]  # pygls's is a generator; this never returns
        session = cast(Session, self._server)
        session.stop_session()
        if session.connection is not None:
            session.connection.set()
            return
        code = 0 if self._shutdown else 1
        log.info("exit (code %d)", code)
        sys.stderr.flush()
        os._exit(code)  # now: worker threads (a long parse, a model load) must not hold the process



def decoder(protocol: LanguageServerProtocol) -> Callable[[bytes], Any]:
    """Bytes of one message -> the message the protocol handles (its params structured by method)."""
    return lambda body: json.loads(body, object_hook=protocol.structure_message)
