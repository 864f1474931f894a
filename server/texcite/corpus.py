"""The searchable set of entries one document sees: its bib files merged, keyed, and BM25-indexed."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

from texcite.bibindex import BibFile, Diagnostic, Entry, merge_entries
from texcite.recall import Bm25Index


@dataclass
class Corpus:
    """Entries of several bib files (crossrefs resolved, first definition of a key wins) with a BM25 index."""

    files: Sequence[BibFile]
    entries: list[Entry] = field(init=False)
    by_key: dict[str, Entry] = field(init=False)
    merge_problems: list[Diagnostic] = field(init=False)
    # Optional speed-ups from the BibStore: cached search tokens of an entry (None if unknown) and the
    # on-disk index cache (an object with load(kind, key) / store(kind, key, payload)).
    entry_tokens: Callable[[Entry], "str | None"] | None = field(default=None, repr=False, compare=False)
    index_cache: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.entries, self.merge_problems = merge_entries(self.files)
        self.by_key = {e.key: e for e in self.entries}

    @cached_property
    def bm25(self) -> Bm25Index:
        cache, key = self.index_cache, None
        if cache is not None:
            from texcite.indexcache import corpus_key

            key = corpus_key(list(self.files), Bm25Index.k1, Bm25Index.b)
            payload = cache.load("bm25", key)
            model, counts = (payload.get("model"), payload.get("counts")) if isinstance(payload, dict) else (payload, None)
            if model is not None and getattr(model, "scores", {}).get("num_docs") == len(self.entries):
                tokens = [self.entry_tokens(e) for e in self.entries] if self.entry_tokens and counts else None
                return Bm25Index(self.entries, model=model, tokens=tokens, counts=counts)
        tokens = [self.entry_tokens(e) for e in self.entries] if self.entry_tokens else None
        index = Bm25Index(self.entries, tokens=tokens)
        if cache is not None and key is not None and self.entries:
            cache.store("bm25", key, index.cache_payload())
        return index

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        """Identifies the content: (path, digest) of every file."""
        return tuple((f.path, f.digest) for f in self.files)

    def __len__(self) -> int:
        return len(self.entries)
