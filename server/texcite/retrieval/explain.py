"""Why an entry ranked where it did, in words a writer reads: the signals that lifted it most above an average
entry of the bib ("you cite it 4 times in this section", "its title shares 'distillation'"), strongest first."""

from __future__ import annotations

import re
from functools import cache, partial
from typing import Callable, Mapping, Sequence

import numpy as np

from texcite.bib.model import Entry
from texcite.retrieval.bm25 import UNSPACED_RE, tokenize
from texcite.retrieval.evidence import KeyEvidence
from texcite.retrieval.fusion import FusionModel
from texcite.retrieval.select import Ranked
from texcite.retrieval.signals import SIGNALS
from texcite.textnorm import UNSPACED

MAX_REASONS = 3
MAX_QUOTED = 3  # words a reason quotes
# What separates the words reasons quote: anything but letters, digits, hyphens, apostrophes and the zero-width
# non-joiner (an elided French or Italian article, 'l’', is no part of the word shown: ``_APOSTROPHE_RE``, nor are
# quotes and dashes: 'words”)–corresponding').
_WORDS_RE = re.compile(r"[^\w\-'\u2019\u02bc\u200c]+")
# An apostrophe that is no part of a word: but between Cyrillic letters (Ukrainian 'об'ємної').
_APOSTROPHE_RE = re.compile("(?<![\u0400-\u04ff])['\u2019\u02bc]|['\u2019\u02bc](?![\u0400-\u04ff])")
_PAIR_RE = re.compile(f"{UNSPACED}{{2}}")  # a token of a script written without spaces (``bm25.unspaced``)
_UNSPACED_WORD_RE = re.compile(f"{UNSPACED}+")
# Chinese and Japanese particles and function characters: no end of a word quoted.
_PARTICLES = "的了和与及或是在对将为于把被也都而就等之个中のにはをがでともへや"
MIN_LIFT = 0.25  # a signal lifting the score less than this (log-odds) goes unmentioned

# Signals that tell one thing to a person: their contributions are summed under one phrase (the registry's reason).
# A library entry's own parts (``retrieval.select.Lift``) are reasons of their own.
_GROUPS = {**{s.name: s.reason for s in SIGNALS if s.reason}, "reranker": "reranker", "affinity": "affinity",
           "shared_author": "shared_author"}


def _quoted(words) -> str:
    return ", ".join(f"'{w}'" for w in words)


def _times(n: float) -> str:
    n = int(n)
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def matched_words(entry: Entry, query_words: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """('title' | 'abstract' | '', the query's words found there); ``query_words`` maps token -> word as written.
    Character pairs of a script without spaces that follow each other in the text join into the run they come from
    ('液罐', '罐车' -> '液罐车')."""
    for field, text in (("title", entry.title), ("abstract", " ".join((entry.abstract, entry.keywords)))):
        found: list[str] = []
        previous = ""  # the last token, when it was a matched pair of the run being joined
        for t in tokenize(text):
            if t not in query_words:
                previous = ""
            elif previous and _PAIR_RE.fullmatch(t) and previous[1] == t[0]:
                found[-1] += t[1]
                previous = t
            else:
                found.append(query_words[t])
                previous = t if _PAIR_RE.fullmatch(t) else ""
        found = [w for w in dict.fromkeys(map(_trimmed, found)) if w]
        if found:
            return field, tuple(found[:3])
    return "", ()


def reasons(entry: Entry, contributions: Mapping[str, float], evidence: KeyEvidence | None,
            query_words: Callable[[], Mapping[str, str]], section: str = "", reranker: str = "",
            author: str = "") -> tuple[str, ...]:
    """Up to MAX_REASONS phrases for the signals that lifted ``entry`` most (``query_words()``: the query's
    token -> word, asked for only when words are the reason; ``author``: a library entry's author the project
    cites)."""
    lifted: dict[str, float] = {}
    for name, value in contributions.items():
        group = _GROUPS.get(name, "")
        if group:
            lifted[group] = lifted.get(group, 0.0) + value
    key = entry.key
    out: list[str] = []
    for group, value in sorted(lifted.items(), key=lambda gv: -gv[1]):
        if value < MIN_LIFT or len(out) == MAX_REASONS:
            break
        phrase = ""
        if group == "words":
            field, words = matched_words(entry, query_words())
            phrase = f"its {field} shares {_quoted(words)}" if words else "it shares words with your paragraph"
        elif group == "section words" and section:
            phrase = f"it fits the section title '{section}'"
        elif group == "meaning":
            phrase = "it is close in meaning to your sentence"
        elif group == "near_topic":
            phrase = "its topic is that of the works you cite around here"
        elif evidence is not None and group == "uses" and evidence.count("uses", key):
            here, anywhere = evidence.count("file_uses", key), evidence.count("uses", key)
            phrase = (f"you cite it {_times(here)} in this file" + (f", {_times(anywhere)} in the project"
                                                                      if anywhere > here else "")
                      if here else f"you cite it {_times(anywhere)} in other files of the project")
        elif evidence is not None and group == "uncited" and not evidence.count("uses", key):
            phrase = "you have not cited it yet"
        elif evidence is not None and group == "section_uses" and evidence.count("section_uses", key):
            where = f"this section ('{section}')" if section else "this section"
            phrase = f"you cite it {_times(evidence.count('section_uses', key))} in {where}"
        elif evidence is not None and group == "nearness" and evidence.count("nearness", key):
            phrase = "you cite it in the paragraphs nearby"
        elif evidence is not None and group == "cocited" and (partner := evidence.partner(key)):
            phrase = f"you cite it together with {partner}"
        elif evidence is not None and group == "context" and (words := evidence.shared_words(key, None)):
            said = as_written(words, query_words())  # the words as written, not their tokens
            phrase = f"where you cite it elsewhere, the text also says {_quoted(said)}"
        elif evidence is not None and group == "bib_next" and evidence.previous:
            phrase = f"your bibliography lists it soon after {evidence.previous}, the key you cited last"
        elif group == "bib_anchor":
            phrase = "your bibliography lists it near keys you cite around here"
        elif group == "author_named" and entry.surnames:
            phrase = f"your sentence names {entry.surnames[0]}"
        elif group == "year_named" and entry.year:
            phrase = f"your sentence names {entry.year}"
        elif group == "reranker" and reranker:
            phrase = f"{reranker} rates it highly"
        elif group == "affinity":
            phrase = "it is like the works your bibliography holds"
        elif group == "shared_author" and author:
            phrase = f"you cite other works by {author}"
        if phrase and phrase not in out:
            out.append(phrase)
    return tuple(out)


def as_written(tokens: Sequence[str], shown: Mapping[str, str]) -> list[str]:
    """The first MAX_QUOTED of ``tokens`` (most telling first) as the writer wrote them (``shown``: token -> word,
    in the paragraph's order), the character pairs of a script without spaces that follow each other there joined
    into their run ('单个', '个按', '按键' -> '单个按键')."""
    rank = {t: i for i, t in enumerate(tokens)}
    runs: list[tuple[int, str]] = []
    previous = ""  # the last pair of the run being joined
    for token, word in shown.items():
        if token not in rank:
            previous = ""
        elif previous and _PAIR_RE.fullmatch(token) and previous[1] == token[0]:
            runs[-1] = (min(runs[-1][0], rank[token]), runs[-1][1] + token[1])
            previous = token
        else:
            runs.append((rank[token], word))
            previous = token if _PAIR_RE.fullmatch(token) else ""
    runs += [(rank[t], t) for t in tokens if t not in shown]  # (a word of the sentence the paragraph lacks)
    return [w for w in dict.fromkeys(_trimmed(word) for _, word in sorted(runs)) if w][:MAX_QUOTED]


def _trimmed(word: str) -> str:
    """A run of a script without spaces without the particles at its ends ('的一致性' -> '一致性'), '' when one
    character is left ('口和': a pair across two words); any other word as it is."""
    if not _UNSPACED_WORD_RE.fullmatch(word):
        return word
    word = word.strip(_PARTICLES)
    return word if len(word) > 1 else ""


def paragraph_words(paragraph: str) -> dict[str, str]:
    """token -> the paragraph's word it came from, as reasons quote it ("its title shares 'word'")."""
    out: dict[str, str] = {}
    for word in _WORDS_RE.split(paragraph):  # 'l’énergie' shows as 'énergie'
        # A pair of an unspaced script is shown as it is, not the whole clause; a word glued to such a run
        # ('…の実装にD3') as itself; each part of a hyphenated word as itself ('cell' of 'single-cell').
        pieces = [piece for part in _APOSTROPHE_RE.split(word) for piece in part.split("-")]
        for part in (p for piece in pieces for p in ([piece] if piece.isascii() else UNSPACED_RE.split(piece))):
            for token in tokenize(part):
                out.setdefault(token, token if _PAIR_RE.fullmatch(token) else part.strip(".,;:()[]{}'\"").lower())
    return out


def explain(ranked: Sequence[Ranked], count: int, model: FusionModel | None, inputs: np.ndarray | None,
            evidence: KeyEvidence | None, paragraph: str, section: str = "", reranker: str = "",
            adapted: Callable[[list[int], list[dict[str, float]]], list[dict[str, float]]] | None = None
            ) -> list[tuple[str, ...]]:
    """The reasons of the first ``count`` items of a ranked list (a batch of ablations for all of them); the
    reranker's share, where it ran, counts as one more signal, and so does the project's adaptation (``adapted``:
    its share per signal of the rows given, from the shipped model's shares, ``Correction.lifts``). ``paragraph`` is
    the query's, for the words it shares with an entry."""
    count = min(count, len(ranked)) if model is not None and inputs is not None else 0
    if not count:
        return []
    assert model is not None and inputs is not None

    query_words = cache(partial(paragraph_words, paragraph))
    rows = [r.candidate.row for r in ranked[:count]]
    lifts = model.contributions(inputs, rows)
    for lift, more in zip(lifts, adapted(rows, lifts) if adapted is not None else [], strict=False):
        for name, value in more.items():
            lift[name] = lift.get(name, 0.0) + value
    out = []
    for r, lift in zip(ranked, lifts, strict=False):
        if r.rerank_score is not None:
            lift["reranker"] = r.score - r.candidate.fused_score
        if r.candidate.library is not None:  # never cited, by definition: its card says it is not in the .bib yet
            lift.pop("uncited", None)
        if r.candidate.meaning_from_words:
            for meaning, words in (("dense", "bm25_near"), ("dense_sent", "bm25_sent")):
                lift[words] = lift.get(words, 0.0) + lift.pop(meaning, 0.0)
        for part in r.candidate.lifts:
            lift[part.reason] = lift.get(part.reason, 0.0) + part.value
        author = next((part.detail for part in r.candidate.lifts if part.reason == "shared_author"), "")
        out.append(reasons(r.candidate.entry, lift, evidence, query_words, section, reranker, author))
    return out
