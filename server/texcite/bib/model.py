"""The bibliography's data model: entries with decoded fields, parsed files, diagnostics, and the merge of several
files into one set of entries (crossrefs inherited, duplicate keys reported)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable

from texcite.latex.scan import split_outside_braces

MONTHS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "oct": "October", "nov": "November", "dec": "December",
}
VENUE_FIELDS = ("journal", "journaltitle", "booktitle", "publisher", "school", "institution", "howpublished", "eprinttype")
AND_RE = re.compile(r"\s+and\s+", re.IGNORECASE)
_YEAR_RE = re.compile(r"\d{4}")


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a file: 0-based line, message, and 'error' / 'warning'."""

    path: str
    line: int
    message: str
    severity: str = "error"


@dataclass(frozen=True)
class Entry:
    """One bibliography entry, fields decoded from LaTeX for search and display."""

    key: str
    entry_type: str
    fields: dict[str, str]
    path: str
    line: int
    alias_of: str = ""  # an old key of a renamed entry (biblatex ``ids``): the key the entry has now

    @property
    def cite_key(self) -> str:
        """The key to write when citing this entry: the current one, also when it was found by an old key."""
        return self.alias_of or self.key

    @property
    def title(self) -> str:
        return self.fields.get("title", "")

    @property
    def authors(self) -> list[str]:
        """Authors (or editors) as 'First Last' display names."""
        raw = self.fields.get("author") or self.fields.get("editor") or ""
        return [_display_name(n) for n in split_names(raw)]

    @property
    def surnames(self) -> list[str]:
        raw = self.fields.get("author") or self.fields.get("editor") or ""
        return [_surname(n) for n in split_names(raw)]

    @property
    def year(self) -> str:
        m = _YEAR_RE.search(self.fields.get("year") or self.fields.get("date") or "")
        return m.group(0) if m else ""

    @property
    def venue(self) -> str:
        return next((self.fields[f] for f in VENUE_FIELDS if self.fields.get(f)), "")

    @property
    def abstract(self) -> str:
        return self.fields.get("abstract", "")

    @property
    def keywords(self) -> str:
        return self.fields.get("keywords", "")

    def short_authors(self) -> str:
        """'Smith et al.' (three or more, or 'and others'), 'Smith and Doe', 'Smith' or '' — for completion details."""
        names = self.surnames
        if not names:
            return ""
        raw = self.fields.get("author") or self.fields.get("editor") or ""
        if len(names) > 2 or re.search(r"\band\s+\{?others\}?\s*$", raw, re.IGNORECASE):
            return f"{names[0]} et al."
        if len(names) == 1:
            return names[0]
        return f"{names[0]} and {names[1]}"

    @property
    def document(self) -> str:
        """The entry as the rerankers see it (documented format: one 'Field: value' line each, empty ones left out)."""
        return entry_document(self)


def entry_document(entry: Entry) -> str:
    """Fixed text of an entry for ranking: Title, Authors, Venue, Year, Keywords, Abstract lines, in that order."""
    lines = [
        ("Title", entry.title),
        ("Authors", ", ".join(entry.authors)),
        ("Venue", entry.venue),
        ("Year", entry.year),
        ("Keywords", entry.keywords),
        ("Abstract", entry.abstract),
    ]
    return "\n".join(f"{name}: {value}" for name, value in lines if value)


_EXTENDED_RE = re.compile(r"\s*(?:family|given|prefix|suffix)\s*=", re.IGNORECASE)


def split_names(raw: str) -> list[str]:
    """Split a BibTeX name list on ' and ' outside braces ('others', braced or not, left out: the list's "et al.");
    a wholly braced name (a corporate author, ``{The texcite developers}``) keeps its braces so it stays one name
    with no surname split."""
    return [n for n in split_and(raw) if n.lower() not in ("others", "{others}")]


def extended_name(name: str) -> str:
    """A name in biblatex's extended format (``family=Smith, given=Malcolm, prefix=van, suffix=Jr``) as BibTeX writes
    it (``Smith, Jr, Malcolm van``; ``van Smith, Jr, Malcolm`` with ``useprefix=true``); any other name as it is."""
    if not _EXTENDED_RE.match(name):
        return name
    parts: dict[str, str] = {}
    for part in split_outside_braces(name):
        key, _, value = part.partition("=")
        parts[key.strip().lower()] = value.strip()
    if not parts.get("family"):
        return name
    prefix, given = parts.get("prefix", ""), parts.get("given", "")
    if parts.get("useprefix", "").lower() in ("true", "{true}"):  # 'van Smith' is the name cited, else 'Smith'
        last = f"{prefix} {parts['family']}" if prefix else parts["family"]
    else:
        last, given = parts["family"], " ".join(p for p in (given, prefix) if p)
    return ", ".join(p for p in (last, parts.get("suffix", ""), given) if p)


def split_and(raw: str) -> list[str]:
    if "{" not in raw:  # nothing braced: a plain split is the same, and much faster on 50k entries
        return [n.strip() for n in AND_RE.split(raw) if n.strip()]
    names, depth, start = [], 0, 0
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and ch.isspace():
            m = AND_RE.match(raw, i)
            if m:
                names.append(raw[start:i])
                start = i = m.end()
                continue
        i += 1
    names.append(raw[start:])
    return [n.strip() for n in names if n.strip()]


def _corporate(name: str) -> bool:
    return name.startswith("{") and name.endswith("}")


def _surname(name: str) -> str:
    if _corporate(name):
        return name[1:-1].strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    parts = name.split()
    return parts[-1] if parts else name


def _display_name(name: str) -> str:
    if _corporate(name):
        return name[1:-1].strip()
    if "," in name:
        last, _, first = name.partition(",")
        first = first.split(",")[-1].strip()
        return f"{first} {last.strip()}".strip()
    return name


@dataclass(frozen=True)
class LibraryRef:
    """Where a suggested entry of the writer's library comes from: its library file and its key there (the entry
    offered may carry another key: one the project already uses for another work gets a suffix)."""

    file: str
    key: str


@dataclass
class BibFile:
    """One parsed .bib: its entries (before crossref resolution), diagnostics and content digest."""

    path: str
    digest: str
    entries: list[Entry] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


# Entry types that hold no work of their own: biblatex's @xdata (fields other entries take in; it cannot be cited)
# and @set (a group of entries, each a work of its own).
HELPER_TYPES = frozenset({"xdata", "set"})


def parent_keys(entries: Iterable[Entry]) -> set[str]:
    """The keys other entries name as their ``crossref`` or ``xref`` parent (proceedings, collections)."""
    return {e.fields.get(f, "").strip() for e in entries for f in ("crossref", "xref")} - {""}


def helper_keys(entries: list[Entry]) -> set[str]:
    """Entries that serve other entries rather than being works a writer cites: crossref/xref parents, @xdata and
    @set entries, and entries biblatex reads for their data only (``options = {dataonly}``)."""
    return parent_keys(entries) | {e.key for e in entries if e.entry_type in HELPER_TYPES or _data_only(e)}


def _data_only(entry: Entry) -> bool:
    """Does biblatex read the entry for its data only (``options = {dataonly}``, a parent kept out of the list)?"""
    options = entry.fields.get("options", "").replace(" ", "").lower().split(",")
    return "dataonly" in options or "dataonly=true" in options


def merge_entries(files: Iterable[BibFile]) -> tuple[list[Entry], list[Diagnostic]]:
    """All entries of several files with crossref fields inherited; keys defined twice across files are reported.
    An entry's biblatex ``ids`` (its old keys) follow all entries as aliases (``Entry.alias_of``), so an old key
    still resolves, hovers and completes; a key defined by an entry of its own wins over an alias."""
    by_key: dict[str, Entry] = {}
    problems: list[Diagnostic] = []
    for bib in files:
        for e in bib.entries:
            if e.key in by_key:
                first = by_key[e.key]
                problems.append(Diagnostic(e.path, e.line, f"Duplicate key '{e.key}' (first defined in {os.path.basename(first.path)}:{first.line + 1}); ignored.", "warning"))
                continue
            by_key[e.key] = e
    out = []
    for e in by_key.values():
        parent_key = e.fields.get("crossref")
        parent = by_key.get(parent_key) if parent_key else None
        if parent is not None:
            inherited = {k: v for k, v in parent.fields.items() if k not in e.fields and k != "crossref"}
            if "title" in parent.fields and "booktitle" not in e.fields:
                inherited["booktitle"] = parent.fields["title"]
            e = Entry(e.key, e.entry_type, {**inherited, **e.fields}, e.path, e.line)
        out.append(e)
    aliases: dict[str, Entry] = {}
    for e in out:
        for alias in (a.strip() for a in e.fields.get("ids", "").split(",")):
            if alias and alias not in by_key and alias not in aliases:
                aliases[alias] = Entry(alias, e.entry_type, e.fields, e.path, e.line, alias_of=e.key)
    return out + list(aliases.values()), problems


