"""The page's event handlers, one per endpoint: take the page's inputs, call the rankers or the evaluator, and turn
their answers into tables and messages. A request the page refuses (no bibliography, a path out of the project, an
upload too big or not a .bib) raises ``gr.Error``: a message on the page, an error with that text for API clients.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from texcite.files import read_disk
from texcite.latex.query import MARKER
from texcite.web.ranking import Ranked, Rankers, make_spot
from texcite.web.safety import Refused, check_upload, project_file

if TYPE_CHECKING:
    from texcite.web.evaluate import Evaluator

SUGGEST_COLUMNS = ["rank", "key", "authors", "year", "title", "relevance", "why it ranked"]
RERANK_COLUMNS = ["rank", "score", "candidate"]
COMPARE_ROWS = 15
MAX_CANDIDATES = 1_000
MAX_PROBLEMS = 50
NEED_BIBLIOGRAPHY = ("A bibliography is needed: upload a .bib above, or start `texcite web PROJECT_DIR` on a LaTeX "
                     "project folder.")
NOT_IN_A_CITATION = ("Click inside the braces of a citation command such as `\\cite{}` (or put a `[CITATION]` "
                     "marker in the text), then rank again.")


def refuse(message: str) -> gr.Error:
    """The error a refused request raises (shown on the page; not logged as a crash)."""
    return gr.Error(message, title="texcite", print_exception=False)


def _authors(names: list[str]) -> str:
    return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")


def _table(rows: list[list], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


class Handlers:
    """The endpoints' code over one set of rankers and one evaluator (None without a project folder)."""

    def __init__(self, rankers: Rankers, evaluator: "Evaluator | None") -> None:
        self.rankers = rankers
        self.evaluator = evaluator
        self.project = rankers.project
        self.max_items = rankers.settings.completion.max_items

    # -- inputs ----------------------------------------------------------------------------------------------------
    def _upload(self, bib: str | None) -> str | None:
        try:
            return check_upload(bib) if bib else None
        except Refused as err:
            raise refuse(str(err)) from None

    def _file(self, file: str | None) -> str | None:
        try:
            return project_file(self.project, file) if file and file.strip() else None
        except Refused as err:
            raise refuse(str(err)) from None

    def tex_file(self, file: str | None) -> str:
        """The text of one .tex file of the project (what the Suggest tab shows)."""
        path = self._file(file)
        if path is None:
            return ""
        text = read_disk(path)
        if text is None:
            raise refuse(f"{file} cannot be read.")
        return text

    # -- Suggest ---------------------------------------------------------------------------------------------------
    def suggest(self, file: str | None, text: str, cursor: float | None, bib: str | None, as_if_empty: bool,
                progress=gr.Progress()):
        """Rank the bibliography (the project's, or the uploaded .bib) at the cursor (or [CITATION]) in the text.
        An empty text with a file ranks that file as it is on disk. Returns the status, the ranked entries, the
        best entry's \\cite{key}, the bibliography problems and the query the last stage scored; ``progress``
        shows the indexing and embedding of a bibliography seen for the first time."""
        upload = self._upload(bib)
        path = self._file(file)
        if self.project is None and upload is None:
            raise refuse(NEED_BIBLIOGRAPHY)
        if not text.strip() and path is not None:
            text = self.tex_file(file)
        spot = make_spot(text, -1 if cursor is None else int(cursor), path, as_if_empty, self.rankers.matcher)
        ranked = self.rankers.rank(spot, upload, progress=progress)[0] if spot is not None else None
        if spot is None or ranked is None or ranked.result is None:
            return NOT_IN_A_CITATION, _table([], SUGGEST_COLUMNS), "", self._problems(ranked), ""
        suggestions = ranked.result.suggestions[: self.max_items]
        rows = []
        for s in suggestions:
            library = f"library ({os.path.basename(s.library.file)}): not in the project's .bib yet; " \
                if s.library is not None else ""
            why = ("✓ cited here; " if s.entry.key in spot.cited else "") + library + "; ".join(s.reasons)
            rows.append([s.rank, s.entry.key, _authors(s.entry.authors), s.entry.year, s.entry.title, s.relevance,
                         why])
        where = (f"in {os.path.relpath(path, self.project)}" if path and upload is None else "in the text") + \
            f", line {spot.text.count(chr(10), 0, spot.offset) + 1}"
        status = [f"**{ranked.label}** ranked {ranked.entries} entries of {', '.join(ranked.bib_names) or 'no .bib'} "
                  f"{where}."]
        if spot.cited:
            status.append(f"The citation held {', '.join(spot.cited)}; it was ranked as if empty (✓ marks them).")
        if ranked.result.fallback_message:
            status.append(f"⚠ {ranked.result.fallback_message}")
        if not suggestions:
            status.append("No entry to suggest: the bibliography has no entries that parsed.")
        cite = f"\\cite{{{suggestions[0].entry.key}}}" if suggestions else ""
        return "\n\n".join(status), _table(rows, SUGGEST_COLUMNS), cite, self._problems(ranked), ranked.result.query

    @staticmethod
    def choose(event: gr.SelectData):
        """The \\cite{key} of the row clicked in the Suggest table (a click elsewhere changes nothing)."""
        row = event.row_value or []
        return f"\\cite{{{row[1]}}}" if len(row) > 1 and row[1] else gr.skip()

    def _problems(self, ranked: Ranked | None) -> str:
        if ranked is None or not ranked.problems:
            return ""
        shown = ranked.problems[:MAX_PROBLEMS]
        more = len(ranked.problems) - len(shown)
        return ("**Bibliography problems** — the entries that parsed are ranked:\n\n"
                + "\n".join(f"- {p}" for p in shown) + (f"\n- … and {more} more" if more else ""))

    # -- Rerank ----------------------------------------------------------------------------------------------------
    def rerank(self, query: str, candidates: str, instruction: str):
        """Score free-text candidates (one per line) against the query with the configured ranker; best first."""
        documents = [line.strip() for line in candidates.splitlines() if line.strip()]
        if not query.strip():
            raise refuse("Enter a query.")
        if not documents:
            raise refuse("Enter the candidates, one per line.")
        if len(documents) > MAX_CANDIDATES:
            raise refuse(f"{len(documents)} candidates: at most {MAX_CANDIDATES} are ranked at once.")
        neural = "reranker" in self.rankers.engines
        instruction = instruction.strip()
        own = neural and instruction and instruction != self.rankers.settings.reranker.instruction
        scores, label = self.rankers.rerank(query.strip(), documents, instruction if own else None)
        order = sorted(range(len(documents)), key=lambda i: -scores[i])
        rows = [[rank, round(float(scores[i]), 4), documents[i]] for rank, i in enumerate(order, 1)]
        status = f"Ranked by **{label}**."
        if not neural:
            status += (" The instruction is read by a neural reranker only; none is configured (start with "
                       "`--reranker vllm-http --url …` or `--reranker transformers`).")
        return status, _table(rows, RERANK_COLUMNS)

    # -- Compare ---------------------------------------------------------------------------------------------------
    def compare(self, query: str, expected: str, bib: str | None, progress=gr.Progress()):
        """Rank the bibliography for a paragraph with a [CITATION] marker (or a query, cited at its end) with every
        stage side by side; each cell is a key, ★ when expected, with its move against the stage before."""
        upload = self._upload(bib)
        if self.project is None and upload is None:
            raise refuse(NEED_BIBLIOGRAPHY)
        if not query.strip():
            raise refuse("Enter a paragraph with a [CITATION] marker, or a query.")
        text = query if MARKER in query else query.rstrip() + " " + MARKER
        spot = make_spot(text, -1, None, False, self.rankers.matcher)
        assert spot is not None  # the text holds a [CITATION] marker
        stages = self.rankers.rank(spot, upload, list(self.rankers.engines), progress)
        wanted = {k.strip() for k in expected.replace(";", ",").split(",") if k.strip()}
        columns, orders = ["rank"], []
        for r in stages:
            name = r.label
            while name in columns:
                name += " ·"
            columns.append(name)
            orders.append([s.entry.key for s in r.result.suggestions] if r.result else [])
        rows = []
        for i in range(min(COMPARE_ROWS, max(map(len, orders), default=0))):
            row: list = [i + 1]
            for j, keys in enumerate(orders):
                row.append(self._cell(keys, i, orders[j - 1] if j else None, wanted))
            rows.append(row)
        lines = [f"{len(stages)} rankings of {stages[0].entries} entries "
                 f"({', '.join(stages[0].bib_names) or 'no .bib'}); arrows: the move against the column before."]
        for key in sorted(wanted):
            where = [f"#{keys.index(key) + 1} in {name}" if key in keys else f"not ranked in {name}"
                     for name, keys in zip(columns[1:], orders, strict=True)]
            lines.append(f"★ `{key}`: " + ", ".join(where) + ".")
        lines += [f"⚠ {r.result.fallback_message}" for r in stages if r.result and r.result.fallback_message]
        return "\n\n".join(lines), _table(rows, columns), self._problems(stages[0])

    @staticmethod
    def _cell(keys: list[str], i: int, before: list[str] | None, wanted: set[str]) -> str:
        if i >= len(keys):
            return ""
        key = keys[i]
        cell = ("★ " if key in wanted else "") + key
        if before is not None:
            if key not in before:
                cell += " (new)"
            elif before.index(key) != i:
                moved = before.index(key) - i
                cell += f" ↑{moved}" if moved > 0 else f" ↓{-moved}"
        return cell

    # -- Evaluate --------------------------------------------------------------------------------------------------
    def evaluate(self, stages: list[str], progress=gr.Progress()):
        """`texcite eval` on the project with the chosen rankings: the Recall@k / MRR tables (markdown) and the
        Recall@k curves (k, recall, ranking)."""
        if self.evaluator is None:
            raise refuse("Evaluate needs a project folder: start `texcite web PROJECT_DIR`.")
        chosen = [s for s in self.evaluator.stages if s in (stages or [])]
        if not chosen:
            raise refuse("Choose at least one ranking to evaluate.")
        progress(0.0, desc="Finding the project's citations")
        runs, notes = self.evaluator.run(chosen, lambda done, what: progress(done, desc=what))
        if not any(run.reports for run in runs):
            raise refuse("No LaTeX project found in the folder: it needs a .tex with \\documentclass at its top "
                         "(or in a subfolder).")
        report, curve = self.evaluator.summary(runs, notes)
        return report, pd.DataFrame(curve, columns=["k", "recall", "ranking"])
