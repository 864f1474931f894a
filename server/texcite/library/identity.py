"""Is a library entry one of the project's own works? The same DOI, the same title and year (folded by
``textnorm.fold``, punctuation and spacing ignored), or the same key with no title saying otherwise: then the
project's entry stands for it and the library's is not offered a second time. Within the library, the same DOI or
title and year (``work_ids``) is one work as well (two overlapping library files, theses' bibliographies merged). A
library entry whose key the project uses for another work is offered under a suffixed key (``free_key``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from texcite.bib.model import Entry
from texcite.retrieval.corpus import Corpus
from texcite.textnorm import fold

_WORD_RE = re.compile(r"[^\W_]+")
KEY_SUFFIX = "_lib"  # smith2020 taken by another work: smith2020_lib (then smith2020_lib2, …)


def norm_title(title: str) -> str:
    """A title as compared: folded, its words only ('{BERT}: Pre-training …' ~ 'Bert: pre-training …')."""
    return " ".join(_WORD_RE.findall(fold(title)))


def norm_doi(doi: str) -> str:
    """A DOI as compared: lower case, without a resolver prefix."""
    doi = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    return doi.strip()


def work_ids(entry: Entry) -> tuple[tuple[str, str], ...]:
    """What identifies ``entry``'s work beside its key: its DOI and its title with the year (each when it has one)."""
    doi, title = norm_doi(entry.fields.get("doi", "")), norm_title(entry.title)
    return (("doi", doi),) * bool(doi) + (("title", f"{title}\n{entry.year}"),) * bool(title)


@dataclass
class Identities:
    """The project's works by key, and by what else identifies them (``work_ids``)."""

    by_key: dict[str, Entry]
    works: set[tuple[str, str]] = field(default_factory=set)

    def same_work(self, entry: Entry, works: Sequence[tuple[str, str]]) -> bool:
        """Is ``entry`` (of the library; ``works``: its ``work_ids``) a work the project's bibliography holds?"""
        if any(work in self.works for work in works):
            return True
        mine = self.by_key.get(entry.key)
        if mine is None:
            return False
        title, theirs = norm_title(entry.title), norm_title(mine.title)
        return not (title and theirs and title != theirs)

    def free_key(self, key: str) -> str:
        """``key``, or with ``KEY_SUFFIX`` (and a number) when the project uses it for another work."""
        if key not in self.by_key:
            return key
        n = 1
        while True:
            candidate = f"{key}{KEY_SUFFIX}{n if n > 1 else ''}"
            if candidate not in self.by_key:
                return candidate
            n += 1


def project_identities(project: Corpus) -> Identities:
    return Identities(project.by_key, {work for e in project.entries for work in work_ids(e)})
