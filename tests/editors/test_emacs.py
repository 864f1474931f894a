"""Emacs in batch mode with the Eglot setup of docs/editors.md: completion inside \\cite{…}.

`emacs --batch -q` (no init file; the private HOME has none either) loads the docs' block and emacs_driver.el.
It is not `-Q`: that also skips Debian's site-start, which is what activates the elpa-eglot package on Emacs 28 —
a real user's Emacs runs it. The driver visits the files (their major mode runs `eglot-ensure`), types, and presses
C-M-i; the test reads the *Completions* list (or the key inserted when only one matches) and compares it with
`texcite suggest --json` at the same spot.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

import editorlib
from conftest import require
from editorlib import Spot, cli_ranking, prefix_target, surname_prefix, typed_spot, utf16_len

pytestmark = pytest.mark.editor

METHOD = "chapters/method.tex"
MAIN = "main.tex"
METHOD_LINE, METHOD_CHAR = 8, 40  # inside the empty \cite{} of "margin-based distillation loss of \cite{}"
MAIN_LINE = 18
MAIN_AFTER = "then with a small neural reranker"


def _run_emacs(emacs: str, project, tmp_path, cases: list[dict], expect_recall: str | None, more_init: str = "") -> dict:
    """Run the driver on ``cases`` with the docs' init block followed by ``more_init``."""
    env = editorlib.private_env(tmp_path)
    init = tmp_path / "init.el"
    init.write_text(editorlib.docs_block("emacs") + more_init, encoding="utf-8")
    spec, out = tmp_path / "spec.json", tmp_path / "out.json"
    spec.write_text(json.dumps({"timeout_s": editorlib.TIMEOUT_S, "cases": cases, "expect_recall": expect_recall}),
                    encoding="utf-8")
    env.update(TEXCITE_EMACS_SPEC=str(spec), TEXCITE_EMACS_OUT=str(out))
    cmd = [emacs, "--batch", "-q", "-l", str(init), "-l", str(editorlib.HERE / "emacs_driver.el")]
    started = time.monotonic()
    run = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, errors="replace",
                         timeout=editorlib.TIMEOUT_S * 2 + 60, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    if not out.exists():
        pytest.fail(f"emacs wrote no result (exit {run.returncode}, {took:.0f} s)\nstderr: {run.stderr[-3000:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    print(f"{result.get('version')} ({result.get('eglot')}): {took:.1f} s")
    for line in result.get("log", []):
        print("  " + line)
    if result.get("error") or run.returncode != 0:
        pytest.fail(f"emacs: {result.get('error')} (exit {run.returncode})\n"
                    f"cases: {json.dumps(result.get('cases'), indent=1)[:4000]}\n"
                    f"messages: {result.get('messages', '')[-3000:]}\nEglot events: {result.get('events', '')[-3000:]}\n"
                    f"stderr: {run.stderr[-2000:]}")
    return result


def test_emacs_eglot_completion(project, tmp_path, scratch, texcite_ready):
    emacs = shutil.which("emacs")
    require("Emacs with Eglot (Debian: emacs-nox elpa-eglot)", emacs)
    method_text = (project / METHOD).read_text(encoding="utf-8")
    main_text = (project / MAIN).read_text(encoding="utf-8")
    main_line = main_text.split("\n")[MAIN_LINE]
    assert main_line.startswith(MAIN_AFTER), f"examples/paper/main.tex line {MAIN_LINE + 1} changed: {main_line!r}"

    expected_method = [s["key"] for s in cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)]
    typed_main = MAIN_AFTER + " \\cite{}" + main_line[len(MAIN_AFTER):]
    main_char = utf16_len(MAIN_AFTER + " \\cite{")
    expected_main = [s["key"] for s in cli_ranking(typed_spot(MAIN, main_text, MAIN_LINE, typed_main, main_char), scratch)]
    method_key, main_key = prefix_target(expected_method), prefix_target(expected_main)
    method_prefix, main_prefix = surname_prefix(method_key), surname_prefix(main_key)
    cases = [
        {"name": "method-empty", "file": str(project / METHOD), "line": METHOD_LINE, "col": METHOD_CHAR,
         "typed_before": "", "typed_after": ""},
        {"name": "method-prefix", "file": str(project / METHOD), "line": METHOD_LINE, "col": METHOD_CHAR,
         "typed_before": method_prefix, "typed_after": ""},
        {"name": "main-empty", "file": str(project / MAIN), "line": MAIN_LINE, "col": len(MAIN_AFTER),
         "typed_before": " \\cite{", "typed_after": "}"},
        {"name": "main-prefix", "file": str(project / MAIN), "line": MAIN_LINE, "col": len(MAIN_AFTER),
         "typed_before": " \\cite{" + main_prefix, "typed_after": "}"},
    ]
    first = cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)[0]
    recall = first.get("stage") if first.get("stage") in ("hybrid", "bm25") else None
    result = _run_emacs(emacs, project, tmp_path, cases, recall)
    got = {c["name"]: c for c in result["cases"]}
    problems = []

    for name in got:
        case = got[name]
        if case["key_binding"] != "completion-at-point":
            problems.append(f"{name}: C-M-i runs {case['key_binding']} in {case['mode']}, not completion-at-point")
        if case["capf"]["function"] != "eglot-completion-at-point":
            problems.append(f"{name}: completion came from {case['capf']['function']}, not Eglot")
        if case["root"].rstrip("/") != str(project):
            problems.append(f"{name}: Eglot's project root is {case['root']}, expected the .git folder {project}")

    for name, expected in (("method-empty", expected_method), ("main-empty", expected_main)):
        shown = got[name]["pressed"]["completions"]
        print(f"{name}: *Completions* {shown[:6]} ({len(shown)} items); texcite suggest {expected[:6]}")
        if len(shown) > 20:
            problems.append(f"{name}: {len(shown)} candidates although the docs' settings set completion.maxItems = 20")
        if shown[:5] != expected[:5]:
            problems.append(f"{name}: *Completions* starts {shown[:5]}, texcite ranks {expected[:5]}")

    for name, key, prefix in (("method-prefix", method_key, method_prefix), ("main-prefix", main_key, main_prefix)):
        pressed = got[name]["pressed"]
        shown = pressed["completions"]
        if shown:
            print(f"{name}: typed {prefix!r}: *Completions* {shown[:6]} ({len(shown)} items), expected first {key}")
            if shown[0] != key:
                problems.append(f"{name}: after typing {prefix!r} *Completions* starts {shown[:5]}, expected {key}")
        else:  # a single candidate: completion-at-point inserts it
            print(f"{name}: typed {prefix!r}: C-M-i inserted -> {pressed['line_after']!r}")
            if "\\cite{" + key not in pressed["line_after"].replace(" \\cite{", "\\cite{"):
                problems.append(f"{name}: after typing {prefix!r}, C-M-i left {pressed['line_after']!r}, expected {key}")
    assert not problems, "\n".join(problems)


def test_emacs_latexmkrc_project_root(tmp_path, scratch, texcite_ready):
    """No .git: the docs' `texcite-latexmk-project` makes the folder with latexmkrc the project (and server) root."""
    emacs = shutil.which("emacs")
    require("Emacs with Eglot (Debian: emacs-nox elpa-eglot)", emacs)
    project = editorlib.make_project(tmp_path / "plain", git=False)
    (project / "latexmkrc").write_text("$pdf_mode = 1;\n", encoding="utf-8")
    method_text = (project / METHOD).read_text(encoding="utf-8")
    ranking = cli_ranking(Spot(METHOD, METHOD_LINE, METHOD_CHAR, method_text), scratch)
    expected = [s["key"] for s in ranking]
    recall = ranking[0].get("stage") if ranking[0].get("stage") in ("hybrid", "bm25") else None
    cases = [{"name": "latexmkrc", "file": str(project / METHOD), "line": METHOD_LINE, "col": METHOD_CHAR,
              "typed_before": "", "typed_after": ""}]
    case = _run_emacs(emacs, project, tmp_path, cases, recall)["cases"][0]
    shown = case["pressed"]["completions"]
    print(f"root {case['root']}: *Completions* {shown[:5]}, texcite suggest {expected[:5]}")
    assert case["root"].rstrip("/") == str(project)
    assert shown[:5] == expected[:5]


def _zotero_session(emacs, tmp_path, name: str, steps: list[dict], company: bool = False) -> list[dict]:
    project = editorlib.make_project(tmp_path / "zotero", source=editorlib.ZOTERO)
    case = {"name": name, "file": str(project / "main.tex"), "line": editorlib.ZOTERO_LINE, "typed_after": "}",
            "steps": steps, "company": company}
    result = _run_emacs(emacs, project, tmp_path, [case], None)["cases"][0]
    for step in result["steps"]:
        print(f"  {step['step']} -> {step['line']!r} {step.get('completions', '')} {step.get('company', '')}")
    return result["steps"]


LINE = "We compare the whole-body controllers of the robot."


def test_emacs_zotero_keys_complete_whole(tmp_path, texcite_ready):
    """The docs' block on keys with `_`, `:`, `/`, `.`: typing after the list opened narrows it (the server filters),
    choosing or a single match inserts the whole key, and a second key after a comma completes the same way."""
    emacs = shutil.which("emacs")
    require("Emacs with Eglot (Debian: emacs-nox elpa-eglot)", emacs)
    steps = _zotero_session(emacs, tmp_path, "zotero", [
        {"insert": " \\parencite{tra"}, {"press": True},
        {"insert": "ver"}, {"press": True}, {"choose": True},
        {"insert": ",conway:"}, {"press": True},
        {"insert": ",rigid"}, {"press": True}, {"choose": True},
        {"insert": ",nori/ic"}, {"press": True},
        {"insert": ",the"}, {"press": True},
    ])
    opened, narrowed, chosen = steps[1], steps[3], steps[4]
    assert opened["completions"][0] == "traversaro_unied_2017" and len(opened["completions"]) > 2, opened
    assert narrowed["completions"] == ["traversaro_unied_2017", "nori/icub.design_2015"], narrowed  # key, co-author
    assert chosen["line"] == LINE + " \\parencite{traversaro_unied_2017}"
    assert steps[6]["line"] == LINE + " \\parencite{traversaro_unied_2017,conway:onag}"
    assert steps[8]["completions"][0] == "featherstone_rigid_2008", steps[8]  # a word of the key and title
    assert steps[9]["line"] == LINE + " \\parencite{traversaro_unied_2017,conway:onag,featherstone_rigid_2008}"
    assert steps[11]["line"].endswith(",featherstone_rigid_2008,nori/icub.design_2015}"), steps[11]
    assert set(steps[13]["completions"][:2]) == {"the_robot_2019", "theodorou_generalized_2010"}, steps[13]


def test_emacs_company_zotero_keys(tmp_path, texcite_ready):
    """The same with company-mode (Debian: elpa-company): its popup follows the typing and accepting inserts the key."""
    emacs = shutil.which("emacs")
    require("Emacs with Eglot (Debian: emacs-nox elpa-eglot)", emacs)
    has_company = subprocess.run([emacs, "--batch", "-q", "--eval", "(require 'company)"], capture_output=True,
                                 env=editorlib.private_env(tmp_path / "probe")).returncode == 0
    require("company-mode (Debian: elpa-company)", has_company)
    steps = _zotero_session(emacs, tmp_path, "company", [
        {"insert": " \\parencite{tra"}, {"company": "begin"},
        {"keys": "ver"}, {"company": "accept"},
        {"keys": ",conway:"}, {"company": "begin"}, {"company": "accept"},
        {"keys": ",rigid"}, {"company": "begin"}, {"company": "accept"},
    ], company=True)
    assert steps[1]["completions"][0] == "traversaro_unied_2017", steps[1]
    assert steps[2]["company"] == ["traversaro_unied_2017", "nori/icub.design_2015"], steps[2]  # asked again
    assert steps[3]["line"] == LINE + " \\parencite{traversaro_unied_2017}"
    assert steps[5]["completions"] == ["conway:onag"], steps[5]
    assert steps[6]["line"] == LINE + " \\parencite{traversaro_unied_2017,conway:onag}"
    assert steps[8]["completions"][0] == "featherstone_rigid_2008", steps[8]
    assert steps[9]["line"] == LINE + " \\parencite{traversaro_unied_2017,conway:onag,featherstone_rigid_2008}"
