"""Typed texcite settings: one declaration gives names, types, defaults and docs.

The same table feeds the LSP server (``initializationOptions`` / ``workspace/configuration``), the CLI,
the README settings table and the VS Code extension's ``package.json`` (a test checks they agree).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

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


SETTINGS: tuple[Setting, ...] = (
    Setting("citeCommands", list, [], "Extra citation commands (without backslash) treated like \\cite, e.g. \"mycite\"."),
    Setting("bibFiles", list, [], "Extra .bib files (absolute or workspace-relative) always added to the index."),
    Setting("completion.maxItems", int, 50, "Most completion items returned for one request.", minimum=1, maximum=1000),
    Setting("completion.deadlineMs", int, 600,
            "Milliseconds a completion waits for the reranker before answering in recall order (isIncomplete).",
            minimum=0, maximum=60000),
    Setting("recall.topK", int, 100, "Candidates BM25 recall passes to the ranking stages.", minimum=1, maximum=100000),
    Setting("diagnostics.undefinedKeys", bool, True, "Report citation keys that no indexed .bib defines."),
    Setting("recall.mode", str, "hybrid",
            "Recall: hybrid (BM25 + MiniLM embeddings on CPU; BM25 alone until the embeddings are ready) or bm25.",
            enum=RECALL_MODES),
    Setting("reranker.backend", str, "auto",
            "Neural reranker after recall: auto (vllm-http if a URL is set, else in-process vLLM on a CUDA GPU, "
            "else none), none, vllm (in-process), vllm-http (a vllm serve deployment), transformers.", enum=BACKENDS),
    Setting("reranker.model", str, DEFAULT_MODEL, "Qwen3-Reranker model id or local path."),
    Setting("reranker.url", str, "", "Base URL of a running `vllm serve` (e.g. http://gpu-box:8000); enables vllm-http."),
    Setting("reranker.apiKey", str, "", "Bearer token sent to the vllm-http server, if it needs one "
            "(or set $TEXCITE_RERANKER_API_KEY)."),
    Setting("reranker.instruction", str, DEFAULT_INSTRUCTION, "Instruction given to the Qwen3 reranker."),
    Setting("reranker.maxLength", int, 8192, "Token budget of one query/document pair (the body is truncated).",
            minimum=256, maximum=131072),
    Setting("reranker.weight", float, 1.0,
            "Weight of the neural reranker's score (z-normalised over the candidates it scores) added to the fused "
            "score; 0 ignores it. The reranker is one more signal, not the judge.", minimum=0.0, maximum=100.0),
    Setting("reranker.topK", int, 30, "Recall candidates the neural reranker rescores.", minimum=1, maximum=1000),
    Setting("reranker.batchSize", int, 8, "Pairs per forward pass for the transformers backend.", minimum=1, maximum=512),
    Setting("reranker.device", str, "auto", "Device for the transformers backend.", enum=("auto", "cpu", "cuda")),
    Setting("reranker.loadAtStartup", bool, False, "Load the reranker when the server starts instead of on first use."),
    Setting("reranker.timeoutMs", int, 10000, "Read timeout of one vllm-http request.", minimum=100, maximum=600000),
    Setting("vllm.dtype", str, "auto", "dtype for in-process vLLM (auto, float16, bfloat16, float32)."),
    Setting("vllm.maxModelLen", int, 8192, "max_model_len for in-process vLLM.", minimum=256, maximum=131072),
    Setting("vllm.gpuMemoryUtilization", float, 0.8, "Fraction of GPU memory in-process vLLM may use.",
            minimum=0.05, maximum=1.0),
    Setting("vllm.tensorParallelSize", int, 1, "tensor_parallel_size for in-process vLLM.", minimum=1, maximum=64),
    Setting("vllm.quantization", str, "", "vLLM quantization method (e.g. fp8, awq); empty for none."),
    Setting("dense.model", str, "", "Path of the sentence-embedding model for hybrid ranking; empty uses the packaged all-MiniLM-L6-v2."),
    Setting("files.maxTexSize", int, 64, "Largest .tex file read, in MB; a larger one is not read.",
            minimum=1, maximum=4096),
    Setting("files.maxBibSize", int, 256, "Largest .bib file indexed, in MB; a larger one gets a diagnostic.",
            minimum=1, maximum=4096),
    Setting("cacheDir", str, "", "Directory for the on-disk index and embedding caches (absolute, outside the "
            "workspace); empty uses $XDG_CACHE_HOME/texcite or ~/.cache/texcite."),
)

_BY_NAME = {s.name: s for s in SETTINGS}
LEGACY_BACKENDS = {"hybrid": "none"}  # before recall.mode existed, "hybrid" meant BM25 + MiniLM without a reranker
API_KEY_ENV = "TEXCITE_RERANKER_API_KEY"


def _attr(name: str) -> str:
    """``maxItems`` -> ``max_items``: the dataclass field of a setting's last name part."""
    out = []
    for ch in name.replace(".", "_"):
        out.append("_" + ch.lower() if ch.isupper() else ch)
    return "".join(out)


# Each section is frozen and compares by the fields that need its component rebuilt: equal sections mean
# nothing to restart (fields with compare=False are read per request).

@dataclass(frozen=True)
class Completion:
    max_items: int = 50
    deadline_ms: int = 600


@dataclass(frozen=True)
class Recall:
    mode: str = "hybrid"
    top_k: int = field(default=100, compare=False)


@dataclass(frozen=True)
class Diagnostics:
    undefined_keys: bool = True


@dataclass(frozen=True)
class Files:
    max_tex_size: int = field(default=64, compare=False)
    max_bib_size: int = field(default=256, compare=False)


@dataclass(frozen=True)
class Dense:
    model: str = ""


@dataclass(frozen=True)
class Reranker:
    backend: str = "auto"
    model: str = DEFAULT_MODEL
    url: str = ""
    api_key: str = field(default="", repr=False)
    instruction: str = DEFAULT_INSTRUCTION
    max_length: int = 8192
    weight: float = field(default=1.0, compare=False)
    top_k: int = field(default=30, compare=False)
    batch_size: int = 8
    device: str = "auto"
    load_at_startup: bool = field(default=False, compare=False)
    timeout_ms: int = 10000


@dataclass(frozen=True)
class Vllm:
    dtype: str = "auto"
    max_model_len: int = 8192
    gpu_memory_utilization: float = 0.8
    tensor_parallel_size: int = 1
    quantization: str = ""


_SECTIONS = {"completion": Completion, "recall": Recall, "diagnostics": Diagnostics, "files": Files,
             "dense": Dense, "reranker": Reranker, "vllm": Vllm}


@dataclass(frozen=True)
class Settings:
    """Validated settings: the top-level ones, then one frozen section per dotted prefix."""

    cite_commands: tuple[str, ...] = ()
    bib_files: tuple[str, ...] = ()
    cache_dir: str = ""
    completion: Completion = Completion()
    recall: Recall = Recall()
    diagnostics: Diagnostics = Diagnostics()
    files: Files = Files()
    dense: Dense = Dense()
    reranker: Reranker = Reranker()
    vllm: Vllm = Vllm()
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
    env = os.environ if env is None else env
    if not sections["reranker"].get("api_key") and env.get(API_KEY_ENV):
        sections["reranker"]["api_key"] = env[API_KEY_ENV]
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


def _declared() -> set[str]:
    names = {_attr(f.name) for f in dataclasses.fields(Settings) if f.name not in _SECTIONS and f.name != "problems"}
    for section, cls in _SECTIONS.items():
        names |= {f"{section}.{f.name}" for f in dataclasses.fields(cls)}
    return names


assert _declared() == {_attr(s.name) if "." not in s.name else s.name.split(".")[0] + "." + _attr(s.name.split(".", 1)[1])
                       for s in SETTINGS}
