"""Reading the user's files from disk: regular files only, under a size cap, in whichever encoding an editor wrote.

Every file texcite reads from disk (.tex sources, .bib files) goes through here, so a device, a FIFO, a huge file
or an impossible name (a NUL byte, a lone surrogate) named by a document costs one message, never a hang, all of
memory or the project. Text is UTF-8 with or without a byte-order mark, UTF-16 or UTF-32 with one (or UTF-16
without, recognised by its NUL bytes), else the 8-bit encoding inputenc declares in it, else Windows-1251 or
KOI8-R for Cyrillic and ISO-8859-7 for Greek, Windows-1252 or Latin-1 (``decode_text`` says which, for a
diagnostic).
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from typing import BinaryIO, Hashable

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
        except (OSError, ValueError):  # ValueError: a NUL byte or a lone surrogate in the name
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def read(self, path: str) -> str | None:
        return read_disk(path, self.max_bytes)

    def refusal(self, path: str) -> str | None:
        """Why ``path`` may not be read from disk for this client (None: it may; the server confines TCP clients)."""
        return None

    def folders(self) -> list[str]:
        """The workspace folders whose files are served (an editor's; none on the command line)."""
        return []


def inside(path: str, folder: str) -> bool:
    """Is ``path`` the folder or inside it, symbolic links resolved (the one containment check of the package)?"""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class UnreadableFile(OSError):
    """A file that cannot or must not be read; the message says why, for a person."""


def open_regular(path: str, limit: int) -> BinaryIO:
    """A regular file of at most ``limit`` bytes, open for reading, its size checked before any byte is read
    (opened without blocking: a FIFO's open returns at once and is then refused); UnreadableFile otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise UnreadableFile(f"cannot read {path}: {err.strerror or err}") from None
    except ValueError:  # a NUL byte or a lone surrogate: no file can have this name
        raise UnreadableFile(f"cannot read {path!r}: not a possible file name") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"{path} is not a regular file; not read")
        if st.st_size > limit:
            raise UnreadableFile(f"{path} is {st.st_size >> 20} MB, over the {limit >> 20} MB limit; not read")
        return os.fdopen(fd, "rb")
    except BaseException as err:
        os.close(fd)
        if isinstance(err, OSError) and not isinstance(err, UnreadableFile):
            raise UnreadableFile(f"cannot read {path}: {err.strerror or err}") from None
        raise


def read_bytes(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; UnreadableFile otherwise."""
    with open_regular(path, limit) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as err:
            raise UnreadableFile(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > limit:  # grew while being read
        raise UnreadableFile(f"{path} is over the {limit >> 20} MB limit; not read")
    return data


# Byte-order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


_C1_RE = re.compile(rb"[\x80-\x9f]")
_UTF8_SEQUENCE_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH = bytes(range(0x80, 0x100))
_HIGH_RUN_RE = re.compile(rb"[\x80-\xff]{3,}")
# ``\usepackage[cp1251]{inputenc}`` on a line of its own bytes (not after a %): the encoding the file says it is in.
_INPUTENC_RE = re.compile(rb"^[^%\n]*\\usepackage\s*\[\s*([A-Za-z0-9-]+)\s*\]\s*\{inputenc\}", re.MULTILINE)
_INPUTENC = {b"latin1": "latin-1", b"latin9": "iso8859-15", b"latin2": "iso8859-2", b"latin5": "iso8859-9",
             b"cp1250": "cp1250", b"cp1251": "cp1251", b"cp1252": "cp1252", b"ansinew": "cp1252", b"koi8-r": "koi8-r",
             b"koi8-u": "koi8-u", b"cp866": "cp866", b"applemac": "mac-roman", b"latin10": "iso8859-16",
             b"iso-8859-7": "iso8859-7", b"cp1253": "cp1253"}
_NAMES = {"latin-1": "Latin-1", "cp1251": "Windows-1251", "koi8-r": "KOI8-R", "cp1252": "Windows-1252",
          "iso8859-7": "ISO-8859-7 (Greek)"}
# The 8-bit encodings of a script whose words are runs of 8-bit bytes, each with that script's most frequent letters.
_FREQUENT = {"cp1251": "оеаинтсрвлі", "koi8-r": "оеаинтсрвл", "iso8859-7": "αοετιναρσςυ"}


def text_encoding(data: bytes) -> tuple[str | None, int]:
    """(encoding, length of its byte-order mark) when the bytes say which: a BOM, or UTF-16 without one (mostly
    ASCII text then has a NUL in every other byte, and nearly nowhere else); (None, 0) otherwise."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    head = data[:4096]
    pairs = len(head) // 2
    if pairs >= 8:
        even, odd = head[0:pairs * 2:2].count(0), head[1:pairs * 2:2].count(0)
        if odd >= 0.4 * pairs and even <= 0.05 * pairs:
            return "utf-16-le", 0
        if even >= 0.4 * pairs and odd <= 0.05 * pairs:
            return "utf-16-be", 0
    return None, 0


def _count(data: bytes, of: bytes) -> int:
    return len(data) - len(data.translate(None, of))


def _single_byte_encoding(data: bytes) -> tuple[str, bool]:
    """The 8-bit encoding of text that is not UTF-8, and whether the text declares it: the one
    ``\\usepackage[..]{inputenc}`` names in it, else Cyrillic or Greek when most of its 8-bit bytes make runs
    (words) of them (Windows-1251, KOI8-R or ISO-8859-7: the one reading them as that script's frequent letters),
    else Windows-1252 when it holds bytes 0x80-0x9F, else Latin-1."""
    declared = _INPUTENC_RE.search(data)
    if declared and declared.group(1).lower() in _INPUTENC:
        return _INPUTENC[declared.group(1).lower()], True
    # Cyrillic and Greek words are runs of 8-bit letters; a Western text's accents stand among ASCII letters
    # ('Müller'). Which script: the encoding whose reading gives the letters that script uses most.
    runs = b"".join(_HIGH_RUN_RE.findall(data))
    if len(runs) > 0.5 * _count(data, _HIGH):
        return max(_FREQUENT, key=lambda e: sum(runs.decode(e, errors="replace").count(c) for c in _FREQUENT[e])), False
    return ("cp1252" if _C1_RE.search(data) else "latin-1"), False


def decode_text(data: bytes) -> tuple[str, str | None, int]:
    """(text, problem, line): the text in the encoding its bytes show (``text_encoding``), else UTF-8 (a few bad
    bytes replaced when its other 8-bit bytes are UTF-8), else an 8-bit encoding (``_single_byte_encoding``);
    ``problem`` says what was not clean (None when nothing, or the file declares the encoding it is in), ``line``
    where the first bad byte was."""
    encoding, skip = text_encoding(data)
    if encoding is None:
        try:
            return data.decode("utf-8"), None, 0
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start)
            in_sequences = sum(map(len, _UTF8_SEQUENCE_RE.findall(data)))
            if in_sequences >= 0.5 * _count(data, _HIGH):  # UTF-8 with a few bad bytes: keep its accents
                return data.decode("utf-8", errors="replace"), "File is not valid UTF-8; bad bytes were replaced.", line
            encoding, declared = _single_byte_encoding(data)
            text = data.decode(encoding, errors="replace")
            if declared:
                return text, None, 0
            return text, f"File is not valid UTF-8; it was read as {_NAMES.get(encoding, encoding)}.", line
    body = data[skip:]
    try:
        return body.decode(encoding), None, 0
    except UnicodeDecodeError as err:
        text = body.decode(encoding, errors="replace")
        line = body[:err.start].decode(encoding, errors="replace").count("\n")
        return text, f"File is not valid {encoding.upper()}; bad bytes were replaced.", line


def read_disk(path: str, limit: int = MAX_TEX_BYTES) -> str | None:
    """A text file from disk as str (None if it cannot be read), in any encoding ``decode_text`` knows."""
    try:
        return decode_text(read_bytes(path, limit))[0]
    except UnreadableFile:
        return None
