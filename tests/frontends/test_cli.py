"""The command line as a user runs it: `texcite suggest` on the example paper, errors as one line."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

from lsp_helpers import EXAMPLE

from texcite.wait_notes import WaitNotes


METHOD = EXAMPLE / "chapters" / "method.tex"


def texcite(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "texcite", *args], capture_output=True, text=True, timeout=300)


def test_suggest_prints_ranked_suggestions():
    run = texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--top", "5", "--reranker", "none")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    ranked = [line for line in lines if line.split()[0].rstrip(".").isdigit()]
    assert len(ranked) == 5
    assert ranked[0].split()[:3] == ["1.", "nguyen2023distillation", "100"]  # relevance of the best: 100
    assert lines[1].startswith(" ") and "its title shares" in lines[1]  # why it ranked, under the item


def test_suggest_json_contract():
    run = texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--top", "3", "--json", "--reranker", "none")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert set(out) >= {"query", "suggestions", "instruction", "reranker"}
    assert "knowledge distillation" in out["query"] and "\\cite" not in out["query"]
    assert out["reranker"] == {"backend": "none", "model": ""}
    assert [s["rank"] for s in out["suggestions"]] == [1, 2, 3]
    top = out["suggestions"][0]
    assert top["key"] == "nguyen2023distillation"
    assert top["document"].startswith("Title: " + top["title"])
    assert "\nAbstract: " in top["document"]
    scores = [s["score"] for s in out["suggestions"]]
    assert scores == sorted(scores, reverse=True)


def test_missing_file_is_one_line_and_nonzero(tmp_path):
    run = texcite("suggest", str(tmp_path / "nope.tex"), "--line", "0", "--character", "0")
    assert run.returncode != 0
    assert run.stderr.strip().count("\n") == 0 and "nope.tex" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_cursor_outside_a_cite_is_one_line_and_nonzero():
    run = texcite("suggest", str(METHOD), "--line", "9", "--character", "3")
    assert run.returncode != 0
    assert "not inside" in run.stderr and "Traceback" not in run.stderr


def test_settings_schema_is_json():
    run = texcite("settings-schema")
    assert run.returncode == 0
    assert "texcite.reranker.backend" in json.loads(run.stdout)


def test_typed_modes_take_one_length_or_a_sweep() -> None:
    import argparse

    import pytest

    from texcite.cli import typed_modes

    assert typed_modes("key3") == ["key3"]
    assert typed_modes("key1..key5") == ["key1", "key2", "key3", "key4", "key5"]
    assert typed_modes("author2..author3") == ["author2", "author3"]
    for bad in ("key9", "key3..key1", "key1..author3", "title3"):
        with pytest.raises(argparse.ArgumentTypeError):
            typed_modes(bad)


def _library(tmp_path):
    path = tmp_path / "library.json"
    path.write_text(json.dumps([{
        "id": "hinton2015distilling", "type": "article-journal", "issued": {"date-parts": [[2015]]},
        "title": "Knowledge distillation of neural rankers into small students",
        "author": [{"family": "Hinton", "given": "Geoffrey"}]}]))
    return path


def test_suggest_marks_library_items(tmp_path):
    library = _library(tmp_path)
    args = ("suggest", str(METHOD), "--line", "8", "--character", "40", "--reranker", "none", "--recall", "bm25",
            "--library", str(library))
    run = texcite(*args)
    assert run.returncode == 0, run.stderr
    (line,) = [line for line in run.stdout.splitlines() if "hinton2015distilling" in line]
    assert line.endswith("[library: library.json]")
    out = json.loads(texcite(*args, "--json").stdout)
    marked = {s["key"]: s["library"] for s in out["suggestions"]}
    assert marked["hinton2015distilling"] == str(library) and marked["nguyen2023distillation"] is None


def test_a_cursor_outside_a_citation_is_one_line_with_a_library_too(tmp_path):
    run = texcite("suggest", str(METHOD), "--line", "8", "--character", "35", "--library", str(_library(tmp_path)))
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["texcite: error: " + str(METHOD) + ":8:35 is not inside the key list of a "
                                       "citation command"]


def test_a_library_file_that_does_not_exist_is_an_error_not_a_library_left_out(tmp_path):
    missing = tmp_path / "zotero" / "library.bib"
    run = texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--library", str(missing))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [f"texcite: error: no such library file: {missing}"]


def test_what_a_library_file_loses_is_said_and_the_rest_still_ranks(tmp_path):
    library = _library(tmp_path)
    items = json.loads(library.read_text())
    library.write_text(json.dumps([{"title": "Distillation without an id"}, *items, 7]))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "cut", "title": "An export cut sh')
    ris = tmp_path / "library.ris"
    ris.write_text("TY  - JOUR\nAU  - Doe, Jane\nTI  - Distilled rankers\nPY  - 2020\nER  - \n")
    run = texcite("suggest", str(METHOD), "--line", "8", "--character", "40", "--recall", "bm25",
                  "--library", str(library), "--library", str(broken), "--library", str(ris))
    assert run.returncode == 0, run.stderr
    assert any("hinton2015distilling" in line for line in run.stdout.splitlines())
    assert run.stderr.splitlines() == [
        f"texcite: library {library}: Item 1 skipped: it has no id or citation-key (and 1 more)",
        f"texcite: library {broken}: Not CSL-JSON: Unterminated string starting at: line 1 column 25 (char 24)",
        f"texcite: library {ris}: No BibTeX entry found: texcite reads BibTeX/BibLaTeX .bib and CSL-JSON .json "
        "libraries"]


def test_eval_library_split_reports_moved_works_and_the_project(tmp_path):
    for name in ("one", "two"):
        shutil.copytree(EXAMPLE, tmp_path / "projects" / name)
    run = texcite("eval", str(tmp_path / "projects"), "--library-split", "0.3", "--recall", "bm25",
                  "--reranker", "none", "--json", str(tmp_path / "split.json"))
    assert run.returncode == 0, run.stderr
    assert "| one |" in run.stdout and "| two |" in run.stdout and "| **all** |" in run.stdout
    assert "Constant offsets instead" in run.stdout and "moved R@10" in run.stdout
    figures = json.loads((tmp_path / "split.json").read_text())  # --json was ignored
    assert [p["name"] for p in figures["projects"]] == ["one", "two"] and figures["overall"]["moved_probes"] > 0
    assert "only the moved entries" not in run.stdout  # (said of one project without --library)


def test_forget_deletes_the_accepted_citations_and_doctor_counts_them(tmp_path):
    from texcite.memory import Accepted, WriterMemory

    memory = WriterMemory()  # the tests' cache folder ($TEXCITE_CACHE_DIR), as the command's
    for key in ("a2020", "b2021"):
        memory.remember(Accepted(key, str(METHOD), 8, "text \\cite{}", 11))
    assert "memory: 2 accepted citations" in texcite("doctor").stdout.splitlines()
    run = texcite("forget")
    assert run.returncode == 0 and run.stdout == f"Forgot 2 accepted citations ({memory.path}).\n", run.stderr
    assert texcite("forget").stdout == f"Forgot 0 accepted citations ({memory.path}).\n"


def suggest_in(folder, bib: str, tex: str) -> list[str]:
    """`texcite suggest` (BM25, top 3) at the empty \\cite{} of ``tex`` beside ``bib``: its lines."""
    (folder / "refs.bib").write_text(bib, encoding="utf-8")
    (folder / "main.tex").write_text(tex, encoding="utf-8")
    number, line = next((i, t) for i, t in enumerate(tex.splitlines()) if "\\cite{}" in t)
    run = texcite("suggest", str(folder / "main.tex"), "--line", str(number), "--character",
                  str(line.index("\\cite{}") + 6), "--top", "3", "--recall", "bm25", "--reranker", "none")
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()


def test_a_chinese_thesis_gets_the_work_its_sentence_names_and_readable_reasons(tmp_path):
    # Chinese is written without spaces: the sentence's words meet the titles' as character pairs, and a reason
    # quotes the shared run of the title, not the whole clause around the citation.
    lines = suggest_in(
        tmp_path,
        "@article{wang2022, author = {王阳}, title = {危化品罐式车辆公路运输事故时空分布}, year = {2022}}\n"
        "@article{li2021, author = {李明}, title = {液罐车侧翻稳定性控制方法研究}, year = {2021}}\n"
        "@article{zhao2020, author = {赵刚}, title = {深度学习在图像识别中的应用}, year = {2020}}\n",
        "\\documentclass{ctexart}\n\\begin{document}\n"
        "近年来，液罐车因超速和急转向诱发的侧翻事故时有发生，侧翻稳定性控制成为研究重点\\cite{}。"
        "其他方法另有讨论。\n\\bibliography{refs}\n\\end{document}\n")
    assert lines[0].split()[:2] == ["1.", "li2021"]
    assert "its title shares '液罐车', '侧翻稳定性控制'" in lines[1]


def test_a_word_glued_to_a_japanese_clause_is_quoted_alone(tmp_path):
    # '…の実装にD3.js' is one run between spaces: the reason quotes 'd3', not the whole clause (a real thesis).
    lines = suggest_in(
        tmp_path,
        "@article{bostock2011, author = {Bostock, M.}, title = {D3: Data-Driven Documents}, year = {2011}}\n"
        "@article{tanaka2014, author = {Tanaka, T.}, title = {An Interface for Stories}, year = {2014}}\n",
        "\\documentclass{jsarticle}\n\\begin{document}\n本研究では，会話データの可視化処理の実装にD3.js\\cite{}を用いた．\n"
        "\\bibliography{refs}\n\\end{document}\n")
    assert lines[0].split()[:2] == ["1.", "bostock2011"]
    assert "its title shares 'd3'" in lines[1]


def test_a_french_thesis_reads_past_elided_articles_and_function_words(tmp_path):
    # 'l’énergie' is the word 'énergie' and '«positive»–' the word 'positive' (BM25 and the reasons alike);
    # 'également', 'afin', 'selon' say nothing of the work cited: the title sharing them ranks below the one sharing
    # the sentence's content words.
    lines = suggest_in(
        tmp_path,
        "@article{reynier2014, author = {Reynier, Léa}, title = {La maison à énergie positive}, year = {2014}}\n"
        "@article{dupont2019, author = {Dupont, Paul}, title = {Également afin selon: notes}, year = {2019}}\n"
        "@article{martin2020, author = {Martin, Anne}, title = {Réseaux de neurones}, year = {2020}}\n",
        "\\documentclass{article}\n\\usepackage[french]{babel}\n\\begin{document}\n"
        "Le bilan de l’énergie «positive»–est également défini afin de comparer, selon les usages \\cite{}.\n"
        "\\bibliography{refs}\n\\end{document}\n")
    assert lines[0].split()[:2] == ["1.", "reynier2014"]
    assert "its title shares 'énergie', 'positive'" in lines[1]


def test_a_long_wait_is_said_on_stderr_a_short_one_is_not():
    """A first run on a large library waits minutes for its titles to be embedded: `texcite suggest` says so (and how
    far it got) instead of seeming to hang; a run that waits less than two seconds says nothing."""
    out, now = io.StringIO(), [0.0]
    notes = WaitNotes(out, wait_s=2.0, every_s=10.0, clock=lambda: now[0])
    for at, done in ((0, 0), (1, 100), (3, 300), (5, 400), (14, 900), (15, 1000)):
        now[0] = at
        notes.library_progress("embedding", done, 1000)
    notes.dense_progress((), 0, 50)
    notes.dense_progress((), 50, 50)  # the bibliography's titles, at once: nothing said
    notes.library_progress("indexing", 0, 1)
    now[0] = 30.0
    notes.library_progress("indexing", 50000, 50000)
    assert out.getvalue().splitlines() == [
        "texcite: embedding your library's titles: 300 of 1,000",
        "texcite: embedding your library's titles: 900 of 1,000",
        "texcite: embedding your library's titles: done (15 s; cached for the next run)",
        "texcite: indexing your library: done (50,000 entries, 15 s; cached for the next run)"]
