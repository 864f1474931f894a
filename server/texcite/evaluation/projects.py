"""Finding the LaTeX projects under a path: the path itself when it names a root document, else its subfolders,
``DEPTH`` levels deep. A folder's root is SOURCE.json's ``main``, else a top-level .tex with ``\\documentclass`` or
``\\begin{document}`` that no other one includes, one that begins the document first (main/thesis/paper first).
Confined to what an ``inside`` test allows (the web page: its project folder), only files it allows are read,
symlinked folders are not entered and a root it refuses is skipped with a note.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from texcite.files import MAX_BIB_BYTES, Sources, read_disk
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import has_begin_document
from texcite.latex.graph import scan_project
from texcite.latex.project import FactsCache

DEPTH = 3  # folder levels searched below the path
PREFERRED_ROOTS = ("main", "thesis", "paper")  # the root among several .tex with \documentclass
_ENTRY_KEY_RE = re.compile(r"^[ \t]*@[ \t]*\w+[ \t]*[{(][ \t]*([^\s,{}()]+)[ \t]*,", re.MULTILINE)


class FoundProject(NamedTuple):
    """A project: its folder and its root .tex."""

    folder: str
    root: str


@dataclass
class Found:
    """The projects under a path, and notes on the ones skipped (a root outside what may be read)."""

    projects: list[FoundProject] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def project_root(folder: str, readable: Callable[[str], bool] = os.path.exists) -> str | None:
    """The root .tex of a project folder: SOURCE.json's ``main``, else a top-level .tex with \\documentclass or
    \\begin{document} that no other one includes (a preamble file holding the class is not the root), one that
    begins the document first: main/thesis/paper, else one whose files name a bibliography found, else the one
    whose files cite most. Only files for which ``readable(path)`` holds are read."""
    meta = os.path.join(folder, "SOURCE.json")
    if os.path.isfile(meta) and readable(meta):
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
    cache = FactsCache(Sources(), CiteMatcher())  # each file read and scanned once, here and for the graphs below
    read = {n: found for n in names if readable(os.path.join(folder, n))
            and (found := cache.text_and_facts(os.path.join(folder, n))) is not None}
    begins = {n for n, (text, _) in read.items() if has_begin_document(text)}
    candidates = [n for n, (_, facts) in read.items() if n in begins or facts.documentclass]
    # A preamble file with the \documentclass that the document \input's (header.tex) is not the root.
    included = {_stem(i.name) for n in candidates for i in read[n][1].includes}
    roots = [n for n in candidates if _stem(n) not in included] or candidates
    roots = [n for n in roots if n in begins] or roots
    if not roots:
        return None

    keys: dict[str, set[str]] = {}  # each bibliography's keys (as an entry's head reads), read once

    def rank(n: str) -> tuple:
        """main/thesis/paper first, then a document whose files name a bibliography found (not the CV beside the
        thesis), then the one whose files cite most of the keys its bibliographies define (the thesis, not a paper,
        a template or an older draft beside it)."""
        graph = scan_project(os.path.join(folder, n), lambda p: cache.facts(p) if readable(p) else None)
        for bib in (p for r in graph.references for p in r.paths if p not in keys):
            keys[bib] = set(_ENTRY_KEY_RE.findall(read_disk(bib, MAX_BIB_BYTES) or "")) if readable(bib) else set()
        defined = set().union(*(keys[p] for r in graph.references for p in r.paths))
        cites = sum(c.key in defined for f in map(cache.facts, graph.tex_files) if f is not None for c in f.cites)
        return _stem(n) not in PREFERRED_ROOTS, not any(r.paths for r in graph.references), -cites, n

    return os.path.join(folder, min(roots, key=rank) if len(roots) > 1 else roots[0])


def _stem(name: str) -> str:
    """A file as an include command names it: its name without folder and .tex, in lower case."""
    return os.path.splitext(os.path.basename(name.strip()))[0].lower()


def find_projects(path: str, inside: Callable[[str], bool] | None = None, depth: int = DEPTH) -> Found:
    """The project at ``path``, or the projects in its subfolders (sorted by name, hidden folders skipped). With
    ``inside``, only what it allows is read: symlinked folders are not entered and a root outside is skipped."""
    found = Found()

    def visit(folder: str, depth: int) -> None:
        root = project_root(folder, inside or os.path.exists)
        if root is not None:
            if inside is None or inside(root):
                found.projects.append(FoundProject(folder, root))
            else:
                found.skipped.append(f"{os.path.relpath(folder, path)}: skipped, its root {root} is outside the "
                                     "project folder.")
            return
        if depth == 0:
            return
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return
        for name in names:
            sub = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isdir(sub) and (inside is None or not os.path.islink(sub)):
                visit(sub, depth - 1)

    visit(path, depth)
    return found
