"""An evaluation for people and programs: the progress line while it runs, the heading and markdown table
``texcite eval`` prints (the web page shows the same table) and the JSON document of ``--json``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Callable, Sequence, TextIO

from texcite.evaluation.metrics import KS, Metrics, percentile
from texcite.evaluation.result import Evaluation, ProjectReport
from texcite.settings import Settings
from texcite.runtime import public_url


class Progress:
    """A one-line progress bar on a terminal's stderr; plain lines (one per project) otherwise. ``start`` is a
    ``run.StartProject``."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def start(self, name: str, index: int, total: int) -> Callable[[int, int], None]:
        label = f"[{index}/{total}] {name}"
        if not self.tty:
            print(f"texcite eval: {label} ...", file=self.stream, flush=True)
            return lambda done, n: None

        def update(done: int, n: int) -> None:
            if done != n and done % 5:
                return
            width = 30
            fill = int(width * done / max(n, 1))
            self.stream.write(f"\r{label[:48]:<48} [{'#' * fill}{'.' * (width - fill)}] {done}/{n}")
            if done == n:
                self.stream.write("\n")
            self.stream.flush()

        return update


def heading(evaluation: Evaluation, date: str) -> str:
    """``texcite eval``'s first line: when, what ranked and the variant."""
    variant = evaluation.variant
    return (f"texcite eval — {date} — {evaluation.ranking} — query {variant.query}"
            + (f" — typed {variant.typed}" if variant.typed else "")
            + (f" — mode {variant.mode}" if variant.mode != "default" else "") + "\n")


def _measures(m: Metrics) -> str:
    return f"{len(m.ranks)} | {m.recall(1):.3f} | {m.recall(5):.3f} | {m.recall(10):.3f} | {m.mrr:.3f}"


def _row(name: str, m: Metrics, language: str = "", entries: str = "", latency: bool = True) -> str:
    lat = (f"{percentile(m.latencies_ms, 50):.1f} | {percentile(m.latencies_ms, 95):.1f}"
           if latency and m.latencies_ms else "– | –")
    return f"| {name} | {language} | {entries} | {_measures(m)} | {lat} |"


def markdown_table(evaluation: Evaluation) -> str:
    """Per-project rows (with the document's language and the candidate pool: the bib's entries), the overall
    row, the bib-order and random-order floors, the measures by language and the projects without resolvable
    citations."""
    reports: Sequence[ProjectReport] = evaluation.reports
    lines = ["| project | language | entries | examples | R@1 | R@5 | R@10 | MRR | p50 ms | p95 ms |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in reports:
        if r.ranked.ranks:
            lines.append(_row(r.name, r.ranked, r.language, str(r.entries)))
    lines.append(_row(f"**overall ({evaluation.label})**", evaluation.overall))
    lines.append(_row("bib order (floor)", evaluation.bib_order, latency=False))
    lines.append(_row("random order (floor)", evaluation.random_order, latency=False))
    lines += ["", "| language | projects | examples | R@1 | R@5 | R@10 | MRR |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {language} | {n} | {_measures(m)} |" for language, (n, m) in evaluation.by_language.items()]
    skipped = evaluation.unresolved
    by_project = ", ".join(f"{r.name}: {r.unresolved}" for r in reports if r.unresolved)
    notes = [f"Unresolvable citations skipped (not counted as misses): {skipped}"
             + (f" ({by_project})" if skipped else "") + "."]
    empty = [r.name + (f" ({r.error})" if r.error else "") for r in evaluation.without_examples]
    if empty:
        notes.append("Projects without resolvable citations: " + ", ".join(empty) + ".")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def metrics_json(m: Metrics) -> dict:
    """The measures, rounded: examples, recall@k, MRR and, where timed, latency percentiles."""
    out: dict = {"examples": len(m.ranks)}
    out.update({f"recall@{k}": round(m.recall(k), 4) for k in KS})
    out["mrr"] = round(m.mrr, 4)
    if m.latencies_ms:
        out["latency_ms_p50"] = round(percentile(m.latencies_ms, 50), 2)
        out["latency_ms_p95"] = round(percentile(m.latencies_ms, 95), 2)
    return out


def project_json(r: ProjectReport) -> dict:
    return {"name": r.name, "root": r.root, "language": r.language, "bib_files": r.bib_files, "entries": r.entries,
            "unresolved_skipped": r.unresolved, "error": r.error,
            "ranked": metrics_json(r.ranked), "bib_order": metrics_json(r.bib_order),
            "random_order": metrics_json(r.random_order)}


def as_json(evaluation: Evaluation, settings: Settings, date: str, paths: Sequence[str]) -> dict:
    """The whole run as ``texcite eval --json`` writes it (the settings without secrets)."""
    shown = dataclasses.asdict(settings)
    shown.pop("problems")
    shown["reranker"].pop("api_key")
    shown["reranker"]["url"] = public_url(shown["reranker"]["url"])
    variant = evaluation.variant
    return {
        "date": date,
        "ranking": evaluation.ranking,
        "query": variant.query,
        "typed": variant.typed,
        "mode": variant.mode,
        "settings": shown,
        "paths": [os.path.abspath(p) for p in paths],
        "projects": [project_json(r) for r in evaluation.reports],
        "overall": metrics_json(evaluation.overall),
        "by_language": {language: {"projects": n, **metrics_json(m)}
                        for language, (n, m) in evaluation.by_language.items()},
        "bib_order": metrics_json(evaluation.bib_order),
        "random_order": metrics_json(evaluation.random_order),
        "unresolved_skipped": evaluation.unresolved,
        "projects_without_examples": [r.name for r in evaluation.without_examples],
    }
