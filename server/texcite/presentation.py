"""How an entry reads to a user: completion detail, markdown documentation, hover text and filter text."""

from __future__ import annotations

import os

from texcite.bib.model import Entry

FILTER_TEXT_LIMIT = 128  # VS Code cuts filterText here
ABSTRACT_EXCERPT = 400


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


def entry_markdown(entry: Entry, why: str | None = None, abstract_limit: int | None = ABSTRACT_EXCERPT) -> str:
    """Title, authors, venue and year, an abstract excerpt, and (for completions) why it ranked."""
    lines = [f"**{_md_escape(entry.title or entry.key)}**", ""]
    if entry.authors:
        lines.append(_md_escape(", ".join(entry.authors)))
    venue_year = ", ".join(p for p in (entry.venue, entry.year) if p)
    if venue_year:
        lines.append(f"*{_md_escape(venue_year)}*")
    abstract = entry.abstract
    if abstract:
        if abstract_limit is not None and len(abstract) > abstract_limit:
            abstract = abstract[:abstract_limit].rsplit(" ", 1)[0] + " …"
        lines += ["", _md_escape(abstract)]
    key = f"`{entry.cite_key}` (old key `{entry.key}`)" if entry.alias_of else f"`{entry.key}`"
    lines += ["", f"{key} · {entry.entry_type} · {os.path.basename(entry.path)}:{entry.line + 1}"]
    if why:
        lines += ["", why]
    return "  \n".join(lines).replace("  \n  \n", "\n\n")


def why_text(ranking: str, relevance: int, reasons: tuple[str, ...], rank: int,
             reranker_score: float | None = None) -> str:
    """Why an item ranked where it did: 'Rank 1 · relevance 100/100 · reranker score 0.93 — cited together with
    smith2020; title matches 'distillation' (BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http))'."""
    scored = f" · reranker score {reranker_score:.2f}" if reranker_score is not None else ""
    because = f" — {'; '.join(reasons)}" if reasons else ""
    return f"Rank {rank} · relevance {relevance}/100{scored}{because} ({ranking})."
