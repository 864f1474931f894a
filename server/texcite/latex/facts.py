"""What one .tex file declares, scanned once per content version: its magic root, whether it is a root document,
the files it includes, the bibliographies it names, its section headings, its verbatim spans and every citation
key it uses (where, in which section).

The project graph, the section title and verbatim state at the cursor, and the project-wide citation
statistics are all read from these facts, so a keystroke re-scans one file at most, never the project.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property

from texcite.latex.bibwrappers import BibWrapper, CommandUse, defined_at, definition_around, uses
from texcite.latex.cite import MAX_KEYLIST, CiteMatcher, cite_commands, cited_commands, declared_commands
from texcite.latex.plaintext import strip_comments, to_plain
from texcite.latex.edits import common_prefix, common_suffix, end_of_line, start_of_line
from texcite.latex.scan import (SECTION_COMMANDS, Comments, finditer, keys_in, split_outside_braces, tex_read_end,
                                verbatim_spans)


_MAGIC_ROOT_RE = re.compile(r"^\s*%\s*!\s*TEX\s+root\s*=\s*(?P<path>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_INCLUDE_RE = re.compile(
    r"""
    \\(?:
        (?P<cmd2>import|subimport|inputfrom|includefrom|subinputfrom|subincludefrom)(?![A-Za-z])\*?
        \s*\{(?P<dir>[^{}]{0,1024})\}\s*\{(?P<file2>[^{}]{0,1024})\}     # \import{dir}{file}: two arguments
      | (?P<cmd>input|include|subfile)(?![A-Za-z])\*?
        \s*(?:\{(?P<file>[^{}]{0,1024})\}|(?P<bare>[^\s{}\\%]{1,1024}))  # \input{file} or \input file
    )
    """,
    re.VERBOSE,
)
_BIB_COMMANDS = (r"bibliography(?!style|typesize|unit)[A-Za-z]*|addbibresource|addglobalbib|addsectionbib|nobibliography"
                  r"|defaultbibliography|putbib")
_BIB_COMMAND_RE = re.compile(f"(?:{_BIB_COMMANDS})")
# biblatex's \begin{refsection}[paper1.bib]: the resources of that section (a thesis by publication's chapters).
_REFSECTION_RE = re.compile(r"\\begin\s*\{refsection\}\s*\[(?P<names>[^\[\]{}]{1,4096})\]")
_BIBLIKE_RE = re.compile(r"\\[A-Za-z@]*bib", re.IGNORECASE)
_BIB_RE = re.compile(
    r"""
    \\(?P<cmd>""" + _BIB_COMMANDS + r""")(?![A-Za-z])\*?
    \s*(?:\[(?P<options>[^\[\]]{0,512})\]\s*)?    # \addbibresource[location=...]{x.bib}, \putbib[unitrefs]
    (?:\{(?P<names>[^{}]{0,4096}(?:\{[^{}]{0,1024}\}[^{}]{0,4096}){0,64})\})?  # one level of braces: \subfix{x}
    """,
    re.VERBOSE,
)
# The document's class and packages: a class or package file beside the document (a university template's
# ``thesis.cls``) may name the bibliography.
_PACKAGE_RE = re.compile(
    r"\\(?P<cmd>documentclass|usepackage|RequirePackage|LoadClass)(?:WithOptions)?(?![A-Za-z])"
    r"\s*(?:\[[^\[\]]{0,1024}\]\s*)?\{(?P<names>[^{}\\]{1,1024})\}"
)
# A definition without parameters, whose value a bibliography or an included folder may name:
# ``\newcommand{\BibResource}{refs.bib}``, ``\def\PATH{.}`` (one level of braces in the value).
_MACRO_RE = re.compile(
    r"\\(?:(?:new|renew|provide)command\*?\s*(?:\{\s*\\(?P<name>[A-Za-z@]+)\s*\}|\\(?P<bare>[A-Za-z@]+))"
    r"|[egx]?def\s*\\(?P<defname>[A-Za-z@]+))"
    r"\s*\{(?P<value>[^{}#%\n]{0,1024}(?:\{[^{}#%\n]{0,1024}\}[^{}#%\n]{0,1024}){0,8})\}"
)
_CONDITIONAL_RE = re.compile(r"\\(?:if(?!thenelse)[A-Za-z@]*|fi)(?![A-Za-z@])")
_DOCCLASS_RE = re.compile(r"^[^%\n]*\\documentclass(?![A-Za-z])", re.MULTILINE)
_BEGIN_DOCUMENT_RE = re.compile(r"^[^%\n]*\\begin\s*\{document\}", re.MULTILINE)
_SUBFILES_RE = re.compile(r"^[^%\n]*\\documentclass\s*\[(?P<main>[^\]]{1,1024})\]\s*\{subfiles\}", re.MULTILINE)
_THEBIBLIOGRAPHY_RE = re.compile(r"\\begin\s*\{thebibliography\}")
_SECTION_TITLE_RE = re.compile(
    r"""
    \\(?P<level>""" + "|".join(SECTION_COMMANDS) + r""")\*?(?![A-Za-z])
    (?:\s*\[[^\[\]\n]{0,512}\])?\s*
    \{(?P<title>[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*)\}
    """,
    re.VERBOSE,
)
_MAGIC_LINES = 30  # a magic comment counts in the first lines only
MAX_EDIT = 20_000  # characters changed at most for an update in place; a larger change is scanned whole
_LOOKBACK = 4 * MAX_KEYLIST  # how far before an edit a citation command's arguments may start to reach it
# Text that can change the file's structure, its headings, its definitions or its verbatim spans: an edit touching
# it is scanned whole (typing ordinary text, and citations, never is).
_STRUCTURAL = ("\\input", "\\include", "\\subfile", "\\import", "\\subimport", "\\subinput", "\\subinclude",
               "bibliograph", "\\addbibresource", "\\addglobalbib", "\\addsectionbib", "\\putbib",
               "\\documentclass", "\\usepackage", "\\RequirePackage", "\\LoadClass", "\\begin", "\\end", "\\part",
               "\\chapter", "section", "paragraph", "\\newcommand", "\\renewcommand", "\\providecommand", "\\def",
               "\\edef", "\\gdef", "\\xdef", "\\verb", "\\lstinline", "\\endinput", "\\newcites")


@dataclass(frozen=True)
class Include:
    """``\\input{name}``, ``\\import{directory}{name}`` ...: the command, its folder argument (if any) and the name."""

    command: str
    directory: str | None
    name: str


@dataclass(frozen=True)
class BibCommand:
    """``\\bibliography{a,b}`` / ``\\addbibresource[options]{x.bib}`` / ``\\putbib[unitrefs]`` ...: the names it
    gives (as written: a name may hold ``\\subfix{..}``, a glob or a macro), the 0-based line, the command's
    columns on that line (``end`` is the line's end when the command runs on) and the command's name and options."""

    line: int
    names: tuple[str, ...]
    command: str = "bibliography"
    options: str = ""
    start: int = 0
    end: int = 0
    via: str = ""  # the project's command whose use gave it (``\\ppgccbibliography{refs}``), if not written as is


@dataclass(frozen=True)
class KeyCite:
    """One key cited: the key, its offsets, the offsets of its citation command and the section it is in."""

    key: str
    start: int
    end: int
    command_start: int
    command_end: int
    section: str


@dataclass(frozen=True)
class FileFacts:
    """The facts of one version of one .tex file (offsets into that version's text)."""

    magic_root: str | None  # as written after ``% !TEX root =``
    documentclass: bool
    includes: tuple[Include, ...]
    bibliographies: tuple[BibCommand, ...]
    section_offsets: tuple[int, ...]  # where each heading starts, ascending
    section_titles: tuple[str, ...]
    verbatim: tuple[tuple[int, int], ...]
    cites: tuple[KeyCite, ...] = field(repr=False)
    subfiles_main: str | None = None  # ``\\documentclass[../main.tex]{subfiles}``: the main file, as written
    bibitems: bool = False  # holds a ``thebibliography`` environment
    packages: tuple[str, ...] = ()  # the files of its class and packages: ``\\documentclass{thesis}`` -> 'thesis.cls'
    macros: tuple[tuple[str, str], ...] = ()  # (name, value) of its definitions without parameters, in order
    wrappers: tuple[BibWrapper, ...] = ()  # commands it defines to name a bibliography (``latex.bibwrappers``)
    wrapper_uses: tuple[CommandUse, ...] = ()  # uses of commands that may be such a command, defined here or not
    # It names a bibliography by a parameter (in a definition's body, ``\\bibliography{#2}``): any edit may change
    # which definition encloses it, so edits scan it whole.
    bib_parameters: bool = False
    read_end: int = -1  # where TeX stops reading it (the line of \\endinput), -1 for its end
    class_guarded: bool = False  # its \\documentclass is inside a conditional: a chapter compiling alone too
    cite_commands: tuple[str, ...] = ()  # citation commands it defines (``latex.cite.declared_commands``)

    @cached_property
    def structure(self) -> tuple:
        """What the project graph depends on: equal structures mean the same includes, bibliographies, root and
        citation commands defined (multibib's scopes)."""
        return (self.magic_root, self.documentclass, self.class_guarded, self.cite_commands, self.subfiles_main,
                self.bibitems, self.includes, self.packages, self.macros,
                tuple((b.command, b.options, b.names) for b in self.bibliographies), self.wrappers,
                tuple((u.name, u.arguments) for u in self.wrapper_uses))

    def section_at(self, offset: int) -> str:
        """Plain-text title of the last heading before ``offset`` ('' if none)."""
        i = bisect.bisect_left(self.section_offsets, offset) - 1
        return self.section_titles[i] if i >= 0 else ""

    def in_verbatim(self, offset: int) -> bool:
        i = bisect.bisect_right(self.verbatim, (offset, float("inf"))) - 1
        return i >= 0 and self.verbatim[i][0] < offset < self.verbatim[i][1]


def has_begin_document(text: str) -> bool:
    """Does the text begin the document outside comments (``\\begin{document}``)?"""
    return next(finditer(_BEGIN_DOCUMENT_RE, text), None) is not None


def has_documentclass(text: str) -> bool:
    """Does the text declare a document class outside comments (is it a root document)?"""
    return next(finditer(_DOCCLASS_RE, text), None) is not None


def class_guarded(text: str, in_comment: Comments) -> bool:
    """Is its ``\\documentclass`` inside a conditional (``\\ifdefined\\thesismode\\else \\documentclass..\\fi``: a
    chapter compiling alone that the thesis includes)?"""
    head = next(finditer(_DOCCLASS_RE, text), None)
    if head is None:
        return False
    before = [m for m in _CONDITIONAL_RE.finditer(text, 0, head.end()) if not in_comment(m.start())]
    return sum(1 if m.group() != "\\fi" else -1 for m in before) > 0


def scan_file(text: str, matcher: CiteMatcher) -> FileFacts:
    """The facts of a file's text, as far as TeX reads it (``\\endinput``): one pass per kind of fact, each linear
    in the text."""
    read_end = tex_read_end(text)
    if read_end >= 0:
        text = text[:read_end]
    head = "\n".join(text.split("\n", _MAGIC_LINES)[:_MAGIC_LINES])
    magic = _MAGIC_ROOT_RE.search(head)
    in_comment = Comments(text)
    includes = []
    for m in finditer(_INCLUDE_RE, text):
        if not in_comment(m.start()):  # what a comment hides does not count
            includes.append(Include(m.group("cmd") or m.group("cmd2"), m.group("dir"),
                                    (m.group("file") or m.group("file2") or m.group("bare") or "").strip()))
    bibliographies, wrappers, bib_parameters = [], [], False
    line, counted = 0, 0
    for m in finditer(_BIB_RE, text):
        command, options = m.group("cmd"), m.group("options") or ""
        if command == "putbib":  # bibunits: \putbib[unitrefs] names its files in the brackets
            raw = options if m.group("names") is None else options + "," + m.group("names")
            options = ""
        else:
            raw = m.group("names") or ""
            if m.group("names") is None:
                continue
        names = tuple(n.strip() for n in split_bib_names(raw) if n.strip())
        if defined_at(text, m.start()):  # \renewcommand\bibliographytypesize{..}: a definition, no bibliography
            continue
        if any("#" in n for n in names):  # a parameter: the body of a command defined to name the bibliography
            bib_parameters = True
            defined = definition_around(text, m.start(), m.end()) if not in_comment(m.start()) else None
            if defined is not None:
                wrappers.append(BibWrapper(*defined, command, options.strip(), raw.strip()))
            continue
        if names and not in_comment(m.start()):
            line, counted = line + text.count("\n", counted, m.start()), m.start()
            line_start = text.rfind("\n", 0, m.start()) + 1
            line_end = text.find("\n", m.start())
            end = min(m.end(), len(text) if line_end == -1 else line_end)
            bibliographies.append(BibCommand(line, names, command, options.strip(), m.start() - line_start,
                                             end - line_start))
    for m in finditer(_REFSECTION_RE, text):
        names = tuple(n.strip() for n in split_bib_names(m.group("names")) if n.strip())
        if names and not in_comment(m.start()):
            line_start = text.rfind("\n", 0, m.start()) + 1
            bibliographies.append(BibCommand(text.count("\n", 0, m.start()), names, "refsection", "",
                                             m.start() - line_start, m.end() - line_start))
    offsets, titles = [], []
    for m in finditer(_SECTION_TITLE_RE, text):
        if not in_comment(m.start()):
            offsets.append(m.start())
            titles.append(to_plain(m.group("title")))
    verbatim = verbatim_spans(text, comments=in_comment)
    cites = []
    section_index = 0
    for cmd in cited_commands(text, matcher, verbatim=verbatim, comments=in_comment):
        while section_index < len(offsets) and offsets[section_index] < cmd.start:
            section_index += 1
        section = titles[section_index - 1] if section_index else ""
        for g in cmd.groups:
            if g.closed:
                for m in keys_in(text, g.start, g.end):
                    cites.append(KeyCite(m.group(0), m.start(), m.end(), cmd.start, cmd.end, section))
    subfiles = next((m for m in finditer(_SUBFILES_RE, text)), None)
    bibitems = any(not in_comment(m.start()) for m in finditer(_THEBIBLIOGRAPHY_RE, text))
    packages = []
    for m in finditer(_PACKAGE_RE, text):
        if not in_comment(m.start()):
            ext = ".cls" if m.group("cmd") in ("documentclass", "LoadClass") else ".sty"
            packages += [name.strip() + ext for name in m.group("names").split(",") if name.strip()]
    macros = [(m.group("name") or m.group("bare") or m.group("defname"), m.group("value").strip())
              for m in finditer(_MACRO_RE, text) if not in_comment(m.start())]
    return FileFacts(
        magic_root=magic.group("path").strip().strip('"') if magic else None,
        documentclass=has_documentclass(text),
        class_guarded=class_guarded(text, in_comment),
        includes=tuple(includes),
        bibliographies=tuple(bibliographies),
        section_offsets=tuple(offsets),
        section_titles=tuple(titles),
        verbatim=tuple(verbatim),
        cites=tuple(cites),
        subfiles_main=subfiles.group("main").strip() if subfiles else None,
        bibitems=bibitems,
        packages=tuple(dict.fromkeys(packages)),
        macros=tuple(macros),
        wrappers=tuple(wrappers),
        wrapper_uses=tuple(uses(text, frozenset(w.name for w in wrappers), in_comment, _handled)),
        bib_parameters=bib_parameters,
        read_end=read_end,
        cite_commands=declared_commands(text, in_comment),
    )


def _handled(name: str) -> bool:
    """Is ``name`` a bibliography command read as such (``_BIB_RE``), not through a definition?"""
    return _BIB_COMMAND_RE.fullmatch(name) is not None


def split_bib_names(raw: str) -> list[str]:
    """A name list split on commas outside braces (``\\subfix{a,b}`` is one name), without its comments
    (``\\bibliography{a,%`` and ``b}`` on the next line name a and b)."""
    return split_outside_braces(strip_comments(raw))


def update_facts(old_text: str, facts: FileFacts, text: str, matcher: CiteMatcher) -> FileFacts | None:
    """The facts of ``text`` from those of ``old_text`` when the edit between them is small and touches no
    structure (includes, bibliographies, headings, verbatim, the magic root): only the changed lines are scanned,
    later offsets shift. None when the whole text must be scanned (``scan_file``)."""
    p = common_prefix(old_text, text)
    q = common_suffix(old_text, text, min(len(old_text), len(text)) - p)
    old_end, new_end = len(old_text) - q, len(text) - q
    if old_end - p > MAX_EDIT or new_end - p > MAX_EDIT:
        return None
    delta = len(text) - len(old_text)
    lo = start_of_line(text, p, 1)
    hi = end_of_line(text, new_end, 1)
    # A citation command crossing the window's edges is scanned again whole.
    for c in facts.cites:
        if c.command_start < lo < c.command_end:
            lo = c.command_start
        old_hi = hi - delta
        if c.command_start < old_hi < c.command_end:
            hi = c.command_end + delta
    # A command starting before the window that reads differently now (its closing brace typed in the window:
    # ``\cite{a,`` lines above) is scanned again whole too. Each argument is read for at most MAX_KEYLIST
    # characters (a prenote, options, the key list), so commands starting further back read as before (but for
    # a \cites with more than a few key lists that long).
    start = max(0, lo - _LOOKBACK)
    before_edit = {cmd.start: cmd for cmd in cite_commands(old_text, matcher, start, lo)}
    for cmd in cite_commands(text, matcher, start, lo):
        if before_edit.get(cmd.start) != cmd:
            lo = cmd.start
            break
    old_hi = hi - delta
    if lo <= end_of_line(text, 0, _MAGIC_LINES):  # the head may name the root
        return None
    old_region, new_region = old_text[lo:old_hi], text[lo:hi]
    if any(w in old_region or w in new_region for w in _STRUCTURAL):
        return None
    if 0 <= facts.read_end <= old_hi:
        return None  # the edit reaches the line of \\endinput or what TeX does not read
    if facts.bib_parameters or _BIBLIKE_RE.search(old_region) or _BIBLIKE_RE.search(new_region):
        return None  # a command that may name the bibliography through a definition (``latex.bibwrappers``)
    if any(a < old_hi and b > lo for a, b in facts.verbatim):
        return None
    if (facts.bibliographies or facts.wrapper_uses) and old_region.count("\n") != new_region.count("\n"):
        return None  # bibliography commands know their line
    section = facts.section_at(lo)
    verbatim = [(a + delta, b + delta) if a >= old_hi else (a, b) for a, b in facts.verbatim]
    fresh = []
    for cmd in cited_commands(text, matcher, lo, hi, verbatim):
        for g in cmd.groups:
            if g.closed:
                for m in keys_in(text, g.start, g.end):
                    fresh.append(KeyCite(m.group(0), m.start(), m.end(), cmd.start, cmd.end, section))
    before = [c for c in facts.cites if c.command_start < lo]
    after = [KeyCite(c.key, c.start + delta, c.end + delta, c.command_start + delta, c.command_end + delta, c.section)
             for c in facts.cites if c.command_start >= old_hi]
    return FileFacts(
        magic_root=facts.magic_root,
        documentclass=facts.documentclass,
        class_guarded=facts.class_guarded,
        includes=facts.includes,
        bibliographies=facts.bibliographies,
        section_offsets=tuple(o + delta if o >= old_hi else o for o in facts.section_offsets),
        section_titles=facts.section_titles,
        verbatim=tuple(verbatim),
        cites=tuple(before + fresh + after),
        subfiles_main=facts.subfiles_main,
        bibitems=facts.bibitems,
        packages=facts.packages,
        macros=facts.macros,
        wrappers=facts.wrappers,
        wrapper_uses=facts.wrapper_uses,
        bib_parameters=facts.bib_parameters,
        read_end=facts.read_end + delta if facts.read_end >= 0 else -1,
        cite_commands=facts.cite_commands,
    )
