"""The library's index: built in the background and shared, read again when a file changes, a file refused for a
client (a TCP client's outside its workspace folders) not read."""

from __future__ import annotations

import os

from texcite.engine import Engine
from texcite.library.index import LibraryIndex, library_paths
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries
from texcite.settings import Settings

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
    assert library_paths(["~/a.bib", "/b.bib", "lib/c.json"], "/work/thesis") == (
        os.path.expanduser("~/a.bib"), "/b.bib", "/work/thesis/lib/c.json")


def test_a_relative_library_path_is_the_workspace_folders(tmp_path):
    for folder, entries in (("one", 1), ("two", 2)):
        (tmp_path / folder / "lib").mkdir(parents=True)
        (tmp_path / folder / "lib" / "library.bib").write_text(
            "".join(f"@book{{k{i}, title={{Work {i}}}, year={{2001}}}}\n" for i in range(entries)))
    settings = Settings().replace(recall_mode="bm25", library_files=("lib/library.bib",))
    engine = Engine(settings, workspace=str(tmp_path / "one"))
    assert engine.wait_library() == 1
    engine.open_workspace(str(tmp_path / "two"))  # another folder: its own lib/library.bib
    assert engine.wait_library() == 2
    engine.close()
