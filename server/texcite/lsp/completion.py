"""Completion, hover, definition and `texcite/suggest`: convert the request in, ask the engine, convert the
answer out. Items carry our order in ``sortText`` and the typed text as ``filterText``, so a client's own filter
keeps every item and ties them (VS Code then sorts by ``sortText``; prefix filters keep everything)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from texcite.bib.model import Entry
from texcite.engine import Engine
from texcite.latex.cite import CiteContext, key_at
from texcite.library.addition import target_bib
from texcite.lsp.accepted import AcceptedCitations
from texcite.lsp.buffers import Buffers, fs_path, is_bib
from texcite.lsp.documents import INDEX_WAIT_S, Documents
from texcite.lsp.library import add_command
from texcite.lsp.positions import DocumentPositions, to_range
from texcite.lsp.status import StatusFeature
from texcite.positions import Positions
from texcite.presentation import cited_text, detail, entry_markdown, filter_text, why_text
from texcite.ranking import Result, Suggestion

SUGGEST_METHOD = "texcite/suggest"


def completion_list(result: Result, positions: Positions, limit: int, uri: str = "",
                    target: str | None = None) -> lsp.CompletionList:
    """LSP completion list of a ranking result: our order in sortText, the partial key replaced, each item's card
    saying where this file cites it (when it does) and why it ranked. An entry of the writer's library says so and
    carries the command that adds it to ``target`` (the project's bibliography) once accepted. Always incomplete:
    the server filters what is typed in the braces and may have a better order next time (embeddings or reranker
    scores still coming), so the editor asks again at every keystroke instead of filtering on its own."""
    cite = result.request.cite
    edit_range = to_range(positions, cite.replace_start, cite.replace_end)
    single_line = edit_range.start.line == edit_range.end.line
    shown = result.suggestions[:limit]
    sections: dict[str, list[str]] = {}  # key -> the section of each of its citations in this file
    for use in result.request.facts.cites if result.request.facts is not None else ():
        sections.setdefault(use.key, []).append(use.section)
    items = []
    offered: set[str] = set()
    for s in shown:
        e = s.entry
        if e.cite_key in offered or e.cite_key in cite.existing_keys:  # an old key (biblatex ids) of one offered
            continue
        offered.add(e.cite_key)
        why = why_text(result.ranking, s.relevance, s.reasons, s.rank, s.rerank_score)
        cited = cited_text(sections[e.key]) if e.key in sections else ""
        who = " ".join(filter(None, (e.short_authors(), e.year)))
        command = None
        if s.library is not None:
            bib_name = os.path.basename(target) if target else "the project's bibliography"
            cited = (f"*Library entry: not in {bib_name} yet — accepting adds it.*" if target else
                     "*Library entry: the document names no .bib file — accepting shows the entry to copy.*")
            who = f"library · {who}" if who else "library"
            command = add_command(uri, e.cite_key, s.library, bib_name)
        items.append(lsp.CompletionItem(
            label=e.cite_key,
            label_details=lsp.CompletionItemLabelDetails(description=who),
            kind=lsp.CompletionItemKind.Reference,
            detail=detail(e) if s.library is None else f"{detail(e)} (library)",
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=entry_markdown(e, why, cited)),
            command=command,
            sort_text=f"{s.rank:06d}",
            # With text typed, the server has filtered: every item gets exactly that text, so no client filter drops
            # or re-scores it. With none, the words a first typed letter may start, for the moment before we re-ask.
            filter_text=cite.prefix if cite.prefix else filter_text(e),
            text_edit=lsp.TextEdit(range=edit_range, new_text=cite.insert_text(e.cite_key)) if single_line else None,
            insert_text=None if single_line else cite.insert_text(e.cite_key),
        ))
    return lsp.CompletionList(is_incomplete=True, items=items)


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    """One suggestion of a `texcite/suggest` answer (the extension's protocol.ts ``Suggestion``)."""
    e = s.entry
    return {"key": e.key, "rank": s.rank, "score": s.score, "relevance": s.relevance, "reasons": list(s.reasons),
            "title": e.title, "authors": ", ".join(e.authors), "year": e.year, "venue": e.venue,
            "library": s.library.file if s.library is not None else None}


@dataclass
class Ranked:
    """What ranking at a position gave: a result, or why there is none (outside a cite, or not ready / stale)."""

    result: Result | None
    retry: bool  # no answer yet: the editor should ask again (indexing, or the document changed meanwhile)
    positions: Positions | None = None


class Completion:
    """The requests that rank or look up entries at a position."""

    def __init__(self, engine: Engine, buffers: Buffers, documents: Documents, positions: DocumentPositions,
                 status: StatusFeature, accepted: AcceptedCitations) -> None:
        self.engine = engine
        self.buffers = buffers
        self.documents = documents
        self.positions = positions
        self.status = status
        self.accepted = accepted

    async def rank(self, uri: str, position: lsp.Position, index_wait_s: float | None) -> Ranked:
        engine = self.engine
        doc = self.buffers.document(uri)
        path = fs_path(uri) or uri
        version, text = doc.version, doc.source
        positions = self.positions.of(doc)
        offset = positions.offset(position.line, position.character)
        started = time.perf_counter()
        if await asyncio.to_thread(engine.cite_at, path, text, offset) is None:
            return Ranked(None, False)
        if not await self.documents.ensure_indexed(path, index_wait_s):
            return Ranked(None, True)
        result = await engine.suggest_async(path, text, offset, engine.settings.completion.deadline_ms / 1000.0)
        if result is None:
            return Ranked(None, False)
        if self.buffers.document(uri).version != version:
            return Ranked(None, True)
        self.status.answered((time.perf_counter() - started) * 1000, result.corpus_size)
        return Ranked(result, False, positions)

    async def complete(self, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        uri = params.text_document.uri
        if is_bib(uri):
            return None
        ranked = await self.rank(uri, params.position, INDEX_WAIT_S)
        if ranked.retry:
            return lsp.CompletionList(is_incomplete=True, items=[])
        if ranked.result is None or ranked.positions is None:
            return None
        result, engine = ranked.result, self.engine
        target = None
        if any(s.library is not None for s in result.suggestions):
            path = fs_path(uri) or uri
            target = target_bib(engine.project(path), path, engine.settings.library.target_bib, engine.workspace)
        shown = completion_list(result, ranked.positions, engine.settings.completion.max_items, uri, target)
        self.accepted.offered(uri, ranked.positions.text, result, [item.label for item in shown.items])
        return shown

    async def _entry_at(self, uri: str, position: lsp.Position) -> tuple[Entry, lsp.Range] | None:
        path = fs_path(uri)
        if is_bib(uri) or path is None:
            return None
        doc = self.buffers.document(uri)
        positions = self.positions.of(doc)
        offset = positions.offset(position.line, position.character)
        context: CiteContext | None = await asyncio.to_thread(self.engine.cite_at, path, doc.source, offset)
        use = key_at(doc.source, offset, context)
        if use is None or not await self.documents.ensure_indexed(path):
            return None
        corpus = await asyncio.to_thread(self.engine.corpus, path)
        entry = corpus.by_key.get(use.key)
        return None if entry is None else (entry, to_range(positions, use.start, use.end))

    async def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        found = await self._entry_at(params.text_document.uri, params.position)
        if found is None:
            return None
        entry, where = found
        doc = self.buffers.document(params.text_document.uri)
        facts = await asyncio.to_thread(self.engine.facts, fs_path(doc.uri) or doc.uri, doc.source)
        cited = cited_text([c.section for c in facts.cites if c.key == entry.key])
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                    value=entry_markdown(entry, cited=cited)), range=where)

    async def definition(self, params: lsp.DefinitionParams) -> lsp.Location | None:
        found = await self._entry_at(params.text_document.uri, params.position)
        if found is None:
            return None
        entry = found[0]
        start = lsp.Position(entry.line, 0)
        return lsp.Location(uri=from_fs_path(entry.path), range=lsp.Range(start, start))

    async def suggest(self, params: Any) -> dict:
        """Ranked suggestions for the paragraph at a position, in or out of a cite command (VS Code QuickPick)."""
        engine = self.engine
        uri = params.textDocument.uri
        position = lsp.Position(params.position.line, params.position.character)
        ranked = await self.rank(uri, position, index_wait_s=None)  # a user-invoked command may wait for the index
        cite = None
        if ranked.result is None:
            # Outside a cite command: rank for the paragraph as if a \cite{} stood at the cursor.
            doc = self.buffers.document(uri)
            offset = self.positions.offset(doc, position)
            text = doc.source[:offset] + "\\cite{}" + doc.source[offset:]
            path = fs_path(uri) or uri
            prepared = await asyncio.to_thread(engine.prepare, path, text, offset + len("\\cite{"))
            if prepared is None:
                return {"query": "", "suggestions": [], "cite": None}
            result = engine.finish(prepared, None)
        else:
            result = ranked.result
            group = result.request.cite.group
            if group is not None and ranked.positions is not None:
                r = to_range(ranked.positions, group.start, group.end)
                cite = {"keys": result.request.cite.command.keys(ranked.positions.text),
                        "range": {"start": {"line": r.start.line, "character": r.start.character},
                                  "end": {"line": r.end.line, "character": r.end.character}}}
        return {"query": result.query, "cite": cite,
                "suggestions": [suggestion_json(s) for s in result.suggestions[: engine.settings.completion.max_items]]}
