"""The citing sentence names an entry's author or its year, in every script: the ``author_named`` and
``year_named`` signals."""

from __future__ import annotations

import numpy as np

from texcite.bib.parse import parse_bib
from texcite.retrieval.signals import mentions, name_index, name_parts

BIB = """@article{zhang, author = {张三 and 李四}, title = {液罐车的侧翻控制}, year = {2020}}
@article{ivanov, author = {Иванов, И. И. and Petrov, P.}, title = {Кинетическая теория газов}, year = {2018}}
@article{smith, author = {Smith, John and Doe, Jane}, title = {Rollover of tank trucks}, year = {2019}}
"""


def named(sentence: str) -> tuple[list[float], list[float]]:
    entries = parse_bib(BIB, "refs.bib").entries
    names, years = name_index([name_parts(e) for e in entries])
    out = mentions(names, years, len(entries), sentence)
    return np.asarray(out["author_named"]).tolist(), np.asarray(out["year_named"]).tolist()


def test_a_latin_name_and_year() -> None:
    assert named("As Smith showed in 2019, and Doe agreed") == ([0.0, 0.0, 1.0], [0.0, 0.0, 1.0])


def test_a_cyrillic_name_is_a_capitalised_word_too() -> None:
    assert named("Как показал Иванов в 2018 году") == ([0.0, 1.0, 0.0], [0.0, 1.0, 0.0])


def test_a_chinese_name_inside_the_sentence_and_a_year_before_a_character() -> None:
    # No spaces and no capitals: the name is found inside the sentence; '2020年' names the year.
    assert named("张三等人在2020年提出了一种方法") == ([1.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    assert named("李四的方法")[0] == [0.5, 0.0, 0.0]  # the second author
    assert named("这种方法很简单") == ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
