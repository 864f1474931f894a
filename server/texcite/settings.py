"""Typed texcite settings: each is declared once, as a field of its frozen section with its default, range and
description (``setting``); the list of settings, validation, the JSON schema and the README table derive from
those fields.

They feed the LSP server (``initializationOptions`` / ``workspace/configuration``), the CLI, the README settings
table and the VS Code extension's ``package.json`` (tests check they agree).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from texcite.runtime import hide_secret, hide_url_secrets

DEFAULT_MODEL = "Qwen/Qwen3-Reranker-4B"
DEFAULT_INSTRUCTION = (
    "Given a paragraph from a scientific paper with a [CITATION] marker, "
    "judge whether the document is the work cited at the marker"
)
BACKENDS = ("auto", "none", "vllm", "vllm-http", "transformers")
RECALL_MODES = ("hybrid", "bm25")


@dataclass(frozen=True)
class Setting:
    """One user-visible setting: dotted name under ``texcite.``, type, default, choices and a description."""

    name: str
    type: type
    default: Any
    description: str
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


def setting(default: Any, description: str, *, enum: tuple[str, ...] | None = None, minimum: float | None = None,
            maximum: float | None = None, compare: bool = True, repr: bool = True) -> Any:
    """A settings field: its default and what users read of it (the schema, the README table and validation
    derive from these). ``compare=False``: read per request, changing it restarts nothing."""
    return field(default=default, compare=compare, repr=repr,
                 metadata={"description": description, "enum": enum, "minimum": minimum, "maximum": maximum})


LEGACY_BACKENDS = {"hybrid": "none"}  # before recall.mode existed, "hybrid" meant BM25 + MiniLM without a reranker
API_KEY_ENV = "TEXCITE_RERANKER_API_KEY"


def _attr(name: str) -> str:
    """``maxItems`` -> ``max_items``: the dataclass field of a setting's last name part."""
    out = []
    for ch in name.replace(".", "_"):
        out.append("_" + ch.lower() if ch.isupper() else ch)
    return "".join(out)


def _camel(attr: str) -> str:
    """``max_items`` -> ``maxItems``: a field's name as users write it."""
    head, *rest = attr.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Each section is frozen and compares by the fields that need its component rebuilt: equal sections mean
# nothing to restart (fields with compare=False are read per request).

@dataclass(frozen=True)
class Completion:
    max_items: int = setting(50, "Most completion items returned for one request.", minimum=1, maximum=1000)
    deadline_ms: int = setting(
        600, "Milliseconds a completion waits for the reranker before answering in recall order (isIncomplete).",
        minimum=0, maximum=60000)
    dense_wait_ms: int = setting(
        2000, "Milliseconds a project's first completion waits for the bibliography's embeddings while they are "
        "built before answering in BM25 order (isIncomplete); the next ones answer at once meanwhile.", minimum=0,
        maximum=60000, compare=False)


@dataclass(frozen=True)
class Recall:
    mode: str = setting("hybrid", "Recall: hybrid (BM25 + MiniLM embeddings on CPU; BM25 alone until the embeddings "
                        "are ready) or bm25.", enum=RECALL_MODES)
    top_k: int = setting(100, "Candidates BM25 recall passes to the ranking stages.", minimum=1, maximum=100000,
                         compare=False)
    adapt: bool = setting(True, "Adapt the ranking to the project's own citations: a correction of the shipped "
                          "model fit in the background on the citations of the files as saved (projects citing "
                          "at least 30 times); it stays on this machine.", compare=False)
    remember: bool = setting(True, "Remember the citations you accept from texcite's lists (the key and the lines "
                             "around it, in the cache folder; never sent anywhere) and adapt the ranking of every "
                             "project whose bibliography has the key to them. The command texcite.forgetAccepted "
                             "(or `texcite forget`) deletes them.", compare=False)


@dataclass(frozen=True)
class Diagnostics:
    undefined_keys: bool = setting(True, "Report citation keys that no indexed .bib defines.")


@dataclass(frozen=True)
class Files:
    max_tex_size: int = setting(64, "Largest .tex file read, in MB; a larger one is not read.", minimum=1,
                                maximum=4096, compare=False)
    max_bib_size: int = setting(256, "Largest .bib file indexed, in MB; a larger one gets a diagnostic.", minimum=1,
                                maximum=4096, compare=False)


@dataclass(frozen=True)
class Dense:
    model: str = setting("auto", "Sentence-embedding model for hybrid ranking: auto (by the document's language: "
                         "use for the languages it was trained on other than English, else minilm), minilm (the "
                         "packaged all-MiniLM-L6-v2, English), use (the packaged multilingual Universal Sentence "
                         "Encoder), an ONNX file or a Hugging Face folder; empty is auto.")


@dataclass(frozen=True)
class Reranker:
    backend: str = setting(
        "auto", "Neural reranker after recall: auto (vllm-http if a URL is set, else in-process vLLM on a CUDA GPU, "
        "else none), none, vllm (in-process), vllm-http (a vllm serve deployment), transformers.", enum=BACKENDS)
    model: str = setting(DEFAULT_MODEL, "Qwen3-Reranker model id or local path.")
    url: str = setting("", "Base URL of a running `vllm serve` (e.g. http://gpu-box:8000); enables vllm-http.")
    api_key: str = setting("", "Bearer token sent to the vllm-http server, if it needs one "
                           "(or set $TEXCITE_RERANKER_API_KEY).", repr=False)
    instruction: str = setting(DEFAULT_INSTRUCTION, "Instruction given to the Qwen3 reranker.")
    max_length: int = setting(8192, "Token budget of one query/document pair (the body is truncated).",
                              minimum=256, maximum=131072)
    weight: float = setting(1.0, "Weight of the neural reranker's score (z-normalised over the candidates it "
                            "scores) added to the fused score; 0 ignores it. The reranker is one more signal, not "
                            "the judge.", minimum=0.0, maximum=100.0, compare=False)
    top_k: int = setting(30, "Recall candidates the neural reranker rescores.", minimum=1, maximum=1000,
                         compare=False)
    batch_size: int = setting(8, "Pairs per forward pass for the transformers backend.", minimum=1, maximum=512)
    device: str = setting("auto", "Device for the transformers backend.", enum=("auto", "cpu", "cuda"))
    load_at_startup: bool = setting(False, "Load the reranker when the server starts instead of on first use.",
                                    compare=False)
    timeout_ms: int = setting(10000, "Read timeout of one vllm-http request.", minimum=100, maximum=600000)


@dataclass(frozen=True)
class Vllm:
    dtype: str = setting("auto", "dtype for in-process vLLM (auto, float16, bfloat16, float32).")
    max_model_len: int = setting(8192, "max_model_len for in-process vLLM.", minimum=256, maximum=131072)
    gpu_memory_utilization: float = setting(0.8, "Fraction of GPU memory in-process vLLM may use.", minimum=0.05,
                                            maximum=1.0)
    tensor_parallel_size: int = setting(1, "tensor_parallel_size for in-process vLLM.", minimum=1, maximum=64)
    quantization: str = setting("", "vLLM quantization method (e.g. fp8, awq); empty for none.")


@dataclass(frozen=True)
class Library:
    files: tuple[str, ...] = setting(
        (), "Your reference library: .bib (BibTeX/BibLaTeX, e.g. a Better BibTeX or JabRef export) and CSL-JSON "
        ".json files (`~` expanded; a relative path is the workspace folder's), ranked with the project's entries; "
        "accepting one adds it to the project's bibliography.")
    target_bib: str = setting(
        "", "The .bib accepted library entries are added to (absolute or workspace-relative); empty: the first .bib "
        "the document's project names.", compare=False)


_SECTIONS = {"completion": Completion, "recall": Recall, "diagnostics": Diagnostics, "files": Files,
             "dense": Dense, "reranker": Reranker, "vllm": Vllm, "library": Library}


@dataclass(frozen=True)
class Settings:
    """Validated settings: the top-level ones, then one frozen section per dotted prefix."""

    cite_commands: tuple[str, ...] = setting(
        (), "Extra citation commands (without backslash) treated like \\cite, e.g. \"mycite\".")
    bib_files: tuple[str, ...] = setting(
        (), "Extra .bib files (absolute or workspace-relative) always added to the index.")
    cache_dir: str = setting("", "Directory for the on-disk index and embedding caches (absolute, outside the "
                             "workspace); empty uses $XDG_CACHE_HOME/texcite or ~/.cache/texcite.")
    completion: Completion = Completion()
    recall: Recall = Recall()
    diagnostics: Diagnostics = Diagnostics()
    files: Files = Files()
    dense: Dense = Dense()
    reranker: Reranker = Reranker()
    vllm: Vllm = Vllm()
    library: Library = Library()
    problems: tuple[str, ...] = field(default=(), compare=False)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some values changed: ``replace(recall_top_k=5)`` (section_field) or ``cache_dir=...``."""
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            section, _, attr = name.partition("_")
            if section in _SECTIONS and attr:
                sections.setdefault(section, {})[attr] = value
            else:
                top[name] = value
        for section, values in sections.items():
            top[section] = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **top)


def _declared(cls: type, prefix: str = "") -> list[Setting]:
    out = []
    for f in dataclasses.fields(cls):
        if "description" not in f.metadata:
            continue
        kind = list if isinstance(f.default, tuple) else type(f.default)
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        m = f.metadata
        out.append(Setting(prefix + _camel(f.name), kind, default, m["description"], m["enum"], m["minimum"],
                           m["maximum"]))
    return out


# Every setting, derived from the fields above: the top-level ones, then each section's.
SETTINGS: tuple[Setting, ...] = (*_declared(Settings),
                                 *(s for name, cls in _SECTIONS.items() for s in _declared(cls, name + ".")))
_BY_NAME = {s.name: s for s in SETTINGS}


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Accept both nested (``{"completion": {"maxItems": 5}}``) and dotted (``{"completion.maxItems": 5}``) forms."""
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in _BY_NAME:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _coerce(setting: Setting, value: Any) -> Any:
    """Return the value in the setting's type or raise ValueError with a message a user can act on."""
    kind = setting.type
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ValueError("expected a whole number")
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number")
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if setting.enum and value not in setting.enum:
            raise ValueError("expected one of " + ", ".join(setting.enum))
    elif kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if setting.minimum is not None and value < setting.minimum:
        raise ValueError(f"must be >= {setting.minimum:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise ValueError(f"must be <= {setting.maximum:g}")
    return value


def parse_settings(raw: dict[str, Any] | None, env: dict[str, str] | None = None) -> Settings:
    """Build Settings from a client's JSON; invalid or unknown values keep their default and are listed in
    ``problems``. The API key may come from $TEXCITE_RERANKER_API_KEY instead of a settings file."""
    raw = raw or {}
    if isinstance(raw.get("texcite"), dict):
        raw = raw["texcite"]
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    problems: list[str] = []
    for name, value in _flatten(raw).items():
        name = name.removeprefix("texcite.")
        setting = _BY_NAME.get(name)
        if setting is None:
            # Client-only settings (server.*, trace.*) are the editor's business, not an error.
            if not name.startswith(("server.", "trace.")):
                problems.append(f"texcite.{name}: unknown setting, ignored")
            continue
        if name == "reranker.apiKey":
            hide_secret(value)  # whatever its shape, even one refused below
        if value is None:
            continue
        if name == "cacheDir" and isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
            problems.append(f"texcite.cacheDir: must be an absolute path (got {value!r}); using the default")
            continue
        if name == "reranker.backend" and value in LEGACY_BACKENDS:
            problems.append(f"texcite.reranker.backend: {value!r} is now texcite.recall.mode (hybrid is the default); "
                            f"using reranker.backend {LEGACY_BACKENDS[value]!r}")
            value = LEGACY_BACKENDS[value]
        try:
            coerced = _coerce(setting, value)
        except ValueError as err:
            shown = "(hidden)" if name == "reranker.apiKey" else repr(value)
            problems.append(f"texcite.{name}: {err} (got {shown}); using default {setting.default!r}")
            continue
        section, _, rest = name.partition(".")
        if rest:
            sections[section][_attr(rest)] = coerced
        else:
            top[_attr(name)] = coerced
    environ: Mapping[str, str] = os.environ if env is None else env
    if not sections["reranker"].get("api_key") and environ.get(API_KEY_ENV):
        sections["reranker"]["api_key"] = environ[API_KEY_ENV]
    built = {name: cls(**sections[name]) for name, cls in _SECTIONS.items()}
    hide_secret(built["reranker"].api_key)
    hide_url_secrets(built["reranker"].url)
    return Settings(**top, **built, problems=tuple(problems))


def json_schema() -> dict[str, dict[str, Any]]:
    """The settings as VS Code ``contributes.configuration.properties`` entries (the shared source of truth)."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    props: dict[str, dict[str, Any]] = {}
    for s in SETTINGS:
        prop: dict[str, Any] = {"type": kinds[s.type], "default": s.default, "description": s.description}
        if s.type is list:
            prop["items"] = {"type": "string"}
        if s.enum:
            prop["enum"] = list(s.enum)
        if s.minimum is not None:
            prop["minimum"] = s.minimum
        if s.maximum is not None:
            prop["maximum"] = s.maximum
        props[f"texcite.{s.name}"] = prop
    return props


def markdown_table() -> str:
    """The README's settings table."""
    kinds = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}
    rows = ["| setting | type | default | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        meaning = s.description + (" One of: " + ", ".join(f"`{e}`" for e in s.enum) + "." if s.enum else "")
        rows.append(f"| `texcite.{s.name}` | {kinds[s.type]} | `{json.dumps(s.default)}` | {meaning} |")
    return "\n".join(rows)
