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

from texcite.latex.cite import CiteMatcher, cited_commands
from texcite.latex.plaintext import strip_comments, to_plain
from texcite.latex.scan import in_comment, keys_in, verbatim_spans

SECTION_COMMANDS = "part chapter section subsection subsubsection paragraph subparagraph".split()

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
_SECTION_TITLE_RE = re.compile(
    r"""
    \\(?P<level>""" + "|".join(SECTION_COMMANDS) + r""")\*?(?![A-Za-z])
    (?:\s*\[[^\]\n]*\])?\s*
    \{(?P<title>[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*)\}
    """,
    re.VERBOSE,
)
_MAGIC_LINES = 30  # a magic comment counts in the first lines only


@dataclass(frozen=True)
class Include:
    """``\\input{name}``, ``\\import{directory}{name}`` ...: the command, its folder argument (if any) and the name."""

    command: str
    directory: str | None
    name: str


@dataclass(frozen=True)
class BibCommand:
    """``\\bibliography{a,b}`` / ``\\addbibresource{x.bib}``: the names and the 0-based line."""

    line: int
    names: tuple[str, ...]


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

    @cached_property
    def structure(self) -> tuple:
        """What the project graph depends on: equal structures mean the same includes, bibliographies and root."""
        return self.magic_root, self.documentclass, self.includes, tuple(b.names for b in self.bibliographies)

    def section_at(self, offset: int) -> str:
        """Plain-text title of the last heading before ``offset`` ('' if none)."""
        i = bisect.bisect_left(self.section_offsets, offset) - 1
        return self.section_titles[i] if i >= 0 else ""

    def in_verbatim(self, offset: int) -> bool:
        i = bisect.bisect_right(self.verbatim, (offset, float("inf"))) - 1
        return i >= 0 and self.verbatim[i][0] < offset < self.verbatim[i][1]


def has_documentclass(text: str) -> bool:
    """Does the text declare a document class outside comments (is it a root document)?"""
    return _DOCCLASS_RE.search(text) is not None


def scan_file(text: str, matcher: CiteMatcher) -> FileFacts:
    """The facts of a file's text: one pass per kind of fact, each linear in the text."""
    head = "\n".join(text.split("\n", _MAGIC_LINES)[:_MAGIC_LINES])
    magic = _MAGIC_ROOT_RE.search(head)
    source = strip_comments(text)  # what comments hide does not count; lines stay where they are
    includes = []
    for m in _INCLUDE_RE.finditer(source):
        includes.append(Include(m.group("cmd") or m.group("cmd2"), m.group("dir"),
                                (m.group("file") or m.group("file2") or m.group("bare") or "").strip()))
    bibliographies = []
    for m in _BIB_RE.finditer(source):
        names = tuple(n.strip() for n in m.group("names").split(",") if n.strip())
        if names:
            bibliographies.append(BibCommand(source.count("\n", 0, m.start()), names))
    offsets, titles = [], []
    for m in _SECTION_TITLE_RE.finditer(text):
        if not in_comment(text, m.start()):
            offsets.append(m.start())
            titles.append(to_plain(m.group("title")))
    cites = []
    section_index = 0
    for cmd in cited_commands(text, matcher):
        while section_index < len(offsets) and offsets[section_index] < cmd.start:
            section_index += 1
        section = titles[section_index - 1] if section_index else ""
        for g in cmd.groups:
            if g.closed:
                for m in keys_in(text, g.start, g.end):
                    cites.append(KeyCite(m.group(0), m.start(), m.end(), cmd.start, cmd.end, section))
    return FileFacts(
        magic_root=magic.group("path").strip().strip('"') if magic else None,
        documentclass=has_documentclass(text),
        includes=tuple(includes),
        bibliographies=tuple(bibliographies),
        section_offsets=tuple(offsets),
        section_titles=tuple(titles),
        verbatim=tuple(verbatim_spans(text)),
        cites=tuple(cites),
    )
