"""Learned fusion: one score per entry from its signals (``retrieval.signals``) by a small listwise ranker fit on
the dev theses (``bench/fit_fusion.py``, shipped in ``data/fusion.json``): a linear part plus one hidden layer of
a few tanh units, so signals can interact (a text match counts differently for a work not cited yet). The
shipped hidden layer is two fits from different random starts side by side, their outputs halved: their average.

Two models: ``hybrid`` (with MiniLM) and ``bm25`` (while the embeddings are being built, or with
``recall.mode: bm25``), each with a linear twin for bibs under SMALL_BIB entries: the hidden units were fit on
bibs of 88 to 1,174 entries, and over a handful of entries z-scores are compressed (at most √(n − 1)) into a
range where those units never learned anything.

A score is a log-odds: exp(score - best score) is how likely an entry is the cited one relative to the best;
people are shown it as a relevance from 0 to 100 (``relevance``). What each signal adds to an entry's score over
an average entry of the bib says why it ranked where it did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

DATA = "fusion.json"


def term(signals: Mapping[str, np.ndarray], name: str, n: int) -> np.ndarray:
    """A model's input: a signal, or the product of two (``uncited*bm25_near``); a missing signal is 0 (no
    evidence, or an average z-score)."""
    a, _, b = name.partition("*")
    x = signals.get(a)
    if b:
        y = signals.get(b)
        x = None if x is None or y is None else x * y
    return np.zeros(n, np.float32) if x is None else np.asarray(x, dtype=np.float32)


@dataclass(frozen=True)
class FusionModel:
    """score = inputs · linear + tanh(inputs · hidden + bias) · out, inputs being the named signals (or products)."""

    name: str
    features: tuple[str, ...]
    linear: np.ndarray
    hidden: np.ndarray  # (features, units); zero units: a linear model
    bias: np.ndarray
    out: np.ndarray

    def inputs(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's inputs, one row per feature (features x entries)."""
        n = len(next(iter(signals.values()), ()))
        return np.stack([term(signals, f, n) for f in self.features])

    def score_inputs(self, X: np.ndarray) -> np.ndarray:
        """Scores of the entries (columns) of ``inputs``."""
        # einsum, not @: BLAS's threaded GEMM spins on a busy 2-core machine (0.03 to several ms; this: ~0.2 ms
        # for 10k entries), as in DenseIndex.scores
        s = np.einsum("fe,f->e", X, self.linear)
        if len(self.out):
            hidden = np.tanh(np.einsum("fe,fh->he", X, self.hidden) + self.bias[:, None])
            s = s + np.einsum("he,h->e", hidden, self.out)
        return s.astype(np.float32)

    def score(self, signals: Mapping[str, np.ndarray]) -> np.ndarray:
        if not self.features or not len(next(iter(signals.values()), ())):
            return np.zeros(len(next(iter(signals.values()), ())), np.float32)
        return self.score_inputs(self.inputs(signals))

    def contributions(self, X: np.ndarray, rows: Sequence[int]) -> list[dict[str, float]]:
        """Per entry row: per signal, how much lower its score would be with that signal at the corpus's average
        (a product counts for its first signal). ``X`` is the model's ``inputs``; one batch for all rows."""
        if not len(rows) or not self.features:
            return [{} for _ in rows]
        x = X[:, np.asarray(rows)].T  # (rows, features)
        f = len(self.features)
        ablated = np.repeat(x[:, None, :], f, axis=1)  # (rows, features, features): row r with feature i averaged
        ablated[:, np.arange(f), np.arange(f)] = X.mean(axis=1)
        flat = np.ascontiguousarray(ablated.reshape(-1, f).T)
        lift = (self.score_inputs(np.ascontiguousarray(x.T))[:, None]
                - self.score_inputs(flat).reshape(len(rows), f))
        names = [name.partition("*")[0] for name in self.features]
        out = []
        for values in lift.tolist():
            one: dict[str, float] = {}
            for name, value in zip(names, values, strict=True):
                one[name] = one.get(name, 0.0) + value
            out.append(one)
        return out

    def as_json(self) -> dict:
        return {"features": list(self.features), "linear": self.linear.tolist(),
                "hidden": self.hidden.tolist(), "bias": self.bias.tolist(), "out": self.out.tolist()}

    def as_json_bytes(self) -> bytes:
        """The model's weights as bytes: equal for equal models (a cache key)."""
        return json.dumps(self.as_json()).encode()

    @classmethod
    def from_json(cls, name: str, raw: Mapping) -> "FusionModel":
        features = tuple(raw["features"])
        hidden = np.asarray(raw.get("hidden") or np.zeros((len(features), 0)), dtype=np.float32)
        return cls(name, features, np.asarray(raw["linear"], dtype=np.float32),
                   hidden.reshape(len(features), -1), np.asarray(raw.get("bias", []), dtype=np.float32),
                   np.asarray(raw.get("out", []), dtype=np.float32))


SMALL_BIB = 50


@lru_cache(maxsize=1)
def load_models() -> dict[str, FusionModel]:
    """The shipped models by name (``hybrid``, ``bm25`` and their ``-linear`` twins)."""
    raw = json.loads(resources.files("texcite.retrieval").joinpath("data", DATA).read_text(encoding="utf-8"))
    return {name: FusionModel.from_json(name, m) for name, m in raw["models"].items()}


def model_for(models: Mapping[str, FusionModel], stage: str, entries: int) -> FusionModel:
    """The model that ranks a bib of ``entries`` entries at ``stage`` (hybrid or bm25)."""
    return models[stage if entries >= SMALL_BIB else f"{stage}-linear"]


POINTS_PER_DECADE = 20  # relevance points lost for each tenfold drop in likelihood


def relevance(scores: np.ndarray) -> np.ndarray:
    """0-100 per score: 100 for the best of the list, POINTS_PER_DECADE less for each time an entry is ten times
    less likely (by the model) to be the cited one; 0 from 10^5 times less likely on."""
    if not len(scores):
        return np.zeros(0, dtype=np.int64)
    decades = (np.asarray(scores, dtype=np.float64) - float(np.max(scores))) / np.log(10.0)
    return np.clip(np.rint(100.0 + POINTS_PER_DECADE * decades), 0, 100).astype(np.int64)
