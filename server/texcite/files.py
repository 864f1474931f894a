"""Reading the user's files from disk: regular files only, under a size cap, undecodable bytes replaced.

Every file texcite reads from disk (.tex sources, .bib files) goes through here, so a device, a FIFO or a huge
file named by a document costs one message, never a hang or all of memory.
"""

from __future__ import annotations

import os
import stat
from typing import Hashable

MAX_TEX_BYTES = 64 * 1024 * 1024
MAX_BIB_BYTES = 256 * 1024 * 1024

class Sources:
    """Where the text of a .tex file comes from: the disk here; the server's editor buffers come first (a subclass).

    ``stamp`` changes whenever the text may have changed, so facts scanned from a file are kept until then.
    """

    max_bytes = MAX_TEX_BYTES  # the engine sets texcite.files.maxTexSize here

    def stamp(self, path: str) -> Hashable | None:
        """A value that changes with the file's content; None when there is no such file."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def read(self, path: str) -> str | None:
        return read_disk(path, self.max_bytes)

    def folders(self) -> list[str]:
        """The workspace folders whose files are served (an editor's; none on the command line)."""
        return []


def inside(path: str, folder: str) -> bool:
    """Is ``path`` the folder or inside it, symbolic links resolved (the one containment check of the package)?"""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class UnreadableFile(OSError):
    """A file that cannot or must not be read; the message says why, for a person."""


def read_bytes(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; UnreadableFile otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise UnreadableFile(f"cannot read {path}: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"{path} is not a regular file; not read")
        if st.st_size > limit:
            raise UnreadableFile(f"{path} is {st.st_size >> 20} MB, over the {limit >> 20} MB limit; not read")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:  # grew while being read
            raise UnreadableFile(f"{path} is over the {limit >> 20} MB limit; not read")
        return data
    except OSError as err:
        if isinstance(err, UnreadableFile):
            raise
        raise UnreadableFile(f"cannot read {path}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def read_disk(path: str, limit: int = MAX_TEX_BYTES) -> str | None:
    """A text file from disk as str (None if it cannot be read); bad bytes become U+FFFD rather than an error."""
    try:
        return read_bytes(path, limit).decode("utf-8", errors="replace")
    except UnreadableFile:
        return None
