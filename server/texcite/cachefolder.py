"""The cache folder's upkeep: it stays bounded however long texcite runs.

What texcite keeps there for speed is derived data, rebuilt when missing: a parsed bib and its BM25 index per
content of a bib file (a new pair at each save of a bib), a library's pack per list of library files, an adaptation
per saved state of a project. Each is marked used (its mtime) whenever it is read, so the files of states no longer
current age while the ones in use stay young. ``tidy`` deletes those unused for ``MAX_IDLE_S``, then the least
recently used ones while they weigh more than ``MAX_BYTES`` together, and the temporary files of writes that were
cut short. It leaves everything else alone: the embedding file and the writer's memory (each bounds itself), and any
file whose name is not one texcite gives.

``keep_tidy`` runs ``tidy`` in a background thread, at most once per ``EVERY_S`` per folder unless ``TIDY_AFTER``
bytes were written there since: the writers of these files call it after each write, so a folder that grows is
looked at (a one-entry change to a 50,000-entry library writes some 330 MB: a parse, an index and the pack), and one
that does not costs nothing.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time

log = logging.getLogger(__name__)

MAX_IDLE_S = 30 * 86400  # a file unused for 30 days is deleted
MAX_BYTES = 1 << 30  # the derived files together (a 50,000-entry library: ~330 MB with its parse and index)
STALE_TMP_S = 86400  # a write's temporary file this old was left by a process that stopped mid-write
EVERY_S = 3600
TIDY_AFTER = 256 << 20

# The files texcite writes in the folder (``bib.diskcache``, ``library.cache``) and in its ``adaptations`` folder
# (``lessons``), by name; the folders whose temporary files (``bib.diskcache.private_file``) may be left over.
_DERIVED = re.compile(r"(?:bib|bm25)-v\d+-[0-9a-f]{40}\.npz|library-v\d+-[0-9a-f]{40}\.pack")
_ADAPTATION = re.compile(r"[0-9a-f]{40}\.npz")
_TEMPORARY = re.compile(r"\.tmp-[A-Za-z0-9_]+(?:\.npz|\.pack|\.tmp|\.jsonl)?")
_FOLDERS = ("", "adaptations", "embeddings", "memory")


def mark_used(path: str) -> None:
    """Note that ``path`` was just read (its mtime is now), so ``tidy`` keeps it; a read-only folder only loses
    the note."""
    try:
        os.utime(path)
    except (OSError, ValueError):
        pass


def _regular(path: str) -> os.stat_result | None:
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def tidy(directory: str) -> None:
    """Delete from ``directory`` what ``keep_tidy`` promises (see the module's docstring); never raises."""
    now = time.time()
    derived: list[tuple[float, int, str]] = []  # (last used, size, path)
    doomed: list[tuple[int, str]] = []
    for sub in _FOLDERS:
        folder = os.path.join(directory, sub) if sub else directory
        try:
            names = os.listdir(folder)
        except (OSError, ValueError):
            continue
        for name in names:
            path = os.path.join(folder, name)
            if _TEMPORARY.fullmatch(name):
                st = _regular(path)
                if st is not None and now - st.st_mtime > STALE_TMP_S:
                    doomed.append((st.st_size, path))
            elif (not sub and _DERIVED.fullmatch(name)) or (sub == "adaptations" and _ADAPTATION.fullmatch(name)):
                st = _regular(path)
                if st is not None:
                    derived.append((st.st_mtime, st.st_size, path))
    derived.sort()  # least recently used first
    total = sum(size for _, size, _ in derived)
    for used, size, path in derived:
        if now - used <= MAX_IDLE_S and total <= MAX_BYTES:
            break
        doomed.append((size, path))
        total -= size
    deleted = freed = 0
    for size, path in doomed:
        try:
            os.unlink(path)
        except OSError as err:  # gone meanwhile, or held open where that forbids it: the next tidy tries again
            log.info("cannot delete cache file %s: %s", path, err)
            continue
        deleted, freed = deleted + 1, freed + size
    if deleted:
        log.info("cache folder %s: deleted %d unused files (%.1f MB; %.1f MB kept)", directory, deleted,
                 freed / 1e6, total / 1e6)


_lock = threading.Lock()
_last: dict[str, tuple[float, int]] = {}  # folder -> when its latest tidy started (monotonic), bytes written since


def keep_tidy(directory: str | None, written: int = 0) -> threading.Thread | None:
    """After ``written`` bytes were written to ``directory``: start ``tidy(directory)`` in a background thread
    unless one started less than ``EVERY_S`` ago in this process and less than ``TIDY_AFTER`` bytes were written
    since; the thread, or None when none was started. Never raises."""
    if not directory:
        return None
    key = os.path.abspath(directory)
    with _lock:
        started, since = _last.get(key, (None, 0))
        if started is not None and time.monotonic() - started < EVERY_S and since + written < TIDY_AFTER:
            _last[key] = (started, since + written)
            return None
        _last[key] = (time.monotonic(), 0)
    thread = threading.Thread(target=tidy, args=(key,), name="texcite-cache-tidy", daemon=True)
    try:
        thread.start()
    except RuntimeError as err:  # no thread to be had (a process at its limit): the next write tries again
        log.info("cache folder %s not tidied: %s", key, err)
        with _lock:
            _last.pop(key, None)
        return None
    return thread
