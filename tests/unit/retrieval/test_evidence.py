"""Document-wide citation evidence, learned fusion, relevance and reasons: what the project's other citations
say about each key, and how a user sees it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from texcite.bib.model import BibFile, Entry
from texcite.engine import Engine
from texcite.evaluation.examples import SourceFile, as_drafted
from texcite.latex.emptied import citation_examples
from texcite.latex.cite import CiteMatcher
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.fusion import FusionModel, load_models, relevance
from texcite.retrieval.signals import entry_signals
from texcite.settings import Settings

# optimizer2015 sits away from the command's dropout2014 in the bib: being cited together is what lifts it there
BIB = r"""
@article{optimizer2015, title={A method for stochastic optimization}, author={Diederik Kingma}, year={2015}}
@article{tokenizer2019, title={Subword units for rare words}, author={Rico Sennrich}, year={2016}}
@article{galaxies1998, title={Rotation curves of spiral galaxies}, author={Vera Rubin}, year={1998}}
@article{sourdough2005, title={Sourdough fermentation and yeast}, author={Tom Baker}, year={2005}}
@article{dropout2014, title={Preventing co-adaptation of feature detectors}, author={Nitish Srivastava}, year={2014}}
"""

INTRO = r"""\chapter{Introduction}
Networks overfit small data, so we regularise them \cite{dropout2014,optimizer2015}.
"""
FILLER = "The corpus holds many documents of varied length and style, collected over several years. " * 4
METHOD = r"""\chapter{Method}
\section{Training}
We train with adaptive steps \cite{optimizer2015} and regularise the layers \cite{dropout2014}.
""" + FILLER + r"""
Our units come from byte pairs \cite{tokenizer2019}.
""" + FILLER + r"""
We regularise again as before \cite{dropout2014,|}.
"""


def project(tmp_path, method: str = METHOD):
    (tmp_path / "refs.bib").write_text(BIB)
    (tmp_path / "intro.tex").write_text(INTRO)
    (tmp_path / "main.tex").write_text("\\documentclass{book}\n\\begin{document}\n\\include{intro}\n"
                                       "\\include{method}\n\\bibliography{refs}\n\\end{document}\n")
    offset = method.index("|")
    text = method.replace("|", "")
    (tmp_path / "method.tex").write_text(text)
    return str(tmp_path / "method.tex"), text, offset


@pytest.fixture()
def bm25_engine(tmp_path):
    engine = Engine(Settings().replace(recall_mode="bm25", cache_dir=str(tmp_path / "cache")), workspace=str(tmp_path))
    yield engine
    engine.close()


def test_evidence_counts_every_file_and_leaves_out_the_command_being_written(tmp_path, bm25_engine) -> None:
    path, text, offset = project(tmp_path)
    prepared = bm25_engine.prepare(path, text, offset)
    ev = prepared.evidence

    def counts(name):
        return {k: ev.count(name, k) for k in ("dropout2014", "optimizer2015", "tokenizer2019") if ev.count(name, k)}

    # dropout2014: once in intro, once in method (its use in the command under the cursor does not count)
    assert counts("uses") == {"dropout2014": 2, "optimizer2015": 2, "tokenizer2019": 1}
    assert counts("file_uses") == {"dropout2014": 1, "optimizer2015": 1, "tokenizer2019": 1}
    assert counts("section_uses") == {"dropout2014": 1, "optimizer2015": 1, "tokenizer2019": 1}
    assert ev.previous == "tokenizer2019"
    assert ev.anchors[0] == "dropout2014"  # the key already in the command
    # optimizer2015 is cited together with dropout2014 twice (one command in intro, one sentence in method)
    assert ev.count("cocited", "optimizer2015") == 2 and ev.partner("optimizer2015") == "dropout2014"
    assert ev.count("context", "dropout2014") > ev.count("context", "tokenizer2019")
    assert "regularise" in ev.shared_words("dropout2014")
    signals = prepared.signals
    row = prepared.corpus.position
    assert signals["uncited"][row["galaxies1998"]] == 1 and signals["uncited"][row["dropout2014"]] == 0
    assert signals["uses"][row["dropout2014"]] == pytest.approx(np.log1p(2))


def test_a_citation_s_context_ends_with_its_paragraph(tmp_path, bm25_engine) -> None:
    """'where you cite it elsewhere, the text also says 'cooking', 'pasta'' quoted the paragraph being written:
    the words after the citation just before it ran into it."""
    method = ("We regularise the layers \\cite{dropout2014}.\n\nCooking pasta in yeast dough \\cite{|}.\n")
    path, text, offset = project(tmp_path, method)
    evidence = bm25_engine.prepare(path, text, offset).evidence
    assert not {"cooking", "pasta", "yeast", "dough"} & set(evidence.shared_words("dropout2014"))
    assert evidence.count("context", "dropout2014") == 0


def test_the_words_being_written_are_no_evidence_for_the_citation_after_them(tmp_path, bm25_engine) -> None:
    """A citation later in the paragraph reads the sentence being written as its context: 'park' ranked first
    "because" the text around it said the writer's own words."""
    method = ("Sourdough rises with yeast in warm kitchens \\cite{|}. Bakers knead the yeast dough \\cite{sourdough2005}.\n")
    path, text, offset = project(tmp_path, method)
    evidence = bm25_engine.prepare(path, text, offset).evidence
    assert evidence.count("context", "sourdough2005") == 0 and evidence.shared_words("sourdough2005") == ()


def test_a_key_cited_together_with_the_command_s_keys_ranks_first(tmp_path, bm25_engine) -> None:
    path, text, offset = project(tmp_path)
    result = bm25_engine.suggest(path, text, offset)
    keys = [s.entry.key for s in result.suggestions]
    assert keys[0] == "optimizer2015" and "dropout2014" not in keys  # already in the command
    top = result.suggestions[0]
    assert top.relevance == 100 and all(0 <= s.relevance <= 100 for s in result.suggestions)
    assert any(r.startswith("you cite it together with dropout2014") for r in top.reasons), top.reasons


def test_a_first_draft_keeps_what_comes_before_and_the_bibliography(tmp_path) -> None:
    path, text, _ = project(tmp_path)
    root = str(tmp_path / "main.tex")
    texts = {root: (tmp_path / "main.tex").read_text(), str(tmp_path / "intro.tex"): INTRO, path: text}
    examples, _ = citation_examples(str(tmp_path / "intro.tex"), INTRO, CiteMatcher(), {
        "dropout2014": None, "optimizer2015": None})
    files = [SourceFile(f, texts[f], CiteMatcher()) for f in (root, str(tmp_path / "intro.tex"), path)]
    drafted = as_drafted(examples[0], files)
    assert drafted.others[root].startswith("\\documentclass{book}")
    assert "\\include{intro}" in drafted.others[root] and "\\include{method}" not in drafted.others[root]
    assert "\\bibliography{refs}" in drafted.others[root]
    assert drafted.others[path] == ""  # a later chapter does not exist yet


def test_add_one_keeps_the_other_keys(tmp_path) -> None:
    text = "A \\cite{x,y,z}."
    defined = {k: None for k in "xyz"}
    examples, _ = citation_examples("f.tex", text, CiteMatcher(), defined, mode="add-one")
    assert [(e.keys, e.text, e.offset) for e in examples] == [
        (("x",), "A \\cite{,y,z}.", 8), (("y",), "A \\cite{x,,z}.", 10), (("z",), "A \\cite{x,y,}.", 12)]


def test_fusion_weighs_signals_products_and_hidden_units() -> None:
    linear = FusionModel.from_json("t", {"features": ["a", "u*b", "missing"], "linear": [1.0, 2.0, 5.0]})
    signals = {"a": np.array([1.0, 0.0, 0.0]), "b": np.array([0.0, 1.0, 1.0]), "u": np.array([1.0, 1.0, 0.0])}
    assert linear.score(signals).tolist() == [1.0, 2.0, 0.0]  # a missing signal counts 0
    lift = linear.contributions(linear.inputs(signals), [1])[0]
    assert lift["u"] == pytest.approx(2.0 * (1.0 - 1 / 3)) and lift["a"] == pytest.approx(-1 / 3)
    hidden = FusionModel.from_json("h", {"features": ["a"], "linear": [0.0], "hidden": [[2.0]], "bias": [0.5],
                                         "out": [3.0]})
    assert hidden.score(signals).tolist() == pytest.approx((3 * np.tanh(2 * signals["a"] + 0.5)).tolist())


def test_shipped_models_name_only_known_signals() -> None:
    from texcite.retrieval.signals import ALL

    models = load_models()
    assert set(models) == {"hybrid", "bm25", "hybrid-linear", "bm25-linear"}
    for model in models.values():
        for name in model.features:
            assert all(part in ALL for part in name.split("*")), name
        assert model.linear.shape == (len(model.features),) and model.hidden.shape[0] == len(model.features)
    assert not any("dense" in n for n in models["bm25"].features + models["bm25-linear"].features)
    assert len(models["hybrid"].out) and not len(models["hybrid-linear"].out)


def test_relevance_loses_twenty_points_per_tenfold_drop_in_likelihood() -> None:
    assert relevance(np.array([2.0, 2.0 - np.log(10), 2.0 - np.log(100), -30.0])).tolist() == [100, 80, 60, 0]


def test_suggest_json_shows_relevance_and_reasons(tmp_path) -> None:
    path, text, offset = project(tmp_path)
    (tmp_path / "method.tex").write_text(text)
    line = text.count("\n", 0, offset)
    character = offset - (text.rfind("\n", 0, offset) + 1)
    out = subprocess.run([sys.executable, "-m", "texcite", "suggest", path, "--line", str(line), "--character",
                          str(character), "--json", "--recall", "bm25", "--top", "3"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    top = json.loads(out.stdout)["suggestions"][0]
    assert top["key"] == "optimizer2015" and top["relevance"] == 100
    assert any("you cite it together with dropout2014" in r for r in top["reasons"])


def test_the_entry_s_kind_is_a_signal() -> None:
    entries = [Entry("lstm", "article", {"title": "Long Short-Term Memory", "crossref": "procs"}, "", 0),
               Entry("gan", "inproceedings", {"title": "Generative Adversarial Nets"}, "", 1),
               Entry("procs", "proceedings", {"title": "Proceedings of NIPS"}, "", 2),
               Entry("book", "Book", {"title": "Pattern Recognition"}, "", 3),
               Entry("site", "online", {"title": "The project's web site"}, "", 4)]
    corpus = Corpus([BibFile("refs.bib", "x", entries)])
    kinds = entry_signals(corpus.entries)
    assert kinds["parent"].tolist() == [0, 0, 1, 0, 0]  # cited through its papers
    assert kinds["type_book"].tolist() == [0, 0, 0, 1, 0] and kinds["type_misc"].tolist() == [0, 0, 0, 0, 1]
