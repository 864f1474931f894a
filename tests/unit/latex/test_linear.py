"""Scanning hostile text stays linear: the patterns that made the server freeze (an optional argument or a math
delimiter opened thousands of times and never closed) are checked by input scaling — four times the input may
cost about four times the work, never sixteen (quadratic). CPU time, best of three runs, ratios only."""

from __future__ import annotations

import time

import pytest

from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import scan_file
from texcite.latex.plaintext import to_plain
from texcite.latex.query import query_context

MATCHER = CiteMatcher()
HOSTILE = ["\\section[", "\\bibliography[", "\\label[", "\\(", "$$", "\\[", "\\input{",
           "\\begin{comment}\\end{comment}\\%", "\\item[", "\\begin{x}["]


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
