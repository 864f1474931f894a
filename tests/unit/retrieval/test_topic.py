"""The topic signals: how close each entry's title is in meaning to the works cited around the cursor."""

from __future__ import annotations

import numpy as np

from texcite.retrieval.signals import topic_signals


def unit(*rows: list[float]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


TITLES = unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1], [0, 0, 1])
POSITION = {"galaxies": 0, "spirals": 1, "parsing": 2, "grammars": 3, "bread": 4}


def test_each_entry_gets_its_largest_cosine_with_an_anchor_and_an_anchor_not_its_own() -> None:
    out = topic_signals(TITLES, POSITION, ("galaxies", "parsing"), None)
    expected = np.maximum(TITLES @ TITLES[0], TITLES @ TITLES[2])
    expected[0], expected[2] = TITLES[0] @ TITLES[2], TITLES[2] @ TITLES[0]
    assert np.allclose(out["near_topic"], expected, atol=1e-6)
    assert out["near_topic"][1] > 0.99 and out["near_topic"][3] > 0.99 and out["near_topic"][4] == 0.0
    assert not out["previous_topic"].any()


def test_a_lone_anchor_gets_zero_and_the_previous_key_its_own_signal() -> None:
    out = topic_signals(TITLES, POSITION, ("parsing",), "galaxies")
    assert out["near_topic"][2] == 0.0 and out["near_topic"][3] > 0.99
    assert out["previous_topic"][0] == 0.0 and out["previous_topic"][1] > 0.99 and out["previous_topic"][2] == 0.0


def test_keys_outside_the_bibliography_are_no_anchors() -> None:
    out = topic_signals(TITLES, POSITION, ("unknown",), "missing")
    assert not out["near_topic"].any() and not out["previous_topic"].any()
    assert out["near_topic"].dtype == np.float32 and len(out["near_topic"]) == len(TITLES)
