"""The on-disk cache of parsed bib files and indexes: one file per (kind, content key) and format version,
written atomically in a background thread, ignored and rebuilt when unreadable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from texcite.runtime import release_memory

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def cache_dir(setting: str = "", env: dict[str, str] | None = None) -> str:
    """Where caches live: $TEXCITE_CACHE_DIR, else the cacheDir setting, else $XDG_CACHE_HOME/texcite, else ~/.cache/texcite."""
    env = os.environ if env is None else env
    if env.get("TEXCITE_CACHE_DIR"):
        return os.path.expanduser(env["TEXCITE_CACHE_DIR"])
    if setting:
        return os.path.expanduser(setting)
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "texcite")


class _YieldingWriter:
    """A Python-level ``write``: the pickler calls it once per frame, which lets other threads take the GIL."""

    def __init__(self, fh) -> None:
        self.fh = fh

    def write(self, data) -> int:
        return self.fh.write(data)


class DiskCache:
    """Pickled payloads in one folder, one file per (kind, sha1 key) and format version; never raises."""

    def __init__(self, directory: str | None, background: bool = True) -> None:
        self.directory = directory
        self.stats = {"hits": 0, "misses": 0, "writes": 0, "corrupt": 0, "write_errors": 0}
        # Writes happen after the index is ready, in one worker thread (joined at interpreter exit).
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texcite-cache") if background else None
        self._pending: list[Future] = []
        self._held = 0  # while > 0 (inside ``deferred``), writes wait in _queue
        self._queue: list[tuple] = []
        self._hold_lock = threading.Lock()

    @contextlib.contextmanager
    def deferred(self):
        """Queue writes until the block ends: pickling in the writer thread would compete for the GIL with the
        index build that follows a parse (a one-entry re-index is mostly that build)."""
        with self._hold_lock:
            self._held += 1
        try:
            yield self
        finally:
            with self._hold_lock:
                self._held -= 1
                queued, self._queue = (self._queue, []) if self._held == 0 else ([], self._queue)
            for item in queued:
                self.store(*item)

    def flush(self) -> None:
        """Wait until every scheduled write is on disk."""
        pending, self._pending = self._pending, []
        for f in pending:
            f.result()

    def path(self, kind: str, key: str) -> str | None:
        if not self.directory:
            return None
        return os.path.join(self.directory, f"{kind}-v{FORMAT_VERSION}-{key}.pkl")

    def load(self, kind: str, key: str) -> Any | None:
        """The stored payload, or None when absent, unreadable or not what it claims to be."""
        path = self.path(kind, key)
        if path is None:
            return None
        try:
            with open(path, "rb") as fh:
                stored = pickle.load(fh)
        except FileNotFoundError:
            self.stats["misses"] += 1
            return None
        except Exception as err:  # truncated, garbage, or pickled by an incompatible version
            log.info("ignoring corrupt cache file %s: %s", path, err)
            self.stats["corrupt"] += 1
            return None
        if not (isinstance(stored, tuple) and len(stored) == 4 and stored[:3] == ("texcite", FORMAT_VERSION, f"{kind}:{key}")):
            self.stats["corrupt"] += 1
            return None
        self.stats["hits"] += 1
        return stored[3]

    def store(self, kind: str, key: str, payload: Any) -> None:
        """Schedule an atomic write: a reader sees the old file, the new one, or none — never half of one."""
        path = self.path(kind, key)
        if path is None:
            return
        if self._writer is None:
            self._write(path, kind, key, payload)
            return
        with self._hold_lock:
            if self._held:
                self._queue.append((kind, key, payload))
                return
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._writer.submit(self._write, path, kind, key, payload))

    def _write(self, path: str, kind: str, key: str, payload: Any) -> None:
        tmp = None
        try:
            os.makedirs(self.directory, exist_ok=True)  # type: ignore[arg-type]
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(("texcite", FORMAT_VERSION, f"{kind}:{key}", payload), _YieldingWriter(fh),
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
            tmp = None
            self.stats["writes"] += 1
            payload = None
            release_memory()  # the pickler's buffers and memo
        except Exception as err:  # a read-only or full disk only costs speed
            log.info("cannot write cache file %s: %s", path, err)
            self.stats["write_errors"] += 1
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
