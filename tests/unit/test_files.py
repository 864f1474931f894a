"""Reading the user's files: regular files only, under a size cap — a device, a FIFO or a huge file named by a
document costs one message, never a hang, all of memory, or the other files' entries."""

from __future__ import annotations

import os

import pytest

from texcite.bib.incremental import BibParser
from texcite.files import Sources, UnreadableFile, decode_text, read_bytes, read_disk
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


UKRAINIAN = "Перколяційна поведінка провідності композитів описана в роботі \\cite{}.\n"


GREEK = "Τα δέντρα απόφασης είναι δυαδικά δέντρα που ταξινομούν τα δεδομένα \\cite{}.\n"


@pytest.mark.parametrize("encoding, name", [("cp1251", "Windows-1251"), ("koi8-r", "KOI8-R"),
                                            ("iso8859-7", "ISO-8859-7 (Greek)")])
def test_a_cyrillic_or_greek_8_bit_file_is_read_as_such(encoding: str, name: str) -> None:
    """A Ukrainian thesis in Windows-1251: its pairs of bytes that happen to be UTF-8 ('Кі' is 0xCA 0xB3) made it
    read as UTF-8 with 97,778 characters replaced, every Cyrillic title of its .bib lost; a Greek thesis's chapters
    in ISO-8859-7 (declared in the root only) read as Cyrillic."""
    text = {"cp1251": UKRAINIAN, "koi8-r": UKRAINIAN.replace("і", "и"), "iso8859-7": GREEK}[encoding]  # KOI8-R: no і
    assert decode_text(text.encode(encoding)) == (text, f"File is not valid UTF-8; it was read as {name}.", 0)
    declared = "\\usepackage[cp1251]{inputenc}\n" + UKRAINIAN
    assert decode_text(declared.encode("cp1251")) == (declared, None, 0)  # as the file says: nothing to warn of


def test_western_8_bit_text_and_utf_8_with_a_bad_byte_stay_what_they_were() -> None:
    german = "Die Größe der Übergänge \\cite{müller}.\n"
    assert decode_text(german.encode("latin-1"))[:2] == (german, "File is not valid UTF-8; it was read as Latin-1.")
    assert decode_text("“Größe” – \n".encode("cp1252"))[0] == "“Größe” – \n"
    damaged = "Größe ".encode() * 20 + b"\xff" + "Übergänge".encode()
    assert decode_text(damaged)[0] == "Größe " * 20 + "\ufffdÜbergänge"
