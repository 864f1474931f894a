"""A file's facts: what a full scan finds, and the same after an edit applied in place (only the changed lines
scanned) — checked against a full scan on thousands of random edits."""

from __future__ import annotations

import random

import pytest

from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import scan_file, update_facts

MATCHER = CiteMatcher()
CHAPTER = (
    "% !TEX root = ../main.tex\n" + "\n" * 32 + "\\chapter{Methods}\n"
    + "".join(f"Paragraph {i} uses words and cites \\cite{{k{i},k{i + 1}}} here.\n"
              f"A second line \\citep[p.~{i}]{{m{i}}}; % not \\cite{{hidden{i}}}\n\n" for i in range(40))
    + "\\section{Results}\n\\begin{verbatim}\n\\cite{inverbatim}\n\\end{verbatim}\n"
    + "".join(f"Result {i} \\citet{{r{i}}}.\n\n" for i in range(20))
)
PIECES = ["a", " ", "\n", "\\cite{", "}", ",", "x2020", "%", "{", "\\citep[see]{q", "\n\n", "\\section{New}", "word "]


def test_scan_finds_cites_sections_and_verbatim():
    facts = scan_file(CHAPTER, MATCHER)
    keys = [c.key for c in facts.cites]
    assert "k0" in keys and "m39" in keys and "r19" in keys
    assert "hidden3" not in keys and "inverbatim" not in keys
    assert facts.section_titles == ("Methods", "Results") and facts.magic_root == "../main.tex"
    r0 = next(c for c in facts.cites if c.key == "r0")
    assert r0.section == "Results" and facts.section_at(r0.start) == "Results"
    assert facts.in_verbatim(CHAPTER.index("inverbatim"))


def test_a_macro_parameter_is_no_key_and_packages_are_files():
    facts = scan_file("\\documentclass[a4paper]{mini}\n\\usepackage[utf8]{inputenc, mystyle}\n"
                      "\\newcommand{\\mycite}[1]{\\citep{#1, base}}\n% \\usepackage{hidden}\n", MATCHER)
    assert [c.key for c in facts.cites] == ["base"]
    assert facts.packages == ("mini.cls", "inputenc.sty", "mystyle.sty")


def test_inline_verbatim_cites_nothing():
    """A thesis explains its template: ``\\verb|\\cite{identifier}|`` is no citation of 'identifier'."""
    text = ("Programs \\cite{moller2020}. Use \\verb|\\cite{identifier}| or \\verb*+\\cite{x}+, "
            "\\lstinline[language=TeX]!\\cite{y}! and \\verb|\\cite{open} to the line's end\nthen \\cite{after}.")
    facts = scan_file(text, MATCHER)
    assert [c.key for c in facts.cites] == ["moller2020", "after"]
    assert facts.in_verbatim(text.index("identifier")) and not facts.in_verbatim(text.index("after"))


def test_nothing_after_endinput_is_read():
    """A package's instructions after \\endinput cite examples TeX never reads (a real Japanese thesis's kueecite.sty);
    an edit before it is applied in place, and one after it changes nothing read."""
    text = ("\\ProvidesPackage{kueecite}\n\\def\\citepunct{,}\n" + "Text \\cite{kept}.\n" * 40
            + "% \\endinput in a comment\n\\verb|\\endinput| stops the file\n\\endinput \\cite{same-line}\n  Instructions: \\cite{source} and "
              "\\input{never}\n\\bibliography{never}\n")
    facts = scan_file(text, MATCHER)
    assert [c.key for c in facts.cites] == ["kept"] * 40 + ["same-line"]
    assert (facts.includes, facts.bibliographies) == ((), ())
    before = text.index("Text", text.index("Text") + 36 * 18) + 2  # past the head a magic comment may be in
    edited = text[:before] + "xt" + text[before:]
    updated = update_facts(text, facts, edited, MATCHER)
    assert updated is not None and updated == scan_file(edited, MATCHER)
    after = text.index("Instructions")
    edited = text[:after] + "\\cite{more} " + text[after:]
    assert update_facts(text, facts, edited, MATCHER) in (None, scan_file(edited, MATCHER))
    assert [c.key for c in scan_file(edited, MATCHER).cites] == ["kept"] * 40 + ["same-line"]


def edited_in_place(text: str, pieces: list[str], edits: int, seed: int) -> int:
    """``edits`` random insertions of ``pieces`` and deletions, one after the other, each applied in place (where
    ``update_facts`` can) and checked against a full scan; how many were applied in place."""
    rng = random.Random(seed)
    facts = scan_file(text, MATCHER)
    in_place = 0
    for _ in range(edits):
        at = rng.randrange(len(text))
        if rng.random() < 0.7:
            new = text[:at] + rng.choice(pieces) + text[at:]
        else:
            new = text[:at] + text[at + rng.randint(1, 12):]
        updated = update_facts(text, facts, new, MATCHER)
        full = scan_file(new, MATCHER)
        if updated is not None:
            in_place += 1
            assert updated == full, (at, new[max(0, at - 40):at + 40])
        text, facts = new, full
    return in_place


def test_edits_in_place_agree_with_a_full_scan():
    assert edited_in_place(CHAPTER, PIECES, 3000, seed=11) > 1500  # most edits are ordinary typing


@pytest.mark.parametrize("defined", [True, False], ids=["defined-here", "defined-by-the-class"])
def test_edits_near_commands_that_name_the_bibliography_agree_with_a_full_scan(defined):
    """A file using \\refs and \\mybib to name the bibliography (``latex.bibwrappers``), defined in it or not."""
    definitions = "\\newcommand{\\refs}[2][]{\\bibliography{#2}}\n\\def\\mybib#1{\\addbibresource{#1.bib}}\n"
    text = ((definitions if defined else "") + CHAPTER[:1500] + "\\refs[x]{one}\n\\mybib{two}\n\\usebib{three}\n"
            + CHAPTER[1500:3000])
    in_place = edited_in_place(text, [*PIECES, "\\mybib{", "\\refs", "#1", "[", "]"], 1000, seed=12)
    assert defined or in_place > 100  # (a file defining one is scanned whole while it does)


def test_closing_a_key_list_opened_lines_above_agrees_with_a_full_scan():
    # The key list runs over four lines: typing its '}' on the last one closes a command that starts outside the
    # lines an edit rescans, and deleting it opens it again.
    open_list = "\n" * 40 + "Text \\cite{a,\n b,\n c,\n d\n more text.\n"
    closed = open_list.replace(" d\n", " d}\n")
    for old, new in ((open_list, closed), (closed, open_list)):
        updated = update_facts(old, scan_file(old, MATCHER), new, MATCHER)
        assert updated is not None and updated == scan_file(new, MATCHER)
    assert [c.key for c in scan_file(closed, MATCHER).cites] == ["a", "b", "c", "d"]
