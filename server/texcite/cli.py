"""Command line: ``texcite serve | suggest | settings-schema`` (and ``eval``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from texcite import __version__


class CliError(Exception):
    """A problem the user must fix; printed as one line on stderr, exit status 2."""


def _settings_from_args(args: argparse.Namespace):
    from texcite.settings import parse_settings

    raw: dict = {}
    if getattr(args, "reranker", None):
        raw["reranker.backend"] = args.reranker
    if getattr(args, "model", None):
        raw["reranker.model"] = args.model
    if getattr(args, "url", None):
        raw["reranker.url"] = args.url
    if getattr(args, "instruction", None):
        raw["reranker.instruction"] = args.instruction
    settings = parse_settings(raw)
    if settings.problems:
        raise CliError("; ".join(settings.problems))
    return settings


def _cmd_serve(args: argparse.Namespace) -> int:
    from texcite.server import run

    run(tcp=args.tcp)
    return 0


def _cmd_suggest(args: argparse.Namespace) -> int:
    from texcite.ranking import Ranker
    from texcite.textpos import LineIndex

    path = os.path.abspath(args.file)
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
    except OSError as err:
        raise CliError(f"cannot read {args.file}: {err.strerror or err}") from None
    settings = _settings_from_args(args)
    if args.top is not None:
        if args.top < 1:
            raise CliError("--top must be at least 1")
        settings = settings.replace(completion_max_items=args.top)
    # Every suggestion the CLI prints carries the model's score when a neural reranker runs.
    settings = settings.replace(reranker_top_k=max(settings.reranker_top_k, settings.completion_max_items))
    offset = LineIndex(text).offset(args.line, args.character)
    ranker = Ranker(settings, workspace=os.path.dirname(path))
    result = ranker.suggest_blocking(path, text, offset)
    if result is None:
        raise CliError(f"{args.file}:{args.line}:{args.character} is not inside the key list of a citation command")
    suggestions = result.suggestions[: settings.completion_max_items]
    if args.json:
        out = {
            "query": result.reranker_query,
            "instruction": result.instruction,
            "reranker": {"backend": result.backend, "model": result.model},
            "suggestions": [
                {"key": s.entry.key, "rank": s.rank, "score": s.score, "stage": s.stage, "title": s.entry.title,
                 "document": s.entry.document}
                for s in suggestions
            ],
        }
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if result.fallback_message:
        print(f"texcite: {result.fallback_message}", file=sys.stderr)
    if not suggestions:
        print("no bibliography entries found for this document", file=sys.stderr)
        return 1
    width = max(len(s.entry.key) for s in suggestions)
    for s in suggestions:
        who = s.entry.short_authors()
        year = f" ({s.entry.year})" if s.entry.year else ""
        print(f"{s.rank:3d}. {s.entry.key:<{width}}  {s.score:8.3f}  {who}{year} — {s.entry.title}")
    return 0


def _cmd_settings_schema(args: argparse.Namespace) -> int:
    from texcite.settings import json_schema

    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _add_reranker_args(p: argparse.ArgumentParser) -> None:
    from texcite.settings import BACKENDS

    p.add_argument("--reranker", choices=BACKENDS, help="ranking backend (default: auto)")
    p.add_argument("--model", help="reranker model id or local path")
    p.add_argument("--url", help="base URL of a running vllm serve (for --reranker vllm-http)")
    p.add_argument("--instruction", help="instruction given to the Qwen3 reranker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="texcite", description="Citation suggestions for LaTeX.")
    parser.add_argument("--version", action="version", version=f"texcite {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the language server (stdio unless --tcp)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("suggest", help="print ranked suggestions for a cursor inside a cite command")
    p.add_argument("file", help="the .tex file")
    p.add_argument("--line", type=int, required=True, help="0-based line (as in LSP)")
    p.add_argument("--character", type=int, required=True, help="0-based character (UTF-16 units, as in LSP)")
    p.add_argument("--top", type=int, help="how many suggestions (default: completion.maxItems)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_reranker_args(p)
    p.set_defaults(func=_cmd_suggest)

    p = sub.add_parser("settings-schema", help="print the settings as VS Code configuration properties (JSON)")
    p.set_defaults(func=_cmd_settings_schema)

    try:
        from texcite.evaluation import add_eval_parser
    except ImportError:
        pass
    else:
        add_eval_parser(sub, _add_reranker_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="texcite: %(message)s")
    try:
        return args.func(args)
    except CliError as err:
        print(f"texcite: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
