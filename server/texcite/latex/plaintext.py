"""LaTeX source to plain text: comments dropped, formatting unwrapped, accents and specials decoded.

A small regex decoder rather than a full TeX parser: it runs on every bib field of a 50k-entry index and on the
paragraph at every keystroke, so it must be fast and must never fail on odd input.
"""

from __future__ import annotations

import re
import unicodedata

# Accent commands: \'e, \'{e}, {\'e}, \"{\i}, \c{c}, \v s ...
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328", "r": "\u030a", "d": "\u0323",
    "b": "\u0331",
}
_BABEL_MARK_RE = re.compile(r'(?<=[^\W\d_])"[-|"](?=[^\W\d_])')  # "-, "| and "" inside a word
_LETTER_GROUP_RE = re.compile(r"\{(?P<letter>[^\W_])\}")
_ACCENT_RE = re.compile(
    r"""
    \\(?P<accent>['`^"~=.]|[uvHckrdb](?=[\s{]))   # the accent command (letter accents need a space or brace)
    \s*
    (?:
        \{\s*(?:\\(?P<dotless_braced>[ij])\b\s*|(?P<braced>[A-Za-z]))\s*\}   # \'{e}  \"{\i}
      | \\(?P<dotless>[ij])(?![A-Za-z])                                     # \"\i
      | (?P<bare>[A-Za-z])                                                   # \'e
    )
    """,
    re.VERBOSE,
)

# Letters and symbols spelled as control words or escapes.
_SYMBOLS = {
    "ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
    "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ",
    "textendash": "–", "textemdash": "—", "textquoteright": "’", "textquoteleft": "‘", "textregistered": "®",
    "texttrademark": "™", "copyright": "©", "textdegree": "°", "ldots": "…", "dots": "…", "textellipsis": "…",
    "LaTeX": "LaTeX", "TeX": "TeX", "BibTeX": "BibTeX", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ",
    "epsilon": "ε", "lambda": "λ", "mu": "μ", "pi": "π", "sigma": "σ", "tau": "τ", "theta": "θ", "omega": "ω",
    "times": "×", "pm": "±", "leq": "≤", "geq": "≥", "approx": "≈", "infty": "∞", "sim": "~",
    "textbackslash": "\\", "S": "§", "P": "¶", "dag": "†", "euro": "€", "pounds": "£",
}
_SYMBOL_RE = re.compile(r"\\(?P<name>" + "|".join(sorted(map(re.escape, _SYMBOLS), key=len, reverse=True)) + r")(?![A-Za-z])\s?")
_ESCAPES_RE = re.compile(r"\\(?P<char>[&%$#_{}])")
_PARK = {c: chr(0xE000 + i) for i, c in enumerate("&%$#_{}")}
_UNPARK = {ord(v): k for k, v in _PARK.items()}

# Commands whose argument is not running text: dropped with their argument.
_DROP_WITH_ARG = (
    "label ref eqref autoref cref Cref pageref nameref vref url includegraphics input include bibliography "
    "bibliographystyle addbibresource hspace vspace hspace* vspace* cite nocite index glsadd pagestyle "
    "thispagestyle setlength setcounter addtocounter newcommand renewcommand begin end acused acreset glsunset "
    "glsreset"
).split()
_DROP_RE = re.compile(
    r"""
    \\(?P<name>""" + "|".join(map(re.escape, sorted(_DROP_WITH_ARG, key=len, reverse=True))) + r""")(?![A-Za-z])\*?
    \s*(?:\[[^\[\]]{0,512}\]\s*)*  # optional arguments (bounded, ending at the next [: one pass, linear)
    \{[^{}]{0,4096}\}              # the argument (no nesting needed: keys, labels, paths)
    """,
    re.VERBOSE,
)
# A phantom prints nothing of its argument: Better BibTeX writes a brace a Zotero title holds as \{\vphantom\} ('{')
# and \vphantom\{\} ('}'), balancing each with a phantom of the other.
_PHANTOM_RE = re.compile(r"\\[vh]?phantom(?![A-Za-z])\s*(?:\\[{}]|\{[^{}]{0,512}\})")
_COMMENT_RE = re.compile(r"(?<!\\)(?P<backslashes>(?:\\\\)*)%.*")
_MATH_OPEN_RE = re.compile(r"\$|\\[(\[]")
MATH_BODY = 4000  # characters a math body may hold: a \( without its \) within them is left as it is
_CONTROL_WORD_RE = re.compile(r"\\(?P<name>[A-Za-z]+)\*?(?:\s*\[[^\[\]\n]{0,512}\])?")
_CONTROL_SYMBOL_RE = re.compile(r"\\(?P<char>[^A-Za-z])")
_SPACE_RE = re.compile(r"\s+")
# Space left before punctuation by a dropped command ("bark \cite{x}." -> "bark ."), or after an opening bracket.
_PUNCT_SPACE_RE = re.compile(r"\s+(?=[.,;:!?)\]])|(?<=[(\[])\s+")
_PUNCT_SPACE_ONE_RE = re.compile(r" (?=[.,;:!?)\]])")  # with "( " / "[ " replaced: the same once spaces are folded


def strip_comments(tex: str) -> str:
    """Remove ``%`` comments (an escaped ``\\%`` stays)."""
    return _COMMENT_RE.sub(lambda m: m.group("backslashes"), tex)


def _accent(m: re.Match[str]) -> str:
    dotless = m.group("dotless") or m.group("dotless_braced")
    base = m.group("braced") or m.group("bare") or dotless or ""
    return unicodedata.normalize("NFC", base + _ACCENTS[m.group("accent")])


def decode_accents(tex: str) -> str:
    """Decode accent commands and named letters (``\\"{o}`` -> ö, ``\\ss`` -> ß, ``\\&`` -> &)."""
    if "\\" not in tex:
        return tex
    tex = _ACCENT_RE.sub(_accent, tex)
    tex = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group("name")], tex)
    return _ESCAPES_RE.sub(lambda m: m.group("char"), tex)


class _Closers:
    """The next occurrence of each closing delimiter at or after a position, each found once for a run of
    openers (a thousand ``\\(`` never closed cost one search for ``\\)``, not a thousand)."""

    def __init__(self, tex: str) -> None:
        self.tex = tex
        self._next: dict[str, int] = {}

    def find(self, closer: str, start: int) -> int:
        at = self._next.get(closer)
        if at is None or (at != -1 and at < start):
            at = self._next[closer] = self.tex.find(closer, start)
        return at


def unwrap_math(tex: str) -> str:
    """Math bodies kept as text, their delimiters dropped: ``$$..$$``, ``$..$``, ``\\(..\\)`` and ``\\[..\\]``,
    each body at most MATH_BODY characters (an inline body holds no ``$``). One pass, left to right: each
    opener's closer is found by one search shared with the openers that follow."""
    closers = _Closers(tex)
    out: list[str] = []
    done = pos = 0
    while (m := _MATH_OPEN_RE.search(tex, pos)) is not None:
        start = m.start()
        if tex.startswith("$$", start):
            close = closers.find("$$", start + 2)
            if close != -1 and close - start - 2 <= MATH_BODY:
                out += [tex[done:start], " ", tex[start + 2:close], " "]
                done = pos = close + 2
                continue
        if tex[start] == "$":
            close, width = closers.find("$", start + 1), 1
        else:
            close, width = closers.find("\\)" if tex[start + 1] == "(" else "\\]", start + 2), 2
        if close != -1 and close - start - width <= MATH_BODY:
            out += [tex[done:start], " ", tex[start + width:close], " "]
            done = pos = close + width
        else:
            pos = start + 1
    return "".join(out) + tex[done:] if out else tex


def to_plain(tex: str, *, comments: bool = True) -> str:
    """Plain text of a LaTeX fragment: formatting unwrapped (``\\emph{x}`` -> x), specials decoded, spaces folded."""
    if comments:
        tex = strip_comments(tex)
    tex = _DROP_RE.sub(" ", tex)
    if "phantom" in tex:
        tex = _PHANTOM_RE.sub("", tex)
    # Escaped specials are parked in private-use characters so later steps (math, '&' tabs, braces) leave them.
    tex = _ESCAPES_RE.sub(lambda m: _PARK[m.group("char")], tex)
    tex = decode_accents(tex)
    tex = unwrap_math(tex)
    if '"' in tex:  # babel's dashes and word-break marks (Russian, German): '"---' is a dash, 'Ver"-si""on' a word
        tex = _BABEL_MARK_RE.sub("", tex.replace('"---', "---").replace('"--', "--"))
    tex = tex.replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”")
    tex = tex.replace("~", " ").replace("\\\\", " ")
    # Control words vanish but their braced argument stays: \emph{x} -> x, \textbf{x} -> x.
    tex = _CONTROL_WORD_RE.sub(" ", tex)
    tex = _CONTROL_SYMBOL_RE.sub(lambda m: " " if m.group("char") in ",;:! " else "", tex)
    # A group of one letter is that letter: BibTeX's {\'s}{\'c} and {M}{R}{I} print 'ść' and 'MRI'.
    if "{" in tex:
        tex = _LETTER_GROUP_RE.sub(r"\g<letter>", tex)
    tex = tex.replace("}{", "} {").replace("{", "").replace("}", "")  # \href{ab}{cd} -> 'ab cd'
    tex = tex.replace("^", "").replace("_", " ").replace("&", " ")
    return tidy_spaces(tex.translate(_UNPARK))


def tidy_spaces(text: str) -> str:
    """Fold whitespace runs to one space and drop the space before punctuation (``"bark ."`` -> ``"bark."``)."""
    text = " ".join(text.split())  # str.split and \s agree on what whitespace is
    if " " not in text:
        return text
    if "( " in text or "[ " in text:
        text = text.replace("( ", "(").replace("[ ", "[")
    return _PUNCT_SPACE_ONE_RE.sub("", text)
