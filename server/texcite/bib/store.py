"""Parsed bib files kept between requests: a file is re-parsed only when its content changes.

Editor buffers win over disk; on disk, a changed (mtime, size) triggers a re-read, so an edit made by another
program is seen on the next request even when the client sends no file-watch event. Parsed files also persist
on disk (``bib.diskcache``), so a new process starts warm, and a changed file re-parses only the entries that
changed (``bib.incremental``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable

from texcite.bib.diskcache import DiskCache, cache_dir
from texcite.bib.incremental import Analyzer, BibParser, ParsedBib
from texcite.bib.model import BibFile, Diagnostic, Entry


@dataclass
class _Slot:
    parsed: ParsedBib
    stamp: tuple[int, int] | None  # (mtime_ns, size) when read from disk; None for editor buffers


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte or a lone surrogate in the name
        return None
    return st.st_mtime_ns, st.st_size


class BibStore:
    """Bib files by path; thread-safe so indexing can run in a worker while the event loop serves requests."""

    def __init__(self, analyze: Analyzer, on_parsed: Callable[[BibFile], None] | None = None,
                 cache_directory: str | None = None, persistent: bool = True, tokens_version: int = 0) -> None:
        """``analyze`` gives the search tokens of entries (``tokens_version``: its version, part of the cache key);
        ``cache_directory``: where parsed files persist (default: see ``diskcache.cache_dir``); ``persistent=False``
        keeps everything in memory."""
        self.cache = DiskCache((cache_directory or cache_dir()) if persistent else None)
        self.parser = BibParser(analyze, self.cache, tokens_version)
        self._last: dict[str, ParsedBib] = {}  # previous version of each file, for block-wise re-parsing
        self._tokens: dict[int, str] = {}  # id(entry) -> search tokens, for entries of loaded files
        self._slots: dict[str, _Slot] = {}
        self._buffers: dict[str, str] = {}
        self._lock = threading.RLock()
        self.on_parsed = on_parsed
        # Why a file may not be read from disk for this client (None: it may); the server confines TCP clients.
        self.refuse: Callable[[str], str | None] = lambda path: None

    def set_buffer(self, path: str, text: str | None) -> None:
        """Use an editor's text for ``path`` (None: back to disk)."""
        with self._lock:
            if text is None:
                self._buffers.pop(path, None)
            else:
                self._buffers[path] = text
            self._slots.pop(path, None)

    def invalidate(self, path: str) -> None:
        """Forget ``path`` so the next access re-reads it (a file-watch event)."""
        with self._lock:
            self._slots.pop(path, None)

    def forget(self, path: str) -> None:
        """Drop everything kept for ``path`` (its parse, its buffer, its entries' tokens): a file no longer used."""
        with self._lock:
            self._slots.pop(path, None)
            self._buffers.pop(path, None)
            last = self._last.pop(path, None)
            if last is not None:
                for e in last.bib.entries:
                    self._tokens.pop(id(e), None)

    def invalidate_all(self) -> None:
        """Forget every file (the size cap changed)."""
        with self._lock:
            self._slots.clear()

    def is_fresh(self, path: str) -> bool:
        """True if ``path`` is loaded and unchanged on disk (no parsing needed to serve it)."""
        with self._lock:
            slot = self._slots.get(path)
            return slot is not None and (slot.stamp is None or slot.stamp == _stamp(path))

    def get(self, path: str) -> BibFile:
        """The parsed file, re-parsing only if its buffer or on-disk stamp changed."""
        with self._lock:
            slot = self._slots.get(path)
            buffer = self._buffers.get(path)
        if slot is not None and (buffer is not None or slot.stamp == _stamp(path)):
            return slot.parsed.bib
        with self._lock:
            previous = self._last.get(path)
        refused = self.refuse(path) if buffer is None else None
        if buffer is not None:
            parsed, stamp = self.parser.parse_text(buffer, path, previous), None
        elif refused:
            parsed, stamp = ParsedBib(BibFile(path, "", diagnostics=[
                Diagnostic(path, 0, f"Bibliography not indexed: {refused}")]), []), _stamp(path)
        else:
            stamp = _stamp(path)
            parsed = self.parser.read(path, previous)
        bib = parsed.bib
        with self._lock:
            old = self._slots.get(path)
            self._slots[path] = _Slot(parsed, stamp)
            if previous is not None and previous is not parsed:
                for e in previous.bib.entries:
                    self._tokens.pop(id(e), None)
            self._last[path] = parsed
            if len(parsed.tokens) == len(bib.entries):
                self._tokens.update(zip(map(id, bib.entries), parsed.tokens, strict=True))
        # A .tex (its thebibliography) has no diagnostics of its own to publish: its document's are the editor's.
        changed = old is None or old.parsed.bib.digest != bib.digest or old.parsed.bib.diagnostics != bib.diagnostics
        if self.on_parsed and not path.lower().endswith(".tex") and changed:
            self.on_parsed(bib)
        return bib

    def recall(self, path: str, digest: str, size: int) -> ParsedBib | None:
        """The parse of ``path`` when it held content ``digest`` (``size`` bytes), from the disk cache, taken as its
        previous version unless one is known (None: not cached): a process that started from the library's own
        cache has parsed nothing, and a file changed since then re-parses only its changed entries."""
        with self._lock:
            known = self._last.get(path)
        if known is not None:
            return known if known.bib.digest == digest else None
        parsed = self.parser.cached(digest, path, size)
        if parsed is not None:
            with self._lock:
                self._last.setdefault(path, parsed)
        return parsed

    def entry_tokens(self, entry: Entry) -> str | None:
        """Cached search tokens of an entry of a loaded file (None for a merged/crossref-completed copy)."""
        return self._tokens.get(id(entry))
