"""Property-based fuzzing (hypothesis) of the LaTeX scanners and the bib reader: no exception on any input, and
damage to one bib entry never costs another entry.

The counts of examples (``max_examples``) are what the README's Reliability section reports.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from texcite.bib.parse import parse_bib, parse_bib_slow
from texcite.ranking import build_request
from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import scan_file, update_facts
from texcite.latex.plaintext import to_plain

MATCHER = CiteMatcher(["mycite"])
TOKENS = ["\\cite{", "\\citep[", "]", "{", "}", ",", "%", "\\%", "\\\\", "\n", "\n\n", " ", "word", "k2020",
          "\\section{", "\\begin{verbatim}", "\\end{verbatim}", "\\input{", "\\bibliography{", "$", "\\(", "\\)",
          "\\emph{", "\\item", "\\cites(", ")", "\\mycite{", "é", "中", "😀", "\x00", "@", "#1", "\\refs",
          "\\newcommand{\\refs}[2][x]{", "\\mybib", "\\verb|", "|", "\\endinput"]
LATEX = st.lists(st.sampled_from(TOKENS), max_size=200).map("".join)
EXAMPLES = 400


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LATEX, st.integers(min_value=0, max_value=10_000))
def test_latex_scanners_never_fail(text, cursor):
    offset = min(cursor, len(text))
    facts = scan_file(text, MATCHER)
    request = build_request(text, offset, MATCHER, facts)
    if request is not None:
        assert request.cite.replace_start <= offset <= max(request.cite.replace_end, offset)
    to_plain(text)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LATEX, st.integers(min_value=0, max_value=10_000), st.sampled_from(TOKENS))
def test_an_edit_in_place_agrees_with_a_full_scan(text, at, piece):
    at = min(at, len(text))
    edited = text[:at] + piece + text[at:]
    updated = update_facts(text, scan_file(text, MATCHER), edited, MATCHER)
    assert updated is None or updated == scan_file(edited, MATCHER)


ENTRIES = [f"@article{{key{i}, title={{Title number {i}}}, author={{Doe, Jane and Roe, Rick}}, year={{20{i:02d}}}}}\n"
           for i in range(6)]
DAMAGE = st.text(alphabet=st.sampled_from(list("{}@,=\"#%\\\n x\x00é")), min_size=1, max_size=12)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=200), DAMAGE)
def test_damage_to_one_entry_costs_no_other(victim, at, damage):
    block = ENTRIES[victim]
    at = min(at, len(block) - 1)
    broken = block[:at] + damage + block[at:]
    text = "".join(ENTRIES[:victim] + [broken] + ENTRIES[victim + 1:])
    for parse in (parse_bib, parse_bib_slow):
        bib = parse(text, "refs.bib")
        keys = {e.key for e in bib.entries}
        for i in range(6):
            if i != victim:
                assert f"key{i}" in keys, (parse.__name__, broken)
        kept = {e.key: e for e in bib.entries}
        for i in range(6):
            if i != victim and f"key{i}" in kept:
                assert kept[f"key{i}"].title == f"Title number {i}"
