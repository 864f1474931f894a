"""Typed texcite settings: one declaration gives names, types, defaults and docs.

The same table feeds the LSP server (``initializationOptions`` / ``workspace/configuration``), the CLI,
the README settings table and the VS Code extension's ``package.json`` (a test checks they agree).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "Qwen/Qwen3-Reranker-4B"
DEFAULT_INSTRUCTION = (
    "Given a paragraph from a scientific paper with a [CITATION] marker, "
    "judge whether the document is the work cited at the marker"
)
BACKENDS = ("auto", "none", "hybrid", "vllm", "vllm-http", "transformers")


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
    Setting("reranker.backend", str, "auto",
            "Ranking backend: auto (vllm-http if a URL is set, else vLLM on CUDA, else hybrid on CPU), "
            "none (BM25 only), hybrid (BM25 + MiniLM on CPU), vllm (in-process), vllm-http (a vllm serve "
            "deployment), transformers.", enum=BACKENDS),
    Setting("reranker.model", str, DEFAULT_MODEL, "Qwen3-Reranker model id or local path."),
    Setting("reranker.url", str, "", "Base URL of a running `vllm serve` (e.g. http://gpu-box:8000); enables vllm-http."),
    Setting("reranker.apiKey", str, "", "Bearer token sent to the vllm-http server, if it needs one."),
    Setting("reranker.instruction", str, DEFAULT_INSTRUCTION, "Instruction given to the Qwen3 reranker."),
    Setting("reranker.maxLength", int, 8192, "Token budget of one query/document pair (the body is truncated).",
            minimum=256, maximum=131072),
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
    Setting("cacheDir", str, "", "Directory for the on-disk index and embedding caches; empty uses ~/.cache/texcite."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _attr(name: str) -> str:
    """``completion.maxItems`` -> ``completion_max_items``: the dataclass field for a dotted setting."""
    out = []
    for ch in name.replace(".", "_"):
        out.append("_" + ch.lower() if ch.isupper() else ch)
    return "".join(out)


@dataclass(frozen=True)
class Settings:
    """Validated settings; attribute names are the dotted names in snake_case."""

    cite_commands: tuple[str, ...] = ()
    bib_files: tuple[str, ...] = ()
    completion_max_items: int = 50
    completion_deadline_ms: int = 600
    recall_top_k: int = 100
    diagnostics_undefined_keys: bool = True
    reranker_backend: str = "auto"
    reranker_model: str = DEFAULT_MODEL
    reranker_url: str = ""
    reranker_api_key: str = ""
    reranker_instruction: str = DEFAULT_INSTRUCTION
    reranker_max_length: int = 8192
    reranker_top_k: int = 30
    reranker_batch_size: int = 8
    reranker_device: str = "auto"
    reranker_load_at_startup: bool = False
    reranker_timeout_ms: int = 10000
    vllm_dtype: str = "auto"
    vllm_max_model_len: int = 8192
    vllm_gpu_memory_utilization: float = 0.8
    vllm_tensor_parallel_size: int = 1
    vllm_quantization: str = ""
    dense_model: str = ""
    cache_dir: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


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


def parse_settings(raw: dict[str, Any] | None) -> Settings:
    """Build Settings from a client's JSON; invalid or unknown values keep their default and are listed in ``problems``."""
    if not raw:
        return Settings()
    if isinstance(raw.get("texcite"), dict):
        raw = raw["texcite"]
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in _flatten(raw).items():
        name = name.removeprefix("texcite.")
        setting = _BY_NAME.get(name)
        if setting is None:
            # Client-only settings (server.*, trace.*) are the editor's business, not an error.
            if not name.startswith(("server.", "trace.")):
                problems.append(f"texcite.{name}: unknown setting, ignored")
            continue
        if value is None:
            continue
        try:
            values[_attr(name)] = _coerce(setting, value)
        except ValueError as err:
            problems.append(f"texcite.{name}: {err} (got {value!r}); using default {setting.default!r}")
    return Settings(**values, problems=tuple(problems))


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


assert {f.name for f in dataclasses.fields(Settings)} - {"problems"} == {_attr(s.name) for s in SETTINGS}
