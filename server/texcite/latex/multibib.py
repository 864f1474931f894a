"""multibib's bibliographies per citation command: ``\\newcites{lit}{..}`` makes ``\\citelit`` cite from what
``\\bibliographylit{..}`` names, and the plain ``\\cite`` from what ``\\bibliography{..}`` names (a German thesis cites
its literature with ``\\citelit`` and its web sources with ``\\cite``, from two files)."""

from __future__ import annotations

from typing import Iterable, Sequence

from texcite.latex.cite import MULTIBIB_FORMS
from texcite.latex.facts import FileFacts
from texcite.latex.graph import BibReference


def command_scopes(facts: Iterable[FileFacts], references: Sequence[BibReference]) -> dict[str, list[str]]:
    """Citation command -> the bibliographies it cites from, for each command ``\\newcites`` defines, and '' for
    every other command (no bibliography found: the command cites from every one, ``graph.Project.scope``); empty
    when the project defines none, or none of their bibliographies was found."""
    suffixes = {name[len("nocite"):] for f in facts for name in f.cite_commands if name.startswith("nocite")}
    scoped = {s: [p for r in references if r.command == "bibliography" + s for p in r.paths] for s in suffixes}
    if not any(scoped.values()):
        return {}
    named = {p for paths in scoped.values() for p in paths}
    out = {form + s: paths for s, paths in scoped.items() for form in MULTIBIB_FORMS}
    out[""] = list(dict.fromkeys(p for r in references for p in r.paths if p not in named))
    return out
