"""The writer's memory: the citations accepted from texcite's lists, remembered on this machine (the key, and the
text around the citation as the writer saw it: its file's lines around the command, the accepted key removed), in
``cacheDir/memory/accepted.jsonl``, never sent anywhere. Each remembered citation made in another project's files,
whose key a project's bibliography defines and which that project's saved files do not already cite, is one more
lesson of the project's adaptation (``lessons``): a writer's second paper learns from the first. A project's own
citations teach it through its saved files, so what its lists were before (a citation tried, deleted, put back)
changes none of its lists.

``recall.remember`` turns it off (nothing is written or read); ``forget`` deletes it all. A key counts as accepted
when, after a list was shown at a citation (an ``Offer``), one of its keys appears in that command (``taken``): the
editor inserted the item, or the writer typed the key out. So it works whatever the editor does with an item's
command (Eglot 1.9 and Neovim's omnifunc run none); the LSP layer (``lsp.accepted``) watches the edits.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass

from texcite.bib.diskcache import cache_dir, private_file, private_folder
from texcite.latex.cite import CiteContext
from texcite.latex.scan import keys_in

log = logging.getLogger(__name__)
MAX_REMEMBERED = 1000  # the newest are kept
BEFORE, AFTER = 4000, 1000  # characters of context kept before and after the citation (whole lines within them)
VERSION = 1


@dataclass(frozen=True)
class Accepted:
    """One accepted citation: ``key`` in ``file`` at ``line``; ``text`` the lines around it as the writer saw them
    with the key removed, the cursor at ``offset`` of ``text``, where the key was."""

    key: str
    file: str
    line: int
    text: str
    offset: int


def accepted(key: str, file: str, text: str, start: int, end: int) -> Accepted:
    """The memory of ``key`` accepted over ``text[start:end]`` (what the writer had typed there) in ``file``."""
    low, high = max(0, start - BEFORE), end + AFTER
    first = low if low == 0 or (cut := text.find("\n", low, start)) < 0 else cut + 1
    last = len(text) if high >= len(text) else high if (cut := text.rfind("\n", end, high)) < 0 else cut
    return Accepted(key, file, text.count("\n", 0, start), text[first:start] + text[end:last], start - first)


@dataclass(frozen=True)
class Offer:
    """A list shown at a citation of ``file``: the text before the command, where the chosen key goes (``at``),
    what the writer had typed there, the command's other keys and the keys the list offered."""

    file: str
    before: str
    at: int
    typed: str
    existing: frozenset[str]
    offered: frozenset[str]


def taken(offer: Offer, text: str, cite: CiteContext | None, typing: str = "") -> tuple[Accepted | None, bool]:
    """The key taken from ``offer`` in ``text`` (``cite``: the citation at ``offer.at`` of ``text``), and whether
    the offer still stands (its command is there and holds none of its keys yet). A key is taken when an offered
    key that the command did not hold, and that is neither what the writer had typed when the list came nor what
    they are typing now (``typing``: the text a newer list is asked for), is in the command at the same place, the
    text before it unchanged."""
    if cite is None or cite.command.start != len(offer.before) or not text.startswith(offer.before):
        return None, False
    for group in cite.command.groups:
        for m in keys_in(text, group.start, group.end):
            key = m.group(0)
            if key in offer.offered and key not in offer.existing and key not in (offer.typed, typing):
                return accepted(key, offer.file, text, m.start(), m.end()), False
    return None, True


class WriterMemory:
    """The accepted citations file of one cache folder (the ``cacheDir`` setting's, read when used)."""

    def __init__(self, folder: str = "") -> None:
        self.folder = folder  # the cacheDir setting ('' : the default folder)
        self._lock = threading.Lock()
        self._read: tuple[tuple[str, int, int], list[Accepted], int] | None = None  # stamp, entries, lines

    @property
    def path(self) -> str:
        return os.path.join(cache_dir(self.folder), "memory", "accepted.jsonl")

    def stamp(self) -> tuple[int, int] | None:
        """What changes when the memory does (None when there is none)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def remember(self, one: Accepted) -> None:
        """Add ``one``; past MAX_REMEMBERED the oldest go. A read-only or full disk costs only the memory."""
        path = self.path
        line = json.dumps({"v": VERSION, **asdict(one)}, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                private_folder(os.path.dirname(path))
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as fh:
                    fh.write(line)
                kept = self._entries()
                if self._read is not None and self._read[2] > MAX_REMEMBERED:  # lines, a citation accepted again too
                    self._rewrite(kept[-MAX_REMEMBERED:])
            except OSError as err:
                log.info("cannot remember an accepted citation in %s: %s", path, err)

    def entries(self) -> list[Accepted]:
        """The accepted citations, oldest first; one per file, line and key (the latest). Unreadable lines are
        skipped."""
        with self._lock:
            return self._entries()

    def forget(self) -> int:
        """Delete the memory; how many citations it held."""
        with self._lock:
            count = len(self._entries())
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self._read = None
            return count

    def _entries(self) -> list[Accepted]:
        path = self.path
        try:
            st = os.stat(path)
        except OSError:
            return []
        stamp = (path, st.st_mtime_ns, st.st_size)
        if self._read is not None and self._read[0] == stamp:
            return self._read[1]
        found: dict[tuple[str, int, str], Accepted] = {}
        lines = 0
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for raw in fh:
                    lines += 1
                    one = _parse(raw)
                    if one is not None:
                        found.pop((one.file, one.line, one.key), None)  # the latest goes last
                        found[(one.file, one.line, one.key)] = one
        except OSError as err:
            log.info("cannot read %s: %s", path, err)
            return []
        self._read = stamp, list(found.values()), lines
        return self._read[1]

    def _rewrite(self, kept: list[Accepted]) -> None:
        fh, tmp = private_file(os.path.dirname(self.path), ".jsonl")
        try:
            with fh:
                for one in kept:
                    fh.write((json.dumps({"v": VERSION, **asdict(one)}, ensure_ascii=False) + "\n").encode())
            os.replace(tmp, self.path)
            self._read = None
        except OSError:
            os.unlink(tmp)
            raise


def _parse(raw: str) -> Accepted | None:
    try:
        data = json.loads(raw)
        one = Accepted(str(data["key"]), str(data["file"]), int(data["line"]), str(data["text"]),
                       int(data["offset"]))
    except (ValueError, KeyError, TypeError):
        return None
    return one if data.get("v") == VERSION and 0 <= one.offset <= len(one.text) and one.key else None
