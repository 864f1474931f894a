"""Parsing .bib text into decoded entries: a fast path for plain blocks, bibtexparser v2 (the parser of record)
for anything unusual, and diagnostics instead of lost data.

A malformed block becomes a diagnostic with its line while the rest of the file is kept; duplicate keys,
binary files and non-UTF-8 text are reported too. Each file is parsed on its own so a change re-parses only it.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from typing import Callable

import bibtexparser
from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock
from bibtexparser.model import Entry as ParsedEntry, String

from texcite.bib.comments import blank_entry_comments, disguise_longer_types, entry_type as written_type, skipped_entry
from texcite.bib.salvage import malformed
from texcite.bib.model import AND_RE, MONTHS, BibFile, Diagnostic, Entry, extended_name, split_and
from texcite.files import decode_text, text_encoding
from texcite.latex.plaintext import tidy_spaces, to_plain

log = logging.getLogger(__name__)
logging.getLogger("bibtexparser").setLevel(logging.ERROR)

# How a diagnostic of a key defined a second time in one file begins (the parse drops that entry, as BibTeX does).
DUPLICATE_KEY = "Duplicate key"

# Bytes that occur in text files; the rest are control characters that mark binary data.
_TEXT_BYTES = bytes([9, 10, 12, 13, 27, *range(32, 127), *range(128, 256)])


def _decode_names(raw: str) -> str:
    """Decode a name list name by name, so a braced corporate name keeps its 'and' (as '&') and stays one name."""
    names = []
    for n in split_and(raw):
        n = _braced_last_name(extended_name(n.strip()))
        plain = AND_RE.sub(" & ", _plain(n))
        names.append("{" + plain + "}" if n.startswith("{") and n.endswith("}") and _closes_at_end(n) else plain)
    return " and ".join(names)


def _braced_last_name(name: str) -> str:
    """``W. A. {Goddard III}`` -> ``{Goddard III}, W. A.``: a braced last word of several words is the last name
    (BibTeX's grouping), written as "Last, First" so it stays one once its braces are gone."""
    if "," in name or not name.endswith("}"):
        return name
    depth, cut = 0, -1
    for i, ch in enumerate(name):
        depth += (ch == "{") - (ch == "}")
        if depth == 0 and ch.isspace():
            cut = i
    last = name[cut + 1:]
    if cut < 0 or not last.startswith("{") or not _closes_at_end(last) or " " not in last.strip("{}").strip():
        return name
    return f"{last}, {name[:cut].strip()}"


def _closes_at_end(name: str) -> bool:
    """Is ``{...}`` one group (``{ACM}``) rather than two (``{van} {Dyke}``)?"""
    depth = 0
    for i, ch in enumerate(name):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0 and i < len(name) - 1:
            return False
    return True


def _split_concat(value: str) -> list[str]:
    """Split a raw BibTeX value on ``#`` outside braces and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return parts


def expand_concatenation(value: str, macros: dict[str, str]) -> str:
    """``jan # "~1"`` -> 'January~1', ``proc # {SIGIR}`` -> the @string's text + 'SIGIR'.

    bibtexparser leaves concatenations raw. A value is only expanded when every piece is a quoted or braced
    string, a number or a known macro, so a plain value containing '#' (``C# and F#``) stays as it is.
    """
    return value if "#" not in value else resolve_value(value, macros)


def resolve_value(value: str, macros: dict[str, str]) -> str:
    """A value as written in the .bib (``{A title}``, ``"A title"``, ``jan``, ``proc # {SIGIR}``) as the entry's
    text: its pieces unquoted, macros and months replaced; the value itself when a piece is none of these."""
    parts = _split_concat(value)
    out = []
    for part in parts:
        low = part.lower()
        if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
            out.append(part[1:-1])
        elif part.isdigit():
            out.append(part)
        elif low in macros:
            out.append(macros[low])
        elif low in MONTHS:
            out.append(MONTHS[low])
        else:
            return value
    return "".join(out)


# A field is read up to this many characters (abstracts run to a few thousand): decoding one is then one short
# step, and a parse in a worker thread hands the interpreter back to the event loop between fields.
MAX_FIELD_CHARS = 1 << 16
# Characters and pairs that make ``to_plain`` do more than fold whitespace.
_LATEX_CHARS_RE = re.compile(r"[\\%$~^_&{}]|--|``|''")
_LATEX_CHAR_RE = re.compile(r"[\\%$~^_&{}]")  # the characters of _LATEX_CHARS_RE (a plain set searches much faster)


def _plain(value: str) -> str:
    """``to_plain`` with a shortcut for values without LaTeX (most abstracts): same result, a fraction of the time."""
    if "--" in value or "``" in value or "''" in value or _LATEX_CHAR_RE.search(value) is not None:
        return to_plain(value)
    return tidy_spaces(value)


def _decode_field(name: str, value: str) -> str:
    """A field's value as plain text, from its first MAX_FIELD_CHARS characters."""
    value = value[:MAX_FIELD_CHARS]
    if name == "month":
        v = value.strip()
        return MONTHS.get(v.lower()[:3], v) if v.isalpha() else _plain(v)
    if name in ("url", "doi", "eprint", "file"):
        return value.strip()
    if name in ("author", "editor"):
        return _decode_names(value)
    return _plain(value)


def decode_bytes(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Text of a .bib file; None for binary data (>10% control bytes in the first 64 KB, when no byte-order mark or
    UTF-16 pattern says otherwise: a stray NUL in a text file costs only the entry it is in). UTF-8 with or without
    a BOM, UTF-16/32 (``files.decode_text``); anything else in an 8-bit encoding, with a warning saying which."""
    head = data[:65536]
    if text_encoding(head)[0] is None and len(head.translate(None, _TEXT_BYTES)) * 10 > len(head):
        return None, [Diagnostic(path, 0, "This is not a text file (binary data); it was not indexed.")]
    text, problem, line = decode_text(data)
    return text, [Diagnostic(path, line, problem, "warning")] if problem else []


# A line starting with optional blanks and '@' (as ``^[ \t]*@`` with re.MULTILINE after position 0; the literal
# newline first lets the regex engine skip ahead instead of trying every position).
_BLOCK_RE = re.compile(r"\n[ \t]*@")


def split_blocks(text: str) -> list[tuple[int, int, int]]:
    """(start, end, first line) of the text before the first ``@``-line and of every block starting at an ``@``-line."""
    starts = [0] + [m.start() + 1 for m in _BLOCK_RE.finditer(text)]
    out, line = [], 0
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(text)
        out.append((s, e, line))
        line += text.count("\n", s, e)
    return out


# The fast path reads only plain entry blocks: ``@type{key,`` then ``name = {braced}`` / ``"quoted"`` / digits
# fields, closed by ``}`` and followed by whitespace only. It mirrors bibtexparser's splitter on exactly those
# (braces preceded by a backslash do not count; enclosing braces/quotes are removed); anything else — @string,
# @comment, @preamble, macros, concatenations, parentheses, odd keys — goes to bibtexparser.
_FAST_HEAD_RE = re.compile(r"[ \t]*@(\w+)[ \t]*\{[ \t]*([^\s,{}()\"=#%\\]+)[ \t]*,")
_FAST_FIELD_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\-.:+]*)\s*=\s*")
_FAST_SEP_RE = re.compile(r"\s*([,}])")
_FAST_BRACES_RE = re.compile(r"(?<!\\)[{}]")
_DIGITS_RE = re.compile(r"[0-9]+")


def _braced_end(block: str, pos: int) -> int:
    """Index of the ``}`` closing the unescaped ``{`` at ``pos`` (-1 if none)."""
    depth = 0
    for b in _FAST_BRACES_RE.finditer(block, pos):
        if b.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return b.start()
    return -1


def _fast_entry(block: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(type, key, raw fields) of a plain entry block, or None when bibtexparser must read it."""
    m = _FAST_HEAD_RE.match(block)
    if m is None:
        return None
    entry_type, key = m.group(1), m.group(2)
    if entry_type.lower().startswith(("comment", "preamble", "string")):
        return None
    pos, n = m.end(), len(block)
    fields: list[tuple[str, str]] = []
    seen: set[str] = set()
    closed = False
    while True:
        m = _FAST_FIELD_RE.match(block, pos)
        if m is None:
            break
        name, pos = m.group(1), m.end()
        if pos >= n or name.lower() in seen:
            return None
        c = block[pos]
        if c == "{":
            end = block.find("}", pos + 1)
            if end > 0 and block.find("{", pos + 1, end) < 0 and block[end - 1] != "\\":
                value, pos = block[pos + 1:end], end + 1  # no inner braces: the common case
            else:
                end = _braced_end(block, pos)
                if end < 0:
                    return None
                value, pos = block[pos + 1:end], end + 1
        elif c == '"':
            end = block.find('"', pos + 1)
            if end < 0 or block[end - 1] == "\\":
                return None
            value, pos = block[pos + 1:end], end + 1
        elif "0" <= c <= "9":
            d = _DIGITS_RE.match(block, pos)
            value, pos = d.group(), d.end()  # type: ignore[union-attr]
        else:
            return None
        seen.add(name.lower())
        fields.append((name, value))
        m = _FAST_SEP_RE.match(block, pos)
        if m is None:
            return None
        pos = m.end()
        if m.group(1) == "}":
            closed = True
            break
    if not closed:
        m = _FAST_SEP_RE.match(block, pos)
        if m is None or m.group(1) != "}":
            return None
        pos = m.end()
    if pos < n and not block[pos:].isspace():
        return None
    return entry_type, key, fields


def _make_entry(key: str, entry_type: str, raw_fields, macros: dict[str, str], path: str, line: int,
                resolve: Callable[[str, dict[str, str]], str] = expand_concatenation) -> Entry:
    """The entry of parsed fields: names in lower case, the first of a repeated one kept (as BibTeX does), each
    value resolved (``resolve``: concatenations of what bibtexparser's middleware unquoted, else the whole value)
    and decoded."""
    fields: dict[str, str] = {}
    for name, value in raw_fields:
        low = name.lower()
        if low not in fields:
            fields[low] = _decode_field(low, resolve(value, macros))
    return Entry(key=key, entry_type=written_type(entry_type), fields=fields, path=path, line=line)


def _parse_fast(text: str, path: str, digest: str) -> BibFile | None:
    """Plain entry blocks read by ``_fast_entry``, the other blocks by one bibtexparser call over their text.

    None (use bibtexparser for the whole file) when anything needs a diagnostic — a failed block, a duplicate
    key — or when a line ends in a backslash (bibtexparser then counts lines differently).
    """
    if "\\\n" in text:
        return None
    spans = split_blocks(text)
    fast: list = [None] * len(spans)
    slow: list[int] = []
    for i, (s, e, _) in enumerate(spans):
        block = text[s:e]
        if i == 0 and (not block or block.isspace()):
            continue
        got = _fast_entry(block)
        if got is None:
            slow.append(i)
        else:
            fast[i] = got
    macros: dict[str, str] = {}
    by_span: dict[int, list] = {}
    keys: list[str] = []
    if slow:
        fb_lines, line = [], 0
        for i in slow:
            s, e, _ = spans[i]
            fb_lines.append(line)
            line += text.count("\n", s, e)
        try:
            library = bibtexparser.parse_string("".join(text[spans[i][0]:spans[i][1]] for i in slow))
        except Exception:
            return None
        if library.failed_blocks or any(skipped_entry(c) for c in library.comments):
            return None  # the parser of record reports them
        for b in library.strings:
            macros[b.key.lower()] = b.value if isinstance(b.value, str) else str(b.value)
            keys.append(b.key)
        for entry in library.entries:
            j = max(0, bisect.bisect_right(fb_lines, entry.start_line or 0) - 1)
            span = slow[j]
            line = (entry.start_line or 0) - fb_lines[j] + spans[span][2]
            raw = [(f.key, f.value if isinstance(f.value, str) else str(f.value)) for f in entry.fields]
            by_span.setdefault(span, []).append((entry.entry_type, entry.key, raw, line))
            keys.append(entry.key)
    keys += [f[1] for f in fast if f is not None]
    if len({k.lower() for k in keys}) != len(keys):
        return None
    bib = BibFile(path=path, digest=digest)
    for i, (_, _, line) in enumerate(spans):
        got = fast[i]
        if got is not None:
            bib.entries.append(_make_entry(got[1], got[0], got[2], macros, path, line))
        else:
            for entry_type, key, raw, eline in by_span.get(i, ()):
                bib.entries.append(_make_entry(key, entry_type, raw, macros, path, eline))
    return bib


def parse_bib(text: str, path: str, digest: str | None = None) -> BibFile:
    """Parse .bib text; every block bibtexparser cannot read becomes a diagnostic, the rest is kept.
    ``digest``: the SHA-1 of ``text`` in UTF-8 when the caller already has it."""
    digest = digest or hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    text = disguise_longer_types(blank_entry_comments(text))
    bib = _parse_fast(text, path, digest)
    if bib is not None:
        return bib
    return parse_bib_slow(text, path, digest)


def parse_bib_slow(text: str, path: str, digest: str | None = None) -> BibFile:
    """``parse_bib`` with bibtexparser over the whole file (the parser of record; the fast path must agree)."""
    digest = digest or hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    bib = BibFile(path=path, digest=digest)
    text = disguise_longer_types(blank_entry_comments(text))
    try:
        library = bibtexparser.parse_string(text)
    except Exception as err:  # bibtexparser should not raise, but a file must never take the server down
        bib.diagnostics.append(Diagnostic(path, 0, f"Could not parse this file: {err}"))
        return bib
    salvaged, bib.diagnostics = malformed(library, path)  # what BibTeX keeps of the entries it cannot read whole
    recovered: list[ParsedEntry] = []  # entries whose fields bibtexparser left as written (no middleware ran)
    for failed in library.failed_blocks:
        line = failed.start_line or 0
        entry = failed.ignore_error_block
        if isinstance(failed, DuplicateFieldKeyBlock) and isinstance(entry, ParsedEntry):  # BibTeX keeps the first
            recovered.append(entry)
            repeated = ", ".join(sorted(failed.duplicate_keys))
            bib.diagnostics.append(Diagnostic(path, line, f"Field {repeated} repeated in '{entry.key}': the first is "
                                              "kept, as BibTeX does.", "warning"))
        elif isinstance(failed, DuplicateBlockKeyBlock) and isinstance(entry, String):
            bib.diagnostics.append(Diagnostic(path, line, f"@string '{failed.key}' defined again: ignored, the first "
                                              "definition is used (BibTeX would use this one).", "warning"))
        elif isinstance(failed, DuplicateBlockKeyBlock):
            bib.diagnostics.append(Diagnostic(path, line, f"{DUPLICATE_KEY} '{failed.key}': this entry is ignored.", "warning"))
    macros = {b.key.lower(): b.value if isinstance(b.value, str) else str(b.value) for b in library.strings}
    as_written = {id(e) for e in recovered}
    for e in sorted([*library.entries, *recovered], key=lambda e: e.start_line or 0):
        fields = [(f.key, f.value if isinstance(f.value, str) else str(f.value)) for f in e.fields]
        bib.entries.append(_make_entry(e.key, e.entry_type, fields, macros, path, e.start_line or 0,
                                       resolve_value if id(e) in as_written else expand_concatenation))
    bib.entries += [_make_entry(key, kind, fields, macros, path, line, resolve_value)
                    for kind, key, fields, line in salvaged]
    bib.entries.sort(key=lambda e: e.line)
    return bib


def parse_bytes(data: bytes, path: str) -> BibFile:
    text, problems = decode_bytes(data, path)
    if text is None:
        return BibFile(path, hashlib.sha1(data).hexdigest(), diagnostics=problems)
    bib = parse_bib(text, path)
    bib.diagnostics[:0] = problems
    return bib


