"""The library's own cache (``library.cache``): a restarted index reads the library back from its pack and ranks,
matches typed text and adds entries exactly as the library built from its files; a damaged pack is ignored and the
library built again (then packed anew); a library file changed since — even keeping its time and size — is read
again, never served from the old pack, and re-parses only its changed entries."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from texcite.engine import Engine
from texcite.library.index import LibraryIndex
from texcite.library.packed import PackedLibrary
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries, tokenize
from texcite.retrieval.corpus import Corpus
from texcite.settings import Settings
from test_cache_folder import settle

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "paper"
LIBRARY = r"""@string{jml = {Journal of Machine Learning}}
@proceedings{icml2019,
  title = {Proceedings of the 36th International Conference on Machine Learning},
  year = {2019},
}
@inproceedings{smith2019sgd,
  author = {Smith, Anna and M{\"u}ller, J{\"o}rg and van der Berg, Piet},
  title = {Stochastic Gradient Descent: {Rigid} Bodies and the Noise},
  crossref = {icml2019},
  ids = {smith2019old},
  doi = {10.1000/SGD.2019},
  abstract = {We study noise in stochastic gradient descent for rigid body dynamics.},
}
@article{Nori_2020,
  author = {Nori, Ken and {The texcite developers}},
  title = {Términos y Œuvres: full-width ＡＢＣ tokens},
  journal = jml,
  year = {2020},
  keywords = {retrieval, ranking},
}
@xdata{shared,
  publisher = {Gardens Press},
}
@book{noriega1999,
  author = {Noriega, Luz},
  title = {On Gardens and Flowers},
  xdata = {shared},
  year = {1999},
}
"""
CSL = [{"id": "vaswani_attention_2017", "type": "paper-conference", "title": "Attention Is All You Need",
        "author": [{"family": "Vaswani", "given": "Ashish"}], "issued": {"date-parts": [[2017]]},
        "container-title": "Advances in Neural Information Processing Systems"},
       {"id": "smith2019sgd", "type": "book", "title": "A duplicate key"}]
QUERIES = ["stochastic gradient descent noise", "gardens flowers", "attention transformer", "términos œuvres abc",
           "rigid body", "nothing matches this"]
TYPED = ["", "smith", "sm", "nori", "müll", "berg", "rigid", "2019", "sgd", "vasw", "the", "zzz", "s2019o"]


def _files(tmp_path) -> list[str]:
    bib, csl = tmp_path / "library.bib", tmp_path / "library.json"
    bib.write_text(LIBRARY)
    csl.write_text(json.dumps(CSL))
    return [str(bib), str(csl)]


def _index(tmp_path, files, refuse=lambda path: None) -> LibraryIndex:
    index = LibraryIndex(analyze_entries, str(tmp_path / "cache"), TOKENS_VERSION, refuse)
    index.configure(files)
    return index


def _packs(tmp_path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("library-*.pack"))


def _built(tmp_path, files) -> tuple[LibraryIndex, Corpus]:
    """An index that built the library from its files, and wrote its pack (and the tidy pass its writes started is
    done: a late one would see the pack a test damages next)."""
    index = _index(tmp_path, files)
    corpus = index.wait()
    index.flush()
    settle()
    assert isinstance(corpus, Corpus) and len(_packs(tmp_path)) == 1
    return index, corpus


def test_a_restarted_index_reads_the_library_back_as_built(tmp_path):
    files = _files(tmp_path)
    built, fresh = _built(tmp_path, files)
    again = _index(tmp_path, files)
    packed = again.indexed()
    assert isinstance(packed, PackedLibrary)
    assert again.typed_ready(packed)  # its typed-text index came with it
    assert list(packed.entries) == fresh.entries and len(packed) == len(fresh) == 8
    assert dict(packed.by_key) == fresh.by_key and packed.entries[-3:] == fresh.entries[-3:]
    assert packed.signature == fresh.signature
    assert again.problems == built.problems and any("offered as 'smith2019sgd_2'" in p.message for p in again.problems)
    assert packed.helpers.tolist() == fresh.helpers.tolist() and packed.helpers.any()
    for query in QUERIES:
        tokens = tokenize(query)
        weights = np.linspace(0.5, 2.0, len(tokens))
        assert np.array_equal(packed.bm25.weighted_scores(tokens, weights), fresh.bm25.weighted_scores(tokens, weights))
        assert np.array_equal(packed.bm25.idf(tokens), fresh.bm25.idf(tokens))
    for typed in TYPED:
        assert np.array_equal(packed.typed.tiers(typed), fresh.typed.tiers(typed)), typed
    assert again.ref("smith2019old") == built.ref("smith2019old") is not None  # an old key (biblatex ids)
    assert os.stat(_packs(tmp_path)[0]).st_mode & 0o777 == 0o600
    built.close()
    again.close()


def _entry(text: str, key: str) -> str:
    return re.search(r"@\w+\{" + re.escape(key) + r",.*?\n\}\n", text, re.S).group(0)


@pytest.mark.parametrize("recall", ["bm25", "hybrid"])
def test_the_engine_suggests_and_adds_the_same_from_the_pack(tmp_path, recall):
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "paper"))
    bib = project / "refs.bib"
    text = bib.read_text()
    moved = [_entry(text, key) for key in ("okafor2019termweighting", "lowe2015foundations")]
    bib.write_text(text.replace(moved[0], "").replace(moved[1], ""))
    library = tmp_path / "library.bib"
    library.write_text(text[:text.index("@proceedings")] + "".join(moved))
    method = project / "chapters" / "method.tex"
    cite = "\\citep{okafor2019termweighting,lowe2015foundations}"
    source = method.read_text()
    offset = source.index(cite) + len("\\citep{")
    settings = Settings().replace(recall_mode=recall, cache_dir=str(tmp_path / "cache"),
                                  library_files=(str(library),))

    def run() -> tuple[list, list, object]:
        engine = Engine(settings)
        try:
            lists = []
            for typed in ("", "Okaf", "low"):
                document = source.replace(cite, "\\citep{" + typed + "}")
                lists.append(engine.suggest(str(method), document, offset + len(typed)).suggestions)
            item = next(s for s in lists[0] if s.library is not None)
            added = engine.library_addition(str(method), item.library, item.entry.key)
            served = type(engine.library.current())
            engine.library.flush()
            return lists, [added], served
        finally:
            engine.close()

    first, first_added, first_served = run()
    again, again_added, again_served = run()
    assert (first_served, again_served) == (Corpus, PackedLibrary)
    assert {s.stage for s in first[0]} == {recall}
    assert again == first and again_added == first_added
    assert first[1][0].entry.key == "okafor2019termweighting" and first[2][0].entry.key == "lowe2015foundations"
    assert first_added[0] is not None and first_added[0].text.strip() in {m.strip() for m in moved}


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _huge(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(1900 << 20)  # sparse: 1.9 GB long, refused by its size before a byte is read


DAMAGE = {
    "a flipped byte": _flip,
    "cut short": lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
    "another header": lambda p: p.write_bytes(p.read_bytes().replace(b'"version":1', b'"version":9', 1)),
    "garbage": lambda p: p.write_bytes(os.urandom(4096)),
    "empty": lambda p: p.write_bytes(b""),
    "a FIFO": _fifo,  # never waited on
    "huge": _huge,
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_pack_is_ignored_and_the_library_built_again(tmp_path, damage, caplog):
    files = _files(tmp_path)
    built, fresh = _built(tmp_path, files)
    DAMAGE[damage](_packs(tmp_path)[0])
    caplog.set_level(logging.INFO)
    index = _index(tmp_path, files)
    corpus = index.wait()
    assert isinstance(corpus, Corpus) and corpus.entries == fresh.entries
    assert "ignoring library cache" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no traceback: a note in the log
    index.flush()  # packed anew
    again = _index(tmp_path, files)
    assert isinstance(again.indexed(), PackedLibrary) and list(again.indexed().entries) == fresh.entries
    for each in (built, index, again):
        each.close()


def test_a_library_file_changed_since_is_read_again(tmp_path):
    files = _files(tmp_path)
    built, _ = _built(tmp_path, files)
    bib = Path(files[0])
    before = os.stat(bib)
    changed = LIBRARY.replace("On Gardens and Flowers", "On Meadows and Flowers")  # the same size
    bib.write_text(changed)
    os.utime(bib, ns=(before.st_atime_ns, before.st_mtime_ns))  # its time kept too, as ``cp -p`` would
    assert (os.stat(bib).st_size, os.stat(bib).st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    index = _index(tmp_path, files)
    corpus = index.wait()
    assert isinstance(corpus, Corpus) and corpus.by_key["noriega1999"].title == "On Meadows and Flowers"
    built.close()
    index.close()


def test_a_change_after_a_start_from_the_pack_reparses_only_the_changed_entry(tmp_path):
    files = _files(tmp_path)
    built, _ = _built(tmp_path, files)
    index = _index(tmp_path, files)
    assert isinstance(index.indexed(), PackedLibrary)
    bib = Path(files[0])
    bib.write_text(LIBRARY.replace("On Gardens and Flowers", "On Quokkas"))
    os.utime(bib, ns=(1, 1))  # another stamp even within the clock's resolution
    corpus = index.wait()
    assert corpus.by_key["noriega1999"].title == "On Quokkas"
    assert corpus.bm25.top("quokkas", 1)[0][0] == [e.key for e in corpus.entries].index("noriega1999")
    assert index.store.parser.stats["full_parses"] == 0 and index.store.parser.stats["block_parses"] == 1
    built.close()
    index.close()


def test_a_pack_is_not_served_to_a_client_refused_the_files(tmp_path):
    files = _files(tmp_path)
    built, _ = _built(tmp_path, files)
    index = _index(tmp_path, files, refuse=lambda path: "outside the workspace folders")
    assert len(index.wait()) == 0
    assert len(index.problems) == 2 and all("outside the workspace folders" in p.message for p in index.problems)
    built.close()
    index.close()


def test_a_library_closed_right_after_its_index_is_built_leaves_its_pack(tmp_path):
    """A server stopped a few seconds after indexing 50,000 entries lost the pack being written (the process exits at
    once): the next start indexed them again (38 s). Here the pack's write takes a moment."""
    files = _files(tmp_path)
    index = LibraryIndex(analyze_entries, str(tmp_path / "cache"), TOKENS_VERSION, lambda path: None)
    written = threading.Event()
    save = index.cache.save
    index.cache.save = lambda *args: (written.wait(), save(*args))[1]  # a slow disk
    index.configure(files)
    assert isinstance(index.wait(), Corpus)
    threading.Timer(0.3, written.set).start()
    index.close()  # at once: its pack is queued or being written
    assert len(_packs(tmp_path)) == 1
    again = _index(tmp_path, files)
    assert isinstance(again.indexed(), PackedLibrary)
    again.close()
