"""BM25 over bib entries with bm25s (sparse, precomputed: ~0.04 ms a query where rank-bm25 takes ~60 ms): the
tokenizer, the per-entry term counts and the index.

Searchable text of an entry: its key split into words (``smith2020attention`` -> smith 2020 attention), title,
authors, venue, year, keywords and abstract.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from texcite.bib.diskcache import Stored
from texcite.bib.model import Entry
from texcite.retrieval.stopwords import STOPWORDS
from texcite.runtime import import_bm25s
from texcite.textnorm import UNSPACED, fold

log = logging.getLogger(__name__)

# Bumped whenever tokens, the text decoded from LaTeX or the entries a parse keeps change (stopwords, normalisation,
# phantoms, a repeated field, an entry type bibtexparser took for a command, 8-bit encodings, more function words):
# cached parses and indexes of an older version are not used.
TOKENS_VERSION = 9
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_KEY_RUN_RE = re.compile(r"(?P<letters>[^\W\d_]+)|(?P<digits>\d+)")


def _normalize(w: str) -> str:
    """One word's token: '' for stopwords and one-letter words, a light plural strip ('models' ~ 'model')."""
    if len(w) < 2 or w in STOPWORDS:
        return ""
    if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


_NORMALIZED: dict[str, str] = {}  # word -> token memo: indexing 10k abstracts meets the same words millions of times
_MAX_NORMALIZED = 500_000
# The term counts of some entries: term ids and their frequencies (entry after entry), and each entry's number of
# distinct terms.
TermArrays = tuple[np.ndarray, np.ndarray, np.ndarray]


# Bytes of ASCII characters other than letters and digits -> space (UTF-8 bytes >= 128 kept): translating the
# encoded text and splitting gives _WORD_RE.findall's words for ASCII runs, a few times faster.
_ASCII_SEPARATORS = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))


def _words(text: str) -> list[str]:
    """``_WORD_RE.findall(text)``, faster; a run of a script written without spaces as its character pairs
    (``unspaced``)."""
    words = text.encode("utf-8", "surrogatepass").translate(_ASCII_SEPARATORS).decode("utf-8", "surrogatepass").split()
    if text.isascii():
        return words
    out: list[str] = []
    for w in words:
        if w.isascii():
            out.append(w)
        else:  # non-ASCII punctuation may still separate words here; odd parts: runs of an unspaced script
            for i, part in enumerate(UNSPACED_RE.split(w)):
                out += unspaced(part) if i % 2 else _WORD_RE.findall(part)
    return out


# A run of a script written without spaces (``textnorm.UNSPACED``) is read as its overlapping character pairs, as
# Lucene's CJK analyzer reads it, so '自然语言处理' in a sentence matches '语言' in a title, and a sentence is not one token.
UNSPACED_RE = re.compile(f"({UNSPACED}+)")


def unspaced(run: str) -> list[str]:
    """The overlapping character pairs of a run of an unspaced script (a single character as it is)."""
    return [run[i:i + 2] for i in range(max(1, len(run) - 1))]


def tokenize(text: str) -> list[str]:
    """Word tokens in the compared form (``textnorm.fold``: lower case, no accents, ligatures and full-width forms
    unified) without stopwords and one-letter words (a light plural strip keeps 'models' ~ 'model')."""
    words = _words(fold(text))
    memo = _NORMALIZED
    try:
        return [t for t in map(memo.__getitem__, words) if t]
    except KeyError:
        if len(memo) > _MAX_NORMALIZED:
            memo.clear()
        for w in words:
            if w not in memo:
                memo[w] = sys.intern(_normalize(w))
        return [t for t in map(memo.__getitem__, words) if t]


def key_words(key: str) -> str:
    """``smith2020attention`` -> 'smith 2020 attention'; ``VaswaniEtAl17`` -> 'Vaswani Et Al 17' (any script)."""
    words: list[str] = []
    for m in _KEY_RUN_RE.finditer(key):
        run = m.group()
        if m.group("digits"):
            words.append(run)
            continue
        # camelCase: a new word starts at lower->Upper, and before the last capital of an UPPERCase run.
        start = 0
        for i in range(1, len(run)):
            if run[i].isupper() and (run[i - 1].islower() or (i + 1 < len(run) and run[i + 1].islower())):
                words.append(run[start:i])
                start = i
        words.append(run[start:])
    return " ".join(words)


def entry_search_text(entry: Entry) -> str:
    """What BM25 indexes for an entry (title twice: it is the most telling field)."""
    parts = [
        key_words(entry.key),
        entry.title,
        entry.title,
        " ".join(entry.authors),
        entry.venue,
        entry.year,
        entry.keywords,
        entry.abstract,
    ]
    return " ".join(p for p in parts if p)


class TermCounts:
    """Term counts of each entry against one growing vocabulary, remembered by the entry's search tokens.

    Rebuilding an index after one entry changed then counts the terms of that entry only; the score matrix is
    assembled from the remembered (term ids, counts) with whole-array numpy operations. Thread-safe.
    """

    def __init__(self, max_remembered: int = 400_000, max_vocab: int = 4_000_000) -> None:
        self.max_remembered = max_remembered
        self.max_vocab = max_vocab
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.vocab: dict[str, int] = {"": 0}  # bm25s adds an empty token; keep its ids compatible
        self._counts: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def prime(self, strings: list[str], token_lists: list[list[str]]) -> None:
        """Count entries whose token lists the caller has at hand (``strings[i] == " ".join(token_lists[i])``),
        so the index build that follows finds them counted and splits no strings. Empties ``token_lists``."""
        with self._lock:
            if len(self._counts) + len(strings) > self.max_remembered or len(self.vocab) > self.max_vocab:
                self._reset()
            seen: set[str] = set()
            todo: list[int] = []
            for i, t in enumerate(strings):
                if t not in self._counts and t not in seen:
                    seen.add(t)
                    todo.append(i)
            lists = [token_lists[i] for i in todo]
            token_lists.clear()  # consumed: the lists go before the long-lived arrays are made (see _count)
            if todo:
                self._count([strings[i] for i in todo], lists)

    def _count(self, strings: list[str], corpus: list[list[str]] | None = None) -> None:
        """Remember the counts of ``strings`` (token strings not seen before), all at once."""
        from itertools import chain

        if corpus is None:
            corpus = [t.split() for t in strings]
        flat = list(chain.from_iterable(corpus))
        vocab = self.vocab
        for t in dict.fromkeys(flat):
            if t not in vocab:
                # The interned copy (tokenize interns its tokens) rather than this split's temporary string: a
                # long-lived key among a million short-lived strings would keep their memory from being returned.
                vocab[sys.intern(t)] = len(vocab)
        n_vocab = len(vocab)
        term = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
        doc_len = np.fromiter(map(len, corpus), dtype=np.int64, count=len(corpus))
        n_docs = len(corpus)
        corpus.clear()  # (the caller's list too, see prime) before the long-lived per-entry arrays below are made
        del corpus, flat
        doc = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        pairs, tf = np.unique(doc * n_vocab + term, return_counts=True)  # sorted by (doc, term)
        pair_doc, pair_term = np.divmod(pairs, n_vocab)
        cuts = np.searchsorted(pair_doc, np.arange(1, n_docs))
        ids = np.split(pair_term.astype(np.int32), cuts)
        counts = np.split(tf.astype(np.int32), cuts)
        self._counts.update(zip(strings, zip(ids, counts, strict=True), strict=True))

    def build(self, strings: Sequence[str], k1: float, b: float) -> tuple[dict[str, int], dict, TermArrays]:
        """(vocabulary, bm25s 'lucene' score matrix, the term counts ``adopt`` takes) for entries with these
        search-token strings."""
        with self._lock:
            if len(self._counts) > self.max_remembered or len(self.vocab) > self.max_vocab:
                self._reset()
            missing = [t for t in dict.fromkeys(strings) if t not in self._counts]
            if missing:
                self._count(missing)
            got = list(map(self._counts.__getitem__, strings))
            vocab = dict(self.vocab)  # a snapshot: the shared vocabulary keeps growing
        lengths = np.fromiter((len(g[0]) for g in got), dtype=np.int64, count=len(got))
        term = np.concatenate([g[0] for g in got]) if got else np.zeros(0, dtype=np.int32)
        tf = np.concatenate([g[1] for g in got]) if got else np.zeros(0, dtype=np.int32)
        return vocab, lucene_scores(term, tf, lengths, len(vocab), k1, b), (term, tf, lengths)

    def adopt(self, strings: Sequence[str | None], vocab: dict[str, int], counts: TermArrays) -> None:
        """Remember the counts stored with a cached index (``build``'s third result, ids in ``vocab``), so an edit
        after a warm start re-counts one entry too."""
        term, tf, lengths = counts
        if len(lengths) != len(strings):
            return
        with self._lock:
            if len(self._counts) + len(strings) > self.max_remembered or len(self.vocab) + len(vocab) > self.max_vocab:
                self._reset()
            remap = np.zeros(max(vocab.values(), default=-1) + 1, dtype=np.int32)
            mine = self.vocab
            for t, i in vocab.items():
                j = mine.get(t)
                if j is None:
                    j = mine[t] = len(mine)
                remap[i] = j
            cuts = np.cumsum(lengths)[:-1]
            known = self._counts
            # not strict: np.split of no entries gives one empty piece
            for s, a, c in zip(strings, np.split(remap[term], cuts), np.split(tf, cuts), strict=False):
                if s is not None and s not in known:
                    known[s] = (a, c)


TERM_COUNTS = TermCounts()


def analyze_entries(entries: list[Entry]) -> list[str]:
    """Search tokens of each entry, joined by spaces (what the bib parser caches per entry). Their term counts are
    remembered on the way, so the index build that follows a parse splits no strings."""
    lists = [tokenize(entry_search_text(e)) for e in entries]
    tokens = [" ".join(t) for t in lists]
    TERM_COUNTS.prime(tokens, lists)
    return tokens


def lucene_scores(term: np.ndarray, tf: np.ndarray, lengths: np.ndarray, n_vocab: int, k1: float, b: float) -> dict:
    """bm25s's eager 'lucene' score matrix (CSC over the vocabulary) from documents' term ids and counts, one
    document after the other (``lengths``: how many distinct terms each has)."""
    import scipy.sparse

    n_docs = len(lengths)
    tf = tf.astype(np.float64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    doc_len = np.bincount(doc, weights=tf, minlength=n_docs)
    df = np.bincount(term, minlength=n_vocab)
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    avg_len = doc_len.sum() / max(n_docs, 1)
    norm = k1 * ((1.0 - b) + b * doc_len[doc] / avg_len)
    score = (idf[term] * tf / (norm + tf)).astype(np.float32)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    # CSR (documents) to CSC (terms): scipy's conversion keeps documents ascending within a term.
    csc = scipy.sparse.csr_matrix((score, term, indptr), shape=(n_docs, n_vocab)).tocsc()
    return {"data": csc.data.astype(np.float32, copy=False), "indices": csc.indices.astype(np.int32, copy=False),
            "indptr": csc.indptr.astype(np.int64, copy=False), "num_docs": n_docs}


def _from_stored(stored: Stored, n_docs: int) -> tuple[dict[str, int], dict, TermArrays | None]:
    """(vocabulary, score matrix, term counts or None) from cache data; ValueError unless they fit ``n_docs``."""
    meta, a = stored.meta, stored.arrays
    vocab = meta["vocab"]
    if meta["num_docs"] != n_docs or not isinstance(vocab, dict) or not all(isinstance(i, int) for i in vocab.values()):
        raise ValueError("not an index of these entries")
    data, indices, indptr = a["data"], a["indices"], a["indptr"]
    ok = (data.dtype == np.float32 and indices.dtype == np.int32 and indptr.dtype == np.int64
          and len(indptr) == max(vocab.values(), default=-1) + 2 == len(vocab) + 1 and indptr[0] == 0
          and indptr[-1] == len(data) == len(indices) and bool(np.all(np.diff(indptr) >= 0))
          and (not len(indices) or (indices.min() >= 0 and indices.max() < n_docs)) and np.all(np.isfinite(data)))
    if not ok:
        raise ValueError("inconsistent index arrays")
    counts = (a["term"], a["tf"], a["lengths"]) if "lengths" in a else None
    if counts is not None and (len(counts[2]) != n_docs or int(counts[2].sum()) != len(counts[0]) != len(counts[1])):
        counts = None
    return vocab, {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}, counts


@dataclass
class Bm25Index:
    """A bm25s index over a fixed list of entries."""

    entries: Sequence[Entry]
    k1: float = 1.2
    b: float = 0.75
    # Search tokens per entry, joined by spaces, when the caller already has them (cached per bib entry).
    tokens: Sequence[str | None] | None = field(default=None, repr=False, compare=False)
    # The index for exactly these entries as the on-disk cache stored it (``cache_payload``); checked, then used.
    stored: Stored | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        bm25s = import_bm25s()
        given = self.tokens
        self.tokens = None  # not kept: the index needs only the model
        self._counts = None
        stored, self.stored = self.stored, None
        if stored is not None:
            vocab, scores, counts = _from_stored(stored, len(self.entries))
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            self._bm25.vocab_dict, self._bm25.scores, self._bm25.nonoccurrence_array = vocab, scores, None
            if counts is not None and given is not None and len(given) == len(self.entries):
                try:
                    TERM_COUNTS.adopt(given, vocab, counts)
                except Exception:  # only a speed-up
                    log.debug("cached term counts not usable", exc_info=True)
            return
        if given is not None and len(given) == len(self.entries):
            strings = [t if t is not None else " ".join(tokenize(entry_search_text(e))) for t, e in zip(given, self.entries, strict=True)]
        else:
            strings = [" ".join(tokenize(entry_search_text(e))) for e in self.entries]
        self._bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        if self.entries:
            self._bm25.vocab_dict, self._bm25.scores, self._counts = TERM_COUNTS.build(strings, self.k1, self.b)
            self._bm25.nonoccurrence_array = None  # set by bm25s.index; 'lucene' has no non-occurrence score

    def cache_payload(self) -> Stored:
        """What the on-disk cache stores: the score matrix, the vocabulary and (once, then dropped here) the term
        counts it was built from."""
        counts, self._counts = self._counts, None
        scores = self._bm25.scores
        arrays = {"data": scores["data"], "indices": scores["indices"], "indptr": scores["indptr"]}
        if counts is not None:
            arrays.update(term=counts[0], tf=counts[1], lengths=counts[2])
        meta = {"k1": self.k1, "b": self.b, "num_docs": int(scores["num_docs"]), "vocab": self._bm25.vocab_dict}
        return Stored(meta, arrays)

    def scores(self, query: str | list[str]) -> np.ndarray:
        """BM25 score of every entry for the query (zeros for an empty or unknown-word query)."""
        tokens = tokenize(query) if isinstance(query, str) else query
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        ids = [vocab[t] for t in tokens if t in vocab]
        if not self.entries or not ids:
            return np.zeros(len(self.entries), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)

    def idf(self, tokens: Sequence[str]) -> np.ndarray:
        """Lucene's idf of each token over these entries (a token no entry holds gets the idf of document frequency
        0): what one occurrence of it is worth in a document of average length."""
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        n = len(self.entries)
        df = np.zeros(len(tokens), np.float64)
        if n:
            indptr = self._bm25.scores["indptr"]
            for i, t in enumerate(tokens):
                j = vocab.get(t)
                if j is not None:
                    df[i] = indptr[j + 1] - indptr[j]
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def weighted_scores(self, tokens: Sequence[str], weights: np.ndarray) -> np.ndarray:
        """``scores`` of a tokenized query with each token's part multiplied by its weight (one per token)."""
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        out = np.zeros(len(self.entries), np.float32)
        if not self.entries:
            return out
        matrix = self._bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for t, w in zip(tokens, weights.tolist(), strict=True):
            j = vocab.get(t)
            if j is not None and w:
                start, end = indptr[j], indptr[j + 1]
                out[indices[start:end]] += data[start:end] * np.float32(w)
        return out

    def top(self, query: str | list[str], k: int) -> list[tuple[int, float]]:
        """Indices and scores of the best ``k`` entries, best first; ties keep bib order."""
        scores = self.scores(query)
        if len(scores) == 0:
            return []
        k = min(k, len(scores))
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        return [(int(i), float(scores[i])) for i in order]
