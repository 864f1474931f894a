"""The on-disk cache of parsed bib files and indexes: one file per (kind, content key) and format version,
written atomically in a background thread, ignored and rebuilt when unreadable, damaged or foreign.

Nothing in a cache file can run code: a file is a header (magic, format version, kind and key) and a body that
is a zip of numpy arrays (``allow_pickle=False``) and JSON, each member with its CRC-32, checked as it is read.
The folder is created 0700 and files 0600 whatever the umask; anything but a regular file is ignored without being
waited on, and a file's size (then its header, then its members' declared sizes) is checked before its body is
read.
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
from typing import Any, BinaryIO, Mapping

import numpy as np

from texcite.cachefolder import keep_tidy, mark_used
from texcite.files import UnreadableFile, open_regular
from texcite.runtime import release_memory

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MAGIC = b"texcite-cache\n"
MAX_CACHE_BYTES = 2 << 30  # what any cache file may weigh; a caller that knows its payload's bound gives a smaller one
MAX_HEADER_BYTES = 1024


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


def _decode(kind: str, key: str, fh: BinaryIO, limit: int) -> Stored:
    """The stored payload, read from the header on, members only once their declared sizes fit in ``limit``;
    ValueError when the file is not exactly what it claims to be."""
    if fh.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a texcite cache file")
    header = fh.readline(MAX_HEADER_BYTES)
    if not header.endswith(b"\n") or json.loads(header) != {"version": FORMAT_VERSION, "kind": kind, "key": key}:
        raise ValueError("header does not match the file's name")
    with open_archive(fh, limit) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    return Stored(meta, arrays)


def open_archive(fh: BinaryIO, limit: int) -> np.lib.npyio.NpzFile:
    """The numpy archive (npz) that starts at ``fh``'s position, arrays only (never a pickle), once its members'
    declared sizes add up to at most ``limit`` bytes (a compressed member could otherwise unpack to any size);
    ValueError when it is not one."""
    npz = np.load(fh, allow_pickle=False)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError("not an array archive")
    archive = npz.zip  # None only once closed
    if archive is None:
        raise ValueError("not an open array archive")
    declared: int = sum(int(info.file_size) for info in archive.infolist())
    if declared > limit:
        npz.close()
        raise ValueError(f"its arrays are larger than the {limit >> 20} MB limit")
    return npz


def private_folder(path: str) -> None:
    """Create ``path`` and any missing parent 0700 whatever the umask (a folder that exists is left as it is)."""
    missing = []
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:  # made meanwhile by another writer
            continue
        os.chmod(folder, 0o700)


def private_file(folder: str, suffix: str = "") -> tuple[BinaryIO, str]:
    """A new temporary file in ``folder`` (created 0700 if missing), open for writing, 0600 whatever the umask,
    and its path: write it, then ``os.replace`` it where it belongs."""
    private_folder(folder)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb"), tmp


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

    def load(self, kind: str, key: str, limit: int = MAX_CACHE_BYTES) -> Stored | None:
        """The stored payload, or None when absent, unreadable, not a regular file, over ``limit`` bytes (the
        caller's bound on what its payload can weigh) or not what it claims to be."""
        path = self.path(kind, key)
        if path is None:
            return None
        if not os.path.lexists(path):
            self.stats["misses"] += 1
            return None
        try:
            with open_regular(path, limit) as fh:
                stored = _decode(kind, key, fh, limit)
        except (UnreadableFile, ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
            log.info("ignoring cache file %s: %s", path, err)
            self.stats["corrupt"] += 1
            return None
        self.stats["hits"] += 1
        mark_used(path)
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
            data = _encode(kind, key, payload)
            fh, tmp = private_file(os.path.dirname(path))
            with fh:
                fh.write(data)
            os.replace(tmp, path)
            tmp = None
            self.stats["writes"] += 1
            keep_tidy(os.path.dirname(path), len(data))
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
