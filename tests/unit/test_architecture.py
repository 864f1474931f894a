"""The package's shape holds: module imports form no cycle (imports under ``if TYPE_CHECKING`` count: a type-only
cycle is still two modules that must be read together), each layer imports only itself and the layers below it,
no module grows past 400 lines, and only the LSP layer (and the CLI's `serve`) knows pygls. Read from the source
with ``ast``: top-level imports, and imports inside functions too (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
import functools
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "server" / "texcite"
MAX_LINES = 400
# Layers, bottom up: process and file basics; LaTeX and bib reading; retrieval and reranking; the one pipeline;
# what runs it over many documents; the front ends; the command line.
LAYERS = (
    ("texcite", "texcite.runtime", "texcite.files", "texcite.positions", "texcite.settings", "texcite.stages",
     "texcite.textnorm", "texcite.cachefolder"),
    ("texcite.latex", "texcite.bib"),
    ("texcite.retrieval", "texcite.rerank", "texcite.library"),
    ("texcite.ranking", "texcite.presentation", "texcite.engine", "texcite.engine_events", "texcite.lessons",
     "texcite.memory"),
    ("texcite.evaluation", "texcite.doctor"),
    ("texcite.lsp", "texcite.web"),
    ("texcite.cli", "texcite.wait_notes", "texcite.__main__"),
)


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """texcite module -> the texcite modules it imports (anywhere in the file, ``if TYPE_CHECKING`` included)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("texcite"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("texcite")}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def layer(module: str) -> int:
    """The layer of a module: the longest prefix listed in ``LAYERS`` decides."""
    best, found = -1, -1
    for i, names in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), i
    assert found >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return found


def external(prefixes: tuple[str, ...]) -> set[str]:
    """Modules that import any of the given third-party packages."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n.split(".")[0] in prefixes for n in names):
                out.add(module_name(path))
    return out


def test_no_import_cycles_type_only_imports_included():
    graph = imports()

    @functools.cache
    def depth(name: str, trail: tuple[str, ...] = ()) -> int:
        assert name not in trail, "import cycle: " + " -> ".join(trail + (name,))
        return 1 + max((depth(d, trail + (name,)) for d in graph[name]), default=0)

    for name in graph:
        depth(name)


def test_each_layer_imports_only_itself_and_those_below():
    graph = imports()
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps if layer(d) > layer(m))
    assert upward == []


def test_no_module_over_400_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_only_the_lsp_layer_knows_pygls():
    assert {m for m in external(("pygls", "lsprotocol")) if not m.startswith("texcite.lsp")} == set()


def test_the_core_does_not_import_the_lsp_layer():
    graph = imports()
    core = [m for m in graph if not m.startswith("texcite.lsp") and m != "texcite.cli"]
    assert {m for m in core if any(d.startswith("texcite.lsp") for d in graph[m])} == set()
