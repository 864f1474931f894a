"""The query built from the cursor: paragraph boundaries, plain text, the marker, the citing sentence, the section."""

from __future__ import annotations

import pytest

from texcite.latex.cite import CiteMatcher
from texcite.latex.facts import scan_file
from texcite.latex.query import MARKER, QueryContext, paragraph_span, query_context

MATCHER = CiteMatcher()


def q(case: str) -> QueryContext:
    """The query at the ``|`` of ``case``; the citation command there becomes the marker."""
    offset = case.index("|")
    text = case[:offset] + case[offset + 1 :]
    cite = MATCHER.context_at(text, offset)
    span = (cite.command.start, cite.command.end) if cite else None
    return query_context(text, offset, MATCHER, span, scan_file(text, MATCHER).section_at(offset))


# --- paragraph boundaries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case,paragraph",
    [
        ("Cats purr.\n\nDogs bark loudly \\cite{|} at night.\n\nBirds sing.", "Dogs bark loudly at night."),
        ("Cats purr.\n   \t\nDogs bark \\cite{|}.", "Dogs bark."),
        ("Cats purr.\\par Dogs bark \\cite{|}.", "Dogs bark."),
        ("Cats purr.\n\\section{Dogs}\nDogs bark \\cite{|}.\n\\section{Birds}\nBirds sing.", "Dogs bark."),
        ("Cats purr.\n\\subsection*{Dogs}\nDogs bark \\cite{|}.", "Dogs bark."),
        (
            "Pets:\n\\begin{itemize}\n\\item Cats purr.\n\\item Dogs bark \\cite{|}.\n\\item Birds sing.\n\\end{itemize}\nThe end.",
            "Dogs bark.",
        ),
        ("Cats purr.\n\\begin{quote}\nDogs bark \\cite{|}.\n\\end{quote}\nBirds sing.", "Dogs bark."),
        (
            "Around.\n\\begin{figure}\n\\centering\n\\caption{Dogs bark \\cite{|}.}\n\\end{figure}\nAfter.",
            "Dogs bark.",
        ),
        # Line breaks, comment lines and \\ do not end a paragraph.
        ("Cats purr\nand dogs bark \\cite{|}.", "Cats purr and dogs bark."),
        ("Cats purr\n% a remark\nand dogs bark \\cite{|}.", "Cats purr and dogs bark."),
        ("Cats purr\\\\ and dogs bark \\cite{|}.", "Cats purr and dogs bark."),
        # A commented-out section is no boundary.
        ("Cats purr.\n% \\section{Old}\nDogs bark \\cite{|}.", "Cats purr. Dogs bark."),
        # \par is not \parencite.
        ("Cats purr \\parencite{x} and dogs bark \\cite{|}.", "Cats purr and dogs bark."),
    ],
    ids=["blank-line", "blank-with-spaces", "par", "section", "subsection-star", "item", "quote-env", "caption",
         "newline", "comment-line", "linebreak", "commented-section", "parencite-not-par"],
)
def test_paragraph_boundaries(case: str, paragraph: str) -> None:
    assert q(case).paragraph == paragraph


@pytest.mark.parametrize("env", ["equation", "equation*", "align", "align*", "gather", "multline"])
def test_math_environments_stay_inside_the_paragraph(env: str) -> None:
    case = f"We minimise the loss\n\\begin{{{env}}}\nL = x\n\\end{{{env}}}\nwhich converges quickly \\cite{{|}}."
    p = q(case).paragraph
    assert p.startswith("We minimise the loss")
    assert p.endswith("which converges quickly.")


def test_paragraph_span_is_source_offsets() -> None:
    text = "One.\n\nTwo three.\n\nFour."
    start, end = paragraph_span(text, text.index("three"))
    assert text[start:end].strip() == "Two three."


@pytest.mark.parametrize("before,after", [(100, 100), (5_000, 100), (100, 5_000), (5_000, 5_000), (30_000, 100)])
def test_long_paragraphs_end_at_their_boundaries(before: int, after: int) -> None:
    # Boundaries are looked for near the cursor first, then up to 20,000 characters away.
    head, tail = "Intro.\n\n", "\n\nNext paragraph."
    text = head + "x" * before + " here " + "y" * after + tail
    start, end = paragraph_span(text, len(head) + before + 2)
    if before <= 20_000:
        assert start == len(head)
    else:
        assert start == len(head) + before + 2 - 20_000  # the window's edge
    assert end == len(text) - len(tail)


# --- plain text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case,paragraph",
    [
        ("Dense retrieval % not this\nworks \\cite{|}.", "Dense retrieval works."),
        ("As \\citet{smith2020} and \\citep[p.~3]{doe2019,roe2018} showed \\cite{|}.", "As and showed."),
        ("\\emph{Dense} and \\textbf{sparse} retrieval \\cite{|}.", "Dense and sparse retrieval."),
        ("Caf\\'e and na\\\"{\\i}ve Sch{\\\"o}n Stra\\ss e \\cite{|}.", "Café and naïve Schön Straße."),
        ("See Section~3 and Fig.~\\ref{fig:x}, as \\cite{|}.", "See Section 3 and Fig., as."),
        ("A 50\\% gain \\cite{|}.", "A 50% gain."),
        ("Scores $s_i$ rise \\cite{|}.", "Scores s i rise."),
    ],
    ids=["comment", "other-cites", "formatting", "accents", "tilde-and-ref", "escaped-percent", "math"],
)
def test_plain_text(case: str, paragraph: str) -> None:
    assert q(case).paragraph == paragraph


def test_marker_sits_at_the_citation() -> None:
    c = q("Dense retrieval \\citep[p.~2]{ab|} works well.")
    assert c.marked == f"Dense retrieval {MARKER} works well."
    assert MARKER not in c.paragraph
    assert c.paragraph == "Dense retrieval works well."
    assert c.text.startswith(c.paragraph) and MARKER not in c.text


def test_marker_without_a_citation_command() -> None:
    text = "Dense retrieval works well."
    c = query_context(text, text.index(" works"), MATCHER)
    assert c.marked == f"Dense retrieval {MARKER} works well."


def test_citing_sentence() -> None:
    c = q("First we index. Then BM25 ranks the entries \\cite{|}. Finally a reranker reorders them.")
    assert c.sentence == f"Then BM25 ranks the entries {MARKER}."


def test_citing_sentence_at_the_end_of_the_paragraph() -> None:
    c = q("First we index. Dense retrievers encode both sides \\cite{|}")
    assert c.sentence == f"Dense retrievers encode both sides {MARKER}"


def test_sentences_end_in_every_script() -> None:
    assert q("Первый метод прост. Второй метод \\cite{|} сложнее. Третий.").sentence == f"Второй метод {MARKER} сложнее."
    assert q("La primera. ¿Es la segunda \\cite{|}? Él no.").sentence == f"¿Es la segunda {MARKER}?"
    assert q("第一种方法很简单。第二种方法\\cite{|}更复杂。第三种。").sentence == f"第二种方法 {MARKER} 更复杂。"


def test_an_initial_or_an_abbreviation_does_not_end_a_sentence() -> None:
    assert q("First. As J. Smith showed \\cite{|}, it works.").sentence == f"As J. Smith showed {MARKER}, it works."
    assert q("Как показал И. И. Иванов \\cite{|}, метод прост.").sentence == f"Как показал И. И. Иванов {MARKER}, метод прост."
    assert q("First. Smith et al. (2020) showed it in Fig. 3 \\cite{|}.").sentence == \
        f"Smith et al. (2020) showed it in Fig. 3 {MARKER}."
    assert q("It is 3.5 m. Next one \\cite{|}.").sentence == f"Next one {MARKER}."  # a unit, not an initial
    assert q("First. Models, e.g. Transformers \\cite{|}, work.").sentence == f"Models, e.g. Transformers {MARKER}, work."
    assert q("Erstens. Es gibt z. B. Modelle \\cite{|}, die gut sind.").sentence == \
        f"Es gibt z. B. Modelle {MARKER}, die gut sind."
    assert q("Erstens. Die Methode (vgl. Abschnitt 2) ist gut \\cite{|}.").sentence == \
        f"Die Methode (vgl. Abschnitt 2) ist gut {MARKER}."


def test_the_words_near_the_marker_in_a_script_without_spaces() -> None:
    # Two characters count as a word: the three words before the marker are about what is cited, not the paragraph.
    views = q("近年来，自然语言处理的许多任务都使用了深度学习方法。在本文中，我们使用Adam优化器\\cite{|}来训练模型。").views()
    assert views["sent"] == "在本文中，我们使用Adam优化器 来训练模型。"
    assert views["before"] == "Adam优化器"
    assert q("we then use the Adam optimizer \\cite{|} for training").views()["before"] == "the Adam optimizer"


# --- section titles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case,title",
    [
        ("\\section{Related Work}\nText \\cite{|}.", "Related Work"),
        ("\\section*{Related Work}\nText \\cite{|}.", "Related Work"),
        ("\\subsection[Short]{A Long \\emph{Title}}\nText \\cite{|}.", "A Long Title"),
        ("\\section{One}\nA.\n\\subsection{Two}\nText \\cite{|}.\n\\section{Three}", "Two"),
        ("\\section{One}\n% \\section{Commented}\nText \\cite{|}.", "One"),
        ("\\chapter{Caf\\'e}\nText \\cite{|}.", "Café"),
        ("No sections here \\cite{|}.", ""),
    ],
    ids=["section", "starred", "short-and-long", "nearest-before", "commented", "accent", "none"],
)
def test_section_title(case: str, title: str) -> None:
    assert q(case).section_title == title


def test_section_title_direct() -> None:
    facts = scan_file("\\section{Intro}\nabc", MATCHER)
    assert facts.section_at(len("\\section{Intro}\nabc")) == "Intro"
    assert facts.section_at(0) == ""


# --- size bounds -----------------------------------------------------------------------------------------------


def test_huge_single_paragraph_gives_a_bounded_query() -> None:
    words = " ".join(f"word{i % 997}" for i in range(640_000))  # ~5 MB, no paragraph break anywhere
    half = len(words) // 2
    text = words[:half] + " \\cite{} " + words[half:]
    assert len(text) > 5_000_000
    offset = text.index("\\cite{") + len("\\cite{")
    cite = MATCHER.context_at(text, offset)
    assert cite is not None
    c = query_context(text, offset, MATCHER, (cite.command.start, cite.command.end))
    assert MARKER in c.marked
    assert 1_000 < len(c.paragraph) <= 2_400
    assert len(c.marked) <= 2_400 + len(MARKER)
    assert not c.paragraph.startswith("word0 word1 ")  # the head of the file is far away


def test_huge_line_without_citation() -> None:
    text = "x" * 5_000_000
    c = query_context(text, 2_500_000, MATCHER)
    assert MARKER in c.marked
    assert len(c.marked) <= 2_400 + len(MARKER)
