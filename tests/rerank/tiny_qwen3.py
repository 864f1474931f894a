"""Build a tiny random Qwen3 reranker-shaped model (weights + Qwen-style tokenizer) for CPU tests and benchmarks.

Real weights cannot be downloaded here, so tests run every engine on this model instead: same architecture
(Qwen3ForCausalLM), same chat special tokens, "yes"/"no" as single tokens. Usage: ``python tiny_qwen3.py OUTDIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Qwen2/Qwen3 pre-tokenizer regex (from the real tokenizer.json), so splitting behaves like the real model.
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
# A few merges so common words are single tokens; "yes" and "no" must be (the score reads their logits).
WORDS = ["yes", "no", "the", "and", "of", "Document", "Query", "Instruct", "system", "user", "assistant"]


def build_tokenizer():
    """A byte-level BPE tokenizer with Qwen's pre-tokenizer: every text encodes, offsets and decode are exact."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = ByteLevel.alphabet()
    vocab: dict[str, int] = {ch: i for i, ch in enumerate(sorted(alphabet))}
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        cur = word[0]
        for ch in word[1:]:
            merged = cur + ch
            if merged not in vocab:
                merges.append((cur, ch))
                vocab[merged] = len(vocab)
            cur = merged
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return tok


def build(outdir: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen3ForCausalLM (hidden 128, 2 layers, head_dim 64) and its tokenizer to ``outdir``."""
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    raw = build_tokenizer()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        clean_up_tokenization_spaces=False,
        model_max_length=8192,
    )
    tokenizer.padding_side = "left"
    vocab_size = 64 * ((raw.get_vocab_size(with_added_tokens=True) + 63) // 64)
    config = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=8192,
        tie_word_embeddings=False,
        # Wider than the default 0.02 so yes/no logits differ and scores spread away from 0.5.
        initializer_range=0.2,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(outdir, safe_serialization=True)
    tokenizer.save_pretrained(outdir)
    return outdir


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/rerank/tiny_qwen3.py OUTDIR")
    print(build(sys.argv[1]))
