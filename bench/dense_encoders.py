"""The packaged dense encoders compared: all-MiniLM-L6-v2 (English; ONNX Runtime) and the multilingual Universal
Sentence Encoder (numpy), each as the dense model of the whole pipeline, on the dev theses.

Quality: leave-one-project-out of the linear fusion on all signals (``bench/fit_fusion.py``'s protocol and cached
signals; the shipped hidden-unit model ranks about 0.03 MRR higher for either), overall and per project. Cost: model
load, one query (the two views a completion embeds) and the embedding of every title of each dev bibliography,
on one thread.

    .venv/bin/python bench/dense_encoders.py ../shared/eval/dev [--encoders minilm,use] [--out bench/results]
-> dense-encoders.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fit_fusion as ff  # noqa: E402

from texcite.bib.parse import parse_bytes  # noqa: E402
from texcite.evaluation.projects import find_projects  # noqa: E402
from texcite.retrieval.embeddings.dense import entry_text  # noqa: E402
from texcite.retrieval.embeddings.encoders import make_embedder  # noqa: E402

QUERIES = ["Knowledge distillation compresses a large teacher into a small student model",
           "as shown by earlier work on citation recommendation with local context"]


def costs(encoder: str, bibs: list[list[str]]) -> dict:
    started = time.perf_counter()
    embedder = make_embedder(encoder, threads=1)
    embedder.load()
    load_s = time.perf_counter() - started
    query = []
    for _ in range(30):
        t = time.perf_counter()
        embedder.embed(QUERIES, max_tokens=48)
        query.append((time.perf_counter() - t) * 1000)
    titles = sum(len(b) for b in bibs)
    t = time.perf_counter()
    for b in bibs:
        embedder.embed(b)
    per_entry_ms = (time.perf_counter() - t) * 1000 / max(titles, 1)
    return {"name": embedder.name, "load_s": load_s, "query_ms": statistics.median(query),
            "entry_ms": per_entry_ms}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--encoders", default="minilm,use")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "texcite-bench"))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args()
    encoders = args.encoders.split(",")
    projects = [p for path in args.paths for p in find_projects(os.path.abspath(path)).projects]
    bibs = []
    for folder, _ in projects:
        titles = []
        for bib in sorted(Path(folder).rglob("*.bib")):
            titles += [entry_text(e) for e in parse_bytes(bib.read_bytes(), str(bib)).entries]
        bibs.append(titles)
    features = [f for _, added in ff.STEPS for f in added]
    quality, per, cost = {}, {}, {}
    for encoder in encoders:
        examples, _ = ff.extract(args.paths, args.cache, "" if encoder == "minilm" else encoder)
        quality[encoder], per[encoder] = ff.lopo(examples, features, ff.L2, 0, {})
        cost[encoder] = costs(encoder, bibs)
        print(encoder, quality[encoder], cost[encoder], file=sys.stderr, flush=True)
    lines = ["| encoder | R@1 | R@10 | MRR | writing MRR | load s | query ms (2 views) | ms per title |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for e in encoders:
        d, w, c = quality[e]["default"], quality[e]["writing"], cost[e]
        lines.append(f"| {c['name']} | {d['R@1']:.3f} | {d['R@10']:.3f} | {d['MRR']:.3f} | {w['MRR']:.3f} | "
                     f"{c['load_s']:.2f} | {c['query_ms']:.1f} | {c['entry_ms']:.2f} |")
    lines += ["", "MRR per project (default / writing):", "",
              "| project | " + " | ".join(cost[e]["name"] for e in encoders) + " |",
              "| --- | " + " | ".join("---:" for _ in encoders) + " |"]
    for project in sorted({p for p, _ in per[encoders[0]]}):
        cells = [f"{per[e].get((project, 'default'), {}).get('MRR', float('nan')):.3f} / "
                 f"{per[e].get((project, 'writing'), {}).get('MRR', float('nan')):.3f}" for e in encoders]
        lines.append(f"| {project} | " + " | ".join(cells) + " |")
    text = ("# Dense encoders on the dev theses (`bench/dense_encoders.py`)\n\n"
            "Each encoder as the dense model of the whole pipeline (entry titles embedded), leave-one-project-out "
            "of the linear fusion on all signals; costs on one thread of this 2-core machine (shared: upper "
            "bounds).\n\n" + "\n".join(lines) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dense-encoders.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
