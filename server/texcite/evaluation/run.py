"""Running an evaluation: one engine opens each project, lists its examples (``evaluation.examples``) and ranks
the whole bib for each through ``Engine.suggest``, the pipeline the server uses; the best rank of a true key is
recorded beside two floors, the bib order (what key-matching editors show) and a random order. The result, an
``evaluation.result.Evaluation``, is what ``texcite eval`` prints and what the web page's Evaluate tab shows.
"""

from __future__ import annotations

import os
import random
import time
from typing import Callable, Sequence

from texcite.engine import Engine
from texcite.evaluation.examples import ExampleSources, SourceFile, as_drafted
from texcite.latex.emptied import Example, citation_examples
from texcite.evaluation.metrics import best_rank
from texcite.evaluation.projects import FoundProject, find_projects
from texcite.latex.roots import project_folder
from texcite.evaluation.result import Evaluation, ProjectReport, Variant
from texcite.files import read_disk
from texcite.latex.graph import Project
from texcite.settings import Settings

EVERY_ENTRY = 1_000_000  # recall's top k in an evaluation: every entry is ranked, so a true key's rank is known

OnProgress = Callable[[int, int], None]  # (examples ranked, examples) of the project being evaluated
# A project starts: (its name, its index from 1, how many) -> its progress callback.
StartProject = Callable[[str, int, int], OnProgress]
OnOpen = Callable[[Engine, Project], None]  # a project is open in the engine, its bibliographies not read yet


def every_entry_ranked(settings: Settings) -> Settings:
    """``settings`` for an evaluation: recall keeps every entry, and the writer's memory (``memory``) is left out:
    the figures are the project's, whoever runs them."""
    return settings.replace(recall_top_k=EVERY_ENTRY, recall_remember=False)


def evaluation_engine(settings: Settings, query_view: str = "default") -> tuple[Engine, ExampleSources]:
    """One engine for a whole run (models load once), reading the example being ranked instead of its files."""
    read = ExampleSources()
    return Engine(settings, read, query_view=query_view), read


def project_name(folder: str) -> str:
    return os.path.basename(os.path.normpath(folder))


def project_examples(engine: Engine, read: ExampleSources, folder: str, root: str, typed: str | None = None,
                     mode: str = "default", name: str | None = None,
                     on_open: OnOpen | None = None) -> tuple[ProjectReport, list[Example]]:
    """Open one project in ``engine`` and list its examples (the report holds what was skipped)."""
    # As for a user whose BIBINPUTS names the project folder: some repos keep the .bib beside, not below, the root.
    env = dict(os.environ)
    env["BIBINPUTS"] = os.pathsep.join(x for x in (folder, env.get("BIBINPUTS", "")) if x)
    read.show(None)
    # Opened as an editor opens it: the repository holding it when there is one (a document in thesis/ may name
    # thesis/refs.bib, compiled from the repository's top as Overleaf does), else its folder.
    repository = project_folder(root)
    engine.open_workspace(repository if repository and (folder + os.sep).startswith(repository + os.sep) else folder,
                          env)
    project = engine.project(root)
    if on_open is not None:
        on_open(engine, project)
    corpus = engine.corpus(root)
    texts = {tex: read_disk(tex) or "" for tex in project.tex_files}
    language = engine.language(root)  # as the engine ranks it (its dense model follows it)
    report = ProjectReport(name or project_name(folder), root, list(project.bib_files), len(corpus), language)
    examples: list[Example] = []
    files = [SourceFile(tex, texts[tex], engine.matcher) for tex in project.tex_files] if mode == "writing" else []
    units: dict[tuple[str, ...], str] = {}  # each set of bibliographies cited from (chapterbib: a chapter's) -> a file
    for tex in project.tex_files:
        units.setdefault(tuple(project.bibs_for(tex)), tex)
        found, unresolved = citation_examples(tex, texts[tex], engine.matcher, engine.corpus(tex).by_key, typed,
                                              "add-one" if mode == "add-one" else "default")
        examples += [as_drafted(ex, files) for ex in found] if mode == "writing" else found
        report.unresolved += unresolved
    for tex in units.values():
        engine.wait_embeddings(tex)
    return report, examples


def evaluate_project(engine: Engine, read: ExampleSources, folder: str, root: str,
                     progress: OnProgress | None = None, typed: str | None = None, mode: str = "default",
                     name: str | None = None, on_open: OnOpen | None = None) -> ProjectReport:
    """Rank every example of one project (its index is built once)."""
    report, examples = project_examples(engine, read, folder, root, typed, mode, name, on_open)
    orders: dict[tuple[str, ...], dict[str, int]] = {}  # each corpus's bib order (chapterbib: each chapter's)
    shuffle = random.Random(report.name)
    for i, ex in enumerate(examples):
        corpus = engine.corpus(ex.path)
        bib_order = orders.setdefault(tuple(f.path for f in corpus.files),
                                      {e.key: n for n, e in enumerate(corpus.entries, 1)})
        read.show(ex)
        started = time.perf_counter()
        result = engine.suggest(ex.path, ex.text, ex.offset)
        elapsed = (time.perf_counter() - started) * 1000.0
        keys = [] if result is None else [s.entry.key for s in result.suggestions]
        report.ranked.add(best_rank(keys, ex.keys), elapsed)
        report.bib_order.add(min(bib_order[k] for k in ex.keys))
        report.random_order.add(best_rank(shuffle.sample(list(bib_order), len(bib_order)), ex.keys))
        if result is not None and result.fallback_message:
            report.error = result.fallback_message
        if progress:
            progress(i + 1, len(examples))
    read.show(None)
    return report


def evaluate(engine: Engine, read: ExampleSources, projects: Sequence[FoundProject], variant: Variant | None = None,
             start: StartProject | None = None, name: Callable[[str], str] = project_name,
             on_open: OnOpen | None = None) -> Evaluation:
    """Evaluate every project with ``engine`` (configured with ``every_entry_ranked`` settings); ``name`` names a
    project by its folder, ``start`` reports progress, ``on_open`` sees each project before its bibliographies
    are read. A project that fails is reported with its error; the run goes on."""
    variant = variant or Variant()
    reports: list[ProjectReport] = []
    rankings: list[str] = []  # what ranked each project (the dense model follows its language)
    for i, (folder, root) in enumerate(projects, 1):
        shown = name(folder)
        progress = start(shown, i, len(projects)) if start is not None else None
        try:
            report = evaluate_project(engine, read, folder, root, progress, variant.typed, variant.mode, shown,
                                      on_open)
        except Exception as err:  # one broken project must not end the run
            report = ProjectReport(shown, root, [], 0, error=f"{type(err).__name__}: {err}")
        reports.append(report)
        rankings.append(engine.stages().text())
    return Evaluation(" / ".join(dict.fromkeys(rankings)) or engine.stages().text(), variant, reports)


def evaluate_paths(paths: Sequence[str], settings: Settings, variant: Variant | None = None,
                   start: StartProject | None = None) -> Evaluation:
    """``texcite eval``: every project under ``paths`` with one engine built for the run."""
    variant = variant or Variant()
    projects, names = [], {}
    for path in map(os.path.abspath, paths):
        found = find_projects(path).projects
        if len(found) == 1 and found[0].folder != path:
            # The thesis of ~/thesis in src/: named 'thesis/src', not 'src', and opened as an editor opens ~/thesis
            # (Overleaf compiles from there: src/main.tex may name src/refs.bib).
            names[path] = os.path.relpath(found[0].folder, os.path.dirname(path))
            found = [FoundProject(path, found[0].root)]
        projects += found
    engine, read = evaluation_engine(every_entry_ranked(settings), variant.query)
    try:
        return evaluate(engine, read, projects, variant, start, lambda folder: names.get(folder) or project_name(folder))
    finally:
        engine.close(wait=True)  # the reranker's engine stops before the process exits
