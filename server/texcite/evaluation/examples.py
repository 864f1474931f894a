"""The citation probes of an evaluation: every citation command of a project whose keys all resolve becomes an
``Example`` — its file's text with the keys removed (``\\citep[p.~3]{a,b}`` -> ``\\citep[p.~3]{}``) and the
cursor in the empty braces — and ``ExampleSources`` shows the engine that text instead of the file on disk.

Modes: ``default`` (the finished document, this citation emptied); ``writing`` (a first draft, see
``as_drafted``); ``add-one`` (commands citing several keys, each key in turn removed and the others kept).
``typed`` puts the first letters of the cited work's key or author in the braces (``TYPED_MODES``). What a file includes and which
lines name its bibliography are ``latex.facts``' reading of it, as for the engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Hashable

from texcite.bib.model import Entry
from texcite.files import Sources
from texcite.latex.cite import CiteMatcher, cited_commands
from texcite.latex.facts import FileFacts, scan_file
from texcite.latex.query import paragraph_span

# What the writer has typed in the braces: the first N letters of the surname or of the key.
TYPED_MODES = tuple(f"{what}{n}" for what in ("author", "key") for n in range(1, 6))
# Commands that list references without citing them at a place in the text.
_NOT_IN_TEXT = frozenset({"nocite", "Nocite"})


@dataclass(frozen=True)
class Example:
    """One citation to recover: where it is, the true keys, the emptied text and the cursor inside ``{}``."""

    path: str
    line: int
    keys: tuple[str, ...]
    text: str
    offset: int
    others: dict[str, str] = field(default_factory=dict, repr=False)  # writing mode: the other files as drafted


def typed_prefix(entry: Entry, mode: str) -> str:
    """What a writer citing ``entry`` has typed in ``mode``: the first N letters of the first author's surname
    (``authorN``; the key's when the entry names no author) or of the key (``keyN``)."""
    surnames = entry.surnames
    word = surnames[0] if mode.startswith("author") and surnames else entry.key
    return "".join(word.split())[: int(mode[-1])]


def citation_examples(path: str, text: str, matcher: CiteMatcher, defined: dict[str, Entry],
                      typed: str | None = None, mode: str = "default") -> tuple[list[Example], int]:
    """The resolvable citations of one file as examples, and how many unresolvable ones were skipped. With
    ``typed`` (see TYPED_MODES), the braces hold what the writer typed for the (first) key to find. ``mode``
    ``add-one``: one example per key of each multi-key command, that key removed and the others kept."""
    examples, unresolved = [], 0
    for cmd in cited_commands(text, matcher):
        if cmd.name in _NOT_IN_TEXT or not cmd.groups or not all(g.closed for g in cmd.groups):
            continue
        keys = tuple(dict.fromkeys(cmd.keys(text)))
        if not keys:
            continue
        if not all(k in defined for k in keys):
            unresolved += 1
            continue
        line = text.count("\n", 0, cmd.start)
        if mode == "add-one":
            if len(keys) < 2:
                continue
            g = cmd.groups[0]
            for i, key in enumerate(keys):
                before, after = ",".join(keys[:i]), ",".join(keys[i + 1:])
                head = text[:g.start] + before + ("," if before else "")
                prefix = typed_prefix(defined[key], typed) if typed else ""
                tail = ("," if after else "") + after + text[g.end:]
                examples.append(Example(path, line, (key,), head + prefix + tail, len(head) + len(prefix)))
            continue
        pieces, last = [], 0
        for g in cmd.groups:
            pieces.append(text[last:g.start])
            last = g.end
        pieces.append(text[last:])
        emptied = "".join(pieces)
        offset = cmd.groups[0].start
        if typed:
            prefix = typed_prefix(defined[keys[0]], typed)
            emptied = emptied[:offset] + prefix + emptied[offset:]
            offset += len(prefix)
        examples.append(Example(path, line, keys, emptied, offset))
    return examples, unresolved


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
        """(offset, text) of each line holding a bibliography command."""
        lines = self.text.split("\n")
        offsets = list(accumulate((len(line) + 1 for line in lines), initial=0))
        return [(offsets[n], lines[n]) for n in sorted({b.line for b in self.facts.bibliographies}) if n < len(lines)]

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
    earlier kept. ``files`` are the project's, in include order."""
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
        elif position[f.path] > here:
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
