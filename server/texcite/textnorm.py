"""The one form text is compared in: BM25's tokens (of entries, queries and the words around citations), what
the writer types in the braces and the author names a sentence mentions all go through ``fold``, so 'uniﬁed'
in a Zotero bib matches 'unified' in the text, 'Ｌａｔｅｘ' matches 'latex', 'Schrodinger' matches 'Schrödinger'
and 'self–attention' matches 'self-attention'.
"""

from __future__ import annotations

import re
import unicodedata

# Dashes, hyphens and the minus sign (after NFKD: the small and full-width ones are among them) -> '-'.
_DASHES_RE = re.compile("[\u2010-\u2015\u2043\u2212]")
_SOFT_HYPHEN = "\u00ad"  # invisible, left by copies from PDFs: removed
# A character of the scripts written without spaces between words (Thai with its vowel and tone marks, kana, Han,
# Hangul: Korean spaces its phrases but attaches their particles).
UNSPACED = "[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
# What joins the parts of one word: an apostrophe between Cyrillic letters (Ukrainian 'об'ємної'), the zero-width
# non-joiner (Persian 'نرم‌افزار'): removed, so the word is one token.
_JOINERS_RE = re.compile("(?<=[\u0400-\u04ff])['\u2019\u02bc](?=[\u0400-\u04ff])|\u200c")
# The combining accents NFKD splits from their letters (Latin, Greek and Cyrillic diacritics): removed.
_ACCENTS_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """The compared form of ``text``: compatibility forms unified (NFKC: ligatures 'ﬁ' -> 'fi', full-width
    letters and digits), accents removed ('Çelik' -> 'celik'), every dash '-', case folded ('Straße' ->
    'strasse'), a word's joiners removed."""
    if text.isascii():
        return text.lower()  # the same as below for ASCII, without the Unicode passes
    decomposed = _DASHES_RE.sub("-", unicodedata.normalize("NFKD", _JOINERS_RE.sub("", text)).replace(_SOFT_HYPHEN, ""))
    return unicodedata.normalize("NFC", _ACCENTS_RE.sub("", decomposed)).casefold()
