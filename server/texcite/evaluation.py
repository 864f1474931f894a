"""``texcite eval``: how well the pipeline recovers the keys a project's authors actually cited.

Every citation command in the project's text (outside comments and verbatim) whose keys all resolve is emptied
(``\\citep[p.~3]{a,b}`` -> ``\\citep[p.~3]{}``), the cursor is put in the empty braces and the same pipeline the
server uses ranks the whole bib; the best rank of a true key gives Recall@k and MRR. Bib order (what key-matching
editors show) is reported as the floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from texcite.discovery import discover, read_disk
from texcite.references import verbatim_spans
from texcite.citecontext import CiteMatcher, in_comment

KS = (1, 5, 10)
QUERY_MODES = ("default", "paragraph", "sentence")
_DOCCLASS_RE = re.compile(r"^[^%\n]*\\documentclass(?![A-Za-z])", re.MULTILINE)
# Commands that list references without citing them at a place in the text.
_NOT_IN_TEXT = frozenset({"nocite", "Nocite"})


@dataclass(frozen=True)
class Example:
    """One citation to recover: where it is, the true keys, the emptied text and the cursor inside ``{}``."""

    path: str
    line: int
    keys: tuple[str, ...]
    text: str
    offset: int


@dataclass
class Metrics:
    """Recall@k, MRR and latency over a list of best ranks (0 = no true key in the ranking)."""

    ranks: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, rank: int, latency_ms: float | None = None) -> None:
        self.ranks.append(rank)
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)

    def extend(self, other: "Metrics") -> None:
        self.ranks += other.ranks
        self.latencies_ms += other.latencies_ms

    def recall(self, k: int) -> float:
        return sum(1 for r in self.ranks if 0 < r <= k) / len(self.ranks) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        return sum(1.0 / r for r in self.ranks if r > 0) / len(self.ranks) if self.ranks else 0.0

    def as_json(self) -> dict:
        out: dict = {"examples": len(self.ranks)}
        out.update({f"recall@{k}": round(self.recall(k), 4) for k in KS})
        out["mrr"] = round(self.mrr, 4)
        if self.latencies_ms:
            out["latency_ms_p50"] = round(percentile(self.latencies_ms, 50), 2)
            out["latency_ms_p95"] = round(percentile(self.latencies_ms, 95), 2)
        return out


@dataclass
class ProjectReport:
    """Results of one project: the pipeline, the bib-order floor and what was skipped."""

    name: str
    root: str
    bib_files: list[str]
    entries: int
    ranked: Metrics = field(default_factory=Metrics)
    bib_order: Metrics = field(default_factory=Metrics)
    unresolved: int = 0
    error: str = ""

    def as_json(self) -> dict:
        return {"name": self.name, "root": self.root, "bib_files": self.bib_files, "entries": self.entries,
                "unresolved_skipped": self.unresolved, "error": self.error,
                "ranked": self.ranked.as_json(), "bib_order": self.bib_order.as_json()}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) without needing numpy here."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def best_rank(ranked_keys: Iterable[str], true_keys: Iterable[str]) -> int:
    """1-based position of the first true key in ``ranked_keys``; 0 if none is there."""
    truth = set(true_keys)
    for i, key in enumerate(ranked_keys, 1):
        if key in truth:
            return i
    return 0


# -- finding projects -------------------------------------------------------------------------------------

def project_root(folder: str) -> str | None:
    """The root .tex of a project folder: SOURCE.json's ``main``, else a top-level .tex with \\documentclass."""
    meta = os.path.join(folder, "SOURCE.json")
    if os.path.isfile(meta):
        try:
            with open(meta, encoding="utf-8") as fh:
                main = json.load(fh).get("main")
        except (OSError, ValueError, AttributeError):
            main = None
        if isinstance(main, str) and main:
            return os.path.normpath(os.path.join(folder, main))
    try:
        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".tex"))
    except OSError:
        return None
    roots = [n for n in names if _DOCCLASS_RE.search(read_disk(os.path.join(folder, n)) or "")]
    if not roots:
        return None
    preferred = [n for n in roots if os.path.splitext(n)[0].lower() in ("main", "thesis", "paper")]
    return os.path.join(folder, (preferred or roots)[0])


def find_projects(path: str, depth: int = 3) -> list[tuple[str, str]]:
    """(folder, root .tex) of the project at ``path``, or of the projects in its subfolders."""
    root = project_root(path)
    if root is not None:
        return [(path, root)]
    if depth == 0:
        return []
    out = []
    for name in sorted(os.listdir(path)):
        sub = os.path.join(path, name)
        if os.path.isdir(sub) and not name.startswith("."):
            out += find_projects(sub, depth - 1)
    return out


# -- examples ---------------------------------------------------------------------------------------------

def citation_examples(path: str, text: str, matcher: CiteMatcher, defined: set[str] | dict) -> tuple[list[Example], int]:
    """The resolvable citations of one file as examples, and how many unresolvable ones were skipped."""
    verbatim = verbatim_spans(text)
    examples, unresolved = [], 0
    for cmd in matcher.iter_commands(text):
        if cmd.name in _NOT_IN_TEXT or not cmd.groups or not all(g.closed for g in cmd.groups):
            continue
        if in_comment(text, cmd.start) or any(a <= cmd.start < b for a, b in verbatim):
            continue
        keys = tuple(dict.fromkeys(cmd.keys(text)))
        if not keys:
            continue
        if not all(k in defined for k in keys):
            unresolved += 1
            continue
        pieces, last = [], 0
        for g in cmd.groups:
            pieces.append(text[last:g.start])
            last = g.end
        pieces.append(text[last:])
        emptied = "".join(pieces)
        offset = cmd.groups[0].start
        examples.append(Example(path, text.count("\n", 0, cmd.start), keys, emptied, offset))
    return examples, unresolved


# -- ranking ----------------------------------------------------------------------------------------------

class _OneFileOverride:
    """A read callable: the emptied text for the file being evaluated, the disk for everything else."""

    def __init__(self) -> None:
        self.path = ""
        self.text = ""

    def __call__(self, path: str) -> str | None:
        if path == self.path:
            return self.text
        return read_disk(path)


def _rank_keys(ranker, example: Example, mode: str) -> list[str]:
    """Ranked keys for one example: the server's pipeline, or (mode != default) with another BM25 query."""
    if mode == "default":
        result = ranker.suggest_blocking(example.path, example.text, example.offset)
        return [] if result is None else [s.entry.key for s in result.suggestions]
    from texcite.pipeline import Request, build_request, finish, recall, rerank_inputs

    request = build_request(example.text, example.offset, ranker.matcher)
    if request is None:
        return []
    q = request.query
    text = q.paragraph if mode == "paragraph" else q.sentence.replace("[CITATION]", " ")
    request = Request(request.cite, _FixedQuery(q.paragraph, q.marked, q.sentence, q.section_title, text))
    corpus = ranker.projects.corpus(example.path)
    candidates = recall(corpus, request, ranker.settings.recall_top_k)
    scores = None
    reranker = ranker.reranker
    if reranker.backend != "none" and candidates:
        query, docs = rerank_inputs(request, candidates, ranker.settings)
        scores = reranker.rank(query, docs)
    return [s.entry.key for s in finish(candidates, scores, "eval")]


def _fixed_query_class():
    from texcite.paragraph import QueryContext

    @dataclass(frozen=True)
    class FixedQuery(QueryContext):
        """A QueryContext whose BM25 text is given (paragraph only, sentence only) instead of derived."""

        fixed_text: str = ""

        @property
        def text(self) -> str:  # type: ignore[override]
            return self.fixed_text

    return FixedQuery


_FixedQuery = _fixed_query_class()


def evaluate_project(folder: str, root: str, settings, mode: str = "default",
                     progress: Callable[[int, int], None] | None = None) -> ProjectReport:
    """Rank every resolvable citation of one project with one Ranker (its index is built once)."""
    from texcite.bibstore import BibStore
    from texcite.ranking import Ranker

    name = os.path.basename(os.path.normpath(folder))
    # As for a user whose BIBINPUTS names the project folder: some repos keep the .bib beside, not below, the root.
    env = dict(os.environ)
    env["BIBINPUTS"] = os.pathsep.join(x for x in (folder, env.get("BIBINPUTS", "")) if x)
    project = discover(root, env=env)
    store = BibStore()
    corpus = store.corpus(project.bib_files)
    report = ProjectReport(name, root, list(project.bib_files), len(corpus))
    order = {e.key: i for i, e in enumerate(corpus.entries, 1)}
    matcher = CiteMatcher(settings.cite_commands)
    examples: list[Example] = []
    for tex in project.tex_files:
        text = read_disk(tex)
        if text is None:
            continue
        found, unresolved = citation_examples(tex, text, matcher, corpus.by_key)
        examples += found
        report.unresolved += unresolved
    settings = settings.replace(recall_top_k=max(settings.recall_top_k, len(corpus), 1))
    read = _OneFileOverride()
    ranker = Ranker(settings, read, workspace=folder, store=store)
    ranker.projects.env = env
    for i, ex in enumerate(examples):
        read.path, read.text = ex.path, ex.text
        started = time.perf_counter()
        keys = _rank_keys(ranker, ex, mode)
        elapsed = (time.perf_counter() - started) * 1000.0
        report.ranked.add(best_rank(keys, ex.keys), elapsed)
        report.bib_order.add(min(order[k] for k in ex.keys))
        if progress:
            progress(i + 1, len(examples))
    if ranker.fallback_message:
        report.error = ranker.fallback_message
    return report


# -- output -----------------------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on a terminal's stderr; plain lines (one per project) otherwise."""

    def __init__(self, stream=sys.stderr) -> None:
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


def _row(name: str, m: Metrics, latency: bool = True) -> str:
    lat = (f"{percentile(m.latencies_ms, 50):.1f} | {percentile(m.latencies_ms, 95):.1f}"
           if latency and m.latencies_ms else "– | –")
    return (f"| {name} | {len(m.ranks)} | {m.recall(1):.3f} | {m.recall(5):.3f} | {m.recall(10):.3f} | "
            f"{m.mrr:.3f} | {lat} |")


def markdown_table(reports: Sequence[ProjectReport], overall: Metrics, floor: Metrics, label: str) -> str:
    """Per-project rows, the overall row, the bib-order floor, and the projects without resolvable citations."""
    lines = ["| project | examples | R@1 | R@5 | R@10 | MRR | p50 ms | p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in reports:
        if r.ranked.ranks:
            lines.append(_row(r.name, r.ranked))
    lines.append(_row(f"**overall ({label})**", overall))
    lines.append(_row("bib order (floor)", floor, latency=False))
    skipped = sum(r.unresolved for r in reports)
    notes = [f"Unresolvable citations skipped (not counted as misses): {skipped}"
             + (" (" + ", ".join(f"{r.name}: {r.unresolved}" for r in reports if r.unresolved) + ")" if skipped else "") + "."]
    empty = [r.name + (f" ({r.error})" if r.error else "") for r in reports if not r.ranked.ranks]
    if empty:
        notes.append("Projects without resolvable citations: " + ", ".join(empty) + ".")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def run_eval(paths: Sequence[str], settings, mode: str = "default", stream=sys.stderr) -> dict:
    """Evaluate every project under ``paths``; returns the machine-readable report (see ``--json``)."""
    projects: list[tuple[str, str]] = []
    for p in paths:
        projects += find_projects(os.path.abspath(p))
    progress = Progress(stream)
    reports: list[ProjectReport] = []
    for i, (folder, root) in enumerate(projects, 1):
        try:
            report = evaluate_project(folder, root, settings, mode, progress.start(os.path.basename(folder), i, len(projects)))
        except Exception as err:  # one broken project must not end the run
            report = ProjectReport(os.path.basename(folder), root, [], 0, error=f"{type(err).__name__}: {err}")
        reports.append(report)
    overall, floor = Metrics(), Metrics()
    for r in reports:
        overall.extend(r.ranked)
        floor.extend(r.bib_order)
    return {"reports": reports, "overall": overall, "floor": floor, "projects_found": len(projects)}


def _backend_of(settings) -> tuple[str, str]:
    from texcite.ranking import make_reranker, uses_dense

    try:
        reranker = make_reranker(settings)
    except Exception as err:
        return f"unavailable ({err})", ""
    if reranker.backend == "none" and uses_dense(settings):
        return "hybrid", settings.dense_model or "all-MiniLM-L6-v2"  # recall-only: BM25 + MiniLM, no reranker
    return reranker.backend, reranker.model


def _cmd_eval(args: argparse.Namespace) -> int:
    from texcite.cli import CliError, _settings_from_args

    for p in args.paths:
        if not os.path.isdir(p):
            raise CliError(f"{p}: no such project folder")
    settings = _settings_from_args(args)
    outcome = run_eval(args.paths, settings, args.query)
    if not outcome["projects_found"]:
        raise CliError("no LaTeX project found under " + ", ".join(args.paths))
    backend, model = _backend_of(settings)
    label = backend if args.query == "default" else f"{backend}, query={args.query}"
    date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"texcite eval — {date} — backend {backend}{' ' + model if model and backend != 'none' else ''}"
          f" — query {args.query}\n")
    print(markdown_table(outcome["reports"], outcome["overall"], outcome["floor"], label))
    if args.json:
        doc = {
            "date": date,
            "backend": backend,
            "model": model if backend != "none" else "",
            "query": args.query,
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("problems", "reranker_api_key")},
            "paths": [os.path.abspath(p) for p in args.paths],
            "projects": [r.as_json() for r in outcome["reports"]],
            "overall": outcome["overall"].as_json(),
            "bib_order": outcome["floor"].as_json(),
            "unresolved_skipped": sum(r.unresolved for r in outcome["reports"]),
            "projects_without_examples": [r.name for r in outcome["reports"] if not r.ranked.ranks],
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    return 0


def add_eval_parser(sub, add_reranker_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``texcite eval PATH... [--reranker ...] [--query ...] [--json OUT]``."""
    p = sub.add_parser("eval", help="measure Recall@k / MRR on LaTeX projects by hiding their citations")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a LaTeX project folder, or a folder of them")
    p.add_argument("--json", metavar="OUT", help="also write the full report as JSON to OUT")
    p.add_argument("--query", choices=QUERY_MODES, default="default",
                   help="BM25 query: default (paragraph + citing sentence twice, as the server), paragraph, sentence")
    add_reranker_args(p)
    p.set_defaults(func=_cmd_eval)
