"""The signals a ranking weighs, one value per corpus entry each: BM25 over views of the query, MiniLM similarity,
the project's citation evidence (``retrieval.evidence``) and features of the entry itself. ``retrieval.fusion``
turns them into one score; every signal here is already on a comparable scale (z-scores, log counts, 0..1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from texcite.bib.model import Entry, parent_keys
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.evidence import KeyEvidence
from texcite.textnorm import UNSPACED, fold

BM25_VIEWS = {"bm25_sent": "sent", "bm25_para": "para", "bm25_near": "near", "bm25_before": "before", "bm25_sect": "sect",
              "bm25_nbr": "nbr"}


@dataclass(frozen=True)
class Signal:
    """One signal: its name (the fusion model's input) and the reason it gives a person when it lifts an entry
    (``retrieval.explain``; signals sharing a reason are summed under it; '' = never a reason: the entry's own
    features are no reason a person would act on)."""

    name: str
    reason: str = ""


# The registry: the fusion's inputs, the explanations and bench/fit_fusion.py derive from it.
SIGNALS: tuple[Signal, ...] = (
    *(Signal(name, "section words" if view == "sect" else "words") for name, view in BM25_VIEWS.items()),
    Signal("dense", "meaning"), Signal("dense_sent", "meaning"),
    Signal("near_topic", "near_topic"), Signal("previous_topic", "near_topic"),
    Signal("uses", "uses"), Signal("uncited", "uncited"),
    Signal("file_uses", "uses"), Signal("section_uses", "section_uses"),
    Signal("nearness", "nearness"), Signal("cocited", "cocited"),
    Signal("context", "context"), Signal("bib_next", "bib_next"),
    Signal("bib_anchor", "bib_anchor"),
    Signal("author_named", "author_named"), Signal("year_named", "year_named"),
    *(Signal(name) for name in ("has_abstract", "year", "type_book", "type_misc", "type_thesis", "type_report",
                                "parent")),
)


# Entry types by kind (biblatex and BibTeX names); articles, papers in proceedings and the rest are the baseline.
TYPE_KINDS = {
    "type_book": {"book", "mvbook", "inbook", "bookinbook", "suppbook", "collection", "mvcollection", "incollection",
                  "suppcollection", "reference", "mvreference", "inreference"},
    "type_misc": {"misc", "online", "electronic", "www", "software", "manual", "dataset", "unpublished"},
    "type_thesis": {"thesis", "phdthesis", "mastersthesis"},
    "type_report": {"report", "techreport"},
}
ALL = tuple(s.name for s in SIGNALS)
BIB_NEXT_SPAN = 3.0  # entries this far after the previously cited one in the bib weigh 1/e of the next one


def znorm(scores: np.ndarray) -> np.ndarray:
    """Scores minus their mean over the corpus, over their standard deviation (along the last axis)."""
    mu = scores.mean(axis=-1, keepdims=True)
    sd = scores.std(axis=-1, keepdims=True)
    return ((scores - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def text_signals(corpus: Corpus, views: Mapping[str, str],
                 stats: dict[str, tuple[float, float]] | None = None) -> dict[str, np.ndarray]:
    """BM25 of each query view (z-scores over the corpus; an empty view scores 0 everywhere). ``stats`` receives
    each signal's (mean, standard deviation) of the raw scores, so other documents' scores can join the scale."""
    out = {}
    for name, view in BM25_VIEWS.items():
        text = views.get(view, "")
        raw = corpus.bm25.scores(text) if text.strip() and len(corpus) else None
        out[name] = znorm(raw) if raw is not None else np.zeros(len(corpus), np.float32)
        if stats is not None:
            sd = float(raw.std()) if raw is not None else 0.0
            stats[name] = (float(raw.mean()) if raw is not None else 0.0, sd if sd > 0 else 1.0)
    return out


def dense_signals(similarity: np.ndarray) -> np.ndarray:
    """The dense model's cosine similarity of a query view with each entry's title, as z-scores over the corpus."""
    return znorm(similarity)


def topic_signals(titles: np.ndarray, position: Mapping[str, int], anchors: Sequence[str],
                  previous: str | None) -> dict[str, np.ndarray]:
    """How close each entry's title is in meaning to those of the works cited around the cursor (``titles``: the
    entries' unit title vectors, in the corpus's order): ``near_topic``, its largest cosine with an anchor's (the
    evidence's ``anchors``: the command's other keys and those cited within ANCHOR_CHARS; an anchor's own is left
    out, so a lone anchor gets 0), and ``previous_topic``, its cosine with the key cited last before the cursor (0
    for that key). Rounded to 6 decimals: the same anchors give the same values whatever was asked before."""
    n = len(titles)
    near, last = np.zeros(n, np.float32), np.zeros(n, np.float32)
    anchor_rows = list(dict.fromkeys(position[k] for k in anchors if k in position))
    previous_row = position.get(previous) if previous is not None else None
    rows = anchor_rows + ([previous_row] if previous_row is not None and previous_row not in anchor_rows else [])
    if not rows or not n:
        return {"near_topic": near, "previous_topic": last}
    # A matrix-vector product per key (BLAS gemv: each value summed the same way whatever the other keys; a third of
    # einsum's time, ~0.2 ms per key for 10,000 titles).
    similarity = np.round(np.stack([titles @ titles[row] for row in rows]), 6)
    if anchor_rows:
        of_anchors = similarity[: len(anchor_rows)].copy()
        of_anchors[np.arange(len(anchor_rows)), anchor_rows] = -np.inf  # an anchor against itself
        near = of_anchors.max(axis=0)
        near[np.isinf(near)] = 0.0  # the lone anchor
    if previous_row is not None:
        last = similarity[rows.index(previous_row)].copy()
        last[previous_row] = 0.0
    return {"near_topic": near.astype(np.float32, copy=False), "previous_topic": last.astype(np.float32, copy=False)}


def evidence_signals(corpus: Corpus, evidence: KeyEvidence) -> dict[str, np.ndarray]:
    """The evidence per entry: log(1 + count) for counts, the context overlap (0..1) as it is, whether the entry
    is cited nowhere else, how closely it follows the previously cited one in the bib and how near it sits to the
    paragraph's keys there (bibs often grow in citing order)."""
    n = len(corpus)
    position = corpus.position
    raw = evidence.per_entry(position, corpus.signature)
    out = {name: np.log1p(raw[name]) for name in ("uses", "file_uses", "section_uses", "nearness", "cocited")}
    out["context"] = raw["context"]
    out["uncited"] = (raw["uses"] == 0).astype(np.float32)
    rows = np.arange(n, dtype=np.float32)
    previous = position.get(evidence.previous) if evidence.previous is not None else None
    after = rows - previous if previous is not None else np.zeros(n, np.float32)
    out["bib_next"] = ((after > 0) * np.exp(-np.abs(after - 1) / BIB_NEXT_SPAN)).astype(np.float32)
    bib_anchor = np.zeros(n, np.float32)
    for key in evidence.anchors:
        row = position.get(key)
        if row is not None:
            bib_anchor += np.exp(-np.abs(rows - row) / BIB_NEXT_SPAN)
            bib_anchor[row] -= 1.0
    out["bib_anchor"] = bib_anchor
    return out


_WORD_RE = re.compile(r"\b[^\W\d_][\w'’-]+")  # a capitalised one (any script) may be a name
_UNSPACED_NAME_RE = re.compile(f"{UNSPACED}{{2,}}")  # a name in a script without spaces: found inside the sentence
_YEAR_RE = re.compile(r"(?<![0-9A-Za-z])(1[5-9]\d\d|20\d\d)(?![0-9A-Za-z])")  # '2020年' names 2020 too


def name_parts(e: Entry) -> tuple[tuple[tuple[str, float], ...], str]:
    """What a sentence may name of an entry: its folded surnames' parts, each with 1 for the first author else 0.5
    (a Chinese, Japanese or Korean name whole, as written: '张三'), and its year."""
    parts = tuple((part, 1.0 if i == 0 else 0.5) for i, surname in enumerate(e.surnames[:4])
                  for part in fold(surname).split() if len(part) > 2 or _UNSPACED_NAME_RE.fullmatch(part))
    return parts, e.year


def name_index(parts: Sequence[tuple[tuple[tuple[str, float], ...], str]]
               ) -> tuple[dict[str, list[tuple[int, float]]], dict[str, list[int]]]:
    """Folded surname -> [(row, weight)] and year -> rows, from each row's ``name_parts``."""
    names: dict[str, list[tuple[int, float]]] = {}
    years: dict[str, list[int]] = {}
    for row, (named, year) in enumerate(parts):
        for part, weight in named:
            names.setdefault(part, []).append((row, weight))
        if year:
            years.setdefault(year, []).append(row)
    return names, years


def mention_signals(corpus: Corpus, sentence: str) -> dict[str, np.ndarray]:
    """Does the citing sentence name the entry's author (1: the first author, 0.5: another) or its year?"""
    names, years = corpus.memo("names", lambda: name_index([name_parts(e) for e in corpus.entries]))
    return mentions(names, years, len(corpus), sentence)


def mentions(names: dict[str, list[tuple[int, float]]], years: dict[str, list[int]], n: int,
             sentence: str) -> dict[str, np.ndarray]:
    """``mention_signals`` over the rows of a ``name_index``."""
    author = np.zeros(n, np.float32)
    year = np.zeros(n, np.float32)
    named = {fold(m.group(0)) for m in _WORD_RE.finditer(sentence) if m.group(0)[0].isupper()}
    if _UNSPACED_NAME_RE.search(sentence):  # '张三等人提出': the names of that script the sentence holds
        folded = fold(sentence)
        named.update(name for name in names if not name.isascii() and _UNSPACED_NAME_RE.fullmatch(name) and name in folded)
    for word in named:
        for part in word.split():
            for row, w in names.get(part, ()):
                author[row] = max(author[row], w)
    for y in set(_YEAR_RE.findall(sentence)):
        year[years.get(y, [])] = 1.0
    return {"author_named": author, "year_named": year}


def entry_signals(entries: list[Entry]) -> dict[str, np.ndarray]:
    """Features of the entries themselves: has an abstract (0/1); the year as a z-score within the bib (no year:
    the bib's median); the kind of entry (0/1 per ``TYPE_KINDS``); is it the crossref parent of another entry
    (proceedings and collections are usually cited through their papers)."""
    years = np.array([float(e.year[:4]) if e.year[:4].isdigit() else np.nan for e in entries], dtype=np.float32)
    if np.isfinite(years).any():
        years = np.where(np.isfinite(years), years, np.nanmedian(years))
        year = znorm(years) if len(years) else years
    else:
        year = np.zeros(len(entries), np.float32)
    out = {"has_abstract": np.array([1.0 if e.abstract else 0.0 for e in entries], dtype=np.float32),
           "year": year.astype(np.float32)}
    types = [e.entry_type.lower() for e in entries]
    for name, kinds in TYPE_KINDS.items():
        out[name] = np.array([t in kinds for t in types], dtype=np.float32)
    parents = parent_keys(entries)
    out["parent"] = np.array([e.key in parents for e in entries], dtype=np.float32)
    return out


def request_signals(corpus: Corpus, views: Mapping[str, str], evidence: KeyEvidence,
                    stats: dict[str, tuple[float, float]] | None = None) -> dict[str, np.ndarray]:
    """Every signal of every entry for one request but the dense ones (``retrieval.embeddings.hybrid`` adds those): BM25 of
    the query's views, the entries' own features, the citing sentence's mentions and the project's evidence
    (``stats``: see ``text_signals``)."""
    return {**text_signals(corpus, views, stats), **corpus.memo("entry_signals", lambda: entry_signals(corpus.entries)),
            **mention_signals(corpus, views["sent"]), **evidence_signals(corpus, evidence)}
