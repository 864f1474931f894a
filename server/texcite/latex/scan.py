"""The lexical facts of LaTeX source every other scanner relies on: comments, verbatim environments, control
words and the keys inside a key list. One definition of each, so the cite finder, the query builder and the
project scanner agree on what is text.
"""

from __future__ import annotations

import re
from typing import Iterator

VERBATIM_ENVIRONMENTS = ("verbatim", "verbatim*", "Verbatim", "BVerbatim", "lstlisting", "minted", "comment",
                         "filecontents", "filecontents*")

CONTROL_WORD_RE = re.compile(
    r"""
    (?<!\\)(?:\\\\)*            # not an escaped backslash (``\\\\`` pairs are line breaks)
    (?P<head>\\(?P<name>[A-Za-z]+)  # the control word
    (?P<star>\*?))
    """,
    re.VERBOSE,
)
_VERBATIM_BEGIN_RE = re.compile(r"\\begin\s*\{(?P<env>" + "|".join(map(re.escape, VERBATIM_ENVIRONMENTS)) + r")\}")
KEY_RE = re.compile(r"[^,\s]+")  # one key of a key list
CHUNK = 1 << 18  # characters one regex call searches: between calls another thread (the event loop) may run
OVERLAP = 4096  # how far a match may run past the end of its chunk


def finditer(pattern: re.Pattern[str], text: str, start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, start, end)`` in chunks: the same matches (none longer than OVERLAP is cut), but
    the GIL is handed over between chunks, so scanning a 50 MB file in a worker never stalls the event loop."""
    end = len(text) if end is None else end
    last = start
    for a in range(start, end, CHUNK):
        b = min(a + CHUNK, end)
        for m in pattern.finditer(text, max(a, last), min(b + OVERLAP, end)):
            if m.start() >= b:
                break
            last = m.end()
            yield m


def in_comment(text: str, offset: int) -> bool:
    """True if ``offset`` lies after an unescaped ``%`` on its line (``\\%`` is escaped, ``\\\\%`` is not)."""
    line_start = text.rfind("\n", 0, offset) + 1
    pos = text.find("%", line_start, offset)  # C-speed search: lines can be megabytes long
    while pos != -1:
        k = pos
        while k > line_start and text[k - 1] == "\\":
            k -= 1
        if (pos - k) % 2 == 0:
            return True
        pos = text.find("%", pos + 1, offset)
    return False


def verbatim_spans(text: str, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets of the verbatim-like environments that begin before ``end`` (their content holds no LaTeX), in one
    pass; an environment left open runs to the end of the text."""
    limit = len(text) if end is None else end
    spans = []
    pos = 0
    while (m := next(finditer(_VERBATIM_BEGIN_RE, text, pos, limit), None)) is not None:
        if in_comment(text, m.start()):
            pos = m.end()
            continue
        end_tag = f"\\end{{{m.group('env')}}}"
        close = text.find(end_tag, m.end())
        close = len(text) if close == -1 else close + len(end_tag)
        spans.append((m.start(), close))
        pos = close
    return spans


def in_verbatim(text: str, offset: int) -> bool:
    """True if ``offset`` is inside a verbatim-like environment (verbatim, lstlisting, minted, comment, ...)."""
    return any(a < offset < b for a, b in verbatim_spans(text, offset))


def control_words(text: str, start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
    """Every control word (``\\name``) in ``text[start:end]``, comments included (callers filter)."""
    return finditer(CONTROL_WORD_RE, text, start, end)


def keys_in(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """The keys of the key list ``text[start:end]``, as matches (with their offsets)."""
    return KEY_RE.finditer(text, start, end)
