"""Session-wide test setup: every on-disk cache (bib index, embeddings) goes to a fresh folder, never ~/.cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Servers started by tests inherit this environment, so they use the same private cache."""
    folder = tmp_path_factory.mktemp("texcite-cache")
    old = os.environ.get("TEXCITE_CACHE_DIR")
    os.environ["TEXCITE_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("TEXCITE_CACHE_DIR", None)
    else:
        os.environ["TEXCITE_CACHE_DIR"] = old
