"""The same project state (files, bibliography, cursor) gives the same list whatever was asked before: one engine
asked at several cursors, in different orders, between citations completed, restored and paragraphs edited, answers
each state exactly as a fresh engine does (keys, scores and reasons). The evaluation's probes are such states."""

from __future__ import annotations

import pathlib
from typing import Hashable

import pytest

from texcite.engine import Engine
from texcite.evaluation.metrics import best_rank
from texcite.evaluation.run import evaluate_project, evaluation_engine, every_entry_ranked, project_examples
from texcite.files import Sources, read_disk
from texcite.settings import Settings

PAPER = pathlib.Path(__file__).resolve().parents[2] / "examples" / "paper"
ROOT = str(PAPER / "main.tex")
INTRO, METHOD = str(PAPER / "chapters" / "intro.tex"), str(PAPER / "chapters" / "method.tex")


class Buffers(Sources):
    """The disk, except the files an editor holds open with other text."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def stamp(self, path: str) -> Hashable | None:
        text = self.texts.get(path)
        return ("buffer", text) if text is not None else super().stamp(path)

    def read(self, path: str) -> str | None:
        return self.texts.get(path, super().read(path))


State = tuple[dict[str, str], str, int]  # the texts that differ from the disk, the cursor's file and offset


def emptied(path: str, key: str, texts: dict[str, str] | None = None) -> State:
    """The project with the citation of ``key`` in ``path`` emptied and the cursor in its braces (``texts``:
    other files as edited)."""
    text = (texts or {}).get(path) or read_disk(path) or ""
    at = text.index(key)
    start, end = text.rindex("{", 0, at) + 1, text.index("}", at)
    return {**(texts or {}), path: text[:start] + text[end:]}, path, start


def one_key_removed(path: str, key: str) -> State:
    """The project with ``key`` removed from its citation command, the command's other keys kept, and the cursor
    where it was."""
    text = read_disk(path) or ""
    at = text.index(key)
    return {path: text[:at] + text[at + len(key):]}, path, at


def completed(path: str, key: str, new_key: str) -> dict[str, str]:
    """The file with the citation of ``key`` completed with ``new_key`` instead (a wrong completion)."""
    text = read_disk(path) or ""
    return {path: text.replace(key, new_key, 1)}


def edited(path: str, key: str, words: str) -> dict[str, str]:
    """The file with ``words`` written into the sentence citing ``key`` (other words around its citation)."""
    text = read_disk(path) or ""
    at = text.rindex("\\", 0, text.index(key))
    return {path: text[:at] + words + " " + text[at:]}


def states() -> dict[str, State]:
    return {
        "intro": emptied(INTRO, "johansson2015topicmodels"),
        "method": emptied(METHOD, "tanaka2022contextaware"),
        "method-2": emptied(METHOD, "weber2016evaluation"),
        # a citation completed elsewhere (with a wrong key), then the cursor in another
        "completed": emptied(METHOD, "weber2016evaluation", completed(INTRO, "dubois2018editorlatency",
                                                                       "johansson2015topicmodels")),
        # a sentence of the other file rewritten
        "edited": emptied(METHOD, "tanaka2022contextaware",
                          edited(INTRO, "ahmed2019coldstart", "(keeping the paragraph with the placeholder marked)")),
        # a key added to a command that cites another
        "add-one": one_key_removed(METHOD, "lowe2015foundations"),
    }


def ranking(engine: Engine, sources: Buffers, state: State) -> list[tuple[str, float, tuple[str, ...]]]:
    texts, path, offset = state
    sources.texts = dict(texts)
    result = engine.suggest(path, texts[path], offset)
    assert result is not None
    return [(s.entry.key, s.score, s.reasons) for s in result.suggestions]


def make_engine(tmp_path: pathlib.Path, mode: str) -> tuple[Engine, Buffers]:
    sources = Buffers()
    settings = Settings().replace(recall_mode=mode, recall_top_k=1000, cache_dir=str(tmp_path / "cache"))
    return Engine(settings, sources, workspace=str(PAPER)), sources


class Fresh(dict):
    """Each state's list by an engine that has seen nothing else, per recall mode (computed when first needed)."""

    def __init__(self, folder: pathlib.Path) -> None:
        super().__init__()
        self.folder = folder

    def __missing__(self, mode_and_state: tuple[str, str]) -> list:
        mode, name = mode_and_state
        engine, sources = make_engine(self.folder / f"{mode}-{name}", mode)
        self[mode_and_state] = ranking(engine, sources, states()[name])
        engine.close()
        return self[mode_and_state]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Fresh:
    return Fresh(tmp_path_factory.mktemp("fresh"))


ORDERS = {
    "forward": ["intro", "method", "method-2", "completed", "edited", "add-one", "intro", "method"],
    "backward": ["add-one", "edited", "completed", "method-2", "method", "intro", "edited", "method-2"],
    # completing one citation, restoring it and asking at another, back and forth
    "session": ["method", "completed", "method-2", "edited", "method", "completed", "intro", "add-one", "method-2"],
}


@pytest.mark.parametrize(("mode", "order"), [*(("bm25", o) for o in ORDERS), ("hybrid", "session")])
def test_one_engine_answers_each_state_as_a_fresh_one(tmp_path, fresh, mode, order) -> None:
    engine, sources = make_engine(tmp_path, mode)
    every = states()
    try:
        for name in ORDERS[order]:
            assert ranking(engine, sources, every[name]) == fresh[mode, name], name
        assert mode == "bm25" or engine.stages().dense == "on"
    finally:
        engine.close()


def test_the_states_differ(fresh) -> None:
    """The states are different questions (else the test above would prove little)."""
    lists = {name: fresh["bm25", name] for name in states()}
    assert lists["method"] != lists["edited"] and lists["method-2"] != lists["completed"]
    assert len({tuple(k for k, _, _ in ranked[:5]) for ranked in lists.values()}) >= 4


def test_each_evaluation_probe_is_answered_as_by_a_fresh_engine(tmp_path) -> None:
    """``texcite eval`` ranks every probe of a project with one engine: the rank it records for each is the one a
    fresh engine gives on that probe's project state, and that engine, asked again in the other order, gives the
    fresh engine's whole list."""
    settings = every_entry_ranked(Settings().replace(recall_mode="bm25", cache_dir=str(tmp_path / "cache")))
    engine, read = evaluation_engine(settings)
    report = evaluate_project(engine, read, str(PAPER), ROOT)
    probes = project_examples(engine, read, str(PAPER), ROOT)[1]
    assert len(probes) == len(report.ranked.ranks) > 5
    fresh = []
    for probe in probes:
        one, sources = evaluation_engine(settings)
        project_examples(one, sources, str(PAPER), ROOT)  # the project opened as the evaluation opens it
        sources.show(probe)
        result = one.suggest(probe.path, probe.text, probe.offset)
        one.close()
        assert result is not None
        fresh.append([(s.entry.key, s.score, s.reasons) for s in result.suggestions])
    for probe, rank, answer in zip(probes, report.ranked.ranks, fresh, strict=True):
        assert best_rank([key for key, _, _ in answer], probe.keys) == rank, (probe.path, probe.line)
    for probe, answer in reversed(list(zip(probes, fresh, strict=True))):
        read.show(probe)
        result = engine.suggest(probe.path, probe.text, probe.offset)
        assert result is not None
        assert [(s.entry.key, s.score, s.reasons) for s in result.suggestions] == answer, (probe.path, probe.line)
    engine.close()
