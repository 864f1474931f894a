"""Comments in a .bib that biber and BibTeX read past and bibtexparser does not: a ``%`` comment between an entry's
fields (blanked before parsing: ``year = {1995}, %other attributes omitted``), which blocks bibtexparser took
for comments are entries it could not read (``@ar ticle{k, ...}``; not ``@Comment some words``), and entry types
it takes for ``@comment``, ``@string`` or ``@preamble`` by their first letters (``@commentary``)."""

from __future__ import annotations

import re

from bibtexparser.model import ImplicitComment

_COMMENT_COMMAND_RE = re.compile(r"@\s*comment(?![A-Za-z])", re.IGNORECASE)
# An entry type longer than a command it starts with: bibtexparser reads ``@commentary{k, ...}`` (biblatex's type for
# a law commentary) as a comment and loses the entry, where BibTeX and biber read an entry.
_COMMANDS = ("comment", "string", "preamble")
_LONGER_TYPE_RE = re.compile(r"^([ \t]*@[ \t]*)(comment|string|preamble)(?=[A-Za-z0-9_:-])", re.IGNORECASE | re.MULTILINE)


def _disguised(command: str) -> str:
    return command[0] + "0" + command[2:]  # the same length: lines and offsets stay


def disguise_longer_types(text: str) -> str:
    """``text`` with each entry type that starts with a command's name disguised for bibtexparser (``@c0mmentary``);
    ``entry_type`` gives it back. And a line ending in a backslash ends in a control space (``\\ ``, as TeX reads
    ``\\`` at a line's end), because bibtexparser does not count that line: every later entry's line was one off
    (a library's accepted entry was no longer copied as written)."""
    return _LONGER_TYPE_RE.sub(lambda m: m.group(1) + _disguised(m.group(2)), text).replace("\\\n", "\\ \n")


def entry_type(parsed: str) -> str:
    """The entry type as written, from the one parsed (``c0mmentary`` -> ``commentary``), in lower case."""
    parsed = parsed.lower()
    return next((c + parsed[len(c):] for c in _COMMANDS if parsed.startswith(_disguised(c))), parsed)


def skipped_entry(block) -> bool:
    """A block bibtexparser read as a comment although it starts like an entry (``@ar ticle{k, ...}``); not
    ``@Comment some words`` without braces, which BibTeX skips like any ``@comment``."""
    return isinstance(block, ImplicitComment) and block.comment.lstrip().startswith("@") \
        and not _COMMENT_COMMAND_RE.match(block.comment.lstrip())


def blank_entry_comments(text: str) -> str:
    """``text`` with each ``%`` comment between an entry's fields blanked (``year = {1995}, %other attributes``:
    biber reads past it, bibtexparser would fail the entry); the same length and lines, values untouched."""
    out = None
    at = text.find("%")
    while at != -1:
        line_start = text.rfind("\n", 0, at) + 1
        before = text[line_start:at].rstrip(" \t")
        line_end = text.find("\n", at)
        line_end = len(text) if line_end == -1 else line_end
        if (not before or before[-1] in ',}"') and _between_fields(text, text.rfind("\n@", 0, at) + 1, at):
            out = out if out is not None else list(text)
            out[at:line_end] = " " * (line_end - at)
            at = text.find("%", line_end)
        else:
            at = text.find("%", at + 1)
    return text if out is None else "".join(out)


def _between_fields(text: str, block: int, at: int) -> bool:
    """Is offset ``at`` inside the entry starting at ``block`` but in none of its values (brace depth 1, outside
    quotes)?"""
    depth, quoted, i = 0, False, block
    while i < at:
        ch = text[i]
        if ch == "\\":
            i += 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 1:
            quoted = not quoted
        i += 1
    return depth == 1 and not quoted
