"""How an entry reads to a user: completion detail, the markdown card of its documentation and hover (with where it
is cited and why it ranked), and filter text."""

from __future__ import annotations

import os

from texcite.bib.model import Entry

FILTER_TEXT_LIMIT = 128  # VS Code cuts filterText here
ABSTRACT_EXCERPT = 300  # characters of the abstract a card shows
AUTHORS_SHOWN = 6  # a card names this many authors, then 'et al.'


def detail(entry: Entry) -> str:
    """'Smith et al. (2020) — Title' (parts that are missing are left out)."""
    who = entry.short_authors()
    year = f"({entry.year})" if entry.year else ""
    head = " ".join(p for p in (who, year) if p)
    return f"{head} — {entry.title}" if head and entry.title else head or entry.title or entry.key


def filter_text(entry: Entry) -> str:
    """Key, surnames, year and title words, so the editor's fuzzy filter matches any of them."""
    parts = [entry.key, *entry.surnames, entry.year, *entry.title.split()]
    out = ""
    for p in parts:
        if not p:
            continue
        candidate = f"{out} {p}" if out else p
        if len(candidate) > FILTER_TEXT_LIMIT:
            break
        out = candidate
    return out


def _md_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def entry_markdown(entry: Entry, why: str | None = None, cited: str = "",
                   abstract_limit: int | None = ABSTRACT_EXCERPT) -> str:
    """A card a writer reads at a glance: title, authors (the first few), venue and year, the abstract's first
    ``abstract_limit`` characters, where the project cites it (``cited``) and, for completions, why it ranked."""
    lines = [f"**{_md_escape(entry.title or entry.key)}**", ""]
    if entry.authors:
        authors = entry.authors
        shown = ", ".join(authors[:AUTHORS_SHOWN]) + (" et al." if len(authors) > AUTHORS_SHOWN else "")
        lines.append(_md_escape(shown))
    venue_year = ", ".join(p for p in (entry.venue, entry.year) if p)
    if venue_year:
        lines.append(f"*{_md_escape(venue_year)}*")
    abstract = " ".join(entry.abstract.split())
    if abstract:
        if abstract_limit is not None and len(abstract) > abstract_limit:
            abstract = abstract[:abstract_limit].rsplit(" ", 1)[0] + " …"
        lines += ["", _md_escape(abstract)]
    if cited:
        lines += ["", cited]
    if why:
        lines += ["", why]
    key = f"`{entry.cite_key}` (old key `{entry.key}`)" if entry.alias_of else f"`{entry.key}`"
    lines += ["", f"{key} · {entry.entry_type} · {os.path.basename(entry.path)}:{entry.line + 1}"]
    return "  \n".join(lines).replace("  \n  \n", "\n\n")


def cited_text(sections: list[str]) -> str:
    """Where the file cites a key, from the section title of each of its citations ('' for none): 'You cite it
    3 times in this file: in "Method" (2×) and "Results".'"""
    if not sections:
        return "You do not cite it in this file yet."
    counts: dict[str, int] = {}
    for title in sections:
        counts[title] = counts.get(title, 0) + 1
    places = [f"“{_md_escape(t)}”" + (f" ({n}×)" if n > 1 else "") for t, n in counts.items() if t]
    times = "once" if len(sections) == 1 else f"{len(sections)} times"
    where = f": in {', '.join(places[:-1])} and {places[-1]}" if len(places) > 1 else (
        f": in {places[0]}" if places else "")
    return f"You cite it {times} in this file{where}."


def why_text(ranking: str, relevance: int, reasons: tuple[str, ...], rank: int,
             reranker_score: float | None = None) -> str:
    """Why an item ranked where it did, in words: 'Why #1 (relevance 100/100): you cite it together with
    smith2020; its title shares 'distillation'. Ranked by BM25 + MiniLM.'"""
    scored = f", reranker score {reranker_score:.2f}" if reranker_score is not None else ""
    because = f": {'; '.join(reasons)}." if reasons else "."
    return f"**Why #{rank}** (relevance {relevance}/100{scored}){because} *Ranked by {_md_escape(ranking)}.*"
