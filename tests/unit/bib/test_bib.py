"""Bib files as the user wrote them: macros, crossrefs, LaTeX, and every kind of broken file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from texcite.bib.incremental import BibParser
from texcite.bib.model import BibFile, Entry, entry_document, merge_entries, split_names
from texcite.bib.parse import parse_bib, parse_bib_slow, parse_bytes

EXAMPLE_BIB = Path(__file__).resolve().parents[3] / "examples" / "paper" / "refs.bib"


def read_bib(path: str) -> BibFile:
    """A .bib file read from disk as the server reads it (no disk cache)."""
    return BibParser(lambda entries: [""] * len(entries)).read(path).bib

MACROS = r"""@string{tois = {ACM Transactions on Information Systems}}
@string{procof = "Proceedings of the "}

@article{okafor2019,
  author  = {Okafor, Chidi and Lindgren, Maja},
  title   = {Saturating Term Frequency},
  journal = tois,
  month   = apr,
  year    = 2019,
}

@inproceedings{dated,
  title     = {Dated},
  booktitle = procof # {Workshop on Citations},
  month     = jan # "~15",
  year      = {2020},
}

@misc{hash, title = {C# and F# for Scientists}, month = {May}}
"""


def entries(text: str) -> dict[str, Entry]:
    return {e.key: e for e in parse_bib(text, "refs.bib").entries}


def test_string_and_month_macros() -> None:
    e = entries(MACROS)
    assert e["okafor2019"].fields["journal"] == "ACM Transactions on Information Systems"
    assert e["okafor2019"].venue == "ACM Transactions on Information Systems"
    assert e["okafor2019"].fields["month"] == "April"
    assert e["okafor2019"].year == "2019"
    assert e["dated"].fields["booktitle"] == "Proceedings of the Workshop on Citations"
    assert e["dated"].fields["month"] == "January 15"
    assert e["hash"].title == "C# and F# for Scientists"
    assert e["hash"].fields["month"] == "May"


CROSSREF = r"""@inproceedings{child,
  author   = {Doe, Jane},
  title    = {Child Paper},
  crossref = {proc21},
  pages    = {1--10},
}
@inproceedings{own,
  title     = {Own Booktitle},
  booktitle = {Its Own Venue},
  year      = {2018},
  crossref  = {proc21},
}
@proceedings{proc21,
  title     = {Proceedings of the Conference on Retrieval},
  publisher = {Open Press},
  year      = {2021},
}
"""


def test_crossref_inherits_booktitle_and_year() -> None:
    merged, problems = merge_entries([parse_bib(CROSSREF, "refs.bib")])
    by_key = {e.key: e for e in merged}
    child = by_key["child"]
    assert child.fields["booktitle"] == "Proceedings of the Conference on Retrieval"
    assert child.venue == "Proceedings of the Conference on Retrieval"
    assert child.year == "2021"
    assert child.fields["publisher"] == "Open Press"
    assert child.title == "Child Paper"  # the parent's title does not overwrite the child's
    own = by_key["own"]
    assert own.fields["booktitle"] == "Its Own Venue" and own.year == "2018"
    assert problems == []


def test_crossref_across_files() -> None:
    a = parse_bib(CROSSREF.split("@proceedings")[0], "a.bib")
    b = parse_bib("@proceedings" + CROSSREF.split("@proceedings")[1], "b.bib")
    merged, _ = merge_entries([a, b])
    assert {e.key: e for e in merged}["child"].year == "2021"


@pytest.mark.parametrize(
    "raw,decoded",
    [
        (r"M{\"u}ller", "Müller"),
        (r"M\"{u}ller", "Müller"),
        (r"Garc{\'\i}a", "García"),
        (r"Lef{\`e}vre", "Lefèvre"),
        (r"Jo{\~a}o", "João"),
        (r"Stra{\ss}e", "Straße"),
        (r"{\O}stergaard", "Østergaard"),
        (r"Ko{\c{c}}", "Koç"),
    ],
)
def test_latex_decoded(raw: str, decoded: str) -> None:
    e = entries(f"@article{{k, author = {{{raw}, Anna}}, title = {{On {{BERT}} and \\emph{{Dense}} Models}}}}")["k"]
    assert e.surnames == [decoded]
    assert e.title == "On BERT and Dense Models"


def test_authors_surnames_short_authors() -> None:
    one = entries(r"@article{k, author = {M{\"u}ller, J{\"o}rg}}")["k"]
    assert one.authors == ["Jörg Müller"] and one.surnames == ["Müller"] and one.short_authors() == "Müller"
    two = entries(r"@article{k, author = {Jane Doe and van der Berg, Pieter}}")["k"]
    assert two.authors == ["Jane Doe", "Pieter van der Berg"]
    assert two.surnames == ["Doe", "van der Berg"]
    assert two.short_authors() == "Doe and van der Berg"
    many = entries(r"@article{k, author = {A, B and C, D and E, F}}")["k"]
    assert many.short_authors() == "A et al."
    others = entries(r"@article{k, author = {Doe, Jane and others}}")["k"]
    assert others.authors == ["Jane Doe"] and others.short_authors() == "Doe et al."
    braced = entries(r"@article{k, author = {Doe, Jane and {others}}}")["k"]  # as some exports write it
    assert braced.authors == ["Jane Doe"] and braced.surnames == ["Doe"] and braced.short_authors() == "Doe et al."
    corporate = entries(r"@article{k, author = {{Procter and Gamble} and Doe, Jane}}")["k"]
    assert corporate.authors == ["Procter & Gamble", "Jane Doe"]
    editors = entries(r"@book{k, editor = {Roe, Richard}}")["k"]
    assert editors.authors == ["Richard Roe"]
    nobody = entries(r"@misc{k, title = {T}}")["k"]
    assert nobody.authors == [] and nobody.short_authors() == ""
    # a braced last word of several is the last name (a chemistry thesis's bib: 'III' and 'Jr.' were surnames)
    grouped = entries(r"@book{k, author = {W. A. {Goddard III} and A. {Streitwieser Jr.} and Jane {van} {Dyke}}}")["k"]
    assert grouped.authors == ["W. A. Goddard III", "A. Streitwieser Jr.", "Jane van Dyke"]
    assert grouped.surnames == ["Goddard III", "Streitwieser Jr.", "Dyke"]


def test_split_names_respects_braces() -> None:
    assert split_names("A and {B and C} AND D and others") == ["A", "{B and C}", "D"]


def test_a_corporate_author_stays_one_name() -> None:
    e = entries(r"@misc{k, author = {{The texcite developers}}, year = {2026}, title = {texcite}}")["k"]
    assert e.authors == ["The texcite developers"] and e.surnames == ["The texcite developers"]
    assert e.short_authors() == "The texcite developers"
    split = entries(r"@misc{k, author = {{van} {Dyke}, Jo}, title = {T}}")["k"]  # two groups: not corporate
    assert split.surnames == ["van Dyke"]


def test_entry_document_format() -> None:
    e = entries(
        r"""@article{k, author = {Doe, Jane and Roe, Rick}, title = {Dense Retrieval}, journal = {IR Journal},
        year = {2020}, keywords = {retrieval, dense}, abstract = {We retrieve densely.}, pages = {1--2}}"""
    )["k"]
    assert entry_document(e) == (
        "Title: Dense Retrieval\n"
        "Authors: Jane Doe, Rick Roe\n"
        "Venue: IR Journal\n"
        "Year: 2020\n"
        "Keywords: retrieval, dense\n"
        "Abstract: We retrieve densely."
    )
    assert e.document == entry_document(e)
    bare = entries("@misc{k, title = {Only a Title}}")["k"]
    assert entry_document(bare) == "Title: Only a Title"


def test_duplicate_key_is_a_warning_with_its_line() -> None:
    bib = parse_bib("@article{a, title = {First}}\n\n@article{a, title = {Second}}\n", "refs.bib")
    assert [e.title for e in bib.entries] == ["First"]
    (d,) = bib.diagnostics
    assert d.severity == "warning" and d.line == 2 and "'a'" in d.message


def test_a_repeated_field_keeps_its_entry_with_the_first_value() -> None:
    """A ScienceDirect export repeats ``keywords``: BibTeX warns and keeps the entry (a real thesis cites it)."""
    text = ('@string{tcs = "Theoretical Computer Science"}\n@article{before, title = {Before}}\n'
            '@article{MAIRESSE201442,\n  title = "Around probabilistic cellular automata",\n  journal = tcs,\n'
            '  month = jan, year = "2014",\n  keywords = "Probabilistic cellular automaton",\n  keywords = "Ergodicity"\n}\n'
            '@article{after, title = {After}}\n')
    bib = parse_bib(text, "refs.bib")
    assert [e.key for e in bib.entries] == ["before", "MAIRESSE201442", "after"]
    entry = bib.entries[1]
    assert (entry.title, entry.fields["journal"], entry.fields["month"], entry.fields["keywords"], entry.line) == (
        "Around probabilistic cellular automata", "Theoretical Computer Science", "January",
        "Probabilistic cellular automaton", 2)
    (d,) = bib.diagnostics
    assert d.severity == "warning" and d.line == 2
    assert d.message == "Field keywords repeated in 'MAIRESSE201442': the first is kept, as BibTeX does."


def test_a_comment_command_without_braces_is_no_malformed_entry() -> None:
    """``@Comment some words`` (a real thesis's bib annotates its entries so): BibTeX skips it, nothing is wrong."""
    bib = parse_bib("@Comment extensive overview of other C formalizations\n@inproceedings{ellison2012,\n"
                    "  title={An executable formal semantics of {C}},\n}\n@comment{braced}\n@article{b, title={B}}\n",
                    "refs.bib")
    assert [e.key for e in bib.entries] == ["ellison2012", "b"] and bib.diagnostics == []


def test_an_entry_type_starting_with_a_command_s_name_is_an_entry() -> None:
    """biblatex's ``@commentary`` (law theses cite commentaries): bibtexparser read it as a comment and the entry
    was lost without a word; BibTeX and biber read an entry."""
    text = ("@Commentary{palandt, author = {Palandt, Otto}, title = {B\\\"urgerliches Gesetzbuch}, year = {2020}}\n"
            "@comment{a note}\n@string{j = {Journal}}\n@stringquartet{q, title = {Quartets}, journal = j}\n"
            "@preamble{\"x\"}\n")
    for parse in (parse_bib, parse_bib_slow):
        bib = parse(text, "refs.bib")
        assert [(e.key, e.entry_type, e.line) for e in bib.entries] == [("palandt", "commentary", 0),
                                                                       ("q", "stringquartet", 3)]
        assert bib.entries[0].title == "Bürgerliches Gesetzbuch" and bib.entries[1].fields["journal"] == "Journal"
        assert bib.diagnostics == []


def test_a_malformed_entry_keeps_the_fields_before_the_error_as_bibtex_does() -> None:
    """A stray '+,' line (a Persian thesis: 3 citations unresolved) and '@misc(key, ... }' (an Italian thesis:
    4 entries): BibTeX says so and keeps the entry with the fields it read; bibtexparser dropped it."""
    text = ("@misc{gateway,\n  title = {Microsoft {API} Gateway},\n  year = 2023,\n  +,\n  note = {lost}\n}\n"
            "@misc(assess,\n    author = \"Chen, Xuexiu\",\n    title = \"A Cloud Security Assessment\" # {, 2015}\n}\n"
            "@article{fine, title = {Fine}}\n@ar ticle{broken, title = {X}}\n")
    for parse in (parse_bib, parse_bib_slow):
        bib = parse(text, "refs.bib")
        assert [(e.key, e.entry_type, e.line) for e in bib.entries] == [("gateway", "misc", 0), ("assess", "misc", 6),
                                                                       ("fine", "article", 10)]
        assert bib.entries[0].fields == {"title": "Microsoft API Gateway", "year": "2023"}
        assert bib.entries[1].title == "A Cloud Security Assessment, 2015" and bib.entries[1].surnames == ["Chen"]
        assert [(d.line, d.message) for d in bib.diagnostics] == [
            (11, "Malformed entry, skipped: @ar ticle{broken, title = {X}}"),
            (0, "Malformed entry 'gateway': the fields before line 4 are kept, as BibTeX keeps them"),
            (6, "Malformed entry 'assess': the fields before line 10 are kept, as BibTeX keeps them")]


def test_a_line_ending_in_a_backslash_keeps_every_later_entry_on_its_line() -> None:
    """bibtexparser does not count a line ending in '\\': each such line put every later entry one line early
    (go to definition missed; 725 of a library's 5,353 entries were not copied as written on accept)."""
    text = ("@article{a, title={Line one\\\\\nand two}, note={x\\\n}}\n@article{b, title={B}}\n"
            "@string{s = {S}}\n@article{c, title={C} # s}\n")
    for parse in (parse_bib, parse_bib_slow):
        assert [(e.key, e.line) for e in parse(text, "refs.bib").entries] == [("a", 0), ("b", 3), ("c", 5)]


def test_biblatex_extended_names_are_names() -> None:
    """``family=Northcott, given=Malcolm, prefix=a, useprefix=false`` showed as "family=Northcott et al." (77 entries
    of a library)."""
    bib = parse_bib("@article{n, author={family=Northcott, given=Malcolm, prefix=a, useprefix=false and given={John A.}, "
                    "family={Doe}, suffix=Jr and family=Gogh, prefix=van, given=Vincent, useprefix=true and Plain, Name},"
                    " title={T}}\n", "refs.bib")
    assert bib.entries[0].surnames == ["Northcott", "Doe", "van Gogh", "Plain"]


def test_a_comment_between_an_entrys_fields_costs_nothing() -> None:
    """``year = {1995}, %other attributes omitted`` (a German thesis's bib: six cited entries were dropped as
    malformed); a % inside a value is no such comment; lines stay where they were."""
    text = ("@phdthesis{treutler,\n  title = {Dichtefunktionalmethoden},\n  year = {1995}, %other attributes omitted\n}\n"
            "@thesis{maryott,\n%type={Masterarbeit},\n  title = {Dielectric constants}, note = \"a %b\" % why\n}\n"
            "@article{plain, title = {A {plain} entry}}\n")
    for parse in (parse_bib, parse_bib_slow):
        bib = parse(text, "refs.bib")
        assert [(e.key, e.line) for e in bib.entries] == [("treutler", 0), ("maryott", 4), ("plain", 8)]
        assert bib.entries[0].fields["year"] == "1995" and bib.entries[1].title == "Dielectric constants"
        assert bib.diagnostics == []


def test_a_string_defined_again_is_said_as_such() -> None:
    """48 of a German thesis's 57 problems read "Duplicate key 'cup': this entry is ignored" for @string macros."""
    bib = parse_bib('@string{cup = {Journal of Physical Chemistry}}\n@string{cup = "J. Phys. Chem."}\n'
                    "@article{a, title = {T}, journal = cup}\n", "refs.bib")
    assert bib.entries[0].fields["journal"] == "Journal of Physical Chemistry"
    assert [(d.line, d.message) for d in bib.diagnostics] == [
        (1, "@string 'cup' defined again: ignored, the first definition is used (BibTeX would use this one).")]


def test_duplicate_key_across_files() -> None:
    a = parse_bib("@article{k, title = {A}}\n", "a.bib")
    b = parse_bib("\n@article{k, title = {B}}\n", "b.bib")
    merged, problems = merge_entries([a, b])
    assert [e.title for e in merged] == ["A"]
    (d,) = problems
    assert d.path == "b.bib" and d.line == 1 and d.severity == "warning"


def test_malformed_block_keeps_the_entries_after_it() -> None:
    text = (
        "@article{good1, title = {Good One}}\n"
        "\n"
        "@article{broken, title = {Unbalanced, year = 2020\n"
        "\n"
        "@article{good2, title = {Good Two}}\n"
        "@book{good3, title = {Good Three}}\n"
    )
    bib = parse_bib(text, "refs.bib")
    assert [e.key for e in bib.entries] == ["good1", "good2", "good3"]
    errors = [d for d in bib.diagnostics if d.severity == "error"]
    assert len(errors) == 1 and errors[0].line == 2
    assert [e.line for e in bib.entries] == [0, 4, 5]


def test_binary_file_gives_one_diagnostic(tmp_path: Path) -> None:
    for i, data in enumerate([b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 200, bytes(range(1, 256)) * 300]):
        path = tmp_path / f"image{i}.bib"
        path.write_bytes(data)
        bib = read_bib(str(path))
        assert bib.entries == []
        (d,) = bib.diagnostics
        assert d.severity == "error" and "binary" in d.message


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(20):
        data = bytes(rng.randrange(256) for _ in range(2000))
        parse_bytes(data, "noise.bib")  # any diagnostics, no exception


def test_invalid_utf8_warns_and_keeps_entries() -> None:
    data = "@article{a, author = {Müller, Jörg}, title = {Ä}}\n\n@article{b, title = {B}}\n".encode("latin-1")
    bib = parse_bytes(data, "latin.bib")
    assert [e.key for e in bib.entries] == ["a", "b"]
    assert bib.entries[0].surnames == ["Müller"]
    (d,) = bib.diagnostics
    assert d.severity == "warning" and "UTF-8" in d.message


def test_utf8_with_bom() -> None:
    bib = parse_bytes("\ufeff@article{a, title = {Ünïcode}}\n".encode("utf-8"), "bom.bib")
    assert [e.title for e in bib.entries] == ["Ünïcode"] and bib.diagnostics == []


def test_missing_file(tmp_path: Path) -> None:
    bib = read_bib(str(tmp_path / "nowhere.bib"))
    assert bib.entries == []
    (d,) = bib.diagnostics
    assert d.severity == "error" and d.path.endswith("nowhere.bib")


def test_large_generated_bib(tmp_path: Path) -> None:
    block = (
        "@article{{key{n},\n  author = {{Author, Ann and Other, Bob}},\n  title = {{Generated title {n}}},\n"
        "  journal = {{Journal}},\n  year = {{2020}},\n  abstract = {{" + "Dense retrieval and ranking. " * 12 + "}},\n}}\n\n"
    )
    parts, size, n = [], 0, 0
    while size < 20_000_000:
        s = block.format(n=n)
        parts.append(s)
        size += len(s)
        n += 1
    path = tmp_path / "big.bib"
    path.write_text("".join(parts), encoding="utf-8")
    bib = read_bib(str(path))
    assert len(bib.entries) == n
    assert bib.diagnostics == []
    assert bib.entries[-1].title == f"Generated title {n - 1}"


def test_example_paper_bib() -> None:
    bib = read_bib(str(EXAMPLE_BIB))
    assert bib.diagnostics == []
    merged, problems = merge_entries([bib])
    by_key = {e.key: e for e in merged}
    assert len(merged) >= 30 and problems == []
    assert by_key["muller2020crossencoder"].surnames == ["Müller", "Castellanos"]
    assert by_key["lindqvist2021dense"].venue == "Proceedings of the 44th Conference on Research in Information Retrieval"
    assert by_key["lindqvist2021dense"].year == "2021"
    assert by_key["okafor2019termweighting"].venue == "ACM Transactions on Information Systems"
    assert by_key["okafor2019termweighting"].fields["month"] == "April"
    assert by_key["lowe2015foundations"].entry_type == "book"
    with_abstract = [e for e in merged if e.abstract]
    assert len(with_abstract) >= 28


# -- the fast entry-block path must give what bibtexparser gives ---------------------------------------------

_TRICKY = r"""% a header comment with an address: someone@example.org

@string{jml = "Journal of Machine Learning"}
@article{plain2020,
  author = {M{\"u}ller, Jan and {Research Group} and Doe, J.},
  title = {A {Deep} Look at \emph{Things} -- and ``quotes''},
  journal = jml # { Research},
  month = jan,
  year = 2020,
  pages = "1--10",
}
@inproceedings{quoted2019, title = "Quoted, with {braces} inside", year = {2019}}
  @misc{indented,
    note = {escaped \} brace and \{ another},
    howpublished = {LeQua @ {CLEF}},
    url = {http://x.org/a_b%20c}
  }
@article(paren2018, title = {Parenthesised}, year = {2018})
@comment{ignored @article{nope, title = {x}} }
@preamble{"\newcommand{\x}{y}"}
@misc{nofields}
@book{spaces , title = { padded } , year = { 2001 } }
@article{Upper2000, Title = {Capital field}, TITLE = {Second spelling}}
trailing text after the last entry
"""


def _check_fast_agrees(text: str) -> None:
    from texcite.bib.parse import parse_bib_slow

    slow, fast = parse_bib_slow(text, "x.bib"), parse_bib(text, "x.bib")
    assert fast.entries == slow.entries
    assert fast.diagnostics == slow.diagnostics


def test_fast_path_agrees_with_bibtexparser_on_tricky_input() -> None:
    _check_fast_agrees(_TRICKY)


def test_fast_path_agrees_block_by_block() -> None:
    blocks = _TRICKY.split("\n@")
    for i in range(1, len(blocks)):
        _check_fast_agrees("@" + blocks[i] + "\n")
        _check_fast_agrees(blocks[0] + "\n@" + "\n@".join(blocks[i:]))


def test_fast_path_agrees_on_damaged_input() -> None:
    rng = random.Random(5)
    for _ in range(300):
        chars = list(_TRICKY)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars))
            chars[i] = rng.choice(['{', '}', '"', ',', '=', '@', '\n', '\\', '#', ' ', 'a'])
        _check_fast_agrees("".join(chars))


def test_fast_path_is_used_for_plain_entries() -> None:
    from texcite.bib.parse import _fast_entry

    assert _fast_entry("@article{a1,\n  title = {T {X}},\n  year = {2020}\n}\n") == ("article", "a1", [("title", "T {X}"), ("year", "2020")])
    assert _fast_entry("@string{a = {b}}") is None
    assert _fast_entry("@article{a1, journal = jml}") is None


def test_a_stray_nul_byte_costs_only_its_entry() -> None:
    kept = parse_bytes(b"@article{a, title={Alpha}}\n@article{b, title={Be\x00ta}}\n@article{c, title={Gamma}}\n", "x.bib")
    assert [e.key for e in kept.entries] == ["a", "b", "c"] and not kept.diagnostics
    broken = parse_bytes(b"@article{a, title={Alpha}}\n@arti\x00cle{b, title={Beta}}\n@article{c, title={Gamma}}\n", "x.bib")
    assert [e.key for e in broken.entries] == ["a", "c"]
    assert [(d.line, d.message[:24]) for d in broken.diagnostics] == [(1, "Malformed entry, skipped")]


def test_a_huge_field_is_read_up_to_the_field_cap() -> None:
    """A 2 MB abstract (both parsers) keeps its first MAX_FIELD_CHARS characters; the other fields are whole."""
    from texcite.bib.parse import MAX_FIELD_CHARS, parse_bib_slow

    words = "word " * 400_000
    text = f"@article{{big, title={{Huge abstract}}, year={{2001}}, abstract={{{words}}}}}\n"
    for parse in (parse_bib, parse_bib_slow):
        [entry] = parse(text, "/refs.bib").entries
        assert entry.title == "Huge abstract" and entry.year == "2001"
        assert entry.abstract == words[:MAX_FIELD_CHARS].strip()
