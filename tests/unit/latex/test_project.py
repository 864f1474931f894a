"""Which .bib files a document uses, on small projects written to a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from texcite.files import Sources
from texcite.latex.cite import CiteMatcher
from texcite.latex.project import FactsCache, ProjectIndex, discover
from texcite.latex.roots import find_root_why

DOC = "\\documentclass{article}\n\\begin{document}\n%s\n\\end{document}\n"
BIB = "@article{k, title = {T}}\n"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def bibs(project) -> list[str]:
    """Bib files relative to the project root's folder, in discovery order."""
    base = os.path.dirname(project.root)
    return [os.path.relpath(b, base) for b in project.bib_files]


@pytest.mark.parametrize("command", ["\\bibliography{a,b}", "\\bibliography{a.bib, b.bib}", "\\bibliography{ a , b.bib }"])
def test_bibliography_list(tmp_path: Path, command: str) -> None:
    write(tmp_path, {"main.tex": DOC % command, "a.bib": BIB, "b.bib": BIB, "unused.bib": BIB})
    project = discover(str(tmp_path / "main.tex"))
    assert bibs(project) == ["a.bib", "b.bib"]
    assert not project.fallback
    assert [os.path.splitext(r.name)[0] for r in project.references] == ["a", "b"]


@pytest.mark.parametrize("command", ["\\addbibresource{x.bib}", "\\addbibresource[location=local]{x.bib}",
                                     "\\addbibresource[location=local, label=x]{sub/x.bib}"])
def test_addbibresource(tmp_path: Path, command: str) -> None:
    name = "sub/x.bib" if "sub/" in command else "x.bib"
    write(tmp_path, {"main.tex": "\\usepackage{biblatex}\n" + command + "\n" + DOC % "", name: BIB})
    assert bibs(discover(str(tmp_path / "main.tex"))) == [name]


@pytest.mark.parametrize(
    "include,child",
    [
        ("\\input{chapters/one}", "chapters/one.tex"),
        ("\\input{chapters/one.tex}", "chapters/one.tex"),
        ("\\input chapters/one", "chapters/one.tex"),
        ("\\include{chapters/one}", "chapters/one.tex"),
        ("\\subfile{chapters/one}", "chapters/one.tex"),
        ("\\import{chapters/}{one}", "chapters/one.tex"),
        ("\\subimport{chapters/}{one}", "chapters/one.tex"),
    ],
)
def test_bib_named_in_an_included_file(tmp_path: Path, include: str, child: str) -> None:
    write(tmp_path, {"main.tex": DOC % include, child: "Text.\n\\bibliography{refs}\n", "refs.bib": BIB})
    project = discover(str(tmp_path / "main.tex"))
    assert bibs(project) == ["refs.bib"]
    assert str(tmp_path / child) in project.tex_files


def test_nested_subimport_resolves_relative_to_the_importing_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tex": DOC % "\\import{parts/}{p}",
        "parts/p.tex": "\\subimport{deeper/}{d}\n",
        "parts/deeper/d.tex": "\\bibliography{refs}\n",
        "refs.bib": BIB,
    })
    project = discover(str(tmp_path / "main.tex"))
    assert str(tmp_path / "parts/deeper/d.tex") in project.tex_files
    assert bibs(project) == ["refs.bib"]


def test_magic_root_comment(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tex": DOC % "\\input{chapters/intro}\n\\bibliography{refs}",
        "chapters/intro.tex": "% !TEX root = ../main.tex\n\\section{Intro}\nText \\cite{}.\n",
        "refs.bib": BIB,
    })
    project = discover(str(tmp_path / "chapters/intro.tex"))
    assert project.root == str(tmp_path / "main.tex")
    assert bibs(project) == ["refs.bib"]
    assert str(tmp_path / "chapters/intro.tex") in project.tex_files


def test_magic_root_variants(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "\\bibliography{refs}", "refs.bib": BIB,
                     "c.tex": "%!tex root=main.tex\nText.\n"})
    assert find_root_why(str(tmp_path / "c.tex"), FactsCache(Sources(), CiteMatcher()).facts)[0] == str(tmp_path / "main.tex")


def test_chapter_without_magic_comment_found_through_the_workspace(tmp_path: Path) -> None:
    write(tmp_path, {
        "paper.tex": DOC % "\\input{chapters/intro}\n\\bibliography{refs}",
        "other.tex": DOC % "\\bibliography{other}",
        "chapters/intro.tex": "\\section{Intro}\nText.\n",
        "refs.bib": BIB,
        "other.bib": BIB,
    })
    project = discover(str(tmp_path / "chapters/intro.tex"), workspace=str(tmp_path))
    assert project.root == str(tmp_path / "paper.tex")
    assert bibs(project) == ["refs.bib"]


def test_chapter_without_magic_comment_finds_the_root_in_the_parent_folder(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tex": DOC % "\\input{chapters/intro}\n\\bibliography{refs}",
        "chapters/intro.tex": "\\section{Intro}\nText.\n",
        "refs.bib": BIB,
    })
    project = discover(str(tmp_path / "chapters/intro.tex"))
    assert project.root == str(tmp_path / "main.tex")
    assert bibs(project) == ["refs.bib"]


def test_bibinputs_from_env(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write(tmp_path, {"doc/main.tex": DOC % "\\bibliography{library}", "shared/library.bib": BIB})
    project = discover(str(tmp_path / "doc/main.tex"), env={"BIBINPUTS": f"{shared}//{os.pathsep}"})
    assert project.bib_files == [str(shared / "library.bib")]
    missing = discover(str(tmp_path / "doc/main.tex"), env={})
    assert missing.bib_files == [] and missing.references[0].path is None


def test_a_bib_beside_the_document_wins_over_bibinputs(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "\\bibliography{library}", "library.bib": BIB, "shared/library.bib": BIB})
    project = discover(str(tmp_path / "main.tex"), env={"BIBINPUTS": str(tmp_path / "shared")})
    assert project.bib_files == [str(tmp_path / "library.bib")]


def test_no_bibliography_named_uses_every_bib_in_the_workspace(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "Text.", "a.bib": BIB, "refs/b.bib": BIB, ".git/c.bib": BIB,
                     "node_modules/d.bib": BIB})
    project = discover(str(tmp_path / "main.tex"), workspace=str(tmp_path))
    assert project.fallback
    assert sorted(bibs(project)) == ["a.bib", os.path.join("refs", "b.bib")]


def test_missing_bib_is_reported(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "Text.\n\\bibliography{present,absent}", "present.bib": BIB})
    project = discover(str(tmp_path / "main.tex"))
    assert bibs(project) == ["present.bib"]
    assert not project.fallback
    absent = [r for r in project.references if r.name == "absent"]
    assert [(r.source, r.line, r.name, r.path) for r in absent] == [(str(tmp_path / "main.tex"), 3, "absent", None)]
    assert absent[0].searched[0] == str(tmp_path)  # where it was looked for, for the diagnostic


def test_commented_bibliography_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "% \\bibliography{old}\n\\bibliography{new}", "old.bib": BIB, "new.bib": BIB})
    assert bibs(discover(str(tmp_path / "main.tex"))) == ["new.bib"]


def test_input_loop_ends(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tex": DOC % "\\input{a}",
        "a.tex": "\\input{b}\n",
        "b.tex": "\\input{a}\n\\input{main}\n\\bibliography{refs}\n",
        "refs.bib": BIB,
    })
    project = discover(str(tmp_path / "main.tex"))
    assert sorted(os.path.basename(f) for f in project.tex_files) == ["a.tex", "b.tex", "main.tex"]
    assert bibs(project) == ["refs.bib"]


def test_editor_buffers_win_over_disk(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "\\bibliography{disk}", "disk.bib": BIB, "buffer.bib": BIB})
    main = str(tmp_path / "main.tex")
    unsaved_chapter = str(tmp_path / "new.tex")
    buffers = {main: DOC % "\\input{new}", unsaved_chapter: "\\bibliography{buffer}\n"}

    class Buffers(Sources):
        def stamp(self, path: str):
            return ("buffer",) if path in buffers else super().stamp(path)

        def read(self, path: str) -> str | None:
            return buffers[path] if path in buffers else super().read(path)

    project = discover(main, FactsCache(Buffers(), CiteMatcher()).facts)
    assert bibs(project) == ["buffer.bib"]
    assert unsaved_chapter in project.tex_files


def test_stale_root_still_scans_the_file_itself(tmp_path: Path) -> None:
    write(tmp_path, {"main.tex": DOC % "\\bibliography{a}", "a.bib": BIB, "b.bib": BIB,
                     "orphan.tex": "% !TEX root = main.tex\n\\bibliography{b}\n"})
    project = discover(str(tmp_path / "orphan.tex"))
    assert project.root == str(tmp_path / "main.tex")
    assert bibs(project) == ["a.bib", "b.bib"]


def test_example_paper_chapters_find_the_bibliography() -> None:
    paper = Path(__file__).resolve().parents[3] / "examples" / "paper"
    for chapter in ("intro", "method"):
        project = discover(str(paper / "chapters" / f"{chapter}.tex"))
        assert project.root == str(paper / "main.tex")
        assert project.bib_files == [str(paper / "refs.bib")]


class CountingSources(Sources):
    """The disk, with edits held in memory as an editor buffer would (a new stamp per edit); counts reads."""

    def __init__(self) -> None:
        self.buffers: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.reads: list[str] = []

    def edit(self, path: str, text: str) -> None:
        self.buffers[path] = text
        self.versions[path] = self.versions.get(path, 0) + 1

    def stamp(self, path: str):
        return ("buffer", self.versions[path]) if path in self.buffers else super().stamp(path)

    def read(self, path: str) -> str | None:
        self.reads.append(path)
        return self.buffers[path] if path in self.buffers else super().read(path)


def book(tmp_path: Path, chapters: int = 5) -> Path:
    (tmp_path / "refs.bib").write_text("@article{a, title={A}}\n@article{b, title={B}}\n")
    for i in range(chapters):
        (tmp_path / f"ch{i}.tex").write_text(f"\\chapter{{Chapter {i}}}\nText \\cite{{a}} and \\citep{{a,b}}.\n")
    main = tmp_path / "main.tex"
    main.write_text(DOC % "".join(f"\\input{{ch{i}}}\n" for i in range(chapters)))
    return main


def test_an_edit_rescans_one_file_and_keeps_the_project(tmp_path: Path) -> None:
    main = book(tmp_path)
    sources = CountingSources()
    index = ProjectIndex(sources, CiteMatcher())
    chapter = str(tmp_path / "ch2.tex")
    first = index.project(chapter)
    assert len(first.tex_files) == 6 and bibs(first) == ["refs.bib"]
    sources.reads.clear()
    sources.edit(chapter, (tmp_path / "ch2.tex").read_text() + "More text \\cite{b}.\n")
    assert index.project(chapter) is first  # same includes and bibliographies: the graph is kept
    assert sources.reads == [chapter]  # only the edited chapter was read (and scanned) again
    sources.edit(chapter, "\\input{extra}\n")  # the structure changed: the graph is walked again
    (tmp_path / "extra.tex").write_text("\\cite{a}\n")
    assert str(tmp_path / "extra.tex") in index.project(chapter).tex_files
    assert main


def test_a_project_past_the_file_limit_says_so(tmp_path: Path) -> None:
    from texcite.latex import graph as project_module  # where the include graph is walked

    (tmp_path / "refs.bib").write_text("@article{a, title={A}}\n")
    for i in range(5):
        (tmp_path / f"f{i}.tex").write_text("x\n")
    main = tmp_path / "main.tex"
    main.write_text(DOC % ("".join(f"\\input{{f{i}}}\n" for i in range(5)) + "\\bibliography{refs}"))
    limit, project_module.MAX_FILES = project_module.MAX_FILES, 3
    try:
        assert discover(str(main)).truncated
    finally:
        project_module.MAX_FILES = limit
    assert not discover(str(main)).truncated
