"""The on-disk cache of parsed bib files and indexes: one file per (kind, content key) and format version,
written atomically in a background thread, ignored and rebuilt when unreadable, damaged or foreign.

Nothing in a cache file can run code: a file is a header (magic, format version, kind and key) and a body that
is a zip of numpy arrays (``allow_pickle=False``) and JSON, each member with its CRC-32, checked as it is read. The folder is created 0700 and files 0600;
anything but a regular file is ignored.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import threading
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from texcite.files import UnreadableFile, read_bytes
from texcite.runtime import release_memory

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MAGIC = b"texcite-cache\n"
MAX_CACHE_BYTES = 2 << 30


@dataclass
class Stored:
    """What a cache file holds: JSON-able metadata and named numpy arrays (numbers only)."""

    meta: Any
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _encode(kind: str, key: str, stored: Stored) -> bytes:
    body = io.BytesIO()
    meta = json.dumps(stored.meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    members: dict[str, Any] = {"__meta__": np.frombuffer(meta, dtype=np.uint8), **stored.arrays}
    np.savez(body, **members)
    data = body.getvalue()
    header = json.dumps({"version": FORMAT_VERSION, "kind": kind, "key": key}).encode()
    return MAGIC + header + b"\n" + data


def _decode(kind: str, key: str, raw: bytes) -> Stored:
    """The stored payload; ValueError when the file is not exactly what it claims to be."""
    if not raw.startswith(MAGIC):
        raise ValueError("not a texcite cache file")
    header_end = raw.index(b"\n", len(MAGIC))
    header = json.loads(raw[len(MAGIC):header_end])
    data = raw[header_end + 1:]
    if header != {"version": FORMAT_VERSION, "kind": kind, "key": key}:
        raise ValueError("header does not match the file's name")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    return Stored(meta, arrays)


def cache_dir(setting: str = "", env: Mapping[str, str] | None = None) -> str:
    """Where caches live: $TEXCITE_CACHE_DIR, else the cacheDir setting, else $XDG_CACHE_HOME/texcite, else ~/.cache/texcite."""
    env = os.environ if env is None else env
    if env.get("TEXCITE_CACHE_DIR"):
        return os.path.expanduser(env["TEXCITE_CACHE_DIR"])
    if setting:
        return os.path.expanduser(setting)
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "texcite")


class DiskCache:
    """``Stored`` payloads in one folder, one file per (kind, sha1 key) and format version; never raises."""

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
        """Queue writes until the block ends: encoding in the writer thread would compete for the GIL with the
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
        return os.path.join(self.directory, f"{kind}-v{FORMAT_VERSION}-{key}.npz")

    def load(self, kind: str, key: str) -> Stored | None:
        """The stored payload, or None when absent, unreadable, not a regular file or not what it claims to be."""
        path = self.path(kind, key)
        if path is None:
            return None
        if not os.path.lexists(path):
            self.stats["misses"] += 1
            return None
        try:
            stored = _decode(kind, key, read_bytes(path, MAX_CACHE_BYTES))
        except (UnreadableFile, ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
            log.info("ignoring cache file %s: %s", path, err)
            self.stats["corrupt"] += 1
            return None
        self.stats["hits"] += 1
        return stored

    def store(self, kind: str, key: str, payload: Stored) -> None:
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

    def _write(self, path: str, kind: str, key: str, payload: Stored) -> None:
        tmp = None
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            data = _encode(kind, key, payload)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)  # 0600 whatever the umask
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
            tmp = None
            self.stats["writes"] += 1
            del payload, data
            release_memory()  # the encoder's buffers
        except Exception as err:  # a read-only or full disk only costs speed
            log.info("cannot write cache file %s: %s", path, err)
            self.stats["write_errors"] += 1
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
