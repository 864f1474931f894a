"""LSP positions of open documents: each document's line index (``texcite.positions``) in the encoding negotiated
with the client, built once per version, and the conversions between offsets and ``lsp.Position``/``lsp.Range``."""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.workspace import TextDocument

from texcite.positions import Positions


class DocumentPositions:
    """The line index of each open document, by URI, kept for its current version."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int | None, str, Positions]] = {}  # uri -> (version, text, positions)

    def of(self, doc: TextDocument) -> Positions:
        """The document's line index (pygls's ``position_codec`` says which code units the client counts)."""
        cached = self._cache.get(doc.uri)
        if cached is not None and cached[0] == doc.version and cached[1] is doc.source:
            return cached[2]
        positions = Positions(doc.source, lsp.PositionEncodingKind(doc.position_codec.encoding).value)
        self._cache[doc.uri] = (doc.version, doc.source, positions)
        return positions

    def forget(self, uri: str) -> None:
        self._cache.pop(uri, None)

    def offset(self, doc: TextDocument, position: lsp.Position) -> int:
        return self.of(doc).offset(position.line, position.character)

    def range(self, doc: TextDocument, start: int, end: int) -> lsp.Range:
        return to_range(self.of(doc), start, end)


def to_position(positions: Positions, offset: int) -> lsp.Position:
    return lsp.Position(*positions.position(offset))


def to_range(positions: Positions, start: int, end: int) -> lsp.Range:
    return lsp.Range(to_position(positions, start), to_position(positions, end))
