"""The Evaluate tab's work: ``texcite eval`` on the project folder, once per chosen stage, reading only inside it.

Projects are found as ``evaluation.find_projects`` finds them (a folder whose ``SOURCE.json`` or top-level .tex
names a root, else its subfolders, three levels deep), over the files inside the folder only: symlinked folders
are not entered, files that lead out are not read, a root outside is skipped with a note. Each stage is the page's
own engine, borrowed for the run, reading the examples through the page's ``sources.ProjectSources`` (the disk
inside the folder only); a bibliography named outside the folder is indexed as empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

from texcite.engine import Engine
from texcite.evaluation import Metrics, ProjectReport, evaluate_project, markdown_table, project_root
from texcite.web.ranking import Rankers
from texcite.files import inside
from texcite.web.safety import outside

DEPTH = 3  # as evaluation.find_projects
CURVE_KS = tuple(range(1, 21))  # Recall@k is plotted for these k

OnProgress = Callable[[float, str], None]  # (fraction done, what is being ranked now)


def find_confined(project: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(folder, root .tex) of the projects under ``project`` as ``evaluation.find_projects`` finds them, symlinked
    folders not entered; and notes on the projects skipped (a root outside the folder)."""
    found: list[tuple[str, str]] = []
    notes: list[str] = []

    def visit(folder: str, depth: int) -> None:
        root = project_root(folder, lambda path: inside(path, project))
        if root is not None:
            if inside(root, project):
                found.append((folder, root))
            else:
                notes.append(f"{os.path.relpath(folder, project)}: skipped, its root {root} is outside the project "
                             "folder.")
            return
        if depth == 0:
            return
        for name in sorted(os.listdir(folder)):
            sub = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isdir(sub) and not os.path.islink(sub):
                visit(sub, depth - 1)

    visit(project, DEPTH)
    return found, notes


@dataclass
class StageRun:
    """One stage over every project: what ranked, the reports, and the pooled metrics and floor."""

    stage: str
    label: str
    reports: list[ProjectReport] = field(default_factory=list)
    overall: Metrics = field(default_factory=Metrics)
    floor: Metrics = field(default_factory=Metrics)
    random_floor: Metrics = field(default_factory=Metrics)


class Evaluator:
    """`texcite eval` with the page's engines (``ranking.Rankers.borrowed``: a model loads once, and requests wait
    while an evaluation runs)."""

    def __init__(self, rankers: Rankers) -> None:
        self.rankers = rankers
        self.project = rankers.project

    @property
    def stages(self) -> list[str]:
        return list(self.rankers.engines)

    def run(self, stages: Sequence[str], on_progress: OnProgress) -> tuple[list[StageRun], list[str]]:
        """Evaluate the chosen stages on every project found; the runs and notes on what was skipped."""
        projects, notes = find_confined(self.project)
        runs = []
        with self.rankers.borrowed() as engines:
            for i, stage in enumerate(stages):
                engine = engines[stage]
                # Every entry is ranked, so a true key's rank is always known (as `texcite eval`).
                engine.configure(self.rankers.stage_settings[stage].replace(recall_top_k=1_000_000))
                run = StageRun(stage, engine.stages().text())
                for j, (folder, root) in enumerate(projects):
                    name = os.path.relpath(folder, self.project)
                    name = os.path.basename(self.project) if name == "." else name

                    def progress(done: int, total: int, i=i, j=j, name=name) -> None:
                        part = (j + done / max(total, 1)) / len(projects)
                        on_progress((i + part) / len(stages), f"{run.label}: {name} — citation {done} of {total}")

                    self._refuse_outside(engine, folder, root)
                    try:
                        result = evaluate_project(engine, self.rankers.sources, folder, root, progress)
                    except Exception as err:  # one broken project must not end the run (as `texcite eval`)
                        result = ProjectReport(name, root, [], 0, error=f"{type(err).__name__}: {err}")
                    run.reports.append(result)
                    run.overall.extend(result.ranked)
                    run.floor.extend(result.bib_order)
                    run.random_floor.extend(result.random_order)
                run.label = engine.stages().text()
                runs.append(run)
        return runs, notes

    @staticmethod
    def summary(runs: Sequence[StageRun], notes: Sequence[str]) -> tuple[str, list[tuple[int, float, str]]]:
        """The runs for people: ``texcite eval``'s table per stage (markdown, then the notes), and the Recall@k
        curve of each stage and of the bib-order floor as (k, recall, ranking) rows."""
        parts = [f"### {run.label}\n\n" + markdown_table(run.reports, run.overall, run.floor, run.label,
                                                          run.random_floor) for run in runs]
        parts += [f"- {note}" for note in notes]
        curve = [(k, run.overall.recall(k), run.label) for run in runs for k in CURVE_KS]
        curve += [(k, runs[0].floor.recall(k), "bib order (floor)") for k in CURVE_KS] if runs else []
        return "\n\n".join(parts), curve

    def _refuse_outside(self, engine: Engine, folder: str, root: str) -> None:
        """Index as empty the bibliographies the project names outside the folder, before the run reads them.
        The environment is the one ``evaluate_project`` opens the project with."""
        env = dict(os.environ)
        env["BIBINPUTS"] = os.pathsep.join(x for x in (folder, env.get("BIBINPUTS", "")) if x)
        engine.open_workspace(folder, env)
        for bib in outside(self.project, engine.project(root).bib_files):
            engine.set_bib_buffer(bib, "")

