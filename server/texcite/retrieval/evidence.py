"""Citation evidence: what the rest of the project says about each key — how often it is cited, how near the
cursor (same file, same section), together with which other keys, and after which words.

Each file's part is built once per version of its facts (``latex.facts``) and kept; a request combines the
parts of the project's files and reads, for every key cited elsewhere, the signals ``KeyEvidence`` lists. The
citation command under the cursor never counts as evidence; its other keys are the anchors of co-citation.
Everything is read from what the project's text says now: in a first draft, that is the text before the cursor.

The evidence is a function of the project's current text and the request alone, never of the requests before it:
the ids of words, keys and sections grow with what was seen, but no value depends on which ids exist or on their
order (sums run in word order), and caches hold results keyed by the very objects they were computed from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from texcite.lru import BoundedCache
from texcite.retrieval.uses import FileUses, Vocabulary, file_uses

if TYPE_CHECKING:
    from texcite.latex.facts import FileFacts

NEAR_CHARS = 3000.0  # a use this many characters away in the same file weighs 1/e of one at the cursor
ANCHOR_CHARS = 600  # keys cited this close to the cursor are the paragraph's anchors of co-citation
COCITED_CHARS = 300  # two uses this close (or in one command) are cited together
MAX_CORPORA = 8  # corpora whose key rows are kept


class KeyEvidence:
    """The project's citations seen from one request, as arrays indexed by key id (``key_id``); the command being
    written is left out. Per key:

    - ``uses``: its citations anywhere in the project; ``file_uses``: in the cursor's file; ``section_uses``: in
      the cursor's section;
    - ``nearness``: sum over its uses in this file of exp(-distance / NEAR_CHARS);
    - ``cocited``: its uses cited together (same command, or within COCITED_CHARS) with an anchor — a key already
      in the command under the cursor or cited within ANCHOR_CHARS of it;
    - ``context``: the best overlap of the query's words with the words around one of its uses (0..1, idf-weighted).

    ``previous`` is the key cited last before the cursor in document order (None: none yet). What explains one
    key (``count``, ``partner``, ``shared_words``) is computed when asked, for the few keys a list shows.
    """

    def __init__(self, index: "EvidenceIndex", uses: "_ProjectUses", is_anchor: np.ndarray, anchors: tuple[str, ...],
                 previous: str | None, arrays: dict[str, np.ndarray], query_names: dict[int, str],
                 best_command: np.ndarray, idf: np.ndarray) -> None:
        self._index = index
        self._uses = uses
        self._is_anchor = is_anchor  # per use: is its key an anchor
        self.anchors = anchors
        self.previous = previous
        self.arrays = arrays
        self._query_names = query_names
        self._best_command = best_command
        self._idf = idf

    def key_id(self, key: str) -> int | None:
        return self._index.vocabulary.keys.get(key)

    def count(self, name: str, key: str) -> float:
        """``uses``, ``file_uses``, ``section_uses``, ``nearness``, ``cocited`` or ``context`` of one key."""
        k = self.key_id(key)
        values = self.arrays[name]
        return values[k].item() if k is not None and k < len(values) else 0

    def partner(self, key: str) -> str | None:
        """An anchor ``key`` is cited together with."""
        k = self.key_id(key)
        u, a = self._uses, self._is_anchor
        if k is None or not a.any():
            return None
        names = self._index.vocabulary.key_names
        keys, offsets, files = u.key_ids[a], u.offsets[a], u.files[a]
        for i in np.flatnonzero(u.key_ids == k):
            near = np.flatnonzero((files == u.files[i]) & (np.abs(offsets - u.offsets[i]) <= COCITED_CHARS)
                                  & (keys != k))
            if len(near):
                return names[int(keys[near[0]])]
        return None

    def shared_words(self, key: str, most: int | None = 3) -> tuple[str, ...]:
        """The query's words found around the key's best-matching other citation (rarest first, at most ``most``)."""
        k = self.key_id(key)
        if k is None or k >= len(self._best_command) or self._best_command[k] < 0:
            return ()
        c = self._best_command[k]
        ids: set[int] = set()
        for tokens, commands in self._uses.token_blocks:  # each grouped by command, in command order
            lo, hi = np.searchsorted(commands, [c, c + 1])
            ids |= {int(i) for i in tokens[lo:hi]} & set(self._query_names)
        names = self._query_names
        return tuple(names[i] for i in sorted(ids, key=lambda i: (-self._idf[i], names[i]))[:most])

    def per_entry(self, position: dict[str, int], signature: tuple) -> dict[str, np.ndarray]:
        """Each array re-indexed by the rows of a corpus (``position``: key -> row); keys it lacks are dropped."""
        rows = self._index.corpus_rows(position, signature)
        n = len(position)
        out = {}
        for name, values in self.arrays.items():
            k = min(len(values), len(rows))
            valid = rows[:k] >= 0
            arr = np.zeros(n, np.float32)
            arr[rows[:k][valid]] = values[:k][valid]
            out[name] = arr
        return out


@dataclass(frozen=True)
class _ProjectUses:
    """The uses of every file of a project for one request, concatenated (the command being written left out)."""

    key_ids: np.ndarray
    offsets: np.ndarray
    files: np.ndarray  # index of the use's file, in include order
    commands: np.ndarray  # a command id unique in the project
    here: np.ndarray  # bool: in the cursor's file
    section_ids: np.ndarray
    token_blocks: tuple[tuple[np.ndarray, np.ndarray], ...]  # (tokens, their commands): grouped by command
    n_commands: int


def _concatenate(blocks: list[tuple[int, FileUses, np.ndarray]], base: int = 0) -> tuple[dict[str, np.ndarray], int]:
    """Uses of several files in one set of arrays: (file index, uses, mask of the uses kept) each; command ids
    numbered from ``base`` on, file after file. Returns the arrays and the next command id."""
    out: dict[str, list[np.ndarray]] = {n: [] for n in ("key_ids", "offsets", "files", "commands", "section_ids",
                                                         "tokens", "token_command")}
    for index, fu, keep in blocks:
        out["key_ids"].append(fu.key_ids[keep])
        out["offsets"].append(fu.offsets[keep])
        out["files"].append(np.full(int(keep.sum()), index, np.int64))
        out["commands"].append(fu.command_of_use[keep] + base)
        out["section_ids"].append(fu.section_ids[keep])
        out["tokens"].append(fu.tokens)
        out["token_command"].append(fu.token_command + base)
        base += len(fu.command_starts)
    return {n: np.concatenate(v) if v else np.zeros(0, np.int64) for n, v in out.items()}, base


def _same(a: tuple, b: tuple) -> bool:
    """Do two tuples hold the very same objects?"""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _per_key_max(values: np.ndarray, keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The largest value per key (0 for keys without one) and the position it came from (-1)."""
    best = np.zeros(n, np.float64)
    where = np.full(n, -1, np.int64)
    positive = np.flatnonzero(values > 0)  # the others are left at 0 / -1
    order = positive[np.argsort(values[positive], kind="stable")]
    best[keys[order]] = values[order]  # assignments in ascending order: the largest is written last
    where[keys[order]] = order
    return best, where


class EvidenceIndex:
    """Keeps each file's uses per facts version and answers ``evidence`` for a request; thread-safe. A request
    costs array operations over the project's uses, no Python loop over them."""

    def __init__(self) -> None:
        self.vocabulary = Vocabulary()
        self._files: dict[str, tuple[FileFacts, FileUses]] = {}
        # corpus signature -> corpus row of each key id (-1: none)
        self._rows: BoundedCache[tuple, np.ndarray] = BoundedCache(MAX_CORPORA)
        # the last request's other files (their uses, and the cursor file's index), concatenated, and their
        # number of commands; the uses themselves are kept and compared by identity (an id() may be reused)
        self._others: tuple[tuple, tuple[dict[str, np.ndarray], int]] | None = None
        self._lock = threading.Lock()

    def corpus_rows(self, position: dict[str, int], signature: tuple) -> np.ndarray:
        """The corpus row of each key id (-1 where the corpus lacks the key), extended as keys are met."""
        names = self.vocabulary.key_names
        rows = self._rows.get(signature)
        if rows is None:
            rows = np.zeros(0, np.int64)
        if len(rows) < len(names):
            extra = np.array([position.get(k, -1) for k in names[len(rows):len(names)]], dtype=np.int64)
            rows = np.concatenate([rows, extra])
            self._rows.put(signature, rows)
        return rows

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
        here_index = next((i for i, (is_here, _) in enumerate(parts) if is_here), len(parts))
        # The other files change rarely: their concatenation is kept, the cursor's file appended to it.
        key = (*(fu for is_here, fu in parts if not is_here), here_index)
        with self._lock:
            cached = self._others
        others = cached[1] if cached is not None and _same(cached[0], key) else None
        if others is None:
            others = _concatenate([(i, fu, np.ones(len(fu.key_ids), bool))
                                   for i, (is_here, fu) in enumerate(parts) if not is_here])
            with self._lock:
                self._others = (key, others)
        other_arrays, other_commands = others
        here = [(here_index, fu, fu.offsets != command_start) for is_here, fu in parts if is_here]
        mine, n_commands = _concatenate(here, other_commands)
        # The words around a citation whose context holds the cursor's are the ones being written: not its evidence.
        apart = np.concatenate([~fu.reaching(offset) for _, fu, _ in here]) if here else np.zeros(0, bool)
        u = _ProjectUses(**{n: np.concatenate([other_arrays[n], mine[n]])
                            for n in ("key_ids", "offsets", "files", "commands", "section_ids")},
                         here=np.concatenate([np.zeros(len(other_arrays["key_ids"]), bool),
                                              np.ones(len(mine["key_ids"]), bool)]),
                         token_blocks=((other_arrays["tokens"], other_arrays["token_command"]),
                                       (mine["tokens"][apart], mine["token_command"][apart])),
                         n_commands=n_commands)
        names = vocab.key_names
        n_keys = len(names)

        arrays = {"uses": np.bincount(u.key_ids, minlength=n_keys)}
        here_keys, here_offsets = u.key_ids[u.here], u.offsets[u.here]
        arrays["file_uses"] = np.bincount(here_keys, minlength=n_keys)
        section_id = vocab.sections.get(section, -1)
        arrays["section_uses"] = np.bincount(here_keys[u.section_ids[u.here] == section_id], minlength=n_keys)
        distance = np.abs(here_offsets - offset)
        arrays["nearness"] = np.bincount(here_keys, weights=np.exp(-distance / NEAR_CHARS), minlength=n_keys)

        anchors = list(dict.fromkeys(command_keys))
        anchors += [names[k] for k in dict.fromkeys(here_keys[distance <= ANCHOR_CHARS].tolist())
                    if names[k] not in anchors]
        before = (u.files < here_index) | (u.here & (u.offsets < command_start))
        previous = names[int(u.key_ids[np.flatnonzero(before)[-1]])] if before.any() else None

        anchor_lut = np.zeros(n_keys, bool)
        anchor_lut[[vocab.keys[a] for a in anchors if a in vocab.keys]] = True
        is_anchor = anchor_lut[u.key_ids]
        arrays["cocited"] = self._cocited(u, is_anchor, n_keys)
        context, best_command, idf, query_names = self._context(u, query_tokens, n_keys)
        arrays["context"] = context
        return KeyEvidence(self, u, is_anchor, tuple(anchors), previous, arrays, query_names, best_command, idf)

    @staticmethod
    def _cocited(u: _ProjectUses, is_anchor: np.ndarray, n_keys: int) -> np.ndarray:
        """Per key, its uses with another anchor use in the same file within COCITED_CHARS (a command's uses
        share its offset)."""
        if not is_anchor.any():
            return np.zeros(n_keys, np.int64)
        # positions on one line: file index spaced far apart, so uses of different files are never close
        span = int(u.offsets.max(initial=0)) + 2 * COCITED_CHARS + 1
        position = u.files * span + u.offsets
        marks = np.sort(position[is_anchor])
        near = (np.searchsorted(marks, position + COCITED_CHARS, side="right")
                - np.searchsorted(marks, position - COCITED_CHARS, side="left") - is_anchor)
        return np.bincount(u.key_ids[near > 0], minlength=n_keys)

    def _context(self, u: _ProjectUses, query_tokens: Sequence[str],
                 n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """Per key, the best idf-weighted overlap of the query's words with the words around one of its uses;
        the command it came from (-1: none); the idf; the query's words by token id.

        The overlap is the share of the query's weight found around the use: every distinct word of the query
        weighs its idf over the project's commands now (a word around none of them weighs the most,
        log(1 + commands)), whether or not an earlier text held it."""
        vocab = self.vocabulary
        words = sorted(set(query_tokens))
        word_ids = np.array([vocab.ids.get(t, -1) for t in words], dtype=np.int64)  # -1: in no context ever read
        query_names = {int(i): t for i, t in zip(word_ids, words, strict=True) if i >= 0}
        query = word_ids[word_ids >= 0]
        none = (np.zeros(n_keys), np.full(n_keys, -1, np.int64), np.zeros(0), query_names)
        if not len(query) or not len(u.key_ids):
            return none
        lut = np.zeros(len(vocab.ids), bool)  # every token id was given by this vocabulary
        lut[query] = True
        hits = [(tokens[lut[tokens]], commands[lut[tokens]]) for tokens, commands in u.token_blocks]
        df = sum(np.bincount(t, minlength=int(query.max()) + 1) for t, _ in hits)
        idf = np.log1p(u.n_commands / np.maximum(df, 1))
        weight = float(np.where(word_ids >= 0, idf[np.maximum(word_ids, 0)], np.log1p(u.n_commands)).sum()) or 1.0
        per_command = np.zeros(u.n_commands)
        for t, c in hits:
            per_command += np.bincount(c, weights=idf[t], minlength=u.n_commands)
        per_command /= weight
        best, where = _per_key_max(per_command[u.commands], u.key_ids, n_keys)
        best_command = np.where(where >= 0, u.commands[np.maximum(where, 0)], -1)
        return best, best_command, idf, query_names
