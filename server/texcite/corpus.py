"""The searchable set of entries one document sees: its bib files merged, keyed, and BM25-indexed."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

from texcite.bibindex import BibFile, Diagnostic, Entry, merge_entries
from texcite.recall import Bm25Index


@dataclass
class Corpus:
    """Entries of several bib files (crossrefs resolved, first definition of a key wins) with a BM25 index."""

    files: Sequence[BibFile]
    entries: list[Entry] = field(init=False)
    by_key: dict[str, Entry] = field(init=False)
    merge_problems: list[Diagnostic] = field(init=False)

    def __post_init__(self) -> None:
        self.entries, self.merge_problems = merge_entries(self.files)
        self.by_key = {e.key: e for e in self.entries}

    @cached_property
    def bm25(self) -> Bm25Index:
        return Bm25Index(self.entries)

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        """Identifies the content: (path, digest) of every file."""
        return tuple((f.path, f.digest) for f in self.files)

    def __len__(self) -> int:
        return len(self.entries)
