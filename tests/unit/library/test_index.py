"""The library's index: built in the background and shared, read again when a file changes, a file refused for a
client (a TCP client's outside its workspace folders) not read."""

from __future__ import annotations

import os

from texcite.library.index import LibraryIndex, library_paths
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries

ONE = "@article{a2020,\n  title = {Alpha},\n  year = {2020},\n}\n"
TWO = ONE + "@article{b2021,\n  title = {Beta},\n  year = {2021},\n}\n"


def _index(tmp_path, refuse=lambda path: None) -> LibraryIndex:
    return LibraryIndex(analyze_entries, str(tmp_path / "cache"), TOKENS_VERSION, refuse)


def test_a_changed_file_is_read_again(tmp_path):
    library = tmp_path / "library.bib"
    library.write_text(ONE)
    index = _index(tmp_path)
    index.configure([str(library)])
    assert [e.key for e in index.wait().entries] == ["a2020"]
    library.write_text(TWO)
    os.utime(library, ns=(1, 1))  # another stamp even within the clock's resolution
    assert [e.key for e in index.wait().entries] == ["a2020", "b2021"]
    assert index.ref("b2021").file == str(library)
    index.close()


def test_a_refused_file_is_not_read(tmp_path):
    library = tmp_path / "library.json"
    library.write_text('[{"id": "x", "type": "book", "title": "Secret"}]')
    bib = tmp_path / "library.bib"
    bib.write_text(ONE)
    index = _index(tmp_path, refuse=lambda path: "outside the workspace folders")
    index.configure([str(library), str(bib)])
    assert len(index.wait()) == 0
    assert all("outside the workspace folders" in p.message for p in index.problems) and len(index.problems) == 2
    index.close()


def test_paths_expand_the_home_folder():
    assert library_paths(["~/Zotero/library.bib", " "]) == (os.path.expanduser("~/Zotero/library.bib"),)
