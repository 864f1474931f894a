"""Scanning hostile text stays linear: the patterns that made the server freeze (an optional argument or a math
delimiter opened thousands of times and never closed, in a .tex or a bib field; thousands of verbatim
environments among thousands of citations; escaped percent signs on the cursor's line) are checked by input
scaling — four times the input may cost about four times the work, never sixteen (quadratic). CPU time, best of
three runs, ratios only."""

from __future__ import annotations

import time

import pytest

from texcite.bib.parse import parse_bib
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import scan_file
from texcite.latex.language import declared_language, prose
from texcite.latex.plaintext import to_plain
from texcite.latex.query import query_context
from texcite.ranking import build_request

MATCHER = CiteMatcher()
HOSTILE = ["\\section[", "\\bibliography[", "\\label[", "\\(", "$$", "\\[", "\\input{",
           "\\begin{comment}\\end{comment}\\%", "\\item[", "\\begin{x}[", "\\cite{a}\\%", "\\x["]
# Openers of what the language of a document is read from: declarations, environments, math, paragraphs.
LANGUAGE = ["\\usepackage[", "\\usepackage[x]{babel", "\\babelprovide[main]{", "\\begin{equation}", "\\end{align}",
            "\\emph{", "\\citep[", "\\x \n", "\n \n", "$x", "\\(", "\\\\[", "\\documentclass[", "\\averylongname"]
# Many lines: a verbatim environment and a citation each.
MANY = ["\\begin{verbatim}x\\end{verbatim}\n\\cite{k}\n", "\\begin{comment}\n%\n\\end{comment} \\cite{a,b}\n"]


def cost(work, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        work(text)
        best = min(best, time.process_time() - t)
    return max(best, 1e-4)


def scaled(work, piece: str, n: int = 3000) -> float:
    """Cost of ``work`` on 4n pieces over its cost on n pieces (one line, a citation at the end)."""
    small, large = piece * n + " \\cite{}", piece * (4 * n) + " \\cite{}"
    return cost(work, large) / cost(work, small)


@pytest.mark.parametrize("piece", HOSTILE)
def test_file_scan_is_linear(piece):
    assert scaled(lambda t: scan_file(t, MATCHER), piece) < 8


@pytest.mark.parametrize("piece", HOSTILE)
def test_query_at_the_cursor_is_linear(piece):
    def query(text: str) -> None:
        offset = len(text) - 1
        query_context(text, offset, MATCHER, (text.rindex("\\cite"), len(text)))
    assert scaled(query, piece) < 8


@pytest.mark.parametrize("piece", HOSTILE)
def test_plain_text_of_a_field_is_linear(piece):
    assert scaled(to_plain, piece, n=2000) < 8


@pytest.mark.parametrize("piece", HOSTILE + MANY)
def test_the_request_at_the_cursor_is_linear(piece):
    """The whole request: the file's facts, the citation at the cursor (its comment checks on a long line) and
    the query."""
    assert scaled(lambda t: build_request(t, len(t) - 1, MATCHER), piece) < 8


@pytest.mark.parametrize("piece", MANY)
def test_file_scan_of_many_environments_and_citations_is_linear(piece):
    assert scaled(lambda t: scan_file(t, MATCHER), piece) < 8


@pytest.mark.parametrize("piece", ["\\(", "\\[", "$$", "$", "\\x[", "\\label[", "\\(x_{1} + \\sum_k "])
def test_a_bib_field_decodes_in_linear_time(piece):
    """A math or optional-argument opener never closed, thousands of times in one field (under the field cap)."""
    def parse(text: str) -> None:
        parse_bib("@article{k, title={T}, abstract={" + text + "}}\n", "/refs.bib")
    assert scaled(parse, piece, n=max(1, 12_000 // len(piece))) < 8


@pytest.mark.parametrize("piece", HOSTILE + LANGUAGE)
def test_the_language_of_a_text_reads_in_linear_time(piece):
    """The declarations of a preamble, and the prose a language is detected from (its sample is bounded; what
    reads it must be linear too)."""
    assert scaled(declared_language, piece) < 8
    assert scaled(prose, piece) < 8
