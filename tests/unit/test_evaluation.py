"""`texcite eval` on a tiny project: which citations become examples, the metrics, the floor and the JSON."""

from __future__ import annotations

import json

import pytest

from texcite.latex.cite import CiteMatcher
from texcite.cli import main
from texcite.latex.emptied import citation_examples
from texcite.evaluation.metrics import Metrics, best_rank
from texcite.evaluation.projects import find_projects
from texcite.evaluation.run import evaluate_project, evaluation_engine
from texcite.settings import parse_settings

BIB = """@article{alpha2020,
  title = {Graph neural networks for molecules},
  author = {Alpha, Ann}, year = {2020}}
@article{beta2019,
  title = {Protein folding with deep learning},
  author = {Beta, Ben}, year = {2019}}
@article{gamma2018,
  title = {Reinforcement learning for robot control},
  author = {Gamma, Gus}, year = {2018}}
"""
MAIN = r"""\documentclass{article}
\begin{document}
Molecules are graphs, so graph neural networks apply \citep[p.~3]{alpha2020, beta2019}.
\input{chapter}
% \cite{alpha2020} is commented out
\begin{verbatim}
\cite{beta2019}
\end{verbatim}
\bibliography{refs}
\end{document}
"""
CHAPTER = r"""Robots learn control policies by reinforcement learning \cite{gamma2018}.
An unknown work \cite{nowhere2000} and a mixed one \cite{gamma2018,nowhere2001}.
"""


@pytest.fixture
def projects(tmp_path):
    p1 = tmp_path / "set" / "one"
    p1.mkdir(parents=True)
    (p1 / "SOURCE.json").write_text(json.dumps({"main": "main.tex"}))
    (p1 / "main.tex").write_text(MAIN)
    (p1 / "chapter.tex").write_text(CHAPTER)
    (p1 / "refs.bib").write_text(BIB)
    p2 = tmp_path / "set" / "two"
    p2.mkdir()
    (p2 / "paper.tex").write_text("\\documentclass{article}\n\\begin{document}\nSee \\cite{ghost}.\n"
                                  "\\bibliography{refs}\n\\end{document}\n")
    (p2 / "refs.bib").write_text(BIB)
    return tmp_path / "set"


def test_examples_skip_comments_verbatim_and_unresolvable(projects):
    text = (projects / "one" / "main.tex").read_text()
    keys = {"alpha2020": 1, "beta2019": 1, "gamma2018": 1}
    examples, unresolved = citation_examples("main.tex", text, CiteMatcher(), keys)
    assert unresolved == 0
    assert [e.keys for e in examples] == [("alpha2020", "beta2019")]
    ex = examples[0]
    assert "\\citep[p.~3]{}." in ex.text
    assert ex.text[ex.offset - 1: ex.offset + 1] == "{}"
    examples, unresolved = citation_examples("chapter.tex", CHAPTER, CiteMatcher(), keys)
    assert [e.keys for e in examples] == [("gamma2018",)]
    assert unresolved == 2  # a missing key, and a command with one missing key of two


def test_metrics_for_a_known_ranking():
    m = Metrics()
    for rank in (1, 3, 0, 12):
        m.add(rank, 1.0)
    assert (m.recall(1), m.recall(5), m.recall(10)) == (0.25, 0.5, 0.5)
    assert m.mrr == pytest.approx((1 + 1 / 3 + 1 / 12) / 4)
    assert best_rank(["x", "b", "a"], ["a", "b"]) == 2
    assert best_rank(["x"], ["a"]) == 0


def test_project_report_ranks_and_bib_order_floor(projects):
    (folder, root), _ = find_projects(str(projects)).projects
    engine, read = evaluation_engine(parse_settings({"recall.mode": "bm25"}).replace(recall_top_k=1000))
    report = evaluate_project(engine, read, folder, root)
    engine.close()
    assert report.entries == 3 and report.unresolved == 2
    assert len(report.ranked.ranks) == 2
    assert report.ranked.ranks == [1, 1]  # both paragraphs name their work's title words
    assert report.bib_order.ranks == [1, 3]  # alpha2020 is first in the bib, gamma2018 third
    assert len(report.ranked.latencies_ms) == 2


def test_cli_json_and_table(projects, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", str(projects), "--recall", "bm25", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("| one |"))
    assert row.split(" | ")[1:5] == ["unknown", "3", "2", "1.000"] and "bib order (floor)" in table and "random order" in table
    assert "Projects without resolvable citations: two" in table
    doc = json.loads(out.read_text())
    assert doc["ranking"] == "BM25" and doc["date"] and doc["settings"]["recall"]["mode"] == "bm25"
    assert "api_key" not in doc["settings"]["reranker"]
    assert [p["name"] for p in doc["projects"]] == ["one", "two"]
    assert [p["language"] for p in doc["projects"]] == ["unknown", "unknown"]  # too little prose to tell
    assert doc["projects"][0]["ranked"]["examples"] == 2
    assert set(doc["overall"]) >= {"examples", "recall@1", "recall@5", "recall@10", "mrr", "latency_ms_p50", "latency_ms_p95"}
    assert doc["bib_order"]["recall@1"] == 0.5
    assert doc["unresolved_skipped"] == 3 and doc["projects_without_examples"] == ["two"]


def test_paragraph_only_query_mode(projects, capsys):
    assert main(["eval", str(projects / "one"), "--recall", "bm25", "--query", "paragraph"]) == 0
    assert "query=paragraph" in capsys.readouterr().out


def test_missing_path_is_one_line_error(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("texcite: error:") and "\n" not in err


def test_a_first_draft_reads_includes_and_bibliographies_as_the_engine_does(tmp_path):
    """The root is cut after the include of the example's chapter (written without braces here), comments do not
    count as includes, and only the lines naming a bibliography stay from what comes later."""
    from texcite.evaluation.examples import SourceFile, as_drafted

    root = "\\documentclass{book}\n% \\input{second}\n\\input first\n\\input{second}\nThe end.\n\\bibliography{refs}\n"
    first = "Graph networks \\cite{alpha2020} apply.\n\nLater text \\cite{beta2019}.\n\\addbibresource{more.bib}\n"
    second = "Robots \\cite{gamma2018}.\n\\bibliography{extra}\n"
    paths = [str(tmp_path / n) for n in ("main.tex", "first.tex", "second.tex")]
    files = [SourceFile(p, t, CiteMatcher()) for p, t in zip(paths, (root, first, second), strict=True)]
    keys = {"alpha2020": 1, "beta2019": 1, "gamma2018": 1}
    example = citation_examples(paths[1], first, CiteMatcher(), keys)[0][0]
    drafted = as_drafted(example, files)
    assert drafted.text == "Graph networks \\cite{} apply.\n\\addbibresource{more.bib}"
    assert drafted.others[paths[0]] == ("\\documentclass{book}\n% \\input{second}\n\\input first\n"
                                        "\\bibliography{refs}")
    assert drafted.others[paths[2]] == "\\bibliography{extra}"


SPANISH_MAIN = r"""\documentclass{article}
\begin{document}
Las moléculas son grafos, y por eso las redes neuronales de grafos se aplican a ellas \cite{alpha2020}. El
plegamiento de las proteínas se estudia con el aprendizaje profundo \cite{beta2019}, y los robots aprenden sus
políticas de control por refuerzo \cite{gamma2018}. En este capítulo se describen los datos que se usaron para
el entrenamiento de los modelos y los resultados que se obtuvieron con ellos.
\bibliography{refs}
\end{document}
"""
ENGLISH_MAIN = r"""\documentclass{article}
\usepackage[english]{babel}
\begin{document}
Molecules are graphs, so graph neural networks apply to them \cite{alpha2020}, and robots learn their control
policies by reinforcement learning \cite{gamma2018}.
\bibliography{refs}
\end{document}
"""


def test_the_report_gives_the_figures_by_language(tmp_path, capsys):
    """One English project (declared by babel) and one Spanish one (read from its prose): each project's row names
    its language, and the table and the JSON by language count their examples."""
    for name, main_tex in (("paper", ENGLISH_MAIN), ("tesis", SPANISH_MAIN)):
        folder = tmp_path / "set" / name
        folder.mkdir(parents=True)
        (folder / "main.tex").write_text(main_tex)
        (folder / "refs.bib").write_text(BIB)
    out = tmp_path / "eval.json"
    assert main(["eval", str(tmp_path / "set"), "--recall", "bm25", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    rows = {line.split(" | ")[0][2:]: line.split(" | ")[1:4] for line in table.splitlines() if line.startswith("| ")}
    assert rows["paper"] == ["english", "3", "2"] and rows["tesis"] == ["spanish", "3", "3"]
    assert "| language | projects | examples | R@1 | R@5 | R@10 | MRR |" in table
    assert rows["spanish"][:2] == ["1", "3"] and rows["english"][:2] == ["1", "2"]  # projects, examples
    doc = json.loads(out.read_text())
    assert [p["language"] for p in doc["projects"]] == ["english", "spanish"]
    assert list(doc["by_language"]) == ["spanish", "english"]  # the most examples first
    assert doc["by_language"]["spanish"]["projects"] == 1 and doc["by_language"]["spanish"]["examples"] == 3
    assert doc["by_language"]["english"]["examples"] == 2
    assert set(doc["by_language"]["english"]) >= {"recall@1", "recall@5", "recall@10", "mrr"}


def write_files(folder, files: dict[str, str]):
    """``files`` (path in ``folder`` -> text) written; the folder."""
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_preamble_file_holding_the_class_is_not_the_root(tmp_path):
    """A report keeps its \\documentclass in header.tex, which main.tex \\input's before \\begin{document}."""
    folder = write_files(tmp_path / "report", {
        "header.tex": "\\documentclass{article}\n\\usepackage{natbib}\n",
        "util.tex": "\\documentclass{standalone}\n% macros only\n",
        "report.tex": "\\input{header}\n\\begin{document}\nSee \\cite{alpha2020}.\n\\bibliography{refs}\n\\end{document}\n",
        "refs.bib": BIB})
    ((_, root),) = find_projects(str(folder)).projects
    assert root == str(folder / "report.tex")


def test_a_first_draft_keeps_the_template_s_command_naming_the_bibliography(tmp_path):
    """The class defines \\mybibliography, the root (in src/) names ../bib/refs through it: a first draft has the
    class as written and the root's line using it, so its citations rank among the bib's entries."""
    write_files(tmp_path / "thesis", {
        "src/mycls.cls": ("\\LoadClass{article}\n\\newcommand{\\mybibliography}[2][]{%\n"
                          "  \\bibliographystyle{plain}\n  \\bibliography{#2}\n}\n"),
        "src/main.tex": ("\\documentclass{mycls}\n\\begin{document}\n\\input{chapter}\n"
                         "\\mybibliography{../bib/refs}\n\\end{document}\n"),
        "src/chapter.tex": CHAPTER.split("\n")[0] + "\n",
        "bib/refs.bib": BIB})
    src = tmp_path / "thesis" / "src"
    engine, read = evaluation_engine(parse_settings({"recall.mode": "bm25"}).replace(recall_top_k=1000))
    for mode in ("default", "writing"):
        report = evaluate_project(engine, read, str(src), str(src / "main.tex"), mode=mode)
        assert (report.entries, report.ranked.ranks) == (3, [1]), mode
    engine.close()


def test_beside_another_document_the_root_is_the_one_that_names_a_bibliography(tmp_path):
    """A CV beside the thesis (a real Turkish thesis): both begin a document; the thesis names its bibliography."""
    folder = write_files(tmp_path / "tez", {
        "CV_Author.tex": "\\documentclass{article}\n\\begin{document}\nBorn in Istanbul.\n\\end{document}\n",
        "tez.tex": "\\documentclass{report}\n\\begin{document}\nSee \\cite{alpha2020}.\n\\bibliography{refs}\n\\end{document}\n",
        "refs.bib": BIB})
    ((_, root),) = find_projects(str(folder)).projects
    assert root == str(folder / "tez.tex")


def test_a_thesis_whose_root_is_in_a_subfolder_is_named_with_its_folder(tmp_path, capsys):
    write_files(tmp_path / "thesis", {
        "src/main.tex": "\\documentclass{report}\n\\begin{document}\n" + CHAPTER + "\\bibliography{refs}\n\\end{document}\n",
        "src/refs.bib": BIB})
    assert main(["eval", str(tmp_path / "thesis"), "--recall", "bm25"]) == 0
    assert "| thesis/src | " in capsys.readouterr().out


def test_the_root_is_the_document_whose_files_cite_from_a_bibliography(tmp_path):
    """A template stub names refs.bib and cites nothing; the thesis names its bibliography in \\input{settings}
    and cites in its chapters (a Chilean memoria; an Italian thesis beside a conference paper, the other way)."""
    folder = write_files(tmp_path / "proj", {
        "template.tex": "\\documentclass{article}\n\\begin{document}\n{{$body}}\n\\bibliography{refs}\n\\end{document}\n",
        "memoria.tex": "\\documentclass{report}\n\\input{settings}\n\\begin{document}\n\\input{chapter1}\n\\end{document}\n",
        "settings.tex": "\\usepackage{biblatex}\n\\addbibresource{refs.bib}\n",
        "chapter1.tex": CHAPTER,
        "refs.bib": BIB})
    ((_, root),) = find_projects(str(folder)).projects
    assert root == str(folder / "memoria.tex")


def test_among_drafts_the_root_is_the_one_citing_most_of_what_its_bibliography_defines(tmp_path):
    """An older draft cites more, of keys its bibliography no longer has (a Mexican thesis: eval took it, 1 example
    and 20 unresolvable, where the final draft has 12)."""
    folder = write_files(tmp_path / "tesis", {
        "tesis.tex": "\\documentclass{report}\n\\begin{document}\n" + "Old \\cite{gone1,gone2} \\cite{gone3}.\n" * 3
                     + "\\bibliography{old}\n\\end{document}\n",
        "tesis_final.tex": "\\documentclass{report}\n\\begin{document}\n" + CHAPTER + "\\bibliography{refs}\n\\end{document}\n",
        "old.bib": "@article{other, title={Other}}\n", "refs.bib": BIB})
    ((_, root),) = find_projects(str(folder)).projects
    assert root == str(folder / "tesis_final.tex")
