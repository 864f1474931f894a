"""Every file texcite keeps in its cache folder (parsed bibs, BM25 indexes, embeddings) is validated and bounded:
damaged vectors are embedded again, a huge file is refused by its size before a byte is read, a special file is
never waited on, the folders are 0700 and the files 0600 whatever the umask, and a non-finite score never reaches
anyone as a relevance."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from texcite.bib.store import BibStore
from texcite.engine import Engine
from texcite.retrieval.bm25 import analyze_entries
from texcite.retrieval.corpus import Corpora
from texcite.retrieval.embeddings.cache import EmbeddingCache
from texcite.retrieval.fusion import relevance
from texcite.retrieval.select import join, shortlist
from texcite.retrieval.typed import TypedIndex
from texcite.settings import Settings
from test_cache_folder import settle
from test_hybrid import BIB, project  # the paraphrase project: its best entry shares no word with the text

HUGE = 1900 << 20  # a sparse file: 1.9 GB long, nothing on disk


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache folder of this test (the session's shared one is overridden), two levels below existing ones."""
    folder = tmp_path / "home" / ".cache" / "texcite"
    monkeypatch.setenv("TEXCITE_CACHE_DIR", str(folder))
    return folder


def embeddings_file(cache) -> str:
    [name] = os.listdir(cache / "embeddings")
    return str(cache / "embeddings" / name)


def test_nan_vectors_in_the_embedding_cache_are_embedded_again(tmp_path, cache):
    path, text, offset = project(tmp_path)
    engine = Engine(Settings(), workspace=str(tmp_path))
    clean = engine.suggest(path, text, offset)
    engine.close()
    with np.load(embeddings_file(cache)) as data:
        keys, vectors = data["keys"], data["vectors"].copy()
    vectors[::2] = np.nan  # half the rows damaged
    vectors[1, 0] = np.inf
    with open(embeddings_file(cache), "wb") as fh:
        np.savez(fh, keys=keys, vectors=vectors)

    engine = Engine(Settings(), workspace=str(tmp_path))
    result = engine.suggest(path, text, offset)
    embedded = engine.dense.stage("minilm").embedded
    engine.close()
    assert embedded == len(range(0, len(keys), 2)) + 1  # the damaged rows, embedded again
    assert [(s.entry.key, s.relevance) for s in result.suggestions] == \
        [(s.entry.key, s.relevance) for s in clean.suggestions]
    assert result.suggestions[0].entry.key == "vehicles1999"


def test_non_finite_scores_rank_last_with_a_relevance_of_zero():
    from texcite.bib.parse import parse_bib

    entries = parse_bib(BIB, "/refs.bib").entries
    scores = np.array([1.0, np.nan, 0.5, np.inf, 0.2], dtype=np.float32)
    candidates = shortlist(entries, TypedIndex(entries), scores, "hybrid", 10, "", [])
    assert [c.entry.key for c in candidates] == ["algae2011", "galaxy1998", "bread2005", "parsing2003", "vehicles1999"]
    ranked = join(candidates, [np.nan, 2.0, -np.inf, 1.0, 0.5], "rerank")
    assert all(np.isfinite(r.score) and np.isfinite(r.rerank_score) for r in ranked)
    assert relevance(np.array([r.score for r in ranked])).tolist()[0] == 100
    assert all(0 <= r <= 100 for r in relevance(np.array([r.score for r in ranked])).tolist())
    nothing = shortlist(entries, TypedIndex(entries), np.full(5, np.nan, np.float32), "hybrid", 10, "", [])
    assert [c.fused_score for c in nothing] == [0.0] * 5


# Run in a child process, whose peak memory is its own (VmHWM: ru_maxrss would count the parent's pages at the fork):
# load each cache after its files were made 1.9 GB long.
LOAD = """
import json, sys
from texcite.bib.store import BibStore
from texcite.retrieval.bm25 import analyze_entries
from texcite.retrieval.corpus import Corpora
from texcite.retrieval.embeddings.cache import EmbeddingCache
store = BibStore(analyze_entries, cache_directory=sys.argv[1])
Corpora(store).corpus([sys.argv[2]])
vectors = len(EmbeddingCache(sys.argv[1], "m"))
print(json.dumps({"corrupt": store.cache.stats["corrupt"], "vectors": vectors,
                  "peak_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) >> 10}))
"""


def fill_caches(tmp_path, cache) -> Path:
    """Index a bib (its parse and BM25 index cached) and save one embedding: the three kinds of cache file; the
    bib's path."""
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    store = BibStore(analyze_entries, cache_directory=str(cache))
    store.cache._writer = None  # write synchronously
    Corpora(store).corpus([str(bib)])
    vectors = EmbeddingCache(str(cache), "m")
    vectors.put("a" * 40, np.full(4, 0.5, np.float32))
    vectors.save()
    settle()  # a late tidy pass would delete the files made 1.9 GB next
    return bib


def test_a_huge_cache_file_is_refused_by_its_size_before_it_is_read(tmp_path, cache):
    bib = fill_caches(tmp_path, cache)
    files = [*cache.glob("*.npz"), *cache.glob("embeddings/*.npz")]
    assert len(files) == 3
    for f in files:  # each keeps its valid header and archive start, then runs on to 1.9 GB
        os.truncate(f, HUGE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", LOAD, str(cache), str(bib)], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    seen = json.loads(out.stdout)
    assert seen["corrupt"] == 2 and seen["vectors"] == 0  # the bib's parse, its index and the vectors: ignored
    assert seen["peak_mb"] < 1000, seen  # not read: reading one would take 1.9 GB


def test_a_fifo_in_place_of_the_embedding_cache_is_ignored_at_once(tmp_path, cache):
    path, text, offset = project(tmp_path)
    engine = Engine(Settings(), workspace=str(tmp_path))
    engine.suggest(path, text, offset)
    engine.close()
    fifo = embeddings_file(cache)
    os.unlink(fifo)
    os.mkfifo(fifo)
    model = os.path.basename(fifo).removesuffix(".npz")
    done: list = []
    worker = threading.Thread(target=lambda: done.append(len(EmbeddingCache(str(cache), model))), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # blocked in open(): let it go before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert done == [0], "opening the embedding cache waited on a FIFO"

    engine = Engine(Settings(), workspace=str(tmp_path))
    result = engine.suggest(path, text, offset)  # hybrid ranking arrives: the vectors are embedded again
    engine.close()
    assert result.ranking == "BM25 + MiniLM" and result.suggestions[0].entry.key == "vehicles1999"
    assert stat.S_ISREG(os.lstat(fifo).st_mode)  # replaced by a regular file when saved


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_cache_folders_and_files_are_private_whatever_the_umask(tmp_path, cache, umask):
    old = os.umask(umask)
    try:
        fill_caches(tmp_path, cache)
    finally:
        os.umask(old)
    folders = [cache.parent.parent, cache.parent, cache, cache / "embeddings"]  # home/.cache/texcite/embeddings
    assert [oct(stat.S_IMODE(f.stat().st_mode)) for f in folders] == [oct(0o700)] * 4
    files = [*cache.glob("*.npz"), *cache.glob("embeddings/*")]
    assert len(files) == 3 and {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o600)}
    assert len(EmbeddingCache(str(cache), "m")) == 1
