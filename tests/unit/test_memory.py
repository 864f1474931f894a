"""The writer's memory (``memory``): which key a writer took from a list, what is kept of it, and how it teaches
the projects whose bibliographies have the key (``lessons``)."""

from __future__ import annotations

import os
import pathlib

from test_lessons import TOPICS, probe, suggested, write_project

from texcite.latex.cite import CiteMatcher
from texcite.memory import MAX_REMEMBERED, Accepted, Offer, WriterMemory, accepted, taken

MATCHER = CiteMatcher()
BEFORE = "Intro.\n\nGraphs help here \\citep[p.~2]{known,"
COMMAND = BEFORE.index("\\citep")


def offer(typed: str = "") -> Offer:
    return Offer("/p/main.tex", BEFORE[:COMMAND], len(BEFORE), typed, frozenset({"known"}),
                 frozenset({"smith20", "smith2021", "known", "jones"}))


def read(text: str, o: Offer, typing: str = "") -> tuple[Accepted | None, bool]:
    return taken(o, text, MATCHER.context_at(text, o.at, ()), typing)


def test_the_key_the_editor_put_in_is_taken_with_the_lines_around_it_as_the_writer_saw_them():
    one, stands = read(BEFORE + "smith2021} and more.\nNext line.\n", offer("smi"))
    assert not stands and one is not None
    assert (one.key, one.file, one.line) == ("smith2021", "/p/main.tex", 2)
    assert one.text == BEFORE + "} and more.\nNext line.\n" and one.offset == len(BEFORE)


def test_what_is_still_being_typed_is_not_taken():
    o = offer("smith20")
    assert read(BEFORE + "smith20}", o) == (None, True)  # what was typed when the list came: not a choice yet
    assert read(BEFORE + "smi}", o) == (None, True)
    assert read(BEFORE + "}", o) == (None, True)
    # typed on: the next list is asked for "smith2021", a key the older list offered
    assert read(BEFORE + "smith2021}", o, typing="smith2021") == (None, True)


def test_a_key_taken_before_the_next_list_is_asked_for_after_a_comma():
    one, stands = read(BEFORE + "smith2021,}", offer("smi"), typing="")
    assert one is not None and one.key == "smith2021" and not stands


def test_a_key_the_command_held_or_the_list_did_not_offer_is_not_taken():
    assert read(BEFORE + "other}", offer()) == (None, True)
    o = Offer("/p/main.tex", BEFORE[:COMMAND], len(BEFORE), "", frozenset({"known", "jones"}), frozenset({"jones"}))
    assert read(BEFORE + "jones}", o) == (None, True)


def test_the_offer_ends_when_the_text_before_the_command_changes_or_the_command_goes():
    assert read("Changed.\n\nGraphs help here \\citep[p.~2]{known,smith2021}", offer()) == (None, False)
    assert read(BEFORE[:COMMAND] + "no citation.", offer()) == (None, False)


def test_the_window_kept_is_whole_lines_around_the_citation():
    text = "x" * 9000 + "\n" + "a \\cite{k} b\n" + "y" * 3000 + "\n" + "z\n"
    start = text.index("{k}") + 1
    one = accepted("k", "/f.tex", text, start, start + 1)
    assert one.text == "a \\cite{} b" and one.text[one.offset - 6:one.offset] == "\\cite{"


def test_the_memory_keeps_the_latest_of_each_citation_skips_damaged_lines_and_forgets(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path))
    memory = WriterMemory()
    a, b = Accepted("k1", "/f.tex", 3, "t \\cite{}", 8), Accepted("k2", "/f.tex", 5, "u \\cite{}", 8)
    memory.remember(a)
    memory.remember(b)
    memory.remember(Accepted("k1", "/f.tex", 3, "new \\cite{}", 10))
    with open(memory.path, "a", encoding="utf-8") as fh:
        fh.write('{"v": 1, "key": "broken"\n')
    assert [(x.key, x.text) for x in memory.entries()] == [("k2", "u \\cite{}"), ("k1", "new \\cite{}")]
    assert oct(os.stat(memory.path).st_mode & 0o777) == "0o600"
    assert memory.forget() == 2 and memory.entries() == [] and not os.path.exists(memory.path)
    assert memory.forget() == 0


def test_the_memory_keeps_the_newest_citations(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path))
    memory = WriterMemory()
    for i in range(MAX_REMEMBERED + 5):
        memory.remember(Accepted(f"k{i}", "/f.tex", i, "\\cite{}", 6))
    kept = memory.entries()
    assert len(kept) == MAX_REMEMBERED and kept[0].key == "k5"
    assert len(pathlib.Path(memory.path).read_text().splitlines()) <= MAX_REMEMBERED + 1


def remember_citations(memory: WriterMemory, folder: pathlib.Path, count: int) -> None:
    """``count`` citations accepted in another project, of works w30..w39, each in a sentence on its topic."""
    for n in range(count):
        i = 30 + n % 10
        text = f"Other work on {TOPICS[i % len(TOPICS)]} shows it \\cite{{}} again.\n"
        memory.remember(Accepted(f"w{i}", str(folder / "other" / "paper.tex"), n, text, text.index("{}") + 1))


def test_citations_accepted_elsewhere_teach_a_project_whose_bibliography_has_their_keys(tmp_path, monkeypatch):
    # 20 saved citations of w0..w29 (too few to adapt alone), and 15 accepted in another paper of keys this one
    # does not cite yet.
    project = tmp_path / "thesis"
    project.mkdir()
    path, text = write_project(project, 20, works=30)
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))
    remember_citations(WriterMemory(), tmp_path, 15)
    emptied, offset = probe(text, 3)
    rankings = [suggested(path, emptied, offset, recall_remember=remember).ranking for remember in (True, False)]
    assert rankings == ["BM25, adapted to this project (35 citations)", "BM25"]


def test_an_accepted_citation_the_saved_files_already_hold_teaches_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "thesis"
    project.mkdir()
    path, text = write_project(project, 40)
    memory = WriterMemory()
    memory.remember(Accepted("w0", path, 2, "Work on graphs \\cite{}.\n", 21))  # w0 is cited in the saved files
    assert [one.key for one in memory.entries()] == ["w0"]
    emptied, offset = probe(text, 3)
    results = [suggested(path, emptied, offset, recall_remember=remember) for remember in (True, False)]
    assert [r.ranking for r in results] == ["BM25, adapted to this project (40 citations)"] * 2
    assert [(s.entry.key, s.score) for s in results[0].suggestions] == \
        [(s.entry.key, s.score) for s in results[1].suggestions]  # the list is the one the saved citation alone teaches


def test_a_citation_accepted_in_the_project_s_own_files_teaches_it_only_once_saved(tmp_path, monkeypatch):
    """A checker empties a citation, asks, puts the key back: remembered. In a first draft whose saved files do not
    hold that key yet, it taught the project, so the lists of later probes depended on the ones before."""
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "thesis"
    project.mkdir()
    path, text = write_project(project, 20, works=30)
    memory = WriterMemory()
    for n in range(15):
        i = 30 + n % 10
        line = f"Other work on {TOPICS[i % len(TOPICS)]} shows it \\cite{{}} again.\n"
        memory.remember(Accepted(f"w{i}", path, 100 + n, line, line.index("{}") + 1))
    emptied, offset = probe(text, 3)
    assert suggested(path, emptied, offset).ranking == "BM25"  # 20 saved citations: too few to adapt
