"""What the writer typed inside the braces, matched against entries: key (prefix, then subsequence), author
surnames, title words and year, case-insensitive and with accents folded.

The server filters with this itself, so every editor shows the same entries in our order whatever its own
client-side filter does. Matching runs on every keystroke over the whole bib, so each entry's words are folded
once, into one string searched at C speed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

import numpy as np

from texcite.bib.model import Entry

_SEP = "\x00"
_PUNCT = "{}()[].,:;\"'`"


def fold(text: str) -> str:
    """Lower-case without accents: 'Müller' -> 'muller', 'Çelik' -> 'celik'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _entry_words(entry: Entry) -> str:
    """The entry's key, surnames (and each part of a multi-word surname), year and title words, folded, each
    preceded by the separator so that ``find(SEP + typed)`` is a prefix match on some word."""
    words = [entry.key]
    for surname in entry.surnames:
        words += [surname, *surname.split()]
    words += [entry.year, *(w.strip(_PUNCT) for w in entry.title.split())]
    return "".join(_SEP + fold(w) for w in words if w)


class TypedIndex:
    """Folded words of a fixed list of entries, for matching typed text."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._words = [_entry_words(e) for e in entries]
        self._keys = [fold(e.key) for e in entries]

    def matches(self, typed: str) -> tuple[np.ndarray, np.ndarray]:
        """Two boolean masks over the entries: strong matches (the text starts the key, a surname, a title word
        or the year) and weak ones (its letters occur in order in the key, and it is no strong match)."""
        t = fold(typed.strip())
        n = len(self._words)
        if not t:
            return np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        needle = _SEP + t
        strong = np.fromiter((needle in w for w in self._words), dtype=bool, count=n)
        pattern = re.compile(".*?".join(map(re.escape, t)))
        weak = np.fromiter((not s and pattern.search(k) is not None for s, k in zip(strong, self._keys, strict=True)),
                           dtype=bool, count=n)
        return strong, weak
