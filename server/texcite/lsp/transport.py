"""How a session reaches its client: stdio (one session, stdout being the private descriptor ``runtime`` kept) or
TCP (any number of clients, one session each; loopback unless an address is named, and then only with a token:
``access``). Both read through ``framing``, so a damaged message costs only itself."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.io_ import StdoutWriter

from texcite.lsp import access
from texcite.lsp.framing import read_messages
from texcite.lsp.protocol import decoder
from texcite.lsp.server import TexciteServer, create_server
from texcite.runtime import claim_stdout, hide_secret, setup_logging

log = logging.getLogger("texcite")


async def _serve_tcp(host: str, port: int, token: str | None = None) -> None:
    """Any number of clients, one after another or at once, each with its own session; SIGINT/SIGTERM stop.
    With a ``token``, a connection must present it in `initialize` (``access.Gate``)."""
    stopped = asyncio.Event()
    sessions: set[asyncio.Task] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done = threading.Event()
        ls = create_server(done)
        ls.protocol.set_writer(writer)
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)

        def refuse(request_id: Any) -> None:
            log.warning("refused a connection from %s: no valid token", writer.get_extra_info("peername"))
            if request_id is not None:
                ls.protocol._send_response(request_id, error=lsp.ResponseError(
                    code=JsonRpcInvalidRequest.CODE, message=access.REFUSED))
            done.set()
        gate = access.Gate(token, ls.protocol.handle_message, refuse)
        try:
            await read_messages(lambda: gate.read(lambda: reader.read(1 << 16)), gate, done, decoder(ls.protocol))
        except (ConnectionError, asyncio.IncompleteReadError) as err:
            log.info("client connection lost: %s", err)
        except asyncio.CancelledError:  # the server is stopping
            pass
        finally:
            sessions.discard(task)
            ls.stop_session()
            writer.close()

    tcp = await asyncio.start_server(connection, host, port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    log.info("serving on %s", ", ".join(str(s.getsockname()) for s in tcp.sockets))
    async with tcp:
        await stopped.wait()
        for task in list(sessions):
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)
    log.info("stopped")


async def _serve_stdio(ls: TexciteServer, channel: BinaryIO) -> None:
    """One session over stdin/stdout (stdout being the private descriptor ``claim_stdout`` kept)."""
    ls.protocol.set_writer(StdoutWriter(channel))
    done = threading.Event()
    ls._stop_event = done  # pygls's own shutdown sets it
    loop = asyncio.get_running_loop()
    stdin = sys.stdin.buffer.fileno()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-stdin") as pool:
        await read_messages(lambda: loop.run_in_executor(pool, os.read, stdin, 1 << 16),
                            ls.protocol.handle_message, done, decoder(ls.protocol))


def run(tcp: str | None = None) -> None:
    """Serve over stdio (default) or TCP; logs go to stderr, never stdout (the LSP channel)."""
    setup_logging(os.environ.get("TEXCITE_LOG") or logging.getLogger().level)  # default: the CLI's (-v: INFO)
    if tcp:
        try:
            host, port = access.parse_address(tcp)
        except ValueError as err:
            log.error("%s", err)
            os._exit(2)
        token, generated = access.server_token(host)
        if generated:  # printed once, before logging can hide it
            print(f"texcite: listening on {host or 'every interface'}, port {port}, which other machines may reach; "
                  f"clients must send initializationOptions.token = {token}", file=sys.stderr, flush=True)
        if token:
            hide_secret(token)
        try:
            asyncio.run(_serve_tcp(host, port, token))
        except OSError as err:  # address in use, not an address of this machine
            log.error("cannot listen on %s port %d: %s", host, port, err.strerror or err)
            os._exit(2)
        logging.shutdown()  # stopped by a signal: logs flushed, then out at once, for a worker thread still in native
        os._exit(0)  # code (a model loading, titles being embedded) would abort the interpreter's own exit
    ls = create_server()
    try:
        asyncio.run(_serve_stdio(ls, claim_stdout()))
    except BrokenPipeError:
        log.error("the client closed the connection")
    finally:
        ls.stop_session()
    os._exit(1)  # end of input without `exit`: no worker thread may keep the process alive
