"""Every script of bench/ still runs against the package: each on a tiny input (a small synthetic bib, the example
paper), its results written to a temporary folder, never into bench/results/. What they measure is not checked
here (speed goals live in bench/, not in tests). The scripts run two at a time (most of their time is a model
loading or a server starting), once for the module."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
PAPER = REPO / "examples" / "paper"
HELPERS = {"lspclient.py", "synthbib.py"}  # imported by the scripts, not run
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name not in HELPERS)
PASS_OR_FAIL = {"run.py"}  # exits 1 when a target is missed, as it may on a tiny input


def smoke_args(tmp: Path) -> dict[str, list[str]]:
    """The tiny run of each script, its output under ``tmp``."""
    two = tmp / "projects"
    for name in ("one", "two"):  # leave-one-project-out needs two projects
        shutil.copytree(PAPER, two / name)
    train = tmp / "train"  # a training-only project (bench/train-projects.md)
    shutil.copytree(PAPER, train / "three")
    return {
        "add_one.py": [str(two), "--out", str(tmp / "add-one.md")],
        "adaptation.py": [str(two), "--units", "0", "--cache", str(tmp / "cache"), "--out", str(tmp / "adaptation.md"),
                          "--train-only", str(train)],
        "book_bench.py": ["--sizes", "0.03", "--edits", "3", "--entries", "40", "--smaller", "0", "--out", str(tmp)],
        "dense_bench.py": ["--entries", "50", "--requests", "3", "--build-seconds", "1",
                           "--out", str(tmp / "dense.md")],
        "dense_encoders.py": [str(two), "--cache", str(tmp / "cache"), "--out", str(tmp)],
        "dense_runtime_bench.py": ["--runtimes", "torch,onnx-int8", "--no-install-size", "--cold-runs", "1",
                                   "--queries", "2", "--entries", "8", "--data", str(PAPER), "--results", str(tmp)],
        "library_bench.py": ["--entries", "300", "--project", "40", "--requests", "3", "--out", str(tmp)],
        "first_order.py": ["--runs", "1", "--entries", "", "--out", str(tmp)],
        "fit_fusion.py": [str(two), "--cache", str(tmp / "cache"), "--train-only", str(train)],
        "ranking_cost.py": ["0.03", "--entries", "50", "--edits", "3"],
        # transformers only: vLLM's in-process engine (the same VllmReranker) is started by tests/rerank, and its
        # start alone would add 85 s here
        "rerank_bench.py": ["--backends", "transformers", "--ks", "2", "--doc-tokens", "16", "--repeats", "1",
                            "--max-length", "512", "--out", str(tmp / "rerank.md")],
        "run.py": ["--sizes", "200", "--requests", "3", "--repeats", "1", "--out", str(tmp)],
    }


def skipped(script: str) -> str:
    """Why ``script`` cannot run here ('' if it can)."""
    if script == "rerank_bench.py" and importlib.util.find_spec("transformers") is None:
        return "needs torch + transformers: pip install 'texcite[transformers]'"
    return ""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Each script's tiny run (bench/results/ checked untouched)."""
    before = {p: p.stat().st_mtime_ns for p in (BENCH / "results").iterdir()}

    def run(script: str) -> subprocess.CompletedProcess:
        tmp = tmp_path_factory.mktemp(script.removesuffix(".py"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "server"), os.environ.get("PYTHONPATH", "")]),
               "HF_HUB_OFFLINE": "1", "TEXCITE_BENCH_CACHE": str(tmp / "bench-cache"), "TMPDIR": str(tmp)}
        return subprocess.run([sys.executable, str(BENCH / script), *smoke_args(tmp)[script]], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=600)

    scripts = [s for s in SCRIPTS if not skipped(s)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(scripts, pool.map(run, scripts), strict=True))
    assert {p: p.stat().st_mtime_ns for p in (BENCH / "results").iterdir()} == before, "bench/results/ changed"
    return done


def test_every_script_has_a_smoke_run(tmp_path):
    assert set(SCRIPTS) == set(smoke_args(tmp_path))


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_on_a_tiny_input(script, runs):
    if skipped(script):
        pytest.skip(skipped(script))
    run = runs[script]
    assert run.returncode in ((0, 1) if script in PASS_OR_FAIL else (0,)), run.stderr[-3000:]
