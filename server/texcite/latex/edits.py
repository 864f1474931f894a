"""Where two versions of a text differ, found fast: their common prefix and suffix (chunk comparisons at memcmp
speed, then a binary search), and the line bounds around an offset. ``latex.facts`` updates a file's facts in place
from them."""

from __future__ import annotations

_CHUNK = 1 << 16


def common_prefix(a: str, b: str) -> int:
    """Length of the common prefix: chunk comparisons at memcmp speed, then a binary search in the last chunk."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i:i + _CHUNK] == b[i:i + _CHUNK]:
        i += _CHUNK
    lo, hi = i, min(n, i + _CHUNK)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[i:mid] == b[i:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the common suffix, at most ``limit``."""
    la, lb = len(a), len(b)
    i = 0
    while i < limit and a[la - min(i + _CHUNK, limit):la - i] == b[lb - min(i + _CHUNK, limit):lb - i]:
        i = min(i + _CHUNK, limit)
        if i == limit:
            return limit
    lo, hi = i, min(limit, i + _CHUNK)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - i] == b[lb - mid:lb - i]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def start_of_line(text: str, offset: int, lines_before: int) -> int:
    """The start of the line ``lines_before`` lines above the one holding ``offset``."""
    for _ in range(lines_before + 1):
        offset = text.rfind("\n", 0, max(0, offset - 1)) + 1 if offset > 0 else 0
    return offset


def end_of_line(text: str, offset: int, lines_after: int) -> int:
    """The end of the line ``lines_after`` lines below the one holding ``offset``."""
    for _ in range(lines_after + 1):
        offset = text.find("\n", offset + 1) if offset < len(text) else len(text)
        if offset == -1:
            return len(text)
    return offset
