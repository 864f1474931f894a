"""The citations of one file version as arrays (``FileUses``): each key use with its command, offset and section,
and per command the words of its context (the source around it, within its paragraph); and the ids of words, keys
and sections every file shares (``Vocabulary``). ``retrieval.evidence`` combines the files' uses per request.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from texcite.latex.plaintext import to_plain
from texcite.retrieval.bm25 import tokenize

if TYPE_CHECKING:
    from texcite.latex.facts import FileFacts

CONTEXT_BEFORE, CONTEXT_AFTER = 240, 80  # source characters around a citation command read as its context
_MAX_CONTEXTS = 200_000


class Vocabulary:
    """Ids shared by every file (thread-safe): of context tokens, citation keys and section titles; and the token
    ids of each context text seen (memo: an edit re-tokenises only the contexts it touched)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.keys: dict[str, int] = {}
        self.key_names: list[str] = []
        self.sections: dict[str, int] = {}
        self.contexts: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()

    def context(self, source: str) -> np.ndarray:
        """The distinct token ids of a citation's surrounding source text, in the words' order (sums over them
        then run in an order no earlier request decided)."""
        ids = self.contexts.get(source)
        if ids is None:
            tokens = sorted(set(tokenize(to_plain(source))))
            with self.lock:
                ids = np.fromiter((self.ids.setdefault(t, len(self.ids)) for t in tokens), np.int64, len(tokens))
                if len(self.contexts) > _MAX_CONTEXTS:
                    self.contexts.clear()
                self.contexts[source] = ids
        return ids

    def key_ids(self, keys: Sequence[str]) -> np.ndarray:
        ids = [self.keys.get(k, -1) for k in keys]
        if -1 in ids:
            with self.lock:
                for i, k in enumerate(keys):
                    if ids[i] == -1:
                        ids[i] = self.keys.get(k, -1)
                        if ids[i] == -1:
                            ids[i] = self.keys[k] = len(self.key_names)
                            self.key_names.append(k)
        return np.array(ids, dtype=np.int64)

    def section_ids(self, titles: Sequence[str]) -> np.ndarray:
        ids = [self.sections.get(t, -1) for t in titles]
        if -1 in ids:
            with self.lock:
                ids = [self.sections.setdefault(t, len(self.sections)) for t in titles]
        return np.array(ids, dtype=np.int64)


@dataclass(frozen=True)
class FileUses:
    """The citations of one file version, one row per key use: its key id, its command (index into
    ``command_starts``), the command's start offset and the section's id; per command the token ids of its
    context (flattened: ``tokens``, with the command of each in ``token_command``)."""

    key_ids: np.ndarray
    command_of_use: np.ndarray
    offsets: np.ndarray
    section_ids: np.ndarray
    command_starts: np.ndarray
    tokens: np.ndarray
    token_command: np.ndarray
    windows: np.ndarray  # per command, the (start, end) of the source read as its context

    def reaching(self, offset: int) -> np.ndarray:
        """Per token: is it of a command whose context holds ``offset`` (the cursor's: the words being written)?"""
        if not len(self.windows):
            return np.zeros(len(self.tokens), bool)
        holds = (self.windows[:, 0] <= offset) & (offset < self.windows[:, 1])
        return holds[self.token_command]


_PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*\n")


def _context(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the source read as a citation's context starts and ends: CONTEXT_BEFORE characters before its command
    and CONTEXT_AFTER after it, within its paragraph (past a blank line, another paragraph, perhaps the one being
    written)."""
    low = max(0, start - CONTEXT_BEFORE)
    breaks = list(_PARAGRAPH_BREAK_RE.finditer(text, low, start))
    cut = _PARAGRAPH_BREAK_RE.search(text, end, min(len(text), end + CONTEXT_AFTER))
    return breaks[-1].end() if breaks else low, cut.start() if cut else min(len(text), end + CONTEXT_AFTER)


def file_uses(text: str, facts: FileFacts, vocabulary: Vocabulary) -> FileUses:
    starts: dict[int, int] = {}
    command_of_use = []
    contexts = []
    windows = []
    memo = vocabulary.contexts
    for c in facts.cites:
        index = starts.get(c.command_start)
        if index is None:
            index = starts[c.command_start] = len(starts)
            low, high = _context(text, c.command_start, c.command_end)
            windows.append((low, high))
            source = text[low:c.command_start] + " " + text[c.command_end:high]
            ids = memo.get(source)
            contexts.append(ids if ids is not None else vocabulary.context(source))
        command_of_use.append(index)
    sizes = [len(c) for c in contexts]
    return FileUses(
        key_ids=vocabulary.key_ids([c.key for c in facts.cites]),
        command_of_use=np.array(command_of_use, dtype=np.int64),
        offsets=np.array([c.command_start for c in facts.cites], dtype=np.int64),
        section_ids=vocabulary.section_ids([c.section for c in facts.cites]),
        command_starts=np.array(list(starts), dtype=np.int64),
        tokens=np.concatenate(contexts) if contexts else np.zeros(0, np.int64),
        token_command=np.repeat(np.arange(len(contexts)), sizes) if contexts else np.zeros(0, np.int64),
        windows=np.array(windows, dtype=np.int64).reshape(-1, 2),
    )
