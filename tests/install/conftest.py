"""What a user installs (marker `install`): each install line of the README in a fresh virtualenv, from a wheel of
this checkout, run with an empty texcite cache on the example paper and on a real multi-file thesis.

They run only when asked: `.venv/bin/python -m pytest tests/install -m install` (`make test-install`; a plain
`pytest` run deselects them). Dependencies come from the package index (pip's download cache is reused); the
virtualenvs are installed side by side while the first tests run. The real thesis is the first project of
`../shared/eval/dev` (or $TEXCITE_EVAL_DEV) with a citation in a chapter file; without that folder those tests skip.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "web"))  # webserver.py: `texcite web` as a subprocess

from installs import CONSTRAINTS, DEV, EXAMPLE_CITE, INSTALLS, SIZES, Venv, build_wheel, real_citation  # noqa: E402


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def venvs(wheel, tmp_path_factory) -> Iterator[dict[str, Venv]]:
    """Every install line's virtualenv, all installing at once (mostly waiting on downloads)."""
    root = tmp_path_factory.mktemp("venvs")
    constraints = root / "constraints.txt"
    constraints.write_text(CONSTRAINTS)
    out = {}
    for name, requirement in INSTALLS.items():
        out[name] = Venv(name, root / name, requirement.format(wheel=wheel), constraints)
        out[name].start()
    yield out
    for venv in out.values():  # 2.4 GB together; the editors CI installs next need the disk
        venv.wait()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["example paper", "real thesis"])
def citation(request) -> tuple[Path, int, int]:
    """A cursor inside a citation: in the example paper, and in a real thesis of ../shared/eval/dev."""
    if request.param == "example paper":
        return EXAMPLE_CITE
    found = real_citation()
    if found is None:
        pytest.skip(f"no real LaTeX project: {DEV} is missing (CI has ../shared/eval/dev beside the clone; "
                    "or set TEXCITE_EVAL_DEV)")
    return found


def pytest_terminal_summary(terminalreporter) -> None:
    if SIZES:
        terminalreporter.write_line("installed virtualenv sizes: " + ", ".join(
            f"{name} {mb:.0f} MB" for name, mb in SIZES.items()))
