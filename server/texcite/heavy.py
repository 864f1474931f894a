"""One lock for first imports of the heavy optional packages (torch, transformers, vllm).

The dense stage and a reranker load in different worker threads; two threads importing transformers' lazy
modules at once can fail with a bogus ImportError, so every such import block runs under this lock.
"""

from __future__ import annotations

import threading

IMPORT_LOCK = threading.RLock()
