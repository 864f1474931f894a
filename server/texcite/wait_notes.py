"""What ``texcite suggest`` says on stderr while it waits (``WaitNotes``): the engine's progress events
(``engine_events``) turned into a line now and then, only once a wait has lasted long enough to be felt."""

from __future__ import annotations

import threading
import time
from typing import Callable, TextIO

from texcite.engine_events import EngineEvents


class WaitNotes(EngineEvents):
    """What `texcite suggest` waits for, said on stderr once a wait has lasted ``wait_s``: the titles of the
    bibliography or of the library being embedded (done of total, then every ``every_s``, and when done), the library
    indexed from its files. A quick run says nothing; everything waited for is cached for the next run."""

    WHAT = {"dense": "embedding the bibliography's titles", "embedding": "embedding your library's titles",
            "indexing": "indexing your library"}

    def __init__(self, out: TextIO, wait_s: float = 2.0, every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.wait_s, self.every_s, self.clock = out, wait_s, every_s, clock
        self._started: dict[str, float] = {}
        self._said: dict[str, float] = {}  # when each wait was last said
        self._lock = threading.Lock()

    def dense_progress(self, signature: tuple, done: int, total: int) -> None:
        self._progress("dense", done, total)

    def library_progress(self, what: str, done: int, total: int) -> None:
        self._progress(what, done, total)

    def _progress(self, what: str, done: int, total: int) -> None:
        now, name = self.clock(), self.WHAT.get(what, what)
        with self._lock:
            if done == 0 and total:
                self._started[what] = now
                self._said.pop(what, None)
                return
            started = self._started.get(what)
            if started is None:
                return
            if done >= total:  # (0 of 0: it failed; the error is said otherwise)
                del self._started[what]
                if done and (what in self._said or now - started >= self.wait_s):
                    count = f"{total:,} entries, " if what == "indexing" else ""
                    print(f"texcite: {name}: done ({count}{now - started:.0f} s; cached for the next run)",
                          file=self.out, flush=True)
                self._said.pop(what, None)
            elif now - started >= self.wait_s and now - self._said.get(what, started - self.every_s) >= self.every_s:
                self._said[what] = now
                print(f"texcite: {name}: {done:,} of {total:,}", file=self.out, flush=True)
