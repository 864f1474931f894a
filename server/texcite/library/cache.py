"""The library's own cache: the library as ranking reads it (``library.packed``), in one pack file
(``library.packfile``) per list of library files, so a restarted server's library answers without reading,
decoding or indexing any of them again.

A pack serves while every file's stamp is the one it was packed with: its modification time and size (what tells
the running index a file changed) and its inode and change time, which also change when a file is replaced by a
copy keeping the old time and size (``cp -p``). Its name comes from the files' paths, the pack format and the
search tokens' version, so a new state of the same files replaces the old one rather than piling up beside it.
An unreadable, damaged, foreign or outdated pack is ignored (logged) and the library built from its files again,
then packed anew once its typed-text index is built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Sequence

from texcite.bib.diskcache import DiskCache
from texcite.bib.model import Diagnostic
from texcite.cachefolder import keep_tidy, mark_used
from texcite.library.packed import PackedLibrary, pack, unpack
from texcite.library.packfile import read_pack, write_pack
from texcite.retrieval.corpus import Corpus

log = logging.getLogger(__name__)

PACK_VERSION = 2  # bumped whenever what a pack holds changes (its columns, the folding of its strings, the keys made)
# A pack weighs about as much as its files (fields as JSON, the score matrix, the folded strings); a bigger one than
# this many times their size, plus a megabyte, is not read.
_PACK_RATIO = 8
Stamp = tuple[int, int, int, int]


def file_stamp(path: str) -> Stamp | None:
    """What says a file is unchanged: (mtime_ns, size, inode, ctime_ns); None when it cannot be seen."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte or a lone surrogate in the name
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns


class LibraryCache:
    """Packs of libraries in the folder of a ``DiskCache`` (its ``directory`` as it is at each use)."""

    def __init__(self, disk: DiskCache, tokens_version: int) -> None:
        self.disk = disk
        self.tokens_version = tokens_version

    def _where(self, paths: Sequence[str]) -> tuple[str, str] | None:
        """(path, key) of the pack of ``paths``; None without a cache folder."""
        if not self.disk.directory:
            return None
        raw = json.dumps([PACK_VERSION, self.tokens_version, list(paths)], ensure_ascii=False)
        key = hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self.disk.directory, f"library-v{PACK_VERSION}-{key}.pack"), key

    def load(self, paths: Sequence[str],
             stamps: Sequence[Stamp | None]) -> tuple[PackedLibrary, list[Diagnostic]] | None:
        """The library of ``paths`` and its problems as packed when the files had ``stamps``; None when there is
        no such pack (none, another state of the files, or one not readable as such)."""
        where = self._where(paths)
        if where is None or not os.path.lexists(where[0]):
            return None
        limit = _PACK_RATIO * sum(s[1] for s in stamps if s is not None) + (1 << 20)
        try:
            found = read_pack(*where, limit)
            meta = found.meta
            if meta["stamps"] != [list(s) if s is not None else None for s in stamps]:
                log.info("library cache %s: the library's files changed since", where[0])
                return None
            library = unpack(meta["library"], found.arrays)
            mark_used(where[0])
            return library
        except (OSError, ValueError, KeyError, TypeError, IndexError, OverflowError) as err:
            log.info("ignoring library cache %s: %s", where[0], err)
            return None

    def save(self, paths: Sequence[str], stamps: Sequence[Stamp | None], corpus: Corpus,
             problems: Sequence[Diagnostic]) -> None:
        """Pack ``corpus`` (the library of ``paths`` read when they had ``stamps``, its indexes built) with its
        problems, replacing any earlier pack of these paths; a failure only costs the next start its speed."""
        where = self._where(paths)
        if where is None:
            return
        try:
            meta, arrays = pack(corpus, problems)
            write_pack(*where, {"stamps": [list(s) if s is not None else None for s in stamps], "library": meta},
                       arrays)
            written = os.path.getsize(where[0])
        except (OSError, ValueError) as err:
            log.info("cannot write library cache %s: %s", where[0], err)
            return
        keep_tidy(os.path.dirname(where[0]), written)
