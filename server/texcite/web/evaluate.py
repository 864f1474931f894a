"""The Evaluate tab's work: ``texcite eval`` (``evaluation.run``) on the project folder, once per chosen stage,
reading only inside it.

Projects are found by ``evaluation.projects.find_projects`` confined to the folder: symlinked folders are not
entered, files that lead out are not read, a root outside is skipped with a note. Each stage is ranked by an
engine of its own, built for the run with the page's settings for that stage and closed after it (the page's
engines keep answering Suggest meanwhile), reading the examples through a ``sources.ProjectSources`` (the disk
inside the folder only); a bibliography named outside the folder is indexed as empty.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from texcite.engine import Engine
from texcite.evaluation.projects import find_projects
from texcite.evaluation.report import markdown_table
from texcite.evaluation.result import Evaluation
from texcite.evaluation.run import OnProgress, evaluate, every_entry_ranked
from texcite.latex.graph import Project
from texcite.files import inside
from texcite.web.ranking import Rankers
from texcite.web.safety import outside
from texcite.web.sources import ProjectSources

CURVE_KS = tuple(range(1, 21))  # Recall@k is plotted for these k

OnStageProgress = Callable[[float, str], None]  # (fraction done, what is being ranked now)


class Evaluator:
    """`texcite eval` on the ``project`` folder with the stages of the page's ``rankers`` (their settings), each
    on an engine of its own for the run."""

    def __init__(self, rankers: Rankers, project: str) -> None:
        self.rankers = rankers
        self.project = project

    @property
    def stages(self) -> list[str]:
        return list(self.rankers.engines)

    def run(self, stages: Sequence[str], on_progress: OnStageProgress) -> tuple[list[Evaluation], list[str]]:
        """Evaluate the chosen stages on every project found; the runs and notes on what was skipped."""
        found = find_projects(self.project, lambda path: inside(path, self.project))
        runs = []
        for i, stage in enumerate(stages):
            sources = ProjectSources(self.project)
            engine = Engine(every_entry_ranked(self.rankers.stage_settings[stage]), sources, workspace=self.project)
            try:
                label = engine.stages().text()

                def start(name: str, index: int, total: int, i: int = i, label: str = label) -> OnProgress:
                    def progress(done: int, examples: int) -> None:
                        part = (index - 1 + done / max(examples, 1)) / total
                        on_progress((i + part) / len(stages), f"{label}: {name} — citation {done} of {examples}")

                    return progress

                runs.append(evaluate(engine, sources, found.projects, start=start, name=self._name,
                                     on_open=self._refuse_outside))
            finally:
                engine.close()
        return runs, found.skipped

    @staticmethod
    def summary(runs: Sequence[Evaluation], notes: Sequence[str]) -> tuple[str, list[tuple[int, float, str]]]:
        """The runs for people: ``texcite eval``'s table per stage (markdown, then the notes), and the Recall@k
        curve of each stage and of the bib-order floor as (k, recall, ranking) rows."""
        parts = [f"### {run.label}\n\n" + markdown_table(run) for run in runs]
        parts += [f"- {note}" for note in notes]
        curve = [(k, run.overall.recall(k), run.label) for run in runs for k in CURVE_KS]
        curve += [(k, runs[0].bib_order.recall(k), "bib order (floor)") for k in CURVE_KS] if runs else []
        return "\n\n".join(parts), curve

    def _name(self, folder: str) -> str:
        """A project as the page names it: relative to the project folder (the folder itself by its name)."""
        name = os.path.relpath(folder, self.project)
        return os.path.basename(self.project) if name == "." else name

    def _refuse_outside(self, engine: Engine, project: Project) -> None:
        """Index as empty the bibliographies the project names outside the folder, before the run reads them."""
        for bib in outside(self.project, project.bib_files):
            engine.set_bib_buffer(bib, "")
