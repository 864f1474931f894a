"""`texcite eval --library-split SHARE`: how well the writer's library is ranked. In each project a seeded share of
its cited entries moves from its bibliography to a library (with the bibliographies of the other projects
evaluated, or the ``--library`` files, beside it); every citation of them is removed from the documents, and each
command that cited one is a probe, the rank of the moved work recorded (its key, or another of the library's
listings of the work: the same DOI, or title and year, ``identity.work_ids``). The commands citing only the project's
remaining entries are probes too: their ranks with the library and without it (the same list without its library
items: a project entry's score does not depend on the library) show what the library costs the project.

Each probe keeps the scores of its whole list and the library offset it was ranked with (``library_offset``), so
the ranks under any other offset are computed from one run: the sweep of constant offsets, and the fit of the
shipped rule (bench/results/library.md).
"""

from __future__ import annotations

import glob
import os
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from texcite.engine import Engine
from texcite.evaluation.examples import Example, ExampleSources
from texcite.evaluation.projects import FoundProject
from texcite.files import read_disk
from texcite.latex.cite import cited_commands, keys_in, prints_nothing
from texcite.library.addition import verbatim_blocks
from texcite.library.identity import work_ids
from texcite.settings import Settings

OFFSETS = tuple(float(x) for x in np.arange(0.0, 6.01, 0.5))  # the sweep


@dataclass
class Probe:
    """One command's ranked list: the project entries' scores, the library entries' scores before the offset
    (their affinity with the project in), the scores of the true works among them (the moved ones for a moved
    probe), and the offset it was ranked with."""

    moved: bool
    project: np.ndarray
    library: np.ndarray
    true_project: list[float] = field(default_factory=list)
    true_library: list[float] = field(default_factory=list)
    offset: float = 0.0

    def rank(self, offset: float | None) -> int | None:
        """The best rank of a true work with the library at ``offset`` (None: without the library)."""
        best = None
        for s in self.true_project:
            r = 1 + int((self.project > s).sum()) + (int((self.library - offset > s).sum()) if offset is not None else 0)
            best = r if best is None else min(best, r)
        if offset is not None:
            for u in self.true_library:
                r = 1 + int((self.project > u - offset).sum()) + int((self.library > u).sum())
                best = r if best is None else min(best, r)
        return best


@dataclass
class SplitReport:
    name: str
    entries: int
    moved: int
    library: int
    probes: list[Probe] = field(default_factory=list)
    error: str = ""


def figures(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    """(R@1, R@10, MRR) of best ranks (None: not found)."""
    if not ranks:
        return 0.0, 0.0, 0.0
    found = [r for r in ranks if r is not None]
    n = len(ranks)
    return (sum(r == 1 for r in found) / n, sum(r <= 10 for r in found) / n, sum(1.0 / r for r in found) / n)


def _strip(text: str, commands, removed: set[str], emptied=None) -> tuple[str, int]:
    """``text`` without the keys in ``removed`` in any command, and ``emptied``'s keys all removed; the offset of
    ``emptied``'s first key list in the result (0 without one)."""
    pieces, last, offset = [], 0, 0
    for cmd in commands:
        for i, g in enumerate(cmd.groups):
            keys = [m.group(0) for m in keys_in(text, g.start, g.end)]
            kept = [] if cmd is emptied else [k for k in keys if k not in removed]
            if kept == keys:
                continue
            pieces.append(text[last:g.start])
            if cmd is emptied and i == 0:
                offset = sum(map(len, pieces))
            pieces.append(",".join(kept))
            last = g.end
    pieces.append(text[last:])
    return "".join(pieces), offset


def split_project(engine: Engine, read: ExampleSources, settings: Settings, found: FoundProject, share: float,
                  others: Sequence[str], work: str, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> SplitReport:
    """One project's probes (see the module docstring); ``others``: the rest of the library, ``work``: a folder
    for the moved entries' file."""
    folder, root = found
    name = os.path.basename(os.path.normpath(folder))
    env = dict(os.environ)
    env["BIBINPUTS"] = os.pathsep.join(x for x in (folder, env.get("BIBINPUTS", "")) if x)
    read.show(None)
    engine.configure(settings)
    engine.open_workspace(folder, env)
    project = engine.project(root)
    corpus = engine.corpus(root)
    texts = {tex: read_disk(tex) or "" for tex in project.tex_files}
    commands = {tex: [c for c in cited_commands(t, engine.matcher) if not prints_nothing(c.name)
                      and c.groups and all(g.closed for g in c.groups)] for tex, t in texts.items()}
    cited = sorted({k for tex, cs in commands.items() for c in cs for k in c.keys(texts[tex]) if k in corpus.by_key})
    moved = set(random.Random(f"{seed}:{name}").sample(cited, round(share * len(cited))))
    moved_bib = os.path.join(work, f"{name}.moved.bib")
    blocks: list[str] = []
    for bib in project.bib_files:
        text = read_disk(bib, 1 << 30)
        if text is None or not bib.lower().endswith(".bib"):
            continue
        kept, taken = verbatim_blocks(text, moved)
        blocks += taken
        engine.set_bib_buffer(bib, kept)
    with open(moved_bib, "w", encoding="utf-8") as fh:
        fh.write("\n\n".join(blocks) + "\n")
    engine.configure(settings.replace(library_files=(moved_bib, *others)))
    report = SplitReport(name, len(corpus), len(moved), engine.wait_library())
    moved_works: dict[tuple[str, str], set[str]] = {}  # the same work under another key (a bib may list it twice)
    for k in moved:
        for listed in work_ids(corpus.by_key[k]):
            moved_works.setdefault(listed, set()).add(k)
    stripped = {tex: _strip(t, commands[tex], moved)[0] for tex, t in texts.items()}
    todo = [(tex, c) for tex, cs in commands.items() for c in cs
            if c.keys(texts[tex]) and all(k in corpus.by_key for k in c.keys(texts[tex]))]
    for i, (tex, cmd) in enumerate(todo):
        keys = set(cmd.keys(texts[tex]))
        text, offset = _strip(texts[tex], commands[tex], moved, cmd)
        others_text = {p: t for p, t in stripped.items() if p != tex}
        read.show(Example(tex, 0, tuple(keys), text, offset, others_text))
        result = engine.suggest(tex, text, offset)
        if result is None:
            continue
        is_moved = bool(keys & moved)
        targets = keys & moved if is_moved else keys
        probe = Probe(is_moved, np.zeros(0), np.zeros(0))
        project_scores, library_scores = [], []
        for s in result.suggestions:
            if s.library is None:
                project_scores.append(s.fused_score)
                if s.entry.key in targets:
                    probe.true_project.append(s.fused_score)
            else:
                probe.offset = result.library_offset
                unshifted = s.fused_score + probe.offset
                library_scores.append(unshifted)
                hit = s.library.key in targets or any(targets & moved_works.get(w, set()) for w in work_ids(s.entry))
                if is_moved and hit:
                    probe.true_library.append(unshifted)
        probe.project, probe.library = np.array(project_scores), np.array(library_scores)
        report.probes.append(probe)
        if progress:
            progress(i + 1, len(todo))
    read.show(None)
    for bib in project.bib_files:
        engine.set_bib_buffer(bib, None)
    return report


def evaluate_split(projects: Sequence[FoundProject], settings: Settings, share: float, library: Sequence[str],
                   work: str, start: Callable[[str, int, int], Callable[[int, int], None]] | None = None
                   ) -> list[SplitReport]:
    """Every project with a library split (``library``: extra library files; none: the other projects' .bib
    files are the rest of the library)."""
    read = ExampleSources()
    engine = Engine(settings, read)
    reports = []
    try:
        for i, found in enumerate(projects, 1):
            others = list(library) or sorted(
                b for other in projects if other.folder != found.folder
                for b in glob.glob(os.path.join(glob.escape(other.folder), "**", "*.bib"), recursive=True))
            name = os.path.basename(os.path.normpath(found.folder))
            progress = start(name, i, len(projects)) if start is not None else None
            try:
                reports.append(split_project(engine, read, settings, found, share, others, work, progress=progress))
            except Exception as err:  # one broken project must not end the run
                reports.append(SplitReport(name, 0, 0, 0, error=f"{type(err).__name__}: {err}"))
    finally:
        engine.close(wait=True)
    return reports


def split_table(reports: Sequence[SplitReport]) -> str:
    """Per project and overall: the moved works' R@1/R@10/MRR with the library at the offset each probe was
    ranked with (the shipped rule's), and the project entries' without and with it."""
    rows = ["| project | entries | moved | library | offset | moved probes | R@1 | R@10 | MRR | project probes | "
            "R@10 without → with | MRR without → with |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
            "---: | ---: | ---: | ---: |"]

    def row(name: str, entries: str, moved: str, lib: str, probes: list[Probe]) -> str:
        mv = [p.rank(p.offset) for p in probes if p.moved]
        pj = [p for p in probes if not p.moved]
        m1, m10, mrr = figures(mv)
        _, w10, wmrr = figures([p.rank(None) for p in pj])
        _, l10, lmrr = figures([p.rank(p.offset) for p in pj])
        offsets = sorted({round(p.offset, 1) for p in probes if len(p.library)})  # lists with library entries
        shown = f"{offsets[0]:.1f}" if len(offsets) == 1 else "" if not offsets else f"{offsets[0]:.1f}–{offsets[-1]:.1f}"
        return (f"| {name} | {entries} | {moved} | {lib} | {shown} | {len(mv)} | {m1:.1%} | {m10:.1%} | {mrr:.3f} | "
                f"{len(pj)} | {w10:.1%} → {l10:.1%} | {wmrr:.3f} → {lmrr:.3f} |")

    for r in reports:
        rows.append(f"| {r.name} | error: {r.error} |" if r.error else
                    row(r.name, str(r.entries), str(r.moved), str(r.library), r.probes))
    every = [p for r in reports for p in r.probes]
    rows.append(row("**all**", str(sum(r.entries for r in reports)), str(sum(r.moved for r in reports)), "", every))
    return "\n".join(rows)


def split_json(reports: Sequence[SplitReport], share: float) -> dict:
    """``split_table``'s figures as JSON (``texcite eval --library-split --json``)."""

    def named(ranks: list[int | None]) -> dict[str, float]:
        return dict(zip(("r@1", "r@10", "mrr"), figures(ranks), strict=True))

    def part(probes: list[Probe]) -> dict:
        kept = [p for p in probes if not p.moved]
        return {"moved_probes": sum(p.moved for p in probes), "moved": named([p.rank(p.offset) for p in probes
                                                                              if p.moved]),
                "project_probes": len(kept), "project_without": named([p.rank(None) for p in kept]),
                "project_with": named([p.rank(p.offset) for p in kept])}

    return {"share": share, "projects": [{"name": r.name, "entries": r.entries, "moved": r.moved,
                                          "library": r.library, "error": r.error, **part(r.probes)} for r in reports],
            "overall": part([p for r in reports for p in r.probes])}


def sweep_table(reports: Sequence[SplitReport]) -> str:
    """Over every probe: the figures at each constant offset of ``OFFSETS`` (to compare with the shipped rule)."""
    every = [p for r in reports for p in r.probes]
    moved = [p for p in every if p.moved]
    kept = [p for p in every if not p.moved]
    _, w10, wmrr = figures([p.rank(None) for p in kept])
    w1 = figures([p.rank(None) for p in kept])[0]
    rows = [f"Project probes without the library: R@1 {w1:.1%}, R@10 {w10:.1%}, MRR {wmrr:.3f}.", "",
            "| offset | moved R@1 | moved R@10 | moved MRR | project R@1 | project R@10 | project MRR |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for offset in OFFSETS:
        m1, m10, mrr = figures([p.rank(offset) for p in moved])
        p1, p10, pmrr = figures([p.rank(offset) for p in kept])
        rows.append(f"| {offset:.1f} | {m1:.1%} | {m10:.1%} | {mrr:.3f} | {p1:.1%} | {p10:.1%} | {pmrr:.3f} |")
    return "\n".join(rows)
