"""The dense stage: the packaged MiniLM loads offline and embeds; the on-disk cache re-embeds only what changed."""

from __future__ import annotations

import builtins
import os

import numpy as np
import pytest

from texcite.bib.parse import parse_bib
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.embeddings.cache import EmbeddingCache
from texcite.retrieval.embeddings.dense import DenseStage, build_index, text_digest
from texcite.retrieval.embeddings.encoders import make_embedder
from texcite.retrieval.embeddings.onnx_embedder import OnnxEmbedder
from texcite.retrieval.embeddings.torch_embedder import TorchEmbedder as Embedder
from texcite.rerank.base import BackendUnavailable

BIB = """
@article{a, title={Attention is all you need}, author={Ashish Vaswani}, year={2017}}
@article{b, title={Dense passage retrieval for open-domain question answering}, author={Vladimir Karpukhin}, year={2020}}
@article{c, title={Photosynthesis in marine algae}, author={Jane Doe}, year={2011},
  abstract={We measure carbon fixation rates of algae in coastal waters.}}
"""


@pytest.fixture(autouse=True)
def own_cache_dir(monkeypatch) -> None:
    """These tests give each stage its own cache folder; the session-wide override would share one."""
    monkeypatch.delenv("TEXCITE_CACHE_DIR", raising=False)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    os.environ["HF_HUB_OFFLINE"] = "1"
    return Embedder(threads=1)


def corpus(text: str = BIB) -> Corpus:
    return Corpus([parse_bib(text, "/refs.bib")])


def test_packaged_model_loads_offline_and_embeds(embedder: Embedder) -> None:
    v = embedder.embed(["A cat sits on the mat.", "A kitten is resting on a rug.", "Quarterly tax filing deadlines."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2  # paraphrase closer than an unrelated sentence


def test_embedding_does_not_depend_on_batch_neighbours(embedder: Embedder) -> None:
    short, long_ = "neural ranking", "a much longer text about neural ranking models for citation recommendation " * 5
    alone = embedder.embed([short])
    together = embedder.embed([long_, short])
    assert np.allclose(alone[0], together[1], atol=1e-5)


def test_index_has_one_row_per_entry_its_title_embedded(embedder: Embedder, tmp_path) -> None:
    c = corpus()
    index = build_index(c.entries, embedder, EmbeddingCache(str(tmp_path), embedder.model_id))
    assert index.keys == ["a", "b", "c"]
    assert index.vectors.shape == (3, 384)
    titles = embedder.embed([e.title for e in c.entries])
    assert np.allclose(index.vectors, titles, atol=1e-2)  # the cache's float16, nothing else


def test_an_entry_with_no_text_is_close_in_meaning_to_nothing(embedder: Embedder, tmp_path) -> None:
    # A Zotero export's placeholder (`@misc{zotero-item-2472, type = {Misc}}`) ranked second in a real library: the
    # encoder's vector for an empty text is close to every query.
    c = corpus(BIB + "\n@misc{zotero-item-2472, type = {Misc}}\n")
    index = build_index(c.entries, embedder, EmbeddingCache(str(tmp_path), embedder.model_id))
    query = embedder.embed(["We rank passages for open-domain question answering."])
    assert index.keys[-1] == "zotero-item-2472"
    assert not index.vectors[-1].any() and index.scores(query)[0, -1] == 0.0
    alone = build_index(corpus("@misc{empty, type = {Misc}}").entries, embedder, None)
    assert alone.vectors.shape == (1, 384) and not alone.vectors.any()


def test_restart_reuses_the_cache_and_an_edit_re_embeds_only_that_entry(tmp_path) -> None:
    c = corpus()
    first = DenseStage(make_embedder(threads=1), cache_dir=str(tmp_path))
    first.start(c.signature, c.entries).result()
    assert first.embedded == 3  # the title of each entry
    first.close()

    restarted = DenseStage(make_embedder(threads=1), cache_dir=str(tmp_path))
    restarted.start(c.signature, c.entries).result()
    assert restarted.embedded == 0
    assert restarted.index_for(c.signature) is not None

    edited = corpus(BIB.replace("Photosynthesis in marine algae", "Carbon uptake of coastal seaweed"))
    restarted.start(edited.signature, edited.entries).result()
    assert restarted.embedded == 1  # entry c's new title; a and b came from the cache
    restarted.close()


def test_progress_is_reported_and_ends_at_the_total(tmp_path) -> None:
    c = corpus()
    seen: list[tuple[int, int]] = []
    stage = DenseStage(make_embedder(threads=1), cache_dir=str(tmp_path), on_progress=lambda sig, d, t: seen.append((d, t)))
    stage.start(c.signature, c.entries).result()
    stage.close()
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)  # counted in entries
    assert all(total == 3 for _, total in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cache_writes_atomically_and_a_corrupt_file_is_rebuilt(tmp_path) -> None:
    cache = EmbeddingCache(str(tmp_path), "m")
    cache.put(text_digest("x"), np.full(4, 0.5, np.float32))  # a unit vector
    cache.save()
    assert os.listdir(tmp_path / "embeddings") == ["m.npz"]  # no temp file left behind
    assert np.allclose(EmbeddingCache(str(tmp_path), "m").get(text_digest("x")), 0.5)

    (tmp_path / "embeddings" / "m.npz").write_bytes(b"not a zip file")
    broken = EmbeddingCache(str(tmp_path), "m")
    assert len(broken) == 0
    broken.put(text_digest("y"), np.zeros(4, np.float32))
    broken.save()
    assert EmbeddingCache(str(tmp_path), "m").get(text_digest("y")) is not None


def test_missing_torch_names_the_extra(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(BackendUnavailable, match=r"pip install 'texcite\[transformers\]'"):
        Embedder().load()


def test_the_default_encoder_is_onnx_and_a_weights_folder_runs_on_torch(tmp_path) -> None:
    assert isinstance(make_embedder(), OnnxEmbedder)
    assert isinstance(make_embedder(str(tmp_path / "model.onnx")), OnnxEmbedder)
    assert isinstance(make_embedder(str(tmp_path)), Embedder)


def test_a_missing_backend_is_reported_not_raised(tmp_path) -> None:
    errors: list[str] = []
    stage = DenseStage(make_embedder(str(tmp_path / "nowhere")), cache_dir=str(tmp_path), on_error=errors.append)
    c = corpus()
    assert stage.start(c.signature, c.entries).result() is None
    assert stage.index_for(c.signature) is None
    assert errors and "nowhere" in errors[0]
    assert stage.start(c.signature, c.entries) is None  # no retry loop once the backend is known to be missing
    stage.close()


def test_only_the_first_completion_waits_for_a_build(tmp_path) -> None:
    """While an 855-entry bibliography was embedded, every re-ask waited the 2 s of denseWaitMs again."""
    c = corpus()
    stage = DenseStage(make_embedder(threads=1), cache_dir=str(tmp_path))
    first = stage.start_awaited(c.signature, c.entries)
    assert first is not None and stage.start_awaited(c.signature, c.entries) is None  # the build goes on meanwhile
    first.result()
    assert stage.start_awaited(c.signature, c.entries) is None  # ready
    stage.close()
