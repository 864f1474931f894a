"""Rerankers: backends that rescore recall candidates behind one small protocol."""

from texcite.rerank.base import BackendUnavailable, IdentityReranker, Reranker, RerankError

__all__ = ["BackendUnavailable", "IdentityReranker", "Reranker", "RerankError"]
