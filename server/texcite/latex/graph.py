r"""The project graph of a root document (texlab's word): the files it reaches through ``\input \include \subfile
\import \subimport`` (and its class and packages where they are files of the project, as a university template's
``thesis.cls``) and the bibliographies they name — ``\bibliography``, ``\addbibresource`` (options, biber
globs, ``\subfix``), ``\addglobalbib``, ``\addsectionbib``, ``\nobibliography``, ``\defaultbibliography`` /
``\putbib[..]`` (bibunits) and multibib's ``\bibliographyXXX`` — each looked for where TeX looks: beside the root
and the naming file, in BIBINPUTS, then through kpsewhich (``latex.kpathsea``). A name or folder given by a macro
takes the values the project's definitions give it (``\newcommand{\BibResource}{refs.bib}``, ``\def\PATH{.}``;
the first that exists, as under ``\IfFileExists``), else the last build's record (``latex.buildfiles``). Every
reference keeps where it was looked for and how it was found.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from typing import Callable

from texcite.latex import kpathsea
from texcite.latex.bibwrappers import BibWrapper, names_of
from texcite.latex.buildfiles import recorded_bibliographies
from texcite.latex.facts import BibCommand, FileFacts, Include, split_bib_names

# The facts of a file by path (None: no such file or unreadable).
FactsOf = Callable[[str], "FileFacts | None"]

_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".texcite-cache", "_minted"}
MAX_FILES = 2_000
MAX_WORKSPACE_BIBS = 200
MAX_GLOB = 500
_GLOB_CHARS = set("*?[")
_MACRO_NAME_RE = re.compile(r"\\([A-Za-z@]+)")
MAX_EXPANSIONS = 8
CHAPTERBIB = "chapterbib.sty"
# The project's definitions without parameters: name -> its values, in the order the project defines them.
Macros = dict[str, list[str]]


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
    via: str = ""  # the project's command that gave the bibliography command (``latex.bibwrappers``)


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
    # chapterbib: each \include'd chapter cites from the bibliographies it names itself (a key may name another
    # work in another chapter); a chapter's files -> its bibliographies
    units: dict[str, list[str]] = field(default_factory=dict)
    # Files the document includes that were found nowhere: (the file naming one, the command as written); an
    # \input of a bare name is left out (TeX may find 'glyphtounicode' in its distribution), and a definition's
    # parameter (\import{./figures/}{#1.pdf_tex})
    unfound: list[tuple[str, str]] = field(default_factory=list)
    scopes: dict[str, list[str]] = field(default_factory=dict)  # multibib: a command -> its bibliographies

    def scope(self, command: str) -> list[str] | None:
        """The bibliographies citation ``command`` cites from when multibib tells (``latex.multibib``), else None."""
        return self.scopes.get(command, self.scopes.get("")) or None

    def bibs_for(self, path: str) -> list[str]:
        """The bibliographies a citation in ``path`` is resolved against: its chapter's (chapterbib), else the
        project's."""
        return self.units.get(os.path.normpath(os.path.abspath(path))) or self.bib_files

    @property
    def missing(self) -> list[str]:
        """The names of the bibliographies the document names that were found nowhere."""
        return [r.name for r in self.references if not r.paths and not r.remote]

    @property
    def reason(self) -> str:
        """Where the candidates come from, in one line for people (the status, ``texcite project``)."""
        if self.fallback:
            return "workspace fallback: the document names no bibliography"
        if self.bibitems:
            return "thebibliography: the document's own \\bibitem entries"
        found = len(self.bib_files)
        return f"{found} bibliography file{'s' if found != 1 else ''} named by the document" + (
            f"; not found: {', '.join(self.missing)}" if self.missing else "")


def with_ext(path: str, ext: str) -> str:
    return path if path.lower().endswith(ext) else path + ext


def _tex_candidates(base_dirs: list[str], name: str) -> list[str]:
    name = _unsubfix(name.strip())
    cands = []
    for d in base_dirs:
        p = os.path.normpath(os.path.join(d, name))
        cands += [with_ext(p, ".tex"), p] if not p.lower().endswith(".tex") else [p]
    return cands


def expand(text: str, macros: Macros) -> list[str]:
    """The values ``text`` takes with the project's definitions: one per combination of the values of the macros
    it names (a macro defined twice, as by the two branches of ``\\IfFileExists``, gives two), in definition order,
    at most MAX_EXPANSIONS; none that still holds an undefined macro. Text without macros is its own value."""
    out = [text]
    for _ in range(MAX_EXPANSIONS):
        step = []
        for t in out:
            m = _MACRO_NAME_RE.search(t)
            step += [t] if m is None else [t[:m.start()] + v + t[m.end():] for v in macros.get(m.group(1), ())]
        step = list(dict.fromkeys(step))[:MAX_EXPANSIONS]
        if step == out:
            break
        out = step
    return [t for t in out if "\\" not in t]


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
        for cand in (with_ext(os.path.join(d, name), ".bib"), os.path.join(d, name)):
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
    found = kpathsea.find_bib(with_ext(name, ".bib"), root_dir, env)
    if kpathsea.kpsewhich_binary() is not None:
        ref.searched.append("kpsewhich (TEXMF trees)")
    if found and exists(found):
        ref.paths, ref.found_by = [found], "kpsewhich (TEXMF trees)"


def _wrapped(facts: FileFacts, wrappers: dict[str, BibWrapper]) -> list[BibCommand]:
    """The bibliography commands a file gives through the project's commands defined to name one
    (``\\ppgccbibliography{../bib/refs}`` -> ``\\bibliography{../bib/refs}``, via ppgccbibliography)."""
    out = []
    for use in facts.wrapper_uses:
        wrapper = wrappers.get(use.name)
        raw = names_of(wrapper, use) if wrapper is not None else None
        names = tuple(n.strip() for n in split_bib_names(raw or "") if n.strip())
        if wrapper is not None and names:
            out.append(BibCommand(use.line, names, wrapper.command, wrapper.options, use.start, use.end, use.name))
    return out


def _references(path: str, bibliographies: list[BibCommand], root: str, env: dict[str, str] | None,
                exists: Callable[[str], bool], macros: Macros, above: list[str]) -> list[BibReference]:
    root_dir, here = os.path.dirname(root), os.path.dirname(path)
    beside = [(root_dir, "beside the root document")] + ([(here, "beside the file naming it")] if here != root_dir
                                                          else [])
    beside += [(d, "in a folder above the root (compiled from there)") for d in above if d != here]
    extra = [(d, "in BIBINPUTS") for d in bibinputs_dirs(env)]
    out = []
    for bib in bibliographies:
        options = _options(bib.options)
        for name in bib.names:
            ref = BibReference(path, bib.line, name, None, bib.command, bib.start, bib.end, via=bib.via)
            if options.get("location") == "remote" or "://" in name:
                ref.remote, ref.found_by = True, "a remote resource (not read)"
                out.append(ref)
                continue
            if name.startswith("\\subfix"):
                plain = _unsubfix(name)
                dirs = [(here, "beside the file naming it (\\subfix)")]
            elif "\\" in name:  # a macro: the values the project defines for it, else the last build's record
                for value in expand(name, macros):
                    _locate(ref, value, beside + extra, root_dir, env, exists, globbing=False)
                    if ref.paths:
                        ref.found_by = f"{ref.found_by} ({name} defined as {value})"
                        break
                if ref.paths:
                    out.append(ref)
                    continue
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
                plain, dirs = name, beside
            _locate(ref, plain, dirs + extra, root_dir, env, exists,
                    globbing=bib.command == "addbibresource" and options.get("glob") != "false")
            out.append(ref)
    return out


def _compiled_from(root_dir: str, folder: str | None) -> list[str]:
    """The folders above the root up to its project folder, nearest first: where a document may be compiled from
    (Overleaf compiles a main document in a subfolder from the project's top: ``\\include{thesis/ch1}``)."""
    out: list[str] = []
    d = root_dir
    while folder is not None and d != folder and d.startswith(folder + os.sep):
        d = os.path.dirname(d)
        out.append(d)
    return out


def scan_project(root: str, facts_of: FactsOf, env: dict[str, str] | None = None,
                 exists: Callable[[str], bool] = os.path.isfile, folder: str | None = None) -> Project:
    """Walk the include graph from ``root`` collecting bibliography references (cycles and repeats end). A name
    found neither beside the root nor beside the file naming it is looked for in the folders above the root up to
    ``folder``, the project folder."""
    root = os.path.normpath(os.path.abspath(root))
    project = Project(root=root)
    root_dir = os.path.dirname(root)
    above = _compiled_from(root_dir, folder and os.path.normpath(os.path.abspath(folder)))
    seen: set[str] = set()
    macros: Macros = {}
    reached: list[tuple[str, FileFacts]] = []
    included: dict[str, list[str]] = {}  # file -> the files it \include's (chapterbib's chapters)
    inputs: dict[str, list[str]] = {}  # file -> the files it reaches otherwise (\input, \subfile, \import ...)
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
        reached.append((path, facts))
        here = os.path.dirname(path)
        if facts.bibitems:
            project.bibitems.append(path)
        for name, value in facts.macros:
            macros.setdefault(name, []).append(value)
        children = []
        for inc in facts.includes:
            child = _included(inc, root_dir, here, facts_of, macros, above)
            if child is None and (inc.command != "input" or "/" in inc.name or inc.directory) and "#" not in (
                    inc.name + (inc.directory or "")):  # (a parameter: the body of a definition)
                written = f"{{{inc.directory}}}" if inc.directory is not None else ""
                project.unfound.append((path, f"\\{inc.command}{written}{{{inc.name}}}"))
            if child is not None:
                children.append(child)
                (included if inc.command == "include" else inputs).setdefault(path, []).append(child)
        for name in facts.packages:  # a class or package of the project's own (TeX finds it beside the root)
            cand = os.path.normpath(os.path.join(root_dir, name))
            if facts_of(cand) is not None:
                children.append(cand)
        stack.extend(reversed(children))
    project.truncated = bool(stack) and len(seen) >= MAX_FILES
    wrappers: dict[str, BibWrapper] = {}
    for _, facts in reached:
        for wrapper in facts.wrappers:
            wrappers.setdefault(wrapper.name, wrapper)
    for path, facts in reached:  # once every definition is known: a preamble file may define a name used before it
        bibliographies = list(facts.bibliographies) + _wrapped(facts, wrappers)
        for ref in _references(path, bibliographies, root, env, exists, macros, above):
            project.references.append(ref)
            ref.path = ref.paths[0] if ref.paths else None
            project.bib_files += [p for p in ref.paths if p not in project.bib_files]
    if any(CHAPTERBIB in facts.packages for _, facts in reached):
        project.units = _chapters(included, inputs, project.references)
    return project


def _chapters(included: dict[str, list[str]], inputs: dict[str, list[str]],
              references: list[BibReference]) -> dict[str, list[str]]:
    """chapterbib's units: each \\include'd file with the files it reaches otherwise (\\input), -> the
    bibliographies they name; a chapter naming none cites from the project's."""
    units: dict[str, list[str]] = {}
    for chapter in dict.fromkeys(c for chapters in included.values() for c in chapters):
        members: list[str] = []
        stack = [chapter]
        while stack:
            member = stack.pop()
            if member not in members:
                members.append(member)
                stack += inputs.get(member, [])
        bibs = list(dict.fromkeys(p for ref in references if ref.source in members for p in ref.paths))
        if bibs:
            units.update(dict.fromkeys(members, bibs))
    return units


def _included(inc: Include, root_dir: str, here: str, facts_of: FactsOf, macros: Macros,
              above: list[str]) -> str | None:
    """The file an include names (its folder and name expanded with the definitions read so far), if it exists."""
    for directory in expand(inc.directory, macros) if inc.directory else [None]:
        if inc.command in ("import", "inputfrom", "includefrom"):
            bases = [directory if directory and os.path.isabs(directory) else os.path.join(root_dir, directory or "")]
        elif inc.command in ("subimport", "subinputfrom", "subincludefrom"):
            bases = [os.path.join(here, directory or "")]
        else:
            bases = [root_dir, here, *above]
        for name in [inc.name] if inc.name.startswith("\\subfix") else expand(inc.name, macros):
            for cand in _tex_candidates(bases, name):
                if facts_of(cand) is not None:
                    return cand
    return None


def workspace_files(folder: str, ext: str, limit: int = MAX_FILES) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.lower().endswith(ext):
                out.append(os.path.normpath(os.path.join(dirpath, f)))
                if len(out) >= limit:
                    return out
    return out


def folder_files(folder: str, ext: str) -> list[str]:
    """Files of ``folder`` itself (not below) ending in ``ext``, sorted."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, f) for f in names if f.lower().endswith(ext) and os.path.isfile(os.path.join(folder, f))]
