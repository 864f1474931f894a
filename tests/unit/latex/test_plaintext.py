"""LaTeX fragments to plain text: what a bib field or a paragraph reads like once decoded."""

from __future__ import annotations

import pytest

from texcite.latex.plaintext import decode_accents, strip_comments, tidy_spaces, to_plain


@pytest.mark.parametrize(
    "tex,plain",
    [
        (r"\emph{Dense} \textbf{and} \textit{sparse}", "Dense and sparse"),
        (r"Caf\'e na\"{\i}ve {\"o} \ss{} \c{c} \v{s} \AA", "Café naïve ö ß ç š Å"),
        (r"50\% of \$5 \& \#1 or \$6 \{x\} a\_b", "50% of $5 & #1 or $6 {x} a_b"),
        ("Section~3 --- and 1--2 ``quoted''", "Section 3 — and 1–2 “quoted”"),
        (r"See \cite{a} and \ref{fig:x}, \label{l}done", "See and, done"),
        (r"\href{http://x.org}{the site}", "http://x.org the site"),
        (r"$\alpha$-helix and \(x^2\)", "α -helix and x2"),
        (r"line one\\line two", "line one line two"),
        (r"{\LaTeX} and \TeX{}", "LaTeX and TeX"),
        ("kept % dropped comment\nnext", "kept next"),
        (r"escaped \% stays", "escaped % stays"),
        (r"\unknowncommand{arg} text", "arg text"),
        # Better BibTeX's braces of a Zotero title (a real thesis's bib: 'CPM{ }P,N {} Methods' before)
        (r"{{{CPM}}\{\vphantom\}{{P}},{{N}}\vphantom\{\} Methods", "CPM{P,N} Methods"),
        (r"\{\vphantom\}{{WebAssembly}}\vphantom\{\} and \phantom{x}\hphantom{yy}zero", "{WebAssembly} and zero"),
        # A group of one letter is that letter (a Polish thesis's bib: 'rozdzielczoś ć' before)
        (r"rozdzielczo{\'s}{\'c} {\"a}{\"o} {M}{R}{I}", "rozdzielczość äö MRI"),
        # babel's shorthands of a Russian thesis: a dash, and marks inside a word; quotes stay
        ('Метод "--- это Ver"-si""on "quoted"', 'Метод — это Version "quoted"'),
        (r"\acused{marij}Näherung \glsreset{x}", "Näherung"),  # acronym bookkeeping prints nothing
        ("", ""),
    ],
)
def test_to_plain(tex: str, plain: str) -> None:
    assert to_plain(tex) == plain


def test_comments_kept_when_asked() -> None:
    assert to_plain("a % b", comments=False) == "a % b"


def test_strip_comments() -> None:
    assert strip_comments("a % c\nb \\% d \\\\% e") == "a \nb \\% d \\\\"


def test_decode_accents_leaves_other_commands() -> None:
    assert decode_accents(r"M{\"u}ller \emph{x}") == r"M{ü}ller \emph{x}"
    assert decode_accents("no backslash") == "no backslash"


def test_tidy_spaces() -> None:
    assert tidy_spaces("  a  ( b ) , c .\n d ") == "a (b), c. d"


@pytest.mark.parametrize("junk", ["\\", "{", "}", "\\'", "\\\"{", "$", "$$x", "\\begin{", "%" * 10, "\\\\\\"])
def test_odd_input_never_fails(junk: str) -> None:
    assert isinstance(to_plain(junk), str)


def test_tidy_spaces_matches_the_regex_definition() -> None:
    import random
    import re

    from texcite.latex.plaintext import tidy_spaces

    space, punct = re.compile(r"\s+"), re.compile(r"\s+(?=[.,;:!?)\]])|(?<=[(\[])\s+")
    alphabet = list(" \t\n\r\x0b\x0c\u00a0\u2003ab.,;:!?)]([")
    rng = random.Random(3)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert tidy_spaces(text) == punct.sub("", space.sub(" ", text)).strip(), repr(text)
