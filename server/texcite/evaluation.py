"""``texcite eval``: how well the engine recovers the keys a project's authors actually cited.

Every citation command in the project's text (outside comments and verbatim) whose keys all resolve is emptied
(``\\citep[p.~3]{a,b}`` -> ``\\citep[p.~3]{}``), the cursor is put in the empty braces and the same pipeline the
server uses ranks the whole bib; the best rank of a true key gives Recall@k and MRR. Bib order (what key-matching
editors show) and a random order are reported as floors. One engine serves every project, so models load once.

Modes (``MODES``): ``default`` (the finished document, this citation emptied); ``writing`` (a first draft: the text
after the citing paragraph does not exist yet — later files and later citations included — except the lines that
name the bibliography); ``add-one`` (commands citing several keys, each key in turn removed and the others kept).
``typed`` puts the first letters of the cited work's key or author in the braces (``TYPED_MODES``).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from texcite.engine import Engine
from texcite.files import Sources, read_disk
from texcite.latex.cite import CiteMatcher, cited_commands
from texcite.latex.facts import has_documentclass
from texcite.latex.query import paragraph_span

KS = (1, 5, 10)
MODES = ("default", "writing", "add-one")
# What the writer has typed in the braces: the first 1-5 letters of the first author's surname or of the key.
TYPED_MODES = tuple(f"{what}{n}" for what in ("author", "key") for n in range(1, 6))
# Lines that name the bibliography: a first draft has them already.
_BIB_LINE_RE = re.compile(r"^[^%\n]*\\(?:bibliography|addbibresource|addglobalbib|addsectionbib|nobibliography"
                          r"|printbibliography|bibliographystyle)(?![A-Za-z]).*$", re.MULTILINE)
_INCLUDE_NAME_RE = re.compile(r"\\(?:input|include|subfile|import|subimport|inputfrom|includefrom|subinputfrom"
                              r"|subincludefrom)(?![A-Za-z])\*?\s*(?:\{[^{}]*\}\s*)?\{(?P<name>[^{}]*)\}")
# Commands that list references without citing them at a place in the text.
_NOT_IN_TEXT = frozenset({"nocite", "Nocite"})


@dataclass(frozen=True)
class Example:
    """One citation to recover: where it is, the true keys, the emptied text and the cursor inside ``{}``."""

    path: str
    line: int
    keys: tuple[str, ...]
    text: str
    offset: int
    others: dict[str, str] = field(default_factory=dict, repr=False)  # writing mode: the other files as drafted


@dataclass
class Metrics:
    """Recall@k, MRR and latency over a list of best ranks (0 = no true key in the ranking)."""

    ranks: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, rank: int, latency_ms: float | None = None) -> None:
        self.ranks.append(rank)
        if latency_ms is not None:
            self.latencies_ms.append(latency_ms)

    def extend(self, other: "Metrics") -> None:
        self.ranks += other.ranks
        self.latencies_ms += other.latencies_ms

    def recall(self, k: int) -> float:
        return sum(1 for r in self.ranks if 0 < r <= k) / len(self.ranks) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        return sum(1.0 / r for r in self.ranks if r > 0) / len(self.ranks) if self.ranks else 0.0

    def as_json(self) -> dict:
        out: dict = {"examples": len(self.ranks)}
        out.update({f"recall@{k}": round(self.recall(k), 4) for k in KS})
        out["mrr"] = round(self.mrr, 4)
        if self.latencies_ms:
            out["latency_ms_p50"] = round(percentile(self.latencies_ms, 50), 2)
            out["latency_ms_p95"] = round(percentile(self.latencies_ms, 95), 2)
        return out


@dataclass
class ProjectReport:
    """Results of one project: the pipeline, the bib-order floor and what was skipped."""

    name: str
    root: str
    bib_files: list[str]
    entries: int
    ranked: Metrics = field(default_factory=Metrics)
    bib_order: Metrics = field(default_factory=Metrics)
    random_order: Metrics = field(default_factory=Metrics)
    unresolved: int = 0
    error: str = ""

    def as_json(self) -> dict:
        return {"name": self.name, "root": self.root, "bib_files": self.bib_files, "entries": self.entries,
                "unresolved_skipped": self.unresolved, "error": self.error,
                "ranked": self.ranked.as_json(), "bib_order": self.bib_order.as_json(),
                "random_order": self.random_order.as_json()}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) without needing numpy here."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def best_rank(ranked_keys: Iterable[str], true_keys: Iterable[str]) -> int:
    """1-based position of the first true key in ``ranked_keys``; 0 if none is there."""
    truth = set(true_keys)
    for i, key in enumerate(ranked_keys, 1):
        if key in truth:
            return i
    return 0


# -- finding projects -------------------------------------------------------------------------------------

def project_root(folder: str, readable: Callable[[str], bool] = os.path.exists) -> str | None:
    """The root .tex of a project folder: SOURCE.json's ``main``, else a top-level .tex with \\documentclass
    (main/thesis/paper first). Only files for which ``readable(path)`` holds are read (the web page: inside the
    project)."""
    meta = os.path.join(folder, "SOURCE.json")
    if os.path.isfile(meta) and readable(meta):
        try:
            with open(meta, encoding="utf-8") as fh:
                main = json.load(fh).get("main")
        except (OSError, ValueError, AttributeError):
            main = None
        if isinstance(main, str) and main:
            return os.path.normpath(os.path.join(folder, main))
    try:
        names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".tex"))
    except OSError:
        return None
    roots = [n for n in names if readable(os.path.join(folder, n))
             and has_documentclass(read_disk(os.path.join(folder, n)) or "")]
    if not roots:
        return None
    preferred = [n for n in roots if os.path.splitext(n)[0].lower() in ("main", "thesis", "paper")]
    return os.path.join(folder, (preferred or roots)[0])


def find_projects(path: str, depth: int = 3) -> list[tuple[str, str]]:
    """(folder, root .tex) of the project at ``path``, or of the projects in its subfolders."""
    root = project_root(path)
    if root is not None:
        return [(path, root)]
    if depth == 0:
        return []
    out = []
    for name in sorted(os.listdir(path)):
        sub = os.path.join(path, name)
        if os.path.isdir(sub) and not name.startswith("."):
            out += find_projects(sub, depth - 1)
    return out


# -- examples ---------------------------------------------------------------------------------------------

def typed_prefix(entry, mode: str) -> str:
    """What a writer citing ``entry`` has typed in ``mode``: the first N letters of the first author's surname
    (``authorN``; the key's when the entry names no author) or of the key (``keyN``)."""
    surnames = entry.surnames
    word = surnames[0] if mode.startswith("author") and surnames else entry.key
    return "".join(word.split())[: int(mode[-1])]


def citation_examples(path: str, text: str, matcher: CiteMatcher, defined: dict, typed: str | None = None,
                      mode: str = "default") -> tuple[list[Example], int]:
    """The resolvable citations of one file as examples, and how many unresolvable ones were skipped. With
    ``typed`` (see TYPED_MODES), the braces hold what the writer typed for the (first) key to find. ``mode``
    ``add-one``: one example per key of each multi-key command, that key removed and the others kept."""
    examples, unresolved = [], 0
    for cmd in cited_commands(text, matcher):
        if cmd.name in _NOT_IN_TEXT or not cmd.groups or not all(g.closed for g in cmd.groups):
            continue
        keys = tuple(dict.fromkeys(cmd.keys(text)))
        if not keys:
            continue
        if not all(k in defined for k in keys):
            unresolved += 1
            continue
        line = text.count("\n", 0, cmd.start)
        if mode == "add-one":
            if len(keys) < 2:
                continue
            g = cmd.groups[0]
            for i, key in enumerate(keys):
                before, after = ",".join(keys[:i]), ",".join(keys[i + 1:])
                head = text[:g.start] + before + ("," if before else "")
                prefix = typed_prefix(defined[key], typed) if typed else ""
                tail = ("," if after else "") + after + text[g.end:]
                examples.append(Example(path, line, (key,), head + prefix + tail, len(head) + len(prefix)))
            continue
        pieces, last = [], 0
        for g in cmd.groups:
            pieces.append(text[last:g.start])
            last = g.end
        pieces.append(text[last:])
        emptied = "".join(pieces)
        offset = cmd.groups[0].start
        if typed:
            prefix = typed_prefix(defined[keys[0]], typed)
            emptied = emptied[:offset] + prefix + emptied[offset:]
            offset += len(prefix)
        examples.append(Example(path, line, keys, emptied, offset))
    return examples, unresolved


def bibliography_lines(text: str) -> str:
    """The lines of ``text`` that name the bibliography (kept in a first draft)."""
    return "\n".join(m.group(0) for m in _BIB_LINE_RE.finditer(text))


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path.strip()))[0]


def as_drafted(ex: Example, tex_files: list[str], texts: dict[str, str]) -> Example:
    """``ex`` in a first draft: its file cut after the citing paragraph; each file including it (up the include
    chain) cut after that include; files later in the document reduced to their bibliography lines; files
    earlier kept. ``texts`` holds the project's texts (``tex_files`` in include order)."""
    end = paragraph_span(ex.text, ex.offset)[1]
    others: dict[str, str] = {}
    chain = [ex.path]  # the example's file, then the file including it, and so on up to the root
    for f in reversed(tex_files[:tex_files.index(ex.path)] if ex.path in tex_files else []):
        if any(_stem(m.group("name")) == _stem(chain[-1]) for m in _INCLUDE_NAME_RE.finditer(texts.get(f, ""))):
            chain.append(f)
    position = {f: i for i, f in enumerate(tex_files)}
    here = position.get(ex.path, len(tex_files))
    for f in tex_files:
        text = texts.get(f, "")
        if f == ex.path:
            continue
        if f in chain:
            i = chain.index(f)
            cut = max((m.end() for m in _INCLUDE_NAME_RE.finditer(text)
                       if _stem(m.group("name")) == _stem(chain[i - 1])), default=len(text))
            others[f] = text[:cut] + "\n" + bibliography_lines(text[cut:])
        elif position[f] > here:
            others[f] = bibliography_lines(text)
    return Example(ex.path, ex.line, ex.keys, ex.text[:end] + "\n" + bibliography_lines(ex.text[end:]), ex.offset,
                   others)


# -- ranking ----------------------------------------------------------------------------------------------

class ExampleSources(Sources):
    """The disk, except the files of the example being ranked: its text with the citation emptied (and, in
    writing mode, the other files as drafted)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def show(self, ex: Example | None) -> None:
        self.texts = {} if ex is None else {**ex.others, ex.path: ex.text}

    def stamp(self, path: str):
        text = self.texts.get(path)
        return ("example", id(text)) if text is not None else super().stamp(path)

    def read(self, path: str) -> str | None:
        text = self.texts.get(path)
        return text if text is not None else super().read(path)


def evaluation_engine(settings, query_view: str = "default") -> tuple[Engine, ExampleSources]:
    """One engine for a whole run (models load once), reading the example being ranked instead of its files."""
    read = ExampleSources()
    return Engine(settings, read, query_view=query_view), read


def project_examples(engine: Engine, read: ExampleSources, folder: str, root: str, typed: str | None = None,
                     mode: str = "default") -> tuple[ProjectReport, list[Example]]:
    """Open one project in ``engine`` and list its examples (the report holds what was skipped)."""
    name = os.path.basename(os.path.normpath(folder))
    # As for a user whose BIBINPUTS names the project folder: some repos keep the .bib beside, not below, the root.
    env = dict(os.environ)
    env["BIBINPUTS"] = os.pathsep.join(x for x in (folder, env.get("BIBINPUTS", "")) if x)
    read.show(None)
    engine.open_workspace(folder, env)
    project = engine.project(root)
    corpus = engine.corpus(root)
    report = ProjectReport(name, root, list(project.bib_files), len(corpus))
    examples: list[Example] = []
    texts = {tex: read_disk(tex) or "" for tex in project.tex_files}
    for tex in project.tex_files:
        found, unresolved = citation_examples(tex, texts[tex], engine.matcher, corpus.by_key, typed,
                                              "add-one" if mode == "add-one" else "default")
        examples += [as_drafted(ex, project.tex_files, texts) for ex in found] if mode == "writing" else found
        report.unresolved += unresolved
    engine.wait_embeddings(corpus)
    return report, examples


def evaluate_project(engine: Engine, read: ExampleSources, folder: str, root: str,
                     progress: Callable[[int, int], None] | None = None, typed: str | None = None,
                     mode: str = "default") -> ProjectReport:
    """Rank every example of one project (its index is built once)."""
    report, examples = project_examples(engine, read, folder, root, typed, mode)
    corpus = engine.corpus(root)
    bib_order = {e.key: i for i, e in enumerate(corpus.entries, 1)}
    shuffle = random.Random(report.name)
    for i, ex in enumerate(examples):
        read.show(ex)
        started = time.perf_counter()
        result = engine.suggest(ex.path, ex.text, ex.offset)
        elapsed = (time.perf_counter() - started) * 1000.0
        keys = [] if result is None else [s.entry.key for s in result.suggestions]
        report.ranked.add(best_rank(keys, ex.keys), elapsed)
        report.bib_order.add(min(bib_order[k] for k in ex.keys))
        report.random_order.add(best_rank(shuffle.sample(list(bib_order), len(bib_order)), ex.keys))
        if result is not None and result.fallback_message:
            report.error = result.fallback_message
        if progress:
            progress(i + 1, len(examples))
    read.show(None)
    return report


# -- output -----------------------------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on a terminal's stderr; plain lines (one per project) otherwise."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def start(self, name: str, index: int, total: int) -> Callable[[int, int], None]:
        label = f"[{index}/{total}] {name}"
        if not self.tty:
            print(f"texcite eval: {label} ...", file=self.stream, flush=True)
            return lambda done, n: None

        def update(done: int, n: int) -> None:
            if done != n and done % 5:
                return
            width = 30
            fill = int(width * done / max(n, 1))
            self.stream.write(f"\r{label[:48]:<48} [{'#' * fill}{'.' * (width - fill)}] {done}/{n}")
            if done == n:
                self.stream.write("\n")
            self.stream.flush()

        return update


def _row(name: str, m: Metrics, entries: str = "", latency: bool = True) -> str:
    lat = (f"{percentile(m.latencies_ms, 50):.1f} | {percentile(m.latencies_ms, 95):.1f}"
           if latency and m.latencies_ms else "– | –")
    return (f"| {name} | {entries} | {len(m.ranks)} | {m.recall(1):.3f} | {m.recall(5):.3f} | {m.recall(10):.3f} | "
            f"{m.mrr:.3f} | {lat} |")


def markdown_table(reports: Sequence[ProjectReport], overall: Metrics, floor: Metrics, label: str,
                   random_floor: Metrics | None = None) -> str:
    """Per-project rows (with the candidate pool: the bib's entries), the overall row, the bib-order and
    random-order floors, and the projects without resolvable citations."""
    lines = ["| project | entries | examples | R@1 | R@5 | R@10 | MRR | p50 ms | p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in reports:
        if r.ranked.ranks:
            lines.append(_row(r.name, r.ranked, str(r.entries)))
    lines.append(_row(f"**overall ({label})**", overall))
    lines.append(_row("bib order (floor)", floor, latency=False))
    if random_floor is not None:
        lines.append(_row("random order (floor)", random_floor, latency=False))
    skipped = sum(r.unresolved for r in reports)
    notes = [f"Unresolvable citations skipped (not counted as misses): {skipped}"
             + (" (" + ", ".join(f"{r.name}: {r.unresolved}" for r in reports if r.unresolved) + ")" if skipped else "") + "."]
    empty = [r.name + (f" ({r.error})" if r.error else "") for r in reports if not r.ranked.ranks]
    if empty:
        notes.append("Projects without resolvable citations: " + ", ".join(empty) + ".")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def run_eval(paths: Sequence[str], settings, query_view: str = "default", stream=sys.stderr,
             typed: str | None = None, mode: str = "default") -> dict:
    """Evaluate every project under ``paths`` with one engine; returns the machine-readable report."""
    projects: list[tuple[str, str]] = []
    for p in paths:
        projects += find_projects(os.path.abspath(p))
    # Every entry is ranked, so a true key's rank is always known.
    settings = settings.replace(recall_top_k=1_000_000)
    engine, read = evaluation_engine(settings, query_view)
    progress = Progress(stream)
    reports: list[ProjectReport] = []
    try:
        for i, (folder, root) in enumerate(projects, 1):
            try:
                report = evaluate_project(engine, read, folder, root,
                                          progress.start(os.path.basename(folder), i, len(projects)), typed, mode)
            except Exception as err:  # one broken project must not end the run
                report = ProjectReport(os.path.basename(folder), root, [], 0, error=f"{type(err).__name__}: {err}")
            reports.append(report)
        label = engine.describe()
    finally:
        engine.close()
    overall, floor, random_floor = Metrics(), Metrics(), Metrics()
    for r in reports:
        overall.extend(r.ranked)
        floor.extend(r.bib_order)
        random_floor.extend(r.random_order)
    return {"reports": reports, "overall": overall, "floor": floor, "random": random_floor,
            "projects_found": len(projects), "ranking": label}
