"""Bibliographies found the way TeX finds them: ``kpsewhich``, when the user's TeX installation has it, searches
BIBINPUTS, TEXMFHOME (``~/texmf/bibtex/bib``) and the other TEXMF trees. Each name is looked up once per folder
(the answer is cached); without the binary this source is skipped.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0

_lock = threading.Lock()
_found: dict[tuple[str, str, tuple], str | None] = {}


def kpsewhich_binary() -> str | None:
    """The ``kpsewhich`` on PATH (None: no TeX installation here)."""
    return shutil.which("kpsewhich")


def find_bib(name: str, folder: str, env: dict[str, str] | None = None) -> str | None:
    """``kpsewhich -format=bib name`` run in ``folder`` (TeX's own search), as an absolute path; None when it finds
    nothing or there is no kpsewhich. Blocking (a subprocess): call it in a worker thread."""
    binary = kpsewhich_binary()
    if binary is None or not name.strip():
        return None
    key = (name, folder, tuple(sorted((env or {}).items())) if env is not None else ())
    with _lock:
        if key in _found:
            return _found[key]
    found = None
    try:
        run = subprocess.run([binary, "-format=bib", name], cwd=folder if os.path.isdir(folder) else None,
                             env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        line = run.stdout.strip().splitlines()[0] if run.stdout.strip() else ""
        if line:
            found = os.path.normpath(os.path.join(folder, line))
    except (OSError, ValueError, subprocess.SubprocessError) as err:  # ValueError: a NUL or a lone surrogate
        log.info("kpsewhich %r failed: %s", name, err)
    with _lock:
        _found[key] = found
    return found
