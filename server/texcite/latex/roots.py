r"""The root document of a .tex file: a chain of ``% !TEX root = ...`` comments or
``\documentclass[main]{subfiles}`` (loops end), else the file itself when it has ``\documentclass`` (but for a
file of the ``standalone`` class or package or whose class is inside a conditional, which a document may include:
a document including it first), else a document of its project folder whose include graph reaches it. The project folder is the nearest enclosing
workspace folder, repository (``.git``) or root marker (``.latexmkrc``, ``latexmkrc``, ``.texlabroot``,
``texlabroot``, ``Tectonic.toml``); without one, the file's folder and the top of three folders above it are
searched.
"""

from __future__ import annotations

import os
from typing import Sequence

from texcite.latex.facts import FileFacts
from texcite.latex.graph import FactsOf, folder_files, with_ext, workspace_files, scan_project

ROOT_MARKERS = (".git", ".latexmkrc", "latexmkrc", ".texlabroot", "texlabroot", "Tectonic.toml")
STANDALONE = ("standalone.cls", "standalone.sty")  # a chapter written to compile alone and be included as well
ANCESTORS = 3  # without a project folder: how many folders above a file are searched for its root


def magic_root(facts: FileFacts, path: str) -> str | None:
    """The file named by ``% !TEX root = ...``, as an absolute path."""
    if not facts.magic_root:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(path), facts.magic_root))


def subfiles_main(facts: FileFacts, path: str) -> str | None:
    """The main file of a ``\\documentclass[../main.tex]{subfiles}`` chapter, as an absolute path."""
    if not facts.subfiles_main:
        return None
    return with_ext(os.path.normpath(os.path.join(os.path.dirname(path), facts.subfiles_main)), ".tex")


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
    standalone = facts is not None and (facts.class_guarded or any(p in facts.packages for p in STANDALONE))
    if facts is not None and facts.documentclass and not standalone:
        return path, "the file has \\documentclass"
    folder = project_folder(path, [f for f in (workspace, *folders) if f])
    if folder is not None:
        candidates = workspace_files(folder, ".tex")
    else:  # no project folder: the file's folder, and the top of the folders above it (chapters/x.tex, main.tex)
        here = os.path.dirname(path)
        candidates = workspace_files(here, ".tex")
        for _ in range(ANCESTORS):
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
            candidates += folder_files(here, ".tex")
    for cand in candidates:
        if cand == path:
            continue
        cfacts = facts_of(cand)
        if cfacts is not None and cfacts.documentclass and path in scan_project(cand, facts_of,
                                                                                 folder=folder).tex_files:
            return cand, f"{os.path.basename(cand)} includes it"
    if standalone:
        return path, "the file has \\documentclass (standalone) and no document including it was found"
    return path, "no document including it was found; the file is its own root"
