"""The bounded cache every cache of the package uses: at most max_size items, the least recently used go first."""

from __future__ import annotations

import threading

import pytest

from texcite.lru import BoundedCache


def test_keeps_the_most_recently_used_items() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2


def test_put_replaces_and_refreshes() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)  # a again: replaced and most recent, b is the oldest
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (10, None, 3)


def test_a_missing_key_gives_none() -> None:
    cache: BoundedCache[tuple[str, int], str] = BoundedCache(3)
    cache.put(("x", 1), "one")
    assert cache.get(("x", 2)) is None and len(cache) == 1


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedCache(0)


def test_threads_never_exceed_the_bound() -> None:
    cache: BoundedCache[int, int] = BoundedCache(50)

    def work(base: int) -> None:
        for i in range(2000):
            cache.put(base + i, i)
            cache.get(base + i // 2)

    threads = [threading.Thread(target=work, args=(n * 10_000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50


def test_items_are_least_recently_used_first_and_drop_forgets_by_key() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for key, value in [("a", 1), ("b", 2), ("c", 3)]:
        cache.put(key, value)
    cache.get("a")
    assert cache.items() == [("b", 2), ("c", 3), ("a", 1)]
    cache.drop(lambda key: key in "ab")
    assert cache.items() == [("c", 3)] and cache.get("a") is None
