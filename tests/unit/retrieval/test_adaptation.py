"""The project's adaptation (``retrieval.adaptation``): fit on a project's citations, it learns what the shipped
model under-weighs for this project, never from the fold of the citation being ranked, the same way every time."""

from __future__ import annotations

import numpy as np
import pytest

from texcite.bib.model import Entry
from texcite.retrieval.adaptation import (ADAPTED, FOLDS, MIN_ADDING_LESSONS, MIN_LESSONS, Correction, adapt, fold_of,
                                          inputs_of, lesson)
from texcite.retrieval.explain import reasons

ENTRIES = 60


def project_citations(count: int, seed: int = 0, telling: str = "context"
                      ) -> list[tuple[dict[str, np.ndarray], np.ndarray, int]]:
    """Citations of a project whose writer re-cites what the shipped model does not weigh: the cited entry
    stands out in ``telling`` ("context": how its other citations read), while the model's scores are noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        signals = {name: rng.normal(size=ENTRIES).astype(np.float32) for name in ADAPTED}
        cited = int(rng.integers(ENTRIES))
        signals[telling][cited] += 3.0
        out.append((signals, rng.normal(size=ENTRIES).astype(np.float32), cited))
    return out


def lessons_of(citations):
    return [lesson(signals, base, [cited], (), i % FOLDS) for i, (signals, base, cited) in enumerate(citations)]


def rank(scores: np.ndarray, cited: int) -> int:
    return int((scores > scores[cited]).sum()) + 1


def test_the_adaptation_learns_what_the_project_teaches_and_ranks_new_citations_better():
    adaptation = adapt(lessons_of(project_citations(80)))
    assert adaptation is not None and adaptation.lessons == 80
    assert (adaptation.weights[:, ADAPTED.index("context")] > 0.5).all()
    new = project_citations(40, seed=1)  # citations the fit never saw
    before = [rank(base, cited) for _, base, cited in new]
    after = [rank(base + adaptation.correct(signals, base, 0).delta(), cited) for signals, base, cited in new]
    assert np.mean([1 / r for r in after]) > np.mean([1 / r for r in before]) + 0.3


def test_keys_added_to_a_command_that_keeps_others_get_their_own_correction():
    """Where the writer adds a key, the works cited with the kept keys ("cocited") tell; in an empty command the
    context does. Each kind of request is ranked by the correction its own lessons taught."""
    adding = [lesson(signals, base, [cited], [(cited + 1) % ENTRIES], i % FOLDS)
              for i, (signals, base, cited) in enumerate(project_citations(MIN_ADDING_LESSONS, 4, "cocited"))]
    adaptation = adapt(lessons_of(project_citations(80)) + adding)
    assert adaptation is not None and adaptation.adding is not None and adaptation.lessons == 80
    assert all(one.adding for one in adding)
    signals, base, cited = project_citations(1, seed=5, telling="cocited")[0]
    assert rank(adaptation.correct(signals, base, 0, adding=True).delta(), cited) < \
        rank(adaptation.correct(signals, base, 0).delta(), cited)
    assert adapt(lessons_of(project_citations(80)) + adding[1:]).adding is None  # too few: the first serves


def test_a_citation_is_ranked_by_the_fit_without_its_fold():
    citations = project_citations(60)
    lessons = lessons_of(citations)
    adaptation = adapt(lessons)
    assert adaptation is not None
    # Change only fold 2's lessons: the correction used for fold 2 is unmoved, the others move.
    flipped = [lesson(signals, base, [(cited + 1) % ENTRIES], (), i % FOLDS) if i % FOLDS == 2 else lessons[i]
               for i, (signals, base, cited) in enumerate(citations)]
    other = adapt(flipped)
    assert other is not None
    assert np.array_equal(adaptation.weights[2], other.weights[2])
    assert not np.array_equal(adaptation.weights[0], other.weights[0])


def test_the_same_lessons_give_the_same_correction_every_time():
    first, second = adapt(lessons_of(project_citations(40))), adapt(lessons_of(project_citations(40)))
    assert first is not None and second is not None
    assert np.array_equal(first.weights, second.weights)


def test_too_few_citations_teach_nothing():
    assert adapt(lessons_of(project_citations(MIN_LESSONS - 1))) is None


def test_the_correction_is_centred_and_the_fold_follows_file_and_line():
    adaptation = adapt(lessons_of(project_citations(40)))
    assert adaptation is not None
    signals, base, _ = project_citations(1, seed=3)[0]
    assert abs(float(adaptation.correct(signals, base, 1).delta().mean())) < 1e-5
    assert fold_of("chapters/intro.tex", 10) == fold_of("chapters/intro.tex", 10)
    assert {fold_of("chapters/intro.tex", line) for line in range(FOLDS)} == set(range(FOLDS))


def test_a_citation_whose_key_is_not_among_its_rows_teaches_nothing():
    signals, base, _ = project_citations(1)[0]
    assert lesson(signals, base, [5], [5], 0) is None


def test_the_reasons_weigh_what_the_correction_added_signal_by_signal():
    adaptation = adapt(lessons_of(project_citations(80)))
    assert adaptation is not None
    signals, base, cited = project_citations(1, seed=2)[0]
    correction = adaptation.correct(signals, base, 1)
    # The shipped model's shares of each row (as FusionModel.contributions measures them); ENTRIES: a library row.
    shipped = [{"year": float(base[cited] - base.mean())}, {"year": float(base[0] - base.mean())}, {"year": 1.0}]
    lifts = correction.lifts([cited, 0, ENTRIES], shipped)
    delta = correction.delta()
    assert [sum(lift.values()) for lift in lifts[:2]] == pytest.approx([delta[cited], delta[0]], abs=1e-4)
    assert max(lifts[0], key=lambda name: lifts[0][name]) == "context"  # what this project teaches lifted it
    assert lifts[2] == {"year": pytest.approx(correction.temperature)}  # the library's row: the temperature's share


def test_the_temperature_scales_the_library_as_it_scales_the_project():
    signals, base, _ = project_citations(1, seed=6)[0]
    cooler = Correction(np.r_[np.zeros(len(ADAPTED)), -0.3], inputs_of(signals, base), float(base.mean()))
    # A library entry scored as a project entry would be, by the shipped model alone, lands where that entry does.
    assert cooler.rescale(base) == pytest.approx(base + cooler.delta(), abs=1e-5)


def test_a_writer_who_cites_by_topic_teaches_the_topic_signals_and_the_list_says_so():
    adaptation = adapt(lessons_of(project_citations(80, telling="near_topic")))
    assert adaptation is not None and (adaptation.weights[:, ADAPTED.index("near_topic")] > 0.5).all()
    entry = Entry("spirals", "article", {"title": "Spiral galaxies"}, "refs.bib", 1)
    said = reasons(entry, {"near_topic": 0.4, "previous_topic": 0.2, "year": 0.1}, None, dict)
    assert said == ("its topic is that of the works you cite around here",)
