"""Qwen3-Reranker formatting and token-level truncation (tiny tokenizer and the real Qwen3 tokenizer)."""

from __future__ import annotations

import random

import pytest

from texcite.rerank.qwen3_format import (
    PREFIX,
    SUFFIX,
    ByteCodec,
    Qwen3Format,
    document_half,
    format_body,
    query_half,
    yes_no_ids,
)

INSTR = "Given a paragraph with a [CITATION] marker, judge whether the document is the cited work"


def format_pair(instruction: str, query: str, document: str) -> str:
    """The complete prompt of one pair, untruncated, as the model authors write it: prefix + body + suffix."""
    return PREFIX + format_body(instruction, query, document) + SUFFIX

pytest.importorskip("tokenizers", reason="needs tokenizers: pip install 'texcite[transformers]'")


def test_strings_match_the_authors_template():
    assert PREFIX == (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the "
        'Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
    )
    assert SUFFIX == "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert format_body("I", "Q", "D") == "<Instruct>: I\n<Query>: Q\n<Document>: D"
    assert query_half("I", "Q") + document_half("D") == format_pair("I", "Q", "D")


@pytest.fixture(scope="module")
def tiny_tok():
    import tiny_qwen3
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tiny_qwen3.build_tokenizer())


@pytest.fixture(scope="module")
def qwen_fast(qwen3_tokenizer_file):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(qwen3_tokenizer_file))


def _words(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    vocab = ["neural", "retrieval", "citation", "graph", "transformer", "we", "propose", "a", "method", "for",
             "learning", "representations", "of", "scientific", "documents", "2023", "(", ")", "—", "é", "数据"]
    return " ".join(rng.choice(vocab) for _ in range(n))


def test_pair_ids_equal_tokenizing_the_full_string(tiny_tok):
    fmt = Qwen3Format.create(tiny_tok, INSTR, 8192)
    for q, d in [("what cites [CITATION] here", "A short abstract."), ("q", ""), ("é 数据\n x", "doc\n\nwith lines  ")]:
        assert fmt.pair_ids(q, d) == tiny_tok.encode(format_pair(INSTR, q, d), add_special_tokens=False)


def test_real_qwen3_yes_no_ids(qwen_fast, qwen3_tokenizer_file):
    from tokenizers import Tokenizer

    assert yes_no_ids(qwen_fast) == (9693, 2152)
    assert yes_no_ids(Tokenizer.from_file(str(qwen3_tokenizer_file))) == (9693, 2152)


@pytest.mark.parametrize("loader", ["fast", "raw"])
def test_real_qwen3_truncates_a_50k_token_abstract(loader, qwen_fast, qwen3_tokenizer_file):
    from tokenizers import Tokenizer

    tok = qwen_fast if loader == "fast" else Tokenizer.from_file(str(qwen3_tokenizer_file))
    fmt = Qwen3Format.create(tok, INSTR, 8192)
    query = "Dense retrieval of scientific papers has been studied extensively [CITATION], but " + _words(60, 1)
    abstract = _words(50_000, 2)
    assert len(qwen_fast.encode(abstract, add_special_tokens=False)) >= 50_000
    ids = fmt.pair_ids(query, abstract)
    prefix = qwen_fast.encode(PREFIX, add_special_tokens=False)
    suffix = qwen_fast.encode(SUFFIX, add_special_tokens=False)
    assert ids[: len(prefix)] == prefix
    assert ids[-len(suffix):] == suffix
    assert 8192 - 8 <= len(ids) <= 8192  # cut to the budget, not far below it
    q, d, _ = fmt.fit(query, abstract)
    assert q == query and abstract.startswith(d) and len(d) < len(abstract)
    # vLLM joins the halves as text and tokenizes them together: still within budget.
    q_halves, d_halves = fmt.halves(query, [abstract, "short"])
    joined = qwen_fast.encode(q_halves[0] + d_halves[0], add_special_tokens=False)
    assert joined == ids
    assert d_halves[1] == document_half("short")


def test_real_qwen3_truncates_the_query_after_the_document(qwen_fast):
    fmt = Qwen3Format.create(qwen_fast, INSTR, 1024)
    query, doc = _words(5000, 3), _words(5000, 4)
    q, d, _ = fmt.fit(query, doc)
    assert d == "" and query.startswith(q) and q
    ids = fmt.pair_ids(query, doc)
    assert 1024 - 8 <= len(ids) <= 1024
    assert ids[-len(fmt.suffix_ids):] == list(fmt.suffix_ids)


def test_short_pairs_are_untouched(qwen_fast):
    fmt = Qwen3Format.create(qwen_fast, INSTR, 8192)
    assert fmt.fit("q [CITATION]", "an abstract")[:2] == ("q [CITATION]", "an abstract")
    assert fmt.pair_ids("q", "d") == qwen_fast.encode(format_pair(INSTR, "q", "d"), add_special_tokens=False)


def test_byte_bound_truncation_is_safe_for_the_real_tokenizer(qwen_fast):
    """Without the model's tokenizer (remote server), byte counts bound token counts from above."""
    fmt = Qwen3Format.create(ByteCodec(), INSTR, 2048, require_yes_no=False)
    for doc in (_words(20_000, 5), "数据集" * 5000, "x" * 100):
        q_halves, d_halves = fmt.halves("query [CITATION] here", [doc])
        assert len(qwen_fast.encode(q_halves[0] + d_halves[0], add_special_tokens=False)) <= 2048
        assert d_halves[0].endswith(SUFFIX)


def test_too_small_budget_for_instruction_is_reported(tiny_tok):
    fmt = Qwen3Format.create(tiny_tok, "word " * 400, 256)
    with pytest.raises(ValueError, match="maxLength"):
        fmt.pair_ids("q", "d" * 1000)
