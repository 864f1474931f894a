"""What the last build recorded about a document's bibliographies: BibTeX's ``\\bibdata{a,b}`` in the ``.aux`` and
biber's datasources in the ``.bcf``. Read when the source names its bibliography through a macro
(``\\bibliography{\\mybib}``), which only TeX can expand. The build files are looked for beside the root document
and in latexmk's aux/out directories (``$aux_dir`` / ``$out_dir`` of a latexmkrc, else ``build/`` and ``out/``).
"""

from __future__ import annotations

import os
import re

from texcite.files import read_disk

LATEXMKRC = (".latexmkrc", "latexmkrc")
_DIR_RE = re.compile(r"""\$(?:aux_dir|out_dir)\s*=\s*(['"])(?P<dir>[^'"\n]+)\1""")
_BIBDATA_RE = re.compile(r"\\bibdata\{(?P<names>[^{}]*)\}")
_DATASOURCE_RE = re.compile(r"<bcf:datasource\b[^>]*>(?P<name>[^<]+)</bcf:datasource>")
MAX_BUILD_BYTES = 16 << 20


def build_dirs(root: str) -> list[str]:
    """Folders where a build of ``root`` may have left its .aux/.bcf: its own, latexmk's $aux_dir/$out_dir, build/,
    out/ (those that exist)."""
    folder = os.path.dirname(root)
    dirs = [folder]
    for rc in LATEXMKRC:
        text = read_disk(os.path.join(folder, rc), 1 << 20) or ""
        dirs += [os.path.join(folder, m.group("dir")) for m in _DIR_RE.finditer(text)]
    dirs += [os.path.join(folder, "build"), os.path.join(folder, "out")]
    out: list[str] = []
    for d in map(os.path.normpath, dirs):
        if d not in out and os.path.isdir(d):
            out.append(d)
    return out


def recorded_bibliographies(root: str) -> tuple[str, list[str]] | None:
    """(the build file read, the bibliography names it records) from the newest .aux or .bcf of ``root``; None
    when no build left one."""
    stem = os.path.splitext(os.path.basename(root))[0]
    found = []
    for d in build_dirs(root):
        for ext in (".bcf", ".aux"):
            path = os.path.join(d, stem + ext)
            try:
                found.append((os.stat(path).st_mtime_ns, ext == ".bcf", path))
            except OSError:
                continue
    for _, _, path in sorted(found, reverse=True):
        text = read_disk(path, MAX_BUILD_BYTES) or ""
        if path.endswith(".bcf"):
            names = [m.group("name").strip() for m in _DATASOURCE_RE.finditer(text)]
        else:
            names = [n.strip() for m in _BIBDATA_RE.finditer(text) for n in m.group("names").split(",")]
        names = list(dict.fromkeys(n for n in names if n))
        if names:
            return path, names
    return None
