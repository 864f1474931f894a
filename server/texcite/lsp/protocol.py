"""pygls's JSON-RPC protocol, stricter where the LSP specification asks: a request whose params do not fit its
method gets an InvalidParams error (pygls answered nothing; MethodNotFound when the server has no such method), a
notification's method sent as a request is answered InvalidRequest, a request after `shutdown` gets
InvalidRequest (pygls dropped it), error answers carry no secret, and `exit` ends the process at once — code 0
after `shutdown`, 1 without — whatever background work runs, or on a TCP connection ends that connection only.
Messages are decoded with bounded nesting (``framing.loads_bounded``): no message can end the server."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Callable, Protocol, cast

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound
from pygls.protocol import JsonRPCNotification, JsonRPCProtocol, LanguageServerProtocol, lsp_method

from texcite.lsp.framing import TooDeep, loads_bounded
from texcite.runtime import redact

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
            message = super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError):
            if "id" in data and "method" in data:
                method = data["method"]
                known = isinstance(method, str) and (method in self.fm.builtin_features or method in self.fm.features)
                self._send_response(data["id"], error=lsp.ResponseError(  # a method served here, or none at all
                    code=JsonRpcInvalidParams.CODE if known else JsonRpcMethodNotFound.CODE,
                    message=f"invalid params for {method}" if known else f"method not found: {method}"))
            return JsonRPCNotification(method=REJECTED, jsonrpc=JsonRPCProtocol.VERSION, params=None)
        if "id" in data and "method" in data and not hasattr(message, "id"):  # a notification's method, sent as a
            self._send_response(data["id"], error=lsp.ResponseError(  # request: answered, never left waiting
                code=JsonRpcInvalidRequest.CODE, message=f"{data['method']} is a notification, not a request"))
            return JsonRPCNotification(method=REJECTED, jsonrpc=JsonRPCProtocol.VERSION, params=None)
        return message

    def _send_response(self, msg_id: Any, result: Any = None, error: lsp.ResponseError | None = None) -> None:
        if error is not None:  # an exception's text may carry a URL or a key; its traceback stays in the log
            error = lsp.ResponseError(code=error.code, message=redact(error.message))
        super()._send_response(msg_id, result, error)

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
    """Bytes of one message -> the message the protocol handles: bounded JSON (``framing.loads_bounded``)
    structured by the protocol; a request too deep to read is answered with InvalidRequest before it is dropped."""
    def decode(body: bytes) -> Any:
        try:
            data = loads_bounded(body)
        except TooDeep as err:
            if isinstance(err.request_id, (int, str)) and not isinstance(err.request_id, bool):
                protocol._send_response(err.request_id, error=lsp.ResponseError(
                    code=JsonRpcInvalidRequest.CODE, message=f"message {err}"))
            raise
        return protocol.structure_message(data) if isinstance(data, dict) else data
    return decode
