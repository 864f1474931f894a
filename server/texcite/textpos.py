"""LSP positions (0-based line, UTF-16 character) <-> offsets into a Python string."""

from __future__ import annotations

import bisect


class LineIndex:
    """Line starts of a text, for converting between offsets and LSP positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        pos = text.find("\n")
        while pos != -1:
            self.starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    def offset(self, line: int, character: int) -> int:
        """Offset of an LSP position; positions past a line's end clamp to it, past the text to its end."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        start = self.starts[line]
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        units = 0
        i = start
        while i < end and units < character:
            units += 2 if ord(self.text[i]) > 0xFFFF else 1
            i += 1
        return i

    def position(self, offset: int) -> tuple[int, int]:
        """LSP (line, character) of an offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        segment = self.text[self.starts[line] : offset]
        return line, len(segment) + sum(1 for ch in segment if ord(ch) > 0xFFFF)
