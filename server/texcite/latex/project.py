r"""The LaTeX project a .tex document belongs to: its root, the files it includes and the bibliographies it uses,
with the reason for each (``explain``), found the way TeX and the common build tools find them.

Root: a chain of ``% !TEX root = ...`` comments or ``\documentclass[main]{subfiles}`` (loops end), else the file
itself when it has ``\documentclass``, else a document of its project folder whose include graph reaches it. The
project folder is the nearest enclosing workspace folder, repository (``.git``) or root marker (``.latexmkrc``,
``latexmkrc``, ``.texlabroot``, ``texlabroot``, ``Tectonic.toml``); without one, the file's folder and the top of
three folders above it are searched.

Bibliographies: ``\bibliography``, ``\addbibresource`` (options, biber globs, ``\subfix``), ``\addglobalbib``,
``\addsectionbib``, ``\nobibliography``, ``\defaultbibliography`` / ``\putbib[..]`` (bibunits) and multibib's
``\bibliographyXXX`` in the root and every file it reaches through ``\input \include \subfile \import
\subimport``; a name is looked for beside the root and the naming file, in BIBINPUTS, then through kpsewhich
(``latex.kpathsea``). A name given by a macro is read from the last build (``latex.buildfiles``). A document with
``thebibliography`` and no named bibliography offers its own ``\bibitem``s. Only when the document names no
bibliography at all is every .bib of the project folder used, and the project says so (``fallback``).

Files are known by their facts (``latex.facts``), kept per content version by ``ProjectIndex``, so an edit
re-scans one file and the graph is walked again only when the edited file's includes, bibliographies or root
changed.
"""

from __future__ import annotations

import glob
import os
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from texcite.files import Sources
from texcite.latex import kpathsea
from texcite.latex.buildfiles import recorded_bibliographies
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import FileFacts, scan_file, update_facts

# The facts of a file by path (None: no such file or unreadable).
FactsOf = Callable[[str], "FileFacts | None"]
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".texcite-cache", "_minted"}
ROOT_MARKERS = (".git", ".latexmkrc", "latexmkrc", ".texlabroot", "texlabroot", "Tectonic.toml")
MAX_FILES = 2_000
MAX_WORKSPACE_BIBS = 200
MAX_GLOB = 500
ANCESTORS = 3  # without a project folder: how many folders above a file are searched for its root
_GLOB_CHARS = set("*?[")


@dataclass
class BibReference:
    """A bibliography named in a .tex file: where (0-based line, the command's columns), the name as written, the
    path it resolved to (None if missing; the first of ``paths``, the files a glob or a build file gave), the
    folders it was looked for in, and how it was found."""

    source: str
    line: int
    name: str
    path: str | None
    command: str = "bibliography"
    start: int = 0
    end: int = 0
    paths: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    found_by: str = ""  # e.g. "beside the root", "BIBINPUTS", "kpsewhich", "glob", "the last build (main.aux)"
    remote: bool = False  # ``\addbibresource[location=remote]``: a URL, not a file


@dataclass
class Project:
    """The documents reachable from a root and the bibliographies they use, and why."""

    root: str
    tex_files: list[str] = field(default_factory=list)
    references: list[BibReference] = field(default_factory=list)
    bib_files: list[str] = field(default_factory=list)
    fallback: bool = False  # the document names no bibliography: every .bib of the project folder is used
    truncated: bool = False  # more than MAX_FILES files: the rest were not followed
    root_reason: str = ""  # how the root was found, for people
    folder: str | None = None  # the project folder (workspace folder, repository or marker) when there is one
    bibitems: list[str] = field(default_factory=list)  # .tex files whose \bibitems are the candidates

    @property
    def reason(self) -> str:
        """Where the candidates come from, in one line for people (the status, ``texcite project``)."""
        if self.fallback:
            return "workspace fallback: the document names no bibliography"
        if self.bibitems:
            return "thebibliography: the document's own \\bibitem entries"
        missing = [r.name for r in self.references if not r.paths and not r.remote]
        found = len(self.bib_files)
        return f"{found} bibliography file{'s' if found != 1 else ''} named by the document" + (
            f"; not found: {', '.join(missing)}" if missing else "")


def magic_root(facts: FileFacts, path: str) -> str | None:
    """The file named by ``% !TEX root = ...``, as an absolute path."""
    if not facts.magic_root:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(path), facts.magic_root))


def subfiles_main(facts: FileFacts, path: str) -> str | None:
    """The main file of a ``\\documentclass[../main.tex]{subfiles}`` chapter, as an absolute path."""
    if not facts.subfiles_main:
        return None
    return _with_ext(os.path.normpath(os.path.join(os.path.dirname(path), facts.subfiles_main)), ".tex")


def _with_ext(path: str, ext: str) -> str:
    return path if path.lower().endswith(ext) else path + ext


def _tex_candidates(base_dirs: list[str], name: str) -> list[str]:
    name = _unsubfix(name.strip())
    cands = []
    for d in base_dirs:
        p = os.path.normpath(os.path.join(d, name))
        cands += [_with_ext(p, ".tex"), p] if not p.lower().endswith(".tex") else [p]
    return cands


def _unsubfix(name: str) -> str:
    """``\\subfix{../refs.bib}`` -> ``../refs.bib`` (subfiles' path relative to the file that writes it)."""
    name = name.strip()
    if name.startswith("\\subfix") and name.endswith("}") and "{" in name:
        return name[name.index("{") + 1:-1].strip()
    return name


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


def _options(raw: str) -> dict[str, str]:
    out = {}
    for part in raw.split(","):
        k, _, v = part.partition("=")
        if k.strip():
            out[k.strip().lower()] = v.strip().lower()
    return out


def _locate(ref: BibReference, name: str, dirs: list[tuple[str, str]], root_dir: str, env: dict[str, str] | None,
            exists: Callable[[str], bool], globbing: bool) -> None:
    """Fill ``ref.paths`` / ``searched`` / ``found_by`` for one name: the folders ``dirs`` ((folder, why) in order),
    a biber glob, then kpsewhich."""
    if globbing and _GLOB_CHARS & set(name):
        for d, why in dirs:
            pattern = os.path.join(d, name)
            ref.searched.append(pattern)
            hits = sorted(p for p in glob.glob(pattern, recursive=True) if p.lower().endswith(".bib") and exists(p))
            if hits:
                ref.paths = [os.path.normpath(p) for p in hits[:MAX_GLOB]]
                ref.found_by = f"glob {name} {why}"
                return
        return
    for d, why in dirs:
        ref.searched.append(d)
        found = resolve_bib(name, [d], exists)
        if found:
            ref.paths, ref.found_by = [found], why
            return
    if os.path.isabs(name):
        return
    found = kpathsea.find_bib(_with_ext(name, ".bib"), root_dir, env)
    if kpathsea.kpsewhich_binary() is not None:
        ref.searched.append("kpsewhich (TEXMF trees)")
    if found and exists(found):
        ref.paths, ref.found_by = [found], "kpsewhich (TEXMF trees)"


def _references(path: str, facts: FileFacts, root: str, env: dict[str, str] | None,
                exists: Callable[[str], bool]) -> list[BibReference]:
    root_dir, here = os.path.dirname(root), os.path.dirname(path)
    extra = [(d, "in BIBINPUTS") for d in bibinputs_dirs(env)]
    out = []
    for bib in facts.bibliographies:
        options = _options(bib.options)
        for name in bib.names:
            ref = BibReference(path, bib.line, name, None, bib.command, bib.start, bib.end)
            if options.get("location") == "remote" or "://" in name:
                ref.remote, ref.found_by = True, "a remote resource (not read)"
                out.append(ref)
                continue
            if name.startswith("\\subfix"):
                plain = _unsubfix(name)
                dirs = [(here, "beside the file naming it (\\subfix)")]
            elif "\\" in name:  # a macro: only TeX knows its value; the last build recorded it
                ref.searched.append("the last build's .aux/.bcf")
                recorded = recorded_bibliographies(root)
                if recorded is not None:
                    build, names = recorded
                    for n in names:
                        found = resolve_bib(n, [root_dir, os.path.dirname(build)], exists)
                        if found and found not in ref.paths:
                            ref.paths.append(found)
                    ref.found_by = f"the last build ({os.path.relpath(build, root_dir)})"
                out.append(ref)
                continue
            else:
                plain = name
                dirs = [(root_dir, "beside the root document")]
                if here != root_dir:
                    dirs.append((here, "beside the file naming it"))
            _locate(ref, plain, dirs + extra, root_dir, env, exists,
                    globbing=bib.command == "addbibresource" and options.get("glob") != "false")
            out.append(ref)
    return out


def scan_project(root: str, facts_of: FactsOf, env: dict[str, str] | None = None,
                 exists: Callable[[str], bool] = os.path.isfile) -> Project:
    """Walk the include graph from ``root`` collecting bibliography references (cycles and repeats end)."""
    root = os.path.normpath(os.path.abspath(root))
    project = Project(root=root)
    root_dir = os.path.dirname(root)
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
        if facts.bibitems:
            project.bibitems.append(path)
        for ref in _references(path, facts, root, env, exists):
            project.references.append(ref)
            ref.path = ref.paths[0] if ref.paths else None
            project.bib_files += [p for p in ref.paths if p not in project.bib_files]
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


def project_folder(path: str, folders: Sequence[str] = ()) -> str | None:
    """The folder a file's project lives in: the nearest enclosing workspace folder, repository (``.git``) or root
    marker folder; None when there is none."""
    wanted = {os.path.normpath(os.path.abspath(f)) for f in folders if f}
    d = os.path.dirname(os.path.normpath(os.path.abspath(path)))
    while True:
        if d in wanted or any(os.path.exists(os.path.join(d, m)) for m in ROOT_MARKERS):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _root_chain(path: str, facts_of: FactsOf) -> tuple[str, str] | None:
    """Follow ``% !TEX root`` comments and subfiles' main files from ``path``: (the root, why); None when ``path``
    names none. A loop ends at the file where it closes."""
    current, why = path, []
    seen = {path}
    while True:
        facts = facts_of(current)
        if facts is None:
            break
        nxt = magic_root(facts, current)
        how = "% !TEX root"
        if nxt is None:
            nxt, how = subfiles_main(facts, current), "\\documentclass[..]{subfiles}"
        if nxt is None:
            break
        if nxt in seen:
            why.append(f"(loop back to {os.path.basename(nxt)} ignored)")
            break
        why.append(f"{how} in {os.path.basename(current)} -> {os.path.basename(nxt)}")
        seen.add(nxt)
        current = nxt
    if current == path:
        return None
    return current, "; ".join(why)


def find_root_why(path: str, facts_of: FactsOf, workspace: str | None = None,
                  folders: Sequence[str] = ()) -> tuple[str, str]:
    """The root document of ``path`` and how it was found: a chain of magic comments / subfiles mains, else itself
    if it has ``\\documentclass``, else a document of its project folder (``project_folder``) with
    ``\\documentclass`` whose include graph reaches it, else itself."""
    path = os.path.normpath(os.path.abspath(path))
    chain = _root_chain(path, facts_of)
    if chain is not None:
        return chain
    facts = facts_of(path)
    if facts is not None and facts.documentclass:
        return path, "the file has \\documentclass"
    folder = project_folder(path, [f for f in (workspace, *folders) if f])
    if folder is not None:
        candidates = _workspace_files(folder, ".tex")
    else:  # no project folder: the file's folder, and the top of the folders above it (chapters/x.tex, main.tex)
        here = os.path.dirname(path)
        candidates = _workspace_files(here, ".tex")
        for _ in range(ANCESTORS):
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
            candidates += _folder_files(here, ".tex")
    for cand in candidates:
        if cand == path:
            continue
        cfacts = facts_of(cand)
        if cfacts is not None and cfacts.documentclass and path in scan_project(cand, facts_of).tex_files:
            return cand, f"{os.path.basename(cand)} includes it"
    return path, "no document including it was found; the file is its own root"


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
             env: dict[str, str] | None = None, folders: Sequence[str] = ()) -> Project:
    """The project of a .tex file and its bibliographies: the named ones; else its own ``\\bibitem``s; else every
    .bib of the project folder (``fallback``). ``folders``: the workspace folders besides ``workspace``. Without
    ``facts_of``, files are read from disk and scanned with the default citation commands."""
    if facts_of is None:
        facts_of = FactsCache(Sources(), CiteMatcher()).facts
    path = os.path.normpath(os.path.abspath(path))
    root, root_reason = find_root_why(path, facts_of, workspace, folders)
    project = scan_project(root, facts_of, env)
    project.root_reason = root_reason
    project.folder = project_folder(path, [f for f in (workspace, *folders) if f])
    if path not in project.tex_files:
        # The root does not reach this file (a stale magic comment, a file being written): scan it too.
        extra = scan_project(path, facts_of, env)
        project.tex_files += [f for f in extra.tex_files if f not in project.tex_files]
        project.references += extra.references
        project.bib_files += [b for b in extra.bib_files if b not in project.bib_files]
        project.bibitems += [b for b in extra.bibitems if b not in project.bibitems]
        project.truncated = project.truncated or extra.truncated
    if project.references:
        project.bibitems = []
    elif project.bibitems:
        project.bib_files = list(project.bibitems)
    else:
        project.bib_files = _workspace_files(project.folder or os.path.dirname(project.root), ".bib",
                                             MAX_WORKSPACE_BIBS)
        project.fallback = True
    return project


def no_entries_reason(project: Project) -> str:
    """Why a project has no candidates, in a few words (its bibliographies are missing, absent or empty)."""
    missing = [r.name for r in project.references if not r.paths and not r.remote]
    if missing:
        return ", ".join(f"'{n}'" for n in missing) + " not found"
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
    lines.append("bibliographies:")
    for ref in project.references:
        named = f"\\{ref.command}{{{ref.name}}} in {rel(ref.source)}:{ref.line + 1}"
        if ref.remote:
            lines.append(f"  {named}: {ref.found_by}")
        elif ref.paths:
            found = ", ".join(rel(p) for p in ref.paths)
            lines.append(f"  {found}  <- {named}, found {ref.found_by}")
        else:
            lines.append(f"  NOT FOUND: {named}; looked in: {'; '.join(rel(s) for s in ref.searched) or 'nowhere'}")
    for tex in project.bibitems:
        lines.append(f"  {rel(tex)}  <- its thebibliography (\\bibitem entries)")
    if project.fallback:
        lines += [f"  {rel(b)}" for b in project.bib_files]
    lines.append(f"candidates: {project.reason}")
    return [line for line in lines if line]


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
