"""Private tuning harness for the hybrid (BM25 + MiniLM) recall: extracts citation contexts from eval projects
and scores ranker variants directly. Usage: python bench/tune_hybrid.py /work/shared/eval/dev [--only name].

Per citation command whose keys all resolve, the keys are removed (``\\cite{}``), the cursor put inside and the
request built as the server would; relevant = the removed keys. R@k is the share of relevant keys in the top k,
MRR the reciprocal rank of the first. Score matrices are cached under /tmp/texcite-tune (delete to recompute).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time

import numpy as np

from texcite.latex.cite import CiteMatcher
from texcite.retrieval.dense import QUERY_MAX_TOKENS, DenseStage, build_index
from texcite.retrieval.torch_embedder import MAX_TOKENS
from texcite.files import read_disk
from texcite.latex.project import discover
from texcite.engine import Engine
from texcite.ranking import build_request
from texcite.retrieval import hybrid

CACHE = "/tmp/texcite-tune"


def citations(project_dir: str, matcher: CiteMatcher):
    """The corpus and citations of a project, found exactly as `texcite eval` finds them; each citation carries
    its request, the true keys and the keys cited elsewhere in its (emptied) file."""
    from texcite.evaluation import citation_examples, project_root

    env = dict(os.environ)
    env["BIBINPUTS"] = os.pathsep.join(x for x in (project_dir, env.get("BIBINPUTS", "")) if x)
    project = discover(project_root(project_dir), env=env)
    corpus = Engine().corpora.corpus(project.bib_files)
    out = []
    for f in project.tex_files:
        text = read_disk(f)
        if text is None:
            continue
        for ex in citation_examples(f, text, matcher, corpus.by_key)[0]:
            req = build_request(ex.text, ex.offset, matcher)
            if req is not None:
                out.append({"req": req, "keys": list(ex.keys), "file": dict(req.cited_elsewhere)})
    return corpus, out


def query_views(req) -> dict[str, str]:
    """The server's views (QueryContext.views) plus the ones only tried here."""
    q = req.query
    views = q.views()
    sent = views["sent"]
    return {**views, "text": q.text, "sent+sect": f"{q.section_title}. {sent}" if q.section_title else sent}


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
    for v in ["para", "sent", "near", "nbr", "sent+sect", "sect"]:
        cap = QUERY_MAX_TOKENS if v == "near" else MAX_TOKENS  # the server's view as the server embeds it
        qv = stage.embedder.embed([q[v] for q in views], batch_size=32, max_tokens=cap)
        for dv, m in index.views.items():
            dense[(v, dv)] = qv @ m.T
    print(f"  queries embedded in {time.time() - t0:.0f}s", file=sys.stderr)
    keys = [e.key for e in corpus.entries]
    pos = {k: i for i, k in enumerate(keys)}
    rel = [[pos[k] for k in c["keys"]] for c in cits]
    cited = np.zeros((len(cits), len(keys)), np.float32)  # uses of each key elsewhere in the citation's file
    for i, c in enumerate(cits):
        for k, n in c["file"].items():
            if k in pos:
                cited[i, pos[k]] = n
    data = {"name": name, "bm25": bm25, "dense": dense, "rel": rel, "cited": cited,
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
    from texcite.retrieval.dense import EmbeddingCache

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
    """What was tried (z = per-query z-score; dense = max over the entry's document and title embeddings)."""
    V = {}
    D = lambda d, q, dv: d["dense"][(q, dv)]
    mx = lambda d, q: np.maximum(D(d, q, "doc"), D(d, q, "title"))
    B = lambda d, v: d["bm25"][v]
    V["z: bm25 sent+nbr+para + dense sent+nbr+para (doc only)"] = lambda d: (
        z(B(d, "sent")) + z(B(d, "nbr")) + z(B(d, "para")) + z(D(d, "sent", "doc")) + z(D(d, "nbr", "doc")) + z(D(d, "para", "doc")))
    V["z: bm25 sent+nbr+para + dense sent+nbr+para"] = lambda d: (
        z(B(d, "sent")) + z(B(d, "nbr")) + z(B(d, "para")) + z(mx(d, "sent")) + z(mx(d, "nbr")) + z(mx(d, "para")))
    for w in (1, 2, 3):
        V[f"z: bm25 sent+nbr+para + {w}·dense sent"] = lambda d, w=w: (
            z(B(d, "sent")) + z(B(d, "nbr")) + z(B(d, "para")) + w * z(mx(d, "sent")))
    V["z: bm25 text + 1.5·dense sent"] = lambda d: z(B(d, "text")) + 1.5 * z(mx(d, "sent"))
    V["z: bm25 sent+para + 2·dense sent"] = lambda d: z(B(d, "sent")) + z(B(d, "para")) + 2 * z(mx(d, "sent"))
    V["z: bm25 log1p sent+para + 2·dense sent"] = lambda d: (
        z(np.log1p(B(d, "sent"))) + z(np.log1p(B(d, "para"))) + 2 * z(mx(d, "sent")))
    V["z: bm25 sent+para + 2·dense sent (doc only)"] = lambda d: z(B(d, "sent")) + z(B(d, "para")) + 2 * z(D(d, "sent", "doc"))
    base = V["z: bm25 sent+para + 2·dense sent"]
    for w in (1, 2):
        V[f"  + {w}·[cited elsewhere in the file]"] = lambda d, w=w: base(d) + w * (d["cited"] > 0)
    for w in (1, 2, 3):
        V[f"  + {w}·log(1 + uses elsewhere in the file)"] = lambda d, w=w: base(d) + w * np.log1p(d["cited"])
    V["RRF(k=60) of the final views, same weights, no prior"] = lambda d: (
        rrf(B(d, "sent")) + 0.5 * rrf(B(d, "para")) + 2 * rrf(mx(d, "sent")))
    for w in (0.25, 0.5, 1):
        V[f"RRF(k=60) of the final views + {w}·log1p(uses)/61"] = lambda d, w=w: (
            rrf(B(d, "sent")) + 0.5 * rrf(B(d, "para")) + 2 * rrf(mx(d, "sent")) + w * np.log1p(d["cited"]) / 61)
    V["bm25 sent 1 + para 0.5, dense sent 2, 2·log1p(uses)"] = lambda d: (
        hybrid.fuse({"sent": B(d, "sent"), "para": B(d, "para")}, {"near": mx(d, "sent")}, d["cited"]))
    V["**final** (texcite.retrieval.hybrid.fuse, DEFAULT_WEIGHTS): as above, dense on the ≤24+8 words around the marker"] = lambda d: (
        hybrid.fuse({"sent": B(d, "sent"), "para": B(d, "para")}, {"near": mx(d, "near")}, d["cited"]))
    V["final without the dense stage (BM25 views + prior)"] = lambda d: (
        hybrid.fuse({"sent": B(d, "sent"), "para": B(d, "para")}, None, d["cited"]))
    V["final without the prior"] = lambda d: (
        hybrid.fuse({"sent": B(d, "sent"), "para": B(d, "para")}, {"near": mx(d, "near")}, None))
    return V


if __name__ == "__main__":
    main()
