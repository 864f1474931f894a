"""Which citation key list holds the cursor, what has been typed, and what a completion would replace.

Each case is LaTeX source with ``|`` marking the cursor.
"""

from __future__ import annotations

import pytest

from texcite.latex.cite import CiteMatcher

MATCHER = CiteMatcher()


def at(case: str, matcher: CiteMatcher = MATCHER):
    """The context at the ``|`` of ``case`` (the bar removed from the text)."""
    offset = case.index("|")
    text = case[:offset] + case[offset + 1 :]
    return text, matcher.context_at(text, offset)


def ctx(command: str, prefix: str = "", existing: tuple[str, ...] = ()) -> tuple[str, str, tuple[str, ...]]:
    return (command, prefix, existing)


CASES = [
    # natbib
    ("cite-empty", r"As shown by \cite{|}.", ctx("cite")),
    ("citep", r"\citep{|}", ctx("citep")),
    ("citet-prefix", r"\citet{smi|}", ctx("citet", "smi")),
    ("citealp-after-comma", r"\citealp{doe2019,|}", ctx("citealp", "", ("doe2019",))),
    ("citealt-after-comma-space", r"\citealt{doe2019, |}", ctx("citealt", "", ("doe2019",))),
    ("citeauthor-start-of-list", r"\citeauthor{|doe2019}", ctx("citeauthor", "", ("doe2019",))),
    ("citeyear-middle", r"\citeyear{a,b|,c}", ctx("citeyear", "b", ("a", "c"))),
    ("citenum-before-key", r"\citenum{a,|b}", ctx("citenum", "", ("a", "b"))),
    ("Citet-capital", r"\Citet{|} argue", ctx("Citet")),
    ("Citep-capital-prefix", r"\Citep{vas|}", ctx("Citep", "vas")),
    ("citep-star", r"\citep*{|}", ctx("citep")),
    ("citet-star-prefix", r"\citet*{a, b|}", ctx("citet", "b", ("a",))),
    ("citep-page", r"\citep[p.~3]{|}", ctx("citep")),
    ("citep-two-optionals", r"\citep[see][ch.~2]{x,|}", ctx("citep", "", ("x",))),
    ("cite-space-before-brace", r"\cite {|}", ctx("cite")),
    ("cite-partial-with-punctuation", r"\cite{doe:2020-|}", ctx("cite", "doe:2020-")),
    # apacite (texlab #409): its commands by default, and its <prenote>
    ("citeA", r"\citeA{|}", ctx("citeA")),
    ("citeA-star", r"\citeA*{sm|}", ctx("citeA", "sm")),
    ("citeNP", r"\citeNP{a,|}", ctx("citeNP", "", ("a",))),
    ("citeyearNP", r"\citeyearNP{|}", ctx("citeyearNP")),
    ("shortciteA", r"\shortciteA{|}", ctx("shortciteA")),
    ("fullciteauthorNP", r"\fullciteauthorNP{|}", ctx("fullciteauthorNP")),
    ("cite-apacite-prenote", r"\cite<see>[p.~3]{x,|}", ctx("cite", "", ("x",))),
    ("citeA-prenote-only", r"\citeA<e.g.,>{|}", ctx("citeA")),
    ("natbib-Citeyearpar", r"\Citeyearpar{|}", ctx("Citeyearpar")),
    ("cite-doubled-braces", r"\cite{{ga|}}", ctx("cite", "ga")),  # TeX strips both pairs (15 of a thesis's cites)
    ("cite-doubled-braces-second", r"\cite{{a,|}}", ctx("cite", "", ("a",))),
    # harvard.sty: \citeaffixed{key}{e.g.} has a second argument, no keys
    ("citeasnoun", r"\citeasnoun{a,|}", ctx("citeasnoun", "", ("a",))),
    ("possessivecite", r"\possessivecite{ab|}", ctx("possessivecite", "ab")),
    ("citeaffixed", r"\citeaffixed{|}{see}", ctx("citeaffixed")),
    ("inlinecite", r"\inlinecite{|}", ctx("inlinecite")),  # thuthesis
    # abntex2cite (Brazilian theses)
    ("citeonline", r"\citeonline[p.~3]{|}", ctx("citeonline")),
    ("citeauthoronline", r"\citeauthoronline{a,|}", ctx("citeauthoronline", "", ("a",))),
    ("apud", r"\apud{|}", ctx("apud")),
    # biblatex
    ("parencite", r"\parencite{|}", ctx("parencite")),
    ("Parencite", r"\Parencite{ab|}", ctx("Parencite", "ab")),
    ("textcite", r"\textcite{a,|}", ctx("textcite", "", ("a",))),
    ("Textcite", r"\Textcite{|}", ctx("Textcite")),
    ("autocite", r"\autocite{|}", ctx("autocite")),
    ("Autocite", r"\Autocite[p.~2]{|}", ctx("Autocite")),
    ("footcite", r"\footcite[p.~2]{|}", ctx("footcite")),
    ("smartcite", r"\smartcite{|}", ctx("smartcite")),
    ("supercite", r"\supercite{x,|}", ctx("supercite", "", ("x",))),
    ("fullcite", r"\fullcite{|}", ctx("fullcite")),
    ("footfullcite", r"\footfullcite{|}", ctx("footfullcite")),
    ("nocite", r"\nocite{|}", ctx("nocite")),
    ("parencite-two-optionals", r"\parencite[see][p.~3]{|}", ctx("parencite")),
    # multicite
    ("cites-second-group", r"\cites{a}{|}", ctx("cites", "", ("a",))),
    ("parencites-full", r"\parencites(pre)(post)[p1]{a}[p2]{|}", ctx("parencites", "", ("a",))),
    ("autocites-third-group", r"\autocites{a}[p.~4]{b}{c|}", ctx("autocites", "c", ("a", "b"))),
    ("textcites-first-group", r"\textcites[see]{|}{b}", ctx("textcites", "", ("b",))),
    # unterminated key lists (the user is typing)
    ("unterminated-end-of-text", r"see \cite{smi|", ctx("cite", "smi")),
    ("unterminated-prose-follows", r"see \cite{smi| and the rest of the sentence.", ctx("cite", "smi")),
    ("unterminated-next-line", "see \\cite{smi|\nThe next line of prose.", ctx("cite", "smi")),
    ("unterminated-after-comma", r"\citep{a, b, |", ctx("citep", "", ("a", "b"))),
    # multi-line key lists
    ("multiline-end", "\\cite{a,\n  b,\n  |}", ctx("cite", "", ("a", "b"))),
    ("multiline-middle", "\\cite{a,\n  b|,\n  c}", ctx("cite", "b", ("a", "c"))),
    # the keys of other commands are not this command's
    ("second-command", r"\cite{a} and \cite{|}", ctx("cite")),
    ("inside-footnote", r"text\footnote{See \cite{|}.}", ctx("cite")),
    ("duplicate-existing-once", r"\cite{a,a,|}", ctx("cite", "", ("a",))),
    # comments and escapes
    ("escaped-percent", r"50\% of the time \cite{|}", ctx("cite")),
    ("after-comment-line", "% a comment\n\\cite{|}", ctx("cite")),
    ("after-verbatim-ended", "\\begin{verbatim}\n\\cite{x}\n\\end{verbatim}\nsee \\cite{|}", ctx("cite")),
    ("verbatim-in-comment-ignored", "% \\begin{verbatim}\nsee \\cite{|}", ctx("cite")),
    ("linebreak-then-cite", r"first line\\\cite{|}", ctx("cite")),
]

NONE_CASES = [
    ("optional-argument", r"\cite[p.~|3]{a}"),
    ("second-optional-argument", r"\parencite[see][p.~|3]{a}"),
    ("multicite-parenthesised", r"\parencites(pre|)(post){a}"),
    ("after-closing-brace", r"\cite{a}|"),
    ("after-closing-brace-prose", r"\cite{a} and then| more"),
    ("before-command", r"|\cite{a}"),
    ("between-name-and-brace", r"\cite|{a}"),
    ("in-comment", r"% \cite{|}"),
    ("in-comment-after-text", r"Some text % \cite{|}"),
    ("linebreak-then-comment", r"first line \\% \cite{|}"),
    ("verbatim", "\\begin{verbatim}\n\\cite{|}\n\\end{verbatim}"),
    ("lstlisting", "\\begin{lstlisting}[language=TeX]\n\\cite{|}\n\\end{lstlisting}"),
    ("unknown-command-suffix", r"\citeauthorx{|}"),
    ("unknown-command", r"\mycite{|}"),
    ("not-a-command", r"cite{|}"),
    ("escaped-backslash", r"\\cite{|}"),
    ("second-brace-not-multicite", r"\cite{a}{|}"),
    ("plain-braces", r"\emph{|}"),
]


@pytest.mark.parametrize("case,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_context(case: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    _, c = at(case)
    assert c is not None
    assert (c.command.name, c.prefix, c.existing_keys) == expected


@pytest.mark.parametrize("case", [c[1] for c in NONE_CASES], ids=[c[0] for c in NONE_CASES])
def test_no_context(case: str) -> None:
    assert at(case)[1] is None


@pytest.mark.parametrize("extra", [["mycite"], ["\\mycite"], ["mycite*"]])
def test_user_commands(extra: list[str]) -> None:
    matcher = CiteMatcher(extra)
    _, c = at(r"\mycite{a,|}", matcher)
    assert c is not None and c.command.name == "mycite" and c.existing_keys == ("a",)
    _, c = at(r"\mycite[p.~2]{ke|}", matcher)
    assert c is not None and c.prefix == "ke"
    # The built-ins stay.
    assert at(r"\citep{|}", matcher)[1] is not None


def apply(case: str, key: str) -> str:
    """The text after accepting ``key`` at the cursor of ``case``."""
    text, c = at(case)
    assert c is not None
    return text[: c.replace_start] + c.insert_text(key) + text[c.replace_end :]


@pytest.mark.parametrize(
    "case,after",
    [
        (r"\cite{|}", r"\cite{smith2020}"),
        (r"\cite{smi|}", r"\cite{smith2020}"),
        (r"\cite{smi|th}", r"\cite{smith2020}"),
        (r"\cite{sm|ith2019}", r"\cite{smith2020}"),
        (r"\cite{a,|}", r"\cite{a,smith2020}"),
        (r"\cite{a, |}", r"\cite{a, smith2020}"),
        (r"\cite{a, smi|}", r"\cite{a, smith2020}"),
        (r"\cite{a,b|,c}", r"\cite{a,smith2020,c}"),
        (r"\cite{a, b| , c}", r"\cite{a, smith2020 , c}"),
        (r"\cite{|a}", r"\cite{smith2020,a}"),
        (r"\cite{a,|b}", r"\cite{a,smith2020,b}"),
        (r"\cite{a, | b}", r"\cite{a, smith2020, b}"),
        (r"\citep[p.~3]{smi|}", r"\citep[p.~3]{smith2020}"),
        (r"\parencites(pre)(post)[p1]{a}[p2]{sm|}", r"\parencites(pre)(post)[p1]{a}[p2]{smith2020}"),
        ("\\cite{a,\n  smi|\n}", "\\cite{a,\n  smith2020\n}"),
        (r"see \cite{smi| and more.", r"see \cite{smith2020 and more."),
        (r"see \cite{smi|", r"see \cite{smith2020"),
    ],
)
def test_edit(case: str, after: str) -> None:
    assert apply(case, "smith2020") == after


def test_replace_span_is_the_typed_key() -> None:
    text, c = at(r"See \citet{doe2019, smi|th} for details.")
    assert c is not None
    assert text[c.replace_start : c.replace_end] == "smith"
    assert c.prefix == "smi"
    assert c.existing_keys == ("doe2019",)


def test_iter_commands_lists_every_command() -> None:
    text = r"\citet{a} and \parencites{b}{c} but not \emph{d} or \\cite{e}"
    found = [(cmd.name, cmd.keys(text)) for cmd in MATCHER.iter_commands(text)]
    assert found == [("citet", ["a"]), ("parencites", ["b", "c"])]


def test_doubled_braces_hold_the_keys_and_belong_to_the_command() -> None:
    text = r"Graphs \cite{{gamma}} and \citep[p.~2]{{a,b}}."
    found = [(cmd.keys(text), text[cmd.start:cmd.end]) for cmd in MATCHER.iter_commands(text)]
    assert found == [(["gamma"], r"\cite{{gamma}}"), (["a", "b"], r"\citep[p.~2]{{a,b}}")]


def test_command_span_starts_at_backslash() -> None:
    text = r"line\\\cite{a} more"
    (cmd,) = list(MATCHER.iter_commands(text))
    assert text[cmd.start : cmd.end] == r"\cite{a}"


def test_far_away_command_is_not_used() -> None:
    text = r"\cite{a" + "x" * 10_000 + "|"
    assert at(text)[1] is None
