"""The LaTeX project a .tex document belongs to: its root, the files it includes and the .bib files it uses.

Sources, in order: a ``% !TEX root = ...`` magic comment, ``\\bibliography{a,b}`` / ``\\addbibresource{x.bib}``
in the root and every file it reaches through ``\\input \\include \\subfile \\import \\subimport``, BIBINPUTS for
names not found beside the document, and — when the document names no bibliography at all — every .bib in
the workspace folder. Include cycles end; files are read through a callable so editor buffers win over disk.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from texcite.files import ReadText, read_disk
from texcite.latex.plaintext import strip_comments

_MAGIC_ROOT_RE = re.compile(r"^\s*%\s*!\s*TEX\s+root\s*=\s*(?P<path>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_INCLUDE_RE = re.compile(
    r"""
    \\(?:
        (?P<cmd2>import|subimport|inputfrom|includefrom|subinputfrom|subincludefrom)(?![A-Za-z])\*?
        \s*\{(?P<dir>[^{}]*)\}\s*\{(?P<file2>[^{}]*)\}     # \import{dir}{file}: two arguments
      | (?P<cmd>input|include|subfile)(?![A-Za-z])\*?
        \s*(?:\{(?P<file>[^{}]*)\}|(?P<bare>[^\s{}\\%]+))  # \input{file} or \input file
    )
    """,
    re.VERBOSE,
)
_BIB_RE = re.compile(
    r"""
    \\(?P<cmd>bibliography|addbibresource|addglobalbib|addsectionbib|nobibliography)(?![A-Za-z])\*?
    \s*(?:\[[^\]]*\]\s*)?            # \addbibresource[location=...]{x.bib}
    \{(?P<names>[^{}]*)\}
    """,
    re.VERBOSE,
)
_DOCCLASS_RE = re.compile(r"^[^%\n]*\\documentclass(?![A-Za-z])", re.MULTILINE)
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
    from_workspace: bool = False


def has_documentclass(text: str) -> bool:
    """Does the text declare a document class outside comments (is it a root document)?"""
    return _DOCCLASS_RE.search(text) is not None


def magic_root(text: str, path: str) -> str | None:
    """The file named by ``% !TEX root = ...`` in the first lines, as an absolute path."""
    head = "\n".join(text.splitlines()[:30])
    m = _MAGIC_ROOT_RE.search(head)
    if not m:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(path), m.group("path").strip().strip('"')))


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


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset)


def scan_project(root: str, read: ReadText = read_disk, env: dict[str, str] | None = None,
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
        text = read(path)
        if text is None:
            continue
        seen.add(path)
        project.tex_files.append(path)
        source = strip_comments(text)
        here = os.path.dirname(path)
        for m in _BIB_RE.finditer(source):
            for name in m.group("names").split(","):
                if not name.strip():
                    continue
                resolved = resolve_bib(name, [root_dir, here, *extra_dirs], exists)
                project.references.append(BibReference(path, _line_of(source, m.start()), name.strip(), resolved))
                if resolved and resolved not in project.bib_files:
                    project.bib_files.append(resolved)
        children = []
        for m in _INCLUDE_RE.finditer(source):
            name = m.group("file") or m.group("file2") or m.group("bare") or ""
            directory = m.group("dir")
            cmd = m.group("cmd") or m.group("cmd2")
            if cmd in ("import", "inputfrom", "includefrom"):
                bases = [os.path.join(root_dir, directory or "")]
                if directory and os.path.isabs(directory):
                    bases = [directory]
            elif cmd in ("subimport", "subinputfrom", "subincludefrom"):
                bases = [os.path.join(here, directory or "")]
            else:
                bases = [root_dir, here]
            for cand in _tex_candidates(bases, name):
                if exists(cand) or read is not read_disk and read(cand) is not None:
                    children.append(cand)
                    break
        stack.extend(reversed(children))
    return project


def find_root(path: str, read: ReadText = read_disk, workspace: str | None = None) -> str:
    """The root document of ``path``: a magic comment, else itself if it has ``\\documentclass``, else a
    workspace .tex with ``\\documentclass`` whose include graph reaches it, else itself. Without a workspace,
    the file's folder and the parent folder's own .tex files are searched."""
    path = os.path.normpath(os.path.abspath(path))
    text = read(path) or ""
    root = magic_root(text, path)
    if root:
        return root
    if has_documentclass(text):
        return path
    if workspace:
        candidates = _workspace_files(workspace, ".tex")
    else:  # no workspace: the file's folder, and the top of its parent (chapters/x.tex beside main.tex)
        here = os.path.dirname(path)
        candidates = _workspace_files(here, ".tex") + _folder_files(os.path.dirname(here), ".tex")
    for cand in candidates:
        if cand == path:
            continue
        ctext = read(cand)
        if ctext and has_documentclass(ctext) and path in scan_project(cand, read).tex_files:
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


def discover(path: str, read: ReadText = read_disk, workspace: str | None = None,
             env: dict[str, str] | None = None) -> Project:
    """The project of a .tex file and its .bib files (every workspace .bib when none is named)."""
    root = find_root(path, read, workspace)
    project = scan_project(root, read, env)
    if path not in project.tex_files:
        # The root does not reach this file (a stale magic comment, a file being written): scan it too.
        extra = scan_project(path, read, env)
        project.tex_files += [f for f in extra.tex_files if f not in project.tex_files]
        project.references += extra.references
        project.bib_files += [b for b in extra.bib_files if b not in project.bib_files]
    if not project.references:
        project.bib_files = _workspace_files(workspace or os.path.dirname(project.root), ".bib", MAX_WORKSPACE_BIBS)
        project.from_workspace = True
    return project


class ProjectIndex:
    """Discovers projects (cached until a .tex changes) for documents of one workspace; thread-safe."""

    def __init__(self, read: ReadText = read_disk, workspace: str | None = None, extra_bibs: Sequence[str] = (),
                 env: dict[str, str] | None = None) -> None:
        self.read = read
        self.workspace = workspace
        self.env = env
        base = workspace or os.getcwd()
        self.extra_bibs = [os.path.normpath(p if os.path.isabs(p) else os.path.join(base, os.path.expanduser(p)))
                           for p in extra_bibs]
        self._projects: dict[str, Project] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
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
        project.bib_files += [p for p in self.extra_bibs if p not in project.bib_files]
        with self._lock:
            self._projects[path] = project
        return project
