"""The cache folder stays bounded: the files of a bib's earlier contents, a project's earlier states and a library
no longer configured are deleted once unused for 30 days, the least recently used first beyond 1 GB, and the
temporary files of cut-short writes after a day; what is in use, the embeddings, the writer's memory and any file
texcite did not name are kept."""

from __future__ import annotations

import os
import threading
import time

import pytest

from texcite import cachefolder
from texcite.bib.store import BibStore
from texcite.cachefolder import keep_tidy, tidy
from texcite.library.index import LibraryIndex
from texcite.retrieval.bm25 import TOKENS_VERSION, analyze_entries
from texcite.retrieval.corpus import Corpora

BIB = """@article{a, title={Photosynthesis in algae}, author={Doe, Jane}, year={2001}}
@book{b, title={Galaxies far away}, author={Roe, Rich}, year={1998}}
"""
DAY = 86400


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def settle() -> None:
    """Wait for the tidy passes that writes started (a late one would see the files this test ages next)."""
    for thread in [t for t in threading.enumerate() if t.name == "texcite-cache-tidy"]:
        thread.join()


def index(cache, bib) -> None:
    """Parse and index ``bib`` as the server does, its cache files written at once, and the tidy they start done."""
    store = BibStore(analyze_entries, cache_directory=str(cache))
    store.cache._writer = None  # write synchronously
    Corpora(store).corpus([str(bib)])
    settle()


def age(path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def names(folder) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_the_files_of_a_bibs_earlier_content_go_after_30_days_unused(tmp_path, cache):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    index(cache, bib)
    earlier = names(cache)
    assert {n.split("-")[0] for n in earlier} == {"bib", "bm25"}
    bib.write_text(BIB.replace("1998", "1999"))  # a save: a new parse and index, the earlier ones never read again
    index(cache, bib)
    current = names(cache) - earlier
    assert len(current) == 2
    for name in earlier:
        age(cache / name, 31)
    for name in current:
        age(cache / name, 29)

    tidy(str(cache))

    assert names(cache) == current


def test_reading_a_file_keeps_it(tmp_path, cache):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    index(cache, bib)
    for name in names(cache):
        age(cache / name, 40)
    index(cache, bib)  # a restart: both files read from the cache, none written
    tidy(str(cache))
    assert len(names(cache)) == 2


def test_the_pack_of_the_library_in_use_stays_and_that_of_one_no_longer_set_goes(tmp_path, cache):
    old, library = tmp_path / "old.bib", tmp_path / "library.bib"
    old.write_text(BIB)
    library.write_text(BIB.replace("algae", "lichens"))
    packs = []
    for files in ([str(old)], [str(library)], [str(library)]):  # the last: a restart, the library read from its pack
        for name in names(cache):
            age(cache / name, 40)
        index = LibraryIndex(analyze_entries, str(cache), TOKENS_VERSION, lambda path: None)
        index.configure(files)
        index.wait()
        index.flush()
        index.close()
        settle()
        packs.append({n for n in names(cache) if n.startswith("library-")})
    assert packs[1] == packs[2] and len(packs[1] - packs[0]) == 1

    tidy(str(cache))

    assert {n for n in names(cache) if n.startswith("library-")} == packs[1] - packs[0]  # bibs: in the pack


def test_beyond_the_budget_the_least_recently_used_go_first(tmp_path, cache, monkeypatch):
    cache.mkdir()
    (cache / "adaptations").mkdir()
    sizes = {f"bib-v2-{'1' * 40}.npz": 5, f"bm25-v2-{'2' * 40}.npz": 4, f"library-v1-{'3' * 40}.pack": 3,
             f"adaptations/{'4' * 40}.npz": 2}
    for days, (name, size) in enumerate(sizes.items()):
        (cache / name).write_bytes(b"x" * size)
        age(cache / name, 10 - days)  # the first is the least recently used
    monkeypatch.setattr(cachefolder, "MAX_BYTES", 6)

    tidy(str(cache))

    assert names(cache) == {f"library-v1-{'3' * 40}.pack", "adaptations"}
    assert names(cache / "adaptations") == {f"{'4' * 40}.npz"}


def test_only_what_texcite_named_and_can_rebuild_is_deleted(tmp_path, cache):
    for folder in ("", "adaptations", "embeddings", "memory"):
        (cache / folder).mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "precious.npz"
    outside.write_bytes(b"mine")
    kept = ["embeddings/minilm.npz", "memory/accepted.jsonl", "notes.txt", f"bib-v2-{'a' * 40}.npz.bak",
            f"adaptations/{'b' * 39}.npz", ".tmp-fresh1234.pack"]
    gone = [f"bib-v2-{'c' * 40}.npz", f"library-v0-{'d' * 40}.pack", f"adaptations/{'e' * 40}.npz",
            ".tmp-abcd1234", "embeddings/.tmp-abcd1234.tmp", "memory/.tmp-x_y12345.jsonl", "adaptations/.tmp-q1.npz"]
    for name in kept + gone:
        (cache / name).write_bytes(b"x")
        age(cache / name, 400)
    age(cache / ".tmp-fresh1234.pack", 0.5)  # a write under way
    link = cache / f"bm25-v2-{'f' * 40}.npz"
    link.symlink_to(outside)
    age(outside, 400)

    tidy(str(cache))

    for name in kept:
        assert (cache / name).exists(), name
    for name in gone:
        assert not (cache / name).exists(), name
    assert link.is_symlink() and outside.read_bytes() == b"mine"


def test_a_write_tidies_the_folder_at_most_once_an_hour(tmp_path, cache):
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    cache.mkdir()
    stale = cache / f"bib-v2-{'0' * 40}.npz"
    stale.write_bytes(b"x")
    age(stale, 31)

    index(cache, bib)  # the parse and the index written: a tidy starts in the background

    assert not stale.exists()
    assert keep_tidy(str(cache), 1 << 20) is None  # tidied within the hour
    assert keep_tidy(None) is None


def test_a_folder_written_to_heavily_is_tidied_within_the_hour(cache, monkeypatch):
    monkeypatch.setattr(cachefolder, "TIDY_AFTER", 300)
    cache.mkdir()
    keep_tidy(str(cache), 100).join()  # the folder's first write in this process: a tidy
    assert keep_tidy(str(cache), 100) is None
    assert keep_tidy(str(cache), 100) is None  # 200 bytes since
    stale = cache / f"library-v1-{'0' * 40}.pack"
    stale.write_bytes(b"x")
    age(stale, 31)

    done = keep_tidy(str(cache), 100)  # 300 bytes written since the last tidy

    assert done is not None
    done.join()
    assert not stale.exists()
