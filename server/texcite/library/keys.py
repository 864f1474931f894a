"""The library's own key space: every work its files hold is offered under a key of its own. BibTeX keeps the
first definition of a key and drops the others; a library must not lose a work that way (the bibliographies of
several theses merged into one library, a Zotero export beside an old ``library.bib``: ``Lundberg:2017`` is SHAP in
one and a gene-expression paper in the other). A key defined again for another work keeps the first definition's
key and gives the later one ``_2`` (``Lundberg:2017_2``; then ``_3``…); defined again for the same work
(``identity.work_ids``, or the same title) it stays one entry, the first, as in a project's bibliography."""

from __future__ import annotations

import os
from typing import Callable, Sequence

from texcite.bib.model import BibFile, Diagnostic, Entry
from texcite.bib.parse import DUPLICATE_KEY, parse_bib, split_blocks
from texcite.library.identity import norm_title, work_ids


def hidden_entries(bib: BibFile, text: str) -> list[Entry]:
    """The entries of ``bib`` (parsed from ``text``) that a key defined earlier in the same file hid: the parse
    reported each (``DUPLICATE_KEY``) and dropped it; each is read again from its own block, after the file's
    ``@string`` definitions (its macros mean what they meant)."""
    lines = {d.line for d in bib.diagnostics if d.message.startswith(DUPLICATE_KEY)}
    if not lines:
        return []
    blocks = split_blocks(text)
    strings = "".join(text[s:e] for s, e, _ in blocks if text[s:e].lstrip().lower().startswith("@string"))
    out = []
    for start, end, line in blocks:
        if line in lines:
            parsed = parse_bib(strings + text[start:end], bib.path).entries
            out += [Entry(e.key, e.entry_type, e.fields, bib.path, line) for e in parsed[-1:]]
    return out


def _same_work(a: Entry, b: Entry) -> bool:
    """Are two definitions of one key the same work (or is either without a title to tell)?"""
    title_a, title_b = norm_title(a.title), norm_title(b.title)
    return not title_a or not title_b or title_a == title_b or not set(work_ids(a)).isdisjoint(work_ids(b))


def distinct_keys(files: Sequence[BibFile], read: Callable[[str], str | None]
                  ) -> tuple[list[BibFile], list[Diagnostic]]:
    """``files`` with every work under a key of its own (see the module docstring; ``read(path)``: a .bib's text,
    for the entries its parse dropped), and what was renamed. A file changed so gets another digest: its index is
    not a project's of the same file."""
    taken = {e.key for bib in files for e in bib.entries}
    first: dict[str, Entry] = {}
    out: list[BibFile] = []
    notes: list[Diagnostic] = []
    for bib in files:
        text = read(bib.path) if any(d.message.startswith(DUPLICATE_KEY) for d in bib.diagnostics) else None
        hidden = hidden_entries(bib, text) if text is not None else []
        recovered = {(e.key, e.line) for e in hidden}
        entries: list[Entry] = []
        offered: set[int] = set()  # lines of the entries its parse dropped that are now offered
        for e in sorted([*bib.entries, *hidden], key=lambda e: e.line):
            seen = first.get(e.key)
            if seen is None:
                first[e.key] = e
                entries.append(e)
            elif _same_work(seen, e):
                if (e.key, e.line) not in recovered:  # merged as a project's are: the first serves, the merge says so
                    entries.append(e)
            else:
                n = 2
                while f"{e.key}_{n}" in taken:
                    n += 1
                key = f"{e.key}_{n}"
                taken.add(key)
                first[key] = renamed = Entry(key, e.entry_type, e.fields, e.path, e.line, e.alias_of)
                entries.append(renamed)
                offered.add(e.line)
                notes.append(Diagnostic(e.path, e.line, f"Key '{e.key}' also names another work "
                                        f"({os.path.basename(seen.path)}:{seen.line + 1}): this one is offered as "
                                        f"'{key}'.", "warning"))
        if entries != bib.entries:
            kept = [d for d in bib.diagnostics if not (d.line in offered and d.message.startswith(DUPLICATE_KEY))]
            bib = BibFile(bib.path, f"{bib.digest}+keys", entries, kept)
        out.append(bib)
    return out, notes
