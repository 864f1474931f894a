"""The engine's source of text in a session: editor buffers first (through pygls's workspace), files on disk
otherwise; a file on disk is read again only when the client's watcher reports a change (or, for a client
without file watching, when its stat changes). A TCP client reads from disk only under the workspace folders it
declared (``access.refusal``); a stdio client is the user's own editor."""

from __future__ import annotations

import os
from typing import Hashable

from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from texcite.files import Sources
from texcite.lsp import access


def fs_path(uri: str) -> str | None:
    path = to_fs_path(uri)
    return os.path.normpath(path) if path else None


def is_bib(uri: str, language_id: str | None = None) -> bool:
    return (language_id or "") in ("bibtex", "biblatex") or uri.lower().endswith(".bib")


class Buffers(Sources):
    """Editor buffers over files on disk (called from worker threads)."""

    def __init__(self, ls: LanguageServer, confined: bool = False) -> None:
        super().__init__()
        self.ls = ls
        self.confined = confined  # a TCP session: disk reads only under the declared workspace folders
        self._disk: dict[str, Hashable | None] = {}  # stamps of files on disk, forgotten on a watcher event
        self.watching = False  # the client sends workspace/didChangeWatchedFiles for .tex and .bib

    def _buffer(self, path: str) -> TextDocument | None:
        wanted = os.path.normpath(path)
        for doc in list(self.ls.workspace.text_documents.values()):
            if fs_path(doc.uri) == wanted:
                return doc
        return None

    def stamp(self, path: str) -> Hashable | None:
        doc = self._buffer(path)
        if doc is not None:
            return ("buffer", doc.version)
        if self.refusal(path):
            return None
        if not self.watching:
            return super().stamp(path)
        if path not in self._disk:
            self._disk[path] = super().stamp(path)
        return self._disk[path]

    def read(self, path: str) -> str | None:
        doc = self._buffer(path)
        if doc is not None:
            return doc.source
        return None if self.refusal(path) else super().read(path)

    def refusal(self, path: str) -> str | None:
        """Why ``path`` may not be read from disk for this client (None: it may)."""
        if not self.confined:
            return None
        return access.refusal(path, self.declared_folders())

    def declared_folders(self) -> list[str]:
        """Every folder the client declared (workspace folders and the root)."""
        try:
            folders = [fs_path(f.uri) for f in list(self.ls.workspace.folders.values())]
            root = self.ls.workspace.root_path
        except RuntimeError:  # no workspace before initialize
            return []
        return [f for f in folders + [root] if f]

    def changed_on_disk(self, path: str) -> None:
        """The client's watcher saw ``path`` change: stat it again when next asked."""
        self._disk.pop(path, None)

    def document(self, uri: str) -> TextDocument:
        return self.ls.workspace.get_text_document(uri)

    def workspace_folder(self) -> str | None:
        """The first folder the client declared (None before `initialize`, or with no folder)."""
        return next(iter(self.declared_folders()), None)

    def folders(self) -> list[str]:
        """Every workspace folder (multi-root workspaces; kept current by workspace/didChangeWorkspaceFolders)."""
        try:
            folders = list(self.ls.workspace.folders.values())
        except RuntimeError:  # no workspace before initialize
            return []
        return [p for p in (fs_path(f.uri) for f in folders) if p]

    def open_tex_uris(self) -> list[str]:
        return [d.uri for d in list(self.ls.workspace.text_documents.values()) if not is_bib(d.uri, d.language_id)]
