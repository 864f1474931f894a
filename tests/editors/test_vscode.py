"""code-server 4.139.1 (VS Code 1.139 in a browser) with the texcite .vsix, driven by Selenium + headless Chromium.

What a user sees is read from the DOM: the suggestion widget's rows after typing `\\cite{`, a surname prefix, a
title word and a comma; the status bar item; the QuickPick of "texcite: Cite Here". The keys they should show come
from `texcite suggest --json` at the same spot with the same text.

Settings: the Machine settings are the docs' block (docs/editors.md, `vscode-settings`) with the real interpreter
(`<repo>/.venv/bin/python`) for the placeholder path; everything else keeps its default, as for a new user. Workspace
trust is off in the User settings. While the server still loads its model, its first lists come in recall order
(marked incomplete): the test waits for texcite's one status bar item to stop saying what loads ("loading MiniLM",
"MiniLM 120/224 entries"; no second item shows the server's progress), and re-opens the list (Escape, Ctrl+Space,
as a user would) until it shows texcite's ranking or the timeout passes.

The .vsix: $TEXCITE_VSIX, else vscode-extension/texcite.vsix, built (`npm ci && npm run package`) when missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import editorlib
from conftest import require
from browser import CHROMEDRIVER, CHROMIUM, Browser
from editorlib import Spot, cli_ranking, surname_prefix, utf16_len

pytestmark = pytest.mark.editor

METHOD = "chapters/method.tex"
METHOD_LINE = 8  # "margin-based distillation loss of \cite{} we train a compact student on the"
BEFORE = "margin-based distillation loss of "  # the prepared spot: \cite{} removed, the user types it here
# Orders are compared on the first TOP rows: further down, hybrid scores can be close enough (e.g. 1.016 vs 1.001)
# for two entries to swap between two processes.
TOP = 5


# -- the extension ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def vsix() -> Path:
    given = os.environ.get("TEXCITE_VSIX")
    if given:
        path = Path(given)
        if not path.exists():
            pytest.fail(f"TEXCITE_VSIX={given} does not exist", pytrace=False)
        return path
    ext = editorlib.REPO / "vscode-extension"
    path = ext / "texcite.vsix"
    if not path.exists():
        env = dict(os.environ)
        if editorlib.node24_bin().exists():
            env["PATH"] = f"{editorlib.node24_bin()}{os.pathsep}{env.get('PATH', '')}"
        for cmd in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "package"]):
            run = subprocess.run(cmd, cwd=ext, env=env, capture_output=True, text=True, timeout=900)
            if run.returncode != 0:
                pytest.fail(f"building the .vsix: {' '.join(cmd)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}",
                            pytrace=False)
    return path


# -- code-server ------------------------------------------------------------------------------------------------------
# The user settings of every code-server test: no trust prompt, tips, updates, telemetry, AI panels or previews.
USER_SETTINGS = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "chat.disableAIFeatures": True,
    "editor.suggest.preview": False,
}


class CodeServer:
    """code-server on a free loopback port with a private user-data-dir, extensions-dir, config and HOME."""

    def __init__(self, root: Path, vsix: Path, machine_settings: dict, user_settings: dict):
        self.root = root
        self.binary = editorlib.code_server()
        self.port = editorlib.free_port()
        self.data = root / "user-data"
        self.extensions = root / "extensions"
        self.config = root / "config.yaml"
        self.log = root / "code-server.log"
        self.env = editorlib.private_env(root, extra_path=[str(editorlib.node24_bin())])
        self.env["XDG_DATA_HOME"] = str(root / "xdg-data")
        # No extension gallery: code-server would otherwise query open-vsx.org (no network here, nor wanted).
        self.env["EXTENSIONS_GALLERY"] = "{}"
        (self.data / "User").mkdir(parents=True)
        (self.data / "Machine").mkdir(parents=True)
        (self.data / "User" / "settings.json").write_text(json.dumps(user_settings, indent=2))
        (self.data / "Machine" / "settings.json").write_text(json.dumps(machine_settings, indent=2))
        self.config.write_text(f"bind-addr: 127.0.0.1:{self.port}\nauth: none\ncert: false\n")
        self.vsix = vsix
        self.proc: subprocess.Popen | None = None

    def _args(self) -> list[str]:
        return ["--config", str(self.config), "--user-data-dir", str(self.data),
                "--extensions-dir", str(self.extensions)]

    def install_extension(self) -> None:
        run = subprocess.run([self.binary, *self._args(), "--install-extension", str(self.vsix)], env=self.env,
                             capture_output=True, text=True, timeout=300)
        installed = list(self.extensions.glob("texcite.texcite-*"))
        assert run.returncode == 0 and installed, f"--install-extension failed:\n{run.stdout}\n{run.stderr}"

    def start(self) -> None:
        self._logfile = open(self.log, "w")
        self.proc = subprocess.Popen([self.binary, *self._args(), "--disable-telemetry", "--disable-update-check"],
                                     env=self.env, stdout=self._logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + editorlib.TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"code-server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"code-server did not answer on port {self.port}:\n{self.log.read_text()[-3000:]}")

    def url(self, folder: Path) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={folder}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=20)
        if getattr(self, "_logfile", None):
            self._logfile.close()


# -- the browser ------------------------------------------------------------------------------------------------------
class Workbench(Browser):
    """The code-server workbench in headless Chromium."""

    def __init__(self, profile: Path, env: dict[str, str]):
        # chromedriver and Chromium get the private HOME/XDG folders too (Chromium writes ~/.config/chromium, dconf).
        super().__init__(profile, "1400,900", editorlib.TIMEOUT_S, env)

    def open_file(self, folder_url: str, name: str) -> None:
        """Open the folder in the workbench, then ``name`` through Quick Open (Ctrl+P)."""
        from selenium.webdriver.common.keys import Keys

        self.driver.get(folder_url)
        self.wait("the workbench", lambda: self.css(".monaco-workbench .part.statusbar"))
        self.wait("the explorer to list the project", lambda: self.css(".explorer-folders-view .monaco-list-row"))
        self.keys("p", modifiers=(Keys.CONTROL,))
        box = self.quick_input()
        box.send_keys(name)
        self.wait(f"{name} in Quick Open", lambda: any(name in r for r in self.quick_rows()))
        box.send_keys(Keys.ENTER)

    def type_slowly(self, text: str) -> None:
        for ch in text:
            self.keys(ch)

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))

    # VS Code
    def quick_input(self):
        return self.wait("the quick input box", lambda: self.css(".quick-input-widget input"))[0]

    def quick_rows(self) -> list[str]:
        rows = self.css(".quick-input-widget .quick-input-list .monaco-list-row")
        rows.sort(key=lambda r: int(r.get_attribute("data-index") or 0))
        return [(r.get_attribute("aria-label") or r.text).replace("\n", " ") for r in rows]

    def settled_quick_rows(self, what: str, reject=lambda rows: False) -> list[str]:
        """QuickPick rows once the first row (data-index 0) is rendered and the rows stayed the same for 0.6 s."""
        state = {"rows": None, "since": time.monotonic()}

        def settled():
            rows = self.css(".quick-input-widget .quick-input-list .monaco-list-row")
            if not rows or min(int(r.get_attribute("data-index") or 0) for r in rows) != 0:
                return None
            labels = self.quick_rows()
            now = time.monotonic()
            if reject(labels) or labels != state["rows"]:
                state["rows"], state["since"] = labels, now
                return None
            return labels if now - state["since"] >= 0.6 else None

        return self.wait(what, settled)

    def reasking(self, what: str, found, shown, reask_after: float = 5.0):
        """``found()`` once it is truthy; Escape + Ctrl+Space re-asks the suggestion widget every ``reask_after``
        seconds until then (the server still indexing); a timeout says what ``shown()`` last saw."""
        from selenium.webdriver.common.keys import Keys

        asked = time.monotonic()

        def ready():
            nonlocal asked
            value = found()
            if value:
                return value
            if time.monotonic() - asked > reask_after:
                self.keys(Keys.ESCAPE)
                self.keys(" ", modifiers=(Keys.CONTROL,))
                asked = time.monotonic()
            return None

        try:
            return self.wait(what, ready)
        except AssertionError as err:
            raise AssertionError(f"{err}; the widget showed {shown()}") from None

    def suggestions_matching(self, expected: list[str], what: str, reopen_after: float = 5.0) -> list[str]:
        """Settled rows that start texcite's ranking ``expected``; Escape + Ctrl+Space re-asks while they do not."""
        seen: dict = {"rows": None}

        def matching():
            rows = seen["rows"] = self.settled_suggestions(what)
            return rows if rows[:TOP] == expected[:min(TOP, len(rows))] else None

        return self.reasking(f"{what} to show texcite's ranking {expected[:TOP]}", matching, lambda: seen["rows"],
                             reopen_after)

    def suggest_rows(self) -> list[str]:
        """The labels of the suggestion widget's rows, in display order (rendered rows only: the list is virtual)."""
        rows = self.css(".suggest-widget.visible .monaco-list-row")
        rows.sort(key=lambda r: int(r.get_attribute("data-index") or 0))
        from selenium.webdriver.common.by import By

        return [(r.find_element(By.CSS_SELECTOR, ".label-name").get_attribute("textContent") or "").strip()
                for r in rows]

    def suggest_count(self) -> int | None:
        rows = self.css(".suggest-widget.visible .monaco-list-row")
        return int(rows[0].get_attribute("aria-setsize")) if rows and rows[0].get_attribute("aria-setsize") else None

    def suggest_message(self) -> str:
        return " ".join(e.text for e in self.css(".suggest-widget .message"))

    def settled_suggestions(self, what: str, retrigger_after: float = 8.0) -> list[str]:
        """Rows once the widget shows some and they stayed the same for 0.6 s; Ctrl+Space re-asks when nothing shows."""
        from selenium.webdriver.common.keys import Keys

        state = {"rows": None, "since": time.monotonic(), "asked": time.monotonic()}

        def settled():
            rows = self.suggest_rows()
            now = time.monotonic()
            if not rows:
                if now - state["asked"] > retrigger_after:  # no widget (or "No suggestions."): ask again, as a user would
                    self.keys(" ", modifiers=(Keys.CONTROL,))
                    state["asked"] = now
                state["rows"] = None
                return None
            if rows != state["rows"]:
                state["rows"], state["since"] = rows, now
                return None
            return rows if now - state["since"] >= 0.6 else None

        return self.wait(f"the suggestion widget ({what})", settled)

    def line_text(self, containing: str) -> str:
        """The text of the editor line that contains ``containing`` (as rendered: spaces are NBSP there)."""
        for e in self.css(".monaco-editor .view-lines .view-line"):
            text = (e.get_attribute("textContent") or "").replace("\u00a0", " ")
            if containing in text:
                return text
        raise AssertionError(f"no editor line contains {containing!r}")

    def status_item(self) -> tuple[str, str] | None:
        for e in self.css(".statusbar-item"):
            if "texcite" in (e.get_attribute("id") or "") or "texcite" in e.text:
                return e.text.strip(), (e.get_attribute("aria-label") or "")
        return None


def report_failure(bench: Workbench | None, shots: Path, step: str, server: CodeServer, tail: int = 3000) -> None:
    """What a failed code-server test leaves for a person: a screenshot at the failing step and the logs."""
    if bench is not None:
        shot = shots / "failure.png"
        try:
            bench.screenshot(shot)
            print(f"\nscreenshot at {step!r}: {shot}")
        except Exception as err:
            print(f"\nno screenshot: {err!r}")
    print(f"code-server log: {server.log}\n{server.log.read_text(errors='replace')[-3000:]}")
    for log in sorted(server.data.glob("logs/**/*texcite*")) + sorted(server.data.glob("logs/**/exthost*.log")):
        if log.is_file():
            print(f"--- {log}\n{log.read_text(errors='replace')[-tail:]}")


def _rank_order_problems(what: str, rows: list[str], ranking: list[str]) -> list[str]:
    """The first TOP rows must be texcite's entries in texcite's order (a subsequence of its ranking)."""
    rows = rows[:TOP]
    missing = [r for r in rows if r not in ranking]
    if missing:
        return [f"{what}: rows {missing} are not in texcite's ranking {ranking[:10]}"]
    positions = [ranking.index(r) for r in rows]
    if positions != sorted(positions):
        return [f"{what}: rows {rows} are not in texcite's order {ranking[:max(positions) + 1]}"]
    return []


def _title_word(entry: dict) -> str:
    """A title word a user might type for ``entry``: its longest plain word that is not part of its key."""
    words = [w for w in re.findall(r"[A-Za-z]+", entry["title"]) if len(w) >= 5 and w.lower() not in entry["key"]]
    return max(words, key=len).lower()


def test_vscode_code_server(project, tmp_path, scratch, vsix, texcite_ready):
    require("code-server (tests/editors/install.sh puts it in .editors/code-server)", editorlib.code_server())
    require("Node 24 in .editors/node", (editorlib.node24_bin() / "node").exists())
    require("Debian's chromium", os.access(CHROMIUM, os.X_OK))
    require("Debian's chromium-driver", os.access(CHROMEDRIVER, os.X_OK))
    try:
        import selenium  # noqa: F401
    except ImportError:
        require("selenium (pip, in the venv)", False)

    # The prepared spot: the empty \cite{} of method.tex line 9 removed; the user types it again.
    method = project / METHOD
    lines = method.read_text(encoding="utf-8").split("\n")
    assert lines[METHOD_LINE].startswith(BEFORE + "\\cite{} "), lines[METHOD_LINE]
    lines[METHOD_LINE] = BEFORE + lines[METHOD_LINE][len(BEFORE) + len("\\cite{}"):]
    original = "\n".join(lines)
    method.write_text(original, encoding="utf-8")
    anchor = "distillation loss of"

    def ranking(line_text: str, cursor_after: str) -> list[dict]:
        """texcite suggest with line METHOD_LINE as the editor shows it, the cursor right after ``cursor_after``."""
        at = line_text.index(cursor_after) + len(cursor_after)
        text = original.split("\n")
        text[METHOD_LINE] = line_text
        return cli_ranking(Spot(METHOD, METHOD_LINE, utf16_len(line_text[:at]), "\n".join(text)), scratch)

    machine = json.loads(editorlib.docs_block("vscode-settings"))
    machine["texcite.server.pythonPath"] = str(editorlib.VENV / "bin" / "python")
    server = CodeServer(tmp_path / "code-server", vsix, machine, USER_SETTINGS)
    server.install_extension()
    server.start()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    bench = None
    step = "starting Chromium"
    started = time.monotonic()
    try:
        from selenium.webdriver.common.keys import Keys

        bench = Workbench(tmp_path / "chromium-profile", editorlib.private_env(tmp_path / "browser"))
        step = "opening chapters/method.tex"
        bench.open_file(server.url(project), "method.tex")
        bench.wait("the method.tex tab", lambda: any(t.get_attribute("aria-label") and
                                                     t.get_attribute("aria-label").startswith("method.tex")
                                                     for t in bench.css(".tab.active")))
        bench.wait("the editor text", lambda: bench.line_text(anchor))

        step = "the status bar"
        progress_items: set[str] = set()  # texcite's $/progress, had the client asked for it, as a second item

        def settled_status() -> tuple[str, str] | None:
            progress_items.update(t for e in bench.css(".statusbar-item") if "bibliography" in (t := e.text))
            s = bench.status_item()
            return s if s and not re.search(r"starting|loading|/\d+ entries", s[0]) else None

        status = bench.wait("the texcite status bar item to leave 'starting' and say that nothing loads", settled_status)
        print(f"status bar: {status[0]!r} ({status[1]!r})")
        assert "texcite" in status[0], status
        assert not re.search(r"not installed|stopped", status[0]), f"the server did not start: {status}"
        assert not progress_items, f"a second status item shows texcite's progress: {progress_items}"

        step = "typing \\cite{"
        bench.keys("g", modifiers=(Keys.CONTROL,))
        box = bench.quick_input()
        box.send_keys(f"{METHOD_LINE + 1}:{len(BEFORE) + 1}")
        box.send_keys(Keys.ENTER)
        bench.wait("the cursor on the line", lambda: not bench.css(".quick-input-widget input"))
        bench.type_slowly("\\cite{")
        bench.settled_suggestions("after \\cite{")
        line = bench.line_text(anchor)
        first = ranking(line, "\\cite{")
        expected = [s["key"] for s in first]
        rows = bench.suggestions_matching(expected, "the suggestions after \\cite{")
        count = bench.suggest_count()
        print(f"line {line!r}\n  widget ({count} items): {rows}\n  texcite suggest: {expected[:len(rows) + 2]}")
        problems = []
        if rows[0] != expected[0]:
            problems.append(f"after \\cite{{: first row {rows[0]}, texcite ranks {expected[0]} first")
        if rows[:TOP] != expected[:TOP]:
            problems.append(f"after \\cite{{: rows {rows[:TOP]} differ from texcite's order {expected[:TOP]}")
        if count is not None and count > machine.get("texcite.completion.maxItems", 10**6):
            problems.append(f"{count} items despite texcite.completion.maxItems = {machine['texcite.completion.maxItems']}")
        assert not problems, "\n".join(problems)
        by_key = {s["key"]: s for s in first}

        step = "typing a surname prefix"
        prefix = surname_prefix(expected[0])
        bench.type_slowly(prefix)
        rows = bench.settled_suggestions(f"after typing {prefix!r}")
        line = bench.line_text(anchor)
        typed_ranking = [s["key"] for s in ranking(line, "\\cite{" + prefix)]
        print(f"typed {prefix!r}: line {line!r}\n  widget: {rows}\n  texcite suggest: {typed_ranking[:len(rows) + 2]}")
        problems += [f"after typing {prefix!r}: first row {rows[0]}, expected {expected[0]}"] if rows[0] != expected[0] else []
        problems += _rank_order_problems(f"after typing {prefix!r}", rows, typed_ranking)

        step = "typing a title word"
        bench.type_slowly("\ue003" * len(prefix))  # Backspace
        word = _title_word(by_key[expected[2]])
        bench.type_slowly(word)
        rows_word = bench.settled_suggestions(f"after typing {word!r}")
        line = bench.line_text(anchor)
        word_ranking = [s["key"] for s in ranking(line, "\\cite{" + word)]
        print(f"typed {word!r} (from the title of {expected[2]}): line {line!r}\n  widget: {rows_word}\n"
              f"  texcite suggest: {word_ranking[:len(rows_word) + 2]}")
        if rows_word[0] != word_ranking[0]:
            problems.append(f"after typing {word!r}: first row {rows_word[0]}, texcite ranks {word_ranking[0]} first")
        problems += _rank_order_problems(f"after typing {word!r}", rows_word, word_ranking)

        step = "accepting with Enter"
        bench.type_slowly("\ue003" * len(word))
        bench.type_slowly(prefix)
        rows = bench.settled_suggestions(f"after typing {prefix!r} again")
        accepted = rows[0]
        bench.keys(Keys.ENTER)
        bench.wait(f"{accepted} in the text", lambda: "\\cite{" + accepted in bench.line_text(anchor))
        line = bench.line_text(anchor)
        print(f"accepted {accepted}: {line!r}")
        if "\\cite{" + accepted + "}" not in line:
            problems.append(f"Enter left {line!r}, expected \\cite{{{accepted}}}")

        step = "typing a comma"
        bench.keys(",")
        rows = bench.settled_suggestions("after the comma")
        line = bench.line_text(anchor)
        comma_ranking = [s["key"] for s in ranking(line, "\\cite{" + accepted + ",")]
        print(f"after ',': line {line!r}\n  widget: {rows}\n  texcite suggest: {comma_ranking[:len(rows) + 2]}")
        if rows[0] != comma_ranking[0]:
            problems.append(f"after the comma: first row {rows[0]}, texcite ranks {comma_ranking[0]} first")
        problems += _rank_order_problems("after the comma", rows, comma_ranking)
        bench.keys(Keys.ESCAPE)
        bench.wait("the suggestion widget to close", lambda: not bench.suggest_rows())

        step = "the status bar after completing"
        status = bench.status_item()
        print(f"status bar: {status}")
        if not status or "texcite" not in status[0]:
            problems.append(f"status bar item: {status}")

        step = "texcite: Cite Here"
        bench.keys("p", modifiers=(Keys.CONTROL, Keys.SHIFT))
        box = bench.quick_input()
        box.send_keys("texcite: Cite Here")
        bench.wait("the Cite Here command", lambda: any("Cite Here" in r for r in bench.quick_rows()))
        box.send_keys(Keys.ENTER)
        pick_rows = bench.settled_quick_rows("the Cite Here QuickPick rows",
                                             reject=lambda rows: any("Cite Here" in r for r in rows))
        print(f"Cite Here: {pick_rows[:5]}")
        if comma_ranking[0] not in pick_rows[0]:
            problems.append(f"Cite Here: first row {pick_rows[0]!r}, texcite ranks {comma_ranking[0]} first")
        bench.keys(Keys.ESCAPE)
        assert not problems, "\n".join(problems)
        print(f"code-server session: {time.monotonic() - started:.1f} s")
    except BaseException:
        report_failure(bench, shots, step, server)
        raise
    finally:
        if bench is not None:
            bench.quit()
        server.stop()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_vscode_zotero_keys(tmp_path, vsix, texcite_ready):
    """Keys with `_`, `:`, `/` (a Zotero / Better BibTeX bib): typing after the widget opened narrows it by key,
    surname or title word, Enter inserts the whole key, and a second and third key after commas complete the same
    way."""
    require("code-server (tests/editors/install.sh puts it in .editors/code-server)", editorlib.code_server())
    require("Node 24 in .editors/node", (editorlib.node24_bin() / "node").exists())
    require("Debian's chromium", os.access(CHROMIUM, os.X_OK))
    require("Debian's chromium-driver", os.access(CHROMEDRIVER, os.X_OK))
    from selenium.webdriver.common.keys import Keys

    project = editorlib.make_project(tmp_path / "zotero", source=editorlib.ZOTERO)
    anchor = "We compare the whole-body controllers of the robot."
    machine = json.loads(editorlib.docs_block("vscode-settings"))
    machine["texcite.server.pythonPath"] = str(editorlib.VENV / "bin" / "python")
    server = CodeServer(tmp_path / "code-server", vsix, machine, USER_SETTINGS)
    server.install_extension()
    server.start()
    bench = None
    try:
        bench = Workbench(tmp_path / "chromium-profile", editorlib.private_env(tmp_path / "browser"))
        bench.open_file(server.url(project), "main.tex")
        bench.wait("the editor text", lambda: bench.line_text(anchor))
        bench.wait("the texcite status bar item to leave 'starting' and 'loading'",
                   lambda: (s := bench.status_item()) and not re.search("starting|loading", s[0]) and s)
        bench.keys("g", modifiers=(Keys.CONTROL,))
        box = bench.quick_input()
        box.send_keys(f"{editorlib.ZOTERO_LINE + 1}:{len(anchor) + 1}")
        box.send_keys(Keys.ENTER)
        bench.wait("the cursor on the line", lambda: not bench.css(".quick-input-widget input"))

        bench.type_slowly(" \\parencite{")
        opened = bench.settled_suggestions("after \\parencite{")
        problems = []
        for typed, first, line in (
                ("conway:", "conway:onag", " \\parencite{conway:onag}"),
                (",rigid", "featherstone_rigid_2008", " \\parencite{conway:onag,featherstone_rigid_2008}"),
                (",traversaro_un", "traversaro_unied_2017",
                 " \\parencite{conway:onag,featherstone_rigid_2008,traversaro_unied_2017}")):
            bench.type_slowly(typed)
            rows = bench.wait(f"the widget to start with {first} after {typed!r}",
                              lambda first=first, typed=typed: (r := bench.settled_suggestions(f"after {typed!r}"))
                              and r[0] == first
                              and r)
            bench.keys(Keys.ENTER)
            bench.wait(f"{first} in the text", lambda first=first: first + "}" in bench.line_text(anchor))
            got = bench.line_text(anchor)
            print(f"typed {typed!r}: widget {rows[:5]}; Enter: {got!r}")
            if got != anchor + line:
                problems.append(f"after {typed!r} + Enter the line is {got!r}, expected {anchor + line!r}")
        print(f"widget after \\parencite{{: {opened[:5]}")
        assert not problems, "\n".join(problems)
    except BaseException:
        print(f"code-server log: {server.log}\n{server.log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        if bench is not None:
            bench.quit()
        server.stop()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
