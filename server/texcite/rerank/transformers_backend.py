"""Qwen3-Reranker through Hugging Face transformers: a causal LM scored by P("yes") at the last position.

The portable backend: works on CPU or CUDA with nothing but torch + transformers, batched with left padding.
"""

from __future__ import annotations

import logging
from typing import Sequence

from texcite.runtime import IMPORT_LOCK
from texcite.rerank.base import BackendUnavailable
from texcite.rerank.qwen3_format import Qwen3Format
from texcite.settings import DEFAULT_INSTRUCTION

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'texcite[transformers]'"


def _version_at_least(version: str, major: int, minor: int) -> bool:
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except (ValueError, IndexError):
        return True


class TransformersReranker:
    """Scores pairs with ``AutoModelForCausalLM`` under ``torch.inference_mode``; device auto/cpu/cuda."""

    backend = "transformers"

    def __init__(
        self,
        model: str,
        *,
        instruction: str = DEFAULT_INSTRUCTION,
        max_length: int = 8192,
        batch_size: int = 8,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        try:
            with IMPORT_LOCK:
                import torch
                import transformers
                from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise BackendUnavailable(
                f"the transformers reranker needs torch and transformers ({err.name} is missing); "
                f"install them with: {INSTALL_HINT}"
            ) from err
        self._torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailable(
                "texcite.reranker.device is 'cuda' but torch sees no CUDA GPU; set it to 'auto' or 'cpu'"
            )
        if dtype == "auto":
            # bf16/fp16 on GPU is the model's native precision; CPU kernels are fastest and exact in fp32.
            torch_dtype = "auto" if device == "cuda" else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        self.model = model
        self.device = device
        self.batch_size = max(1, int(batch_size))
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no weight-loading bars on stderr (the server's log, the CLI's notes)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
            dtype_kw = "dtype" if _version_at_least(transformers.__version__, 4, 56) else "torch_dtype"
            loaded = AutoModelForCausalLM.from_pretrained(model, **{dtype_kw: torch_dtype})
            # PreTrainedModel.to is decorated with functools.wraps, whose typeshed type does not bind self
            self._model = loaded.to(device).eval()  # type: ignore[arg-type]
        except (OSError, ValueError) as err:  # missing files, bad repo id, offline without a cached copy
            raise BackendUnavailable(
                f"cannot load reranker model {model!r} ({err}); set texcite.reranker.model to a Qwen3-Reranker "
                "id or local directory"
            ) from err
        self.format = Qwen3Format.create(self.tokenizer, instruction, max_length)
        pad = self.tokenizer.pad_token_id
        self._pad_id = int(pad if pad is not None else self.tokenizer.eos_token_id or 0)
        log.info("transformers reranker %s loaded on %s", model, device)

    def rank(self, query: str, documents: Sequence[str], instruction: str | None = None) -> list[float]:
        """P("yes") for each (query, document); longest-first batches keep padding small."""
        if not documents:
            return []
        form = self.format.for_instruction(instruction)
        ids = [form.pair_ids(query, doc) for doc in documents]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        scores = [0.0] * len(ids)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for i, s in zip(batch, self._score_ids([ids[i] for i in batch]), strict=True):
                scores[i] = s
        return scores

    def close(self) -> None:
        """Nothing to stop: the model is plain tensors, freed with this object; torch's thread pools are idle once
        ``rank`` has returned."""

    def _score_ids(self, batch: list[list[int]]) -> list[float]:
        torch = self._torch
        width = max(len(x) for x in batch)
        input_ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, x in enumerate(batch):
            input_ids[row, width - len(x) :] = torch.tensor(x, dtype=torch.long)
            mask[row, width - len(x) :] = 1
        # Positions count real tokens only, so a left-padded row is computed exactly like an unpadded one.
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            out = self._model(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                position_ids=positions.to(self.device),
                logits_to_keep=1,
            )
            last = out.logits[:, -1, :]
            pair = torch.stack([last[:, self.format.no_id], last[:, self.format.yes_id]], dim=1).float()
            probs = torch.softmax(pair, dim=1)[:, 1]
        return [float(p) for p in probs.cpu().tolist()]

