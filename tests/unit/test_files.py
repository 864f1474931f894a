"""Reading the user's files: regular files only, under a size cap — a device, a FIFO or a huge file named by a
document costs one message, never a hang, all of memory, or the other files' entries."""

from __future__ import annotations

import os

import pytest

from texcite.bib.incremental import BibParser
from texcite.files import Sources, UnreadableFile, read_bytes, read_disk
from texcite.latex.cite import CiteMatcher
from texcite.latex.project import ProjectIndex
from texcite.retrieval.bm25 import analyze_entries


def test_special_and_oversized_files_are_refused(tmp_path):
    fifo = tmp_path / "pipe.bib"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_bytes(str(fifo), 1 << 20)  # returns at once: a FIFO is never opened for a blocking read
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_bytes("/dev/zero", 1 << 20)
    big = tmp_path / "big.tex"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(UnreadableFile, match="over the"):
        read_bytes(str(big), 1024)
    assert read_disk(str(fifo)) is None and read_disk("/dev/zero") is None


def test_a_fifo_bib_is_a_diagnostic(tmp_path):
    fifo = tmp_path / "refs.bib"
    os.mkfifo(fifo)
    parsed = BibParser(analyze_entries).read(str(fifo))
    assert not parsed.bib.entries
    assert "not a regular file" in parsed.bib.diagnostics[0].message


def test_a_document_naming_devices_keeps_its_good_files(tmp_path):
    (tmp_path / "refs.bib").write_text("@article{good, title={Good}}\n")
    os.mkfifo(tmp_path / "pipe.tex")
    main = tmp_path / "main.tex"
    main.write_text("\\documentclass{article}\n\\begin{document}\n\\input{/dev/zero}\n\\input{pipe}\n"
                    "% !TEX root = /dev/zero\n\\bibliography{refs}\n\\end{document}\n")
    project = ProjectIndex(Sources(), CiteMatcher()).project(str(main))
    assert project.bib_files == [str(tmp_path / "refs.bib")]
    assert project.tex_files == [str(main)]


def test_the_size_caps_are_settings(tmp_path):
    from texcite.engine import Engine
    from texcite.settings import parse_settings

    entries = "".join(f"@article{{k{i}, title={{Title {i}}}, abstract={{{'words ' * 200}}}}}\n" for i in range(1000))
    (tmp_path / "refs.bib").write_text(entries)  # ~1.3 MB
    main = tmp_path / "main.tex"
    main.write_text("\\documentclass{article}\n\\begin{document}\nText \\cite{}.\n\\bibliography{refs}\n\\end{document}\n")
    engine = Engine(parse_settings({"files": {"maxBibSize": 1}, "recall": {"mode": "bm25"},
                                    "cacheDir": str(tmp_path / "cache")}))
    corpus = engine.corpus(str(main))
    assert len(corpus) == 0 and "over the 1 MB limit" in corpus.files[0].diagnostics[0].message
    engine.configure(parse_settings({"files": {"maxBibSize": 2}, "recall": {"mode": "bm25"},
                                     "cacheDir": str(tmp_path / "cache")}))
    assert len(engine.corpus(str(main))) == 1000
    engine.close()
