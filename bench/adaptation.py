"""The project's adaptation (``retrieval.adaptation``, ``lessons``) measured honestly on the dev theses: each
project is ranked by a fusion model fit on the other eight only (leave-one-project-out, as ``bench/fit_fusion.py``
measures the shipped model), through the engine's own pipeline (``texcite eval``), once with ``recall.adapt`` off
and once on. With it on, each probe's list is corrected by the adaptation fit on the project's other citations
without the probe's fold (the engine's behaviour: leave the probe out within the project).

    .venv/bin/python bench/adaptation.py ../shared/eval/dev [--units 0] [--seeds 2] [--signals STORE]
        [--train-only ~/texcite-train]

``--signals``: a signal store written by ``bench/fit_fusion.py`` (any version of the signals: it only feeds the
held-out fits, cached beside it); without it, the signals are extracted (cached in ``--cache``). ``--train-only``:
the projects that join every fit as they join the shipped model's (never held out). Writes
``bench/results/adaptation.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


sys.path.insert(0, os.path.dirname(__file__))
import fit_fusion as ff  # noqa: E402

from texcite.evaluation.metrics import Metrics  # noqa: E402
from texcite.evaluation.projects import find_projects  # noqa: E402
from texcite.evaluation.run import evaluate_project, evaluation_engine, every_entry_ranked  # noqa: E402
from texcite.retrieval.fusion import FusionModel  # noqa: E402
from texcite.settings import Settings  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "adaptation.md")


def held_out_models(store: str, names: list[str], units: int, seeds: int,
                    extra_store: str = "") -> dict[str, FusionModel]:
    """Per project, the hybrid model fit on the other projects' examples and those of ``extra_store`` (the
    training-only projects' signals), cached beside ``store``."""
    examples = ff.load(store)
    extra = ff.load(extra_store) if extra_store else []
    features = [f for _, added in ff.STEPS for f in added]
    l2 = 0.001 if units else ff.L2
    cache_file = store.replace(".npz", f"-heldout-{units}-{l2}-{seeds}{ff.with_extra(extra_store)}.json")
    cached = json.load(open(cache_file)) if os.path.exists(cache_file) else {}
    for name in names:
        if name not in cached:
            started = time.perf_counter()
            model = ff.fit([e for e in examples if e["project"] != name] + extra, features, l2, units, seeds)
            cached[name] = model.as_json()
            print(f"fit without {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            with open(cache_file, "w") as fh:
                json.dump(cached, fh)
    return {name: FusionModel.from_json("hybrid", cached[name]) for name in names}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--signals", help="a signals-*.npz store of bench/fit_fusion.py (default: extract them)")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "texcite-bench"))
    ap.add_argument("--out", default=RESULTS, help="the report (markdown)")
    ap.add_argument("--units", type=int, default=8, help="tanh units of the held-out models: 8, the shipped "
                    "form (one fit: about 8 min per project on a busy 2-core machine), or 0, linear (1 min)")
    ap.add_argument("--seeds", type=int, default=1, help="fits from different starts averaged per held-out model: "
                    "1, or 2 as the shipped model (fusion.json) has it, twice the time")
    ap.add_argument("--train-only", nargs="+", default=[], metavar="PATH", help="projects whose citations join "
                    "every held-out fit, as the shipped model's (bench/fit_fusion.py --train-only)")
    args = ap.parse_args()
    projects = [p for path in args.paths for p in find_projects(os.path.abspath(path)).projects]
    names = [os.path.basename(os.path.normpath(folder)) for folder, _ in projects]
    store = os.path.expanduser(args.signals) if args.signals else ff.extract(args.paths, args.cache)[1]
    extra_store = ff.extract(args.train_only, args.cache)[1] if args.train_only else ""
    models = held_out_models(store, names, args.units, args.seeds, extra_store)
    rows, ranks = [], {}
    for adapt in (False, True):
        engine, read = evaluation_engine(every_entry_ranked(Settings().replace(recall_adapt=adapt)))
        try:
            for (folder, root), name in zip(projects, names, strict=True):
                engine.models = {**engine.models, "hybrid": models[name]}
                for mode in ff.MODES:
                    started = time.perf_counter()
                    report = evaluate_project(engine, read, folder, root, mode=mode, name=name)
                    ranks.setdefault((adapt, mode), []).extend(report.ranked.ranks)
                    m = report.ranked
                    rows.append(f"| {name} | {mode} | {'on' if adapt else 'off'} | {len(m.ranks)} | "
                                f"{m.recall(1):.3f} | {m.recall(10):.3f} | {m.mrr:.3f} |")
                    print(rows[-1], f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        finally:
            engine.close(wait=True)
    summary = ["| adaptation | mode | probes | R@1 | R@10 | MRR |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for (adapt, mode), r in ranks.items():
        m = Metrics(r)
        summary.append(f"| {'on' if adapt else 'off'} | {mode} | {len(r)} | {m.recall(1):.3f} | {m.recall(10):.3f} "
                       f"| {m.mrr:.3f} |")
    starts = "one start" if args.seeds == 1 else f"{args.seeds} fits from different starts averaged"
    form = f"{args.units} tanh units + linear, L2 0.001, {starts}" if args.units else f"linear, L2 {ff.L2}, {starts}"
    report = ("# The project's adaptation, held out\n\n`bench/adaptation.py`: every dev project ranked by a fusion "
              f"model ({form}) fit on the other eight projects"
              + (" and the training-only ones (bench/train-projects.md)" if extra_store else "") + ", through "
              "the engine's pipeline; adaptation off, then on (the correction fit on the project's other "
              "citations, without the probe's fold).\n\n" + "\n".join(summary)
              + "\n\n| project | mode | adaptation | probes | R@1 | R@10 | MRR |\n"
              "| --- | --- | --- | ---: | ---: | ---: | ---: |\n" + "\n".join(sorted(rows)) + "\n")
    print(report)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
