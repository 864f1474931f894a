r"""The LaTeX project a .tex document belongs to: its root (``latex.roots``), the files it includes and the
bibliographies they name (``latex.graph``), with the reason for each (``explain``). A document with
``thebibliography`` and no named bibliography offers its own ``\bibitem``s. Only when the document names no
bibliography at all is every .bib of the project folder used, and the project says so (``fallback``).

Files are known by their facts (``latex.facts``), kept per content version by ``ProjectIndex``, so an edit
re-scans one file and the graph is walked again only when the edited file's includes, bibliographies or root
changed.
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

from texcite.files import Sources
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import FileFacts, scan_file, update_facts
from texcite.latex.graph import MAX_WORKSPACE_BIBS, FactsOf, Project, scan_project, workspace_files
from texcite.latex.multibib import command_scopes
from texcite.latex.roots import find_root_why, project_folder


def discover(path: str, facts_of: FactsOf | None = None, workspace: str | None = None,
             env: dict[str, str] | None = None, folders: Sequence[str] = ()) -> Project:
    """The project of a .tex file and its bibliographies: the named ones; else its own ``\\bibitem``s; else every
    .bib of the project folder (``fallback``). ``folders``: the workspace folders besides ``workspace``. Without
    ``facts_of``, files are read from disk and scanned with the default citation commands."""
    if facts_of is None:
        facts_of = FactsCache(Sources(), CiteMatcher()).facts
    path = os.path.normpath(os.path.abspath(path))
    root, root_reason = find_root_why(path, facts_of, workspace, folders)
    folder = project_folder(path, [f for f in (workspace, *folders) if f])
    project = scan_project(root, facts_of, env, folder=folder)
    project.root_reason = root_reason
    project.folder = folder
    if path not in project.tex_files:
        # The root does not reach this file (a stale magic comment, a file being written): scan it too.
        extra = scan_project(path, facts_of, env, folder=folder)
        project.tex_files += [f for f in extra.tex_files if f not in project.tex_files]
        project.references += extra.references
        project.bib_files += [b for b in extra.bib_files if b not in project.bib_files]
        project.bibitems += [b for b in extra.bibitems if b not in project.bibitems]
        project.truncated = project.truncated or extra.truncated
    project.scopes = command_scopes([f for f in map(facts_of, project.tex_files) if f is not None], project.references)
    if project.references:
        project.bibitems = []
    elif project.bibitems:
        project.bib_files = list(project.bibitems)
    else:
        project.bib_files = workspace_files(project.folder or os.path.dirname(project.root), ".bib",
                                             MAX_WORKSPACE_BIBS)
        project.fallback = True
    return project


def no_entries_reason(project: Project) -> str:
    """Why a project has no candidates, in a few words (its bibliographies are missing, absent or empty)."""
    if project.missing:
        return ", ".join(f"'{n}'" for n in project.missing) + " not found"
    if project.fallback and not project.bib_files:
        return f"it names no bibliography and there is no .bib in {project.folder or os.path.dirname(project.root)}"
    return "its bibliographies hold no entries"


def explain(project: Project) -> list[str]:
    """The project in lines for people: the root and how it was found, the files, each bibliography with the command
    that named it and where it was found or looked for, and where the candidates come from."""
    base = os.path.dirname(project.root)

    def rel(p: str) -> str:
        r = os.path.relpath(p, base)
        return p if r.startswith(".." + os.sep + "..") else r

    lines = [f"root: {project.root}", f"  ({project.root_reason})" if project.root_reason else ""]
    if project.folder:
        lines.append(f"project folder: {project.folder}")
    lines.append(f"files ({len(project.tex_files)}{', more not read' if project.truncated else ''}):")
    lines += [f"  {rel(f)}" for f in project.tex_files]
    lines += [f"  NOT FOUND: {command} in {rel(source)}" for source, command in project.unfound]
    lines.append("bibliographies:")
    for ref in project.references:
        argument = f"[{ref.name}]" if ref.command in ("putbib", "refsection") else f"{{{ref.name}}}"
        head = "begin{refsection}" if ref.command == "refsection" else ref.via or ref.command
        named = f"\\{head}{argument}" + (f" (a \\{ref.command})" if ref.via else "") + (
            f" in {rel(ref.source)}:{ref.line + 1}")
        if ref.remote:
            lines.append(f"  {named}: {ref.found_by}")
        elif ref.paths:
            found = ", ".join(rel(p) for p in ref.paths)
            lines.append(f"  {found}  <- {named}, found {ref.found_by}")
        else:
            searched = [rel(s) if os.path.isabs(s) else s for s in ref.searched]  # folders, or 'kpsewhich (..)'
            lines.append(f"  NOT FOUND: {named}; looked in: {'; '.join(searched) or 'nowhere'}")
    for tex in project.bibitems:
        lines.append(f"  {rel(tex)}  <- its thebibliography (\\bibitem entries)")
    if project.units:
        lines.append("chapters (chapterbib), each citing from the bibliographies it names:")
        lines += [f"  {rel(tex)}: {', '.join(rel(b) for b in bibs)}" for tex, bibs in project.units.items()]
    if project.scopes:
        lines.append("citation commands (multibib), each citing from its bibliographies:")
        groups: dict[tuple[str, ...], list[str]] = {}
        for command, bibs in project.scopes.items():
            groups.setdefault(tuple(bibs), []).append(f"\\{command}" if command else "the other commands")
        lines += [f"  {', '.join(commands[:3])}{', ...' if len(commands) > 3 else ''}: "
                  f"{', '.join(rel(b) for b in bibs) or 'none found (they cite from every one)'}"
                  for bibs, commands in groups.items()]
    if project.fallback:
        lines += [f"  {rel(b)}" for b in project.bib_files]
    lines.append(f"candidates: {project.reason}")
    return [line for line in lines if line]


class FactsCache:
    """The facts of each file, kept while its stamp (``Sources.stamp``) and the citation commands the matcher knows
    stay the same; thread-safe. A file defining citation commands (multibib's ``\\newcites``) teaches them to the
    matcher, and every file is scanned again for them."""

    def __init__(self, sources: Sources, matcher: CiteMatcher) -> None:
        self.sources = sources
        self.matcher = matcher
        # path -> (stamp, text scanned, facts, the matcher's generation they were scanned with)
        self._facts: dict[str, tuple[object, str, FileFacts, int]] = {}
        self._lock = threading.Lock()

    def facts(self, path: str) -> FileFacts | None:
        found = self.text_and_facts(path)
        return None if found is None else found[1]

    def text_and_facts(self, path: str) -> tuple[str, FileFacts] | None:
        """The current text of ``path`` and its facts; None when the file cannot be read."""
        stamp = self.sources.stamp(path)
        if stamp is None:
            return None
        with self._lock:
            cached = self._facts.get(path)
        if cached is not None and cached[0] == stamp and cached[3] == self.matcher.generation:
            return cached[1], cached[2]
        text = self.sources.read(path)
        if text is None:
            return None
        return text, self._scan(path, stamp, text)

    def facts_for_text(self, path: str, text: str) -> FileFacts:
        """The facts of ``text``, the current text of ``path``: cached when that very text was scanned."""
        with self._lock:
            cached = self._facts.get(path)
        if cached is None or cached[3] != self.matcher.generation:
            return self._scan(path, self.sources.stamp(path), text)
        if cached[1] is text:
            return cached[2]
        generation = self.matcher.generation
        facts = update_facts(cached[1], cached[2], text, self.matcher)
        if facts is None:
            return self._scan(path, self.sources.stamp(path), text)
        with self._lock:
            self._facts[path] = (self.sources.stamp(path), text, facts, generation)
        return facts

    def _scan(self, path: str, stamp: object, text: str) -> FileFacts:
        generation = self.matcher.generation
        facts = scan_file(text, self.matcher)
        if self.matcher.learn(facts.cite_commands):  # the file may use the commands it defines
            generation = self.matcher.generation
            facts = scan_file(text, self.matcher)
        with self._lock:
            self._facts[path] = (stamp, text, facts, generation)
        return facts


class ProjectIndex:
    """The projects of the documents of one workspace (of all its folders: ``Sources.folders``), from the files'
    facts; thread-safe.

    A project stays cached while the structure (includes, bibliographies, root) of each of its files is the same:
    an ordinary edit re-scans the edited file and keeps the project.
    """

    def __init__(self, sources: Sources, matcher: CiteMatcher, workspace: str | None = None,
                 extra_bibs: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.files = FactsCache(sources, matcher)
        self.workspace = workspace
        self.env = env
        base = workspace or os.getcwd()
        self.extra_bibs = [os.path.normpath(p if os.path.isabs(p) else os.path.join(base, os.path.expanduser(p)))
                           for p in extra_bibs]
        self._projects: dict[str, tuple[Project, tuple, tuple]] = {}
        self._lock = threading.Lock()

    def facts(self, path: str, text: str) -> FileFacts:
        """The facts of ``text``, the current text of ``path`` (scanned once per version)."""
        return self.files.facts_for_text(os.path.normpath(os.path.abspath(path)), text)

    def files_of(self, path: str, text: str | None = None) -> list[tuple[str, str, FileFacts]]:
        """The readable files of ``path``'s project (path, text, facts), ``path`` among them with ``text`` (if
        given, else its current text)."""
        path = os.path.normpath(os.path.abspath(path))
        if text is None:
            found = self.files.text_and_facts(path)
            text = found[0] if found is not None else ""
        facts = self.facts(path, text)
        files = []
        for tex in self.project(path).tex_files:
            if tex == path:
                files.append((tex, text, facts))
            else:
                found = self.files.text_and_facts(tex)
                if found is not None:
                    files.append((tex, *found))
        if path not in {f[0] for f in files}:
            files.append((path, text, facts))
        return files

    def _shape(self, project: Project) -> tuple:
        facts = [self.files.facts(f) for f in project.tex_files]
        return tuple(None if f is None else f.structure for f in facts)

    def project(self, path: str) -> Project:
        path = os.path.normpath(os.path.abspath(path))
        folders = tuple(self.files.sources.folders())
        with self._lock:
            cached = self._projects.get(path)
        if cached is not None and cached[2] == folders and self._shape(cached[0]) == cached[1]:
            return cached[0]
        project = discover(path, self.files.facts, self.workspace, self.env, folders)
        project.bib_files += [p for p in self.extra_bibs if p not in project.bib_files]
        with self._lock:
            self._projects[path] = (project, self._shape(project), folders)
        return project
