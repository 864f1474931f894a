"""A citation command emptied: its file's text with the keys removed (``\\citep[p.~3]{a,b}`` -> ``\\citep[p.~3]{}``)
and the cursor in the empty braces, what a writer about to cite sees. Every resolvable citation of a project gives
one: the evaluation's probes (``evaluation.examples``) and the lessons the project teaches (``lessons``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from texcite.bib.model import Entry
from texcite.latex.cite import CiteMatcher, cited_commands, prints_nothing

# What the writer has typed in the braces: the first N letters of the surname or of the key.
TYPED_MODES = tuple(f"{what}{n}" for what in ("author", "key") for n in range(1, 6))


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
        if prints_nothing(cmd.name) or not cmd.groups or not all(g.closed for g in cmd.groups):
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
