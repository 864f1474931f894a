"""The web page in a real browser (marker `web`): headless Debian Chromium + Debian's chromedriver drive `texcite web`.

They run only when asked: `.venv/bin/python -m pytest tests/web -m web` (`make test-web`; a plain `pytest` run of the
repository deselects them). Chromium and chromedriver come from `bash tests/editors/install.sh`. A missing browser
skips on a developer machine and FAILS under CI=true, so CI cannot go green without having run them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line("markers", "web: drives the `texcite web` page in headless Chromium; see tests/web")


def _asked_for_web(config) -> bool:
    markexpr = config.getoption("markexpr", "") or ""
    return "web" in markexpr and "not web" not in markexpr


def pytest_collection_modifyitems(config, items):
    """Deselect the browser tests unless `-m web` (or an expression naming it) was given."""
    if _asked_for_web(config):
        return
    keep, drop = [], []
    for item in items:
        (drop if Path(str(item.fspath)).resolve().is_relative_to(HERE) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
