"""What the writer typed inside the braces, matched against entries and ordered: key, author surnames, title
words, key parts and year, in the form text is compared in (``textnorm.fold``: case, accents, ligatures, full-width
forms and dashes folded).

The server filters with this itself, so every editor shows the same entries in our order whatever its own
client-side filter does. Matches come in tiers, and the ranking's scores order each tier:

0. the key starts with the typed text (``and`` -> ``andrle_geometric_2013``);
1. a surname is the typed text (``nori`` -> Nori, before Noriega);
2. a surname starts with it;
3. a title word, a part of the key (``rigid`` -> ``featherstone_rigid_2008``) or the year starts with it;
4. its letters occur in order in the key.

Title words that are stopwords (``and``, ``the``, ``for``) are not matched: typing ``and`` must not list every
title holding "and". Matching runs on every keystroke over the whole bib, so each entry's words are folded once,
into one string per kind of word, searched at C speed.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

from texcite.bib.model import Entry
from texcite.retrieval.stopwords import STOPWORDS
from texcite.textnorm import fold

_SEP = "\x00"
_PUNCT = "{}()[].,:;!?\"'`"
_KEY_PARTS = re.compile(r"[_:\-/.+]+")
FOLDED = ("keys", "surnames", "words")  # the kinds of words an index folds, each into one string
TIERS = 5  # tiers 0-3 are matches of a word's start; 4: the letters in order in the key


def _joined(words: Sequence[str]) -> str:
    """Each folded word preceded by the separator (and one closing the string): ``SEP + typed`` found in it is a
    word starting with ``typed``, ``SEP + typed + SEP`` a word equal to it."""
    return "".join(_SEP + w for w in words if w) + _SEP


def _surnames(entry: Entry) -> list[str]:
    """Each surname folded, and each part of a multi-word one ('van der Berg' -> also 'berg')."""
    out = []
    for surname in entry.surnames:
        folded = fold(surname)
        out += [folded, *folded.split()]
    return out


def _other_words(entry: Entry) -> list[str]:
    """The key's parts after the first, the year and the title words that are no stopwords, folded."""
    words = _KEY_PARTS.split(fold(entry.key))[1:] + [fold(entry.year)]
    words += [w for w in (fold(t).strip(_PUNCT) for t in entry.title.split()) if w not in STOPWORDS]
    return words


def tiered_order(tiers: np.ndarray, scores: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Rows with a tier below ``TIERS``, by tier, then the rows of ``last`` after the others of their tier, then
    by descending score, ties in row order."""
    rows = np.flatnonzero(tiers < TIERS)
    after = last[rows] if last is not None else np.zeros(len(rows), bool)
    return rows[np.lexsort((rows, -scores[rows], after, tiers[rows]))]


class _Strings:
    """One string per entry, concatenated: a search runs over all of them at C speed and its hits map back to rows.
    Each entry's string starts with the separator and no needle or pattern crosses one, so a hit is in one entry."""

    def __init__(self, text: str, starts: np.ndarray) -> None:
        """``starts``: where each entry's string starts in ``text``."""
        self._text, self._starts = text, starts

    @classmethod
    def of(cls, per_entry: Sequence[str]) -> _Strings:
        starts = np.cumsum([0, *(len(s) for s in per_entry[:-1])]) if per_entry else np.zeros(0, int)
        return cls("".join(per_entry), starts)

    def folded(self) -> tuple[str, np.ndarray]:
        return self._text, self._starts

    def _rows(self, hits: list[int]) -> np.ndarray:
        return np.searchsorted(self._starts, hits, side="right") - 1

    def containing(self, needle: str) -> np.ndarray:
        """The rows whose string contains ``needle`` (``str.find``: faster than a regex for a literal)."""
        text, hits, at = self._text, [], self._text.find(needle)
        while at >= 0:
            hits.append(at)
            at = text.find(needle, at + 1)
        return self._rows(hits)

    def matching(self, pattern: re.Pattern[str]) -> np.ndarray:
        return self._rows([m.start() for m in pattern.finditer(self._text)])


class TypedIndex:
    """Folded words of a fixed list of entries, for matching typed text."""

    def __init__(self, entries: Sequence[Entry], folded: Mapping[str, tuple[str, np.ndarray]] | None = None) -> None:
        """``folded``: these entries' strings as ``folded()`` gave them (the library's own cache), used as they are
        rather than folded again."""
        self._n = len(entries)
        if folded is not None:
            self._keys, self._surnames, self._words = (_Strings(*folded[kind]) for kind in FOLDED)
            return
        self._keys = _Strings.of([_SEP + fold(e.key) for e in entries])
        self._surnames = _Strings.of([_joined(_surnames(e)) for e in entries])
        self._words = _Strings.of([_joined(_other_words(e)) for e in entries])

    def folded(self) -> dict[str, tuple[str, np.ndarray]]:
        """Per kind of word (``FOLDED``): the entries' strings concatenated and where each starts."""
        return dict(zip(FOLDED, (s.folded() for s in (self._keys, self._surnames, self._words)), strict=True))

    def tiers(self, typed: str) -> np.ndarray:
        """Each entry's tier for ``typed`` (see the module docstring); ``TIERS`` where it does not match. With
        nothing typed every entry is in tier 0."""
        t = fold(typed.strip()).replace(_SEP, "")
        tiers = np.full(self._n, TIERS, dtype=np.int8)
        if not t:
            tiers[:] = 0
            return tiers
        # The letters in order within one key: each step skips what is neither the separator nor the next letter
        # (no backtracking).
        in_order = _SEP + "".join(f"[^{_SEP}{re.escape(c)}]*{re.escape(c)}" for c in t)
        start = _SEP + t
        # From the weakest tier to the strongest: a stronger match overwrites a weaker one.
        tiers[self._keys.matching(re.compile(in_order))] = 4
        tiers[self._words.containing(start)] = 3
        tiers[self._surnames.containing(start)] = 2
        tiers[self._surnames.containing(start + _SEP)] = 1
        tiers[self._keys.containing(start)] = 0
        return tiers

    def order(self, typed: str, scores: np.ndarray) -> np.ndarray:
        """The rows of the entries ``typed`` matches, best tier first, by ``scores`` within a tier."""
        return tiered_order(self.tiers(typed), scores)
