"""A file of named numpy arrays, memory-mapped when read: the format of the library's own cache (``library.cache``).

Layout: ``MAGIC``, the header's length (8 bytes, little-endian), the header (JSON: format version, the file's key,
JSON-able metadata, and per array its name, dtype, shape, offset, length and CRC-32), then each array's raw bytes
at an offset aligned to 64 bytes. Nothing in it can run code: dtypes come from a short list of plain numbers, and
nothing is unpickled.

Reading maps the file read-only and checks, before any array is handed out, that the header is what the caller
asked for and that every array lies inside the file with its declared size and CRC-32 (which reads every byte
once: a damaged file is found at open, not by a request). The arrays are views of the mapping: their pages are
the page cache's, shared and never copied. Writing goes to a temporary file renamed into place, so a reader (this
process's mapping included) sees the old file, the new one or none, never half of one; a file is never changed in
place once written (a mapped file cut short under a reader would crash it).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from texcite.bib.diskcache import private_file
from texcite.files import open_regular

MAGIC = b"texcite-pack\n\x00\x00\x00"
FORMAT_VERSION = 1
ALIGN = 64
DTYPES = frozenset({"|u1", "|b1", "<i4", "<i8", "<f4"})  # what an array may hold: plain numbers only


@dataclass
class Pack:
    """What a pack file holds: JSON-able metadata and named arrays (read-only views of the file's mapping)."""

    meta: Any
    arrays: dict[str, np.ndarray]


def write_pack(path: str, key: str, meta: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``meta`` and ``arrays`` to ``path`` atomically (the folder created 0700, the file 0600); OSError or
    ValueError (an array of a dtype the format does not hold) when it cannot."""
    members, offset, table = [], 0, []
    for name, array in arrays.items():
        data = np.ascontiguousarray(array)
        dtype = data.dtype.newbyteorder("<").str if data.dtype.byteorder == "=" else data.dtype.str
        if dtype not in DTYPES:
            raise ValueError(f"{name}: a {dtype} array cannot be packed")
        raw = data.reshape(-1).view(np.uint8).data
        offset = -(-offset // ALIGN) * ALIGN
        table.append([name, dtype, list(data.shape), offset, raw.nbytes, zlib.crc32(raw)])
        members.append((offset, raw))
        offset += raw.nbytes
    header = json.dumps({"version": FORMAT_VERSION, "key": key, "meta": meta, "arrays": table},
                        ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    fh, tmp = private_file(os.path.dirname(path), suffix=".pack")
    try:
        with fh:
            fh.write(MAGIC + struct.pack("<Q", len(header)) + header)
            written = len(MAGIC) + 8 + len(header)
            for at, raw in members:
                fh.write(b"\x00" * (start + at - written))
                fh.write(raw)
                written = start + at + raw.nbytes
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_pack(path: str, key: str, limit: int) -> Pack:
    """The pack at ``path``, of at most ``limit`` bytes, written with ``key``; OSError (unreadable, too big, not a
    regular file) or ValueError (not exactly what it claims to be) otherwise."""
    with open_regular(path, limit) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < len(MAGIC) + 8:
            raise ValueError("not a texcite pack")
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    if view[:len(MAGIC)] != MAGIC:
        raise ValueError("not a texcite pack")
    (length,) = struct.unpack("<Q", view[len(MAGIC):len(MAGIC) + 8])
    if len(MAGIC) + 8 + length > size:
        raise ValueError("its header runs past its end")
    header = json.loads(bytes(view[len(MAGIC) + 8:len(MAGIC) + 8 + length]).decode("utf-8"))
    if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION or header.get("key") != key:
        raise ValueError("another format or key")
    start = -(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN
    arrays = {}
    for name, dtype, shape, offset, nbytes, crc in header["arrays"]:
        if dtype not in DTYPES or not all(isinstance(n, int) and n >= 0 for n in (*shape, offset, nbytes)):
            raise ValueError(f"{name}: not an array of plain numbers")
        kind = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if count * kind.itemsize != nbytes or start + offset + nbytes > size:
            raise ValueError(f"{name}: its size does not fit the file")
        raw = view[start + offset:start + offset + nbytes]
        if zlib.crc32(raw) != crc:
            raise ValueError(f"{name}: damaged (CRC-32)")
        arrays[str(name)] = np.frombuffer(mapped, dtype=kind, count=count, offset=start + offset).reshape(shape)
    return Pack(header.get("meta"), arrays)
