"""What an evaluation found: per project, the best rank of a true key for each example under the pipeline and under
the two floors (``ProjectReport``), and over every project the ``Evaluation`` that ``evaluation.run`` returns and
``evaluation.report`` prints, with the ``Variant`` evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from texcite.evaluation.metrics import Metrics


@dataclass(frozen=True)
class Variant:
    """What is evaluated besides the ranking: the BM25 query view (``default``: the server's ranking), what the
    writer has typed in the braces (``latex.emptied.TYPED_MODES``) and the examples' mode (default, writing or add-one;
    see ``evaluation.examples``)."""

    query: str = "default"
    typed: str | None = None
    mode: str = "default"

    def label(self, ranking: str) -> str:
        """The ranking with what differs from the server's default: 'BM25 + MiniLM, query=paragraph, writing'."""
        label = ranking if self.query == "default" else f"{ranking}, query={self.query}"
        if self.typed:
            label += f", typed={self.typed}"
        if self.mode != "default":
            label += f", {self.mode}"
        return label


@dataclass
class ProjectReport:
    """Results of one project: its language (``latex.language``), the pipeline, the bib-order and random-order
    floors and what was skipped."""

    name: str
    root: str
    bib_files: list[str]
    entries: int
    language: str = "unknown"
    ranked: Metrics = field(default_factory=Metrics)
    bib_order: Metrics = field(default_factory=Metrics)
    random_order: Metrics = field(default_factory=Metrics)
    unresolved: int = 0
    error: str = ""


@dataclass
class Evaluation:
    """One ranking over every project: what ranked, the variant evaluated and each project's report."""

    ranking: str
    variant: Variant = field(default_factory=Variant)
    reports: list[ProjectReport] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.variant.label(self.ranking)

    @property
    def overall(self) -> Metrics:
        return Metrics.pooled(r.ranked for r in self.reports)

    @property
    def by_language(self) -> dict[str, tuple[int, Metrics]]:
        """Each language -> its projects with examples and their pooled ranks, the most examples first."""
        groups: dict[str, list[Metrics]] = {}
        for r in self.reports:
            if r.ranked.ranks:
                groups.setdefault(r.language, []).append(r.ranked)
        pooled = [(language, len(parts), Metrics.pooled(parts)) for language, parts in groups.items()]
        return {language: (n, m) for language, n, m in sorted(pooled, key=lambda g: (-len(g[2].ranks), g[0]))}

    @property
    def bib_order(self) -> Metrics:
        return Metrics.pooled(r.bib_order for r in self.reports)

    @property
    def random_order(self) -> Metrics:
        return Metrics.pooled(r.random_order for r in self.reports)

    @property
    def unresolved(self) -> int:
        return sum(r.unresolved for r in self.reports)

    @property
    def without_examples(self) -> list[ProjectReport]:
        return [r for r in self.reports if not r.ranked.ranks]
