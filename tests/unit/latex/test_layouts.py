"""The project layouts writers use, each written as a small project: the root, the bibliographies found and why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from texcite.bib.bibitems import bibitem_file
from texcite.bib.model import BibFile, Entry, merge_entries
from texcite.files import Sources
from texcite.latex import kpathsea
from texcite.latex.cite import CiteMatcher
from texcite.latex.project import FactsCache, discover, explain
from texcite.latex.roots import find_root_why
from texcite.library.addition import target_bib

HERE = Path(__file__).resolve().parents[2]  # tests/
DOC = "\\documentclass{article}\n%s\n\\begin{document}\n%s\n\\end{document}\n"


def bib(*keys: str) -> str:
    return "".join(f"@article{{{k}, title = {{On {k}}}, author = {{Doe, Jane}}, year = {{2020}}}}\n" for k in keys)


# name -> (files, the file a writer opens, the .bib files the project must use (relative to the folder))
LAYOUTS = {
    "subfiles-chapter-alone": ({
        "main.tex": DOC % ("\\usepackage{subfiles}", "\\subfile{chapters/ch1}\n\\bibliography{refs}"),
        "chapters/ch1.tex": "\\documentclass[../main.tex]{subfiles}\n\\begin{document}\nText \\cite{}.\n\\end{document}\n",
        "refs.bib": bib("a", "b"), "chapters/unrelated.bib": bib("z"),
    }, "chapters/ch1.tex", ["refs.bib"]),
    "subfix": ({
        "main.tex": DOC % ("\\usepackage{subfiles}\n\\addbibresource{\\subfix{bibliography.bib}}", "\\subfile{ch/one}"),
        "ch/one.tex": "\\documentclass[../main]{subfiles}\n\\begin{document}\nText.\n\\end{document}\n",
        "bibliography.bib": bib("a"), "other.bib": bib("z"),
    }, "ch/one.tex", ["bibliography.bib"]),
    "biber-glob": ({
        "main.tex": DOC % ("\\addbibresource{bib/*.bib}", "Text."),
        "bib/one.bib": bib("a"), "bib/two.bib": bib("b"), "unrelated.bib": bib("z"),
    }, "main.tex", ["bib/one.bib", "bib/two.bib"]),
    "glob-false": ({
        "main.tex": DOC % ("\\addbibresource[glob=false]{refs.bib}", "Text."), "refs.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["refs.bib"]),
    "tex-root-chain": ({
        "main.tex": DOC % ("", "\\input{parts/part1}\n\\bibliography{refs}"),
        "parts/part1.tex": "% !TEX root = ../main.tex\n\\input{parts/sec}\n",
        "parts/sec.tex": "% !TEX root = part1.tex\nText \\cite{}.\n",
        "refs.bib": bib("a"), "parts/unrelated.bib": bib("z"),
    }, "parts/sec.tex", ["refs.bib"]),
    # Overleaf compiles a main document in a subfolder from the project's top: its paths start there.
    "overleaf-main-in-subfolder": ({
        ".latexmkrc": "", "thesis/main.tex": DOC % ("\\addbibresource{thesis/refs.bib}", "\\include{thesis/ch/one}"),
        "thesis/ch/one.tex": "Text \\cite{}.\n", "thesis/refs.bib": bib("a"), "other/z.bib": bib("z"),
    }, "thesis/ch/one.tex", ["thesis/refs.bib"]),
    # A chapter written to compile alone (standalone) is the document's when opened: its other chapters' citations.
    "standalone-chapter": ({
        "thesis.tex": DOC % ("\\usepackage{standalone}", "\\input{ch/one}\n\\bibliography{refs}"),
        "ch/one.tex": "\\documentclass{report}\n\\usepackage{standalone}\n\\begin{document}\nText \\cite{}.\n"
                      "\\end{document}\n",
        "refs.bib": bib("a"), "ch/z.bib": bib("z"),
    }, "ch/one.tex", ["refs.bib"]),
    # biblatex: a refsection's own resources (a thesis by publication, a chapter per paper)
    "refsection-resources": ({
        "main.tex": DOC % ("\\usepackage{biblatex}\n\\addbibresource{main.bib}",
                           "\\begin{refsection}[papers/one.bib, two.bib]\nText.\n\\end{refsection}"),
        "main.bib": bib("a"), "papers/one.bib": bib("b"), "two.bib": bib("c"), "z.bib": bib("z"),
    }, "main.tex", ["main.bib", "papers/one.bib", "two.bib"]),
    # thuthesis.cls (every Tsinghua thesis): \bibliographytypesize is a font size, no bibliography
    "class-font-size-command": ({
        "main.tex": "\\documentclass{mycls}\n\\begin{document}\nText.\n\\bibliography{ref/refs}\n\\end{document}\n",
        "mycls.cls": ("\\LoadClass{book}\n\\newcommand\\bibliographytypesize{\\small}\n"
                      "\\renewcommand{\\bibliographytypesize}{\\fontsize{10.5bp}{17bp}\\selectfont}\n"),
        "ref/refs.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["ref/refs.bib"]),
    # A chapter compiling alone behind a conditional (\ifdefined\thesismode\else \documentclass..\fi): the thesis's
    "guarded-chapter": ({
        "main.tex": DOC % ("\\def\\thesismode{}\n\\addbibresource{refs.bib}", "\\include{chapters/ch2}"),
        "chapters/ch2.tex": ("\\ifdefined\\thesismode\\else\n  \\documentclass{report}\n  \\addbibresource{../own.bib}\n"
                             "  \\begin{document}\n\\fi\nText \\cite{}.\n\\ifdefined\\thesismode\\else\n\\end{document}\n\\fi\n"),
        "refs.bib": bib("a"), "own.bib": bib("b"), "z.bib": bib("z"),
    }, "chapters/ch2.tex", ["refs.bib", "own.bib"]),
    "bibunits-putbib": ({
        "main.tex": DOC % ("\\usepackage{bibunits}", "\\begin{bibunit}\nText.\n\\putbib[unitrefs]\n\\end{bibunit}"),
        "unitrefs.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["unitrefs.bib"]),
    "multibib": ({
        "main.tex": DOC % ("\\usepackage{multibib}\n\\newcites{math}{Math}",
                           "\\bibliographystylemath{plain}\n\\bibliographymath{mathrefs}\n\\bibliography{refs}"),
        "mathrefs.bib": bib("m"), "refs.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["mathrefs.bib", "refs.bib"]),
    "addglobalbib-addsectionbib-nobibliography": ({
        "main.tex": DOC % ("\\addglobalbib{g}\n\\addsectionbib{s.bib}", "\\nobibliography{n}"),
        "g.bib": bib("g"), "s.bib": bib("s"), "n.bib": bib("n"), "z.bib": bib("z"),
    }, "main.tex", ["g.bib", "s.bib", "n.bib"]),
    "macro-from-aux-in-latexmk-aux-dir": ({  # \\jobname: only TeX knows it, the last build recorded it
        "main.tex": DOC % ("", "Text.\n\\bibliography{\\jobname}"),
        ".latexmkrc": "$aux_dir = 'build';\n", "build/main.aux": "\\relax\n\\bibdata{main}\n",
        "main.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["main.bib"]),
    "macro-from-bcf": ({  # defined by a package outside the project
        "main.tex": DOC % ("\\usepackage{mylibrary}\n\\addbibresource{\\mylibrary}", "Text."),
        "main.bcf": "<bcf:datasource type=\"file\" datatype=\"bibtex\" glob=\"false\">lib.bib</bcf:datasource>\n",
        "lib.bib": bib("a"), "z.bib": bib("z"),
    }, "main.tex", ["lib.bib"]),
    "thebibliography": ({
        "main.tex": DOC % ("", ("Text.\n\\begin{thebibliography}{9}\n\\bibitem{x} X. One, A title, 2019.\n"
                                "\\bibitem[Two(2020)]{y} Y. Two, Another, 2020.\n\\end{thebibliography}")),
        "unrelated.bib": bib("z"),
    }, "main.tex", ["main.tex"]),
    "marker-nested-chapter": ({
        "thesis/.latexmkrc": "", "thesis/main.tex": DOC % ("", "\\input{Chapters/Part_1/chapter_2}\n\\bibliography{refs}"),
        "thesis/Chapters/Part_1/chapter_2.tex": "\\chapter{Two}\nText \\cite{}.\n",
        "thesis/refs.bib": bib("a"), "other/main.tex": DOC % ("", "\\bibliography{refs}"), "other/refs.bib": bib("z"),
    }, "thesis/Chapters/Part_1/chapter_2.tex", ["thesis/refs.bib"]),
    "nested-chapter-without-marker": ({
        "main.tex": DOC % ("", "\\input{Chapters/Part_1/chapter_2}\n\\bibliography{refs}"),
        "Chapters/Part_1/chapter_2.tex": "\\chapter{Two}\nText \\cite{}.\n",
        "refs.bib": bib("a"), "Chapters/Part_1/z.bib": bib("z"),
    }, "Chapters/Part_1/chapter_2.tex", ["refs.bib"]),
    "import-subimport": ({
        "main.tex": DOC % ("", "\\import{parts/}{p}"), "parts/p.tex": "\\subimport{deeper/}{d}\n",
        "parts/deeper/d.tex": "\\bibliography{refs}\n", "refs.bib": bib("a"), "parts/z.bib": bib("z"),
    }, "parts/deeper/d.tex", ["refs.bib"]),
    "bibliography-in-the-template-class": ({  # a university's class file names it (pbeza/praca-magisterska)
        "thesis.tex": "\\documentclass[a4paper]{mini}\n\\begin{document}\n\\input{chapters/one}\n\\end{document}\n",
        "mini.cls": ("\\LoadClass{report}\n\\RequirePackage[backend=biber]{biblatex}\n"
                     "\\RequirePackage{minibib}\n\\addbibresource{bibliography.bib}\n"),
        "minibib.sty": "\\addbibresource{extra.bib}\n",
        "chapters/one.tex": "Text \\cite{}.\n", "bibliography.bib": bib("a"), "extra.bib": bib("b"),
        "old/z.bib": bib("z"),
    }, "chapters/one.tex", ["bibliography.bib", "extra.bib"]),
    "macro-defined-in-the-preamble-under-ifFileExists": ({  # the first value that names a file, as TeX takes it
        "thesis.tex": DOC % ("\\input{preamble}", "\\input{chap/intro}"),
        "preamble.tex": ("\\newcommand{\\BibGlobal}{../../library.bib}\n\\newcommand{\\BibLocal}{refs.bib}\n"
                         "\\IfFileExists{\\BibGlobal}\n  {\\newcommand{\\BibResource}{\\BibGlobal}}\n"
                         "  {\\newcommand{\\BibResource}{\\BibLocal}}\n\\addbibresource{\\BibResource}\n"),
        "chap/intro.tex": "Text \\cite{}.\n", "refs.bib": bib("a"), "z.bib": bib("z"),
    }, "chap/intro.tex", ["refs.bib"]),
    "import-folder-given-by-a-macro-and-a-comment-in-the-names": ({
        "thesis.tex": DOC % ("\\usepackage{import}\n\\def \\PATH {.}", "\\import{\\PATH/01_intro/}{01_intro}\n"
                             "\\bibliography{long,%          |\nthesis}"),
        "01_intro/01_intro.tex": "Text \\cite{}.\n", "long.bib": bib("a"), "thesis.bib": bib("b"), "z.bib": bib("z"),
    }, "01_intro/01_intro.tex", ["long.bib", "thesis.bib"]),
    "bibliography-named-through-the-template-class-s-command": ({  # vagnerclementino/dissertacao's ppgccufmg.cls
        "src/thesis.tex": ("\\documentclass{ppgccufmg}\n\\begin{document}\n\\input{chapter/one}\n"
                           "\\ppgccbibliography{../bib/bibliografia}\n\\end{document}\n"),
        "src/ppgccufmg.cls": ("\\LoadClass{report}\n\\newcommand{\\ppgccbibliography}[2][]{%\n  \\setkeys{ufmgbib}{#1}\n"
                              "  \\bibliographystyle{ppgccufmg}\n  \\begingroup\n    \\bibliography{#2}\n  \\endgroup\n}\n"),
        "src/chapter/one.tex": "Text \\cite{}.\n", "bib/bibliografia.bib": bib("a"), "bib/z/z.bib": bib("z"),
    }, "src/chapter/one.tex", ["bib/bibliografia.bib"]),
    "bibliography-named-through-the-preamble-s-commands": ({  # \\def with .bib added, xparse, a name without "bib"
        "main.tex": DOC % ("\\input{setup}\n\\usebibfile{refs}\n\\newcommand\\refs[1]{\\addbibresource{#1}}\n"
                           "\\refs{more.bib}", "Text \\cite{}.\n\\mybibliography*[heading=none]{third}"),
        "setup.tex": ("\\def\\usebibfile#1{\\addbibresource{#1.bib}}\n"
                      "\\NewDocumentCommand\\mybibliography{s o m}{\\addbibresource{#3.bib}\\printbibliography}\n"
                      "% \\newcommand{\\unused}[1]{\\bibliography{#1}}\n"),
        "refs.bib": bib("a"), "third.bib": bib("c"), "more.bib": bib("b"), "z.bib": bib("z"),
    }, "main.tex", ["refs.bib", "more.bib", "third.bib"]),
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_finds_exactly_its_bibliography(tmp_path: Path, layout: str) -> None:
    files, opened, expected = LAYOUTS[layout]
    write(tmp_path, files)
    project = discover(str(tmp_path / opened), env={})
    assert [os.path.relpath(b, tmp_path) for b in project.bib_files] == expected
    assert not project.fallback
    assert "workspace fallback" not in "\n".join(explain(project)) and "NOT FOUND" not in "\n".join(explain(project))


def test_a_root_loop_ends(tmp_path: Path) -> None:
    write(tmp_path, {"a.tex": "% !TEX root = b.tex\nText.\n", "b.tex": "% !TEX root = a.tex\n\\bibliography{r}\n",
                     "r.bib": bib("a")})
    facts = FactsCache(Sources(), CiteMatcher()).facts
    assert find_root_why(str(tmp_path / "a.tex"), facts)[0] == str(tmp_path / "b.tex")
    assert [os.path.basename(b) for b in discover(str(tmp_path / "a.tex")).bib_files] == ["r.bib"]


def test_the_fallback_is_visible_and_explained(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % ("", "Text."), "a.bib": bib("a")})
    project = discover(str(tmp_path / "main.tex"), workspace=str(tmp_path))
    assert project.fallback and project.reason == "workspace fallback: the document names no bibliography"
    assert explain(project)[-1] == "candidates: workspace fallback: the document names no bibliography"


def test_a_missing_bibliography_says_where_it_was_looked_for(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % ("", "\\bibliography{gone}"), "ch/x.bib": bib("a")})
    project = discover(str(tmp_path / "main.tex"), env={"BIBINPUTS": str(tmp_path / "ch")})
    (ref,) = project.references
    assert ref.paths == [] and ref.searched[:2] == [str(tmp_path), str(tmp_path / "ch")]
    assert ref.command == "bibliography" and ref.line == 3 and (ref.start, ref.end) == (0, len("\\bibliography{gone}"))
    assert any(line.startswith("  NOT FOUND: \\bibliography{gone} in main.tex:4") for line in explain(project))


def test_an_included_file_found_nowhere_is_named(tmp_path: Path) -> None:
    """Two chapters of a real thesis were absent from its repository, and nothing said so."""
    write(tmp_path, {"main.tex": DOC % ("\\input{glyphtounicode}", "\\include{ch1/a}\n\\include{ch2/b}\n"
                                                                     "\\input{parts/c}\n\\bibliography{r}"),
                     "ch1/a.tex": "Text.\n", "r.bib": bib("a")})
    lines = explain(discover(str(tmp_path / "main.tex"), env={}))
    assert [line for line in lines if "NOT FOUND" in line] == [
        "  NOT FOUND: \\include{ch2/b} in main.tex", "  NOT FOUND: \\input{parts/c} in main.tex"]


def test_explain_names_the_command_and_file(tmp_path: Path) -> None:
    files, opened, _ = LAYOUTS["subfiles-chapter-alone"]
    write(tmp_path, files)
    lines = explain(discover(str(tmp_path / opened)))
    assert lines[0] == f"root: {tmp_path / 'main.tex'}"
    assert "subfiles" in lines[1]
    assert "  refs.bib  <- \\bibliography{refs} in main.tex:5, found beside the root document" in lines


def test_a_command_the_class_defines_to_name_the_bibliography_is_explained_and_its_body_names_nothing(
        tmp_path: Path) -> None:
    files, opened, _ = LAYOUTS["bibliography-named-through-the-template-class-s-command"]
    write(tmp_path, files)
    project = discover(str(tmp_path / opened), env={})
    (ref,) = project.references  # not the class's \\bibliography{#2}, "not found"
    assert (ref.via, ref.command, ref.name, ref.line) == ("ppgccbibliography", "bibliography", "../bib/bibliografia", 3)
    assert ("  ../bib/bibliografia.bib  <- \\ppgccbibliography{../bib/bibliografia} (a \\bibliography) in thesis.tex:4,"
            " found beside the root document") in explain(project)


CHAPTERBIB = {  # a chemistry thesis by publication (jjengelberts/proefschrift): r01 is another work in each chapter
    "main.tex": DOC.replace("{article}", "{book}") % ("\\usepackage{chapterbib}", "\\include{a/a}\n\\include{b/b}"),
    "a/a.tex": "\\chapter{Aromaticity}\nRing currents \\cite{r01}.\n\\input{a/more}\n\\bibliography{a}\n",
    "a/more.tex": "More \\cite{r02}.\n",
    "b/b.tex": "\\chapter{Indacene}\nA minimum with D2h symmetry \\cite{}.\n\\bibliography{b}\n",
    "a/a.bib": ("@inbook{r01, author={H. C. Longuet-Higgins}, title={Paramagnetic Ring Currents in the Annulenes}}\n"
                "@article{r02, author={R. C. Haddon}, title={Magnetism of the carbon allotropes}}\n"),
    "b/b.bib": ("@article{r01, author={P. Celani}, title={CASPT2 study of the D2h minimum of s-indacene}}\n"
                "@article{r03, author={R. H. Hertwig}, title={Pentalene and indacene geometries}}\n"),
}


def test_chapterbib_each_chapter_cites_from_its_own_bibliography(tmp_path: Path) -> None:
    write(tmp_path, CHAPTERBIB)
    project = discover(str(tmp_path / "b" / "b.tex"), env={})
    assert project.bib_files == [str(tmp_path / "a" / "a.bib"), str(tmp_path / "b" / "b.bib")]
    assert project.bibs_for(str(tmp_path / "b" / "b.tex")) == [str(tmp_path / "b" / "b.bib")]
    assert project.bibs_for(str(tmp_path / "a" / "more.tex")) == [str(tmp_path / "a" / "a.bib")]  # \\input by a
    assert project.bibs_for(str(tmp_path / "main.tex")) == project.bib_files
    assert "  b/b.tex: b/b.bib" in explain(project)
    assert target_bib(project, str(tmp_path / "b" / "b.tex")) == str(tmp_path / "b" / "b.bib")  # a library entry's
    run = subprocess.run([sys.executable, "-m", "texcite", "suggest", str(tmp_path / "b" / "b.tex"), "--line", "1",
                          "--character", str(len("A minimum with D2h symmetry \\cite{")), "--recall", "bm25"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    items = [line.split()[1] for line in run.stdout.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert items == ["r01", "r03"] and "CASPT2 study" in run.stdout and "Annulenes" not in run.stdout


MULTIBIB = {
    "main.tex": DOC % ("\\usepackage{multibib}\n\\newcites{lit,web}{Literatur}{Internetquellen}",
                       "\\input{kapitel/baeume}\n\\bibliographylit{literatur}\n\\bibliography{andere}"),
    "kapitel/baeume.tex": ("Laut \\citelit[S. 89]{knuth} sind B\u00e4ume wichtig.\\nocitelit{cormen}\n"
                           "Eine Datenstruktur mit Zeigern auf Kinder und Geschwister \\citelit{}.\n"),
    "literatur.bib": ("@book{knuth, author={Knuth, Donald}, title={The Art of Computer Programming}}\n"
                      "@book{cormen, author={Cormen, Thomas}, title={Introduction to Algorithms}}\n"
                      "@book{wirth, author={Wirth, Niklaus}, title={Datenstrukturen mit Zeigern: Kinder und Geschwister}}\n"),
    "andere.bib": ("@misc{web, title={Zeigern auf Kinder und Geschwister: Datenstruktur im Netz}}\n"
                   "@misc{doe, title={Webseite}}\n"),
}


def test_multibib_cite_commands_of_newcites_are_citations(tmp_path: Path) -> None:
    # A German thesis cites its literature with \citelit (124 of its 280 citations were not seen).
    write(tmp_path, MULTIBIB)
    chapter = str(tmp_path / "kapitel" / "baeume.tex")
    cache = FactsCache(Sources(), CiteMatcher())
    assert [c.key for c in cache.facts(chapter).cites] == []  # alone, \citelit is an unknown command
    project = discover(chapter, cache.facts, env={})  # reading the root teaches it
    assert project.bib_files == [str(tmp_path / "literatur.bib"), str(tmp_path / "andere.bib")]
    assert [c.key for c in cache.facts(chapter).cites] == ["knuth", "cormen"]
    assert cache.matcher.is_cite("nocitelit") and cache.matcher.is_cite("citepweb")
    run = subprocess.run([sys.executable, "-m", "texcite", "suggest", chapter, "--line", "1", "--character",
                          str(len("Eine Datenstruktur mit Zeigern auf Kinder und Geschwister \\citelit{")),
                          "--recall", "bm25"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    items = [line.split()[1] for line in run.stdout.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert items[0] == "wirth" and items.index("web") > max(map(items.index, ("knuth", "cormen")))  # \bibliography's
    assert ("  \\citelit, \\nocitelit, \\citeplit, ...: literatur.bib" in explain(project)
            and "  the other commands: andere.bib" in explain(project))


def test_a_command_the_project_defines_to_cite_is_a_citation_command(tmp_path: Path) -> None:
    """``\\newcommand{\\inlinecite}[1]{\\footnotesize\\citen{#1}}`` (SciPy's paper: 13 citations in a table were not
    seen); a command whose braces are no key list (two mandatory arguments) is not one."""
    write(tmp_path, {
        "main.tex": DOC % ("\\newcommand{\\mycite}[2][]{\\citep[#1]{#2}}\n\\newcommand{\\two}[2]{\\cite[#1]{#2}}",
                           "\\input{ch}\n\\bibliography{refs}"),
        "ch.tex": "Solvers \\mycite[p.~3]{a} and \\two{see}{b}.\n", "refs.bib": bib("a", "b")})
    cache = FactsCache(Sources(), CiteMatcher())
    discover(str(tmp_path / "ch.tex"), cache.facts, env={})
    assert [c.key for c in cache.facts(str(tmp_path / "ch.tex")).cites] == ["a"]


def test_bibitems_become_entries() -> None:
    text = ("\\begin{thebibliography}{9}\n\\bibitem{x} X. One, \\emph{A title}, 2019.\n% \\bibitem{hidden} no\n"
            "\\bibitem[Two et al.(2020)]{y} Y. Two. Another.\n\\end{thebibliography}\n")
    entries = bibitem_file(text, "/p/main.tex").entries
    assert [(e.key, e.title, e.year, e.line) for e in entries] == [
        ("x", "X. One, A title, 2019.", "2019", 1), ("y", "Y. Two. Another.", "2020", 3)]
    assert entries[1].surnames == ["Two"]


def test_ids_are_aliases_of_the_current_key() -> None:
    new = Entry("new", "article", {"title": "T", "ids": "old1, old2"}, "r.bib", 0)
    taken = Entry("old2", "article", {"title": "Other"}, "r.bib", 5)
    entries, problems = merge_entries([BibFile("r.bib", "d", [new, taken])])
    assert [(e.key, e.cite_key) for e in entries] == [("new", "new"), ("old2", "old2"), ("old1", "new")]
    assert not problems


@pytest.mark.skipif(shutil.which("kpsewhich") is None or not subprocess.run(
    ["kpsewhich", "-var-value", "TEXMFHOME"], capture_output=True, text=True, check=False).stdout.strip(),
    reason="kpsewhich (Debian texlive-binaries + texlive-base) is not installed: the TEXMF path is not tested")
def test_a_personal_bibliography_in_texmfhome_is_found_through_kpsewhich(tmp_path: Path) -> None:
    write(tmp_path, {"home/texmf/bibtex/bib/library.bib": bib("mine"), "doc/main.tex": DOC % ("", "\\bibliography{library}")})
    env = {**os.environ, "TEXMFHOME": str(tmp_path / "home" / "texmf"), "BIBINPUTS": ""}
    project = discover(str(tmp_path / "doc" / "main.tex"), env=env)
    assert project.bib_files == [str(tmp_path / "home/texmf/bibtex/bib/library.bib")]
    assert project.references[0].found_by == "kpsewhich (TEXMF trees)"
    assert kpathsea.find_bib("library.bib", str(tmp_path / "doc"), env) == project.bib_files[0]  # cached answer


def test_cli_project_explains_and_suggest_finds_the_root_two_folders_up(tmp_path: Path) -> None:
    files, opened, _ = LAYOUTS["nested-chapter-without-marker"]
    write(tmp_path, files)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "server")}
    run = subprocess.run([sys.executable, "-m", "texcite", "project", opened], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert f"root: {tmp_path / 'main.tex'}" in run.stdout
    assert "refs.bib  <- \\bibliography{refs} in main.tex:5" in run.stdout
    suggest = subprocess.run([sys.executable, "-m", "texcite", "suggest", opened, "--line", "1", "--character", "11",
                              "--recall", "bm25", "--reranker", "none"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert suggest.returncode == 0, suggest.stderr
    assert suggest.stdout.split()[1] == "a" and "Warning" not in suggest.stderr


def test_cli_without_entries_says_so_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % ("", "Text \\cite{}.\n\\bibliography{gone}")})
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "server")}
    run = subprocess.run([sys.executable, "-m", "texcite", "suggest", "main.tex", "--line", "3", "--character", "11",
                          "--recall", "bm25", "--reranker", "none"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "texcite: error: no bibliography entries for main.tex: 'gone' not found (run `texcite project main.tex`)"]


@pytest.mark.parametrize("marker", [".git", ".latexmkrc", "latexmkrc", ".texlabroot", "texlabroot", "Tectonic.toml"])
def test_a_root_marker_bounds_the_search_for_the_root(tmp_path: Path, marker: str) -> None:
    # Two folders up from the chapter (beyond the marker-less search), beside a project that must not be chosen.
    write(tmp_path, {
        f"a/{marker}" if marker != ".git" else "a/.git/HEAD": "",
        "a/main.tex": DOC % ("", "\\input{x/y/z/ch}\n\\bibliography{refs}"), "a/refs.bib": bib("a"),
        "a/x/y/z/ch.tex": "Text.\n", "other.tex": DOC % ("", "\\input{a/x/y/z/ch}\n\\bibliography{o}"),
        "o.bib": bib("o"),
    })
    project = discover(str(tmp_path / "a/x/y/z/ch.tex"))
    assert project.root == str(tmp_path / "a/main.tex") and project.folder == str(tmp_path / "a")
    assert project.bib_files == [str(tmp_path / "a/refs.bib")]
