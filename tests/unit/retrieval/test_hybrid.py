"""Hybrid ranking: BM25 + MiniLM signals fused, query views, BM25 until embeddings exist."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from texcite.engine import Engine
from texcite.ranking import build_request
from texcite.retrieval.select import best_first
from texcite.latex.cite import CiteMatcher
from texcite.latex.query import MARKER, near_marker, neighbourhood
from texcite.retrieval.signals import znorm
from texcite.settings import Settings

BIB = r"""
@article{algae2011, title={Photosynthesis in marine algae}, author={Jane Doe}, year={2011}}
@article{parsing2003, title={Accurate unlexicalized parsing}, author={Dan Klein}, year={2003}}
@article{galaxy1998, title={Rotation curves of spiral galaxies}, author={Vera Rubin}, year={1998}}
@article{vehicles1999, title={Autonomous vehicle collision avoidance for people crossing streets},
  author={Ann Lee}, year={1999}}
@article{bread2005, title={Sourdough fermentation and yeast}, author={Tom Baker}, year={2005}}
"""
# Shares no word with the paraphrased entry (vehicles1999): only meaning links them.
PARAGRAPH = "Self-driving cars must brake before hitting pedestrians \\cite{}."


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    """A hybrid engine shared by the tests of this module (the model loads once)."""
    e = Engine(Settings().replace(cache_dir=str(tmp_path_factory.mktemp("cache"))))
    yield e
    e.close()


def project(tmp_path, body: str = PARAGRAPH):
    (tmp_path / "refs.bib").write_text(BIB)
    tex = tmp_path / "main.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n" + body + "\n\\bibliography{refs}\n\\end{document}\n")
    text = tex.read_text()
    return str(tex), text, text.index("\\cite{") + len("\\cite{")


def keys(result) -> list[str]:
    return [s.entry.key for s in result.suggestions]


def test_paraphrase_beats_an_unrelated_entry_only_with_the_dense_stage(tmp_path, engine) -> None:
    path, text, offset = project(tmp_path)
    bm25_engine = Engine(Settings().replace(recall_mode="bm25"), workspace=str(tmp_path))
    bm25 = bm25_engine.suggest(path, text, offset)
    assert {s.stage for s in bm25.suggestions} == {"bm25"} and bm25.ranking == "BM25"
    # BM25 scores tie: the entries' own features (year, type) order them, and the paraphrase is not first
    assert keys(bm25).index("vehicles1999") > keys(bm25).index("algae2011")

    hybrid = engine.suggest(path, text, offset)
    assert {s.stage for s in hybrid.suggestions} == {"hybrid"}
    assert keys(hybrid)[0] == "vehicles1999"
    assert hybrid.ranking == "BM25 + MiniLM"
    assert "it is close in meaning to your sentence" in hybrid.suggestions[0].reasons


def test_recall_is_bm25_until_the_embeddings_are_ready(tmp_path) -> None:
    path, text, offset = project(tmp_path)
    engine = Engine(Settings().replace(cache_dir=str(tmp_path / "cache")), workspace=str(tmp_path))
    gate = threading.Event()
    engine.dense.stage("minilm")._pool.submit(gate.wait)  # keep the dense worker busy: the build this request starts cannot finish yet
    first = engine.prepare(path, text, offset)
    assert first.stage == "bm25" and {c.stage for c in first.candidates} == {"bm25"}
    gate.set()
    engine.wait_embeddings(path)
    assert {c.stage for c in engine.prepare(path, text, offset).candidates} == {"hybrid"}
    engine.close()


def test_recall_mode_decides_the_dense_stage_whatever_the_reranker() -> None:
    for settings, dense in [(Settings(), True), (Settings().replace(reranker_backend="vllm-http"), True),
                            (Settings().replace(recall_mode="bm25"), False)]:
        engine = Engine(settings)
        assert (engine.stages().dense != "off") is dense  # the hybrid's top-K feeds a neural reranker too
        engine.close()


def test_typed_text_keeps_only_matching_entries(tmp_path, engine) -> None:
    path, text, _ = project(tmp_path, PARAGRAPH.replace("\\cite{}", "\\cite{sour}"))
    offset = text.index("\\cite{sour") + len("\\cite{sour")
    result = engine.suggest(path, text, offset)
    assert keys(result) == ["bread2005"]  # "sour" starts a title word of that entry only


def test_best_first_orders_like_a_stable_sort_of_the_scores() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        scores = rng.integers(0, 4, int(rng.integers(1, 40))).astype(np.float32)  # many ties
        stable = np.argsort(-scores, kind="stable")
        top = int(rng.integers(1, len(scores) + 3))
        assert best_first(scores, top=top).tolist() == stable[:top].tolist()
        keep = rng.random(len(scores)) < 0.5
        assert best_first(scores, np.flatnonzero(keep)).tolist() == stable[keep[stable]].tolist()


def test_znorm_is_per_query_and_safe_for_constant_scores() -> None:
    m = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    out = znorm(m)
    assert np.allclose(out[0].mean(), 0) and np.allclose(out[0].std(), 1)
    assert np.allclose(out[1], 0)


def test_query_views() -> None:
    request = build_request(
        "\\section{Retrieval}\nWe start here. Dense retrievers embed text \\cite{}. They scale well. The end.",
        len("\\section{Retrieval}\nWe start here. Dense retrievers embed text \\cite{"), CiteMatcher())
    views = request.query.views()
    assert views["sent"] == "Dense retrievers embed text ."
    assert views["nbr"] == "We start here. Dense retrievers embed text . They scale well."
    assert views["sect"] == "Retrieval"
    assert views["near"] == "Dense retrievers embed text ."
    assert views["before"] == "retrievers embed text"  # the words just before the marker
    assert near_marker(f"{MARKER} showed that it works", 4, 0) == ""  # nothing before: ...
    opening = build_request("\\citet{} showed that dense retrieval works.", len("\\citet{"), CiteMatcher())
    assert opening.query.views()["before"] == "showed that dense"  # ... the words after it
    words = [f"w{i}" for i in range(40)]
    long_sentence = " ".join(words[:30]) + f" {MARKER} " + " ".join(words[30:])
    assert near_marker(long_sentence) == " ".join(words[6:38])  # 24 words before the marker, 8 after
    assert MARKER not in views["para"]
    assert neighbourhood(f"Only one {MARKER}") == "Only one"


@pytest.mark.parametrize("extra", [(), ("mycite",)])
def test_fast_cite_command_scan_finds_what_the_matcher_finds(extra) -> None:
    from texcite.latex.cite import cite_commands

    text = ("A \\\\\\cite{a} b \\\\cite{b} \\cite*{c} \\citeauthor{d} % \\cite{hidden}\n\\mycite{e} \\citep[p.~3]{f} "
            "\\cites{g}{h} \\citation{i} \\\\\\\\\\citet{j} \\textcite[see][]{k} \\cite")
    matcher = CiteMatcher(extra)

    def fields(cmds):
        return [(c.name, c.start, c.end, c.groups) for c in cmds]

    assert fields(cite_commands(text, matcher)) == fields(matcher.iter_commands(text))
    assert len(list(matcher.iter_commands(text))) >= 8


def test_the_hybrid_stage_measures_each_entry_against_the_topic_of_the_works_cited_nearby(tmp_path, engine) -> None:
    path, text, _ = project(tmp_path, "Spiral galaxies rotate \\cite{galaxy1998}. Other work \\cite{}.")
    offset = text.index("\\cite{}") + len("\\cite{")
    engine.suggest(path, text, offset)  # the project's titles embedded
    prepared = engine.prepare(path, text, offset)
    assert prepared is not None and prepared.stage == "hybrid"
    row = prepared.corpus.position
    near, previous = prepared.signals["near_topic"], prepared.signals["previous_topic"]
    assert near[row["galaxy1998"]] == 0.0 and previous[row["galaxy1998"]] == 0.0  # its own title is no evidence
    assert near[row["algae2011"]] == previous[row["algae2011"]] != 0.0  # the one anchor is the previous key
