"""Private tuning harness for the hybrid (BM25 + MiniLM) recall: extracts citation contexts from eval projects
and scores ranker variants directly. Usage: python bench/tune_hybrid.py /work/shared/eval/dev [--only name].

Per citation command whose keys all resolve, the keys are removed (``\\cite{}``), the cursor put inside and the
request built as the server would; relevant = the removed keys. R@k is the share of relevant keys in the top k,
MRR the reciprocal rank of the first. Score matrices are cached under /tmp/texcite-tune (delete to recompute).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import sys
import time
from collections import Counter

import numpy as np

from texcite.bibstore import BibStore
from texcite.citecontext import CiteMatcher, in_comment
from texcite.dense import DenseStage, build_index
from texcite.discovery import discover
from texcite.paragraph import MARKER
from texcite.pipeline import build_request
from texcite.references import key_uses

CACHE = "/tmp/texcite-tune"


def citations(project_dir: str, matcher: CiteMatcher):
    """(file text, citations) of a project: each citation = (request, relevant keys, other key uses in the document)."""
    meta = json.load(open(os.path.join(project_dir, "SOURCE.json")))
    main = os.path.join(project_dir, meta["main"])
    project = discover(main, workspace=project_dir)
    corpus = BibStore().corpus(project.bib_files)
    out = []
    texts = {}
    for f in project.tex_files:
        try:
            texts[f] = open(f, encoding="utf-8", errors="replace").read()
        except OSError:
            continue
    doc_uses = Counter()
    file_uses = {}
    for f, text in texts.items():
        file_uses[f] = Counter(u.key for u in key_uses(text, matcher))
        doc_uses.update(file_uses[f])
    for f, text in texts.items():
        for cmd in matcher.iter_commands(text):
            if in_comment(text, cmd.start):
                continue
            groups = [g for g in cmd.groups if g.closed]
            keys = cmd.keys(text)
            if not groups or not keys or any(k not in corpus.by_key for k in keys):
                continue
            g = groups[-1]
            # remove every key of the command: the protocol predicts the whole command
            new = text
            for gg in reversed(groups):
                new = new[: gg.start] + new[gg.end :]
            offset = groups[0].start
            req = build_request(new, offset, matcher)
            if req is None:
                continue
            mine = Counter(keys)
            others_doc = doc_uses - mine
            others_file = file_uses[f] - mine
            out.append({"req": req, "keys": keys, "doc": set(+others_doc), "file": set(+others_file)})
    return corpus, out


def neighbours(marked: str) -> str:
    """The citing sentence with one sentence before and after."""
    from texcite.paragraph import _SENTENCE_END_RE

    pos = marked.find(MARKER)
    bounds = [0] + [m.end() for m in _SENTENCE_END_RE.finditer(marked)] + [len(marked)]
    idx = max(i for i, b in enumerate(bounds[:-1]) if b <= max(pos, 0))
    lo = bounds[max(0, idx - 1)]
    hi = bounds[min(len(bounds) - 1, idx + 2)]
    return marked[lo:hi].replace(MARKER, " ").strip()


def query_views(req) -> dict[str, str]:
    q = req.query
    sent = q.sentence.replace(MARKER, " ").strip() or q.paragraph
    return {
        "para": q.paragraph,
        "text": q.text,
        "sent": sent,
        "nbr": neighbours(q.marked),
        "sect": q.section_title,
        "sent+sect": f"{q.section_title}. {sent}" if q.section_title else sent,
    }


def project_matrices(project_dir: str, stage: DenseStage):
    name = os.path.basename(project_dir.rstrip("/"))
    path = os.path.join(CACHE, name + ".pkl")
    if os.path.exists(path):
        return pickle.load(open(path, "rb"))
    matcher = CiteMatcher()
    corpus, cits = citations(project_dir, matcher)
    t0 = time.time()
    index = build_index(corpus.entries, stage.embedder, stage._cache)
    print(f"  {name}: {len(corpus)} entries, {len(cits)} citations, embedded in {time.time() - t0:.0f}s", file=sys.stderr)
    views = [query_views(c["req"]) for c in cits]
    bm25 = {v: np.stack([corpus.bm25.scores(q[v]) for q in views]) if views else None for v in ["para", "text", "sent", "nbr", "sent+sect"]}
    dense = {}
    t0 = time.time()
    for v in ["para", "sent", "nbr", "sent+sect", "sect"]:
        qv = stage.embedder.embed([q[v] for q in views], batch_size=32)
        for dv, m in index.views.items():
            dense[(v, dv)] = qv @ m.T
    print(f"  queries embedded in {time.time() - t0:.0f}s", file=sys.stderr)
    keys = [e.key for e in corpus.entries]
    pos = {k: i for i, k in enumerate(keys)}
    rel = [[pos[k] for k in c["keys"]] for c in cits]
    doc_prior = np.zeros((len(cits), len(keys)), np.float32)
    file_prior = np.zeros((len(cits), len(keys)), np.float32)
    for i, c in enumerate(cits):
        doc_prior[i, [pos[k] for k in c["doc"] if k in pos]] = 1
        file_prior[i, [pos[k] for k in c["file"] if k in pos]] = 1
    data = {"name": name, "bm25": bm25, "dense": dense, "rel": rel, "doc_prior": doc_prior, "file_prior": file_prior,
            "sect_empty": np.array([not q["sect"] for q in views])}
    os.makedirs(CACHE, exist_ok=True)
    pickle.dump(data, open(path, "wb"))
    return data


def metrics(scores: np.ndarray, rel: list[list[int]]) -> tuple[float, float, float]:
    """Mean R@1, R@10 and MRR of a (citations x entries) score matrix, by the first relevant entry's rank
    (as `texcite eval` counts); ties broken by bib order."""
    r1 = r10 = mrr = 0.0
    for i, r in enumerate(rel):
        s = scores[i]
        best = min(int((s > s[j]).sum() + (s[:j] == s[j]).sum()) + 1 for j in r)
        r1 += best <= 1
        r10 += best <= 10
        mrr += 1.0 / best
    n = max(1, len(rel))
    return r1 / n, r10 / n, mrr / n


def evaluate(datas, ranker) -> tuple[float, float, float, int]:
    """Micro-average over all citations of all projects."""
    tot = np.zeros(3)
    n = 0
    for d in datas:
        if not d["rel"]:
            continue
        m = metrics(ranker(d), d["rel"])
        tot += np.array(m) * len(d["rel"])
        n += len(d["rel"])
    return (*(tot / n), n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--only")
    args = ap.parse_args()
    stage = DenseStage(threads=2)
    from texcite.dense import EmbeddingCache

    stage.embedder.load()
    stage._cache = EmbeddingCache(os.path.join(CACHE, "emb"), stage.embedder.model_id)
    datas = []
    for name in sorted(os.listdir(args.root)):
        p = os.path.join(args.root, name)
        if os.path.isdir(p) and (not args.only or args.only in name):
            datas.append(project_matrices(p, stage))
    experiments(datas)


def z(m: np.ndarray) -> np.ndarray:
    """Per-row z-score (scores of one query made comparable across rankers)."""
    mu = m.mean(1, keepdims=True)
    sd = m.std(1, keepdims=True)
    return (m - mu) / np.where(sd > 0, sd, 1)


def rrf(m: np.ndarray, k: float = 60) -> np.ndarray:
    order = np.argsort(-m, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(m.shape[0])[:, None]
    ranks[rows, order] = np.arange(m.shape[1])[None, :]
    return 1.0 / (k + ranks + 1)


def experiments(datas) -> None:
    rows = []

    def run(label, ranker):
        r1, r10, mrr, n = evaluate(datas, ranker)
        rows.append((label, r1, r10, mrr))
        print(f"| {label} | {r1:.3f} | {r10:.3f} | {mrr:.3f} |", flush=True)

    print(f"citations: {sum(len(d['rel']) for d in datas)}")
    print("| ranking | R@1 | R@10 | MRR |\n| --- | --- | --- | --- |")
    for v in ["para", "text", "sent", "nbr", "sent+sect"]:
        run(f"BM25 {v}", lambda d, v=v: d["bm25"][v])
    for (qv, dv) in datas[0]["dense"]:
        run(f"MiniLM {qv} x {dv}", lambda d, k=(qv, dv): d["dense"][k])
    run("MiniLM sent x max(doc,title)", lambda d: np.maximum(d["dense"][("sent", "doc")], d["dense"][("sent", "title")]))
    run("RRF BM25+MiniLM para,sent (README baseline)", lambda d: rrf(d["bm25"]["para"]) + rrf(d["bm25"]["sent"])
        + rrf(d["dense"][("para", "doc")]) + rrf(d["dense"][("sent", "doc")]))
    for name, fn in hybrid_variants().items():
        run(name, fn)


def hybrid_variants():
    V = {}
    D = lambda d, q, dv: d["dense"][(q, dv)]
    mx = lambda d, q: np.maximum(D(d, q, "doc"), D(d, q, "title"))
    V["z: bm25 sent+nbr+para, dense sent+nbr+para(doc)"] = lambda d: (
        z(d["bm25"]["sent"]) + z(d["bm25"]["nbr"]) + z(d["bm25"]["para"]) + z(D(d, "sent", "doc")) + z(D(d, "nbr", "doc")) + z(D(d, "para", "doc")))
    V["z: bm25 sent+nbr+para, dense max(doc,title)"] = lambda d: (
        z(d["bm25"]["sent"]) + z(d["bm25"]["nbr"]) + z(d["bm25"]["para"]) + z(mx(d, "sent")) + z(mx(d, "nbr")) + z(mx(d, "para")))
    base = V["z: bm25 sent+nbr+para, dense max(doc,title)"]
    for w in [0.5, 1, 2, 3]:
        V[f"  + doc prior w={w}"] = lambda d, w=w: base(d) + w * d["doc_prior"]
        V[f"  + file prior w={w}"] = lambda d, w=w: base(d) + w * d["file_prior"]
    return V


if __name__ == "__main__":
    main()
