"""Completion, hover, definition and `texcite/suggest`: convert the request in, ask the engine, convert the
answer out. Items carry our order in ``sortText`` and the typed text as ``filterText``, so a client's own filter
keeps every item and ties them (VS Code then sorts by ``sortText``; prefix filters keep everything)."""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from texcite.latex.cite import key_at
from texcite.latex.scan import line_starts
from texcite.lsp.documents import INDEX_WAIT_S, fs_path, is_bib
from texcite.presentation import detail, entry_markdown, filter_text, why_text

if TYPE_CHECKING:
    from texcite.engine import Result, Suggestion
    from texcite.lsp.server import TexciteServer

SUGGEST_METHOD = "texcite/suggest"


# Code units per encoding, counted by encoding the text (C speed; pygls's codec walks a line character by character,
# which costs a second on a 5 MB line).
_CODECS = {lsp.PositionEncodingKind.Utf8: ("utf-8", 1), lsp.PositionEncodingKind.Utf16: ("utf-16-le", 2),
           lsp.PositionEncodingKind.Utf32: ("utf-32-le", 4)}


class Positions:
    """Offsets into a document's text <-> LSP positions in the encoding negotiated with the client (pygls's
    ``position_codec`` says which)."""

    def __init__(self, doc: TextDocument) -> None:
        self.text = text = doc.source
        self.encoding, self.width = _CODECS.get(doc.position_codec.encoding, _CODECS[lsp.PositionEncodingKind.Utf16])
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

    def offset(self, position: lsp.Position) -> int:
        if position.line >= len(self.starts):
            return len(self.text)
        line = max(0, int(position.line))
        return self.starts[line] + self._column(self._line(line), max(0, int(position.character)))

    def position(self, offset: int) -> lsp.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return lsp.Position(line, self._units(self.text[self.starts[line]:offset]))

    def range(self, start: int, end: int) -> lsp.Range:
        return lsp.Range(self.position(start), self.position(end))


def completion_list(result: Result, positions: Positions, limit: int) -> lsp.CompletionList:
    """LSP completion list of a ranking result: our order in sortText, the partial key replaced. Always incomplete:
    the server filters what is typed in the braces and may have a better order next time (embeddings or reranker
    scores still coming), so the editor asks again at every keystroke instead of filtering on its own."""
    cite = result.request.cite
    edit_range = positions.range(cite.replace_start, cite.replace_end)
    single_line = edit_range.start.line == edit_range.end.line
    shown = result.suggestions[:limit]
    items = []
    for s in shown:
        e = s.entry
        items.append(lsp.CompletionItem(
            label=e.key,
            kind=lsp.CompletionItemKind.Reference,
            detail=detail(e),
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                            value=entry_markdown(e, why_text(result.ranking, s.relevance, s.reasons, s.rank,
                                                                             s.rerank_score))),
            sort_text=f"{s.rank:06d}",
            # With text typed, the server has filtered: every item gets exactly that text, so no client filter drops
            # or re-scores it. With none, the words a first typed letter may start, for the moment before we re-ask.
            filter_text=cite.prefix if cite.prefix else filter_text(e),
            text_edit=lsp.TextEdit(range=edit_range, new_text=cite.insert_text(e.key)) if single_line else None,
            insert_text=None if single_line else cite.insert_text(e.key),
        ))
    return lsp.CompletionList(is_incomplete=True, items=items)


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    """One suggestion of a `texcite/suggest` answer (the extension's protocol.ts ``Suggestion``)."""
    e = s.entry
    return {"key": e.key, "rank": s.rank, "score": s.score, "relevance": s.relevance, "reasons": list(s.reasons),
            "title": e.title, "authors": ", ".join(e.authors), "year": e.year, "venue": e.venue}


@dataclass
class Ranked:
    """What ranking at a position gave: a result, or why there is none (outside a cite, or not ready / stale)."""

    result: Result | None
    retry: bool  # no answer yet: the editor should ask again (indexing, or the document changed meanwhile)
    positions: Positions | None = None


class Completion:
    """The requests that rank or look up entries at a position."""

    def __init__(self, server: "TexciteServer") -> None:
        self.server = server
        self._positions: dict[str, tuple[int | None, str, Positions]] = {}  # uri -> (version, text, positions)

    def positions(self, doc: TextDocument) -> Positions:
        """The document's line index, built once per version."""
        cached = self._positions.get(doc.uri)
        if cached is not None and cached[0] == doc.version and cached[1] is doc.source:
            return cached[2]
        positions = Positions(doc)
        self._positions[doc.uri] = (doc.version, doc.source, positions)
        return positions

    def forget(self, uri: str) -> None:
        self._positions.pop(uri, None)

    def range(self, doc: TextDocument, start: int, end: int) -> lsp.Range:
        return self.positions(doc).range(start, end)

    def _key_list_at(self, path: str, text: str, offset: int):
        """The citation context at ``offset`` (verbatim state from the file's facts); call in a worker thread."""
        engine = self.server.engine
        return engine.matcher.context_at(text, offset, engine.projects.facts(path, text).in_verbatim)

    async def rank(self, uri: str, position: lsp.Position, index_wait_s: float | None) -> Ranked:
        server = self.server
        engine = server.engine
        doc = server.workspace.get_text_document(uri)
        path = fs_path(uri) or uri
        version, text = doc.version, doc.source
        positions = self.positions(doc)
        offset = positions.offset(position)
        started = time.perf_counter()
        if await asyncio.to_thread(self._key_list_at, path, text, offset) is None:
            return Ranked(None, False)
        if not await server.documents.ensure_indexed(path, index_wait_s):
            return Ranked(None, True)
        result = await engine.suggest_async(path, text, offset, engine.settings.completion.deadline_ms / 1000.0)
        if result is None:
            return Ranked(None, False)
        if server.workspace.get_text_document(uri).version != version:
            return Ranked(None, True)
        status = server.status.status
        status.last_latency_ms = round((time.perf_counter() - started) * 1000, 1)
        status.indexed_entries = result.corpus_size
        return Ranked(result, False, positions)

    async def complete(self, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        uri = params.text_document.uri
        if is_bib(uri):
            return None
        ranked = await self.rank(uri, params.position, INDEX_WAIT_S)
        if ranked.retry:
            return lsp.CompletionList(is_incomplete=True, items=[])
        if ranked.result is None:
            return None
        return completion_list(ranked.result, ranked.positions, self.server.engine.settings.completion.max_items)

    async def _entry_at(self, uri: str, position: lsp.Position):
        if is_bib(uri):
            return None
        server = self.server
        doc = server.workspace.get_text_document(uri)
        positions = self.positions(doc)
        path = fs_path(uri)
        if path is None:
            return None
        context = await asyncio.to_thread(self._key_list_at, path, doc.source, positions.offset(position))
        use = key_at(doc.source, positions.offset(position), context)
        if use is None or not await server.documents.ensure_indexed(path):
            return None
        corpus = await asyncio.to_thread(server.engine.corpus, path)
        entry = corpus.by_key.get(use.key)
        return None if entry is None else (entry, positions.range(use.start, use.end))

    async def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        found = await self._entry_at(params.text_document.uri, params.position)
        if found is None:
            return None
        entry, where = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                    value=entry_markdown(entry, abstract_limit=1200)), range=where)

    async def definition(self, params: lsp.DefinitionParams) -> lsp.Location | None:
        found = await self._entry_at(params.text_document.uri, params.position)
        if found is None:
            return None
        entry = found[0]
        start = lsp.Position(entry.line, 0)
        return lsp.Location(uri=from_fs_path(entry.path), range=lsp.Range(start, start))

    async def suggest(self, params: Any) -> dict:
        """Ranked suggestions for the paragraph at a position, in or out of a cite command (VS Code QuickPick)."""
        server = self.server
        engine = server.engine
        uri = params.textDocument.uri
        position = lsp.Position(params.position.line, params.position.character)
        ranked = await self.rank(uri, position, index_wait_s=None)  # a user-invoked command may wait for the index
        cite = None
        if ranked.result is None:
            # Outside a cite command: rank for the paragraph as if a \cite{} stood at the cursor.
            doc = server.workspace.get_text_document(uri)
            offset = self.positions(doc).offset(position)
            text = doc.source[:offset] + "\\cite{}" + doc.source[offset:]
            path = fs_path(uri) or uri
            prepared = await asyncio.to_thread(engine.prepare, path, text, offset + len("\\cite{"))
            if prepared is None:
                return {"query": "", "suggestions": [], "cite": None}
            result = engine.finish(prepared, None)
        else:
            result = ranked.result
            group = result.request.cite.group
            if group is not None:
                r = ranked.positions.range(group.start, group.end)
                cite = {"keys": result.request.cite.command.keys(ranked.positions.text),
                        "range": {"start": {"line": r.start.line, "character": r.start.character},
                                  "end": {"line": r.end.line, "character": r.end.character}}}
        return {"query": result.query, "cite": cite,
                "suggestions": [suggestion_json(s) for s in result.suggestions[: engine.settings.completion.max_items]]}
