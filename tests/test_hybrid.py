"""Hybrid recall: fused BM25 + MiniLM ranking, query views, the cited-elsewhere prior, BM25 until embeddings exist."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from texcite.citecontext import CiteMatcher
from texcite.dense import DenseStage
from texcite.hybrid import Weights, fuse, near_marker, neighbourhood, query_views, znorm
from texcite.paragraph import MARKER
from texcite.pipeline import build_request
from texcite.presentation import why_text
from texcite.ranking import Ranker, uses_dense
from texcite.settings import Settings

BIB = r"""
@article{algae2011, title={Photosynthesis in marine algae}, author={Jane Doe}, year={2011}}
@article{parsing2003, title={Accurate unlexicalized parsing}, author={Dan Klein}, year={2003}}
@article{galaxy1998, title={Rotation curves of spiral galaxies}, author={Vera Rubin}, year={1998}}
@article{vehicles2019, title={Autonomous vehicle collision avoidance for people crossing streets},
  author={Ann Lee}, year={2019}}
@article{bread2005, title={Sourdough fermentation and yeast}, author={Tom Baker}, year={2005}}
"""
# Shares no word with the paraphrased entry (vehicles2019): only meaning links them.
PARAGRAPH = "Self-driving cars must brake before hitting pedestrians \\cite{}."


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> DenseStage:
    s = DenseStage(cache_dir=str(tmp_path_factory.mktemp("cache")), threads=1)
    yield s
    s.close()


def project(tmp_path, body: str = PARAGRAPH):
    (tmp_path / "refs.bib").write_text(BIB)
    tex = tmp_path / "main.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n" + body + "\n\\bibliography{refs}\n\\end{document}\n")
    text = tex.read_text()
    return str(tex), text, text.index("\\cite{") + len("\\cite{")


def keys(result) -> list[str]:
    return [s.entry.key for s in result.suggestions]


def test_paraphrase_beats_an_unrelated_entry_only_with_the_dense_stage(tmp_path, stage) -> None:
    path, text, offset = project(tmp_path)
    bm25 = Ranker(Settings(reranker_backend="none"), workspace=str(tmp_path)).suggest_blocking(path, text, offset)
    assert {s.stage for s in bm25.suggestions} == {"bm25"}
    assert keys(bm25).index("vehicles2019") > keys(bm25).index("algae2011")  # all BM25 scores tie: bib order

    hybrid = Ranker(Settings(), workspace=str(tmp_path), dense=stage).suggest_blocking(path, text, offset)
    assert {s.stage for s in hybrid.suggestions} == {"hybrid"}
    assert keys(hybrid)[0] == "vehicles2019"
    assert hybrid.backend == "hybrid" and hybrid.model == "all-MiniLM-L6-v2"
    assert "hybrid score" in why_text("hybrid", 1.0, 1.0, 1)


def test_recall_is_bm25_until_the_embeddings_are_ready(tmp_path) -> None:
    path, text, offset = project(tmp_path)
    stage = DenseStage(cache_dir=str(tmp_path / "cache"), threads=1)
    ranker = Ranker(Settings(reranker_backend="hybrid"), workspace=str(tmp_path), dense=stage)
    gate = threading.Event()
    stage._pool.submit(gate.wait)  # keep the dense worker busy: the build this request starts cannot finish yet
    first = ranker.prepare(path, text, offset)
    assert {c.stage for c in first.candidates} == {"bm25"}
    gate.set()
    ranker.wait_dense(path)
    assert {c.stage for c in ranker.prepare(path, text, offset).candidates} == {"hybrid"}
    stage.close()


def test_auto_and_hybrid_use_dense_recall_none_does_not() -> None:
    assert uses_dense(Settings()) and uses_dense(Settings(reranker_backend="hybrid"))
    assert uses_dense(Settings(reranker_backend="vllm-http"))  # the hybrid's top-K feeds the neural reranker
    assert not uses_dense(Settings(reranker_backend="none"))


def test_typed_prefix_still_comes_first(tmp_path, stage) -> None:
    path, text, _ = project(tmp_path, PARAGRAPH.replace("\\cite{}", "\\cite{sour}"))
    offset = text.index("\\cite{sour") + len("\\cite{sour")
    result = Ranker(Settings(), workspace=str(tmp_path), dense=stage).suggest_blocking(path, text, offset)
    assert keys(result)[0] == "bread2005"  # "sour" starts a title word


def test_cited_elsewhere_leaves_out_the_command_being_written() -> None:
    text = "First \\cite{a,b}. Again \\cite{c,|} and \\citep{d,a}."
    offset = text.index("|")
    request = build_request(text.replace("|", ""), offset, CiteMatcher())
    assert request.cited_elsewhere == {"a": 2, "b": 1, "d": 1}


def test_cited_elsewhere_bonus_lifts_an_entry() -> None:
    bm25 = {"sent": np.array([3.0, 2.5, 0.0, 0.0])}
    plain = fuse(bm25, None, None, Weights(bm25={"sent": 1.0}, dense={}, cited_elsewhere=1.0))
    lifted = fuse(bm25, None, np.array([0, 1, 0, 0], np.float32), Weights(bm25={"sent": 1.0}, dense={}, cited_elsewhere=1.0))
    assert np.argmax(plain) == 0 and np.argmax(lifted) == 1


def test_znorm_is_per_query_and_safe_for_constant_scores() -> None:
    m = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    out = znorm(m)
    assert np.allclose(out[0].mean(), 0) and np.allclose(out[0].std(), 1)
    assert np.allclose(out[1], 0)


def test_query_views() -> None:
    request = build_request(
        "\\section{Retrieval}\nWe start here. Dense retrievers embed text \\cite{}. They scale well. The end.",
        len("\\section{Retrieval}\nWe start here. Dense retrievers embed text \\cite{"), CiteMatcher())
    views = query_views(request.query)
    assert views["sent"] == "Dense retrievers embed text ."
    assert views["nbr"] == "We start here. Dense retrievers embed text . They scale well."
    assert views["sect"] == "Retrieval"
    assert views["near"] == "Dense retrievers embed text ."
    words = [f"w{i}" for i in range(40)]
    long_sentence = " ".join(words[:30]) + f" {MARKER} " + " ".join(words[30:])
    assert near_marker(long_sentence) == " ".join(words[6:38])  # 24 words before the marker, 8 after
    assert MARKER not in views["para"]
    assert neighbourhood(f"Only one {MARKER}") == "Only one"


@pytest.mark.parametrize("extra", [(), ("mycite",)])
def test_fast_cite_command_scan_finds_what_the_matcher_finds(extra) -> None:
    from texcite.references import cite_commands

    text = ("A \\\\\\cite{a} b \\\\cite{b} \\cite*{c} \\citeauthor{d} % \\cite{hidden}\n\\mycite{e} \\citep[p.~3]{f} "
            "\\cites{g}{h} \\citation{i} \\\\\\\\\\citet{j} \\textcite[see][]{k} \\cite")
    matcher = CiteMatcher(extra)
    fields = lambda cmds: [(c.name, c.start, c.end, c.groups) for c in cmds]
    assert fields(cite_commands(text, matcher)) == fields(matcher.iter_commands(text))
    assert len(list(matcher.iter_commands(text))) >= 8
