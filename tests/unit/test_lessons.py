"""What a project teaches (``lessons``), through the engine: the lists of a project citing often enough are
corrected by its own citations, the same for the same state however it was reached, and saving the files teaches
anew."""

from __future__ import annotations

import pathlib

import numpy as np

from texcite.engine import Engine
from texcite.ranking import Result
from texcite.retrieval.adaptation import MIN_ADDING_LESSONS
from texcite.settings import Settings

TOPICS = ["graph neural networks", "protein folding", "solar cells", "coral reefs", "quantum error correction",
          "glacier retreat", "language acquisition", "bird migration", "soil bacteria", "dark matter halos"]


def write_project(folder: pathlib.Path, citations: int, works: int = 40) -> tuple[str, str]:
    """A thesis citing ``citations`` times (works w0 to w{works-1}) from a bib of 40 works (four per topic), each
    citation in a sentence on its work's topic; returns the main file and its text."""
    entries, sentences = [], []
    for i in range(40):
        topic = TOPICS[i % len(TOPICS)]
        entries.append(f"@article{{w{i},\n  title = {{A study {i} of {topic}}},\n  author = {{Author{i}, A.}},\n"
                       f"  year = {{{2000 + i % 20}}},\n}}\n")
    for n in range(citations):
        i = (n * 7) % works
        sentences.append(f"Work on {TOPICS[i % len(TOPICS)]} matters here \\cite{{w{i}}}.\n\n")
    (folder / "refs.bib").write_text("".join(entries))
    text = "\\documentclass{article}\n\\begin{document}\n" + "".join(sentences) + \
        "\\bibliography{refs}\n\\end{document}\n"
    main = folder / "main.tex"
    main.write_text(text)
    return str(main), text


def probe(text: str, n: int) -> tuple[str, int]:
    """The text with the n-th citation emptied, and the cursor in its braces."""
    at = -1
    for _ in range(n + 1):
        at = text.index("\\cite{", at + 1)
    start = at + len("\\cite{")
    end = text.index("}", start)
    return text[:start] + text[end:], start


def ranked(engine: Engine, path: str, text: str, offset: int) -> list[tuple[str, float]]:
    result = engine.suggest(path, text, offset)
    assert result is not None
    return [(s.entry.key, s.score) for s in result.suggestions]


def engine(adapt: bool = True) -> Engine:
    return Engine(Settings().replace(recall_mode="bm25", recall_adapt=adapt))


def suggested(path: str, text: str, offset: int, **settings) -> Result:
    """The list a new BM25 engine gives at ``offset`` of ``text`` (``settings``: any others, ``Settings.replace``)."""
    one = Engine(Settings().replace(recall_mode="bm25", **settings))
    try:
        result = one.suggest(path, text, offset)
    finally:
        one.close()
    assert result is not None
    return result


def test_a_project_citing_often_is_ranked_by_what_it_teaches(tmp_path):
    path, text = write_project(tmp_path, 40)
    emptied, offset = probe(text, 3)
    adapted, shipped = engine(), engine(adapt=False)
    try:
        with_lessons, without = ranked(adapted, path, emptied, offset), ranked(shipped, path, emptied, offset)
    finally:
        adapted.close()
        shipped.close()
    assert [score for _, score in with_lessons] != [score for _, score in without]


def test_the_list_says_it_is_adapted_and_to_how_many_citations(tmp_path):
    path, text = write_project(tmp_path, 40)
    emptied, offset = probe(text, 3)
    assert suggested(path, emptied, offset).ranking == "BM25, adapted to this project (40 citations)"


def test_a_hybrid_setting_whose_dense_model_fails_adapts_the_bm25_list_it_settles_on(tmp_path):
    # As the plain install, where MiniLM is missing: recall stays "hybrid", BM25 ranks, and the project still teaches.
    path, text = write_project(tmp_path, 40)
    emptied, offset = probe(text, 3)
    one = Engine(Settings().replace(recall_mode="hybrid", dense_model=str(tmp_path / "missing.onnx"),
                                    cache_dir=str(tmp_path / "cache")))
    try:
        result = one.suggest(path, emptied, offset)
    finally:
        one.close()
    assert result is not None and result.ranking == "BM25, adapted to this project (40 citations)"


def test_the_same_state_gives_the_same_list_in_any_order_and_on_a_fresh_engine(tmp_path):
    path, text = write_project(tmp_path, 40)
    probes = [probe(text, n) for n in (1, 12, 25)]
    first, second, fresh = engine(), engine(), engine()
    try:
        forward = [ranked(first, path, t, o) for t, o in probes]
        backward = [ranked(second, path, t, o) for t, o in reversed(probes)][::-1]
        alone = ranked(fresh, path, *probes[2])
    finally:
        for e in (first, second, fresh):
            e.close()
    assert forward == backward
    assert forward[2] == alone


def test_a_project_citing_rarely_is_ranked_by_the_shipped_model(tmp_path):
    path, text = write_project(tmp_path, 12)
    emptied, offset = probe(text, 3)
    adapted, shipped = engine(), engine(adapt=False)
    try:
        assert ranked(adapted, path, emptied, offset) == ranked(shipped, path, emptied, offset)
    finally:
        adapted.close()
        shipped.close()


def test_saving_the_files_teaches_anew(tmp_path):
    path, text = write_project(tmp_path, 40)
    emptied, offset = probe(text, 3)
    one = engine()
    try:
        before = ranked(one, path, emptied, offset)
        # The writer saves a version whose other citations all name the first work: what the project teaches moves.
        saved = text
        for i in range(40):
            saved = saved.replace(f"\\cite{{w{i}}}", "\\cite{w0}")
        pathlib.Path(path).write_text(saved)
        after = ranked(one, path, emptied, offset)
    finally:
        one.close()
    assert before != after


def test_a_restart_finds_the_adaptation_in_the_cache_and_a_damaged_one_is_fit_again(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "thesis"
    project.mkdir()
    path, text = write_project(project, 40)
    emptied, offset = probe(text, 3)
    first = engine()
    try:
        fitted = ranked(first, path, emptied, offset)
    finally:
        first.close()
    cached = list((tmp_path / "cache" / "adaptations").glob("*.npz"))
    assert len(cached) == 1
    restarted = engine()
    try:
        assert ranked(restarted, path, emptied, offset) == fitted
    finally:
        restarted.close()
    cached[0].write_bytes(b"not an adaptation")
    damaged = engine()
    try:
        assert ranked(damaged, path, emptied, offset) == fitted
    finally:
        damaged.close()
    assert cached[0].read_bytes() != b"not an adaptation"


def test_keys_added_to_commands_teach_a_correction_of_their_own(tmp_path, monkeypatch):
    """A project whose commands cite pairs: each key, the other kept, is a lesson of adding a key; from
    MIN_ADDING_LESSONS of them the adaptation (as cached for the next start) has a correction for such commands."""
    assert 2 * 40 >= MIN_ADDING_LESSONS  # 40 commands of two keys
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))
    path, text = write_project(tmp_path, 40)
    for i in range(40):  # each citation of w{i} also cites the work after it on the same topic
        text = text.replace(f"\\cite{{w{i}}}", f"\\cite{{w{i},w{(i + 10) % 40}}}")
    pathlib.Path(path).write_text(text)
    start = text.index("\\cite{") + len("\\cite{")
    adding = text[:start] + text[text.index(",", start):]  # the first command's second key kept, its first to add
    assert suggested(path, adding, start).ranking == "BM25, adapted to this project (40 citations)"
    (saved,) = (tmp_path / "cache" / "adaptations").glob("*.npz")
    with np.load(saved) as data:
        assert data["adding"].shape == data["weights"].shape
