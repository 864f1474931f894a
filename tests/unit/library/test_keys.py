"""A key the library defines twice: for another work it is a work of its own under ``_2``, offered and added to
refs.bib under that key; for the same work it stays one entry (``library.keys``)."""

from __future__ import annotations

from texcite.engine import Engine
from texcite.library.index import LibraryIndex
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries
from texcite.settings import Settings

SHAP = ("@inproceedings{Lundberg:2017,\n  title = {A Unified Approach to Interpreting Model Predictions},\n"
        "  author = {Lundberg, Scott and Lee, Su-In},\n  year = {2017},\n}\n")
GENES = ("@article{Lundberg:2017,\n  title = {Gene expression in tumour {cells}},\n"
         "  author = {Lundberg, Emma},\n  journal = JOURNAL,\n  year = {2017},\n}\n")
STRINGS = '@string{JOURNAL = "Cell Reports"}\n'


def _entries(tmp_path, *texts: str) -> tuple[LibraryIndex, dict]:
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"library{i}.bib"
        path.write_text(text)
        paths.append(str(path))
    index = LibraryIndex(analyze_entries, str(tmp_path / "cache"), TOKENS_VERSION)
    index.configure(paths)
    corpus = index.wait()
    return index, {e.key: e for e in corpus.entries}


def test_a_key_defined_again_in_one_file_for_another_work_is_offered_under_a_key_of_its_own(tmp_path):
    index, entries = _entries(tmp_path, STRINGS + SHAP + "\n" + GENES + "\n" + SHAP)
    try:
        assert sorted(entries) == ["Lundberg:2017", "Lundberg:2017_2"]  # the third: SHAP again, one entry
        assert entries["Lundberg:2017"].title.startswith("A Unified Approach")
        genes = entries["Lundberg:2017_2"]
        assert genes.fields["journal"] == "Cell Reports" and genes.line == 7  # its file's macro, its own line
        said = [p.message for p in index.problems]
        assert "Key 'Lundberg:2017' also names another work (library0.bib:2): this one is offered as " \
               "'Lundberg:2017_2'." in said
        assert [m for m in said if m.startswith("Duplicate key")] == \
               ["Duplicate key 'Lundberg:2017': this entry is ignored."]  # the same work a second time
    finally:
        index.close()


def test_a_key_two_library_files_give_two_works_is_offered_twice(tmp_path):
    index, entries = _entries(tmp_path, SHAP, STRINGS + GENES)
    try:
        assert entries["Lundberg:2017"].title.startswith("A Unified Approach")
        assert entries["Lundberg:2017_2"].path.endswith("library1.bib")
        assert index.ref("Lundberg:2017_2").file.endswith("library1.bib")
    finally:
        index.close()


def test_accepting_the_renamed_work_adds_its_block_under_that_key(tmp_path):
    project = tmp_path / "paper"
    project.mkdir()
    (project / "main.tex").write_text("\\documentclass{article}\n\\begin{document}\nGenes \\cite{}.\n"
                                      "\\bibliography{refs}\n\\end{document}\n")
    (project / "refs.bib").write_text("")
    library = tmp_path / "library.bib"
    library.write_text(STRINGS + SHAP + "\n" + GENES)
    engine = Engine(Settings().replace(recall_mode="bm25", library_files=(str(library),),
                                       cache_dir=str(tmp_path / "cache")))
    try:
        engine.wait_library()
        ref = engine.library_entry("Lundberg:2017_2")
        added = engine.library_addition(str(project / "main.tex"), ref, "Lundberg:2017_2")
    finally:
        engine.close()
    assert added.bib == str(project / "refs.bib")
    assert added.text == GENES.strip().replace("{Lundberg:2017,", "{Lundberg:2017_2,")  # verbatim, its new key
