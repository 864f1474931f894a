"""Reasons say what is true of the entry: the words it shares as the writer wrote them, its place in the .bib."""

from __future__ import annotations

from texcite.bib.model import Entry
from texcite.retrieval.explain import as_written, matched_words, paragraph_words, reasons


def test_a_title_shares_the_part_of_a_hyphenated_word_it_holds() -> None:
    """'title shares 'single-cell'' was said of 'The Human Cell Atlas'; 'EUV-' was quoted with its hyphen."""
    words = paragraph_words("Single-cell atlases map EUV- and X-ray sources; l’énergie du 液罐车.")
    atlas = Entry("hca", "article", {"title": "The Human Cell Atlas"}, "refs.bib", 0)
    assert matched_words(atlas, words) == ("title", ("cell",))
    euv = Entry("euv", "article", {"title": "EUV lithography"}, "refs.bib", 1)
    assert matched_words(euv, words) == ("title", ("euv",))
    assert words["energie"] == "énergie" and words["液罐"] == "液罐"


def test_a_place_in_the_bibliography_is_not_said_to_be_next_to_this_command_s_keys() -> None:
    """The keys a bibliography neighbour sits near are those cited around the cursor, in an empty command too."""
    entry = Entry("b", "article", {"title": "B"}, "refs.bib", 3)
    said = reasons(entry, {"bib_anchor": 1.0}, None, dict)
    assert said == ("your bibliography lists it near keys you cite around here",)


def test_a_ukrainian_or_persian_word_is_quoted_whole() -> None:
    """'об'ємної' was quoted 'ємної', 'نرم‌افزاری' (a zero-width non-joiner inside) 'افزاری'."""
    words = paragraph_words("Моделі об’ємної провідності; نرم‌افزاری; l’énergie")
    volume = Entry("v", "article", {"title": "Об'ємна і об'ємної провідність"}, "refs.bib", 0)
    assert matched_words(volume, words) == ("title", ("об’ємної",))
    software = Entry("s", "article", {"title": "ابزار نرم‌افزاری"}, "refs.bib", 1)
    assert matched_words(software, words) == ("title", ("نرم\u200cافزاری",))
    assert words["energie"] == "énergie"


def test_words_of_a_script_without_spaces_are_quoted_as_the_runs_they_come_from() -> None:
    """'where you cite it elsewhere, the text also says '个按', '单个', '太小'': pairs of characters, one across two
    words; now the runs of the writer's sentence they come from."""
    shown = paragraph_words("由于智能手表触摸屏的空间有限，单个按键太小。")
    assert as_written(["个按", "单个", "太小", "按键", "键太", "手表"], shown) == ["单个按键太小", "手表"]
    assert as_written(["graphs", "neural"], paragraph_words("Neural networks on graphs.")) == ["graphs", "neural"]


def test_a_run_is_quoted_without_the_particles_at_its_ends() -> None:
    """'的一致性', '口和', '的持' were quoted from a Chinese thesis's sentences."""
    shown = paragraph_words("保证数据的一致性，接口和存储的持久化。")
    assert as_written(["的一", "一致", "致性", "口和", "的持"], shown) == ["一致性"]
