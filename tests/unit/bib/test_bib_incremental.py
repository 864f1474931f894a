"""The on-disk index cache: warm loads skip parsing, corrupt files are ignored, content changes invalidate,
and a changed entry is re-parsed alone with the same result as a full parse."""

from __future__ import annotations

import numpy as np

from texcite.bib.parse import parse_bib
from texcite.bib.store import BibStore
from texcite.retrieval.bm25 import analyze_entries
from texcite.retrieval.corpus import Corpora
from texcite.bib.diskcache import DiskCache, cache_dir

BIB = """@string{nips = "Advances in Neural Information Processing Systems"}

@article{smith2020attention,
  author = {Smith, Anna and Doe, John},
  title = {Attention over citation graphs},
  journal = nips,
  year = {2020},
  abstract = {We rank candidate references with attention over the citation graph.}
}

@inproceedings{lee2019bm25,
  author = {Lee, Kim},
  title = {Revisiting {BM25} for scholarly search},
  booktitle = {Proc. SIGIR},
  year = {2019}
}

@book{garcia2015,
  author = {Garc{\\'i}a, Rosa},
  title = {Information Retrieval},
  year = {2015}
}
"""


def _store(tmp_path, tokens_version: int = 0) -> BibStore:
    store = BibStore(analyze_entries, cache_directory=str(tmp_path / "cache"), tokens_version=tokens_version)
    store.cache._writer = None  # write synchronously so the next store sees the files
    return store


def test_warm_load_returns_identical_entries_without_parsing(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    cold = _store(tmp_path)
    first = Corpora(cold).corpus([str(bib)])
    assert cold.parser.stats["full_parses"] == 1

    warm = _store(tmp_path)
    second = Corpora(warm).corpus([str(bib)])
    assert warm.parser.stats == {"full_parses": 0, "block_parses": 0, "cache_loads": 1}
    assert warm.cache.stats["hits"] == 2  # the parsed file and its BM25 index
    assert second.entries == first.entries
    assert second.entries[0].fields["journal"] == "Advances in Neural Information Processing Systems"
    q = "attention citation graph"
    assert np.allclose(second.bm25.scores(q), first.bm25.scores(q))


def test_parses_cached_with_other_tokens_are_not_used(tmp_path):
    # A new tokenizer (e.g. more stopwords) bumps TOKENS_VERSION: the parses cached by the old one hold old tokens.
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    Corpora(_store(tmp_path, tokens_version=1)).corpus([str(bib)])
    newer = _store(tmp_path, tokens_version=2)
    Corpora(newer).corpus([str(bib)])
    assert newer.parser.stats["full_parses"] == 1 and newer.parser.stats["cache_loads"] == 0
    again = _store(tmp_path, tokens_version=2)
    Corpora(again).corpus([str(bib)])
    assert again.parser.stats == {"full_parses": 0, "block_parses": 0, "cache_loads": 1}


def test_corrupt_cache_files_are_ignored_and_rebuilt(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    expected = Corpora(_store(tmp_path)).corpus([str(bib)]).entries
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 2
    for i, f in enumerate(files):
        f.write_bytes(b"\x80\x05garbage" if i == 0 else b"")
    store = _store(tmp_path)
    corpus = Corpora(store).corpus([str(bib)])
    assert corpus.entries == expected
    assert store.cache.stats["corrupt"] >= 1
    assert store.parser.stats["full_parses"] == 1
    assert corpus.bm25.top("bm25 scholarly search", 1)[0][0] == 1


def test_content_change_invalidates_and_reparses_only_the_changed_entry(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    store = _store(tmp_path)
    Corpora(store).corpus([str(bib)])
    changed = BIB.replace("Revisiting {BM25}", "Revisiting {BM25} and dense retrieval\n  ")
    bib.write_text(changed)
    store.invalidate(str(bib))
    corpus = Corpora(store).corpus([str(bib)])
    assert store.parser.stats == {"full_parses": 1, "block_parses": 1, "cache_loads": 0}
    full = parse_bib(changed, str(bib))
    assert corpus.files[0].entries == full.entries  # same fields and lines (garcia2015 moved down a line)
    assert corpus.files[0].diagnostics == full.diagnostics
    assert corpus.bm25.top("dense retrieval", 1)[0][0] == 1

    fresh = _store(tmp_path)  # a new process sees the new content, not the old cache
    assert Corpora(fresh).corpus([str(bib)]).entries == full.entries


def test_same_content_under_another_path_keeps_its_own_path(tmp_path):
    a, b = tmp_path / "a.bib", tmp_path / "b.bib"
    a.write_text(BIB)
    b.write_text(BIB)
    _store(tmp_path).get(str(a))
    store = _store(tmp_path)
    loaded = store.get(str(b))
    assert store.parser.stats["cache_loads"] == 1
    assert {e.path for e in loaded.entries} == {str(b)}


def test_cache_dir_precedence(tmp_path):
    env = {"XDG_CACHE_HOME": "/x", "TEXCITE_CACHE_DIR": "/t"}
    assert cache_dir("/s", env) == "/t"
    assert cache_dir("/s", {"XDG_CACHE_HOME": "/x"}) == "/s"
    assert cache_dir("", {"XDG_CACHE_HOME": "/x"}) == "/x/texcite"
    assert cache_dir("", {}).endswith("/.cache/texcite")


def test_unwritable_cache_directory_only_costs_speed(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = DiskCache(str(blocker / "sub"), background=False)
    cache.store("bib", "k", {"x": 1})
    assert cache.stats["write_errors"] == 1 and cache.load("bib", "k") is None


def test_a_planted_pickle_never_runs_and_damaged_files_are_rebuilt(tmp_path):
    """Cache files hold arrays and JSON only: a pickle put in their place is ignored, as is a flipped byte or a
    FIFO, and the cache folder and files are private whatever the umask."""
    import os
    import pickle
    import stat

    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    old_umask = os.umask(0)
    try:
        expected = Corpora(_store(tmp_path)).corpus([str(bib)]).entries
    finally:
        os.umask(old_umask)
    cache = tmp_path / "cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = sorted(cache.glob("*.npz"))
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    files[0].write_bytes(pickle.dumps(Exploit()))
    damaged = bytearray(files[1].read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # inside a member: its CRC-32 no longer matches
    files[1].write_bytes(bytes(damaged))
    store = _store(tmp_path)
    assert Corpora(store).corpus([str(bib)]).entries == expected
    assert not marker.exists() and store.cache.stats["corrupt"] == 2
    for f in files:
        f.unlink()
        os.mkfifo(f)  # a special file where a cache file was: ignored, never waited on
    store = _store(tmp_path)
    assert Corpora(store).corpus([str(bib)]).entries == expected
    assert store.cache.stats["corrupt"] == 2
