"""Qwen3-Reranker input formatting and truncation, exactly as the model authors define it, shared by all backends.

The model judges ``prefix + body + suffix`` and the score is P("yes") from a softmax over the "yes"/"no" logits
at the last position. Truncation works on tokens inside the body (document first, then query), so the prefix and
suffix always survive and the pair never exceeds the token budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

SYSTEM_PROMPT = (
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".'
)
PREFIX = f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n"
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
QUERY_TEMPLATE = "<Instruct>: {instruction}\n<Query>: {query}\n"
DOCUMENT_TEMPLATE = "<Document>: {document}"
# vLLM converts the causal LM into a 2-class classifier over these tokens (sigmoid(yes - no) == softmax P(yes)).
HF_OVERRIDES: dict[str, Any] = {
    "architectures": ["Qwen3ForSequenceClassification"],
    "classifier_from_token": ["no", "yes"],
    "is_original_qwen3_reranker": True,
}


class Codec(Protocol):
    """The little a formatter needs from a tokenizer: ids and character offsets without special tokens added."""

    def encode(self, text: str) -> list[int]: ...

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]: ...

    def token_id(self, token: str) -> int | None: ...


class _HFCodec:
    """Adapter for a transformers tokenizer (``PreTrainedTokenizerFast``, vLLM's tokenizer wrapper)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    def token_id(self, token: str) -> int | None:
        vocab = self.tokenizer.get_vocab()
        return vocab.get(token)


class _RawCodec:
    """Adapter for a bare ``tokenizers.Tokenizer`` (e.g. loaded from a tokenizer.json)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        return list(enc.ids), [tuple(o) for o in enc.offsets]

    def token_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


class ByteCodec:
    """Stand-in when the model's tokenizer is not available locally (a remote ``vllm serve``): one "token" per
    UTF-8 byte. A byte-level BPE token always covers at least one byte, so a pair that fits in bytes fits in
    tokens; only pairs longer than the budget in bytes are cut, conservatively."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for i, ch in enumerate(text):
            for b in ch.encode("utf-8"):
                ids.append(b)
                offsets.append((i, i + 1))
        return ids, offsets

    def token_id(self, token: str) -> int | None:
        return None


def codec_for(tokenizer: Any) -> Codec:
    """Wrap a transformers or ``tokenizers`` tokenizer in the small Codec interface the formatter uses."""
    if hasattr(tokenizer, "encode_with_offsets") and hasattr(tokenizer, "token_id"):
        return tokenizer
    if hasattr(tokenizer, "token_to_id") and not hasattr(tokenizer, "convert_tokens_to_ids"):
        return _RawCodec(tokenizer)
    return _HFCodec(tokenizer)


def format_body(instruction: str, query: str, document: str) -> str:
    """The user turn between prefix and suffix: ``<Instruct>: …\\n<Query>: …\\n<Document>: …``."""
    return QUERY_TEMPLATE.format(instruction=instruction, query=query) + DOCUMENT_TEMPLATE.format(document=document)


def query_half(instruction: str, query: str) -> str:
    """Pre-formatted query side for vLLM score/rerank: prefix + ``<Instruct>: …\\n<Query>: …\\n``."""
    return PREFIX + QUERY_TEMPLATE.format(instruction=instruction, query=query)


def document_half(document: str) -> str:
    """Pre-formatted document side for vLLM score/rerank: ``<Document>: …`` + suffix."""
    return DOCUMENT_TEMPLATE.format(document=document) + SUFFIX


def yes_no_ids(tokenizer: Any) -> tuple[int, int]:
    """Look up the ids of the single tokens "yes" and "no" (never hard-coded: they differ between tokenizers)."""
    codec = codec_for(tokenizer)
    ids = []
    for word in ("yes", "no"):
        tid = codec.token_id(word)
        if tid is None:
            enc = codec.encode(word)
            if len(enc) != 1:
                raise ValueError(f"tokenizer has no single token for {word!r}; is this a Qwen3-Reranker tokenizer?")
            tid = enc[0]
        ids.append(int(tid))
    return ids[0], ids[1]


def _cut(codec: Codec, text: str, keep: int) -> str:
    """The longest prefix of ``text`` holding ``keep`` tokens, cut at a token boundary in the original text."""
    if keep <= 0:
        return ""
    ids, offsets = codec.encode_with_offsets(text)
    if keep >= len(ids):
        return text
    return text[: offsets[keep - 1][1]]


@dataclass(frozen=True)
class Qwen3Format:
    """Formats and truncates pairs for one tokenizer, instruction and token budget (prefix/suffix ids cached)."""

    codec: Codec
    instruction: str
    max_length: int
    prefix_ids: tuple[int, ...]
    suffix_ids: tuple[int, ...]
    yes_id: int
    no_id: int

    @classmethod
    def create(
        cls, tokenizer: Any, instruction: str, max_length: int = 8192, *, require_yes_no: bool = True
    ) -> "Qwen3Format":
        """Bind a tokenizer; ``require_yes_no=False`` for formatting only (e.g. ByteCodec, ids are then -1)."""
        codec = codec_for(tokenizer)
        yes_id, no_id = yes_no_ids(codec) if require_yes_no else (-1, -1)
        return cls(
            codec=codec,
            instruction=instruction,
            max_length=int(max_length),
            prefix_ids=tuple(codec.encode(PREFIX)),
            suffix_ids=tuple(codec.encode(SUFFIX)),
            yes_id=yes_id,
            no_id=no_id,
        )

    def for_instruction(self, instruction: str | None) -> "Qwen3Format":
        """The same format with another instruction (None: this one)."""
        if instruction is None or instruction == self.instruction:
            return self
        return dataclasses.replace(self, instruction=instruction)

    @property
    def body_budget(self) -> int:
        """Tokens left for the body once prefix and suffix are reserved."""
        return self.max_length - len(self.prefix_ids) - len(self.suffix_ids)

    def fit(self, query: str, document: str) -> tuple[str, str, list[int]]:
        """Truncate (document first, then query) so the body fits; returns query, document and the body ids."""
        budget = self.body_budget
        body = self.codec.encode(format_body(self.instruction, query, document))
        if len(body) <= budget:
            return query, document, body
        q_len = len(self.codec.encode(query))
        d_len = len(self.codec.encode(document))
        overhead = len(body) - q_len - d_len  # template + instruction tokens (boundary merges make it approximate)
        if len(self.codec.encode(format_body(self.instruction, "", ""))) > budget:
            raise ValueError(
                f"texcite.reranker.maxLength={self.max_length} leaves no room for the instruction; raise it"
            )
        room = max(0, budget - overhead)
        d_keep = min(d_len, max(0, room - q_len))
        q_keep = min(q_len, room - d_keep)
        while True:
            q_text = _cut(self.codec, query, q_keep)
            d_text = _cut(self.codec, document, d_keep)
            body = self.codec.encode(format_body(self.instruction, q_text, d_text))
            excess = len(body) - budget
            if excess <= 0:
                return q_text, d_text, body
            # Re-tokenising at the cut can shift a token or two: shave the document first, then the query.
            if d_keep > 0:
                d_keep = max(0, d_keep - excess)
            elif q_keep > 0:
                q_keep = max(0, q_keep - excess)
            else:  # pragma: no cover - guarded by the instruction check above
                return q_text, d_text, body

    def pair_ids(self, query: str, document: str) -> list[int]:
        """Token ids of one full prompt (prefix + truncated body + suffix), never longer than ``max_length``."""
        _, _, body = self.fit(query, document)
        return [*self.prefix_ids, *body, *self.suffix_ids]

    def halves(self, query: str, documents: Sequence[str]) -> tuple[list[str], list[str]]:
        """Per-pair pre-formatted (query half, document half) strings, truncated on tokens first, for vLLM.

        Truncation of the query depends on the document, so each pair gets its own query half; with short
        queries they are all equal (callers can then send a single query).
        """
        q_halves, d_halves = [], []
        for doc in documents:
            q, d, _ = self.fit(query, doc)
            q_halves.append(query_half(self.instruction, q))
            d_halves.append(document_half(d))
        return q_halves, d_halves
