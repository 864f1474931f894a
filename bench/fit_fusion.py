"""Fit the learned fusion (server/texcite/retrieval/data/fusion.json) on the dev theses, choosing by
leave-one-project-out cross-validation, and print the table of what was tried.

    .venv/bin/python bench/fit_fusion.py ../shared/eval/dev            # extract signals (cached), fit, report
    .venv/bin/python bench/fit_fusion.py ../shared/eval/dev --write    # ... and write the shipped weights
    .venv/bin/python bench/fit_fusion.py ../shared/eval/dev --train-only ~/texcite-train --write  # as shipped

``--train-only``: projects whose citations join every fit but are never held out nor reported (the public theses
of bench/train-projects.md; ``bench/fetch_train_projects.sh`` clones them): each dev project is still ranked by a
model that never saw it.

Signals come from the engine itself (``Engine.prepare``: the server's pipeline), for every citation of every
project in two modes: the finished document and a first draft (``texcite eval --writing``). The model is a
listwise ranker (``texcite.retrieval.fusion.FusionModel``): softmax over an example's entries, the cited keys as
the positives, L2-regularised, fit with L-BFGS; first linear with more and more signals, then with a small hidden
layer. Every number in the table ranks each project's whole bib with a model fit on the other projects only.
Fits and their results are cached beside the signals, so a rerun only computes what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

from texcite.evaluation.metrics import Metrics
from texcite.evaluation.projects import find_projects
from texcite.evaluation.run import evaluation_engine, every_entry_ranked, project_examples
from texcite import textnorm
from texcite.latex import plaintext, query
from texcite.retrieval import bm25, evidence, stopwords
from texcite.retrieval import signals as sig
from texcite.retrieval.fusion import FusionModel, term
from texcite.settings import Settings

OUT = os.path.join(os.path.dirname(__file__), "..", "server", "texcite", "retrieval", "data", "fusion.json")
RESULTS = os.path.join(os.path.dirname(__file__), "results", "fusion.md")
MODES = ("default", "writing")


def extract(paths: list[str], cache: str, dense_model: str = "") -> tuple[list[dict], str]:
    """Per example: project, mode, the signal matrix (entries x ALL) and the rows of the cited keys; and the
    file they are stored in (named by a digest of the projects and of the code the signals come from)."""
    projects = [p for path in paths for p in find_projects(os.path.abspath(path)).projects]
    code = b"".join(open(m.__file__, "rb").read() for m in (sig, bm25, stopwords, evidence, query, plaintext, textnorm))
    digest = hashlib.sha1(json.dumps([sig.ALL, projects, dense_model]).encode() + code).hexdigest()[:12]
    store = os.path.join(cache, f"signals-{digest}.npz")
    if os.path.exists(store):
        return load(store), store
    engine, read = evaluation_engine(every_entry_ranked(Settings()).replace(dense_model=dense_model))
    out = []
    try:
        for folder, root in projects:
            for mode in MODES:
                report, examples = project_examples(engine, read, folder, root, mode=mode)
                started = time.perf_counter()
                for ex in examples:
                    read.show(ex)
                    prepared = engine.prepare(ex.path, ex.text, ex.offset)
                    if prepared is None or prepared.stage != "hybrid":
                        continue
                    position = prepared.corpus.position
                    X = np.stack([prepared.signals[name] for name in sig.ALL], axis=1).astype(np.float32)
                    mask = np.ones(len(X), dtype=bool)
                    for key in prepared.request.cite.existing_keys:
                        if key in position:
                            mask[position[key]] = False
                    out.append({"project": report.name, "mode": mode, "X": X,
                                "pos": np.array([position[k] for k in ex.keys], dtype=np.int64), "mask": mask})
                read.show(None)
                print(f"{report.name} {mode}: {len(examples)} examples, {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    finally:
        engine.close()
    os.makedirs(cache, exist_ok=True)
    arrays = {}
    for i, e in enumerate(out):
        arrays[f"X{i}"], arrays[f"P{i}"], arrays[f"M{i}"] = e["X"], e["pos"], e["mask"]
    meta = [{"project": e["project"], "mode": e["mode"]} for e in out]
    np.savez(store, meta=json.dumps(meta), **arrays)
    return out, store


def load(store: str) -> list[dict]:
    """The examples of a signal store written by ``extract``."""
    data = np.load(store, allow_pickle=False)
    meta = json.loads(str(data["meta"]))
    return [{**m, "X": data[f"X{i}"], "pos": data[f"P{i}"], "mask": data[f"M{i}"]} for i, m in enumerate(meta)]


def with_extra(extra_store: str) -> str:
    """What names fits that also learned from a training-only signal store, in the name of their cache file."""
    return f"-with-{os.path.basename(extra_store).removesuffix('.npz')}" if extra_store else ""


def design(X: np.ndarray, features: list[str]) -> np.ndarray:
    """The model's inputs from the signal matrix: the named signals and products of two."""
    cols = {name: X[:, i] for i, name in enumerate(sig.ALL)}
    return np.stack([term(cols, f, len(X)) for f in features], axis=1).astype(np.float64)


def training_rows(e: dict, rng: np.random.Generator) -> np.ndarray:
    """The entries an example trains on: the hand ranking's top TRAIN_TOP, TRAIN_RANDOM others, the cited keys.
    Fitting on the top where the ranking is decided, not on a thousand easy negatives, ranks better."""
    s = np.where(e["mask"], e["X"][:, [sig.ALL.index(f) for f in HAND]] @ np.array(list(HAND.values())), -np.inf)
    rows = np.concatenate([np.argsort(-s)[:TRAIN_TOP], rng.choice(len(s), min(TRAIN_RANDOM, len(s)), replace=False),
                           e["pos"]])
    rows = np.unique(rows)
    return rows[e["mask"][rows]]


def fit(examples: list[dict], features: list[str], l2: float, units: int = 0, seeds: int = 1) -> FusionModel:
    """The model minimising the mean softmax cross-entropy of the cited keys over each example's training rows,
    plus l2 times the squared weights; with ``seeds`` > 1, the average of that many fits from different random
    starts (one model: their hidden units side by side)."""
    if seeds > 1:
        fits = [_fit(examples, features, l2, units, seed) for seed in range(seeds)]
        return FusionModel("fit", tuple(features), np.mean([m.linear for m in fits], axis=0),
                           np.concatenate([m.hidden for m in fits], axis=1), np.concatenate([m.bias for m in fits]),
                           np.concatenate([m.out for m in fits]) / seeds)
    return _fit(examples, features, l2, units, 0)


def _fit(examples: list[dict], features: list[str], l2: float, units: int, seed: int) -> FusionModel:
    rng = np.random.default_rng(0)
    blocks, positives = [], []
    for e in examples:
        rows = training_rows(e, rng)
        p = np.isin(rows, e["pos"])
        if p.any():
            blocks.append(design(e["X"][rows], features))
            positives.append(p)
    X = np.concatenate(blocks)
    pos = np.concatenate(positives)
    seg = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    n, F, H = len(blocks), len(features), units

    def unpack(theta):
        return theta[:F], theta[F:F + F * H].reshape(F, H), theta[F + F * H:F + F * H + H], theta[F + F * H + H:]

    def loss(theta):
        w, W, b, v = unpack(theta)
        A = np.tanh(X @ W + b)
        s = X @ w + A @ v
        e = np.exp(s - np.maximum.reduceat(s, starts)[seg])
        z = np.add.reduceat(e, starts)
        ep = np.where(pos, e, 0.0)
        zp = np.add.reduceat(ep, starts)
        ds = (e / z[seg] - ep / zp[seg]) / n
        dA = (ds[:, None] * v[None, :]) * (1 - A * A)
        value = np.sum(np.log(z) - np.log(zp)) / n + l2 * (theta @ theta - b @ b)
        grad = np.concatenate([X.T @ ds + 2 * l2 * w, (X.T @ dA + 2 * l2 * W).ravel(), dA.sum(0),
                               A.T @ ds + 2 * l2 * v])
        return value, grad

    start = np.random.default_rng(seed)  # the training rows stay the same (rng), the starting weights differ
    theta = np.concatenate([np.zeros(F), start.normal(0, 0.1, F * H), np.zeros(H), start.normal(0, 0.1, H)])
    theta = minimize(loss, theta, jac=True, method="L-BFGS-B", options={"maxiter": 400}).x
    w, W, b, v = unpack(theta)
    return FusionModel("fit", tuple(features), w.astype(np.float32), W.astype(np.float32), b.astype(np.float32),
                       v.astype(np.float32))


def ranks(examples: list[dict], model: FusionModel) -> list[float]:
    """The best rank of a cited key in each example, every entry of the bib ranked by the model."""
    out = []
    for e in examples:
        inputs = np.ascontiguousarray(design(e["X"], list(model.features)).T, dtype=np.float32)
        s = np.where(e["mask"], model.score_inputs(inputs), -np.inf)
        best = s[e["pos"]].max()
        # ties: the expected rank in a random order among the tied entries
        out.append(float((s > best).sum()) + 1.0 + ((s == best).sum() - 1) / 2.0)
    return out


def metrics(r: list[float]) -> dict:
    m = Metrics(list(r))
    return {"R@1": m.recall(1), "R@5": m.recall(5), "R@10": m.recall(10), "MRR": m.mrr, "n": len(r)}


def lopo(examples: list[dict], features: list[str], l2: float, units: int, cache: dict,
         seeds: int = 1, extra: list[dict] | None = None) -> tuple[dict, dict]:
    """Per mode, metrics of every project ranked by a model fit on the others (and on ``extra``, examples of
    training-only projects); and per (project, mode)."""
    key = json.dumps([features, l2, units] + ([seeds] if seeds > 1 else []))
    if key in cache:
        return cache[key]["modes"], {tuple(k.split("|")): v for k, v in cache[key]["per"].items()}
    names = sorted({e["project"] for e in examples})
    by_mode: dict[str, list[float]] = {m: [] for m in MODES}
    per_project = {}
    for held in names:
        model = fit([e for e in examples if e["project"] != held] + (extra or []), features, l2, units, seeds)
        for mode in MODES:
            r = ranks([e for e in examples if e["project"] == held and e["mode"] == mode], model)
            by_mode[mode] += r
            per_project[(held, mode)] = metrics(r)
    result = {m: metrics(r) for m, r in by_mode.items()}
    cache[key] = {"modes": result, "per": {"|".join(k): v for k, v in per_project.items()}}
    return result, per_project


HAND = {"bm25_sent": 1.0, "bm25_para": 0.5, "dense": 2.0, "file_uses": 2.0}

TEXT = ["bm25_sent", "bm25_para", "bm25_near", "bm25_sect", "bm25_nbr"]
DENSE = ["dense"]
# Signal sets tried with a linear model, each adding to the one before.
STEPS = [
    ("BM25 views", TEXT),
    ("+ dense model: titles vs the words near the marker", DENSE),
    ("+ dense model: titles vs the citing sentence", ["dense_sent"]),
    ("+ uses in the project, file, section", ["uses", "uncited", "file_uses", "section_uses"]),
    ("+ locality (nearness)", ["nearness"]),
    ("+ co-citation", ["cocited"]),
    ("+ citing context of other uses", ["context"]),
    ("+ bib neighbours", ["bib_next", "bib_anchor"]),
    ("+ author or year named in the sentence", ["author_named", "year_named"]),
    ("+ BM25 of the words just before the marker", ["bm25_before"]),
    ("+ entry features (abstract, year)", ["has_abstract", "year"]),
    ("+ entry type, crossref parent", ["type_book", "type_misc", "type_thesis", "type_report", "parent"]),
    ("+ text x not cited elsewhere", ["uncited*bm25_near", "uncited*bm25_sent", "uncited*dense",
                                      "uncited*dense_sent", "uncited*author_named"]),
]
L2 = 0.01
# (units, L2, starts) of the small hidden layer tried on all signals; several starts: their fits averaged
HIDDEN = [(8, 0.001, 1), (8, 0.001, 2)]
TRAIN_TOP, TRAIN_RANDOM = 150, 50  # per example: the hand ranking's top entries and random others (and the cited)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "texcite-bench"))
    ap.add_argument("--write", action="store_true", help="write the chosen models to the package")
    ap.add_argument("--dense-model", default="", help="texcite.dense.model of the signals (default: auto, the "
                    "encoder of each project's language)")
    ap.add_argument("--train-only", nargs="+", default=[], metavar="PATH", help="projects that join every fit, "
                    "never held out nor reported (bench/train-projects.md)")
    args = ap.parse_args()
    examples, store = extract(args.paths, args.cache, args.dense_model)
    extra, extra_store = extract(args.train_only, args.cache, args.dense_model) if args.train_only else ([], "")
    results_file = store.replace(".npz", f"{with_extra(extra_store)}-fits.json")
    cache = json.load(open(results_file)) if os.path.exists(results_file) else {}
    lines = ["| model | signals | L2 | R@1 | R@10 | MRR | writing R@1 | writing R@10 | writing MRR |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def row(kind, label, l2, res):
        d, w = res["default"], res["writing"]
        lines.append(f"| {kind} | {label} | {l2} | {d['R@1']:.3f} | {d['R@10']:.3f} | {d['MRR']:.3f} | "
                     f"{w['R@1']:.3f} | {w['R@10']:.3f} | {w['MRR']:.3f} |")
        print(lines[-1], file=sys.stderr, flush=True)
        with open(results_file, "w") as fh:
            json.dump(cache, fh)

    hand = FusionModel("hand", tuple(HAND), np.array(list(HAND.values()), np.float32), np.zeros((len(HAND), 0),
                       np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32))
    row("hand weights (before)", "z-sum, 2·log(1 + uses in the file)", "–",
        {m: metrics(ranks([e for e in examples if e["mode"] == m], hand)) for m in MODES})
    features: list[str] = []
    results = {}
    for label, added in STEPS:
        features = features + added
        res, per = lopo(examples, features, L2, 0, cache, extra=extra)
        results[("linear", label, L2, 0, 1)] = (res, per, features)
        row("linear", label, L2, res)
    for units, l2, seeds in HIDDEN:
        res, per = lopo(examples, features, l2, units, cache, seeds, extra)
        kind = f"{units} tanh units" if seeds == 1 else f"{seeds} × {units} tanh units (fits from {seeds} starts averaged)"
        results[(kind, "all of the above", l2, units, seeds)] = (res, per, features)
        row(f"{kind} + linear", "all of the above", l2, res)
    best = max(results, key=lambda k: results[k][0]["default"]["MRR"] + results[k][0]["writing"]["MRR"])
    res, per, features = results[best]
    kind, label, l2, units, seeds = best
    without_dense = [f for f in features if "dense" not in f]
    res_bm25, _ = lopo(examples, without_dense, l2, units, cache, seeds, extra)
    row(kind, "the same without the dense model (the bm25 model)", l2, res_bm25)
    per_lines = ["| project | mode | examples | R@1 | R@10 | MRR |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for (project, mode), m in sorted(per.items()):
        per_lines.append(f"| {project} | {mode} | {m['n']} | {m['R@1']:.3f} | {m['R@10']:.3f} | {m['MRR']:.3f} |")
    report = (f"# Learned fusion: leave-one-project-out on dev\n\n`bench/fit_fusion.py` ({len(examples)} examples: "
              f"every citation of the nine dev projects, as finished (default) and as a first draft (writing)). "
              f"Every figure ranks a project's whole bib with a model fit on the other eight projects"
              + (f" and the {len({e['project'] for e in extra})} training-only ones ({len(extra)} examples)"
                 if extra else "") + ".\n\n"
              + "\n".join(lines) + f"\n\nChosen: **{kind}, {label}**, L2 {l2}. Per project "
              "(leave-one-project-out):\n\n" + "\n".join(per_lines) + "\n")
    print(report)
    if args.write:
        models = {}
        for name, feats in (("hybrid", features), ("bm25", without_dense)):
            models[name] = fit(examples + extra, feats, l2, units, seeds).as_json()
            # small bibs: z-scores over a few entries are compressed, a linear model ranks them (fusion.SMALL_BIB)
            models[f"{name}-linear"] = fit(examples + extra, feats, L2).as_json()
        trained_on = "../shared/eval/dev" + (" and the theses of bench/train-projects.md" if extra else "")
        doc = {"about": f"Listwise ranker fit on {trained_on} by bench/fit_fusion.py, chosen by "
                        f"leave-one-project-out: {kind}, {label}, L2 {l2}", "models": models}
        with open(OUT, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        with open(RESULTS, "w", encoding="utf-8") as fh:
            fh.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
