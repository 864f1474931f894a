"""What the page may read: the files of the chosen project folder and the .bib files uploaded through it.

A project path is judged by its real path (``..`` and symlinks resolved) against the folder's real path; an upload
must be a ``.bib`` of at most ``MAX_UPLOAD_MB`` holding at most ``MAX_UPLOAD_ENTRIES`` entries (counted before
anything is parsed: ranking one visitor's huge upload must not take the page's engines for minutes); ``outside`` names the bibliographies a document points to outside
the folder, which the page keeps the engines from reading (``sources.ProjectSources`` does the same for .tex files).
"""

from __future__ import annotations

import os
import re
from typing import Iterable

from texcite.files import UnreadableFile, decode_text, inside, read_bytes

MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB << 20
MAX_UPLOAD_ENTRIES = 20_000  # a 20k-entry bib is indexed in seconds and embedded in about two minutes on 2 cores
# An entry's first line, as the bib parser splits blocks (``@string``, ``@comment`` and ``@preamble`` are no entries).
_ENTRY_RE = re.compile(r"^[ \t]*@[ \t]*(?!(?:string|comment|preamble)\b)\w+[ \t]*[{(]", re.MULTILINE | re.IGNORECASE)
MAX_LISTED = 2_000  # .tex files offered in the file list
_SKIP_DIRS = {"node_modules", "__pycache__", "_minted"}  # and every hidden folder


class Refused(ValueError):
    """A path or an upload the page does not read; the message says why, for a person."""


def tex_files(project: str | None) -> list[str]:
    """The project's .tex files as sorted '/'-separated relative paths: hidden and tool folders skipped, symlinked
    folders not entered, symlinks leading out of the folder left out."""
    if project is None:
        return []
    out: list[str] = []
    for folder, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.lower().endswith(".tex") and inside(path, project) and os.path.isfile(path):
                out.append(os.path.relpath(path, project).replace(os.sep, "/"))
                if len(out) >= MAX_LISTED:
                    return sorted(out)
    return sorted(out)


def project_file(project: str | None, name: str) -> str:
    """The absolute path of the project's .tex file ``name`` (relative to the folder); Refused otherwise."""
    if project is None:
        raise Refused("There is no project folder (start `texcite web PROJECT_DIR`); paste a paragraph instead.")
    name = name.strip()
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or ".." in parts:
        raise Refused(f"{name}: only files inside the project folder are read (no absolute path, no '..').")
    if not name.lower().endswith(".tex"):
        raise Refused(f"{name}: not a .tex file.")
    path = os.path.normpath(os.path.join(project, name))
    if not inside(path, project):
        raise Refused(f"{name} leads out of the project folder (a symlink); it is not read.")
    if not os.path.isfile(path):
        raise Refused(f"{name}: no such file in the project folder.")
    return path


def check_upload(path: str) -> str:
    """``path`` when it is an uploaded .bib within the size cap; Refused with the reason otherwise."""
    name = os.path.basename(path)
    if not name.lower().endswith(".bib"):
        raise Refused(f"{name} is not a .bib file: upload a BibTeX/biblatex bibliography (.bib).")
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise Refused(f"{name} cannot be read ({err.strerror or err}); upload it again.") from None
    if size > MAX_UPLOAD_BYTES:
        raise Refused(f"{name} is {size / (1 << 20):.1f} MB, over the {MAX_UPLOAD_MB} MB limit for an uploaded .bib.")
    try:
        entries = upload_entries(read_bytes(path, MAX_UPLOAD_BYTES))
    except UnreadableFile as err:
        raise Refused(f"{name}: {err}; upload it again.") from None
    if entries > MAX_UPLOAD_ENTRIES:
        raise Refused(f"{name} holds {entries:,} entries, over the {MAX_UPLOAD_ENTRIES:,} an uploaded .bib may "
                      "hold: upload the part you cite from, or start `texcite web` on the project folder.")
    return path


def upload_entries(data: bytes) -> int:
    """How many entries a .bib's bytes hold, by their first lines (no parsing)."""
    return len(_ENTRY_RE.findall(decode_text(data)[0]))


def outside(project: str | None, paths: Iterable[str], allowed: Iterable[str] = ()) -> list[str]:
    """The ``paths`` the page must not read: neither inside the project folder nor one of the ``allowed`` files."""
    keep = {os.path.realpath(p) for p in allowed}
    return [p for p in paths
            if os.path.realpath(p) not in keep and (project is None or not inside(p, project))]

