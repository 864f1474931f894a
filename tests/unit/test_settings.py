"""Settings: typed parsing with defaults, visible problems for invalid values, and docs that list every one."""

from __future__ import annotations

import pathlib

from texcite.settings import SETTINGS, Settings, json_schema, markdown_table, parse_settings

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_without_input():
    assert parse_settings(None) == Settings()
    assert parse_settings({}).problems == ()


def test_nested_and_dotted_forms_agree():
    nested = parse_settings({"completion": {"maxItems": 7}, "reranker": {"backend": "none"}})
    dotted = parse_settings({"texcite.completion.maxItems": 7, "reranker.backend": "none"})
    wrapped = parse_settings({"texcite": {"completion": {"maxItems": 7}, "reranker": {"backend": "none"}}})
    assert nested == dotted == wrapped
    assert nested.completion.max_items == 7 and nested.reranker.backend == "none"


def test_invalid_values_keep_defaults_and_say_why():
    s = parse_settings({"completion": {"maxItems": "lots", "deadlineMs": -5}, "reranker": {"backend": "gpu"},
                        "citeCommands": "mycite", "noSuchThing": 1})
    assert s.completion.max_items == 50 and s.completion.deadline_ms == 600 and s.reranker.backend == "auto"
    assert s.cite_commands == ()
    text = "\n".join(s.problems)
    for fragment in ("completion.maxItems", "deadlineMs", "must be >= 0", "reranker.backend", "one of",
                     "citeCommands", "noSuchThing: unknown"):
        assert fragment in text


def test_client_only_settings_are_not_problems():
    s = parse_settings({"server": {"pythonPath": "/usr/bin/python3"}, "trace": {"server": "verbose"}})
    assert s.problems == ()


def test_whole_numbers_from_json_floats_and_bools_are_strict():
    assert parse_settings({"completion.maxItems": 12.0}).completion.max_items == 12
    assert parse_settings({"completion.maxItems": True}).problems
    assert parse_settings({"diagnostics.undefinedKeys": "yes"}).problems


def test_schema_and_readme_list_every_setting():
    schema = json_schema()
    readme = README.read_text()
    for s in SETTINGS:
        name = f"texcite.{s.name}"
        assert schema[name]["default"] == s.default
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"
    assert markdown_table() in readme, "README's settings table differs from settings.markdown_table()"


def test_a_relative_cache_dir_is_refused():
    s = parse_settings({"cacheDir": "cache"})
    assert s.cache_dir == "" and any("absolute" in p for p in s.problems)
    assert parse_settings({"cacheDir": "~/texcite-cache"}).cache_dir == "~/texcite-cache"
