"""The citation probes of an evaluation: every citation command of a project whose keys all resolve becomes an
``Example`` (``latex.emptied``: its file's text with the keys removed and the cursor in the empty braces), and
``ExampleSources`` shows the engine that text instead of the file on disk.

Modes: ``default`` (the finished document, this citation emptied); ``writing`` (a first draft, see
``as_drafted``); ``add-one`` (commands citing several keys, each key in turn removed and the others kept).
``typed`` puts the first letters of the cited work's key or author in the braces (``latex.emptied.TYPED_MODES``). What a file includes and which
lines name its bibliography are ``latex.facts``' reading of it, as for the engine.
"""

from __future__ import annotations

import os
from functools import cached_property
from itertools import accumulate
from typing import Hashable

from texcite.files import Sources
from texcite.latex.cite import CiteMatcher
from texcite.latex.emptied import Example
from texcite.latex.facts import FileFacts, scan_file
from texcite.latex.query import paragraph_span


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path.strip()))[0]


class SourceFile:
    """A project file as a draft cuts it: its text and facts (``latex.facts``), the lines naming its bibliography
    and where each include command ends."""

    def __init__(self, path: str, text: str, matcher: CiteMatcher) -> None:
        self.path = path
        self.text = text
        self.matcher = matcher
        self.facts: FileFacts = scan_file(text, matcher)
        self._include_ends: dict[str, int] = {}

    @cached_property
    def _bib_lines(self) -> list[tuple[int, str]]:
        """(offset, text) of each line holding a bibliography command, or a command that may name one through a
        definition (``latex.bibwrappers``: ``\\ppgccbibliography{../bib/refs}``)."""
        lines = self.text.split("\n")
        offsets = list(accumulate((len(line) + 1 for line in lines), initial=0))
        named = {b.line for b in self.facts.bibliographies} | {u.line for u in self.facts.wrapper_uses}
        return [(offsets[n], lines[n]) for n in sorted(named) if n < len(lines)]

    def bibliography_lines(self, start: int = 0) -> str:
        """The lines naming the bibliography that begin at or after ``start`` (a first draft has them already)."""
        return "\n".join(line for offset, line in self._bib_lines if offset >= start)

    def includes(self, name: str) -> bool:
        """Does the file include ``name`` (compared by file stem)?"""
        return any(_stem(inc.name) == _stem(name) for inc in self.facts.includes)

    def include_end(self, name: str) -> int:
        """Where the file's last include of ``name`` ends (the text's end when it includes none): the shortest
        prefix whose facts hold that include."""
        if name not in self._include_ends:
            found = [i for i, inc in enumerate(self.facts.includes) if _stem(inc.name) == _stem(name)]
            lo = hi = len(self.text)
            if found:
                k, lo = found[-1], 0
                while lo < hi:
                    mid = (lo + hi) // 2
                    got = scan_file(self.text[:mid], self.matcher).includes
                    if len(got) > k and got[k] == self.facts.includes[k]:
                        hi = mid
                    else:
                        lo = mid + 1
            self._include_ends[name] = lo
        return self._include_ends[name]


def as_drafted(ex: Example, files: list[SourceFile]) -> Example:
    """``ex`` in a first draft: its file cut after the citing paragraph; each file including it (up the include
    chain) cut after that include; files later in the document reduced to their bibliography lines; files
    earlier, and the class and packages (a template written before the text: ``\\ppgccbibliography``'s definition),
    kept. ``files`` are the project's, in include order."""
    end = paragraph_span(ex.text, ex.offset)[1]
    by_path = {f.path: f for f in files}
    paths = [f.path for f in files]
    chain = [ex.path]  # the example's file, then the file including it, and so on up to the root
    for f in reversed(files[:paths.index(ex.path)] if ex.path in by_path else []):
        if f.includes(chain[-1]):
            chain.append(f.path)
    position = {p: i for i, p in enumerate(paths)}
    here = position.get(ex.path, len(paths))
    others: dict[str, str] = {}
    for f in files:
        if f.path == ex.path:
            continue
        if f.path in chain:
            cut = f.include_end(chain[chain.index(f.path) - 1])
            others[f.path] = f.text[:cut] + "\n" + f.bibliography_lines(cut)
        elif position[f.path] > here and not f.path.lower().endswith((".cls", ".sty")):
            others[f.path] = f.bibliography_lines()
    own = by_path.get(ex.path)
    # The example's text differs from its file's only inside the emptied command, before ``end``.
    tail = own.bibliography_lines(end + len(own.text) - len(ex.text)) if own is not None else ""
    return Example(ex.path, ex.line, ex.keys, ex.text[:end] + "\n" + tail, ex.offset, others)


class ExampleSources(Sources):
    """The disk, except the files of the example being ranked: its text with the citation emptied (and, in
    writing mode, the other files as drafted)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def show(self, ex: Example | None) -> None:
        self.texts = {} if ex is None else {**ex.others, ex.path: ex.text}

    def stamp(self, path: str) -> Hashable | None:
        text = self.texts.get(path)
        return ("example", id(text)) if text is not None else super().stamp(path)

    def read(self, path: str) -> str | None:
        text = self.texts.get(path)
        return text if text is not None else super().read(path)
