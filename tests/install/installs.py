"""Fresh virtualenvs with one README install line each, from a wheel of this checkout, and the citations the
install tests rank (the example paper's, and one in a chapter of a real thesis of ../shared/eval/dev)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

EXAMPLE_CITE = (REPO / "examples" / "paper" / "chapters" / "method.tex", 8, 40)
DEV = Path(os.environ.get("TEXCITE_EVAL_DEV", REPO.parent / "shared" / "eval" / "dev"))
PIP_TIMEOUT_S = 900
# The README's install lines, as pip requirements on the wheel (`{wheel}`); [transformers] with the pinned torch
# (the README's `pip install torch==2.13.0` line) through CONSTRAINTS.
INSTALLS = {"plain": "{wheel}", "hybrid": "{wheel}[hybrid]", "web": "{wheel}[web]",
            "transformers": "{wheel}[transformers]"}
# Anything that pulls torch gets the CPU build (a bare `torch` pulls GBs of CUDA packages).
CONSTRAINTS = "torch==2.13.0\n"
_CITE_RE = re.compile(r"\\(?:cite|citep|citet|parencite|textcite|autocite)\{")
SIZES: dict[str, float] = {}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would make a subprocess import the checkout or use the tests' cache."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TEXCITE_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(extra)
    return env


def folder_mb(folder: Path) -> float:
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            total += os.lstat(os.path.join(parent, name)).st_size
    return total / 2**20


@dataclass
class Venv:
    """A virtualenv with one install line, installed in a background thread; ``ready()`` waits for it."""

    name: str
    path: Path
    requirement: str
    constraints: Path
    _done: threading.Event = field(default_factory=threading.Event)
    _error: str = ""

    def start(self) -> None:
        threading.Thread(target=self._install, name=f"install-{self.name}", daemon=True).start()

    def _install(self) -> None:
        try:
            for cmd in ([sys.executable, "-m", "venv", str(self.path)],
                        [self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                         "-c", str(self.constraints), self.requirement]):
                run = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=clean_env())
                if run.returncode:
                    self._error = (f"{' '.join(cmd)} failed ({run.returncode}):\n"
                                   f"{run.stdout[-3000:]}{run.stderr[-3000:]}")
                    return
            SIZES[self.name] = folder_mb(self.path)
        except Exception as err:  # reported by the test that needs this virtualenv
            self._error = f"installing {self.requirement}: {err}"
        finally:
            self._done.set()

    def wait(self) -> None:
        """Until the install has finished or failed (or timed out)."""
        self._done.wait(2 * PIP_TIMEOUT_S)

    def ready(self) -> Venv:
        self.wait()
        if not self._done.is_set() or self._error:
            pytest.fail(self._error or f"installing {self.requirement} did not finish", pytrace=False)
        return self

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def env(self, home: Path) -> dict[str, str]:
        """A user's environment: this virtualenv's scripts first on PATH, ``home`` as HOME (its cache is empty)."""
        return clean_env(HOME=str(home), PATH=f"{self.path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                         PYTHONUNBUFFERED="1")

    def texcite(self, home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """The `texcite` command of this virtualenv as a user runs it, in ``home``."""
        return subprocess.run([str(self.path / "bin" / "texcite"), *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env(home), cwd=home)


def build_wheel(out: Path) -> Path:
    """`pip wheel --no-deps` of a copy of the checkout's package files (a build in place would leave build/)."""
    src = out / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "server", src / "server", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--disable-pip-version-check",
                          "-w", str(out / "dist"), str(src)], capture_output=True, text=True, timeout=600,
                         env=clean_env())
    assert run.returncode == 0, run.stdout + run.stderr
    (wheel,) = (out / "dist").glob("texcite-*.whl")
    return wheel


def real_citation() -> tuple[Path, int, int] | None:
    """(file, line, character) right after the opening brace of the first citation in a chapter file (a .tex
    without \\documentclass) of the first project of DEV that has one; None without DEV."""
    if not DEV.is_dir():
        return None
    for project in sorted(p for p in DEV.iterdir() if p.is_dir()):
        for tex in sorted(project.rglob("*.tex")):
            text = tex.read_text(encoding="utf-8", errors="replace")
            if "\\documentclass" in text:
                continue
            for number, line in enumerate(text.splitlines()):
                found = _CITE_RE.search(line)
                if found and "%" not in line[: found.start()]:
                    return tex, number, len(line[: found.end()].encode("utf-16-le")) // 2
    return None
