r"""Commands a project defines to name its bibliography: a university template's
``\newcommand{\ppgccbibliography}[2][]{… \bibliography{#2} …}`` used as ``\ppgccbibliography{../bib/refs}``.

``latex.facts`` records, per file, each such definition (``BibWrapper``: found around a bibliography command whose
names hold a parameter) and the uses of commands that may be one (``CommandUse``: a command with "bib" in its name,
or one the file itself defines so); ``latex.graph`` matches the uses to the definitions of the whole project (the
class may define what the document uses) and reads the names from the use's arguments. Definitions read:
``\newcommand``/``\renewcommand``/``\providecommand`` (with ``[n]`` and an optional argument's ``[default]``),
``\def\name#1#2`` and xparse's ``\NewDocumentCommand`` (argument types ``m``, ``o``, ``O{default}``, ``s``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from texcite.latex.scan import finditer

MAX_BODY = 20_000  # characters a definition's body is read for its closing brace
MAX_ARGUMENTS = 9
MAX_USES = 256  # uses recorded per file (\bibinfo-like commands of a thebibliography are excluded below)
# Commands with "bib" in their name that name no bibliography file (a thebibliography's may be used hundreds of times).
_NOT_WRAPPERS = frozenset({"bibitem", "bibinfo", "bibfield", "bibliographystyle", "bibname", "bibfont", "bibsection",
                           "printbibliography", "printbibheading", "BibTeX", "bibtex"})
_HEAD_RE = re.compile(
    r"""
    \\(?:
        (?:new|renew|provide)command\*?\s*(?:\{\s*\\(?P<n1>[A-Za-z@]+)\s*\}|\\(?P<n2>[A-Za-z@]+))
        \s*(?:\[\s*(?P<count>\d)\s*\])?\s*(?:\[(?P<default>[^\[\]]{0,512})\])?\s*\{
      | [egx]?def\s*\\(?P<n3>[A-Za-z@]+)\s*(?P<params>(?:\#\d)*)\s*\{
      | (?:New|Renew|Provide|Declare)DocumentCommand\s*(?:\{\s*\\(?P<n4>[A-Za-z@]+)\s*\}|\\(?P<n5>[A-Za-z@]+))
        \s*\{(?P<spec>[^{}]{0,256}(?:\{[^{}]{0,256}\}[^{}]{0,256}){0,9})\}\s*\{
    )
    """,
    re.VERBOSE,
)
_SPEC_RE = re.compile(r"\s*(?:(?P<kind>[mos])|O\s*\{(?P<default>[^{}]{0,256})\})")
_BIBLIKE = r"[A-Za-z@]*[Bb][Ii][Bb][A-Za-z@]*"
_PARAMETER_RE = re.compile(r"#(\d)")


@dataclass(frozen=True)
class BibWrapper:
    """A command whose body names the bibliography by its arguments: its name, its parameters in order ('m'
    mandatory, 'o' optional, 's' a star), the default of each (an optional argument's, else ''), and the
    bibliography command of its body with the names as written there (``#2``, ``bib/#1``)."""

    name: str
    parameters: str
    defaults: tuple[str, ...]
    command: str
    options: str
    names: str


@dataclass(frozen=True)
class CommandUse:
    """A command that may be a ``BibWrapper``, as used: its name, 0-based line, columns on that line, and its
    arguments in order ('o' for ``[…]``, 'm' for ``{…}``, 's' for a star) with their text."""

    name: str
    line: int
    start: int
    end: int
    arguments: tuple[tuple[str, str], ...]


def definition_around(text: str, start: int, end: int) -> tuple[str, str, tuple[str, ...]] | None:
    """The command whose definition's body holds ``text[start:end]`` (a bibliography command naming a parameter):
    its name, parameter kinds and defaults; None when no definition read here encloses it."""
    for m in reversed(list(_HEAD_RE.finditer(text, max(0, start - MAX_BODY), start))):
        close = _closing_brace(text, m.end() - 1)
        if close is None or close < end:
            continue
        name = m.group("n1") or m.group("n2") or m.group("n3") or m.group("n4") or m.group("n5")
        if m.group("n3"):
            count = len(m.group("params")) // 2
            return name, "m" * count, ("",) * count
        if m.group("n4") or m.group("n5"):
            kinds, defaults = [], []
            for s in _SPEC_RE.finditer(m.group("spec")):
                kinds.append(s.group("kind") or "o")
                defaults.append(s.group("default") or "")
            return name, "".join(kinds), tuple(defaults)
        count = int(m.group("count") or 0)
        if m.group("default") is not None and count:
            return name, "o" + "m" * (count - 1), (m.group("default"),) + ("",) * (count - 1)
        return name, "m" * count, ("",) * count
    return None


def _closing_brace(text: str, opening: int) -> int | None:
    """The offset of the brace closing the one at ``opening`` (escaped braces skipped), within MAX_BODY."""
    depth = 0
    i, stop = opening, min(len(text), opening + MAX_BODY)
    while i < stop:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


# A command defining the name that follows it: ``\renewcommand\bibliographytypesize{..}``,
# ``\NewDocumentCommand\mybibliography{s o m}{..}`` (its argument specification is no use of it).
_DEFINING_RE = re.compile(r"\\(?:(?:new|renew|provide)command\*?|(?:New|Renew|Provide|Declare)DocumentCommand|[egx]?def)"
                          r"\s*\{?\s*$")


def defined_at(text: str, start: int) -> bool:
    """Is the command name at ``start`` of ``text`` the one a definition defines?"""
    return _DEFINING_RE.search(text, max(0, start - 32), start) is not None


def uses(text: str, defined: frozenset[str], in_comment: Callable[[int], bool],
         handled: Callable[[str], bool]) -> list[CommandUse]:
    """The uses of commands that may wrap a bibliography command: "bib" in the name, or ``defined`` by this file;
    not those ``handled`` as bibliography commands themselves, nor their definitions."""
    pattern = re.compile(r"\\(?P<name>" + "".join(re.escape(n) + "|" for n in sorted(defined)) + _BIBLIKE
                         + r")(?![A-Za-z@])")
    out: list[CommandUse] = []
    line, counted = 0, 0
    for m in finditer(pattern, text):
        name = m.group("name")
        if name in _NOT_WRAPPERS or handled(name) or in_comment(m.start()) or defined_at(text, m.start()):
            continue
        arguments, end = _arguments(text, m.end())
        if not any(kind == "m" for kind, _ in arguments):
            continue  # a definition's head, or a command used without a name to give
        line, counted = line + text.count("\n", counted, m.start()), m.start()
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.start())
        out.append(CommandUse(name, line, m.start() - line_start,
                              min(end, len(text) if line_end == -1 else line_end) - line_start, tuple(arguments)))
        if len(out) >= MAX_USES:
            break
    return out


def _arguments(text: str, i: int) -> tuple[list[tuple[str, str]], int]:
    """The star, ``[…]`` and ``{…}`` arguments following offset ``i`` (spaces and one line break between them,
    each on one line), and where they end."""
    out: list[tuple[str, str]] = []
    while len(out) < MAX_ARGUMENTS:
        j = i
        while j < len(text) and text[j] in " \t":
            j += 1
        if j < len(text) and text[j] == "\n":
            j += 1
            while j < len(text) and text[j] in " \t":
                j += 1
        if j >= len(text):
            break
        if text[j] == "*" and not out:
            out.append(("s", "*"))
            i = j + 1
            continue
        # An argument ends on its line (an edit elsewhere cannot change it: ``facts.update_facts``).
        line_end = text.find("\n", j)
        line_end = len(text) if line_end < 0 else line_end
        if text[j] == "[":
            bracket = text.find("]", j, line_end)
            if bracket < 0:
                break
            out.append(("o", text[j + 1:bracket]))
            i = bracket + 1
        elif text[j] == "{":
            brace = _closing_brace(text, j)
            if brace is None or brace > line_end:
                break
            out.append(("m", text[j + 1:brace]))
            i = brace + 1
        else:
            break
    return out, i


def names_of(wrapper: BibWrapper, use: CommandUse) -> str | None:
    """The names a use of ``wrapper`` gives its bibliography command (the body's names with each parameter
    replaced by the use's argument); None when the use's arguments do not fit the parameters."""
    given = list(use.arguments)
    values: list[str] = []
    for kind, default in zip(wrapper.parameters, wrapper.defaults, strict=True):
        if kind == "m":
            while given and given[0][0] != "m":
                given.pop(0)  # a star or option the definition does not take
            if not given:
                return None
            values.append(given.pop(0)[1])
        elif given and given[0][0] == kind:
            values.append(given.pop(0)[1])
        else:
            values.append(default)
    names = _PARAMETER_RE.sub(lambda p: values[int(p.group(1)) - 1] if 0 < int(p.group(1)) <= len(values)
                              else p.group(0), wrapper.names)
    return None if "#" in names else names
