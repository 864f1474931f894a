"""What accepting a library entry adds to the project's bibliography: the entry as the library has it — a .bib
library's block verbatim (read again from the file, under the key it is offered by), a CSL-JSON one written in
the project's dialect (BibLaTeX when the project uses biblatex, else BibTeX)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from texcite.bib.model import Entry
from texcite.bib.parse import parse_bib, split_blocks
from texcite.files import read_disk
from texcite.latex.graph import Project

# Fields written for a CSL-JSON entry, in this order (what ``csl`` fills).
ORDER = ("author", "editor", "title", "journal", "booktitle", "year", "month", "volume", "number", "pages",
         "publisher", "school", "institution", "address", "edition", "series", "doi", "url", "isbn", "issn",
         "keywords", "language", "note", "abstract")
VERBATIM = frozenset({"doi", "url"})  # no LaTeX escaping
_SPECIAL_RE = re.compile(r"(?<!\\)([&%#_$])")
_HEAD_RE = re.compile(r"(\s*@\s*\w+\s*[{(]\s*)([^,\s]+)")
# BibLaTeX's names where BibTeX's differ.
BIBLATEX_TYPES = {"phdthesis": "thesis", "mastersthesis": "thesis", "techreport": "report"}
BIBLATEX_FIELDS = {"journal": "journaltitle", "address": "location", "school": "institution"}
BIBTEX_TYPES = {"online": "misc"}
BIBLATEX_COMMANDS = frozenset({"addbibresource", "addglobalbib", "addsectionbib"})


@dataclass(frozen=True)
class Addition:
    """An entry to add: the bibliography it goes to (None: the project names none) and its text."""

    bib: str | None
    key: str
    text: str


def _balanced(value: str) -> str:
    """``value`` with unbalanced braces removed (a field value must keep the entry parseable)."""
    depth, out = 0, []
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue
            depth -= 1
        out.append(ch)
    text = "".join(out)
    return text + "}" * depth


def written(entry: Entry, key: str, biblatex: bool) -> str:
    """An entry of a CSL-JSON library as BibTeX (``biblatex``: BibLaTeX) text."""
    kind = entry.entry_type
    fields = dict(entry.fields)
    if biblatex:
        if kind == "phdthesis" or kind == "mastersthesis":
            fields.setdefault("type", kind)
        kind = BIBLATEX_TYPES.get(kind, kind)
        fields = {BIBLATEX_FIELDS.get(k, k): v for k, v in fields.items()}
    else:
        kind = BIBTEX_TYPES.get(kind, kind)
        if entry.entry_type == "online" and "url" in fields:
            fields.setdefault("howpublished", "\\url{" + fields["url"] + "}")
    names = [n for n in (*ORDER, *(BIBLATEX_FIELDS.values() if biblatex else ()), "type", "howpublished")
             if n in fields]
    names = list(dict.fromkeys(names)) + sorted(set(fields) - set(names))
    lines = []
    for name in names:
        value = fields[name].replace("\n", " ")
        if name not in VERBATIM and name != "howpublished":
            value = _SPECIAL_RE.sub(r"\\\1", value)
        lines.append(f"  {name} = {{{_balanced(value)}}}")
    return f"@{kind}{{{key},\n" + ",\n".join(lines) + "\n}"


def _closing(block: str, opening: int) -> int:
    """Where the entry opened at ``opening`` closes (the block's end when it does not)."""
    close = ")" if block[opening] == "(" else "}"
    depth = 0
    for i in range(opening, len(block)):
        ch = block[i]
        if ch == "{" or (ch == "(" and i == opening):
            depth += 1
        elif ch == "}" or (ch == ")" and close == ")" and depth == 1):
            depth -= 1
            if depth == 0:
                return i
    return len(block) - 1


def _holds(block: str, key: str, entry: Entry) -> bool:
    """Is ``block`` (``key``'s, at ``entry``'s line of its file) still ``entry``: its key, or, for an entry the library
    offers under a key of its own (``library.keys``), its type and title?"""
    if key == entry.key:
        return True
    found = parse_bib(block, entry.path).entries
    return len(found) == 1 and (found[0].entry_type, found[0].title) == (entry.entry_type, entry.title)


def verbatim(entry: Entry, key: str) -> str | None:
    """The entry's block as its .bib file has it now, under ``key``; None when the file no longer has it there."""
    text = read_disk(entry.path, 1 << 30)
    if text is None:
        return None
    for start, end, line in split_blocks(text):
        if line == entry.line or (line < entry.line and text.count("\n", start, end) > entry.line - line):
            block = text[start:end].strip()
            head = _HEAD_RE.match(block)
            if head is None or not _holds(block, head.group(2), entry):
                return None
            end = _closing(block, head.start(1) + len(head.group(1).rstrip()) - 1)
            return block[:head.start(2)] + key + block[head.end(2):end + 1]
    return None


def verbatim_blocks(text: str, keys: set[str]) -> tuple[str, list[str]]:
    """``text`` (a .bib) without the entries of ``keys``, and those entries' blocks with the file's @string
    definitions before them (so their macros still mean what they meant): an evaluation's library split."""
    kept, strings, taken = [], [], []
    for start, end, _ in split_blocks(text):
        block = text[start:end]
        head = _HEAD_RE.match(block)
        if head is not None and head.group(2) in keys:
            taken.append(block[:_closing(block, head.start(1) + len(head.group(1).rstrip()) - 1) + 1].strip())
            continue
        if re.match(r"\s*@\s*string\b", block, re.IGNORECASE):
            strings.append(block.strip())
        kept.append(block)
    return "".join(kept), strings + taken


def entry_text(entry: Entry, key: str, biblatex: bool) -> str:
    """The text to add for a library entry, under ``key`` (see the module docstring)."""
    if entry.path.lower().endswith(".bib"):
        found = verbatim(entry, key)
        if found is not None:
            return found
    return written(entry, key, biblatex)


def target_bib(project: Project, path: str, setting: str = "", workspace: str | None = None) -> str | None:
    """The bibliography library entries cited in ``path`` are added to: ``setting`` (``texcite.library.targetBib``;
    relative to the workspace, else to the root's folder) when given, else the first .bib ``path`` cites from (the
    project's, or its chapter's under chapterbib; None: it names none)."""
    if setting:
        base = workspace or os.path.dirname(project.root)
        return os.path.normpath(os.path.join(base, os.path.expanduser(setting)))
    return next((p for p in project.bibs_for(path) if p.lower().endswith(".bib")), None)


def uses_biblatex(project: Project) -> bool:
    """Does the project name its bibliography the biblatex way (``\\addbibresource`` and kin)?"""
    return any(ref.command in BIBLATEX_COMMANDS for ref in project.references)


def addition(project: Project, path: str, entry: Entry, key: str, setting: str = "",
             workspace: str | None = None) -> Addition:
    """What accepting ``entry`` (of the library) as ``key`` in ``path`` adds to which of ``project``'s
    bibliographies."""
    return Addition(target_bib(project, path, setting, workspace), key,
                    entry_text(entry, key, uses_biblatex(project)))
