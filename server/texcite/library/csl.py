"""CSL-JSON (Zotero's and Better BibTeX's native export) read as bibliography entries with BibTeX field names, so a
CSL library ranks, shows and is written out like a .bib one.

Types map to BibTeX's (``article-journal`` -> article, ``paper-conference`` -> inproceedings, ``chapter`` ->
incollection, ``thesis`` -> phdthesis or mastersthesis, ``report`` -> techreport, ``webpage`` -> online, the rest
-> misc; Crossref's names too); names become ``Last, First and …`` lists (a literal name braced: one corporate
author; names given as text kept); ``issued`` gives year and month (a date given as text its year);
``container-title`` the journal of an article, else the booktitle; a list-valued title (Crossref's) its first.

The key is the item's ``citation-key``, else its ``id`` — unless that id is the item's URI, as Zotero's own export
writes it for an item without a citation key (``http://zotero.org/users/…/items/BDQRTS3T``): a writer would not
want that in a citation, so the item gets the key Google Scholar would give it (``vaswani2017attention``: first
author, year, first word of the title that is not a function word; ``b``, ``c``, … after a key already made).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from typing import Any

from texcite.bib.model import BibFile, Diagnostic, Entry
from texcite.textnorm import fold

TYPES = {
    "article-journal": "article", "article-magazine": "article", "article-newspaper": "article", "article": "article",
    "paper-conference": "inproceedings", "book": "book", "chapter": "incollection", "entry-encyclopedia":
    "incollection", "entry-dictionary": "incollection", "thesis": "phdthesis", "report": "techreport",
    "webpage": "online", "post-weblog": "online", "post": "online", "manuscript": "unpublished",
    "dataset": "misc", "software": "misc",
    # Crossref's names, in exports built from its metadata
    "journal-article": "article", "proceedings-article": "inproceedings", "book-chapter": "incollection",
    "dissertation": "phdthesis", "monograph": "book", "edited-book": "book",
}
# CSL variable -> BibTeX field, for plain text variables.
FIELDS = {
    "title": "title", "publisher": "publisher", "publisher-place": "address", "volume": "volume", "issue": "number",
    "page": "pages", "DOI": "doi", "URL": "url", "abstract": "abstract", "ISBN": "isbn", "ISSN": "issn",
    "edition": "edition", "collection-title": "series", "note": "note", "language": "language",
}
_KEY_RE = re.compile(r"[\s,{}()\"=#%\\~]+")
_FUNCTION_WORDS = frozenset("a an the on of in for and to with from at by is are do does how what why when "
                            "towards toward via".split())


def _text(value: Any) -> str:
    """A field's text: a string or number, or the first of a list of them (Crossref's ``"title": ["…"]``)."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, int, float)) and str(v).strip()), "")
    return str(value).strip() if isinstance(value, (str, int, float)) else ""


def _names(people: Any) -> str:
    """A CSL name list as a BibTeX one: ``Family, Given and …``; a literal name braced (kept whole); names given as
    text (``"Smith, J."``, a list of them) as they are."""
    if isinstance(people, str):
        return people.strip()
    out = []
    for p in people if isinstance(people, list) else []:
        if isinstance(p, str) and p.strip():
            out.append(p.strip())
        if not isinstance(p, dict):
            continue
        family = " ".join(str(p.get(k, "")).strip() for k in ("non-dropping-particle", "family")).strip()
        given = str(p.get("given", "")).strip()
        if family:
            out.append(f"{family}, {given}" if given else family)
        elif p.get("literal"):
            out.append("{" + str(p["literal"]).strip() + "}")
    return " and ".join(out)


def _date(issued: Any) -> tuple[str, str]:
    """(year, month number or '') of a CSL date: ``date-parts``, else the first four digits of ``raw``/``literal``
    or of a date given as text (``"2018-05-01"``)."""
    if isinstance(issued, (str, int)):
        issued = {"raw": issued}
    if not isinstance(issued, dict):
        return "", ""
    parts = issued.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        first = parts[0]
        year = str(first[0]).strip()
        month = str(first[1]).strip() if len(first) > 1 else ""
        return (year, month) if year.lstrip("-").isdigit() else ("", "")
    found = re.search(r"\d{4}", str(issued.get("raw") or issued.get("literal") or ""))
    return (found.group(0), "") if found else ("", "")


def _given_key(item: dict) -> str:
    """The item's own key: its ``citation-key``, else its ``id`` unless that is a URI or a path ('' when none)."""
    given = str(item.get("citation-key") or "").strip() or str(item.get("id") or "").strip()
    if "/" in given and not item.get("citation-key"):
        return ""
    return _KEY_RE.sub("_", given).strip("_")


def _made_key(entry: Entry) -> str:
    """The key Google Scholar would give ``entry``: first author's surname, year, first title word that is not a
    function word, in ASCII lower case ('' when none of them has a letter or digit)."""
    def word(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", fold(text).encode("ascii", "ignore").decode())
    surnames = entry.surnames
    title = next((w for w in map(word, entry.title.split()) if w and w not in _FUNCTION_WORDS), "")
    return (word(surnames[0]) if surnames else "") + entry.year + title


def csl_entry(item: dict, path: str, line: int, taken: set[str]) -> Entry | None:
    """One CSL-JSON item as an entry (None without a key: see the module docstring); a key made here is none of
    ``taken`` (the keys the file's items give, and those made before), and joins it."""
    key = _given_key(item)
    if not key and "/" not in str(item.get("id") or ""):
        return None
    kind = str(item.get("type", ""))
    entry_type = TYPES.get(kind, "misc")
    if entry_type == "phdthesis" and "master" in str(item.get("genre", "")).lower():
        entry_type = "mastersthesis"
    fields: dict[str, str] = {}
    for name, bib_name in FIELDS.items():
        if value := _text(item.get(name)):
            fields[bib_name] = value
    for role in ("author", "editor"):
        names = _names(item.get(role))
        if names:
            fields[role] = names
    year, month = _date(item.get("issued"))
    if year:
        fields["year"] = year
    if month:
        fields["month"] = month
    container = _text(item.get("container-title"))
    if container:
        fields["journal" if entry_type == "article" else "booktitle"] = container
    keywords = item.get("keyword")
    if isinstance(keywords, str) and keywords.strip():
        fields["keywords"] = keywords.strip()
    if entry_type in ("phdthesis", "mastersthesis") and "publisher" in fields:
        fields["school"] = fields.pop("publisher")
    elif entry_type == "techreport" and "publisher" in fields:
        fields["institution"] = fields.pop("publisher")
    entry = Entry(key, entry_type, fields, path, line)
    if key:
        return entry
    made = _made_key(entry) or _KEY_RE.sub("_", str(item["id"]).rstrip("/").rsplit("/", 1)[-1]).strip("_")
    if not made:
        return None
    key = next((made + suffix for suffix in ("", *"bcdefghijklmnopqrstuvwxyz") if made + suffix not in taken), made)
    taken.add(key)
    return replace(entry, key=key)


def read_csl(data: bytes, path: str) -> BibFile:
    """A CSL-JSON file (a list of items, or ``{"items": [...]}``) as a parsed file; a file that is not CSL-JSON
    gives a diagnostic and no entries, an item that cannot be an entry one each. ``line`` of an entry (and of an
    item's diagnostic) is its place in the list (JSON has no useful line)."""
    digest = hashlib.sha1(data).hexdigest()
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        return BibFile(path, digest, diagnostics=[Diagnostic(path, 0, f"Not CSL-JSON: {err}")])
    items = raw.get("items") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        return BibFile(path, digest, diagnostics=[Diagnostic(path, 0, "Not CSL-JSON: no list of items")])
    if any(isinstance(item, dict) and "itemType" in item and "type" not in item for item in items[:10]):
        return BibFile(path, digest, diagnostics=[Diagnostic(
            path, 0, "Not CSL-JSON but Zotero's own JSON (items with an itemType): export the library as "
                     "'CSL JSON' or 'Better CSL JSON' (or as Better BibTeX's .bib) instead")])
    entries, skipped = [], []
    taken = {_given_key(item) for item in items if isinstance(item, dict)}
    for i, item in enumerate(items):
        entry = csl_entry(item, path, i, taken) if isinstance(item, dict) else None
        if entry is not None:
            entries.append(entry)
        else:
            why = "it has no id or citation-key" if isinstance(item, dict) else "it is not an object"
            skipped.append(Diagnostic(path, i, f"Item {i + 1} skipped: {why}"))
    return BibFile(path, digest, entries, skipped)
