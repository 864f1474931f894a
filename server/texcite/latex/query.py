"""The query: the paragraph around the cursor as plain text, the citing sentence, the section title, and the
views of them that the rankers score.

Paragraphs end at blank lines, ``\\par``, sectioning commands and environment boundaries (math environments
excepted: they sit inside paragraphs). Work is bounded to a window around the cursor, so a 5 MB single-paragraph
file costs the same as a normal one; the section title comes from the file's facts (``latex.facts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from texcite.latex.cite import CiteMatcher
from texcite.latex.plaintext import strip_comments, tidy_spaces, to_plain
from texcite.latex.scan import SECTION_COMMANDS, Comments
from texcite.textnorm import UNSPACED

MARKER = "[CITATION]"
_SENTINEL = "QQCITATIONMARKERQQ"
_WINDOW = 20_000          # source characters searched for paragraph boundaries on each side
_FIRST_WINDOW = 2_000     # ... first this many: most paragraphs end within it, and the scan costs a tenth
_BEFORE = 1_500           # plain-text characters of paragraph kept before the cursor
_AFTER = 800              # ... and after it

MATH_ENVIRONMENTS = "equation align gather multline eqnarray math displaymath flalign alignat split cases subequations".split()

_BOUNDARY_RE = re.compile(
    r"""
      (?P<blank>\n[ \t]*\n)                                             # a blank line
    | (?P<par>\\par(?![A-Za-z]))                                        # \par
    | (?P<section>\\(?:""" + "|".join(SECTION_COMMANDS) + r""")\*?(?![A-Za-z])(?:\s*\[[^\[\]]{0,512}\])?\s*\{[^{}\n]*(?:\{[^{}\n]*\}[^{}\n]*)*\})
    | (?P<env>\\(?:begin|end)\s*\{(?P<envname>[A-Za-z*]+)\}(?:\s*\[[^\[\]\n]{0,512}\])?)  # environment boundary
    | (?P<item>\\item(?![A-Za-z])(?:\s*\[[^\[\]\n]{0,512}\])?)                    # list items are paragraphs of their own
    """,
    re.VERBOSE,
)
NEAR_BEFORE, NEAR_AFTER = 24, 8  # words kept around the marker for the embedded view
BEFORE_WORDS = 3  # words just before the marker (after it when the sentence starts with the citation)
# A sentence ends at '.', '!' or '?' followed by a space and a capital or a digit of any script (or a character of a
# script without capitals or spaces) after any closing quote or bracket, and at the full stops of Chinese and
# Japanese, which no space follows.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"”’»)\]]*\s+(?=[\"“«„(\[¿¡]*(?P<first>[^\W_]))|(?<=[。！？．])[”’」』）)]*\s*")
# The words the views near the marker count: what spaces separate, and in a script written without them, each two
# characters (about a word of Chinese).
_UNIT_RE = re.compile(f"{UNSPACED}{{1,2}}|\\S+?(?={UNSPACED})|\\S+")


def _sentence_ends(text: str) -> Iterator[re.Match[str]]:
    """Where the sentences of ``text`` end (see _SENTENCE_END_RE)."""
    for m in _SENTENCE_END_RE.finditer(text):
        first = m.group("first")
        if first is not None and _not_an_end(text, m.start() - 1, m.start("first")):
            continue
        if first is None or first.isupper() or first.isdigit() or re.match(UNSPACED, first):
            yield m


# Abbreviations whose full stop ends no sentence ('Fig. 3', 'Eq. 5', 'vgl. Abschnitt 2', 'рис. 2'), and those that
# end none before a number ('Smith et al. (2020) showed').
_ABBREVIATIONS = frozenset("fig figs eq eqs sec secs ref refs no nos pp vol ch chap tab cf vs approx resp "
                           "abb kap vgl bzw bspw ggf nr bd hrsg ca evtl sog inkl "
                           "éq éqs réf cfr pág págs cap ec núm sez ecc "
                           "рис табл см гл стр".split())
_BEFORE_A_NUMBER = frozenset({"al"})
_LAST_WORD_RE = re.compile(r"([^\W\d_]+)$")
_LETTER_BEFORE_RE = re.compile(r"(?:^|[^\w.])[^\W\d_]\.\s?$")  # 'e.' before the 'g' of 'e.g.', 'i. ' before 'e.'
_LETTER_AFTER_RE = re.compile(r"[^\W\d_]\.")  # 'B.' after the 'z' of 'z. B.'


def _not_an_end(text: str, stop: int, first: int) -> bool:
    """Is the full stop at ``stop`` (the next sentence would start at ``first``) that of an initial ('J. Smith',
    'И. И. Иванов': one capital after a space), of letters abbreviated one by one ('e.g. Smith', 'z. B. Modelle',
    'i. e. The') or of an abbreviation (``_ABBREVIATIONS``)?"""
    if text[stop] != ".":
        return False
    word = _LAST_WORD_RE.search(text, max(0, stop - 12), stop)
    if word is None or (word.start() > 0 and text[word.start() - 1].isalnum()):
        return False
    name = word.group(1)
    if len(name) == 1:  # a unit ('3.5 m. Next') ends the sentence
        return (name.isupper() or _LETTER_BEFORE_RE.search(text[max(0, word.start() - 4):word.start()]) is not None
                or _LETTER_AFTER_RE.match(text, first) is not None)
    return name.lower() in _ABBREVIATIONS or (name.lower() in _BEFORE_A_NUMBER and text[first].isdigit())


@dataclass(frozen=True)
class QueryContext:
    """What the ranking sees: the paragraph (with and without the marker), the citing sentence, the section title."""

    paragraph: str
    marked: str
    sentence: str
    section_title: str

    @property
    def text(self) -> str:
        """The BM25 query: the paragraph, with the citing sentence repeated (it predicts the cited work best)."""
        sentence = self.sentence.replace(MARKER, " ")
        return f"{self.paragraph} {sentence} {sentence}" if sentence.strip() else self.paragraph

    def views(self) -> dict[str, str]:
        """The texts a query is scored with: the citing sentence, its words nearest the marker, the few words
        just before it (often the name of what is cited: 'the Adam optimizer [CITATION]'), the sentence with its
        neighbours, the paragraph, the section title."""
        sentence = " ".join(self.sentence.replace(MARKER, " ").split()) or self.paragraph
        return {"sent": sentence, "near": near_marker(self.sentence) or sentence,
                "before": near_marker(self.sentence, BEFORE_WORDS, 0) or near_marker(self.sentence, 0, BEFORE_WORDS),
                "nbr": neighbourhood(self.marked) or sentence, "para": self.paragraph, "sect": self.section_title}


def neighbourhood(marked: str) -> str:
    """The citing sentence with the sentence before and after it (marker removed)."""
    pos = max(0, marked.find(MARKER))
    bounds = [0] + [m.end() for m in _sentence_ends(marked)] + [len(marked)]
    idx = max(i for i, b in enumerate(bounds[:-1]) if b <= pos)
    lo, hi = bounds[max(0, idx - 1)], bounds[min(len(bounds) - 1, idx + 2)]
    return " ".join(marked[lo:hi].replace(MARKER, " ").split())


def near_marker(sentence: str, before: int = NEAR_BEFORE, after: int = NEAR_AFTER) -> str:
    """The words of the citing sentence closest to the marker: up to ``before`` words before it and ``after`` after
    (words as _UNIT_RE counts them), spaces tidied."""
    head, marker, tail = sentence.partition(MARKER)
    starts = [m.start() for m in _UNIT_RE.finditer(head)][-before:] if before else []
    ends = [m.end() for m in _UNIT_RE.finditer(tail)][:after] if marker else []
    return " ".join(((head[starts[0]:] if starts else "") + " " + (tail[:ends[-1]] if ends else "")).split())


def _is_math(m: re.Match[str]) -> bool:
    name = (m.group("envname") or "").rstrip("*")
    return name in MATH_ENVIRONMENTS


def paragraph_span(text: str, offset: int) -> tuple[int, int]:
    """Source offsets of the paragraph holding ``offset`` (cut at _WINDOW characters on each side)."""
    lo = max(0, offset - _FIRST_WINDOW)
    hi = min(len(text), offset + _FIRST_WINDOW)
    start, end = _span_within(text, offset, lo, hi)
    if (start > lo or lo == 0) and (end < hi or hi == len(text)):
        return start, end
    return _span_within(text, offset, max(0, offset - _WINDOW), min(len(text), offset + _WINDOW))


def _span_within(text: str, offset: int, lo: int, hi: int) -> tuple[int, int]:
    """The paragraph holding ``offset`` from the boundaries between ``lo`` and ``hi`` (which stand in for
    boundaries not found on a side)."""
    start, end = lo, hi
    in_comment = Comments(text, lo, hi)
    for m in _BOUNDARY_RE.finditer(text, lo, hi):
        if m.group("env") and _is_math(m):
            continue
        if in_comment(m.start()) and not m.group("blank"):
            continue
        if m.end() <= offset:
            start = m.end()
        elif m.start() >= offset:
            end = m.start()
            break
        else:  # the cursor sits inside the boundary itself (e.g. in a section title)
            start, end = m.start(), m.end()
            break
    return start, end


def _citing_sentence(marked: str) -> str:
    """The sentence of the marked paragraph that holds the marker."""
    pos = marked.find(MARKER)
    if pos < 0:
        return marked
    start = 0
    end = len(marked)
    for m in _sentence_ends(marked):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos + len(MARKER):
            end = m.start()
            break
    return marked[start:end].strip()


def _trim(plain: str, pos: int) -> tuple[str, int]:
    """Keep at most _BEFORE/_AFTER characters around ``pos``, cut at word boundaries."""
    lo = max(0, pos - _BEFORE)
    hi = min(len(plain), pos + _AFTER)
    if lo > 0:
        space = plain.find(" ", lo)
        lo = space + 1 if 0 <= space < pos else lo
    if hi < len(plain):
        space = plain.rfind(" ", pos, hi)
        hi = space if space > pos else hi
    return plain[lo:hi], pos - lo


def query_context(text: str, offset: int, matcher: CiteMatcher, cite_span: tuple[int, int] | None = None,
                  section: str = "") -> QueryContext:
    """Build the query for a cursor at ``offset``; ``cite_span`` is the citation command there (becomes the marker);
    ``section`` the title of the heading the cursor is under (``FileFacts.section_at``)."""
    start, end = paragraph_span(text, offset)
    if cite_span is not None:
        c0, c1 = max(cite_span[0], start), min(cite_span[1], end)
        source = text[start:c0] + f" {_SENTINEL} " + text[c1:end]
    else:
        source = text[start:offset] + f" {_SENTINEL} " + text[offset:end]
    source = strip_comments(source)
    # Other citation commands carry keys, not words: drop them (keeping the sentinel).
    pieces = []
    last = 0
    for cmd in matcher.iter_commands(source):
        pieces.append(source[last : cmd.start])
        last = max(last, cmd.end)
    pieces.append(source[last:])
    plain = to_plain("".join(pieces), comments=False)
    pos = plain.find(_SENTINEL)
    if pos < 0:  # the sentinel cannot vanish, but never fail on odd input
        plain, pos = plain + " " + _SENTINEL, len(plain) + 1
    plain, pos = _trim(plain, pos)
    marked = plain.replace(_SENTINEL, MARKER)
    paragraph = tidy_spaces(plain.replace(_SENTINEL, " "))
    sentence = _citing_sentence(marked)
    return QueryContext(paragraph=paragraph, marked=marked, sentence=sentence, section_title=section)
