"""Helper process for the engine tests: loads texcite's in-process vLLM reranker, then scores JSON requests.

vLLM spawns worker processes, which needs a ``__main__`` guard, so the tests drive it through this script.
Protocol: one JSON object per stdin line ({"query", "documents"}); answers are stdout lines starting with
``@@ `` followed by JSON ({"ready": ...}, {"scores": [...]} or {"error": "..."}). vLLM logs go elsewhere.
"""

from __future__ import annotations

import json
import sys

MARK = "@@ "


def _say(obj: dict) -> None:
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    model, max_length = sys.argv[1], int(sys.argv[2])
    from texcite.rerank.vllm_backend import VllmReranker

    try:
        reranker = VllmReranker(
            model,
            max_length=max_length,
            dtype="float32",
            max_model_len=max_length,
            gpu_memory_utilization=0.2,
            enforce_eager=True,  # skip torch.compile: the tests only check numbers, and load faster
        )
    except Exception as err:
        _say({"error": f"{type(err).__name__}: {err}"})
        return
    _say({"ready": True, "backend": reranker.backend, "model": reranker.model,
          "budget": reranker.format.max_length})
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            _say({"scores": reranker.rank(req["query"], req["documents"])})
        except Exception as err:
            _say({"error": f"{type(err).__name__}: {err}"})


if __name__ == "__main__":
    main()
