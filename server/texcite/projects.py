"""Per-document view of the workspace: which project a .tex belongs to and the corpus it cites from."""

from __future__ import annotations

import os
import threading

from texcite.bibstore import BibStore
from texcite.corpus import Corpus
from texcite.discovery import Project, ReadText, discover, read_disk
from texcite.settings import Settings


class ProjectIndex:
    """Discovers projects (cached until a .tex changes) and serves their corpora from a shared BibStore."""

    def __init__(self, settings: Settings, read: ReadText = read_disk, workspace: str | None = None,
                 store: BibStore | None = None, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.read = read
        self.workspace = workspace
        self.store = store or BibStore()
        self.env = env
        self._projects: dict[str, Project] = {}
        self._lock = threading.Lock()

    def invalidate_projects(self) -> None:
        """Forget discovered projects (a .tex changed: includes or bibliography commands may have moved)."""
        with self._lock:
            self._projects.clear()

    def project(self, path: str) -> Project:
        path = os.path.normpath(os.path.abspath(path))
        with self._lock:
            cached = self._projects.get(path)
        if cached is not None:
            return cached
        project = discover(path, self.read, self.workspace, self.env)
        extra = [self._abs(p) for p in self.settings.bib_files]
        project.bib_files += [p for p in extra if p not in project.bib_files]
        with self._lock:
            self._projects[path] = project
        return project

    def _abs(self, p: str) -> str:
        base = self.workspace or os.getcwd()
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(base, os.path.expanduser(p)))

    def corpus(self, path: str) -> Corpus:
        """The corpus a .tex file cites from (parsing whatever changed since last time)."""
        return self.store.corpus(self.project(path).bib_files)

    def needs_indexing(self, path: str) -> bool:
        return not all(self.store.is_fresh(p) for p in self.project(path).bib_files)
