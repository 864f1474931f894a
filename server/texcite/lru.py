"""BoundedCache: the one bounded cache of the package — a map that keeps its ``max_size`` most recently used
items and forgets the least recently used one when a new item would exceed that.

Each operation takes the cache's own lock, so one cache can be shared between threads; a caller that needs a
compound step (look up, build, store) to be atomic holds its own lock around it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``max_size`` items; ``get`` and ``put`` make an item the most recently used."""

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"a BoundedCache holds at least one item, not {max_size}")
        self.max_size = max_size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or None when the cache does not hold it."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` as the most recently used; drop the least recently used beyond max_size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)

    def drop(self, unwanted: Callable[[K], bool]) -> None:
        """Forget every item whose key is ``unwanted``."""
        with self._lock:
            for key in [k for k in self._items if unwanted(k)]:
                del self._items[key]

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the items, the least recently used first."""
        with self._lock:
            return list(self._items.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
