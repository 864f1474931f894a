"""The VS Code extension declares exactly the server's settings, with the same types, defaults and enums.

``vscode-extension/package.json`` is generated from ``texcite settings-schema`` by
``vscode-extension/scripts/sync-settings.mjs``; this test fails when the two drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from texcite.settings import json_schema

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "vscode-extension" / "package.json"
CLIENT_ONLY = {"texcite.server.pythonPath", "texcite.server.command", "texcite.trace.server", "texcite.install.pipArgs"}


def _properties() -> dict[str, dict[str, Any]]:
    pkg = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    configuration = pkg["contributes"]["configuration"]
    sections = configuration if isinstance(configuration, list) else [configuration]
    props: dict[str, dict[str, Any]] = {}
    for section in sections:
        props.update(section.get("properties", {}))
    return {name: prop for name, prop in props.items() if name.startswith("texcite.")}


def test_declares_exactly_the_server_settings() -> None:
    declared = set(_properties()) - CLIENT_ONLY
    schema = set(json_schema())
    assert declared - schema == set(), "declared in package.json but unknown to the server (run npm run sync-settings)"
    assert schema - declared == set(), "server settings missing from package.json (run npm run sync-settings)"


def test_declares_the_client_only_settings() -> None:
    props = _properties()
    assert CLIENT_ONLY <= set(props)
    assert props["texcite.server.pythonPath"]["type"] == "string"
    assert props["texcite.server.command"]["type"] == "array"
    assert props["texcite.server.command"]["items"] == {"type": "string"}
    assert props["texcite.trace.server"]["enum"] == ["off", "messages", "verbose"]
    assert props["texcite.trace.server"]["default"] == "off"
    assert props["texcite.install.pipArgs"]["type"] == "array"
    assert props["texcite.install.pipArgs"]["items"] == {"type": "string"}


@pytest.mark.parametrize("name", sorted(json_schema()))
def test_setting_agrees_with_the_server(name: str) -> None:
    expected = json_schema()[name]
    declared = _properties().get(name)
    assert declared is not None, f"{name} missing from package.json"
    assert declared["type"] == expected["type"]
    assert declared["default"] == expected["default"]
    assert type(declared["default"]) is type(expected["default"]) or (
        expected["type"] == "number" and isinstance(declared["default"], (int, float))
    )
    assert declared.get("enum") == expected.get("enum")
    assert declared.get("items") == expected.get("items")
    assert declared.get("minimum") == expected.get("minimum")
    assert declared.get("maximum") == expected.get("maximum")
