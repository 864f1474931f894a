"""The language a LaTeX document is written in: the main language its preamble declares (babel, polyglossia),
else the one its prose reads as (the script, then the function words of the Latin-script languages). Names are
normalised English names ('spanish', 'german'); 'unknown' when the prose is too short to tell. Pure functions
of the texts, linear in their length: detection reads a sample of each file (``ProjectLanguages.FILE_SAMPLE``).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import partial
from typing import Sequence

import numpy as np

from texcite.lru import BoundedCache
from texcite.latex.plaintext import decode_accents, strip_comments
from texcite.textnorm import fold

UNKNOWN = "unknown"
CHUNKS = 10
MIN_LETTERS = 100  # fewer letters of prose than this: too little text to tell
MIN_HITS = 5  # function words a Latin-script language needs at least, and at least MIN_SHARE of the words
MIN_SHARE = 0.05

# Babel's and polyglossia's language names (and ISO 639-1 codes, for \babelprovide and polyglossia) -> the name.
_ALIASES = {
    "english": "english american british ukenglish usenglish canadian australian newzealand en",
    "german": "german ngerman austrian naustrian swissgerman nswissgerman germanb de",
    "french": "french francais frenchb acadian canadien fr",
    "spanish": "spanish castilian mexican spanishmx es",
    "portuguese": "portuguese portuges brazil brazilian pt",
    "italian": "italian it", "dutch": "dutch flemish nl", "polish": "polish pl", "turkish": "turkish tr",
    "russian": "russian ru", "ukrainian": "ukrainian uk", "chinese": "chinese zh", "japanese": "japanese ja",
    "korean": "korean ko", "arabic": "arabic ar", "greek": "greek polutonikogreek el", "hebrew": "hebrew he",
    "catalan": "catalan ca", "czech": "czech cs", "slovak": "slovak sk", "swedish": "swedish sv",
    "danish": "danish da", "norwegian": "norwegian norsk nynorsk bokmal nb nn no", "finnish": "finnish fi",
    "hungarian": "hungarian magyar hu", "romanian": "romanian ro", "croatian": "croatian hr",
    "serbian": "serbian sr", "slovenian": "slovene slovenian sl", "bulgarian": "bulgarian bg",
    "indonesian": "indonesian bahasa bahasai indon id", "malay": "malay bahasam ms", "vietnamese": "vietnamese vi",
    "basque": "basque eu", "galician": "galician gl", "estonian": "estonian et", "latvian": "latvian lv",
    "lithuanian": "lithuanian lt", "icelandic": "icelandic is", "irish": "irish ga", "welsh": "welsh cy",
    "latin": "latin la", "esperanto": "esperanto eo", "persian": "persian farsi fa", "thai": "thai th",
    "hindi": "hindi hi",
}
_NAMES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases.split()}
_CODES = frozenset(alias for alias in _NAMES if len(alias) == 2)

# \cmd[options]{argument} of the commands that declare a language (options and argument without braces inside).
_DECLARATION_RE = re.compile(
    r"\\(?P<cmd>usepackage|RequirePackage|documentclass|babelprovide|setdefaultlanguage|setmainlanguage)"
    r"(?![A-Za-z])\s*(?:\[(?P<options>[^\[\]{}]{0,2000})\]\s*)?\{(?P<argument>[^{}]{0,500})\}")
_BEGIN_DOCUMENT = "\\begin{document}"
# The files a preamble reads: \input{preamble}, a class or package of the project's own (names without braces).
_READS_RE = re.compile(r"\\(?:input|include|usepackage|RequirePackage|documentclass|LoadClass)(?![A-Za-z])\s*"
                       r"(?:\[[^\[\]{}]{0,2000}\]\s*)?\{(?P<names>[^{}]{1,500})\}")
MAX_PREAMBLE_FILES = 16
_CLASS_RE = re.compile(r"\\documentclass\s*(?:\[[^\[\]{}]{0,2000}\]\s*)?\{(?P<name>[^{}]{1,500})\}")


def language_name(name: str, codes: bool = True) -> str | None:
    """The normalised name of a babel or polyglossia language name ('ngerman' -> 'german'), or of a locale
    ('spanish-mexico', with ``codes`` 'es-MX'); None when it names no language."""
    name = name.strip().lower()
    if name in _NAMES and (codes or name not in _CODES):
        return _NAMES[name]
    head = name.split("-")[0]
    return _NAMES.get(head) if head != name and (codes or head not in _CODES) else None


def _preamble(text: str) -> str:
    """The text before ``\\begin{document}`` (all of it without one), comments removed."""
    end = text.find(_BEGIN_DOCUMENT)
    return strip_comments(text if end == -1 else text[:end])


def _options(options: str | None) -> list[str]:
    return [o.strip() for o in (options or "").split(",") if o.strip()]


def declared_language(text: str) -> str | None:
    """The main language the preamble of ``text`` declares: ``\\babelprovide[main]{lang}``, else polyglossia's
    ``\\setdefaultlanguage``/``\\setmainlanguage``, else babel's options — ``main=lang``, or the last language
    among the class's options and babel's (babel's own rule). None when it declares none."""
    class_languages: list[str] = []
    babel: list[str] = []
    babel_main = provided = polyglossia = None
    babel_loaded = False
    for m in _DECLARATION_RE.finditer(_preamble(text)):
        cmd, options = m.group("cmd"), _options(m.group("options"))
        argument = m.group("argument").strip()
        if cmd == "documentclass":
            class_languages = [n for n in (language_name(o, codes=False) for o in options) if n]
        elif cmd == "babelprovide":
            if "main" in options:
                provided = language_name(argument) or provided
        elif cmd in ("setdefaultlanguage", "setmainlanguage"):
            polyglossia = language_name(argument) or polyglossia
        elif "xepersian" in (p.strip() for p in argument.split(",")):  # sets Persian as polyglossia would
            polyglossia = polyglossia or "persian"
        elif "babel" in (p.strip() for p in argument.split(",")):
            babel_loaded = True
            for option in options:
                key, _, value = option.partition("=")
                if value:
                    if key.strip() == "main":
                        babel_main = language_name(value) or babel_main
                elif name := language_name(option, codes=False):
                    babel.append(name)
    if provided or polyglossia:
        return provided or polyglossia
    if babel_main:
        return babel_main
    languages = class_languages + babel if babel_loaded else []
    return languages[-1] if languages else None


# Function words: among the thirty-odd most frequent words of each language (compared folded: 'für' is 'fur').
_FUNCTION_WORDS = {
    "english": """the of and to in is that for it as with was on be by this are we from at an or which not can
        have has these their its were but also been""",
    "german": """der die das und ist in den von zu mit sich des auf für nicht ein eine als auch es an werden aus
        dass sie nach wird bei einer um sind noch wie einem über oder""",
    "french": """le la les de des et est un une du en que qui dans pour pas au sur par ne se ce il sont avec
        plus aux ou cette nous elle mais comme""",
    "spanish": """de la que el en y a los del se las por un para con no una su al es lo como más pero sus este
        esta entre sobre también cuando muy sin hasta desde donde son""",
    "portuguese": """de a o que e do da em um para com não uma os no se na por mais as dos como mas ao das seu
        sua ou quando muito nos já também pelo pela isso são sem""",
    "italian": """di e il la che in un a per del non una della sono le si con gli da i al lo dei come ma nel
        anche più delle questo alla nella tra degli sul""",
    "dutch": """de het een en van in is dat op te zijn met voor niet die aan er om ook als bij door wordt
        worden naar maar kan uit dan deze over tot""",
    "polish": """i w nie na się z do to że jest jak o co po ale tak za od jego przez dla oraz czy są które
        który która może tylko jako już tym tego""",
    "turkish": """bir ve bu da de için ile olarak olan daha çok gibi ne ama en kadar sonra her olduğu ise veya
        tarafından göre ki değil şekilde arasında üzerinde ancak""",
}


def _word_languages() -> dict[str, tuple[str, ...]]:
    """Each folded function word -> the languages it belongs to."""
    out: dict[str, list[str]] = {}
    for language, words in _FUNCTION_WORDS.items():
        for word in dict.fromkeys(fold(words).split()):
            out.setdefault(word, []).append(language)
    return {word: tuple(languages) for word, languages in out.items()}


_WORD_LANGUAGES = _word_languages()  # a word of n languages counts 1/n for each

# Environments whose body is not prose: math, code, pictures.
_NOT_PROSE_ENV_RE = re.compile(
    r"\\(?P<kind>begin|end)\s*\{(?P<name>(?:equation|align|alignat|flalign|gather|multline|eqnarray|displaymath|"
    r"math|verbatim|Verbatim|lstlisting|minted|tikzpicture|pgfpicture|comment|filecontents)\*?)\}")
# A control word with its optional arguments and its first braced argument (bounded, ending at the next bracket
# or brace: one pass, linear).
_COMMAND_RE = re.compile(r"\\(?P<name>[A-Za-z@]+)\*?(?:\s*\[[^\[\]{}]{0,300}\])*\s*(?:\{(?P<argument>[^{}]{0,1000})\})?")
# Control words whose argument is a key, a label, a path or code: dropped with it (any name holding 'cite' too).
_NOT_PROSE_COMMANDS = frozenset(
    """ref eqref autoref cref Cref pageref nameref vref label url href input include includegraphics
    bibliography bibliographystyle addbibresource begin end usepackage documentclass newcommand renewcommand
    providecommand newenvironment DeclareMathOperator hspace vspace setlength setcounter addtocounter graphicspath
    bibitem lstinputlisting index gls Gls glspl Glspl ac acp acs acl acf""".split()
)
_PARAGRAPH_RE = re.compile(r"\n[ \t\r]*\n")
_WORD_RE = re.compile(r"[^\W\d_]+")
_SCRIPTS = {
    "latin": re.compile("[a-z\u00df-\u00f6\u00f8-\u024f]+"),
    "cyrillic": re.compile("[\u0400-\u04ff]+"),
    "han": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"),
    "kana": re.compile("[\u3040-\u30ff]+"),
    "hangul": re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+"),
    "arabic": re.compile("[\u0600-\u06ff\u0750-\u077f]+"),
    "greek": re.compile("[\u0370-\u03ff\u1f00-\u1fff]+"),
}
_CJK_WEIGHT = 3  # a Han, kana or Hangul character carries about as much as three Latin letters
_UKRAINIAN_RE = re.compile("[іїєґ]")
_RUSSIAN_RE = re.compile("[ыэъё]")


def _sample(text: str, sample: int) -> str:
    """The body of ``text`` (after ``\\begin{document}``), or CHUNKS pieces of it spread evenly (each starting on
    a new line) that together hold ``sample`` characters."""
    start = text.find(_BEGIN_DOCUMENT)
    body = text if start == -1 else text[start + len(_BEGIN_DOCUMENT):]
    if len(body) <= sample:
        return body
    size = sample // CHUNKS
    pieces = []
    for i in range(CHUNKS):
        at = (len(body) - size) * i // (CHUNKS - 1)
        line = body.find("\n", at, at + size)
        pieces.append(body[at if line == -1 else line + 1:at + size])
    return "\n\n".join(pieces)


def _drop_environments(text: str) -> str:
    """``text`` without the bodies of the environments that are not prose (an unclosed one runs to the end)."""
    out, inside, last = [], None, 0
    for m in _NOT_PROSE_ENV_RE.finditer(text):
        if inside is None and m.group("kind") == "begin":
            out.append(text[last:m.start()])
            inside = m.group("name")
        elif inside == m.group("name") and m.group("kind") == "end":
            inside, last = None, m.end()
    if inside is None:
        out.append(text[last:])
    return " ".join(out)


def _command(m: re.Match[str]) -> str:
    name = m.group("name")
    if name in _NOT_PROSE_COMMANDS or "cite" in name.lower():
        return " "
    return " " + (m.group("argument") or "") + " "


def prose(text: str) -> str:
    """The running text of a LaTeX fragment, roughly: comments, math, non-prose environments and the arguments of
    commands naming keys, labels or files removed; the argument of other commands kept (``\\emph{x}`` -> x)."""
    text = strip_comments(text).replace("\\\\", " ").replace("\\$", " ")
    text = decode_accents(text)
    text = text.replace("$$", "$")
    for opener in ("\\[", "\\]", "\\(", "\\)"):
        text = text.replace(opener, "$")
    text = _drop_environments(text)
    # Math never crosses a paragraph: within each, what lies between the first and second '$' and so on is math.
    text = "\n\n".join(" ".join(p.split("$")[::2]) for p in _PARAGRAPH_RE.split(text))
    return _COMMAND_RE.sub(_command, text)


def _letters(pattern: re.Pattern[str], text: str) -> int:
    return sum(len(run) for run in pattern.findall(text))


# What detection counts in a sample, as one vector (counts add up over the samples of a document's files): the
# letters of each script, Ukrainian's and Russian's own letters, the words, and each language's function words.
_LANGUAGES = sorted({language for languages in _WORD_LANGUAGES.values() for language in languages})
_COUNTS = [*_SCRIPTS, "ukrainian_letters", "russian_letters", "words", *_LANGUAGES]
_AT = {name: i for i, name in enumerate(_COUNTS)}


def _counts(sample: str) -> np.ndarray:
    """What ``_decide`` reads a language from, counted in the prose of ``sample``."""
    plain = prose(sample).lower()
    out = np.zeros(len(_COUNTS))
    for script, pattern in _SCRIPTS.items():
        out[_AT[script]] = _letters(pattern, plain)
    out[_AT["ukrainian_letters"]] = len(_UKRAINIAN_RE.findall(plain))
    out[_AT["russian_letters"]] = len(_RUSSIAN_RE.findall(plain))
    words = _WORD_RE.findall(fold(plain))
    out[_AT["words"]] = len(words)
    for word, count in Counter(words).items():
        languages = _WORD_LANGUAGES.get(word, ())
        for language in languages:
            out[_AT[language]] += count / len(languages)
    return out


def _decide(counts: np.ndarray) -> str:
    """The language ``counts`` (of ``_counts``) read as."""
    letters = {script: counts[_AT[script]] for script in _SCRIPTS}
    weighted = {"latin": letters["latin"], "cyrillic": letters["cyrillic"], "arabic": letters["arabic"],
                "greek": letters["greek"], "cjk": _CJK_WEIGHT * (letters["han"] + letters["kana"]),
                "hangul": _CJK_WEIGHT * letters["hangul"]}
    if sum(weighted.values()) < MIN_LETTERS:
        return UNKNOWN
    script = max(weighted, key=lambda s: weighted[s])
    if script == "cyrillic":
        return "ukrainian" if counts[_AT["ukrainian_letters"]] > counts[_AT["russian_letters"]] else "russian"
    if script == "cjk":
        return "japanese" if letters["kana"] * 10 > letters["han"] + letters["kana"] else "chinese"
    if script != "latin":
        return {"hangul": "korean"}.get(script, script)
    scores = {language: counts[_AT[language]] for language in _LANGUAGES if counts[_AT[language]] > 0}
    if not scores:
        return UNKNOWN
    language, score = max(scores.items(), key=lambda item: item[1])
    return language if score >= max(MIN_HITS, MIN_SHARE * counts[_AT["words"]]) else UNKNOWN


def _stem(name: str) -> str:
    return os.path.splitext(os.path.basename(name.strip()))[0]


def _preamble_texts(root: str, root_text: str, texts: Sequence[tuple[str, str]]) -> list[str]:
    """The root's preamble, then the project files it reads there and those they read in turn (by file name:
    ``\\input{setup/preamble}``, ``\\usepackage{mythesis}``), at most MAX_PREAMBLE_FILES."""
    by_stem: dict[str, str] = {}
    for path, text in texts:
        if path != root:
            by_stem.setdefault(_stem(path), text)
    out: list[str] = []
    queue, seen = [_preamble(root_text)], set()
    while queue and len(out) < MAX_PREAMBLE_FILES:
        text = queue.pop(0)
        out.append(text)
        for m in _READS_RE.finditer(strip_comments(text)):
            for name in m.group("names").split(","):
                stem = _stem(name)
                if stem in by_stem and stem not in seen:
                    seen.add(stem)
                    queue.append(by_stem[stem])
    return out


def _class_language(root_text: str, texts: Sequence[tuple[str, str]]) -> str | None:
    """The main language the project's own class declares when it loads babel or polyglossia itself: LaTeX loads a
    package once, so the root's later ``\\usepackage[dutch]{babel}`` changes nothing (a thesis class loading
    ``[dutch,USenglish]{babel}`` is English)."""
    m = _CLASS_RE.search(_preamble(root_text))
    if m is None:
        return None
    stem = _stem(m.group("name"))
    return next((declared_language(text) for path, text in texts
                 if path.lower().endswith(".cls") and _stem(path) == stem), None)


def _class_options_language(root_text: str) -> str | None:
    """The last language among the class's options: babel takes them when the class loads it
    (``\\documentclass[brazil]{abntex2}``): what a document names that declares no language and is too short to
    read as one."""
    m = _DECLARATION_RE.search(_preamble(root_text))
    if m is None or m.group("cmd") != "documentclass":
        return None
    return next((n for n in map(partial(language_name, codes=False), reversed(_options(m.group("options")))) if n),
                None)


class ProjectLanguages:
    """The language of a project's state (its root and the text of each of its files): the one its own class
    declares when it loads babel itself, else the root's preamble, else the files that preamble reads (the root
    without \\begin{document}: all its files), else the one their prose reads as, from FILE_SAMPLE characters of
    each file: a function of the texts alone (the same state always
    gives the same language, whatever was asked before). What a file's sample counts is remembered per text, and
    the language per state, so an edit reads one file's sample again (about a third of a millisecond).
    Thread-safe."""

    FILE_SAMPLE = 2_000  # characters read per file, in CHUNKS pieces spread over it
    KEEP = 8  # project states
    KEEP_FILES = 4_096  # files' counts (a project has at most graph.MAX_FILES files)

    def __init__(self) -> None:
        self._known: BoundedCache[tuple, str] = BoundedCache(self.KEEP)
        self._declared: BoundedCache[tuple, str] = BoundedCache(self.KEEP)  # by root text ('' for none)
        self._counts: BoundedCache[tuple, np.ndarray] = BoundedCache(self.KEEP_FILES)  # by file text

    def language(self, root: str, texts: Sequence[tuple[str, str]]) -> str:
        """The language of the project of ``root`` whose files hold ``texts`` ((path, text) pairs, root first)."""
        keys = [(path, len(text), hash(text)) for path, text in texts]
        known = self._known.get((root, tuple(keys)))
        if known is None:
            root_text = next((text for path, text in texts if path == root), "")
            known = _class_language(root_text, texts) or self._declared_by(root, root_text)
            if not known:
                # A root holding \begin{document} has the document's preamble, with the files it reads there
                # (\input{preamble}, the project's own mythesis.sty): other files declare nothing for the document.
                preamble = (_preamble_texts(root, root_text, texts) if _BEGIN_DOCUMENT in root_text
                            else [t for _, t in texts])
                counts = (self._file_counts(key, text) for key, (_, text) in zip(keys, texts, strict=True))
                known = declared_language("\n".join(preamble)) or _decide(sum(counts, np.zeros(len(_COUNTS))))
            if known == UNKNOWN:
                known = _class_options_language(root_text) or UNKNOWN
            self._known.put((root, tuple(keys)), known)
        return known

    def _declared_by(self, root: str, root_text: str) -> str:
        key = (root, len(root_text), hash(root_text))
        declared = self._declared.get(key)
        if declared is None:
            declared = declared_language(root_text) or ""
            self._declared.put(key, declared)
        return declared

    def _file_counts(self, key: tuple, text: str) -> np.ndarray:
        counts = self._counts.get(key)
        if counts is None:
            counts = _counts(_sample(text, self.FILE_SAMPLE))
            self._counts.put(key, counts)
        return counts
