"""Rerankers: backends that rescore recall candidates behind one small protocol."""

from texcite.rerank.base import BackendUnavailable, Reranker, RerankError

__all__ = ["BackendUnavailable", "Reranker", "RerankError"]
