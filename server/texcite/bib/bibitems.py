r"""A document's own bibliography: the ``\bibitem[label]{key} text`` entries of its ``thebibliography``
environments, as a ``BibFile`` whose entries have the item's text as their title (so it is ranked and shown like a
.bib entry) and the first year in it."""

from __future__ import annotations

import hashlib
import re

from texcite.bib.model import BibFile, Entry
from texcite.latex.plaintext import to_plain
from texcite.latex.scan import Comments

_ENV_RE = re.compile(r"\\begin\s*\{thebibliography\}(?:\s*\{[^{}\n]*\})?"
                     r"(?P<body>.*?)(?:\\end\s*\{thebibliography\}|\Z)", re.DOTALL)
_ITEM_RE = re.compile(r"\\bibitem\s*(?:\[(?P<label>(?:[^\[\]]|\[[^\[\]]*\])*)\])?\s*\{(?P<key>[^{}\s,]+)\}")
_YEAR_RE = re.compile(r"\b(1[5-9]\d\d|20\d\d)[a-z]?\b")
_NATBIB_LABEL_RE = re.compile(r"^(?P<authors>.*?)\((?P<year>[^()]*)\)")


def bibitem_file(text: str, path: str) -> BibFile:
    """The ``\\bibitem`` entries of ``text`` (the .tex file at ``path``), comments left out."""
    comments = Comments(text)
    entries = []
    for env in _ENV_RE.finditer(text):
        if comments(env.start()):
            continue
        body_start = env.start("body")
        items = [m for m in _ITEM_RE.finditer(text, body_start, env.end("body")) if not comments(m.start())]
        for i, m in enumerate(items):
            end = items[i + 1].start() if i + 1 < len(items) else env.end("body")
            body = to_plain(text[m.end():end])
            fields = {"title": body}
            label = _NATBIB_LABEL_RE.match(m.group("label") or "")
            if label and label.group("authors").strip():  # natbib's [Author et al.(2020)Full names]
                fields["author"] = label.group("authors").strip().replace(" et al.", " and others")
            year = _YEAR_RE.search(body) or _YEAR_RE.search(m.group("label") or "")
            if year:
                fields["year"] = year.group(1)
            entries.append(Entry(m.group("key"), "bibitem", fields, path, text.count("\n", 0, m.start())))
    digest = "bibitems:" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    return BibFile(path, digest, entries)

