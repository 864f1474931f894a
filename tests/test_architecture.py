"""The package's shape holds: module imports form no cycle, stay few levels deep, and only the LSP layer (and the
CLI's `serve`) knows pygls. Read from the source with ``ast``: top-level imports, and imports inside functions
too (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
import functools
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "server" / "texcite"
# Longest chain of texcite imports (12 before the packages by concept): the front ends (lsp, web) sit on the
# engine, the engine on the latex and retrieval packages.
MAX_LEVELS = 10


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """texcite module -> the texcite modules it imports (outside ``if TYPE_CHECKING``)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
        deps = set()
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("texcite"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("texcite")}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


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


def test_no_import_cycles_and_few_levels():
    graph = imports()

    @functools.cache
    def depth(name: str, trail: tuple[str, ...] = ()) -> int:
        assert name not in trail, "import cycle: " + " -> ".join(trail + (name,))
        return 1 + max((depth(d, trail + (name,)) for d in graph[name]), default=0)

    deepest = max(graph, key=depth)
    assert depth(deepest) <= MAX_LEVELS, deepest


def test_only_the_lsp_layer_knows_pygls():
    assert {m for m in external(("pygls", "lsprotocol")) if not m.startswith("texcite.lsp")} == set()


def test_the_core_does_not_import_the_lsp_layer():
    graph = imports()
    core = [m for m in graph if not m.startswith("texcite.lsp") and m != "texcite.cli"]
    assert {m for m in core if any(d.startswith("texcite.lsp") for d in graph[m])} == set()
