"""Citation commands in LaTeX source: which one (if any) holds the cursor, the partial key typed there, the key
under the cursor, and every citation command of a document outside comments and verbatim.

The control-word scanner (``latex.scan``) finds command heads; a small scanner reads their arguments, because
natbib/biblatex/apacite/abntex2cite argument shapes (optional ``[..]``, apacite's prenote ``<..>``, multicite ``(..)`` and
repeated ``[..]{..}``) are easier to follow as code.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Callable, Iterable, Iterator, Sequence

from texcite.latex.bibwrappers import definition_around
from texcite.latex.scan import Comments, control_words, finditer, in_verbatim, keys_in, verbatim_spans

NATBIB = (
    "cite citep citet citealp citealt citeauthor citeyear citeyearpar citenum citetitle citedate citeurl "
    "citefullauthor Cite Citep Citet Citealp Citealt Citeauthor Citeyear Citeyearpar Citefullauthor citen"
).split()
APACITE = (
    "citeA citeNP citeANP citeauthorNP citeyearNP fullcite fullciteA fullciteNP fullciteANP fullciteauthor "
    "fullciteauthorNP shortcite shortciteA shortciteNP shortciteANP shortciteauthor shortciteauthorNP "
    "maskcite maskciteA maskciteNP maskciteANP maskciteauthor maskciteauthorNP maskfullcite maskshortcite"
).split()
BIBLATEX = (
    "parencite Parencite textcite Textcite autocite Autocite footcite Footcite smartcite Smartcite "
    "supercite Supercite fullcite footfullcite footcitetext nocite Nocite"
).split()
ABNTEX2CITE = "citeonline citeauthoronline apud".split()  # Brazilian theses' (abntex2cite)
HARVARD = "citeasnoun Citeasnoun possessivecite Possessivecite citeaffixed citename".split()  # harvard.sty
THUTHESIS = ["inlinecite"]  # Tsinghua's class: a citation as part of the sentence
MULTICITE = "cites Cites parencites Parencites autocites Autocites textcites Textcites footcites Footcites smartcites Smartcites supercites".split()
DEFAULT_COMMANDS = frozenset(NATBIB + APACITE + BIBLATEX + ABNTEX2CITE + HARVARD + THUTHESIS)
# multibib's ``\newcites{lit}{Title}`` defines ``\citelit`` and ``\nocitelit`` (with natbib, its forms too).
MULTIBIB_FORMS = ("cite nocite citep citet citealp citealt citeauthor citeyear citeyearpar Citep Citet Citealp Citealt "
                  "Citeauthor").split()
# A citation command given a definition's parameter as its keys: ``\\citen{#1}`` in ``\\newcommand{\\x}[1]{..}``.
_CITES_PARAMETER_RE = re.compile(
    r"\\(?P<name>[A-Za-z]+)\*?\s*(?:\[[^\[\]{}]{0,256}\]\s*){0,2}\{\s*#(?P<parameter>\d)\s*\}")
_NEWCITES_RE = re.compile(r"\\newcites\s*\{(?P<suffixes>[^{}\\%]{1,512})\}")
MULTICITE_COMMANDS = frozenset(MULTICITE)
# Characters that cannot belong to an unterminated key list: the scan for the closing brace stops there.
_KEY_STOP = set("\\{%")
MAX_KEYLIST = 4000


@dataclass(frozen=True)
class KeyGroup:
    """One ``{...}`` key list: offsets of its content (after ``{``, before ``}``) and whether ``}`` was found."""

    start: int
    end: int
    closed: bool


@dataclass(frozen=True)
class CiteCommand:
    """A citation command occurrence: name, span of the whole command and its key groups."""

    name: str
    start: int
    end: int
    groups: tuple[KeyGroup, ...]

    def keys(self, text: str) -> list[str]:
        return [m.group(0) for g in self.groups for m in keys_in(text, g.start, g.end)]


@dataclass(frozen=True)
class CiteContext:
    """The cursor inside a citation key list: the typed prefix, the span of the key to replace, the other keys."""

    command: CiteCommand
    prefix: str
    replace_start: int
    replace_end: int
    existing_keys: tuple[str, ...] = field(default=())
    group: KeyGroup | None = None
    separator: str = ""

    @property
    def adding(self) -> bool:
        """The command keeps other keys: the writer adds one to them."""
        return bool(self.existing_keys)

    def insert_text(self, key: str) -> str:
        """Text replacing ``replace_start:replace_end``: the key, plus a comma when a kept key follows it."""
        return key + self.separator


def _skip_space(text: str, i: int) -> int:
    """Skip spaces and at most one newline (a blank line ends a command's arguments in TeX)."""
    newlines = 0
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        if text[i] == "\n":
            newlines += 1
            if newlines > 1:
                break
        i += 1
    return i


def _skip_delimited(text: str, i: int, open_: str, close: str) -> int | None:
    """At ``open_``: return the index after the matching ``close`` (nesting counted), or None if unterminated."""
    depth = 0
    n = min(len(text), i + MAX_KEYLIST)
    j = i
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return j + 1
        elif ch == "\n" and text.startswith("\n", j + 1):
            return None
        j += 1
    return None


def _key_group(text: str, i: int) -> KeyGroup:
    """At ``{``: the key list up to ``}``; if unterminated, up to the first character that cannot be in it."""
    n = min(len(text), i + 1 + MAX_KEYLIST)
    j = i + 1
    while j < n:
        ch = text[j]
        if ch == "}":
            return KeyGroup(i + 1, j, True)
        if ch in _KEY_STOP or (ch == "\n" and text.startswith("\n", j + 1)):
            break
        j += 1
    # Unterminated (the user is typing): the list ends at the first whitespace after the last comma-separated key.
    k = i + 1
    end = k
    while k < j:
        if text[k] in " \t\r\n":
            # whitespace is allowed only right after a comma or the opening brace
            prev = text[i + 1 : k].rstrip()
            if prev and not prev.endswith(","):
                break
        k += 1
        end = k
    return KeyGroup(i + 1, end, False)


def parse_command(text: str, m: re.Match[str], multicite: bool) -> CiteCommand:
    """Read a citation command's arguments after its name (``m`` matched the head)."""
    i = m.end()
    groups: list[KeyGroup] = []
    j = _skip_space(text, i)
    if j < len(text) and text[j] == "<":  # apacite's prenote: \cite<see>[p.~3]{key}
        end = _skip_delimited(text, j, "<", ">")
        if end is None:
            return CiteCommand(m.group("name"), m.start("head"), j, ())
        i = end
    if multicite:
        for _ in range(2):
            j = _skip_space(text, i)
            if j < len(text) and text[j] == "(":
                end = _skip_delimited(text, j, "(", ")")
                if end is None:
                    return CiteCommand(m.group("name"), m.start("head"), j, ())
                i = end
    while True:
        for _ in range(2):
            j = _skip_space(text, i)
            if j < len(text) and text[j] == "[":
                end = _skip_delimited(text, j, "[", "]")
                if end is None:
                    return CiteCommand(m.group("name"), m.start("head"), j, tuple(groups))
                i = end
        j = _skip_space(text, i)
        if j >= len(text) or text[j] != "{":
            break
        doubled = text.startswith("{{", j)  # \cite{{key}}: TeX strips both pairs of braces
        group = _key_group(text, j + doubled)
        groups.append(group)
        i = group.end + 1 if group.closed else group.end
        if doubled and group.closed and text.startswith("}", i):
            i += 1
        if not multicite or not group.closed:
            break
    return CiteCommand(m.group("name"), m.start("head"), i, tuple(groups))


def declared_commands(text: str, in_comment: Callable[[int], bool]) -> tuple[str, ...]:
    """The citation commands ``text`` defines: multibib's ``\\newcites{lit,web}{..}{..}`` -> citelit, nocitelit,
    citeweb ...; a command whose body cites its argument (``\\newcommand{\\inlinecite}[1]{\\footnotesize\\citen{#1}}``)."""
    suffixes = [s.strip() for m in finditer(_NEWCITES_RE, text) if not in_comment(m.start())
                for s in m.group("suffixes").split(",")]
    wrappers = [defined[0] for m in finditer(_CITES_PARAMETER_RE, text)
                if (m.group("name") in DEFAULT_COMMANDS or m.group("name") in MULTICITE_COMMANDS)
                and not in_comment(m.start()) and (defined := definition_around(text, m.start(), m.end()))
                and _keys_argument(defined[1], int(m.group("parameter")))]
    return tuple(form + s for s in dict.fromkeys(suffixes) if s.isalpha() for form in MULTIBIB_FORMS) + tuple(
        dict.fromkeys(w for w in wrappers if w not in DEFAULT_COMMANDS and w.isalpha()))


def _keys_argument(kinds: str, parameter: int) -> bool:
    """Is parameter ``parameter`` (1-based) of a command with parameters ``kinds`` ('o', 'm', 's') its only
    mandatory one, the key list its uses give in braces as a citation command's (``\\x[p.~3]{key}``)?"""
    return kinds.count("m") == 1 and kinds.index("m") + 1 == parameter


def prints_nothing(name: str) -> bool:
    """Is it a citation command that puts nothing in the text (``\\nocite``, multibib's ``\\nocitelit``)?"""
    return name.startswith(("nocite", "Nocite"))


class CiteMatcher:
    """Finds citation commands; knows the built-in natbib/biblatex names plus the user's own, and learns those the
    documents it reads define (``declared_commands``). ``generation`` counts what it learned: facts scanned with an
    earlier generation may miss citations."""

    def __init__(self, extra_commands: Iterable[str] = ()) -> None:
        extra = {c.lstrip("\\").rstrip("*") for c in extra_commands if c.strip("\\* ")}
        self.commands = DEFAULT_COMMANDS | extra
        self.generation = 0
        self._lock = threading.Lock()

    def learn(self, names: Iterable[str]) -> bool:
        """Understand ``names`` too (a document defines them); whether any was new."""
        with self._lock:
            new = frozenset(names) - self.commands
            if new:
                self.commands = self.commands | new
                self.generation += 1
        return bool(new)

    def is_cite(self, name: str) -> bool:
        return name in self.commands or name in MULTICITE_COMMANDS

    def iter_commands(self, text: str, start: int = 0, end: int | None = None) -> Iterator[CiteCommand]:
        """Every citation command in ``text[start:end]`` (comments included; callers filter)."""
        for m in control_words(text, start, end):
            name = m.group("name")
            if self.is_cite(name):
                yield parse_command(text, m, name in MULTICITE_COMMANDS)

    def context_at(self, text: str, offset: int,
                   verbatim: Callable[[int], bool] | None = None) -> CiteContext | None:
        """The citation key list holding ``offset``, or None (outside any command, in a comment or verbatim).
        ``verbatim(offset)`` answers from a file's facts; without it the text before the cursor is scanned."""
        if offset < 0 or offset > len(text):
            return None
        window_start = max(0, offset - MAX_KEYLIST)
        in_comment = Comments(text, window_start, offset)
        if in_comment(offset):
            return None
        candidate: CiteCommand | None = None
        for m in control_words(text, window_start, offset):
            if self.is_cite(m.group("name")) and not in_comment(m.start()):
                candidate = parse_command(text, m, m.group("name") in MULTICITE_COMMANDS)
        if candidate is None:
            return None
        group = next((g for g in candidate.groups if g.start <= offset <= g.end), None)
        if group is None or (verbatim or partial(in_verbatim, text))(offset):
            return None
        seg_start = text.rfind(",", group.start, offset) + 1 or group.start
        seg_start = max(seg_start, group.start)
        comma = text.find(",", offset, group.end)
        seg_end = group.end if comma == -1 else comma
        raw_prefix = text[seg_start:offset]
        replace_start = seg_start + (len(raw_prefix) - len(raw_prefix.lstrip()))
        prefix = text[replace_start:offset]
        # With a typed prefix the edit replaces the whole key under the cursor; with none it only inserts, so a
        # key that starts right after the cursor is kept (and the inserted key needs a comma before it).
        tail = text[offset:seg_end]
        replace_end = offset
        separator = ""
        if prefix:
            replace_end = offset + len(tail.rstrip())
        elif tail.strip():
            separator = ","
        current = text[replace_start:replace_end].strip()
        others = candidate.keys(text)
        if current in others:
            others.remove(current)
        return CiteContext(candidate, prefix, replace_start, replace_end, tuple(dict.fromkeys(others)), group, separator)


@dataclass(frozen=True)
class KeyUse:
    """One key inside a citation command: the key and its offsets in the document."""

    key: str
    start: int
    end: int


@lru_cache(maxsize=8)
def _names_re(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\\(?:" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![A-Za-z])")


def cite_commands(text: str, matcher: CiteMatcher, start: int = 0, end: int | None = None) -> Iterator[CiteCommand]:
    """The same commands as ``matcher.iter_commands(text, start, end)``, ~30x faster on long files: a regex of the
    citation command names finds the few candidates, and the matcher parses only around them."""
    names = _names_re(frozenset(matcher.commands | MULTICITE_COMMANDS))
    for hit in finditer(names, text, start, end):
        head = hit.start()
        while head > 0 and text[head - 1] == "\\":  # the matcher decides what a run of backslashes means
            head -= 1
        for cmd in matcher.iter_commands(text, head, hit.end() + 1):
            if cmd.start == hit.start():
                yield cmd


def cited_commands(text: str, matcher: CiteMatcher, start: int = 0, end: int | None = None,
                   verbatim: Sequence[tuple[int, int]] | None = None,
                   comments: Comments | None = None) -> Iterator[CiteCommand]:
    """Citation commands starting in ``text[start:end]`` outside comments and verbatim environments (``verbatim``:
    the text's spans, ascending, and ``comments`` its comment finder, when known). Each command's verbatim check
    is a bisection: n environments and n citations cost n log n, not n squared."""
    comments = comments or Comments(text)
    verbatim = verbatim_spans(text, comments=comments) if verbatim is None else verbatim
    opens = [a for a, _ in verbatim]
    for cmd in cite_commands(text, matcher, start, end):
        i = bisect.bisect_right(opens, cmd.start) - 1
        if not comments(cmd.start) and not (i >= 0 and cmd.start < verbatim[i][1]):
            yield cmd


def key_at(text: str, offset: int, ctx: CiteContext | None) -> KeyUse | None:
    """The cited key under the cursor, if any (``ctx``: the citation context there, ``CiteMatcher.context_at``)."""
    if ctx is None or ctx.group is None:
        return None
    g = ctx.group
    for m in keys_in(text, g.start, g.end):
        if m.start() <= offset <= m.end():
            return KeyUse(m.group(0), m.start(), m.end())
    return None
