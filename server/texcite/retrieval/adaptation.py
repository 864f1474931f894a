"""Adapting the fusion to the open project: the project's own citations are labelled examples of how this writer
cites (how densely they re-cite, which text views name their works, how their bib is ordered), so a small linear
correction of the shipped model (``retrieval.fusion``) is fit on them, regularised towards no correction.

A citation of the project becomes a ``Lesson``: the signals of its command with its keys removed, the shipped
model's scores and which rows are the cited keys. The correction never learns from the citation being written:
citations fall into FOLDS folds by file and line (``fold_of``), and a request uses the correction fit without its
own fold. Everything here is a pure function of the lessons (sums in a fixed order, no threaded BLAS), so the same
project gives the same correction every time.

Measured on the dev theses (``bench/adaptation.py``, the shipped model fit without the project, each probe ranked
with the correction fit without its fold): see ``bench/results/adaptation.md``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize

from texcite.retrieval.fusion import term

# The signals the correction weighs: text views, dense, the document's evidence and the entry's own; not the entry
# types (rare per project: a weight for them would be noise). The two topic signals (``signals.topic_signals``) are
# the correction's alone: the shipped model was fit before them (held out on dev, they lift R@1 0.443 -> 0.449, MRR
# 0.564 -> 0.569: bench/results/adaptation-shipped-form.md).
ADAPTED = ("bm25_sent", "bm25_para", "bm25_near", "bm25_before", "bm25_sect", "bm25_nbr", "dense", "dense_sent",
           "uses", "uncited", "file_uses", "section_uses", "nearness", "cocited", "context", "bib_next",
           "bib_anchor", "author_named", "year_named", "has_abstract", "year", "near_topic", "previous_topic")
# The shipped model's own score is the correction's last input: its weight is the project's temperature. A model
# is too sure of itself on a project it has not seen (about -0.3 on seven of the nine dev theses held out): scaled
# down, the signals the project weighs otherwise count more (held out: bench/results/adaptation-shipped-form.md).
SHIPPED = "shipped"
INPUTS = ADAPTED + (SHIPPED,)
FOLDS = 5
L2 = 0.01  # chosen on dev: 0.003 to 0.03 score alike, 0.1 loses most of the gain
MIN_LESSONS = 30  # fewer citations teach too little to move a weight: no correction
# Keys added to a command that keeps others: fewer teach the co-citation weights too little (a thesis with 40 lost
# 0.036 add-one MRR against the correction of empty commands, which serves them then; bench/results/add-one.md).
MIN_ADDING_LESSONS = 50
TRAIN_TOP = 150  # per lesson: the shipped model's best rows (and the cited), where the ranking is decided


def fold_of(path: str, line: int) -> int:
    """The fold of a citation at ``line`` of ``path`` (path relative to the project root)."""
    return (zlib.crc32(path.encode("utf-8")) + line) % FOLDS


@dataclass(frozen=True)
class Lesson:
    """One citation of the project: the correction's inputs (rows x INPUTS) and the model's scores of the rows
    trained on, which of them are cited, and the citation's fold."""

    inputs: np.ndarray
    base: np.ndarray
    cited: np.ndarray
    fold: int
    adding: bool = False  # a key added to a command that keeps others (their co-citations are its evidence)


def inputs_of(signals: Mapping[str, np.ndarray], shipped: np.ndarray) -> np.ndarray:
    """The correction's inputs, one row per entry (entries x INPUTS): the signals and the shipped model's score."""
    n = len(shipped)
    return np.stack([*(term(signals, f, n) for f in ADAPTED), shipped], axis=1).astype(np.float64)


def lesson(signals: Mapping[str, np.ndarray], base: np.ndarray, cited: Sequence[int], excluded: Sequence[int],
           fold: int) -> Lesson | None:
    """The lesson of one citation: ``base`` the shipped model's scores of every entry, ``cited`` their rows,
    ``excluded`` rows the command keeps (keys it still holds) that take no part: with any, a lesson of adding a key
    to a command (``Lesson.adding``). None if nothing is cited."""
    n = len(base)
    keep = np.ones(n, dtype=bool)
    keep[list(excluded)] = False
    order = np.argsort(-np.where(keep, base, -np.inf), kind="stable")
    rows = np.unique(np.concatenate([order[:TRAIN_TOP], np.asarray(cited, dtype=np.int64)]))
    rows = rows[keep[rows]]
    hit = np.isin(rows, np.asarray(cited, dtype=np.int64))
    if not hit.any():
        return None
    return Lesson(inputs_of(signals, base)[rows], np.asarray(base, dtype=np.float64)[rows], hit, fold,
                  bool(len(excluded)))


@dataclass(frozen=True)
class Adaptation:
    """The correction fit without each fold (FOLDS x INPUTS) for an empty command and, from the lessons of adding
    a key, regularised towards the first (``adding``; none under MIN_ADDING_LESSONS of them: the first serves), for a
    command that keeps keys; and how many citations (lessons of an empty command) taught the first."""

    weights: np.ndarray
    lessons: int
    adding: np.ndarray | None = None

    def correct(self, signals: Mapping[str, np.ndarray], shipped: np.ndarray, fold: int,
                adding: bool = False) -> Correction:
        """The correction of one request in ``fold`` (``adding`` a key to a command that keeps others or not),
        ``shipped`` the shipped model's scores of the project's entries."""
        weights = self.adding[fold] if adding and self.adding is not None else self.weights[fold]
        inputs = inputs_of(signals, np.asarray(shipped, dtype=np.float64))
        return Correction(weights, inputs, float(inputs[:, -1].mean()) if len(inputs) else 0.0)


@dataclass(frozen=True)
class Correction:
    """The adaptation applied to one request: its weights and the project's inputs to them (entries x INPUTS),
    and the mean shipped score of the project's entries, around which the temperature scales every score."""

    weights: np.ndarray
    inputs: np.ndarray
    centre: float

    @property
    def temperature(self) -> float:
        """The weight of the shipped model's score: every score is scaled by 1 + this (around ``centre``)."""
        return float(self.weights[-1])

    def delta(self) -> np.ndarray:
        """What the correction adds to each project entry's score, centred: the project's mean score stays."""
        delta = np.einsum("ef,f->e", self.inputs, self.weights)
        return (delta - delta.mean()).astype(np.float32) if len(delta) else delta.astype(np.float32)

    def rescale(self, shipped: np.ndarray) -> np.ndarray:
        """A score on the shipped model's scale (a library entry's, which has no project signals) on the corrected
        one: the temperature applies to it as to the project's entries."""
        return (shipped + self.temperature * (shipped - self.centre)).astype(np.float32)

    def lifts(self, rows: Sequence[int], shipped: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
        """Per row, what the correction adds to its score per signal against the average entry, as
        ``FusionModel.contributions`` (``shipped``, of the same rows) measures the shipped model's: the signals' own
        weights and the temperature's share of the shipped model's contributions (the reasons weigh both); a row
        past the project's entries (the library's) has the temperature's share alone."""
        n = len(self.inputs)
        lifted = (self.inputs[:, :-1] - self.inputs[:, :-1].mean(axis=0)) * self.weights[:-1] if n else self.inputs
        out = []
        for r, contributions in zip(rows, shipped, strict=True):
            one = {name: self.temperature * value for name, value in contributions.items()}
            if r < n:
                for name, value in zip(ADAPTED, lifted[r].tolist(), strict=True):
                    one[name] = one.get(name, 0.0) + value
            out.append(one)
        return out


def adapt(lessons: Sequence[Lesson], l2: float = L2) -> Adaptation | None:
    """The corrections of each fold from the lessons of the others, one from the lessons of an empty command and one
    from those of adding a key (see ``Adaptation``); None under MIN_LESSONS lessons of an empty command."""
    emptied = [x for x in lessons if not x.adding]
    adding = [x for x in lessons if x.adding]
    if len(emptied) < MIN_LESSONS:
        return None
    weights = _folds(emptied, l2, np.zeros((FOLDS, len(INPUTS))))
    return Adaptation(weights, len(emptied), _folds(adding, l2, weights) if len(adding) >= MIN_ADDING_LESSONS else None)


def _folds(lessons: Sequence[Lesson], l2: float, prior: np.ndarray) -> np.ndarray:
    """The correction fit without each fold (FOLDS x INPUTS), regularised towards that fold's ``prior``."""
    return np.stack([_fit([x for x in lessons if x.fold != k], l2, prior[k]) for k in range(FOLDS)])


def _fit(lessons: Sequence[Lesson], l2: float, prior: np.ndarray) -> np.ndarray:
    """The weights minimising the mean softmax cross-entropy of the cited rows, scores being the model's plus the
    correction, plus ``l2`` times the squared distance of the weights from ``prior``."""
    if not lessons:
        return prior
    X = np.concatenate([x.inputs for x in lessons])
    base = np.concatenate([x.base for x in lessons])
    cited = np.concatenate([x.cited for x in lessons])
    sizes = [len(x.base) for x in lessons]
    seg = np.repeat(np.arange(len(lessons)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = len(lessons)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = base + np.einsum("ef,f->e", X, w)
        e = np.exp(s - np.maximum.reduceat(s, starts)[seg])
        z = np.add.reduceat(e, starts)
        ep = np.where(cited, e, 0.0)
        zp = np.add.reduceat(ep, starts)
        ds = (e / z[seg] - ep / zp[seg]) / n
        value = float(np.sum(np.log(z) - np.log(zp)) / n + l2 * ((w - prior) @ (w - prior)))
        return value, np.einsum("ef,e->f", X, ds) + 2 * l2 * (w - prior)

    return minimize(loss, prior, jac=True, method="L-BFGS-B", options={"maxiter": 200}).x
