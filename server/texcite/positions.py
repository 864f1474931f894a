"""Positions in a text: offsets (code points into a Python string) <-> (line, character) pairs, characters counted
in the code units of an encoding (LSP's UTF-16 by default; UTF-8 and UTF-32 where a client negotiates them). The
one line index of the package: the LSP layer, the CLI's ``--line``/``--character`` and the scanners use it.

Code units are counted by encoding a line (C speed): walking a 5 MB line character by character costs a second.
"""

from __future__ import annotations

import bisect

# Code units per encoding: (Python codec, bytes per unit).
CODECS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}


def line_starts(text: str) -> list[int]:
    """Offset of every line's first character (code points), found at C speed."""
    import numpy as np

    units = np.frombuffer(text.encode("ascii"), np.uint8) if text.isascii() else \
        np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    return [0, *(np.flatnonzero(units == 10) + 1).tolist()]


class Positions:
    """Offsets of one text <-> (line, character) in ``encoding`` (``utf-8``, ``utf-16`` or ``utf-32``)."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.encoding, self.width = CODECS.get(encoding, CODECS["utf-16"])
        self.starts = line_starts(text)

    def _units(self, segment: str) -> int:
        if segment.isascii():
            return len(segment)
        return len(segment.encode(self.encoding, "surrogatepass")) // self.width

    def _column(self, line: str, units: int) -> int:
        """The code point index of ``units`` code units into ``line`` (clamped to its end)."""
        if line.isascii():
            return min(units, len(line))
        data = line.encode(self.encoding, "surrogatepass")[: units * self.width]
        try:  # lone surrogates are one code unit each, as the client counts them: kept, not dropped
            chars = data.decode(self.encoding, "surrogatepass")
        except UnicodeDecodeError as err:  # cut inside a character: before it
            chars = data[:err.start].decode(self.encoding, "surrogatepass")
        if chars and chars[-1] != line[len(chars) - 1]:  # half of a surrogate pair: before the character
            chars = chars[:-1]
        return len(chars)

    def _line(self, line: int) -> str:
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[line]:end]

    def offset(self, line: int, character: int) -> int:
        """The offset of a position; past a line's end clamps to it, past the text to its end, before it to 0."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        return self.starts[line] + self._column(self._line(line), max(0, int(character)))

    def position(self, offset: int) -> tuple[int, int]:
        """(line, character) of an offset (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, self._units(self.text[self.starts[line]:offset])
