"""Command line: ``texcite serve | suggest | project | eval | web | doctor | settings-schema`` — argument parsing
and output only; the work is the engine's (suggest, eval), the project scanner's (project), the LSP server's
(serve) or the doctor's report (doctor)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import traceback
from typing import TextIO

from texcite import __version__
from texcite.engine import QUERY_VIEWS
from texcite.latex.emptied import TYPED_MODES
from texcite.latex.project import no_entries_reason
from texcite.latex.roots import project_folder
from texcite.presentation import detail
from texcite.runtime import redact, results_stdout, setup_logging
from texcite.wait_notes import WaitNotes


class CliError(Exception):
    """A problem the user must fix; printed as one line on stderr, exit status 2."""


def _library_files(paths: list[str]) -> list[str]:
    """The ``--library`` files as absolute paths; one that is not a file is an error, not a library left out."""
    files = [os.path.abspath(p) for p in paths]
    if missing := [p for p in files if not os.path.isfile(p)]:
        raise CliError("no such library file: " + ", ".join(missing))
    return files


def _settings_from_args(args: argparse.Namespace):
    from texcite.settings import parse_settings

    options = {"recall": "recall.mode", "dense": "dense.model", "reranker": "reranker.backend",
               "model": "reranker.model", "url": "reranker.url", "instruction": "reranker.instruction"}
    raw: dict = {name: value for option, name in options.items() if (value := getattr(args, option, None))}
    if getattr(args, "library", None) and not getattr(args, "library_split", None):
        raw["library.files"] = _library_files(args.library)
    settings = parse_settings(raw)
    if settings.problems:
        raise CliError("; ".join(settings.problems))
    return settings


def _cmd_serve(args: argparse.Namespace) -> int:
    _preload()
    from texcite.lsp.transport import run

    run(tcp=args.tcp)
    return 0


def _preload() -> None:
    """Load what nearly every session needs in the background while the LSP layer is imported (~0.5 s, on another
    core where there is one): the BM25 engine and the default dense model, so that the first document opened finds
    them ready (``bench/first_order.py``: 0.5 s -> 0.13 s from opening to the final order, warm)."""
    from texcite.retrieval.embeddings.encoders import preload
    from texcite.runtime import import_bm25s

    def bm25s() -> None:
        try:
            import_bm25s()
        except ImportError:  # a broken install: the first index says so where the user sees it
            pass

    threading.Thread(target=bm25s, name="texcite-preload-bm25", daemon=True).start()
    preload()


def _cmd_suggest(args: argparse.Namespace) -> int:
    with results_stdout() as out:  # the suggestions alone on stdout: what the models print goes to stderr
        return _suggest(args, out)


def _suggest(args: argparse.Namespace, out: TextIO) -> int:
    from texcite.engine import Engine
    from texcite.files import MAX_TEX_BYTES, UnreadableFile, decode_text, read_bytes
    from texcite.positions import Positions

    path = os.path.abspath(args.file)
    try:
        text = decode_text(read_bytes(path, MAX_TEX_BYTES))[0]  # as the project's other files are read
    except UnreadableFile as err:
        raise CliError(str(err)) from None
    settings = _settings_from_args(args)
    if args.top is not None and args.top < 1:
        raise CliError("--top must be at least 1")
    top = args.top or settings.completion.max_items
    # Every suggestion the CLI prints carries the model's score when a neural reranker runs.
    settings = settings.replace(completion_max_items=top, reranker_top_k=max(settings.reranker.top_k, top))
    offset = Positions(text).offset(args.line, args.character)
    engine = Engine(settings, workspace=project_folder(path),  # the folder an editor would open
                    events=WaitNotes(sys.stderr))
    try:
        if engine.cite_at(path, text, offset) is None:  # said before any model loads or library is indexed
            raise CliError(f"{args.file}:{args.line}:{args.character} is not inside the key list of a citation "
                           "command")
        project = engine.project(path)
        if not len(engine.corpus(path)):
            raise CliError(f"no bibliography entries for {args.file}: {no_entries_reason(project)} "
                           f"(run `texcite project {args.file}`)")
        result, lost = engine.suggest(path, text, offset), engine.library_lost()  # (the library indexed for it)
    finally:
        engine.close(wait=True)
    assert result is not None  # the cursor is in a citation's key list
    for library, what in lost.items():  # its other entries are ranked: a warning, not an error
        print(f"texcite: library {library}: {what}", file=sys.stderr)
    firsts: dict = {}  # an old key (biblatex ids) shows as its entry, once, as in the editor
    for s in result.suggestions:
        firsts.setdefault(s.entry.cite_key, s)
    suggestions = list(firsts.values())[:top]
    if result.fallback_message and engine.stages().reranker != "fallback":  # a reranker's failure: logged once
        print(f"texcite: {redact(result.fallback_message)}", file=sys.stderr)  # no MiniLM: one line, BM25's order
    if args.json:
        stages = engine.stages()
        report = {
            "query": result.query,
            "instruction": settings.reranker.instruction,
            "ranking": result.ranking,
            "reranker": {"backend": stages.reranker_backend or "none", "model": stages.reranker_model},
            "suggestions": [
                {"key": s.entry.cite_key, "rank": s.rank, "relevance": s.relevance, "reasons": list(s.reasons),
                 "score": s.score, "reranker_score": s.rerank_score, "stage": s.stage, "title": s.entry.title,
                 "document": s.entry.document, "library": s.library.file if s.library is not None else None}
                for s in suggestions
            ],
        }
        json.dump(report, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    if not suggestions:
        print("texcite: no entry matches", file=sys.stderr)
        return 1
    width = max(len(s.entry.cite_key) for s in suggestions)
    for s in suggestions:
        mark = f"  [library: {os.path.basename(s.library.file)}]" if s.library is not None else ""
        print(f"{s.rank:3d}. {s.entry.cite_key:<{width}}  {s.relevance:3d}  {detail(s.entry)}{mark}", file=out)
        if s.reasons:
            print(f"{'':{width + 9}}{'; '.join(s.reasons)}", file=out)
    return 0


def typed_modes(value: str) -> list[str]:
    """`--typed key3` -> ['key3']; a sweep `--typed key1..key5` -> ['key1', ..., 'key5']."""
    first, _, last = value.partition("..")
    last = last or first
    if first not in TYPED_MODES or last not in TYPED_MODES or first[:-1] != last[:-1] or first[-1] > last[-1]:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected one of {', '.join(TYPED_MODES)}, or a range like key1..key5")
    return [f"{first[:-1]}{n}" for n in range(int(first[-1]), int(last[-1]) + 1)]


def _cmd_project(args: argparse.Namespace) -> int:
    from texcite.latex.project import discover, explain

    path = os.path.abspath(args.file)
    if not os.path.isfile(path):
        raise CliError(f"{args.file}: no such file")
    print("\n".join(explain(discover(path, workspace=project_folder(path)))))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    for p in args.paths:
        if not os.path.isdir(p):
            raise CliError(f"{p}: no such project folder")
    sweep = args.typed or [None]
    if args.library_split is not None:
        with results_stdout() as out:
            _eval_split(args, out)
        return 0
    with results_stdout() as out:  # the report alone on stdout: what the models print goes to stderr
        for typed in sweep:
            json_out = args.json
            if json_out and len(sweep) > 1:
                root, ext = os.path.splitext(json_out)
                json_out = f"{root}.{typed}{ext or '.json'}"
            _eval_once(args, typed, json_out, out)
    return 0


def _eval_once(args: argparse.Namespace, typed: str | None, json_out: str | None, out: TextIO) -> None:
    import datetime as _dt

    from texcite.evaluation.report import Progress, as_json, heading, markdown_table
    from texcite.evaluation.run import Variant, evaluate_paths

    settings = _settings_from_args(args)
    mode = "writing" if args.writing else "add-one" if args.add_one else "default"
    evaluation = evaluate_paths(args.paths, settings, Variant(args.query, typed, mode),
                                Progress(sys.stderr).start)
    if not evaluation.reports:
        raise CliError("no LaTeX project found under " + ", ".join(args.paths))
    date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(heading(evaluation, date), file=out)
    print(markdown_table(evaluation), file=out)
    out.flush()  # one report at a time, as each of a sweep finishes
    if json_out:
        with open(json_out, "w", encoding="utf-8") as fh:
            json.dump(as_json(evaluation, settings, date, args.paths), fh, indent=2, ensure_ascii=False)
            fh.write("\n")


def _eval_split(args: argparse.Namespace, out: TextIO) -> None:
    import tempfile

    from texcite.evaluation.library_split import evaluate_split, split_json, split_table, sweep_table
    from texcite.evaluation.projects import find_projects
    from texcite.evaluation.report import Progress
    from texcite.evaluation.run import every_entry_ranked

    if not 0 < args.library_split < 1:
        raise CliError("--library-split must be a share between 0 and 1 (e.g. 0.3)")
    settings = every_entry_ranked(_settings_from_args(args))
    projects = [p for path in args.paths for p in find_projects(os.path.abspath(path)).projects]
    if not projects:
        raise CliError("no LaTeX project found under " + ", ".join(args.paths))
    library = _library_files(args.library or [])
    with tempfile.TemporaryDirectory(prefix="texcite-split-") as work:
        reports = evaluate_split(projects, settings, args.library_split, library, work, Progress(sys.stderr).start)
    print(f"Library split {args.library_split:.0%}, recall {settings.recall.mode}, library entries ranked as shipped "
          "(their affinity with the project once their titles are embedded):\n", file=out)
    print(split_table(reports), file=out)
    print("\nConstant offsets instead (every probe; the affinity kept where it was used):\n", file=out)
    print(sweep_table(reports), file=out)
    if len(projects) == 1 and not library:
        print("\nThe library held only the moved entries (one project, no --library FILE): a real library of other "
              "works makes them harder to find.", file=out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(split_json(reports, args.library_split), fh, indent=2)


def _cmd_web(args: argparse.Namespace) -> int:
    try:
        from texcite.web.app import launch
    except ImportError as err:
        raise CliError(f"texcite web needs the web extra: pip install 'texcite[web]' ({err})") from None
    project = None
    if args.project is not None:
        project = os.path.abspath(args.project)
        if not os.path.isdir(project):
            raise CliError(f"{args.project}: no such project folder")
    launch(project, _settings_from_args(args), host=args.host, port=args.port)
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from texcite.doctor import report

    for line in report(_settings_from_args(args), args.file):
        print(line)
    return 0


def _cmd_forget(args: argparse.Namespace) -> int:
    from texcite.memory import WriterMemory

    memory = WriterMemory()
    count = memory.forget()
    print(f"Forgot {count} accepted citation{'s' * (count != 1)} ({memory.path}).")
    return 0


def _cmd_settings_schema(args: argparse.Namespace) -> int:
    from texcite.settings import json_schema

    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _add_ranking_args(p: argparse.ArgumentParser) -> None:
    from texcite.settings import BACKENDS, RECALL_MODES

    p.add_argument("--recall", choices=RECALL_MODES, help="recall: hybrid (BM25 + a dense model, the default) or bm25")
    p.add_argument("--dense", metavar="MODEL", help="the dense model: auto (the default: by the document's "
                   "language), minilm (English), use (multilingual), an ONNX file or a Hugging Face folder "
                   "(texcite.dense.model)")
    p.add_argument("--reranker", choices=BACKENDS, help="neural reranker after recall (default: auto)")
    p.add_argument("--model", help="reranker model id or local path")
    p.add_argument("--url", help="base URL of a running vllm serve (for --reranker vllm-http)")
    p.add_argument("--instruction", help="instruction given to the Qwen3 reranker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="texcite", description="Citation suggestions for LaTeX.")
    parser.add_argument("--version", action="version", version=f"texcite {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the language server (stdio unless --tcp)")
    p.add_argument("--tcp", metavar="[HOST:]PORT",
                   help="listen on TCP instead of stdio: loopback unless HOST names another address, which then "
                        "requires a token (printed at start, or $TEXCITE_TCP_TOKEN) from every client")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("suggest", help="print ranked suggestions for a cursor inside a cite command")
    p.add_argument("file", help="the .tex file")
    p.add_argument("--line", type=int, required=True, help="0-based line (as in LSP)")
    p.add_argument("--character", type=int, required=True, help="0-based character (UTF-16 units, as in LSP)")
    p.add_argument("--top", type=int, help="how many suggestions (default: completion.maxItems)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--library", action="append", metavar="FILE",
                   help="a library file (.bib or CSL-JSON) ranked with the project's entries (repeatable)")
    _add_ranking_args(p)
    p.set_defaults(func=_cmd_suggest)

    p = sub.add_parser("project", help="print the root, files and bibliographies a .tex file belongs to, and why")
    p.add_argument("file", help="the .tex file")
    p.set_defaults(func=_cmd_project)

    p = sub.add_parser("doctor", help="print the version, Python, installed extras, what ranks, the cache folder "
                                      "and a file's project and bibliographies (for a bug report)")
    p.add_argument("file", nargs="?", metavar="FILE", help="a .tex file: show its project's root and bibliographies")
    _add_ranking_args(p)
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("forget", help="delete the citations you accepted in the editor, which texcite remembers in "
                                      "its cache folder to adapt the ranking (texcite.recall.remember)")
    p.set_defaults(func=_cmd_forget)

    p = sub.add_parser("settings-schema", help="print the settings as VS Code configuration properties (JSON)")
    p.set_defaults(func=_cmd_settings_schema)

    p = sub.add_parser("eval", help="measure Recall@k / MRR on LaTeX projects by hiding their citations")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a LaTeX project folder, or a folder of them")
    p.add_argument("--json", metavar="OUT", help="also write the full report as JSON to OUT")
    p.add_argument("--query", choices=QUERY_VIEWS, default="default",
                   help="BM25 query: default (the server's ranking), paragraph or sentence (BM25 on that view alone)")
    p.add_argument("--typed", type=typed_modes, metavar="{author,key}N[..M]",
                   help="the writer has typed the first N (1-5) letters of the first author's surname or of the key "
                        "in the braces; ranks among the items the server returns (it filters by what is typed). "
                        "A range (key1..key5) runs one evaluation per length")
    drafts = p.add_mutually_exclusive_group()
    drafts.add_argument("--writing", action="store_true",
                        help="a first draft: the text after the citing paragraph (later files and citations too) "
                             "removed, the lines naming the bibliography kept")
    drafts.add_argument("--add-one", action="store_true",
                        help="commands citing several keys: each key in turn removed, the others kept")
    _add_ranking_args(p)
    p.add_argument("--library", action="append", metavar="FILE",
                   help="a library file (.bib or CSL-JSON); with --library-split, the library beside the moved "
                        "entries (default: the other projects' .bib files); else ranked with each project's entries")
    p.add_argument("--library-split", type=float, metavar="SHARE",
                   help="move this share of each project's cited entries to a library, remove their citations, and "
                        "report the ranks of the moved works and of the project's entries with and without the library")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("web", help="a web page to try the ranking: suggest, rerank, compare, evaluate (texcite[web])")
    p.add_argument("project", nargs="?", metavar="PROJECT_DIR", help="the LaTeX project folder to work on")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--library", action="append", metavar="FILE",
                   help="a library file (.bib or CSL-JSON) ranked with the project's entries (repeatable)")
    _add_ranking_args(p)
    p.set_defaults(func=_cmd_web)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(logging.INFO if args.verbose else logging.WARNING, "texcite: %(message)s")
    try:
        return args.func(args)
    except CliError as err:
        print(f"texcite: error: {redact(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug: its traceback, with any URL password or key in it hidden
        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        return 1


def run() -> None:
    """The `texcite` program (and ``python -m texcite``): ``main``, its output flushed, then out at once. A native
    library's thread still running at exit (vLLM's, a model's) would otherwise abort the interpreter's own exit
    ("terminate called without an active exception", status -6) after the answer was printed."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away, or the stream is closed
            pass
    logging.shutdown()
    os._exit(code)
