"""Citation evidence: what the rest of the project says about each key — how often it is cited, how near the
cursor (same file, same section), together with which other keys, and after which words.

Each file's part is built once per version of its facts (``latex.facts``) and kept; a request combines the
parts of the project's files and reads, for every key cited elsewhere, the signals ``KeyEvidence`` lists. The
citation command under the cursor never counts as evidence; its other keys are the anchors of co-citation.
Everything is read from what the project's text says now: in a first draft, that is the text before the cursor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from texcite.latex.plaintext import to_plain
from texcite.retrieval.bm25 import tokenize

if TYPE_CHECKING:
    from texcite.latex.facts import FileFacts

CONTEXT_BEFORE, CONTEXT_AFTER = 240, 80  # source characters around a citation command read as its context
NEAR_CHARS = 3000.0  # a use this many characters away in the same file weighs 1/e of one at the cursor
ANCHOR_CHARS = 600  # keys cited this close to the cursor are the paragraph's anchors of co-citation
COCITED_CHARS = 300  # two uses this close (or in one command) are cited together
WORDS_FOR = 50  # keys (best context overlap first) whose shared words are kept for explanations
_MAX_CONTEXTS = 200_000


class _Vocabulary:
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
        """The distinct token ids of a citation's surrounding source text."""
        ids = self.contexts.get(source)
        if ids is None:
            tokens = set(tokenize(to_plain(source)))
            with self.lock:
                ids = np.fromiter((self.ids.setdefault(t, len(self.ids)) for t in tokens), np.int64, len(tokens))
                if len(self.contexts) > _MAX_CONTEXTS:
                    self.contexts.clear()
                self.contexts[source] = ids
        return ids

    def key(self, key: str) -> int:
        with self.lock:
            found = self.keys.get(key)
            if found is None:
                found = self.keys[key] = len(self.key_names)
                self.key_names.append(key)
            return found

    def section(self, title: str) -> int:
        with self.lock:
            return self.sections.setdefault(title, len(self.sections))

    def lookup(self, tokens: Iterable[str]) -> np.ndarray:
        return np.array(sorted({self.ids[t] for t in tokens if t in self.ids}), dtype=np.int64)


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


def file_uses(text: str, facts: FileFacts, vocabulary: _Vocabulary) -> FileUses:
    starts: dict[int, int] = {}
    command_of_use = []
    contexts = []
    for c in facts.cites:
        index = starts.get(c.command_start)
        if index is None:
            index = starts[c.command_start] = len(starts)
            lo = max(0, c.command_start - CONTEXT_BEFORE)
            contexts.append(vocabulary.context(text[lo:c.command_start] + " "
                                               + text[c.command_end:c.command_end + CONTEXT_AFTER]))
        command_of_use.append(index)
    sizes = [len(c) for c in contexts]
    return FileUses(
        key_ids=np.array([vocabulary.key(c.key) for c in facts.cites], dtype=np.int64),
        command_of_use=np.array(command_of_use, dtype=np.int64),
        offsets=np.array([c.command_start for c in facts.cites], dtype=np.int64),
        section_ids=np.array([vocabulary.section(c.section) for c in facts.cites], dtype=np.int64),
        command_starts=np.array(list(starts), dtype=np.int64),
        tokens=np.concatenate(contexts) if contexts else np.zeros(0, np.int64),
        token_command=np.repeat(np.arange(len(contexts)), sizes) if contexts else np.zeros(0, np.int64),
    )


@dataclass
class KeyEvidence:
    """Per key cited elsewhere in the project (keys not cited are absent from every map):

    - ``uses``: its citations anywhere in the project;
    - ``file_uses``: in the file of the cursor;
    - ``section_uses``: in the section the cursor is in;
    - ``nearness``: sum over its uses in this file of exp(-distance / NEAR_CHARS);
    - ``cocited``: its uses cited together (same command, or within COCITED_CHARS) with an anchor — a key already
      in the command under the cursor or cited within ANCHOR_CHARS of it; ``cocited_with``: one such anchor;
    - ``context``: the best overlap of the query's words with the words around one of its uses (0..1, idf-weighted);
    - ``context_words``: those shared words, for the keys of best overlap (for explanations);
    - ``previous``: the key cited last before the cursor, in document order (None: none yet).
    """

    uses: dict[str, int]
    file_uses: dict[str, int]
    section_uses: dict[str, int]
    nearness: dict[str, float]
    cocited: dict[str, int]
    cocited_with: dict[str, str]
    context: dict[str, float]
    context_words: dict[str, tuple[str, ...]]
    anchors: tuple[str, ...]
    previous: str | None


def _by_key(values: np.ndarray, names: list[str]) -> dict:
    return {names[k]: v.item() for k, v in zip(np.flatnonzero(values), values[values != 0])}


class EvidenceIndex:
    """Keeps each file's uses per facts version and answers ``evidence`` for a request; thread-safe. A request
    costs array operations over the project's uses, no Python loop over them."""

    def __init__(self) -> None:
        self.vocabulary = _Vocabulary()
        self._files: dict[str, tuple[FileFacts, FileUses]] = {}
        self._lock = threading.Lock()

    def uses(self, path: str, text: str, facts: FileFacts) -> FileUses:
        with self._lock:
            cached = self._files.get(path)
        if cached is not None and cached[0] is facts:
            return cached[1]
        found = file_uses(text, facts, self.vocabulary)
        with self._lock:
            self._files[path] = (facts, found)
        return found

    def evidence(self, files: Sequence[tuple[str, str, FileFacts]], path: str, offset: int, command_start: int,
                 command_keys: Sequence[str], section: str, query_tokens: Sequence[str]) -> KeyEvidence:
        """The evidence for a cursor at ``offset`` of ``path`` inside the command starting at ``command_start``
        (whose keys are ``command_keys``), in ``section``; ``files`` are (path, text, facts) of the project in
        include order."""
        vocab = self.vocabulary
        parts = [(p == path, self.uses(p, text, facts)) for p, text, facts in files]
        names = vocab.key_names
        n_keys = len(names)
        here = next((fu for is_here, fu in parts if is_here), None)
        before_here = []  # uses of the files before the cursor's, in include order
        for is_here, fu in parts:
            if is_here:
                break
            before_here.append(fu)

        uses = np.zeros(n_keys, np.int64)
        for is_here, fu in parts:
            keep = fu.offsets != command_start if is_here else slice(None)
            uses += np.bincount(fu.key_ids[keep], minlength=n_keys)
        file_count = np.zeros(n_keys, np.int64)
        section_count = np.zeros(n_keys, np.int64)
        nearness = np.zeros(n_keys, np.float64)
        anchors = list(dict.fromkeys(command_keys))
        previous = None
        if here is not None:
            other = here.offsets != command_start
            keys, offsets = here.key_ids[other], here.offsets[other]
            file_count = np.bincount(keys, minlength=n_keys)
            section_id = vocab.sections.get(section, -1)
            section_count = np.bincount(keys[here.section_ids[other] == section_id], minlength=n_keys)
            distance = np.abs(offsets - offset)
            nearness = np.bincount(keys, weights=np.exp(-distance / NEAR_CHARS), minlength=n_keys)
            anchors += [names[k] for k in dict.fromkeys(keys[distance <= ANCHOR_CHARS].tolist()) if names[k] not in anchors]
            earlier = keys[offsets < command_start]
            if len(earlier):
                previous = names[int(earlier[np.argmax(offsets[offsets < command_start])])]
        if previous is None:
            previous = next((names[int(fu.key_ids[-1])] for fu in reversed(before_here) if len(fu.key_ids)), None)
        anchor_ids = np.array([vocab.keys[a] for a in anchors if a in vocab.keys], dtype=np.int64)
        cocited, cocited_with = self._cocited(parts, command_start, anchor_ids, n_keys)
        context, words = self._context(parts, command_start, query_tokens, n_keys)
        return KeyEvidence(_by_key(uses, names), _by_key(file_count, names), _by_key(section_count, names),
                           _by_key(nearness, names), _by_key(cocited, names), cocited_with, context, words,
                           tuple(anchors), previous)

    def _cocited(self, parts, command_start: int, anchor_ids: np.ndarray,
                 n_keys: int) -> tuple[np.ndarray, dict[str, str]]:
        """Per key, its uses with another anchor use in the same command or within COCITED_CHARS; and for each
        such key, one of those anchors."""
        out = np.zeros(n_keys, np.int64)
        names = self.vocabulary.key_names
        partner: dict[str, str] = {}
        if not len(anchor_ids):
            return out, partner
        for is_here, fu in parts:
            keep = fu.offsets != command_start if is_here else np.ones(len(fu.offsets), bool)
            keys, offsets = fu.key_ids[keep], fu.offsets[keep]
            is_anchor = np.isin(keys, anchor_ids)
            if not is_anchor.any():
                continue
            order = np.argsort(offsets[is_anchor], kind="stable")
            marks, mark_keys = offsets[is_anchor][order], keys[is_anchor][order]
            lo = np.searchsorted(marks, offsets - COCITED_CHARS, side="left")
            hi = np.searchsorted(marks, offsets + COCITED_CHARS, side="right")
            near = hi - lo - is_anchor
            out += np.bincount(keys[near > 0], minlength=n_keys)
            for i in np.flatnonzero(near > 0):
                key = names[int(keys[i])]
                if key not in partner:
                    others = [names[int(k)] for k in mark_keys[lo[i]:hi[i]] if k != keys[i]]
                    if others:
                        partner[key] = others[0]
        return out, partner

    def _context(self, parts, command_start: int, query_tokens: Sequence[str],
                 n_keys: int) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
        """Per key, the best idf-weighted overlap of the query's words with the words around one of its uses."""
        query = self.vocabulary.lookup(query_tokens)
        n_commands = sum(len(fu.command_starts) for _, fu in parts)
        if not len(query) or not n_commands:
            return {}, {}
        df = np.zeros(int(query.max()) + 1, np.int64)
        for _, fu in parts:
            hits = fu.tokens[fu.tokens <= query.max()]
            df += np.bincount(hits, minlength=len(df))
        idf = np.log1p(n_commands / np.maximum(df, 1))
        query_weight = float(idf[query].sum()) or 1.0
        best = np.zeros(n_keys, np.float64)
        where: list[tuple[float, int, FileUses, int]] = []  # (score, key, file, command) of each use
        for is_here, fu in parts:
            if not len(fu.tokens):
                continue
            hit = np.isin(fu.tokens, query)
            weight = np.zeros(len(fu.tokens))
            weight[hit] = idf[fu.tokens[hit]]
            per_command = np.bincount(fu.token_command, weights=weight, minlength=len(fu.command_starts)) / query_weight
            score = per_command[fu.command_of_use]
            if is_here:
                score = np.where(fu.offsets != command_start, score, 0.0)
            np.maximum.at(best, fu.key_ids, score)
            top = np.argsort(-score)[:WORDS_FOR]
            where += [(float(score[i]), int(fu.key_ids[i]), fu, int(fu.command_of_use[i])) for i in top if score[i] > 0]
        names = self.vocabulary.key_names
        query_names = {self.vocabulary.ids[t]: t for t in query_tokens if t in self.vocabulary.ids}
        words: dict[str, tuple[str, ...]] = {}
        for s, key, fu, c in sorted(where, key=lambda w: -w[0]):
            if names[key] in words or s < best[key] or len(words) == WORDS_FOR:
                continue
            shared = sorted({int(i) for i in fu.tokens[fu.token_command == c] if int(i) in query_names},
                            key=lambda i: -idf[i])
            words[names[key]] = tuple(query_names[i] for i in shared[:3])
        return _by_key(best, names), words
