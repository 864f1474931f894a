"""Citation keys used in a document: where each key sits, which key is under the cursor, which are undefined."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from texcite.citecontext import MULTICITE_COMMANDS, VERBATIM_ENVIRONMENTS, CiteCommand, CiteMatcher, in_comment

_KEY_RE = re.compile(r"[^,\s]+")
_VERBATIM_RE = re.compile(
    r"""
    \\begin\s*\{(?P<env>""" + "|".join(map(re.escape, VERBATIM_ENVIRONMENTS)) + r""")\}
    """,
    re.VERBOSE,
)


def verbatim_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of verbatim-like environments (their content holds no citations), found in one pass."""
    spans = []
    pos = 0
    while (m := _VERBATIM_RE.search(text, pos)) is not None:
        if in_comment(text, m.start()):
            pos = m.end()
            continue
        end_tag = f"\\end{{{m.group('env')}}}"
        end = text.find(end_tag, m.end())
        end = len(text) if end == -1 else end + len(end_tag)
        spans.append((m.start(), end))
        pos = end
    return spans


@dataclass(frozen=True)
class KeyUse:
    """One key inside a citation command: the key and its offsets in the document."""

    key: str
    start: int
    end: int


@lru_cache(maxsize=8)
def _names_re(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\\(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![A-Za-z])")


def cite_commands(text: str, matcher: CiteMatcher) -> Iterator[CiteCommand]:
    """The same commands as ``matcher.iter_commands(text)``, ~30x faster on long files: a regex of the
    citation command names finds the few candidates, and the matcher parses only around them."""
    for hit in _names_re(frozenset(matcher.commands | MULTICITE_COMMANDS)).finditer(text):
        start = hit.start()
        while start > 0 and text[start - 1] == "\\":  # the matcher decides what a run of backslashes means
            start -= 1
        for cmd in matcher.iter_commands(text, start, hit.end() + 1):
            if cmd.start == hit.start():
                yield cmd


def key_uses(text: str, matcher: CiteMatcher) -> Iterator[KeyUse]:
    """Every key of every citation command outside comments and verbatim environments."""
    verbatim = verbatim_spans(text)
    for cmd in cite_commands(text, matcher):
        if in_comment(text, cmd.start) or any(a <= cmd.start < b for a, b in verbatim):
            continue
        groups = [g for g in cmd.groups if g.closed]
        if not groups:
            continue
        for g in groups:
            for m in _KEY_RE.finditer(text, g.start, g.end):
                yield KeyUse(m.group(0), m.start(), m.end())


def key_at(text: str, offset: int, matcher: CiteMatcher) -> KeyUse | None:
    """The cited key under the cursor, if any."""
    ctx = matcher.context_at(text, offset)
    if ctx is None or ctx.group is None:
        return None
    g = ctx.group
    for m in _KEY_RE.finditer(text, g.start, g.end):
        if m.start() <= offset <= m.end():
            return KeyUse(m.group(0), m.start(), m.end())
    return None


def undefined_keys(text: str, matcher: CiteMatcher, defined: set[str] | dict) -> list[KeyUse]:
    """Keys cited in ``text`` that no indexed bib defines (``*`` of ``\\nocite{*}`` is fine)."""
    return [u for u in key_uses(text, matcher) if u.key != "*" and u.key not in defined]
