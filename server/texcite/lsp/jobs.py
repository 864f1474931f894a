"""Background work of a session: the one bridge from worker threads to the event loop, `$/progress` reports,
and tasks that run once per key and are cancelled at shutdown."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Awaitable, Callable, Hashable

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

log = logging.getLogger("texcite")
PROGRESS_CREATE_TIMEOUT_S = 1.0  # editors answer in milliseconds; the work waits no longer than this for a token


class Progress:
    """One `$/progress` report; a no-op when the client does not support progress."""

    def __init__(self, ls: LanguageServer, token: str | None) -> None:
        self.ls = ls
        self.token = token

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, lsp.WorkDoneProgressReport(message=message,
                                                                                          percentage=percentage))

    def end(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
            self.token = None


class Jobs:
    """Schedules the session's background work on its event loop."""

    def __init__(self, ls: LanguageServer) -> None:
        self.ls = ls
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False
        self._tasks: dict[Hashable, asyncio.Future] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._progress_unanswered = False  # the client once left a progress token unanswered

    @property
    def running(self) -> bool:
        """Is the session up (after `initialized`, before `shutdown`)? Notifications are sent only then."""
        return self.loop is not None and not self.closing

    def adopt_loop(self) -> None:
        self.loop = asyncio.get_running_loop()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the event loop; callable from any thread (dropped before start and after close)."""
        loop = self.loop
        if loop is not None and not self.closing and loop.is_running():
            loop.call_soon_threadsafe(fn, *args)

    def once(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> asyncio.Future:
        """The running task for ``key``, or a new one from ``make()``; forgotten when it ends."""
        task = self._tasks.get(key)
        if task is None:
            task = self._tasks[key] = asyncio.ensure_future(make())
            task.add_done_callback(lambda _t: self._tasks.pop(key, None))
        return task

    def later(self, key: Hashable, delay_s: float, make: Callable[[], Awaitable[Any]]) -> None:
        """Run ``make()`` once ``delay_s`` has passed without another ``later`` for the same key (a debounce).
        Called on the event loop (a handler may run before `initialized` has adopted it: a client can send
        `didOpen` right behind `initialized`)."""
        if self.closing:
            return
        pending = self._timers.pop(key, None)
        if pending is not None:
            pending.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            if self.closing:
                return
            if key in self._tasks:  # the previous run is still going: this one starts after it
                self.later(key, max(delay_s, 0.05), make)
                return
            self.once(key, make).add_done_callback(_log_failure)

        self._timers[key] = asyncio.get_running_loop().call_later(delay_s, fire)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run a coroutine in the background; its failure is logged, never lost."""
        if self.closing:
            return
        task = self.once(uuid.uuid4(), lambda: work)
        task.add_done_callback(_log_failure)

    async def progress(self, title: str) -> Progress:
        """Begin a `$/progress` report if the client supports it."""
        caps = self.ls.client_capabilities.window
        if caps is None or not caps.work_done_progress or self.closing or self._progress_unanswered:
            return Progress(self.ls, None)
        token = str(uuid.uuid4())
        try:
            await asyncio.wait_for(self.ls.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT_S)
        except asyncio.TimeoutError:  # a client that never answers: the work goes on without reports, for good
            log.info("client did not answer window/workDoneProgress/create; no progress reports")
            self._progress_unanswered = True
            return Progress(self.ls, None)
        except Exception:
            log.info("client refused a progress token")
            return Progress(self.ls, None)
        self.ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title))
        return Progress(self.ls, token)

    def close(self) -> None:
        """Stop: cancel every background task; nothing more is sent to the client."""
        self.closing = True
        for timer in list(self._timers.values()):
            timer.cancel()
        for task in list(self._tasks.values()):
            task.cancel()


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed", exc_info=task.exception())
