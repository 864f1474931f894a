"""What typed text in the braces matches, and in which order the list shows it (``retrieval.typed``)."""

from __future__ import annotations

import numpy as np

from texcite.bib.model import Entry
from texcite.engine import Engine
from texcite.retrieval.typed import TIERS, TypedIndex, tiered_order
from texcite.settings import Settings


def entry(key: str, author: str = "", title: str = "", year: str = "") -> Entry:
    return Entry(key, "article", {"author": author, "title": title, "year": year}, "refs.bib", 0)


ENTRIES = [
    entry("conway:onag", "Conway, John", "On Numbers and Games", "1976"),
    entry("dafarra_whole-body_2018", "Dafarra, Stefano and Andrade, Luis", "Whole-Body Walking", "2018"),
    entry("andrychowicz_what_2020", "Andrychowicz, Marcin", "What Matters for On-Policy Methods", "2020"),
    entry("andrle_geometric_2013", "Andrle, Michael", "Geometric Integration of Quaternions", "2013"),
    entry("ana2001", "Noriega, Ana", "The Art of Everything", "2001"),
    entry("smith2019", "Smith, Jo and Nori, Francesco", "Force Regulation on Rigid Contacts", "2019"),
    entry("featherstone_rigid_2008", "Featherstone, Roy", "Body Dynamics Algorithms", "2008"),
]
KEYS = [e.key for e in ENTRIES]


def shown(typed: str, scores: list[float] | None = None) -> list[str]:
    s = np.asarray(scores if scores is not None else [1.0] * len(ENTRIES), dtype=np.float32)
    return [KEYS[i] for i in TypedIndex(ENTRIES).order(typed, s)]


def test_a_key_prefix_comes_before_author_and_title_matches_whatever_the_scores() -> None:
    scores = [9.0, 8.0, 1.0, 0.5, 0, 0, 0]  # the paragraph prefers the entries that only match by author/title
    assert shown("and", scores)[:2] == ["andrychowicz_what_2020", "andrle_geometric_2013"]
    assert shown("and", scores)[2] == "dafarra_whole-body_2018"  # co-author Andrade


def test_stopwords_of_titles_are_not_matched() -> None:
    assert "conway:onag" not in shown("and")  # "On Numbers and Games"
    assert "ana2001" not in shown("the")  # "The Art of Everything" ...
    assert "ana2001" in shown("art")  # ... but "Art" is a title word


def test_an_exact_surname_comes_before_a_longer_one() -> None:
    assert shown("nori", [0, 0, 0, 0, 5.0, 1.0, 0])[:2] == ["smith2019", "ana2001"]


def test_key_parts_year_and_scores_order_a_tier() -> None:
    rigid = [0, 0, 0, 0, 0, 1.0, 2.0]
    assert shown("rigid", rigid) == ["featherstone_rigid_2008", "smith2019"]  # a part of the key, a title word
    assert shown("rigid", rigid[::-1])[0] == "smith2019"
    assert shown("2013") == ["andrle_geometric_2013"]
    assert shown("anle") == ["andrle_geometric_2013"]  # the letters in order in the key


def test_tiered_order_sorts_by_tier_then_score_then_row() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        tiers = rng.integers(0, TIERS + 1, n).astype(np.int8)
        scores = rng.integers(0, 3, n).astype(np.float32)
        expected = sorted((i for i in range(n) if tiers[i] < TIERS), key=lambda i: (tiers[i], -scores[i], i))
        assert tiered_order(tiers, scores).tolist() == expected


def test_typed_text_and_entries_are_compared_folded_the_same_way() -> None:
    entries = [entry("schroedinger1926", "Schrödinger, Erwin", "Quantisierung als Eigenwertproblem", "1926"),
               entry("zotero_2017", "Traversaro, Silvio", "A uniﬁed view of ﬂoating-base dynamics", "2017"),
               entry("vaswani2017", "Vaswani, Ashish", "Self–Attention is all you need", "2017"),
               entry("ｆｕｌｌ２０２０", "Ｗｉｄｔｈ, Ｆｕｌｌ", "Ｗｉｄｅ letters", "2020")]
    index = TypedIndex(entries)

    def matched(typed: str) -> list[str]:
        return [entries[i].key for i in index.order(typed, np.zeros(len(entries), np.float32))]

    assert matched("Schrodinger") == matched("schrödinger") == ["schroedinger1926"]  # the surname, accents folded
    assert matched("unified") == matched("uniﬁed") == ["zotero_2017"]  # a ligature in the title
    assert matched("floating") == ["zotero_2017"]
    assert matched("self-att") == ["vaswani2017"]  # an en dash in the title
    assert matched("width") == matched("full2") == matched("wide") == ["ｆｕｌｌ２０２０"]  # full-width forms


def test_the_engine_finds_a_zotero_entry_by_plain_words_and_plain_typing(tmp_path) -> None:
    (tmp_path / "refs.bib").write_text(
        "@article{schroedinger1926, author={Schr{\\\"o}dinger, Erwin}, title={Quantisierung als Eigenwertproblem},"
        " year={1926}}\n"
        "@article{traversaro_2017, author={Traversaro, Silvio}, title={A uniﬁed view of ﬂoating ﬁelds}, year={2017}}\n"
        "@article{goldberg1991, author={Goldberg, David}, title={Floating-point arithmetic}, year={1991}}\n",
        encoding="utf-8")
    text = ("\\documentclass{article}\\begin{document}\n"
            "We take a unified view of floating fields \\cite{}.\n"
            "The wave equation \\cite{Schrod}.\n\\bibliography{refs}\\end{document}\n")
    (tmp_path / "main.tex").write_text(text)
    engine = Engine(Settings().replace(recall_mode="bm25", cache_dir=str(tmp_path / "cache")), workspace=str(tmp_path))
    try:
        path = str(tmp_path / "main.tex")
        words = engine.suggest(path, text, text.index("\\cite{}") + len("\\cite{"))
        typed = engine.suggest(path, text, text.index("Schrod}") + len("Schrod"))
    finally:
        engine.close()
    assert words is not None and words.suggestions[0].entry.key == "traversaro_2017"
    assert typed is not None and [s.entry.key for s in typed.suggestions] == ["schroedinger1926"]
