"""What the page shows before anyone types: the design's rerank example, and from the project its first citation
(the file to open on Suggest, the paragraph and keys to try on Compare)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from texcite.files import read_disk
from texcite.latex.cite import CiteMatcher, cited_commands
from texcite.latex.query import MARKER, paragraph_span

DESIGN_QUERY = "一种基于Transformer架构的大语言模型预训练方法，支持多任务学习和零样本迁移"
DESIGN_CANDIDATES = (
    "Attention Is All You Need",
    "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    "Language Models are Few-Shot Learners",
    "A Survey on Retrieval-Augmented Generation",
)


@dataclass(frozen=True)
class Citation:
    """A citation of the project: its file (relative), the paragraph with ``[CITATION]`` in its place, its keys."""

    file: str
    paragraph: str
    keys: tuple[str, ...]


def first_citation(project: str | None, files: list[str], matcher: CiteMatcher) -> Citation | None:
    """The first citation with keys in the project's .tex files (``safety.tex_files`` order)."""
    if project is None:
        return None
    for rel in files:
        text = read_disk(os.path.join(project, rel)) or ""
        for cmd in cited_commands(text, matcher):
            keys = tuple(dict.fromkeys(cmd.keys(text)))
            if keys:
                start, end = paragraph_span(text, cmd.start)
                paragraph = text[start:cmd.start] + MARKER + text[cmd.end:end]
                return Citation(rel, paragraph.strip(), keys)
    return None
