"""Incremental bib parsing: a file seen before re-parses only its changed ``@``-blocks, and a file seen in an
earlier process comes from the disk cache.

When a file changes, it is split into ``@``-blocks and only blocks not seen in the previous version are parsed;
the others keep their entries and search tokens, so one edited entry costs one small parse. Search tokens come
from an analyzer the caller passes in (the retrieval layer's), so parsing knows nothing of BM25.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Callable

from texcite.bib.bibitems import bibitem_file
from texcite.bib.diskcache import DiskCache, Stored
from texcite.bib.model import BibFile, Diagnostic, Entry
from texcite.bib.parse import DUPLICATE_KEY, decode_bytes, parse_bib, split_blocks
from texcite.files import MAX_BIB_BYTES, UnreadableFile, read_bytes, text_encoding

log = logging.getLogger(__name__)

# Search tokens of each entry (joined by spaces), computed by the retrieval layer.
Analyzer = Callable[[list[Entry]], list[str]]

_STRING_RE = re.compile(r"[ \t]*@\s*string\s*[{(]", re.IGNORECASE)
# A change touching more blocks than this share of the file is re-parsed whole (one parse is cheaper then).
_INCREMENTAL_SHARE = 0.2
# A parse's cache file weighs ~1.8 times its source (a 14.7 MB bib of 10k entries: 26 MB); a bigger one than
# this many times the source, plus a megabyte, is not read (escaped control characters take six bytes each).
_CACHE_RATIO = 8


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


def _shift(items: list, delta: int, path: str) -> list:
    if delta == 0 and all(x.path == path for x in items):
        return items
    return [dataclasses.replace(x, line=x.line + delta, path=path) for x in items]


def encode_parsed(parsed: ParsedBib) -> Stored:
    """A parsed file as cache data (JSON: entries, diagnostics, tokens and blocks)."""
    bib = parsed.bib
    return Stored({
        "path": bib.path, "digest": bib.digest, "incremental": parsed.incremental, "tokens": parsed.tokens,
        "entries": [[e.key, e.entry_type, e.fields, e.path, e.line] for e in bib.entries],
        "diagnostics": [[d.path, d.line, d.message, d.severity] for d in bib.diagnostics],
        "blocks": [[b.key, b.line, *b.entries, *b.diagnostics] for b in parsed.blocks],
    })


def decode_parsed(stored: Stored) -> ParsedBib:
    """The parsed file back from cache data; TypeError, ValueError or KeyError when the data is not one."""
    m = stored.meta

    def text(value) -> str:
        if not isinstance(value, str):
            raise TypeError("expected a string")
        return value

    def number(value) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("expected a whole number")
        return value

    entries = [Entry(text(k), text(t), {text(a): text(b) for a, b in f.items()}, text(p), number(line))
               for k, t, f, p, line in m["entries"]]
    diagnostics = [Diagnostic(text(p), number(line), text(msg), text(sev)) for p, line, msg, sev in m["diagnostics"]]
    blocks = [_Block(text(k), number(line), (number(e0), number(e1)), (number(d0), number(d1)))
              for k, line, e0, e1, d0, d1 in m["blocks"]]
    tokens = [text(t) for t in m["tokens"]]
    if tokens and len(tokens) != len(entries):
        raise ValueError("tokens and entries disagree")
    bib = BibFile(text(m["path"]), text(m["digest"]), entries, diagnostics)
    return ParsedBib(bib, tokens, blocks, bool(m["incremental"]))


class BibParser:
    """Parses bib files through the disk cache, re-parsing only changed blocks of a file seen before."""

    def __init__(self, analyze: Analyzer, cache: DiskCache | None = None, tokens_version: int = 0) -> None:
        """``tokens_version``: the analyzer's version; parses cached with another version's tokens are not used."""
        self.analyze = analyze
        self.tokens_version = tokens_version
        self.cache = cache or DiskCache(None)
        self.max_bytes = MAX_BIB_BYTES  # the engine sets texcite.files.maxBibSize here
        self.stats = {"full_parses": 0, "block_parses": 0, "cache_loads": 0}

    def read(self, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        """Read and parse ``path`` from disk (a diagnostic and no entries for unreadable, huge or special files); a
        .tex gives the entries of its ``thebibliography``."""
        try:
            data = read_bytes(path, self.max_bytes)
        except UnreadableFile as err:
            return ParsedBib(BibFile(path, "", diagnostics=[Diagnostic(path, 0, f"Bibliography not indexed: {err}")]), [])
        if path.lower().endswith(".tex"):  # a document's own thebibliography (``bib.bibitems``)
            bib = bibitem_file(data.decode("utf-8", errors="replace"), path)
            return ParsedBib(bib, self.analyze(bib.entries))
        return self.parse_bytes(data, path, previous)

    def parse_bytes(self, data: bytes, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        key = hashlib.sha1(data).hexdigest()
        cached = self.cached(key, path, len(data))
        if cached is not None:
            return cached
        text, problems = decode_bytes(data, path)
        if text is None:
            return ParsedBib(BibFile(path, key, diagnostics=problems), [])
        # The text's UTF-8 digest is the data's when the data was plain UTF-8 (no BOM, no Latin-1 fallback).
        digest = key if not problems and text_encoding(data[:4096]) == (None, 0) else None
        parsed = self._parse(text, path, previous, digest)
        parsed.bib.diagnostics[:0] = problems
        self.cache.store("bib", self._cache_key(key), encode_parsed(parsed))
        return parsed

    def parse_text(self, text: str, path: str, previous: ParsedBib | None = None) -> ParsedBib:
        """Parse an editor buffer (cached like a file with the same UTF-8 content)."""
        data = text.encode("utf-8", "surrogatepass")
        key, size = hashlib.sha1(data).hexdigest(), len(data)
        del data  # not kept through the parse
        cached = self.cached(key, path, size)
        if cached is not None:
            return cached
        parsed = self._parse(text, path, previous, key)
        self.cache.store("bib", self._cache_key(key), encode_parsed(parsed))
        return parsed

    def _cache_key(self, digest: str) -> str:
        """The cache key of a parse: the content's SHA-1, salted with the tokens' version."""
        return hashlib.sha1(f"{digest}:{self.tokens_version}".encode()).hexdigest() if self.tokens_version else digest

    def cached(self, key: str, path: str, size: int) -> ParsedBib | None:
        """The cached parse of content ``key`` (the SHA-1 of its ``size`` bytes) for ``path``; None when there is
        none."""
        stored = self.cache.load("bib", self._cache_key(key), _CACHE_RATIO * size + (1 << 20))
        try:
            parsed = None if stored is None else decode_parsed(stored)
        except (TypeError, ValueError, KeyError, IndexError) as err:  # well-formed file, foreign content
            log.info("ignoring cached parse %s: %s", key, err)
            parsed = None
        if parsed is None:
            return None
        self.stats["cache_loads"] += 1
        if parsed.bib.path != path:  # same content under another name
            bib = parsed.bib
            parsed.bib = BibFile(path, bib.digest, _shift(bib.entries, 0, path), _shift(bib.diagnostics, 0, path))
        return parsed

    def _parse(self, text: str, path: str, previous: ParsedBib | None, digest: str | None = None) -> ParsedBib:
        """``digest``: the SHA-1 of ``text`` in UTF-8 when the caller already has it."""
        spans = split_blocks(text)
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
        for b, (key, (_, _, line)) in enumerate(zip(keys, spans, strict=True)):
            e0, d0 = ei, di
            while ei < len(e_of) and e_of[ei] == b:
                ei += 1
            while di < len(d_of) and d_of[di] == b:
                di += 1
            blocks.append(_Block(key, line, (e0, ei), (d0, di)))
        if ei != len(e_of) or di != len(d_of):  # entries out of file order: no block reuse for this version
            blocks = []
        return ParsedBib(bib, self.analyze(bib.entries), blocks)

    def _incremental(self, text: str, path: str, spans, keys, macros: str, previous: ParsedBib,
                     digest: str | None = None) -> ParsedBib | None:
        """Reuse the previous version's blocks; None when a full parse is the safer or cheaper choice."""
        old = {b.key: b for b in previous.blocks}
        new = [i for i, k in enumerate(keys) if k not in old]
        if len(new) > max(4, _INCREMENTAL_SHARE * len(keys)):
            return None
        if any(d.message.startswith(DUPLICATE_KEY) for d in previous.bib.diagnostics):
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
        for key, (s, e, line) in zip(keys, spans, strict=True):
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
                tokens += self.analyze(got)
            blocks.append(_Block(key, line, (e0, len(entries)), (d0, len(diagnostics))))
        if len({x.key for x in entries}) != len(entries):
            return None  # a duplicate key appeared: let the full parser report it the usual way
        digest = digest or hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        return ParsedBib(BibFile(path, digest, entries, diagnostics), tokens, blocks, incremental=True)
