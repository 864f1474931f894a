"""Accepting a library item: its completion ``command`` (``texcite.addLibraryEntry``) makes the server send
``workspace/applyEdit`` appending the entry to the project's bibliography, at the end of the text the editor has
(its open buffer, unsaved edits and all, else the file), so the editor's undo takes it back. A bibliography that
is missing, read-only or refuses the edit gets a message holding the entry's text: never a lost entry.

A client that inserts the key without running the item's command (Neovim's omnifunc) leaves a citation of a key
no .bib defines: its diagnostic says the library has it, and the quick fix (a code action) runs the same command.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any, Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from texcite.bib.model import LibraryRef
from texcite.engine import Engine
from texcite.library.addition import Addition, target_bib
from texcite.lsp.buffers import Buffers, fs_path
from texcite.lsp.positions import DocumentPositions
from texcite.positions import Positions

ADD_COMMAND = "texcite.addLibraryEntry"


def add_command(uri: str, key: str, ref: LibraryRef, bib_name: str) -> lsp.Command:
    """The command a library completion item runs once accepted: ``uri`` is the document, ``key`` the key inserted."""
    return lsp.Command(title=f"Add {key} to {bib_name}", command=ADD_COMMAND,
                       arguments=[{"uri": uri, "key": key, "file": ref.file, "libraryKey": ref.key}])


def defines(text: str, key: str) -> bool:
    """Does a bibliography's text define ``key`` already (an item accepted twice adds nothing)?"""
    return re.search(r"@\w+\s*[{(]\s*" + re.escape(key) + r"\s*,", text) is not None


class LibraryEntries:
    """Adds accepted library entries to the project's bibliography through the client."""

    def __init__(self, ls: LanguageServer, engine: Engine, buffers: Buffers, positions: DocumentPositions) -> None:
        self.ls = ls
        self.engine = engine
        self.buffers = buffers
        self.positions = positions

    def _tell(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        self.ls.window_show_message(lsp.ShowMessageParams(type=kind, message=message))

    def _keep(self, found: Addition, why: str) -> None:
        self._tell(f"texcite: {why}. Add this entry to your bibliography yourself:\n\n{found.text}")

    async def add(self, arguments: Sequence[Any]) -> bool:
        """Run ``texcite.addLibraryEntry``; True when the entry is in the bibliography (added now or before)."""
        arg = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
        uri, key, file, library_key = (str(arg.get(name, "")) for name in ("uri", "key", "file", "libraryKey"))
        if not (uri and key and file and library_key):
            return False
        path = fs_path(uri) or uri
        found = await asyncio.to_thread(self.engine.library_addition, path, LibraryRef(file, library_key), key)
        if found is None:
            self._tell(f"texcite: {library_key} is no longer in {file}; nothing was added.")
            return False
        bib = found.bib
        if bib is None:
            self._keep(found, f"the document names no .bib file to add {key} to")
            return False
        doc = next((d for d in list(self.ls.workspace.text_documents.values()) if fs_path(d.uri) == bib), None)
        text = doc.source if doc is not None else await asyncio.to_thread(self.buffers.read, bib)
        if text is None:
            self._keep(found, f"{bib} does not exist or cannot be read")
            return False
        if doc is None and not os.access(bib, os.W_OK):
            self._keep(found, f"{bib} is read-only")
            return False
        if defines(text, key):
            return True
        positions = self.positions.of(doc) if doc is not None else \
            Positions(text, lsp.PositionEncodingKind(self.ls.workspace.position_codec.encoding).value)
        gap = "" if not text.strip() or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
        # Before the final newline, if any: a client that keeps no line after it (Neovim) would otherwise add the
        # entry's own final newline as an empty last line. The text is the same either way.
        newline = "\r\n" if text.endswith("\r\n") else "\n" if text.endswith("\n") else ""
        new_text = newline + gap + found.text if newline else gap + found.text + "\n"
        at = lsp.Position(*positions.position(len(text) - len(newline)))
        edit = lsp.TextEdit(range=lsp.Range(at, at), new_text=new_text)
        label = f"Add {key} to {os.path.basename(bib)}"
        try:
            result = await self.ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(
                edit=lsp.WorkspaceEdit(changes={doc.uri if doc is not None else from_fs_path(bib) or bib: [edit]}),
                label=label))
        except Exception as err:  # the client failed the request
            self._keep(found, f"the editor did not apply the edit ({err})")
            return False
        if not result.applied:
            self._keep(found, f"the editor did not apply the edit ({result.failure_reason or 'no reason given'})")
        return result.applied

    async def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        """A quick fix per undefined key the library has (its diagnostic carries ``libraryKey``)."""
        uri = params.text_document.uri
        actions = []
        for diagnostic in params.context.diagnostics:
            data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
            key = str(data.get("libraryKey", ""))
            ref = self.engine.library_entry(key) if key else None
            if ref is None:
                continue
            path = fs_path(uri) or uri
            project = await asyncio.to_thread(self.engine.project, path)
            bib = target_bib(project, path, self.engine.settings.library.target_bib, self.engine.workspace)
            bib_name = os.path.basename(bib) if bib else "the project's bibliography"
            actions.append(lsp.CodeAction(title=f"Add {key} from your library to {bib_name}",
                                          kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                                          is_preferred=True, command=add_command(uri, key, ref, bib_name)))
        return actions
