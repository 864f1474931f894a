"""Command line: ``texcite serve | suggest | eval | settings-schema``."""

from __future__ import annotations

import argparse
import json
import sys

from texcite import __version__


def _cmd_settings_schema(args: argparse.Namespace) -> int:
    from texcite.settings import json_schema

    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="texcite", description="Citation suggestions for LaTeX.")
    parser.add_argument("--version", action="version", version=f"texcite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("settings-schema", help="print the settings as VS Code configuration properties (JSON)")
    p.set_defaults(func=_cmd_settings_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)
