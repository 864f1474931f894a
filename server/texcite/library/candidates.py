"""The library's entries among a citation's candidates, without merging them into the project's corpus (a 50k
library would cost per-entry work on every request): the library answers for itself and only its best few are
scored with the project's fusion model.

Per request: the library's ``RECALL`` best entries by BM25 of the query's paragraph and of its citing sentence and,
once its titles are embedded, the nearest in meaning to the query's two vectors (``library.nearest``: a paragraph
in one language finds titles in another) (with text typed in the braces, the best by BM25 of those it matches,
``retrieval.typed``'s tiers first); those that are the project's own entries dropped (``identity``); each scored by
the same fusion model as the project's entries, its signals on the project's scale (of a work the library lists
twice, only the listing that ranks best is offered: ``identity.work_ids``):

* BM25: each query token's part of the library's score is multiplied by the project's idf over the library's
  (``Bm25Index.idf``), which is the score the entry would get if it were one more entry of the project's bib (with
  the library's average length for the length normalisation); it is then a z-score with the mean and standard
  deviation of the project's raw scores for that view (``text_signals``' ``stats``);
* dense (hybrid recall): the cosine of the query's vectors with the entry's title vector, as a z-score with the
  project's mean and deviation (``DenseQuery.signals``' ``stats``). The library's titles are embedded in the
  background by the document's encoder (``LibraryIndex.embed_with``); until they all are, a request embeds the
  titles of its candidates itself (``LibraryIndex.vectors_now``), and recall by meaning waits. Only when no title
  vector can be had (the encoder's first build has not opened its cache, or the encoder cannot run) does an entry
  get what its words predict of it: ``DENSE_FROM_WORDS`` times its BM25 z-score of the same view (the words near
  the marker, the citing sentence);
* evidence: that of a work the project cites nowhere (uncited 1, every count 0), the mentions of the citing
  sentence as for the project's entries;
* its own features: the year as a z-score among the project's years, its type.

Their score is the fused score minus ``library_offset``: a work already in the project's bibliography is likelier to
be cited than one of the thousands a writer has collected, so a library entry goes above a project entry only when
the context clearly prefers it; plus ``AUTHOR_WEIGHT`` when one of its authors has a work in the project's
bibliography. With its title's vector, the entry's affinity with the project joins (``affinity``: how like the
works the project's bibliography holds its title is), with an offset of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable, Mapping, Sequence, TypeVar

import numpy as np

from texcite.bib.model import Entry, LibraryRef
from texcite.latex.cite import CiteContext
from texcite.library.index import LibraryIndex
from texcite.library.identity import Identities, project_identities, work_ids
from texcite.library.nearest import TitleProjection
from texcite.library.packed import LibrarySearch
from texcite.retrieval.bm25 import tokenize
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.fusion import FusionModel
from texcite.retrieval.select import Candidate, Lift
from texcite.retrieval.signals import BM25_VIEWS, TYPE_KINDS, mentions, name_index, name_parts
from texcite.retrieval.typed import TIERS
from texcite.textnorm import fold

if TYPE_CHECKING:
    from texcite.retrieval.adaptation import Correction
    from texcite.retrieval.embeddings.hybrid import DenseQuery

T = TypeVar("T")

# A library entry's fused score (log-odds) loses a constant offset, per stage (each stage has its own fusion model):
# BM25 alone, and hybrid recall without title vectors (its dense signals then predicted from its words,
# ``DENSE_FROM_WORDS``). Each is fit with `texcite eval --library-split 0.3` on the
# dev theses, the projects adapted to their citations, for a given fusion.json (a refit of the fusion changes what a
# work cited nowhere scores: fit them again with it): the most moved works in the top 10 keeping the project entries'
# R@10 within 1 point of theirs without a library. Figures, held out too: bench/results/library.md.
LIBRARY_OFFSETS = {"bm25": 2.0, "hybrid": 2.0}
# The correlation of an entry's dense z-score with its BM25 z-score of the same query view, over the dev theses'
# entries (0.34 near the marker, 0.35 for the citing sentence): the dense signal expected of a library entry whose
# title is not embedded yet, given its BM25 (as z-scores of a joint normal).
DENSE_FROM_WORDS = 0.35
# With the titles embedded, a library entry's score gains AFFINITY_WEIGHT * (affinity - AFFINITY_CENTRE) and loses the
# constant AFFINITY_OFFSET instead, on the project's scale: the project's temperature
# (``retrieval.adaptation.Correction``) scales the library's scores and this offset with them.
AFFINITY_NEAREST = 20  # the project's titles an entry's affinity averages over (its most similar ones)
AFFINITY_WEIGHT, AFFINITY_CENTRE, AFFINITY_OFFSET = 8.0, 0.35, 1.375
# In every stage a library entry gains AUTHOR_WEIGHT when one of its authors (or editors) has a work in the project's
# bibliography: a writer's next citation is often by someone they already cite (dev: 69 % of the moved works, 33 %
# of the other library entries). Fit with the offsets on dev's library split (bench/results/library.md).
AUTHOR_WEIGHT = 0.5


def library_offset(stage: str, affinity: bool = False) -> float:
    """What a library entry's fused score loses (``affinity``: the entry's affinity with the project joins it)."""
    return AFFINITY_OFFSET if affinity else LIBRARY_OFFSETS[stage]


def affinity(titles: np.ndarray, project: np.ndarray) -> np.ndarray:
    """How like the project's bibliography each title is: the mean cosine of each of ``titles`` (unit vectors) with
    its AFFINITY_NEAREST most similar of the project's ``project`` titles. In float64, rounded to 9 decimals: a
    title's value does not depend on the others computed with it (BLAS may sum a product's terms in another order
    for another batch), so the same state gives the same list whatever was asked before."""
    similarity = titles.astype(np.float64) @ project.astype(np.float64, copy=False).T
    nearest = min(AFFINITY_NEAREST, similarity.shape[1])
    return np.round(np.partition(similarity, similarity.shape[1] - nearest, axis=1)[:, -nearest:].mean(axis=1), 9)


def _affinities(project: Corpus, library: LibrarySearch, rows: list[int], vectors: np.ndarray,
                titles: np.ndarray) -> np.ndarray:
    """``affinity`` of the library's ``rows`` (their title ``vectors``), each computed once for the project, the
    library and the project's title vectors ``titles`` (100 take some 20 ms against a 10,000-entry bibliography)."""
    known: dict = project.memo("library_affinity", dict)
    kept = known.get(library.signature)
    if kept is None or kept[0] is not titles:  # another library, or the project's titles embedded anew
        known.clear()
        kept = known[library.signature] = (titles, titles.astype(np.float64), {})
    values: dict[int, float] = kept[2]
    missing = [i for i, r in enumerate(rows) if r not in values]
    if missing:
        values.update(zip([rows[i] for i in missing], affinity(vectors[missing], kept[1]).tolist(), strict=True))
    return np.array([values[r] for r in rows], np.float64)


def _authors(e: Entry) -> dict[str, str]:
    """An entry's authors' (or editors') folded surnames of three letters or more, each to the name as written."""
    return {folded: name for name in e.surnames if len(folded := fold(name)) > 2}


def _per_row(library: LibrarySearch, rows: list[int], make: Callable[[Entry], T]) -> list[T]:
    """``make`` of each of the library's ``rows``' entries, each made once per library (when first reached)."""
    made: dict[int, T] = library.memo(make.__name__, dict)
    for row in rows:
        if row not in made:
            made[row] = make(library.entries[row])
    return [made[row] for row in rows]


def _shared_authors(project: Corpus, library: LibrarySearch, rows: list[int]) -> list[str]:
    """For each of the library's ``rows``, its first author (or editor) with a work in the project's bibliography,
    as the entry writes the name ('' for none)."""
    known: frozenset[str] = project.memo("authors", lambda: frozenset().union(*map(_authors, project.entries)))
    return [next((name for folded, name in names.items() if folded in known), "")
            for names in _per_row(library, rows, _authors)]


@dataclass(frozen=True)
class Titles:
    """The title vectors a request's library candidates are compared with: the library's (those of the rows asked
    for; None when they cannot be had now), the query's two (near the marker, the citing sentence) and the project's
    entries', all by the document's encoder; the library's projected for recall (None until projected)."""

    library: Callable[[list[int]], np.ndarray | None]
    query: np.ndarray
    project: np.ndarray
    projection: TitleProjection | None


RECALL = 30  # library entries taken per query view (paragraph, sentence); 50 recalled 1-2 more moved works in 500
# on dev's and the eleven's library splits, for 1 ms more per completion at 50,000 entries
RECALL_VIEWS = ("bm25_para", "bm25_sent")


def _bm25(library: LibrarySearch, project: Corpus, views: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Each BM25 view's raw scores of every library entry with the project's idf (see the module docstring)."""
    out = {}
    for name, view in BM25_VIEWS.items():
        text = views.get(view, "")
        tokens = tokenize(text) if text.strip() else []
        if tokens:
            weights = project.bm25.idf(tokens) / library.bm25.idf(tokens)
            out[name] = library.bm25.weighted_scores(tokens, weights)
    return out


def _recalled(library: LibrarySearch, raw: Mapping[str, np.ndarray], prefix: str,
              titles: Titles | None) -> list[int]:
    """The library rows worth scoring: the best RECALL of each BM25 recall view and the titles nearest the query
    in meaning (with ``prefix``: the best by BM25 of those it matches, better tiers first)."""
    n = len(library)
    rows: dict[int, None] = {}
    if prefix.strip():
        tiers = library.typed.tiers(prefix)
        matched = np.flatnonzero(tiers < TIERS)
        for name in RECALL_VIEWS:
            scores = raw.get(name, np.zeros(n, np.float32))[matched]
            order = np.lexsort((-scores, tiers[matched]))[:RECALL]
            rows.update(dict.fromkeys(matched[order].tolist()))
        return list(rows)
    for name in RECALL_VIEWS:
        if name not in raw:
            continue
        view = raw[name]
        top = min(RECALL, n)
        best = np.argpartition(-view, top - 1)[:top] if top else np.zeros(0, np.int64)
        rows.update(dict.fromkeys(best[view[best] > 0].tolist()))
    if titles is not None and titles.projection is not None:
        rows.update(dict.fromkeys(titles.projection.nearest(titles.query)))
    return list(rows)


def _year_scale(project: Corpus) -> tuple[float, float]:
    """Mean and standard deviation of the project's years (as ``entry_signals`` z-scores them)."""
    years = np.array([float(e.year[:4]) for e in project.entries if e.year[:4].isdigit()], dtype=np.float64)
    if not len(years):
        return 0.0, 0.0
    return float(years.mean()), float(years.std())


def _signals(entries: list[Entry], rows: list[int], raw: Mapping[str, np.ndarray], stats: Mapping[str, tuple],
             project: Corpus, sentence: str, library: LibrarySearch) -> dict[str, np.ndarray]:
    m = len(entries)
    picked = np.asarray(rows, dtype=np.int64)
    signals: dict[str, np.ndarray] = {}
    for name in BM25_VIEWS:
        mean, sd = stats.get(name, (0.0, 1.0))
        signals[name] = ((raw[name][picked] - mean) / sd).astype(np.float32) if name in raw else np.zeros(m, np.float32)
    signals["uncited"] = np.ones(m, np.float32)
    mean, sd = project.memo("year_scale", lambda: _year_scale(project))
    years = np.array([float(e.year[:4]) if e.year[:4].isdigit() else mean for e in entries], dtype=np.float32)
    signals["year"] = ((years - mean) / sd if sd > 0 else np.zeros(m)).astype(np.float32)
    signals["has_abstract"] = np.array([1.0 if e.abstract else 0.0 for e in entries], dtype=np.float32)
    types = [e.entry_type.lower() for e in entries]
    for name, kinds in TYPE_KINDS.items():
        signals[name] = np.array([t in kinds for t in types], dtype=np.float32)
    names, years_index = name_index(_per_row(library, rows, name_parts))
    signals.update(mentions(names, years_index, m, sentence))
    return signals


def _one_listing(works: Sequence[tuple[tuple[str, str], ...]], scores: np.ndarray, tiers: Sequence[int],
                 rows: Sequence[int]) -> list[int]:
    """Of the candidates (``works``: each one's ``work_ids``), those to offer: of a work the library lists more than
    once (two overlapping files, theses' bibliographies merged), the listing that ranks best (its typed-text tier
    first, then its score: the fullest entry, usually; then the one listed first)."""
    seen: set[tuple[str, str]] = set()
    keep = []
    for i in sorted(range(len(works)), key=lambda i: (tiers[i], -scores[i], rows[i])):
        if seen.isdisjoint(works[i]):
            keep.append(i)
        seen.update(works[i])
    return sorted(keep)


def library_candidates(library: LibrarySearch, project: Corpus, views: Mapping[str, str], prefix: str,
                       exclude: Sequence[str], model: FusionModel, stage: str,
                       stats: Mapping[str, tuple[float, float]],
                       titles: Titles | None = None, correction: Correction | None = None
                       ) -> tuple[list[Candidate], np.ndarray, float]:
    """The library's candidates for a request (rows numbered after the project's ``len(project)`` entries), the
    model's inputs for them (features x candidates) and the offset their scores lost: see the module docstring.
    ``titles``: for the dense signals and the affinity; ``correction``: the project's adaptation, whose temperature
    puts the library's scores (and so their offset) on the project's scale (``Correction.rescale``)."""
    raw = _bm25(library, project, views)
    ids: Identities = project.memo("identities", lambda: project_identities(project))
    excluded = set(exclude)
    entries: list[Entry] = []
    refs: list[LibraryRef] = []
    rows: list[int] = []
    tiers = library.typed.tiers(prefix) if prefix.strip() else None
    works: list[tuple[tuple[str, str], ...]] = []
    recalled = _recalled(library, raw, prefix, titles)
    for row, found in zip(recalled, _per_row(library, recalled, work_ids), strict=True):
        e = library.entries[row]
        if e.alias_of or library.helpers[row] or ids.same_work(e, found):
            continue
        key = ids.free_key(e.key)
        if key in excluded:
            continue
        entries.append(e if key == e.key else Entry(key, e.entry_type, e.fields, e.path, e.line))
        refs.append(LibraryRef(e.path, e.key))
        rows.append(row)
        works.append(found)
    vectors = titles.library(rows) if titles is not None and entries else None
    offset = library_offset(stage, vectors is not None if entries else titles is not None)
    if not entries:
        return [], np.zeros((len(model.features), 0), np.float32), offset
    signals = _signals(entries, rows, raw, stats, project, views.get("sent", ""), library)
    near = None
    guessed = vectors is None and stage == "hybrid"  # no title vectors to be had yet: ``meaning_from_words``
    if guessed:
        signals["dense"], signals["dense_sent"] = (DENSE_FROM_WORDS * signals[v] for v in ("bm25_near", "bm25_sent"))
    elif titles is not None and vectors is not None:
        similarity = np.einsum("ed,qd->qe", vectors, titles.query)
        for name, sims in zip(("dense", "dense_sent"), similarity, strict=True):
            mean, sd = stats.get(name, (0.0, 1.0))
            signals[name] = ((sims - mean) / sd).astype(np.float32)
        near = _affinities(project, library, rows, vectors, titles.project)
    inputs = model.inputs(signals)
    # What the library's own parts add (each a reason too, ``retrieval.explain``): its affinity, a shared author.
    lifts: list[tuple[Lift, ...]] = [(Lift("shared_author", AUTHOR_WEIGHT, a),) if a else ()
                                     for a in _shared_authors(project, library, rows)]
    if near is not None:
        lifts = [(Lift("affinity", float(v)), *more)
                 for v, more in zip(AFFINITY_WEIGHT * (near - AFFINITY_CENTRE), lifts, strict=True)]
    scores = model.score_inputs(inputs) - offset + np.array([sum(part.value for part in more) for more in lifts])
    if correction is not None:
        scores = correction.rescale(scores)
        offset *= 1 + correction.temperature
    tier = [int(tiers[row]) if tiers is not None else 0 for row in rows]
    keep = _one_listing(works, scores, tier, rows)
    if len(keep) < len(rows):
        entries, refs = [entries[i] for i in keep], [refs[i] for i in keep]
        tier, lifts = [tier[i] for i in keep], [lifts[i] for i in keep]
        inputs, scores = inputs[:, keep], scores[keep]
    n = len(project)
    out = [Candidate(e, n + i, float(scores[i]), stage, tier[i], False, ref, lifts[i], guessed)
           for i, (e, ref) in enumerate(zip(entries, refs, strict=True))]
    return out, inputs, offset


def _rows_of(vectors: np.ndarray, rows: list[int]) -> np.ndarray:
    return vectors[np.asarray(rows, dtype=np.int64)]


def merge(project: list[Candidate], library: list[Candidate], top_k: int, prefix: str) -> list[Candidate]:
    """One shortlist of both: by typed-text tier (with text typed), helpers after works, then by score; the best
    ``top_k`` when nothing is typed (every match otherwise, as ``retrieval.select.shortlist``)."""
    if not library:
        return project
    typed = bool(prefix.strip())
    merged = sorted(project + library, key=lambda c: (c.tier if typed else 0, c.helper, -c.fused_score))
    return merged if typed else merged[:top_k]


def with_library(index: LibraryIndex, project: Corpus, views: Mapping[str, str], cite: CiteContext,
                 model: FusionModel, stage: str, stats: Mapping[str, tuple[float, float]], candidates: list[Candidate],
                 inputs: np.ndarray | None, top_k: int, dense: DenseQuery | None, encoder: str = "",
                 correction: Correction | None = None) -> tuple[list[Candidate], np.ndarray | None, float]:
    """The project's shortlist with the library's candidates merged in, the model's inputs with theirs after the
    project's (their ``row``s), and the offset the library's scores lost (``library_offset``); as given (and 0) when
    there is no library (or it is not indexed yet). ``dense``: the request's query embedding (hybrid recall) by
    ``encoder``, compared with the library's titles once that encoder has embedded them, as the project's are."""
    library = index.current()
    if library is None or not len(library) or (cite.prefix.strip() and not index.typed_ready(library)):
        return candidates, inputs, 0.0
    titles = None
    if dense is not None and len(dense.index.vectors):
        query = dense.vectors.result()
        embedded = index.vectors(library, encoder)
        if embedded is not None:
            titles = Titles(partial(_rows_of, embedded.vectors), query, dense.index.vectors,
                            index.projection(embedded, encoder))
        else:  # the titles are being embedded: a request's candidates are embedded now (``LibraryIndex.vectors_now``)
            titles = Titles(partial(index.vectors_now, library, encoder), query, dense.index.vectors, None)
    extra, more, offset = library_candidates(library, project, views, cite.prefix, cite.existing_keys, model, stage,
                                             stats, titles, correction)
    merged = merge(candidates, extra, top_k, cite.prefix)
    return merged, more if inputs is None else np.concatenate([inputs, more], axis=1), offset
