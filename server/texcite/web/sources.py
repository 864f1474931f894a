"""The engines' source of .tex text for the whole page: the texts on show — the document the page ranks, or the
example an evaluation ranks (``evaluation.examples.ExampleSources``) — else the disk inside the project folder
only; a file elsewhere reads as missing, so no ``\\input`` or ``% !TEX root`` leads an engine out of the folder."""

from __future__ import annotations

from typing import Hashable

from texcite.evaluation.examples import ExampleSources
from texcite.files import inside


class ProjectSources(ExampleSources):
    """``texts`` (path -> text) first, then the disk inside ``project`` (nothing without a project folder)."""

    def __init__(self, project: str | None) -> None:
        super().__init__()
        self.project = project

    def _readable(self, path: str) -> bool:
        return path in self.texts or (self.project is not None and inside(path, self.project))

    def stamp(self, path: str) -> Hashable | None:
        return super().stamp(path) if self._readable(path) else None

    def read(self, path: str) -> str | None:
        return super().read(path) if self._readable(path) else None
