"""Ranking with a library (``texcite.library.files``) through the engine: a work moved from the project's bib to
the library is found at its citation; the library's copies of the project's works are not offered twice; when the
context fits a project entry and a library entry alike, the project's comes first."""

from __future__ import annotations

import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from texcite.bib.model import Entry
from texcite.engine import Engine
from texcite.library.candidates import AFFINITY_NEAREST, AFFINITY_OFFSET, AUTHOR_WEIGHT, LIBRARY_OFFSETS, affinity
from texcite.retrieval.explain import reasons
from texcite.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "paper"
CITE = "\\citep{okafor2019termweighting,lowe2015foundations}"


def _entry(text: str, key: str) -> str:
    return re.search(r"@\w+\{" + re.escape(key) + r",.*?\n\}\n", text, re.S).group(0)


@pytest.fixture
def paper(tmp_path):
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "paper"))
    method = project / "chapters" / "method.tex"
    text = method.read_text()
    return project, str(method), text.replace(CITE, "\\citep{}"), text.index(CITE) + len("\\citep{")


@pytest.fixture
def moved(tmp_path, paper) -> Path:
    """A library holding okafor2019termweighting, moved out of the project's bib, and a work on gardens."""
    project = paper[0]
    bib = project / "refs.bib"
    text = bib.read_text()
    moved = _entry(text, "okafor2019termweighting")
    bib.write_text(text.replace(moved, ""))
    library = tmp_path / "library.bib"
    library.write_text(moved + "\n@book{gardens,\n  title = {On Gardens and Flowers},\n  year = {1999},\n}\n")
    return library


def _result(tmp_path, paper, library_files, typed="", recall="bm25"):
    _, path, text, offset = paper
    text = text[:offset] + typed + text[offset:]
    offset += len(typed)
    settings = Settings().replace(recall_mode=recall, cache_dir=str(tmp_path / "cache"),
                                  library_files=tuple(str(f) for f in library_files))
    engine = Engine(settings)
    try:
        return engine.suggest(path, text, offset)
    finally:
        engine.close()


def _suggest(tmp_path, paper, library_files, typed=""):
    return _result(tmp_path, paper, library_files, typed).suggestions


def test_a_work_moved_to_the_library_is_found_at_its_citation(tmp_path, paper, moved):
    library = moved
    suggestions = _suggest(tmp_path, paper, [library])
    found = next(s for s in suggestions if s.entry.key == "okafor2019termweighting")
    assert found.library is not None and found.library.file == str(library)
    assert all(s.library is None for s in suggestions if s.entry.key != "okafor2019termweighting")
    assert "gardens" not in {s.entry.key for s in suggestions}  # shares no word with the paragraph
    typed = _suggest(tmp_path, paper, [library], typed="Okaf")  # the author's name typed: first
    assert typed[0].entry.key == "okafor2019termweighting" and typed[0].library is not None


def test_the_projects_own_works_are_not_offered_twice(tmp_path, paper):
    text = (paper[0] / "refs.bib").read_text()
    same_key = _entry(text, "okafor2019termweighting")
    renamed = _entry(text, "lowe2015foundations").replace("lowe2015foundations", "Lowe_Foundations_2015")
    library = tmp_path / "library.bib"
    library.write_text(text[:text.index("@proceedings")] + same_key + renamed)  # its @strings too
    items = [
        {"id": "okafor_other_key", "type": "article-journal", "DOI": "10.1/NOT-IN-PROJECT",
         "title": "Saturating term frequency: a second look at probabilistic term weighting",
         "issued": {"date-parts": [[2019]]}},
    ]
    csl = tmp_path / "library.json"
    csl.write_text(json.dumps(items))
    suggestions = _suggest(tmp_path, paper, [library, csl])
    assert [s for s in suggestions if s.library is not None] == []


def test_a_work_two_library_files_hold_is_offered_once(tmp_path, paper, moved):
    # A Zotero export and an old hand-kept library.bib overlap: the same work under three keys (the same DOI, or the
    # same title and year) is one item: a listing that ranks best (with its abstract).
    entry = moved.read_text().split("\n@book{gardens")[0].replace("  year", "  doi = {10.1145/3310277},\n  year", 1)
    old = tmp_path / "old-library.bib"
    old.write_text(entry.replace("okafor2019termweighting", "Okafor2019") + "\n"
                   + re.sub(r"  abstract = \{.*?\},\n(?=  \w+ *=|\})", "", entry, flags=re.S)
                   .replace("okafor2019termweighting", "okafor_no_abstract").replace("Saturating", "{S}aturating")
                   .replace("10.1145", "https://doi.org/10.1145"))
    moved.write_text(entry + "\n")
    for files in ([moved, old], [old, moved]):
        offered = [s.entry.key for s in _suggest(tmp_path, paper, files) if s.library is not None]
        assert len(offered) == 1 and offered[0] in ("okafor2019termweighting", "Okafor2019"), files


def test_project_entries_come_first_when_the_context_fits_both(tmp_path, paper):
    text = (paper[0] / "refs.bib").read_text()
    twin = _entry(text, "okafor2019termweighting").replace("okafor2019termweighting", "twin2018")
    twin = twin.replace("A Second Look", "Another Look").replace("2019", "2018")
    library = tmp_path / "library.bib"
    library.write_text(text[:text.index("@proceedings")] + twin)
    suggestions = _suggest(tmp_path, paper, [library])
    ranks = {s.entry.key: s.rank for s in suggestions}
    assert ranks["okafor2019termweighting"] < ranks["twin2018"]
    assert next(s for s in suggestions if s.entry.key == "twin2018").library is not None


def test_affinity_is_the_mean_cosine_with_the_projects_most_similar_titles():
    rng = np.random.default_rng(0)
    project = rng.normal(size=(3 * AFFINITY_NEAREST, 16)).astype(np.float32)
    project /= np.linalg.norm(project, axis=1, keepdims=True)
    own, elsewhere = project[0], -project.mean(axis=0) / np.linalg.norm(project.mean(axis=0))
    near, far = affinity(np.stack([own, elsewhere]), project)
    best = np.sort(project @ own)[-AFFINITY_NEAREST:]
    assert near == pytest.approx(best.mean(), abs=1e-6) and far < near
    few = project[:3]  # a bibliography smaller than AFFINITY_NEAREST: all its titles
    assert affinity(few[:1], few)[0] == pytest.approx((few @ few[0]).mean(), abs=1e-6)


def test_once_the_titles_are_embedded_a_library_entry_is_ranked_with_its_affinity(tmp_path, paper, moved):
    library = moved
    hybrid = _result(tmp_path, paper, [library], recall="hybrid")
    assert hybrid.library_offset == AFFINITY_OFFSET
    found = next(s for s in hybrid.suggestions if s.entry.key == "okafor2019termweighting")
    assert found.library is not None
    assert _result(tmp_path, paper, [library]).library_offset == LIBRARY_OFFSETS["bm25"]  # no titles: a constant


def test_before_the_titles_are_embedded_a_library_entry_is_ranked_by_its_words(tmp_path, paper, moved):
    _, path, text, offset = paper
    moved.write_text(moved.read_text().split("\n@book{gardens")[0])  # the moved work alone
    settings = Settings().replace(recall_mode="hybrid", cache_dir=str(tmp_path / "cache"),
                                  library_files=(str(moved),))
    engine = Engine(settings)
    try:
        engine.library.embed_with(None, "", settings.cache_dir)  # the library's titles not embedded (yet)
        result = engine.suggest(path, text[:offset] + "Okaf" + text[offset:], offset + 4)
    finally:
        engine.close()
    assert result.library_offset == LIBRARY_OFFSETS["hybrid"]
    found = result.suggestions[0]
    assert found.entry.key == "okafor2019termweighting" and found.library is not None
    assert any("shares" in r for r in found.reasons), found.reasons  # its words, whatever they predict of its title
    assert not any("meaning" in r for r in found.reasons), found.reasons


class _HeldBuild:
    """The document's encoder, except that builds (the texcite-dense workers) wait until ``go`` is set: the
    library's titles still being embedded, as for minutes after a large library is first set."""

    def __init__(self, embedder, go: threading.Event) -> None:
        self.embedder, self.go, self.building = embedder, go, threading.Event()
        self.model_id, self.name = embedder.model_id, embedder.name

    def load(self) -> None:
        self.embedder.load()

    def embed(self, texts, batch_size=16, max_tokens=128):
        if threading.current_thread().name.startswith("texcite-dense"):
            self.building.set()
            assert self.go.wait(120), "the test never let the build go on"
        return self.embedder.embed(texts, batch_size=batch_size, max_tokens=max_tokens)


def test_while_the_library_s_titles_are_embedded_a_request_embeds_its_own_candidates(tmp_path, paper, moved,
                                                                                      monkeypatch):
    """The list is the one the embedded library gives (the work's meaning compared, its affinity with the project),
    not what its words predict of it, from the first request on."""
    _, path, text, offset = paper
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(tmp_path / "cache"))  # no title embedded by an earlier test
    settings = Settings().replace(recall_mode="hybrid", cache_dir=str(tmp_path / "cache"),
                                  library_files=(str(moved),))
    engine = Engine(settings)
    go = threading.Event()
    try:
        assert engine.dense is not None
        held = _HeldBuild(engine.dense.stage(engine.encoder).embedder, go)
        engine.library.embed_with(lambda encoder: held, engine.encoder, settings.cache_dir)
        engine.wait_embeddings(path, text)  # the project's titles (not the library's)
        assert engine.library.indexed() is not None and held.building.wait(60)
        during = engine.finish(engine.prepare(path, text, offset), None)
        go.set()
        engine.wait_library()
        after = engine.finish(engine.prepare(path, text, offset), None)
    finally:
        go.set()
        engine.close()
    assert during.library_offset == after.library_offset == AFFINITY_OFFSET
    found, embedded = (next(s for s in r.suggestions if s.entry.key == "okafor2019termweighting")
                       for r in (during, after))
    assert found.library is not None and found.fused_score == embedded.fused_score
    assert found.reasons == embedded.reasons


def test_a_library_work_by_an_author_of_the_bibliography_goes_before_the_same_work_by_a_stranger(tmp_path, paper):
    def library(author: str) -> Path:  # (two libraries: one library would hold the two as one work)
        path = tmp_path / f"{author.split(',')[0]}.bib"
        path.write_text(f"@article{{work,\n  author = {{{author}}},\n"
                        "  title = {A two-stage BM25 pipeline for scoring entries},\n  year = {2018},\n}\n"
                        "@book{gardens,\n  title = {On Gardens and Flowers},\n  year = {1999},\n}\n")
        return path

    for recall in ("bm25", "hybrid"):
        known, stranger = (next(s for s in _result(tmp_path, paper, [library(author)], recall=recall).suggestions
                                if s.entry.key == "work") for author in ("Haddad, Rania", "Quist, Anna"))
        assert known.fused_score == pytest.approx(stranger.fused_score + AUTHOR_WEIGHT), recall  # Haddad: in refs.bib
        assert "you cite other works by Haddad" in known.reasons, recall  # the reason, as the entry writes the name
        assert not any("other works by" in r for r in stranger.reasons), recall
        assert "you have not cited it yet" not in known.reasons + stranger.reasons  # its card: not in the .bib yet


def test_a_library_entry_says_it_is_like_the_works_of_the_bibliography_and_whose_author_the_project_cites():
    entry = Entry("known", "article", {"title": "A two-stage BM25 pipeline", "author": "Haddad, Rania"}, "lib.bib", 1)
    lifted = {"affinity": 1.2, "shared_author": AUTHOR_WEIGHT, "bm25_para": 0.1}
    assert reasons(entry, lifted, None, dict, author="Haddad") == (
        "it is like the works your bibliography holds", "you cite other works by Haddad")
    assert reasons(entry, {"affinity": -0.8}, None, dict) == ()  # a title unlike the bibliography's is no reason


def test_a_library_work_sharing_no_word_with_the_context_is_found_by_meaning(tmp_path, paper):
    """A paragraph in one language and a title in another share no word: BM25 never recalls such a work, the
    titles' embeddings do (``library.nearest``)."""
    library = tmp_path / "library.bib"
    library.write_text("@article{classement,\n  title = {Classement des documents par pertinence},\n"
                       "  year = {2020},\n}\n")
    assert not any(s.library for s in _result(tmp_path, paper, [library]).suggestions)
    hybrid = _result(tmp_path, paper, [library], recall="hybrid")
    assert [s.entry.key for s in hybrid.suggestions if s.library] == ["classement"]
