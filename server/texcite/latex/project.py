"""The LaTeX project a .tex document belongs to: its root, the files it includes and the .bib files it uses.

Sources, in order: a ``% !TEX root = ...`` magic comment, ``\\bibliography{a,b}`` / ``\\addbibresource{x.bib}``
in the root and every file it reaches through ``\\input \\include \\subfile \\import \\subimport``, BIBINPUTS for
names not found beside the document, and — when the document names no bibliography at all — every .bib in
the workspace folder. Include cycles end. Files are known by their facts (``latex.facts``), kept per content
version by ``ProjectIndex``, so an edit re-scans one file and the graph is walked again only when the edited
file's includes, bibliographies or root changed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from texcite.files import Sources
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import FileFacts, scan_file, update_facts

# The facts of a file by path (None: no such file or unreadable).
FactsOf = Callable[[str], "FileFacts | None"]
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".texcite-cache", "_minted"}
MAX_FILES = 2_000
MAX_WORKSPACE_BIBS = 200


@dataclass
class BibReference:
    """A bibliography named in a .tex file: where, and which path it resolved to (None if missing)."""

    source: str
    line: int
    name: str
    path: str | None


@dataclass
class Project:
    """The documents reachable from a root and the bibliographies they use."""

    root: str
    tex_files: list[str] = field(default_factory=list)
    references: list[BibReference] = field(default_factory=list)
    bib_files: list[str] = field(default_factory=list)
    truncated: bool = False  # more than MAX_FILES files: the rest were not followed


def magic_root(facts: FileFacts, path: str) -> str | None:
    """The file named by ``% !TEX root = ...``, as an absolute path."""
    if not facts.magic_root:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(path), facts.magic_root))


def _with_ext(path: str, ext: str) -> str:
    return path if path.lower().endswith(ext) else path + ext


def _tex_candidates(base_dirs: list[str], name: str) -> list[str]:
    name = name.strip()
    cands = []
    for d in base_dirs:
        p = os.path.normpath(os.path.join(d, name))
        cands += [_with_ext(p, ".tex"), p] if not p.lower().endswith(".tex") else [p]
    return cands


def bibinputs_dirs(env: dict[str, str] | None = None) -> list[str]:
    """Directories listed in BIBINPUTS (``//`` suffixes mean 'and below'; we take the directory itself)."""
    value = (env if env is not None else os.environ).get("BIBINPUTS", "")
    return [d.rstrip("/") or "/" for d in value.split(os.pathsep) if d.strip()]


def resolve_bib(name: str, dirs: list[str], exists: Callable[[str], bool] = os.path.isfile) -> str | None:
    """First existing ``name(.bib)`` among ``dirs``."""
    name = name.strip()
    if not name:
        return None
    for d in dirs:
        for cand in (_with_ext(os.path.join(d, name), ".bib"), os.path.join(d, name)):
            cand = os.path.normpath(cand)
            if exists(cand):
                return cand
    return None


def scan_project(root: str, facts_of: FactsOf, env: dict[str, str] | None = None,
                 exists: Callable[[str], bool] = os.path.isfile) -> Project:
    """Walk the include graph from ``root`` collecting bibliography references (cycles and repeats end)."""
    root = os.path.normpath(os.path.abspath(root))
    project = Project(root=root)
    root_dir = os.path.dirname(root)
    extra_dirs = bibinputs_dirs(env)
    seen: set[str] = set()
    stack = [root]
    while stack and len(seen) < MAX_FILES:
        path = stack.pop()
        if path in seen:
            continue
        facts = facts_of(path)
        if facts is None:
            continue
        seen.add(path)
        project.tex_files.append(path)
        here = os.path.dirname(path)
        for bib in facts.bibliographies:
            for name in bib.names:
                resolved = resolve_bib(name, [root_dir, here, *extra_dirs], exists)
                project.references.append(BibReference(path, bib.line, name, resolved))
                if resolved and resolved not in project.bib_files:
                    project.bib_files.append(resolved)
        children = []
        for inc in facts.includes:
            if inc.command in ("import", "inputfrom", "includefrom"):
                bases = [os.path.join(root_dir, inc.directory or "")]
                if inc.directory and os.path.isabs(inc.directory):
                    bases = [inc.directory]
            elif inc.command in ("subimport", "subinputfrom", "subincludefrom"):
                bases = [os.path.join(here, inc.directory or "")]
            else:
                bases = [root_dir, here]
            for cand in _tex_candidates(bases, inc.name):
                if facts_of(cand) is not None:
                    children.append(cand)
                    break
        stack.extend(reversed(children))
    project.truncated = bool(stack) and len(seen) >= MAX_FILES
    return project


def find_root(path: str, facts_of: FactsOf, workspace: str | None = None) -> str:
    """The root document of ``path``: a magic comment, else itself if it has ``\\documentclass``, else a
    workspace .tex with ``\\documentclass`` whose include graph reaches it, else itself. Without a workspace,
    the file's folder and the parent folder's own .tex files are searched."""
    path = os.path.normpath(os.path.abspath(path))
    facts = facts_of(path)
    root = magic_root(facts, path) if facts is not None else None
    if root:
        return root
    if facts is not None and facts.documentclass:
        return path
    if workspace:
        candidates = _workspace_files(workspace, ".tex")
    else:  # no workspace: the file's folder, and the top of its parent (chapters/x.tex beside main.tex)
        here = os.path.dirname(path)
        candidates = _workspace_files(here, ".tex") + _folder_files(os.path.dirname(here), ".tex")
    for cand in candidates:
        if cand == path:
            continue
        cfacts = facts_of(cand)
        if cfacts is not None and cfacts.documentclass and path in scan_project(cand, facts_of).tex_files:
            return cand
    return path


def _workspace_files(folder: str, ext: str, limit: int = MAX_FILES) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.lower().endswith(ext):
                out.append(os.path.normpath(os.path.join(dirpath, f)))
                if len(out) >= limit:
                    return out
    return out


def _folder_files(folder: str, ext: str) -> list[str]:
    """Files of ``folder`` itself (not below) ending in ``ext``, sorted."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, f) for f in names if f.lower().endswith(ext) and os.path.isfile(os.path.join(folder, f))]


def discover(path: str, facts_of: FactsOf | None = None, workspace: str | None = None,
             env: dict[str, str] | None = None) -> Project:
    """The project of a .tex file and its .bib files (every workspace .bib when none is named). Without
    ``facts_of``, files are read from disk and scanned with the default citation commands."""
    if facts_of is None:
        facts_of = FactsCache(Sources(), CiteMatcher()).facts
    root = find_root(path, facts_of, workspace)
    project = scan_project(root, facts_of, env)
    if path not in project.tex_files:
        # The root does not reach this file (a stale magic comment, a file being written): scan it too.
        extra = scan_project(path, facts_of, env)
        project.tex_files += [f for f in extra.tex_files if f not in project.tex_files]
        project.references += extra.references
        project.bib_files += [b for b in extra.bib_files if b not in project.bib_files]
        project.truncated = project.truncated or extra.truncated
    if not project.references:
        project.bib_files = _workspace_files(workspace or os.path.dirname(project.root), ".bib", MAX_WORKSPACE_BIBS)
    return project


class FactsCache:
    """The facts of each file, kept while its stamp (``Sources.stamp``) stays the same; thread-safe."""

    def __init__(self, sources: Sources, matcher: CiteMatcher) -> None:
        self.sources = sources
        self.matcher = matcher
        self._facts: dict[str, tuple[object, str, FileFacts]] = {}  # path -> (stamp, text scanned, facts)
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
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        text = self.sources.read(path)
        if text is None:
            return None
        return text, self._scan(path, stamp, text)

    def facts_for_text(self, path: str, text: str) -> FileFacts:
        """The facts of ``text``, the current text of ``path``: cached when that very text was scanned."""
        with self._lock:
            cached = self._facts.get(path)
        if cached is not None and cached[1] is text:
            return cached[2]
        facts = update_facts(cached[1], cached[2], text, self.matcher) if cached is not None else None
        if facts is None:
            return self._scan(path, self.sources.stamp(path), text)
        with self._lock:
            self._facts[path] = (self.sources.stamp(path), text, facts)
        return facts

    def _scan(self, path: str, stamp: object, text: str) -> FileFacts:
        facts = scan_file(text, self.matcher)
        with self._lock:
            self._facts[path] = (stamp, text, facts)
        return facts


class ProjectIndex:
    """The projects of the documents of one workspace, from the files' facts; thread-safe.

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
        self._projects: dict[str, tuple[Project, tuple]] = {}
        self._lock = threading.Lock()

    def facts(self, path: str, text: str) -> FileFacts:
        """The facts of ``text``, the current text of ``path`` (scanned once per version)."""
        return self.files.facts_for_text(os.path.normpath(os.path.abspath(path)), text)

    def _shape(self, project: Project) -> tuple:
        facts = [self.files.facts(f) for f in project.tex_files]
        return tuple(None if f is None else f.structure for f in facts)

    def project(self, path: str) -> Project:
        path = os.path.normpath(os.path.abspath(path))
        with self._lock:
            cached = self._projects.get(path)
        if cached is not None and self._shape(cached[0]) == cached[1]:
            return cached[0]
        project = discover(path, self.files.facts, self.workspace, self.env)
        project.bib_files += [p for p in self.extra_bibs if p not in project.bib_files]
        with self._lock:
            self._projects[path] = (project, self._shape(project))
        return project
