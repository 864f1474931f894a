"""What the writer typed inside the braces, matched against entries and ordered: key, author surnames, title
words, key parts and year, case-insensitive and with accents folded.

The server filters with this itself, so every editor shows the same entries in our order whatever its own
client-side filter does. Matches come in tiers, and the ranking's scores order each tier:

0. the key starts with the typed text (``and`` -> ``andrle_geometric_2013``);
1. a surname is the typed text (``nori`` -> Nori, before Noriega);
2. a surname starts with it;
3. a title word, a part of the key (``rigid`` -> ``featherstone_rigid_2008``) or the year starts with it;
4. its letters occur in order in the key.

Title words that are stopwords (``and``, ``the``, ``for``) are not matched: typing ``and`` must not list every
title holding "and". Matching runs on every keystroke over the whole bib, so each entry's words are folded once,
into strings searched at C speed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np

from texcite.bib.model import Entry
from texcite.retrieval.stopwords import STOPWORDS

_SEP = "\x00"
_PUNCT = "{}()[].,:;!?\"'`"
_KEY_PARTS = re.compile(r"[_:\-/.+]+")
TIERS = 5  # tiers 0-3 are matches of a word's start; 4: the letters in order in the key


def fold(text: str) -> str:
    """Lower-case without accents: 'Müller' -> 'muller', 'Çelik' -> 'celik'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


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


def tiered_order(tiers: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Rows with a tier below ``TIERS``, by tier, then by descending score, ties in row order."""
    rows = np.flatnonzero(tiers < TIERS)
    return rows[np.lexsort((rows, -scores[rows], tiers[rows]))]


class TypedIndex:
    """Folded words of a fixed list of entries, for matching typed text."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._keys = [fold(e.key) for e in entries]
        self._surnames = [_joined(_surnames(e)) for e in entries]
        self._words = [_joined(_other_words(e)) for e in entries]

    def tiers(self, typed: str) -> np.ndarray:
        """Each entry's tier for ``typed`` (see the module docstring); ``TIERS`` where it does not match. With
        nothing typed every entry is in tier 0."""
        t = fold(typed.strip())
        n = len(self._keys)
        tiers = np.full(n, TIERS, dtype=np.int8)
        if not t:
            tiers[:] = 0
            return tiers
        start, whole = _SEP + t, _SEP + t + _SEP
        pattern = re.compile(".*?".join(map(re.escape, t)))
        for i, (key, surnames, words) in enumerate(zip(self._keys, self._surnames, self._words)):
            if key.startswith(t):
                tiers[i] = 0
            elif start in surnames:
                tiers[i] = 1 if whole in surnames else 2
            elif start in words:
                tiers[i] = 3
            elif pattern.search(key) is not None:
                tiers[i] = 4
        return tiers

    def order(self, typed: str, scores: np.ndarray) -> np.ndarray:
        """The rows of the entries ``typed`` matches, best tier first, by ``scores`` within a tier."""
        return tiered_order(self.tiers(typed), scores)
