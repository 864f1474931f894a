"""BM25 recall: bm25s (Lucene variant) checked against rank-bm25 as an independent oracle, and the tokenizer."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from texcite.bib.model import Entry, merge_entries
from texcite.bib.parse import parse_bib, parse_bytes
from texcite.retrieval.bm25 import Bm25Index, entry_search_text, key_words, tokenize

EXAMPLE_BIB = Path(__file__).resolve().parents[3] / "examples" / "paper" / "refs.bib"
K1, B = 1.2, 0.75


class LuceneOkapi(BM25Okapi):
    """rank-bm25 with Lucene's idf, ln(1 + (N - df + 0.5) / (df + 0.5)); its TF normalisation and sums stay its own."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        for word, df in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - df + 0.5) / (df + 0.5))


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    merged, _ = merge_entries([parse_bytes(EXAMPLE_BIB.read_bytes(), str(EXAMPLE_BIB))])
    assert len(merged) >= 30
    return merged


@pytest.fixture(scope="module")
def index(entries: list[Entry]) -> Bm25Index:
    return Bm25Index(entries, k1=K1, b=B)


QUERIES = [
    "We distil a large teacher reranker into a compact student using the soft score margins.",
    "Personalised PageRank on the citation graph, a random walk with restart over citation links.",
    "Dense retrieval with dual encoders trained with in-batch negatives and hard negatives mined from BM25.",
    "Hand-edited BibTeX files contain unbalanced braces and duplicate keys; the parser reports line numbers.",
    "retrieval retrieval retrieval ranking",  # repeated query terms count each time, in both implementations
    "Müller cross-encoder",
    "evaluation",
]


def _order(scores: np.ndarray) -> list[int]:
    """Entries with a positive score, best first, ties (to 1e-4) in bib order."""
    s = np.round(np.asarray(scores, dtype=np.float64), 4)
    order = np.lexsort((np.arange(len(s)), -s))
    return [int(i) for i in order if s[i] > 0]


@pytest.mark.parametrize("query", QUERIES)
def test_bm25s_agrees_with_rank_bm25(index: Bm25Index, query: str) -> None:
    oracle = LuceneOkapi([tokenize(entry_search_text(e)) for e in index.entries], k1=K1, b=B)
    tokens = tokenize(query)
    expected = oracle.get_scores(tokens)
    got = index.scores(query)
    assert got.shape == expected.shape
    # Lucene's BM25 leaves out the constant (k1 + 1) of the TF numerator: a uniform scale, same order.
    np.testing.assert_allclose(got * (K1 + 1), expected, rtol=1e-4, atol=1e-6)
    assert _order(got * (K1 + 1)) == _order(expected)
    assert expected.max() > 0


def test_top_is_best_first_and_bounded(index: Bm25Index, entries: list[Entry]) -> None:
    top = index.top(QUERIES[0], 5)
    assert len(top) == 5
    assert entries[top[0][0]].key == "nguyen2023distillation"
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert len(index.top(QUERIES[0], 1000)) == len(entries)


@pytest.mark.parametrize(
    "query,key",
    [
        (QUERIES[0], "nguyen2023distillation"),
        (QUERIES[1], "haddad2018citationgraph"),
        (QUERIES[3], "ferreira2017bibparse"),
        ("latent Dirichlet allocation Gibbs sampling", "johansson2015topicmodels"),
    ],
)
def test_distinct_topics_rank_their_entry_first(index: Bm25Index, entries: list[Entry], query: str, key: str) -> None:
    assert entries[index.top(query, 1)[0][0]].key == key


def test_ties_keep_bib_order() -> None:
    bib = parse_bib("".join(f"@misc{{e{i}, title = {{Same words here}}}}\n" for i in range(4)), "t.bib")
    idx = Bm25Index(bib.entries)
    assert [i for i, _ in idx.top("same words", 4)] == [0, 1, 2, 3]


@pytest.mark.parametrize("query", ["", "   ", "the of and with", "zzzunknownword", [], ["zzz"]])
def test_empty_or_unknown_query_gives_zeros(index: Bm25Index, entries: list[Entry], query) -> None:
    scores = index.scores(query)
    assert scores.shape == (len(entries),)
    assert not scores.any()


def test_empty_index() -> None:
    idx = Bm25Index([])
    assert idx.scores("dense retrieval").shape == (0,)
    assert idx.top("dense retrieval", 5) == []


@pytest.mark.parametrize(
    "key,words",
    [
        ("smith2020attention", "smith 2020 attention"),
        ("VaswaniEtAl17", "Vaswani Et Al 17"),
        ("doe:2019:BERT", "doe 2019 BERT"),
        ("müller2020crossencoder", "müller 2020 crossencoder"),
        ("BERTModel2019", "BERT Model 2019"),
        ("ÖzgürEtAl", "Özgür Et Al"),
    ],
)
def test_key_words(key: str, words: str) -> None:
    assert key_words(key) == words


def test_tokenize() -> None:
    assert tokenize("The Attention of the Transformer and its Models") == ["attention", "transformer", "model"]
    assert tokenize("a b c x y") == []  # one-letter words and stopwords go
    assert tokenize("class corpus analysis bias") == ["class", "corpus", "analysis", "bias"]  # not plurals
    assert tokenize("dense_retrieval, re-ranking; BM25!") == ["dense", "retrieval", "re", "ranking", "bm25"]
    assert tokenize("Müller's ÉCOLE") == ["muller", "ecole"]  # accents folded, as typed text is
    assert tokenize("") == []


def test_ligatures_full_width_forms_accents_and_dashes_are_folded() -> None:
    assert tokenize("Uniﬁed ﬂow models") == tokenize("unified flow models") == ["unified", "flow", "model"]
    assert tokenize("ＢＥＲＴ ｒｅｔｒｉｅｖａｌ ２０２０") == ["bert", "retrieval", "2020"]
    assert tokenize("Schrödinger’s équation") == tokenize("Schrodinger's equation")
    assert tokenize("self–attention — self−attention self-attention self\u00adattention") == [
        "self", "attention"] * 3 + ["selfattention"]
    assert tokenize("Straße für daß") == ["strasse"]  # the function words are folded the same way
    # A word's joiners: an apostrophe between Cyrillic letters (Ukrainian), the zero-width non-joiner (Persian)
    assert tokenize("об'ємної об’ємної обʼємної") == ["обємноі"] * 3
    assert tokenize("نرم\u200cافزار") == tokenize("نرمافزار") and len(tokenize("نرم\u200cافزار")) == 1
    assert tokenize("Jelikož jejich modely nebo tento přístup") == ["modely", "pristup"]  # Czech function words
    assert tokenize("Τα δέντρα απόφασης είναι δυαδικά") == ["δεντρα", "αποφασησ", "δυαδικα"]  # and Greek


def bib_of(*titles: str) -> list[Entry]:
    text = "".join(f"@article{{k{i}, title={{{t}}}, author={{Doe, Jane}}, year={{2020}}}}\n" for i, t in enumerate(titles))
    return merge_entries([parse_bib(text, "refs.bib")])[0]


def test_a_zotero_title_with_ligatures_or_full_width_letters_matches_a_plain_query_and_back() -> None:
    unicode_bib = bib_of("A uniﬁed theory of ﬂuid ﬁelds", "Ｄｅｎｓｅ ｒｅｔｒｉｅｖａｌ", "Sourdough and yeast")
    ascii_bib = bib_of("A unified theory of fluid fields", "Dense retrieval", "Sourdough and yeast")
    for bib, queries in ((unicode_bib, ("unified fluid fields", "dense retrieval")),
                         (ascii_bib, ("uniﬁed ﬂuid ﬁelds", "ｄｅｎｓｅ ｒｅｔｒｉｅｖａｌ"))):
        index = Bm25Index(bib)
        assert [index.top(q, 1)[0][0] for q in queries] == [0, 1]
        assert all(index.top(q, 1)[0][1] > 0 for q in queries)


def test_a_thesis_in_another_language_does_not_match_english_titles_on_its_function_words() -> None:
    # A Spanish, German or French sentence citing English works: 'de', 'la', 'und', 'für' say nothing.
    assert tokenize("El modelo de la red neuronal se entrena con los datos") == [
        "modelo", "red", "neuronal", "entrena", "dato"]
    assert tokenize("Die Ergebnisse der Messung für das Modell und die Daten") == [
        "ergebnisse", "messung", "modell", "daten"]
    assert tokenize("Les résultats de la méthode sont dans le tableau") == ["resultat", "methode", "tableau"]
    entries = [Entry("devries", "article", {"title": "De la Rue meets van der Waals"}, "", 0),
               Entry("rnn", "article", {"title": "Recurrent neural networks"}, "", 1)]
    scores = Bm25Index(entries).scores("Las recurrent networks de la tesis")
    assert scores[1] > 0 and scores[0] == 0


def test_a_sentence_in_a_script_without_spaces_matches_the_words_of_a_title() -> None:
    # Chinese and Japanese write a sentence as one run of characters: its character pairs are the tokens, so the
    # sentence's words meet a title's (before, each run was one token that no title holds).
    assert tokenize("基于Transformer的机器翻译") == ["基于", "transformer", "的机", "机器", "器翻", "翻译"]
    entries = [Entry("zh-mt", "article", {"title": "神经机器翻译综述"}, "", 0),
               Entry("zh-asr", "article", {"title": "语音识别的深度学习方法"}, "", 1),
               Entry("ja-mt", "article", {"title": "ニューラル機械翻訳の研究"}, "", 2)]
    index = Bm25Index(entries)
    assert index.top("近年来，神经机器翻译取得了很大进展", 1)[0][0] == 0
    assert index.top("深度学习推动了语音识别的发展", 1)[0][0] == 1
    assert index.top("ニューラルネットワークで機械翻訳の品質が向上した", 1)[0][0] == 2


def test_russian_polish_and_turkish_function_words_are_left_out() -> None:
    assert tokenize("Метод, который является основой для работы этой модели") == ["метод", "основои", "модели"]
    assert tokenize("Metoda, która jest podstawą dla tego modelu") == ["metoda", "podstawa", "modelu"]
    assert tokenize("Bu yöntem için bir model ve veri") == ["yontem", "model", "veri"]


def test_key_words_are_searchable() -> None:
    bib = parse_bib(
        "@misc{smith2020attention, title = {Something Else}}\n@misc{doe2019, title = {Other Things}}\n", "t.bib"
    )
    assert "smith 2020 attention" in entry_search_text(bib.entries[0])
    idx = Bm25Index(bib.entries)
    assert idx.top("smith", 1)[0][0] == 0
    assert idx.scores("attention")[1] == 0


def test_word_split_matches_the_regex() -> None:
    import random

    from texcite.retrieval.bm25 import _WORD_RE, _words

    alphabet = [chr(c) for c in range(128)] + list("éüßÄ—’“\u00a0\u2003\u3000_١٢αβ·")
    rng = random.Random(2)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15))).lower()
        assert _words(text) == _WORD_RE.findall(text), repr(text)


def test_rebuild_from_remembered_counts_equals_a_fresh_build(entries: list[Entry]) -> None:
    from texcite.retrieval.bm25 import TermCounts, entry_search_text, tokenize

    strings = [" ".join(tokenize(entry_search_text(e))) for e in entries]
    counts = TermCounts()
    counts.build(strings, K1, B)
    edited = list(strings)
    edited[1] = "brand new words " + edited[1]
    vocab, scores, _ = counts.build(edited, K1, B)
    fresh_vocab, fresh, _ = TermCounts().build(edited, K1, B)  # counted from scratch (rank-bm25 checks that path)
    for term in set(" ".join(edited).split()):
        a, b = vocab[term], fresh_vocab[term]
        got = dict(zip(scores["indices"][scores["indptr"][a]:scores["indptr"][a + 1]], scores["data"][scores["indptr"][a]:scores["indptr"][a + 1]], strict=True))
        want = dict(zip(fresh["indices"][fresh["indptr"][b]:fresh["indptr"][b + 1]], fresh["data"][fresh["indptr"][b]:fresh["indptr"][b + 1]], strict=True))
        assert got.keys() == want.keys()
        assert np.allclose([got[k] for k in want], list(want.values()), rtol=1e-6)


def test_adopted_counts_rebuild_the_same_index(entries: list[Entry]) -> None:
    from texcite.retrieval.bm25 import TermCounts, entry_search_text, tokenize

    strings = [" ".join(tokenize(entry_search_text(e))) for e in entries]
    vocab, scores, stored = TermCounts().build(strings, K1, B)
    other = TermCounts()
    other.build(["unrelated words first"], K1, B)  # a different id for every term
    other.adopt(strings, vocab, stored)
    missing_before = len(other._counts)
    vocab2, scores2, _ = other.build(strings, K1, B)
    assert len(other._counts) == missing_before  # nothing re-counted
    for term, i in vocab.items():
        j = vocab2[term]
        assert list(scores["indices"][scores["indptr"][i]:scores["indptr"][i + 1]]) == list(scores2["indices"][scores2["indptr"][j]:scores2["indptr"][j + 1]])
