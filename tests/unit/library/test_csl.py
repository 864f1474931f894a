"""CSL-JSON (Zotero / Better BibTeX export) read as entries with BibTeX field names, and written back into a
project's bibliography in its dialect."""

from __future__ import annotations

import json

from texcite.bib.parse import parse_bib
from texcite.library.addition import written
from texcite.bib.model import Diagnostic
from texcite.library.csl import read_csl
from texcite.library.index import lost_entries

ITEMS = [
    {"id": "vaswani_attention_2017", "type": "paper-conference", "title": "Attention Is All You Need",
     "author": [{"family": "Vaswani", "given": "Ashish"}, {"family": "Shazeer", "given": "Noam"}],
     "container-title": "Advances in Neural Information Processing Systems", "issued": {"date-parts": [[2017, 12]]},
     "DOI": "10.5555/3295222.3295349", "abstract": "The dominant sequence transduction models & more.",
     "keyword": "transformers, attention"},
    {"id": "doe_thesis_2020", "type": "thesis", "genre": "Master's thesis", "title": "On Gardens",
     "author": [{"literal": "The Garden Collective"}], "publisher": "Univ. of Somewhere",
     "issued": {"raw": "2020-05-01"}},
    {"id": "web1", "type": "webpage", "title": "A Page", "URL": "https://example.org/a_b"},
    {"type": "book", "title": "No key"},
]


def _file(tmp_path):
    path = tmp_path / "library.json"
    path.write_text(json.dumps(ITEMS))
    return read_csl(path.read_bytes(), str(path))


def test_items_become_entries_with_bibtex_fields(tmp_path):
    bib = _file(tmp_path)
    paper, thesis, page = bib.entries  # the item without a key is left out, and said
    assert [(d.line, d.message) for d in bib.diagnostics] == [(3, "Item 4 skipped: it has no id or citation-key")]
    assert (paper.key, paper.entry_type, paper.year) == ("vaswani_attention_2017", "inproceedings", "2017")
    assert paper.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert paper.fields["booktitle"] == "Advances in Neural Information Processing Systems"
    assert paper.fields["doi"] == "10.5555/3295222.3295349" and paper.keywords == "transformers, attention"
    assert paper.fields["month"] == "12" and paper.abstract.startswith("The dominant")
    assert (thesis.entry_type, thesis.year, thesis.authors) == ("mastersthesis", "2020", ["The Garden Collective"])
    assert thesis.fields["school"] == "Univ. of Somewhere"
    assert (page.entry_type, page.fields["url"]) == ("online", "https://example.org/a_b")


def test_items_in_forms_other_exporters_write_keep_their_fields(tmp_path):
    """A date as text, authors as text, Crossref's list-valued titles and type names: the year, the authors and the
    title were dropped without a word."""
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([
        {"id": "strdate", "type": "article-journal", "title": "String dates", "issued": "2018-05-01",
         "author": "Smith, J. and Doe, K."},
        {"id": "crossref", "type": "journal-article", "title": ["A list-valued title"],
         "container-title": ["Journal of Lists"], "author": [{"family": "Lister", "given": "C."}, "Roe, P."],
         "issued": {"date-parts": [[2015]]}}]))
    dated, listed = read_csl(path.read_bytes(), str(path)).entries
    assert (dated.year, dated.surnames) == ("2018", ["Smith", "Doe"])
    assert (listed.entry_type, listed.title, listed.fields["journal"], listed.surnames) == (
        "article", "A list-valued title", "Journal of Lists", ["Lister", "Roe"])


def test_not_csl_json_is_a_diagnostic(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    bib = read_csl(path.read_bytes(), str(path))
    assert not bib.entries and "Not CSL-JSON" in bib.diagnostics[0].message


def test_better_bibtex_json_is_told_apart_from_csl_json(tmp_path):
    path = tmp_path / "My Library.json"
    path.write_text(json.dumps({"config": {"label": "Better BibTeX JSON"}, "items": [
        {"itemType": "journalArticle", "citationKey": "doe2020", "title": "A work", "creators": []}]}))
    bib = read_csl(path.read_bytes(), str(path))
    assert not bib.entries
    assert [d.message for d in bib.diagnostics] == [
        "Not CSL-JSON but Zotero's own JSON (items with an itemType): export the library as 'CSL JSON' or "
        "'Better CSL JSON' (or as Better BibTeX's .bib) instead"]


def test_zoteros_own_export_gets_keys_a_writer_would_type(tmp_path):
    uri = "http://zotero.org/users/96641/items/"
    items = [{"id": uri + "BDQRTS3T", "type": "paper-conference", "title": "Attention Is All You Need",
              "author": [{"family": "Vaswani", "given": "Ashish"}], "issued": {"date-parts": [["2017", 12]]}},
             {"id": uri + "KC6WFG78", "type": "article-journal", "title": "On the Attention of Readers",
              "author": [{"family": "Vaswani", "given": "Ashish"}], "issued": {"date-parts": [[2017]]}},
             {"id": "vaswani2017attentionb", "type": "book", "title": "A key given as the id"},
             {"id": uri + "8IJ9AJ8U", "citation-key": "smith2020", "type": "book", "title": "A citation key"},
             {"id": "12047273/ABCD1234", "type": "book", "title": "Über Gärten",
              "author": [{"family": "Müller-Lüdenscheidt", "given": "J."}], "issued": {"date-parts": [[1999]]}},
             {"id": uri + "ZZZ12345", "type": "webpage", "title": "?"}]
    path = tmp_path / "My Library.json"
    path.write_text(json.dumps(items))
    bib = read_csl(path.read_bytes(), str(path))
    assert [e.key for e in bib.entries] == ["vaswani2017attention", "vaswani2017attentionc", "vaswani2017attentionb",
                                            "smith2020", "mullerludenscheidt1999uber", "ZZZ12345"]
    assert not bib.diagnostics


def test_what_a_library_loses_is_one_line_per_file():
    problems = [Diagnostic("/z/lib.bib", 4, "Malformed entry, skipped: @article{a,"),
                Diagnostic("/z/lib.bib", 9, "Duplicate key 'b': this entry is ignored.", "warning"),
                Diagnostic("/z/lib.bib", 20, "Malformed entry, skipped: @book{c,"),
                Diagnostic("/z/items.json", 2, "Item 3 skipped: it is not an object"),
                Diagnostic("/z/old.bib", 0, "Bibliography not indexed: not found"),
                Diagnostic("/z/other.bib", 3, "Duplicate key 'd' (first defined in lib.bib:2); ignored.", "warning")]
    assert lost_entries(problems, {"/z/old.bib": "not found"}) == {
        "/z/lib.bib": "line 5: Malformed entry, skipped: @article{a, (and 1 more)",
        "/z/items.json": "Item 3 skipped: it is not an object"}  # duplicates lose nothing; old.bib is said otherwise


def test_written_as_bibtex_or_biblatex_and_parsed_back(tmp_path):
    paper, thesis, page = _file(tmp_path).entries
    text = written(paper, "vaswani2017", biblatex=False)
    (back,) = parse_bib(text, "x.bib").entries
    assert back.key == "vaswani2017" and back.entry_type == "inproceedings"
    assert back.title == paper.title and back.authors == paper.authors and back.year == "2017"
    assert "\\&" in text and "{10.5555/3295222.3295349}" in text
    latex = written(thesis, "doe2020", biblatex=True)
    assert latex.startswith("@thesis{doe2020,") and "type = {mastersthesis}" in latex
    assert "institution = {Univ. of Somewhere}" in latex
    assert written(page, "web1", biblatex=False).startswith("@misc{web1,")
    assert written(page, "web1", biblatex=True).startswith("@online{web1,")
    assert "url = {https://example.org/a_b}" in written(page, "web1", biblatex=True)
