"""What BibTeX keeps of an entry it cannot read whole: its type, its key and the fields read before the error.

BibTeX reports the error, skips the rest of the entry and keeps the entry, so the document's citation of it
resolves; bibtexparser drops the whole block. A stray line (``+,``), a field without ``=``, an entry opened with
``(`` and closed with ``}``: the fields before are kept here too, with the line where reading stopped.
"""

from __future__ import annotations

import re

from bibtexparser import Library
from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry as ParsedEntry

from texcite.bib.comments import skipped_entry
from texcite.bib.model import Diagnostic

_HEAD_RE = re.compile(r"\s*@\s*([A-Za-z][\w:-]*)\s*[{(]\s*([^\s,{}()\"=#%\\]+)\s*,")
_FIELD_RE = re.compile(r"\s*([A-Za-z_][\w\-.:+]*)\s*=\s*")
_PIECE_RE = re.compile(r"[\w\-.:+]+")  # a number or a macro name
_COMMANDS = ("comment", "string", "preamble")


def _braced(raw: str, i: int) -> int:
    """At ``{``: the index after its closing brace, or -1."""
    depth = 0
    for j in range(i, len(raw)):
        if raw[j] == "\\":
            continue
        if raw[j] == "{" and raw[j - 1] != "\\":
            depth += 1
        elif raw[j] == "}" and raw[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def _quoted(raw: str, i: int) -> int:
    """At ``"``: the index after the closing quote outside braces, or -1."""
    depth = 0
    for j in range(i + 1, len(raw)):
        if raw[j] == "{":
            depth += 1
        elif raw[j] == "}":
            depth -= 1
        elif raw[j] == '"' and depth == 0 and raw[j - 1] != "\\":
            return j + 1
    return -1


def _value(raw: str, i: int) -> int:
    """The end of the value starting at ``i`` (pieces joined by ``#``), or -1 when it is no value."""
    while True:
        if raw.startswith("{", i):
            i = _braced(raw, i)
        elif raw.startswith('"', i):
            i = _quoted(raw, i)
        else:
            m = _PIECE_RE.match(raw, i)
            i = m.end() if m else -1
        if i < 0:
            return -1
        rest = raw[i:].lstrip(" \t\r\n")
        if not rest.startswith("#"):
            return i
        i = len(raw) - len(rest) + 1
        i += len(raw[i:]) - len(raw[i:].lstrip(" \t\r\n"))


def salvage(raw: str) -> tuple[str, str, list[tuple[str, str]], int] | None:
    """(type, key, the fields read as written, the line of ``raw`` where reading stopped) of a block that starts
    like an entry; None when it does not, or no field could be read."""
    head = _HEAD_RE.match(raw)
    if head is None or head.group(1).lower() in _COMMANDS:
        return None
    fields: list[tuple[str, str]] = []
    pos = head.end()
    while True:
        field = _FIELD_RE.match(raw, pos)
        end = _value(raw, field.end()) if field else -1
        if field is None or end < 0:
            break
        fields.append((field.group(1), raw[field.end():end].strip()))
        pos = end
        after = raw[pos:].lstrip(" \t\r\n")
        if not after.startswith(","):
            break
        pos = len(raw) - len(after) + 1
    if not fields:
        return None
    stop = len(raw) - len(raw[pos:].lstrip())
    return head.group(1), head.group(2), fields, raw.count("\n", 0, stop)


Salvaged = tuple[str, str, list[tuple[str, str]], int]  # type, key, fields as written, the file's 0-based line


def malformed(library: Library, path: str) -> tuple[list[Salvaged], list[Diagnostic]]:
    """What is kept of each block of ``library`` (bibtexparser's) that starts like an entry and could not be read,
    and its diagnostic; not of a duplicate key, nor of a repeated field (the parser keeps the first)."""
    blocks = [(b.comment, b.start_line or 0) for b in library.comments if skipped_entry(b)]
    blocks += [(f.raw or "", f.start_line or 0) for f in library.failed_blocks
               if not isinstance(f, DuplicateBlockKeyBlock)
               and not (isinstance(f, DuplicateFieldKeyBlock) and isinstance(f.ignore_error_block, ParsedEntry))]
    kept: list[Salvaged] = []
    diagnostics = []
    for raw, line in blocks:
        got = salvage(raw)
        if got is None:
            head = raw.strip().splitlines()[0][:60] if raw.strip() else ""
            diagnostics.append(Diagnostic(path, line, f"Malformed entry, skipped: {head}"))
            continue
        entry_type, key, fields, stop = got
        kept.append((entry_type, key, fields, line))
        diagnostics.append(Diagnostic(path, line, f"Malformed entry '{key}': the fields before line "
                                                  f"{line + stop + 1} are kept, as BibTeX keeps them"))
    return kept, diagnostics
