"""The web page in a real browser (marker `web`): headless Debian Chromium + Debian's chromedriver drive `texcite web`.

They run only when asked: `.venv/bin/python -m pytest tests/web -m web` (`make test-web`; a plain `pytest` run of the
repository deselects them). Chromium and chromedriver come from `bash tests/editors/install.sh`. A missing browser
skips on a developer machine and FAILS under CI=true, so CI cannot go green without having run them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
