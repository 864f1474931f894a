"""Real-editor end-to-end tests (marker `editor`): Neovim, Emacs + Eglot and code-server drive `texcite serve`.

They run only when asked: `.venv/bin/python -m pytest tests/editors -m editor` (a plain `pytest` run of the
repository deselects them). Install the editors first with `bash tests/editors/install.sh`. A missing editor skips its
test on a developer machine and FAILS it under CI=true, so CI cannot go green without having run them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import editorlib  # noqa: E402


def require(what: str, found: object) -> None:
    """Skip (developer machine) or fail (CI=true) when an editor or tool is missing."""
    if found:
        return
    message = f"{what} is not installed: run `bash tests/editors/install.sh`"
    if editorlib.in_ci():
        pytest.fail(message + " (CI=true: a missing editor fails the suite)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def project(tmp_path):
    """A fresh git-initialised copy of examples/paper."""
    return editorlib.make_project(tmp_path / "paper")


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    """Where `texcite suggest` computes the expected rankings (copies of the example, per text)."""
    return tmp_path_factory.mktemp("expected")


@pytest.fixture
def texcite_ready():
    """The venv's texcite must run (its absence is a setup failure, not a skip)."""
    exe = editorlib.VENV / "bin" / "texcite"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: run `make install` first", pytrace=False)
    return exe
