"""The final order: the neural reranker's scores join the fused ones, but never lift an entry over one that
matches what the writer typed better."""

from __future__ import annotations

from texcite.bib.model import Entry
from texcite.engine import Engine
from texcite.retrieval.select import Candidate, join
from texcite.settings import Settings


def candidate(key: str, fused: float, tier: int) -> Candidate:
    return Candidate(Entry(key, "article", {"title": key}, "", 0), 0, fused, "hybrid", tier)


def test_the_reranker_reorders_within_a_typed_tier_never_across():
    # Typed "smi": smith2020 starts with it (tier 0); two entries only match a title word (tier 3).
    shortlist = [candidate("smith2020", 1.0, 0), candidate("blacksmithing", 0.9, 3), candidate("metals", 0.8, 3)]
    ranked = join(shortlist, [0.0, 0.5, 1.0], "rerank:vllm-http")
    assert [r.candidate.entry.key for r in ranked] == ["smith2020", "metals", "blacksmithing"]


def test_without_typed_text_the_reranker_joins_the_whole_head():
    shortlist = [candidate("a", 1.0, 0), candidate("b", 0.9, 0), candidate("c", 0.8, 0)]
    ranked = join(shortlist, [0.0, 0.5, 1.0], "rerank:vllm-http", weight=10.0)
    assert [r.candidate.entry.key for r in ranked] == ["c", "b", "a"]


HELPERS_BIB = r"""
@proceedings{icra2019, title = {Proceedings of the International Conference on Robotics and Automation}, year = {2019},
  editor = {Amato, Nancy}}
@inproceedings{nori2019walking, author = {Nori, Francesco}, title = {Walking robots on soft ground}, crossref = {icra2019}}
@inproceedings{dafarra2019gait, author = {Dafarra, Stefano}, title = {Gait planning for humanoid robots},
  crossref = {icra2019}}
@xdata{ieeeconf, publisher = {IEEE}, location = {New York}}
@set{robotsset, entryset = {nori2019walking,dafarra2019gait}}
@book{siciliano2008, author = {Siciliano, Bruno}, title = {Handbook of robotics}, year = {2008}, xdata = {ieeeconf}}
@collection{handbook2016, title = {Springer handbook of humanoid robotics}, year = {2016}, options = {dataonly}}
@article{khatib1987, author = {Khatib, Oussama}, title = {A unified approach to robot control}, year = {1987}}
@article{featherstone2008, author = {Featherstone, Roy}, title = {Rigid body dynamics algorithms}, year = {2008}}
@article{pratt2001, author = {Pratt, Jerry}, title = {Virtual model control of robots}, year = {2001}}
"""
HELPERS = {"icra2019", "ieeeconf", "robotsset", "handbook2016"}


def helpers_project(tmp_path, body: str) -> tuple[Engine, str, str]:
    (tmp_path / "refs.bib").write_text(HELPERS_BIB)
    text = "\\documentclass{article}\\begin{document}\n" + body + "\n\\bibliography{refs}\\end{document}\n"
    (tmp_path / "main.tex").write_text(text)
    engine = Engine(Settings().replace(recall_mode="bm25", cache_dir=str(tmp_path / "cache")), workspace=str(tmp_path))
    return engine, str(tmp_path / "main.tex"), text


def keys_at(engine: Engine, path: str, text: str, marker: str) -> list[str]:
    result = engine.suggest(path, text, text.index(marker) + len(marker))
    assert result is not None
    return [s.entry.key for s in result.suggestions]


def test_proceedings_xdata_and_sets_come_after_every_work_unless_cited(tmp_path) -> None:
    engine, path, text = helpers_project(
        tmp_path, "Robots walk on soft ground in the proceedings of the conference on robotics and automation "
                  "\\cite{}. Typing \\cite{icr}.")
    try:
        shown = keys_at(engine, path, text, "automation \\cite{")
        assert set(shown[-len(HELPERS):]) == HELPERS  # after the works, whatever their words
        assert shown.index("nori2019walking") < shown.index("icra2019")
        engine.configure(engine.settings.replace(recall_top_k=4))
        assert not HELPERS & set(keys_at(engine, path, text, "automation \\cite{"))  # a short list holds works only
        assert keys_at(engine, path, text, "\\cite{icr")[0] == "icra2019"  # typing its key finds it
    finally:
        engine.close()


def test_a_proceedings_volume_the_project_cites_is_a_work_like_any_other(tmp_path) -> None:
    engine, path, text = helpers_project(
        tmp_path, "The proceedings \\cite{icra2019} collect robotics and automation. "
                  "Again the conference on robotics and automation \\cite{}.")
    try:
        shown = keys_at(engine, path, text, "automation \\cite{")
        # among the works (before the ones nothing speaks for), not after them with the helpers
        assert shown.index("icra2019") < min(shown.index(k) for k in ("siciliano2008", "khatib1987", "pratt2001"))
        assert set(shown[-(len(HELPERS) - 1):]) == HELPERS - {"icra2019"}
    finally:
        engine.close()


def test_the_reranker_never_lifts_a_helper_over_a_work_of_its_tier():
    proceedings = Candidate(Entry("icra2019", "proceedings", {"title": "ICRA"}, "", 0), 0, 1.0, "hybrid", 0, True)
    shortlist = [candidate("nori2019", 0.9, 0), candidate("pratt2001", 0.8, 0), proceedings]
    ranked = join(shortlist, [0.0, 0.5, 1.0], "rerank:vllm-http", weight=10.0)
    assert [r.candidate.entry.key for r in ranked] == ["pratt2001", "nori2019", "icra2019"]
