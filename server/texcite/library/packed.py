"""The library packed in columns, as its own cache holds it (``library.cache``): what ranking reads of every entry
on each request as arrays (the BM25 score matrix, the typed-text index's folded strings, which entries are
helpers), and each entry's key, type, file, line, old key and fields (JSON, one object per entry), an ``Entry`` made
only for the rows a request reaches (the few dozen a completion scores, the one a writer accepts).

``LibrarySearch`` is what ranking reads of a library: a ``Corpus`` of its files, or a ``PackedLibrary`` read back.
A packed library ranks exactly as the corpus it was packed from: the same entries in the same order, the same
score matrix and vocabulary, the same folded strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, TypeVar, overload

import numpy as np

from texcite.bib.diskcache import Stored
from texcite.bib.model import Diagnostic, Entry
from texcite.lru import BoundedCache
from texcite.retrieval.bm25 import Bm25Index
from texcite.retrieval.corpus import Corpus
from texcite.retrieval.typed import FOLDED, TypedIndex

T = TypeVar("T")

MADE = 4096  # entries kept once made (a completion reaches ~100 rows; consecutive ones mostly the same)


class LibrarySearch(Protocol):
    """What ranking reads of a library (see the module docstring)."""

    @property
    def entries(self) -> Sequence[Entry]: ...

    @property
    def by_key(self) -> Mapping[str, Entry]: ...

    @property
    def bm25(self) -> Bm25Index: ...

    @property
    def typed(self) -> TypedIndex: ...

    @property
    def helpers(self) -> np.ndarray: ...

    @property
    def signature(self) -> tuple[tuple[str, str], ...]: ...

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """A table derived from the entries, computed once per library (``Corpus.memo``)."""
        ...

    def __len__(self) -> int: ...


def _strings(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A column of strings: their UTF-8 text concatenated, and each one's bounds in characters (n + 1)."""
    text = "".join(values)
    bounds = np.zeros(len(values) + 1, np.int64)
    np.cumsum([len(v) for v in values], out=bounds[1:])
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8), bounds


def _text(arrays: Mapping[str, np.ndarray], name: str, n: int) -> tuple[str, np.ndarray]:
    """A column of ``n`` strings back: its text and bounds; ValueError unless they agree."""
    text = arrays[f"{name}.text"].tobytes().decode("utf-8", "surrogatepass")
    bounds = arrays[f"{name}.bounds"]
    if (bounds.dtype != np.int64 or bounds.shape != (n + 1,) or bounds[0] != 0 or bounds[-1] != len(text)
            or np.any(np.diff(bounds) < 0)):
        raise ValueError(f"{name}: its bounds do not fit its text")
    return text, bounds


def _split(text: str, bounds: np.ndarray) -> list[str]:
    at = bounds.tolist()
    return [text[a:b] for a, b in zip(at, at[1:], strict=False)]


class PackedEntries(Sequence[Entry]):
    """The library's entries, each made from its columns when first asked for (a few thousand kept)."""

    def __init__(self, keys: list[str], aliases: list[str], columns: Mapping[str, np.ndarray], types: list[str],
                 paths: list[str]) -> None:
        self.keys, self._aliases, self._types, self._paths = keys, aliases, types, paths
        # Python lists, not arrays: a request makes up to ~100 entries, and indexing a list is what costs least.
        self._type, self._path, self._line = (columns[name].tolist() for name in ("type", "path", "line"))
        self._bounds = columns["fields.bounds"].tolist()
        self._fields = columns["fields"].data
        self._made: BoundedCache[int, Entry] = BoundedCache(MADE)

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, row: int) -> Entry: ...

    @overload
    def __getitem__(self, row: slice) -> list[Entry]: ...

    def __getitem__(self, row: int | slice) -> Entry | list[Entry]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        entry = self._made.get(row)
        if entry is None:
            entry = self._make(row)
            self._made.put(row, entry)
        return entry

    def __iter__(self) -> Iterator[Entry]:
        return (self[i] for i in range(len(self)))

    def _make(self, row: int) -> Entry:
        fields = json.loads(bytes(self._fields[self._bounds[row]:self._bounds[row + 1]]))
        if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise ValueError(f"the library cache's entry {row} has no fields")  # its file passed its CRC: a forgery
        return Entry(self.keys[row], self._types[self._type[row]], fields, self._paths[self._path[row]],
                     self._line[row], self._aliases[row])


class _ByKey(Mapping[str, Entry]):
    """Entries by key, made when asked for."""

    def __init__(self, entries: PackedEntries) -> None:
        self._entries = entries
        self._rows = dict(zip(entries.keys, range(len(entries)), strict=True))

    def __getitem__(self, key: str) -> Entry:
        return self._entries[self._rows[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass
class PackedLibrary:
    """A library read back from its cache: a ``LibrarySearch`` whose entries are made as rows are reached."""

    entries: PackedEntries
    by_key: Mapping[str, Entry]
    bm25: Bm25Index
    typed: TypedIndex
    helpers: np.ndarray
    signature: tuple[tuple[str, str], ...]
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.entries)

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """A table derived from the entries, computed once per library."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]


def pack(corpus: Corpus, problems: Sequence[Diagnostic]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of a library's corpus (its BM25 and typed-text indexes built) and the problems its files
    and their merge had, for ``unpack``."""
    entries = corpus.entries
    types = sorted({e.entry_type for e in entries})
    paths = sorted({e.path for e in entries})
    type_of, path_of = {t: i for i, t in enumerate(types)}, {p: i for i, p in enumerate(paths)}
    fields = [json.dumps(e.fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
              for e in entries]
    bounds = np.zeros(len(fields) + 1, np.int64)
    np.cumsum([len(f) for f in fields], out=bounds[1:])
    arrays: dict[str, np.ndarray] = {
        "type": np.array([type_of[e.entry_type] for e in entries], np.int32),
        "path": np.array([path_of[e.path] for e in entries], np.int32),
        "line": np.array([e.line for e in entries], np.int64),
        "fields": np.frombuffer(b"".join(fields), np.uint8), "fields.bounds": bounds,
        "helpers": np.asarray(corpus.helpers, bool),
    }
    del fields
    index = corpus.bm25.cache_payload()
    vocab: dict[str, int] = index.meta["vocab"]
    columns = {"keys": [e.key for e in entries], "aliases": [e.alias_of for e in entries],
               "vocab": sorted(vocab, key=vocab.__getitem__)}
    for name, values in columns.items():
        arrays[f"{name}.text"], arrays[f"{name}.bounds"] = _strings(values)
    for kind, (text, starts) in corpus.typed.folded().items():
        arrays[f"typed.{kind}.text"] = np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)
        arrays[f"typed.{kind}.bounds"] = np.append(np.asarray(starts, np.int64), len(text))
    arrays.update({f"bm25.{name}": index.arrays[name] for name in ("data", "indices", "indptr")})
    meta = {"entries": len(entries), "types": types, "paths": paths, "signature": [list(s) for s in corpus.signature],
            "problems": [[d.path, d.line, d.message, d.severity] for d in problems],
            "bm25": {"k1": index.meta["k1"], "b": index.meta["b"]}}
    return meta, arrays


def _names(meta: Mapping[str, Any], name: str) -> list[str]:
    values = meta[name]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name}: not a list of strings")
    return values


def unpack(meta: Any, arrays: Mapping[str, np.ndarray]) -> tuple[PackedLibrary, list[Diagnostic]]:
    """The library and its problems back from ``pack``'s output; ValueError (or KeyError, TypeError) when they
    are not consistent."""
    n = meta["entries"]
    if not isinstance(n, int) or n < 0:
        raise ValueError("not a number of entries")
    types, paths = _names(meta, "types"), _names(meta, "paths")
    columns = {name: arrays[name] for name in ("type", "path", "line", "fields", "fields.bounds", "helpers")}
    for name, dtype, size in (("type", np.int32, len(types)), ("path", np.int32, len(paths)),
                              ("line", np.int64, None), ("helpers", np.bool_, None)):
        column = columns[name]
        if column.dtype != dtype or column.shape != (n,):
            raise ValueError(f"{name}: not a column of the entries")
        if size is not None and n and (column.min() < 0 or column.max() >= size):
            raise ValueError(f"{name}: a code out of range")
    bounds = columns["fields.bounds"]
    if (bounds.dtype != np.int64 or bounds.shape != (n + 1,) or bounds[0] != 0
            or bounds[-1] != len(columns["fields"]) or np.any(np.diff(bounds) < 0)):
        raise ValueError("fields: their bounds do not fit them")
    keys, aliases = (_split(*_text(arrays, name, n)) for name in ("keys", "aliases"))
    entries = PackedEntries(keys, aliases, columns, types, paths)
    vocab = _split(*_text(arrays, "vocab", len(arrays["vocab.bounds"]) - 1))
    settings = meta["bm25"]
    stored = Stored({"num_docs": n, "vocab": dict(zip(vocab, range(len(vocab)), strict=True))},
                    {name: arrays[f"bm25.{name}"] for name in ("data", "indices", "indptr")})
    bm25 = Bm25Index(entries, k1=float(settings["k1"]), b=float(settings["b"]), stored=stored)
    folded = {}
    for kind in FOLDED:
        text, starts = _text(arrays, f"typed.{kind}", n)
        folded[kind] = (text, starts[:-1])
    signature = tuple((str(path), str(digest)) for path, digest in meta["signature"])
    problems = [Diagnostic(str(path), int(line), str(message), str(severity))
                for path, line, message, severity in meta["problems"]]
    library = PackedLibrary(entries, _ByKey(entries), bm25, TypedIndex(entries, folded), columns["helpers"], signature)
    return library, problems
