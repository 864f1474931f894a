"""The language server: the session (settings, the engine, the features that own their state) and `run`.

Handlers are one line each: the features (``documents``, ``completion``, ``status``) convert and schedule; the
engine ranks. Engine events arrive on worker threads and reach the features through ``jobs.call_soon``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, Callable

from lsprotocol import types as lsp
from pygls.exceptions import (JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest,
                              JsonRpcMethodNotFound)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCProtocol, LanguageServerProtocol, lsp_method

from texcite import __version__
from texcite.bib.model import BibFile
from texcite.engine import DENSE_NAME, Engine, EngineEvents
from texcite.lsp import access
from texcite.lsp.completion import SUGGEST_METHOD, Completion
from texcite.lsp.documents import Documents, is_bib
from texcite.lsp.framing import TooDeep, loads_bounded, read_messages
from texcite.lsp.jobs import Jobs, Progress
from texcite.lsp.status import STATUS_METHOD, StatusFeature
from texcite.runtime import claim_stdout, hide_secret, import_bm25s, redact, setup_logging
from texcite.settings import parse_settings

log = logging.getLogger("texcite")
REJECTED = "$/texcite/rejected"  # stands in for a message that could not be read (already answered)


class SessionEvents(EngineEvents):
    """The engine's reports (from worker threads), carried onto the event loop to the features."""

    def __init__(self, server: "TexciteServer") -> None:
        self.server = server
        self._progress: dict[tuple, Progress | None] = {}

    def bib_parsed(self, bib: BibFile) -> None:
        self.server.jobs.call_soon(self.server.documents.bib_parsed, bib)

    def dense_progress(self, signature: tuple, done: int, total: int) -> None:
        self.server.jobs.call_soon(self._dense_progress, signature, done, total)

    def dense_error(self, message: str) -> None:
        self.server.jobs.call_soon(self._dense_error, message)

    def rerank_state(self, state: str, message: str) -> None:
        self.server.jobs.call_soon(self._rerank_state, state, message)

    def dense_loaded(self) -> None:
        self.server.jobs.call_soon(self._dense_loaded)

    def _dense_loaded(self) -> None:
        if not self._progress:  # no build under way: nothing is loading any more
            self.server.status.dense_loading("")

    def _dense_progress(self, signature: tuple, done: int, total: int) -> None:
        status = self.server.status
        if done >= total:
            progress = self._progress.pop(signature, None)
            if progress is not None:
                progress.end(f"{total} entries embedded")
            status.dense_ready(True)
            return
        if signature not in self._progress:
            self._progress[signature] = None  # a token is on its way
            status.dense_loading(f"{DENSE_NAME}: embedding {total} entries")

            async def begin() -> None:
                progress = await self.server.jobs.progress("texcite: embedding bibliography")
                if signature in self._progress:
                    self._progress[signature] = progress
                else:  # finished meanwhile
                    progress.end(f"{total} entries embedded")
            self.server.jobs.spawn(begin())
            return
        progress = self._progress.get(signature)
        if progress is not None:
            progress.report(f"{done}/{total} texts", int(100 * done / total))

    def _dense_error(self, message: str) -> None:
        for progress in self._progress.values():
            if progress is not None:
                progress.end("embedding stopped; using BM25")
        self._progress.clear()
        self.server.status.dense_ready(False)
        self.server.status.status.message = redact(message)
        self.server.status.announce(f"texcite: {message} — using BM25 order.")

    def _rerank_state(self, state: str, message: str) -> None:
        self.server.status.rerank_state(state, message)
        if state == "fallback" and message:
            self.server.status.announce(message)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class TexciteServer(LanguageServer):
    """One editor session: the engine and the features that serve it."""

    def __init__(self, connection: threading.Event | None = None) -> None:
        super().__init__("texcite", __version__, protocol_cls=TexciteProtocol)
        self.connection = connection
        self.jobs = Jobs(self)
        self.documents = Documents(self)
        self.completion = Completion(self)
        self.status = StatusFeature(self)
        self.engine = Engine(sources=self.documents, events=SessionEvents(self))
        if connection is not None:  # a TCP client reads only its workspace folders (lsp/access.py)
            self.engine.store.refuse = self.documents.refusal

    def apply_settings(self, raw: Any) -> None:
        """Adopt new settings (invalid values are announced once and replaced by defaults); the engine restarts
        only the components whose settings changed."""
        settings = parse_settings(raw if isinstance(raw, dict) else {})
        folder = self.documents.workspace_folder()
        if settings.cache_dir and folder and _inside(os.path.expanduser(settings.cache_dir), folder):
            # A repository must not choose where (and what) the server reads as its cache.
            settings = settings.replace(cache_dir="", problems=settings.problems + (
                f"cacheDir: {settings.cache_dir} is inside the workspace; using the default cache folder",))
        elif settings.cache_dir and self.connection is not None:  # nor may a TCP peer choose where it writes
            settings = settings.replace(cache_dir="", problems=settings.problems + (
                "cacheDir is not taken from a TCP client; using the default cache folder",))
        for problem in settings.problems:
            self.status.announce(f"texcite settings: {problem}")
        self.engine.configure(settings)
        self.status.refresh()

    async def start_session(self) -> None:
        """After `initialized`: adopt the loop, load the models in the background, watch files, fetch settings."""
        self.jobs.adopt_loop()
        self.engine.open_workspace(self.documents.workspace_folder())
        # Warm the recall engine's import (scipy; numba is kept out) now rather than on the first completion.
        self.jobs.spawn(asyncio.to_thread(import_bm25s))
        await self._watch_files()
        await self.fetch_configuration()
        self.engine.warm()
        if self.engine.dense is not None and not self.engine.dense.error:
            self.status.dense_loading(f"{DENSE_NAME}: loading model")
        self.status.refresh()

    async def _watch_files(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is None or not caps.did_change_watched_files or not caps.did_change_watched_files.dynamic_registration:
            return
        watchers = [lsp.FileSystemWatcher(glob_pattern="**/*.bib"), lsp.FileSystemWatcher(glob_pattern="**/*.tex")]
        try:
            await self.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="texcite-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
        except Exception:
            log.info("client did not accept file watchers")
        else:
            self.documents.watching = True

    async def fetch_configuration(self) -> None:
        """Ask the client for the `texcite` section (when it supports workspace/configuration)."""
        caps = self.client_capabilities.workspace
        if caps is None or not caps.configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="texcite")]))
        except Exception as err:
            log.info("workspace/configuration failed: %s", err)
            return
        if result and isinstance(result[0], dict):
            self.apply_settings(result[0])

    async def configuration_changed(self, settings: Any) -> None:
        if isinstance(settings, dict) and isinstance(settings.get("texcite"), dict):
            self.apply_settings(settings["texcite"])
        else:
            await self.fetch_configuration()
        self.documents.refresh_all()

    def stop_session(self) -> None:
        """Stop background work so nothing is sent after the client stops listening."""
        self.jobs.close()
        self.engine.close()


class TexciteProtocol(LanguageServerProtocol):
    """pygls's protocol, stricter where the LSP specification asks: a request whose params do not fit its method
    gets an InvalidParams error (pygls answered nothing; MethodNotFound when the server has no such method), a request after `shutdown` gets InvalidRequest (pygls
    dropped it), and `exit` ends the process at once — code 0 after `shutdown`, 1 without — whatever background
    work runs, or on a TCP connection ends that connection only."""

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
    def lsp_exit(self, *args: Any) -> None:
        server = self._server
        if isinstance(server, TexciteServer):
            server.stop_session()
            if server.connection is not None:
                server.connection.set()
                return
        code = 0 if self._shutdown else 1
        log.info("exit (code %d)", code)
        sys.stderr.flush()
        os._exit(code)  # now: worker threads (a long parse, a model load) must not hold the process


def create_server(connection: threading.Event | None = None) -> TexciteServer:
    """A server with its handlers; ``connection`` is set when its TCP client says `exit` (None: stdio)."""
    ls = TexciteServer(connection)

    @ls.feature(lsp.INITIALIZE)
    def on_initialize(ls: TexciteServer, params: lsp.InitializeParams) -> None:
        # No notifications before the initialize response: the event loop is adopted in `initialized`.
        ls.apply_settings(params.initialization_options or {})

    @ls.feature(lsp.INITIALIZED)
    async def on_initialized(ls: TexciteServer, params: lsp.InitializedParams) -> None:
        await ls.start_session()

    @ls.feature(lsp.SHUTDOWN)
    def on_shutdown(ls: TexciteServer, params: None) -> None:
        ls.stop_session()

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: TexciteServer, params: lsp.DidChangeConfigurationParams) -> None:
        await ls.configuration_changed(params.settings)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: TexciteServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, params.text_document.language_id)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: TexciteServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, typing=True)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: TexciteServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.documents.changed(params.text_document.uri, closed=True)

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def on_watched(ls: TexciteServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        ls.documents.watched(params.changes)

    @ls.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=["{", ","], resolve_provider=False))
    async def on_completion(ls: TexciteServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        return await ls.completion.complete(params)

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: TexciteServer, params: lsp.HoverParams) -> lsp.Hover | None:
        return await ls.completion.hover(params)

    @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def on_definition(ls: TexciteServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        return await ls.completion.definition(params)

    @ls.feature(SUGGEST_METHOD)
    async def on_suggest(ls: TexciteServer, params: Any) -> dict:
        return await ls.completion.suggest(params)

    @ls.feature(STATUS_METHOD)
    def on_status(ls: TexciteServer, params: Any) -> dict:
        return ls.status.status.as_json()

    return ls


async def _serve_tcp(host: str, port: int, token: str | None = None) -> None:
    """Any number of clients, one after another or at once, each with its own session; SIGINT/SIGTERM stop.
    With a ``token``, a connection must present it in `initialize` (``access.Gate``)."""
    stopped = asyncio.Event()
    sessions: set[asyncio.Task] = set()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done = threading.Event()
        ls = create_server(done)
        ls.protocol.set_writer(writer)  # type: ignore[arg-type]
        task = asyncio.current_task()
        sessions.add(task)

        def refuse(request_id: Any) -> None:
            log.warning("refused a connection from %s: no valid token", writer.get_extra_info("peername"))
            if request_id is not None:
                ls.protocol._send_response(request_id, error=lsp.ResponseError(
                    code=JsonRpcInvalidRequest.CODE, message=access.REFUSED))
            done.set()
        gate = access.Gate(token, ls.protocol.handle_message, refuse)
        try:
            await read_messages(lambda: gate.read(lambda: reader.read(1 << 16)), gate, done, _decoder(ls))
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


def _decoder(ls: TexciteServer) -> Callable[[bytes], Any]:
    """Bounded JSON (``framing.loads_bounded``) structured by the protocol; a request too deep to read is answered
    with InvalidRequest before it is dropped."""
    def decode(body: bytes) -> Any:
        try:
            data = loads_bounded(body)
        except TooDeep as err:
            if isinstance(err.request_id, (int, str)) and not isinstance(err.request_id, bool):
                ls.protocol._send_response(err.request_id, error=lsp.ResponseError(
                    code=JsonRpcInvalidRequest.CODE, message=f"message {err}"))
            raise
        return ls.protocol.structure_message(data) if isinstance(data, dict) else data
    return decode


async def _serve_stdio(ls: TexciteServer, channel: BinaryIO) -> None:
    """One session over stdin/stdout (stdout being the private descriptor ``claim_stdout`` kept)."""
    ls.protocol.set_writer(StdoutWriter(channel))
    done = threading.Event()
    ls._stop_event = done  # pygls's own shutdown sets it
    loop = asyncio.get_running_loop()
    stdin = sys.stdin.buffer.fileno()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-stdin") as pool:
        await read_messages(lambda: loop.run_in_executor(pool, os.read, stdin, 1 << 16),
                            ls.protocol.handle_message, done, _decoder(ls))


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
        return
    ls = create_server()
    try:
        asyncio.run(_serve_stdio(ls, claim_stdout()))
    except BrokenPipeError:
        log.error("the client closed the connection")
    finally:
        ls.stop_session()
    os._exit(1)  # end of input without `exit`: no worker thread may keep the process alive
