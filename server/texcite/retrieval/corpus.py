"""The searchable set of entries one document sees: its bib files merged, keyed and BM25-indexed, and the
corpora kept between requests."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from texcite.bib.model import BibFile, Diagnostic, Entry, helper_keys, merge_entries
from texcite.bib.store import BibStore
from texcite.lru import BoundedCache
from texcite.retrieval.bm25 import TOKENS_VERSION, Bm25Index
from texcite.retrieval.typed import TypedIndex
from texcite.runtime import settle_heap

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_CORPORA = 8
# A BM25 index's cache file weighs about as much as its entries' field text (10k entries: 15.5 MB for 13.5 MB); a
# bigger one than this many times that, plus a megabyte, is not read.
_INDEX_RATIO = 16


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
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.entries, self.merge_problems = merge_entries(self.files)
        self.by_key = {e.key: e for e in self.entries}

    @cached_property
    def bm25(self) -> Bm25Index:
        cache, key = self.index_cache, None
        if cache is not None:
            key = corpus_key(list(self.files), Bm25Index.k1, Bm25Index.b)
            text = sum(len(value) for e in self.entries for value in e.fields.values())
            stored = cache.load("bm25", key, _INDEX_RATIO * text + (1 << 20))
            if stored is not None:
                tokens = [self.entry_tokens(e) for e in self.entries] if self.entry_tokens else None
                try:
                    return Bm25Index(self.entries, tokens=tokens, stored=stored)
                except (ValueError, KeyError, TypeError) as err:  # well-formed file, foreign content: rebuild
                    log.info("ignoring cached index %s: %s", key, err)
        tokens = [self.entry_tokens(e) for e in self.entries] if self.entry_tokens else None
        index = Bm25Index(self.entries, tokens=tokens)
        if cache is not None and key is not None and self.entries:
            cache.store("bm25", key, index.cache_payload())
        return index

    @cached_property
    def typed(self) -> TypedIndex:
        """The entries' folded words, for matching what the writer types inside the braces."""
        return TypedIndex(self.entries)

    @cached_property
    def helpers(self) -> np.ndarray:
        """Per entry: does it serve other entries rather than being a work (``bib.model.helper_keys``)?"""
        keys = helper_keys(self.entries)
        return np.array([e.cite_key in keys for e in self.entries], dtype=bool)

    def outside(self, paths: Sequence[str] | None) -> np.ndarray:
        """Per entry: is its file none of ``paths`` (a multibib command's bibliographies)? All False for None."""
        key = None if paths is None else tuple(paths)
        return self.memo(f"outside {key}", lambda: np.array(
            [key is not None and e.path not in key for e in self.entries], dtype=bool))

    @cached_property
    def position(self) -> dict[str, int]:
        """Row of each key in ``entries``."""
        return {e.key: i for i, e in enumerate(self.entries)}

    def build(self) -> None:
        """Build the indexes now, in the caller's (worker) thread, not on the first keystroke."""
        _ = self.bm25, self.typed, self.helpers

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """A table derived from the entries (the signals' per-entry features), computed once per corpus."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        """Identifies the content: (path, digest) of every file."""
        return tuple((f.path, f.digest) for f in self.files)

    def __len__(self) -> int:
        return len(self.entries)


def corpus_key(files: list[BibFile], k1: float, b: float) -> str:
    """Cache key of a BM25 index: the digests of its files (in order), the scoring parameters and the tokens'
    version."""
    raw = "|".join(f"{f.digest}:{len(f.entries)}" for f in files) + f"|{k1}|{b}|{TOKENS_VERSION}"
    return hashlib.sha1(raw.encode()).hexdigest()


class Corpora:
    """Corpora by the content of their files (a few kept), built from the store's parsed files; thread-safe."""

    def __init__(self, store: BibStore) -> None:
        self.store = store
        self._corpora: BoundedCache[tuple, Corpus] = BoundedCache(MAX_CORPORA)

    def forget(self, path: str) -> None:
        """Drop the corpora that hold ``path`` (a file no longer used)."""
        self._corpora.drop(lambda key: any(p == path for p, _ in key))

    def corpus(self, paths: Sequence[str]) -> Corpus:
        """The merged, indexed entries of ``paths``; cached while their contents stay the same."""
        store = self.store
        with store.cache.deferred():  # cache files are written once the index is built
            files = [store.get(p) for p in paths]
            key = tuple((f.path, f.digest) for f in files)
            corpus = self._corpora.get(key)
            if corpus is not None:
                return corpus
            corpus = Corpus(files, entry_tokens=store.entry_tokens, index_cache=store.cache)
            corpus.build()
        settle_heap()
        self._corpora.put(key, corpus)
        return corpus
