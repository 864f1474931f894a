"""Persistent cache of parsed bib files and BM25 indexes, keyed by content, plus per-entry re-parsing.

A warm start (new process, unchanged .bib) unpickles the parsed file and its index instead of parsing and
indexing again. When a file changes, it is split into ``@``-blocks and only blocks not seen in the previous
version are parsed; the others keep their entries and search tokens, so one edited entry costs one small parse.
Cache files are written atomically (temp file + rename); an unreadable or corrupt one is ignored and rebuilt.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import re
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from texcite.bibindex import MAX_BIB_BYTES, BibFile, Diagnostic, Entry, decode_bytes, parse_bib, split_blocks
from texcite.recall import TERM_COUNTS, entry_search_text, tokenize

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_STRING_RE = re.compile(r"[ \t]*@\s*string\s*[{(]", re.IGNORECASE)
# A change touching more blocks than this share of the file is re-parsed whole (one parse is cheaper then).
_INCREMENTAL_SHARE = 0.2


def cache_dir(setting: str = "", env: dict[str, str] | None = None) -> str:
    """Where caches live: $TEXCITE_CACHE_DIR, else the cacheDir setting, else $XDG_CACHE_HOME/texcite, else ~/.cache/texcite."""
    env = os.environ if env is None else env
    if env.get("TEXCITE_CACHE_DIR"):
        return os.path.expanduser(env["TEXCITE_CACHE_DIR"])
    if setting:
        return os.path.expanduser(setting)
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "texcite")


_LIBC: Any = None


def release_memory() -> None:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    Parsing and indexing a large bib frees far more than it keeps (the file's text, token lists, numpy
    temporaries); without a trim the server's resident size stays at the peak."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            _LIBC = libc if hasattr(libc, "malloc_trim") else False
        except OSError:
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


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


@dataclass(frozen=True)
class _Block:
    """One ``@``-block of a file: content key, first line, and the slice of the file's entries/diagnostics it gave."""

    key: str
    line: int
    entries: tuple[int, int]
    diagnostics: tuple[int, int]


@dataclass
class ParsedBib:
    """A parsed file with what makes re-parsing and re-indexing cheap: search tokens per entry and its blocks."""

    bib: BibFile
    tokens: list[str]  # per entry of bib.entries: its search tokens joined by spaces
    blocks: list[_Block] = field(default_factory=list)
    incremental: bool = False  # produced by re-parsing changed blocks only


def entry_tokens(entry: Entry) -> str:
    return " ".join(tokenize(entry_search_text(entry)))


_split_blocks = split_blocks  # kept for callers of the old name


def _shift(items: list, delta: int, path: str) -> list:
    if delta == 0 and all(x.path == path for x in items):
        return items
    return [dataclasses.replace(x, line=x.line + delta, path=path) for x in items]


class BibParser:
    """Parses bib files through the disk cache, re-parsing only changed blocks of a file seen before."""

    def __init__(self, cache: DiskCache | None = None) -> None:
        self.cache = cache or DiskCache(None)
        self.stats = {"full_parses": 0, "block_parses": 0, "cache_loads": 0}

    def read(self, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        """Read and parse ``path`` from disk (same diagnostics as ``read_bib`` for unreadable/huge/binary files)."""
        try:
            size = os.path.getsize(path)
            if size > MAX_BIB_BYTES:
                return ParsedBib(BibFile(path, "", diagnostics=[Diagnostic(path, 0, f"File is {size >> 20} MB, over the {MAX_BIB_BYTES >> 20} MB limit; not indexed.")]), [])
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            return ParsedBib(BibFile(path, "", diagnostics=[Diagnostic(path, 0, f"Cannot read bibliography: {err.strerror or err}")]), [])
        return self.parse_bytes(data, path, previous)

    def parse_bytes(self, data: bytes, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        key = hashlib.sha1(data).hexdigest()
        cached = self._load(key, path)
        if cached is not None:
            return cached
        text, problems = decode_bytes(data, path)
        if text is None:
            return ParsedBib(BibFile(path, key, diagnostics=problems), [])
        # The text's UTF-8 digest is the data's when the data was plain UTF-8 (no BOM, no Latin-1 fallback).
        digest = key if not problems and not data.startswith(codecs.BOM_UTF8) else None
        parsed = self._parse(text, path, previous, digest)
        parsed.bib.diagnostics[:0] = problems
        self.cache.store("bib", key, parsed)
        return parsed

    def parse_text(self, text: str, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        """Parse an editor buffer (cached like a file with the same UTF-8 content)."""
        key = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        cached = self._load(key, path)
        if cached is not None:
            return cached
        parsed = self._parse(text, path, previous, key)
        self.cache.store("bib", key, parsed)
        return parsed

    def _load(self, key: str, path: str) -> ParsedBib | None:
        parsed = self.cache.load("bib", key)
        if not isinstance(parsed, ParsedBib):
            return None
        self.stats["cache_loads"] += 1
        if parsed.bib.path != path:  # same content under another name
            bib = parsed.bib
            parsed.bib = BibFile(path, bib.digest, _shift(bib.entries, 0, path), _shift(bib.diagnostics, 0, path))
        return parsed

    def _parse(self, text: str, path: str, previous: ParsedBib | None, digest: str | None = None) -> ParsedBib:
        """``digest``: the SHA-1 of ``text`` in UTF-8 when the caller already has it."""
        spans = _split_blocks(text)
        macros = "".join(text[s:e] for s, e, _ in spans if _STRING_RE.match(text, s))
        salt = hashlib.sha1(macros.encode("utf-8", "surrogatepass")).hexdigest()
        salted = hashlib.sha1(salt.encode())  # sha1(salt + block), without joining the strings
        keys = []
        for s, e, _ in spans:
            h = salted.copy()
            h.update(text[s:e].encode("utf-8", "surrogatepass"))
            keys.append(h.hexdigest())
        if previous is not None and previous.blocks:
            parsed = self._incremental(text, path, spans, keys, macros, previous, digest)
            if parsed is not None:
                return parsed
        self.stats["full_parses"] += 1
        bib = parse_bib(text, path, digest)
        starts = [line for _, _, line in spans]
        e_of = [max(0, bisect.bisect_right(starts, e.line) - 1) for e in bib.entries]
        d_of = [max(0, bisect.bisect_right(starts, d.line) - 1) for d in bib.diagnostics]
        blocks = []
        ei = di = 0
        for b, (key, (_, _, line)) in enumerate(zip(keys, spans)):
            e0, d0 = ei, di
            while ei < len(e_of) and e_of[ei] == b:
                ei += 1
            while di < len(d_of) and d_of[di] == b:
                di += 1
            blocks.append(_Block(key, line, (e0, ei), (d0, di)))
        if ei != len(e_of) or di != len(d_of):  # entries out of file order: no block reuse for this version
            blocks = []
        lists = [tokenize(entry_search_text(e)) for e in bib.entries]
        tokens = [" ".join(t) for t in lists]
        TERM_COUNTS.prime(tokens, lists)  # the index build that follows needs the counts; the lists are at hand now
        del lists
        return ParsedBib(bib, tokens, blocks)

    def _incremental(self, text: str, path: str, spans, keys, macros: str, previous: ParsedBib,
                     digest: str | None = None) -> ParsedBib | None:
        """Reuse the previous version's blocks; None when a full parse is the safer or cheaper choice."""
        old = {b.key: b for b in previous.blocks}
        new = [i for i, k in enumerate(keys) if k not in old]
        if len(new) > max(4, _INCREMENTAL_SHARE * len(keys)):
            return None
        if any(d.message.startswith("Duplicate key") for d in previous.bib.diagnostics):
            return None
        prefix = macros + "\n" if macros else ""
        prefix_lines = prefix.count("\n")
        entries: list[Entry] = []
        tokens: list[str] = []
        diagnostics: list[Diagnostic] = []
        blocks: list[_Block] = []
        # Entries of a parsed file all carry its path: when it is this path, unmoved blocks need no copies.
        same_path = previous.bib.path == path and all(x.path == path for x in previous.bib.entries)
        old_entries, old_diagnostics, old_tokens = previous.bib.entries, previous.bib.diagnostics, previous.tokens
        for i, (key, (s, e, line)) in enumerate(zip(keys, spans)):
            e0, d0 = len(entries), len(diagnostics)
            block = old.get(key)
            if block is not None:
                a, b = block.entries
                if same_path and line == block.line:
                    entries += old_entries[a:b]
                else:
                    entries += _shift(old_entries[a:b], line - block.line, path)
                tokens += old_tokens[a:b]
                a, b = block.diagnostics
                if a != b:
                    diagnostics += _shift(old_diagnostics[a:b], line - block.line, path)
            else:
                part = parse_bib(prefix + text[s:e], path)
                if part.diagnostics:
                    return None
                self.stats["block_parses"] += 1
                got = _shift(part.entries, line - prefix_lines, path)
                entries += got
                tokens += [entry_tokens(x) for x in got]
            blocks.append(_Block(key, line, (e0, len(entries)), (d0, len(diagnostics))))
        if len({x.key for x in entries}) != len(entries):
            return None  # a duplicate key appeared: let the full parser report it the usual way
        digest = digest or hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        return ParsedBib(BibFile(path, digest, entries, diagnostics), tokens, blocks, incremental=True)


def corpus_key(files: list[BibFile], k1: float, b: float) -> str:
    """Cache key of a BM25 index: the digests of its files (in order) and the scoring parameters."""
    raw = "|".join(f"{f.digest}:{len(f.entries)}" for f in files) + f"|{k1}|{b}"
    return hashlib.sha1(raw.encode()).hexdigest()
