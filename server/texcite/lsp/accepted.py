"""The citations the writer accepts: each completion list shown is an offer (``memory.Offer``) on its document;
after the edits pause, when the next list is asked for in the document, or when the editor shuts the server down,
a key of the list that is now in that citation command is remembered (``memory``), whatever the editor did with
the item. ``texcite.forgetAccepted`` deletes the memory."""

from __future__ import annotations

import asyncio

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from texcite.engine import Engine
from texcite.lsp.buffers import Buffers, fs_path
from texcite.lsp.jobs import Jobs
from texcite.latex.cite import CiteContext
from texcite.memory import Accepted, Offer, taken
from texcite.ranking import Result

FORGET_COMMAND = "texcite.forgetAccepted"
SETTLED_S = 0.5  # the edits pause this long before a citation is read (not while its key is being typed)


class AcceptedCitations:
    """Watches the documents where a list was shown, and remembers the key the writer took from it."""

    def __init__(self, ls: LanguageServer, engine: Engine, buffers: Buffers, jobs: Jobs) -> None:
        self.ls = ls
        self.engine = engine
        self.buffers = buffers
        self.jobs = jobs
        self._offers: dict[str, Offer] = {}  # per document: the latest list shown in it

    def offered(self, uri: str, text: str, result: Result, keys: list[str]) -> None:
        """A list of ``keys`` was shown for ``result`` on ``text`` (the document's text it was ranked on)."""
        path = fs_path(uri)
        if path is None or not self.engine.settings.recall.remember or not keys:
            return
        cite = result.request.cite
        previous = self._offers.get(uri)
        if previous is not None:  # a key taken from it before this list was asked for (after a comma, say)
            one = self._taken(uri, previous, text, self._cite(previous, text), typing=cite.prefix)
            if one is not None:
                self.jobs.spawn(asyncio.to_thread(self.engine.adaptations.memory.remember, one))
        self._offers[uri] = Offer(path, text[:cite.command.start], cite.replace_start, cite.prefix,
                                  frozenset(cite.existing_keys), frozenset(keys))

    def changed(self, uri: str, closed: bool = False) -> None:
        """The document was edited (or closed: its offer goes)."""
        if closed:
            self._offers.pop(uri, None)
        elif uri in self._offers:
            self.jobs.later(("accepted", uri), SETTLED_S, lambda: self._read(uri))

    async def _read(self, uri: str) -> None:
        offer = self._offers.get(uri)
        if offer is None:
            return
        text = self.buffers.document(uri).source
        one = self._taken(uri, offer, text, await asyncio.to_thread(self._cite, offer, text))
        if one is not None:
            await asyncio.to_thread(self.engine.adaptations.memory.remember, one)

    def _cite(self, offer: Offer, text: str) -> CiteContext | None:
        """The citation at ``offer``'s place in ``text``; None when the text before its command changed."""
        return self.engine.cite_at(offer.file, text, offer.at) if text.startswith(offer.before) else None

    def _taken(self, uri: str, offer: Offer, text: str, cite: CiteContext | None, typing: str = "") -> Accepted | None:
        """The key taken from ``offer`` (see ``memory.taken``); the offer goes once it no longer stands."""
        one, stands = taken(offer, text, cite, typing)
        if not stands and self._offers.get(uri) is offer:
            del self._offers[uri]
        return one if self.engine.settings.recall.remember else None

    def flush(self) -> None:
        """Read every document's offer now, without waiting for a pause (the editor is quitting: a key accepted
        just before is not lost)."""
        for uri, offer in list(self._offers.items()):
            text = self.buffers.document(uri).source
            one = self._taken(uri, offer, text, self._cite(offer, text))
            if one is not None:
                self.engine.adaptations.memory.remember(one)

    async def forget(self) -> int:
        """Run ``texcite.forgetAccepted``: delete the memory, and say how much it held."""
        self._offers.clear()
        memory = self.engine.adaptations.memory
        count = await asyncio.to_thread(memory.forget)
        self.ls.window_show_message(lsp.ShowMessageParams(
            type=lsp.MessageType.Info, message=f"texcite: forgot {count} accepted citation{'s' * (count != 1)} "
                                               f"({memory.path})."))
        return count
