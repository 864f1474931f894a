"""Session-wide test setup: every on-disk cache (bib index, embeddings) goes to a fresh folder, never ~/.cache."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Unit tests by package (unit/<package>/), the server end to end through its protocol (lsp/), the command line and
# the web page (frontends/), the rerank backends (rerank/); the helper modules here and a test module's shared
# fixtures are imported by name from any of them.
for folder in (HERE, HERE / "lsp", HERE / "unit", *sorted((HERE / "unit").glob("*/")), HERE / "frontends"):
    sys.path.insert(0, str(folder))
# Folders whose tests run only when asked with `-m <marker>` (`make test-editors`, `make test-web`,
# `make test-install`): a plain `pytest` run deselects them.
OPT_IN = {"editor": HERE / "editors", "web": HERE / "web", "install": HERE / "install"}


def pytest_collection_modifyitems(config, items):
    """Deselect each opt-in folder's tests unless `-m` names its marker (and not as `not <marker>`)."""
    markexpr = config.getoption("markexpr", "") or ""
    for marker, folder in OPT_IN.items():
        if marker in markexpr and f"not {marker}" not in markexpr:
            continue
        drop = [item for item in items if Path(str(item.fspath)).resolve().is_relative_to(folder)]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [item for item in items if item not in drop]


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Servers started by tests inherit this environment, so they use the same private cache."""
    folder = tmp_path_factory.mktemp("texcite-cache")
    old = os.environ.get("TEXCITE_CACHE_DIR")
    os.environ["TEXCITE_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("TEXCITE_CACHE_DIR", None)
    else:
        os.environ["TEXCITE_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def empty_memory(private_cache_dir):
    """Each test starts with no accepted citations remembered (``memory``): what an earlier test's editor accepted
    in its copy of the example paper must not adapt a later test's lists."""
    shutil.rmtree(private_cache_dir / "memory", ignore_errors=True)
