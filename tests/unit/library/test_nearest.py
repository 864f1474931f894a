"""Recall by meaning among the library's titles (``library.nearest``): the titles nearest each query vector,
through a projection on their principal components, as an exact search finds them."""

from __future__ import annotations

import numpy as np

from texcite.library.nearest import NEAREST, TitleProjection


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_the_nearest_titles_are_those_an_exact_search_finds():
    rng = np.random.default_rng(0)
    topics = _unit(rng.normal(size=(40, 384)))  # titles cluster around topics, as a library's do

    def near(centres: np.ndarray, spread: float) -> np.ndarray:
        return _unit(centres + spread * rng.normal(size=centres.shape) / np.sqrt(384))

    queries = near(topics[:2], 0.1)
    titles = near(topics[rng.integers(0, 40, 20_000)], 0.5)
    planted = rng.choice(20_000, 2 * NEAREST, replace=False)  # the works each query is about
    titles[planted] = near(np.repeat(queries, NEAREST, axis=0), 0.2)
    found = TitleProjection.of(titles).nearest(queries)
    exact = titles @ queries.T
    assert sorted(found) == sorted(planted.tolist())
    assert found[:NEAREST] == sorted(found[:NEAREST], key=lambda r: -exact[r, 0])  # the first query's, best first


def test_the_same_library_and_query_give_the_same_titles():
    rng = np.random.default_rng(1)
    titles = _unit(rng.normal(size=(5_000, 64)))
    query = _unit(rng.normal(size=(2, 64)))
    projection = TitleProjection.of(titles)
    first = projection.nearest(query)
    projection.nearest(_unit(rng.normal(size=(2, 64))))  # another request between
    assert TitleProjection.of(titles.copy()).nearest(query) == first == projection.nearest(query)


def test_a_library_smaller_than_the_shortlist_is_searched_whole():
    titles = _unit(np.eye(8, 16) + 0.01)
    assert sorted(TitleProjection.of(titles).nearest(titles[:1])) == list(range(8))
    assert TitleProjection.of(titles[:0]).nearest(titles[:1]) == []
