"""The lexical facts of LaTeX source every other scanner relies on: comments, verbatim (environments and
``\\verb``), where TeX stops reading a file (``\\endinput``), control words and the keys inside a key list. One
definition of each, so the cite finder, the query builder and the project scanner agree on what is text.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterator

from texcite.positions import line_starts

SECTION_COMMANDS = "part chapter section subsection subsubsection paragraph subparagraph".split()
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
# A verbatim environment's beginning, or an inline one's (\verb|...|, \lstinline!...!: its delimiter, on one line).
_VERBATIM_BEGIN_RE = re.compile(r"\\begin\s*\{(?P<env>" + "|".join(map(re.escape, VERBATIM_ENVIRONMENTS)) + r")\}"
                                r"|(?<![A-Za-z\\])\\(?:verb\*?|lstinline(?:\[[^\]\n]{0,256}\])?)(?P<delim>[^\sA-Za-z*{\[])")
KEY_RE = re.compile(r"[^,\s]+")  # one key of a key list
_ENDINPUT_RE = re.compile(r"\\endinput(?![A-Za-z@])")
_COMMENT_START_RE = re.compile(r"(?<!\\)(?:\\\\)*%")  # a % after an even run of backslashes (none included)
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


class Comments:
    """``comments(offset)``: does ``offset`` lie after an unescaped ``%`` on its line (``\\%`` is escaped, ``\\\\%``
    is not)? Each line's comment start is found once (at C speed: lines can be megabytes long) and each line by
    bisection, so thousands of queries on one huge line cost one pass over it (not one pass each). With ``start``
    and ``end``, only offsets in that window are asked about and only its lines are indexed (a cursor's
    neighbourhood in a 50 MB file costs its size, not the file's)."""

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self._window = (start, len(text) if end is None else end)
        self._starts: list[int] | None = None
        self._comment: dict[int, int] = {}  # line start -> offset of its first unescaped %, or the line's end

    def _line_start(self, offset: int) -> int:
        if self._starts is None:
            a, b = self._window
            self._starts = [self.text.rfind("\n", 0, a) + 1, *(a + s for s in line_starts(self.text[a:b])[1:])]
        return self._starts[bisect.bisect_right(self._starts, offset) - 1]

    def __call__(self, offset: int) -> bool:
        start = self._line_start(offset)
        comment = self._comment.get(start)
        if comment is None:
            text = self.text
            end = text.find("\n", start)
            end = len(text) if end == -1 else end
            m = _COMMENT_START_RE.search(text, start, end)
            comment = self._comment[start] = end if m is None else m.end() - 1
        return comment < offset


def verbatim_spans(text: str, end: int | None = None, comments: Comments | None = None) -> list[tuple[int, int]]:
    """Offsets of the verbatim-like environments that begin before ``end`` (their content holds no LaTeX), and of
    inline verbatim (``\\verb|\\cite{key}|``), in one pass; an environment left open runs to the end of the text,
    an inline one to the end of its line."""
    limit = len(text) if end is None else end
    comments = comments or Comments(text)
    spans = []
    pos = 0
    while (m := next(finditer(_VERBATIM_BEGIN_RE, text, pos, limit), None)) is not None:
        if comments(m.start()):
            pos = m.end()
            continue
        if m.group("delim"):
            line_end = text.find("\n", m.end())
            line_end = len(text) if line_end == -1 else line_end
            close = text.find(m.group("delim"), m.end(), line_end)
            close = line_end if close == -1 else close + 1
        else:
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
    """The keys of the key list ``text[start:end]``, as matches (with their offsets); a macro's parameter
    (``\\newcommand{\\mycite}[1]{\\citep{#1}}``) is none: no BibTeX key holds a '#'."""
    return (m for m in KEY_RE.finditer(text, start, end) if "#" not in m.group(0))


def tex_read_end(text: str) -> int:
    """Where TeX stops reading the text: the end of the line of its first ``\\endinput`` outside comments and
    verbatim (a package's documentation after it is never read); -1 when it reads to the end."""
    if "\\endinput" not in text:
        return -1
    in_comment = Comments(text)
    for m in finditer(_ENDINPUT_RE, text):
        if not in_comment(m.start()) and not in_verbatim(text, m.start()):  # not \verb|\endinput|
            end = text.find("\n", m.end())
            return -1 if end == -1 else end
    return -1


def split_outside_braces(text: str) -> list[str]:
    """``text`` split on its commas outside braces (``a,{b,c},d`` -> ``a``, ``{b,c}``, ``d``)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "{") - (ch == "}")
        if ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    return [*out, text[start:]]
