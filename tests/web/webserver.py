"""A live `texcite web` for the tests: a subprocess on a free loopback port, its output in files, stopped with
SIGINT (as Ctrl+C) so it closes its engines; and a copy of the example paper with files that must not be read."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "paper"
START_TIMEOUT_S = float(os.environ.get("TEXCITE_WEB_TIMEOUT", "180"))  # a loaded 2-core box: gradio + MiniLM import
SECRET_KEY = "secret2024outside"  # the key of the entry outside the project folder, which must never show up
# A .bib with one entry whose braces never close between two good ones.
BROKEN_BIB = """@article{lee2020distill,
  title = {Distilling a Large Teacher Reranker into a Compact Student},
  author = {Lee, Min and Park, Jun},
  year = {2020},
}
@article{broken2021,
  title = {An entry whose braces never close,
  author = {Doe, Jane
@inproceedings{kim2019graphs,
  title = {Random Walks on Citation Graphs},
  author = {Kim, Soo},
  year = {2019},
}
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_project(root: Path) -> Path:
    """A copy of examples/paper plus, outside it, a .tex and a .bib that symlinks inside the copy point to."""
    project = root / "paper"
    shutil.copytree(EXAMPLE, project)
    secret = root / "secret"
    secret.mkdir()
    (secret / "notes.tex").write_text("\\documentclass{article}\n\\begin{document}\nPrivate \\cite{} text.\n"
                                      "\\end{document}\n", encoding="utf-8")
    (secret / "private.bib").write_text(f"@article{{{SECRET_KEY},\n  title = {{Knowledge distillation of secret "
                                        "teachers into students}},\n  author = {Hidden, Hal},\n  year = {2024},\n}\n",
                                        encoding="utf-8")
    (project / "linked.tex").symlink_to(secret / "notes.tex")
    (project / "linked.bib").symlink_to(secret / "private.bib")
    return project


class WebServer:
    """`texcite web PROJECT --port P ARGS...` run by ``python`` (this one, or a virtualenv's) in ``env`` (this
    process's by default); ``url`` once it answers."""

    def __init__(self, project: Path | None, scratch: Path, *args: str, python: str = sys.executable,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.out = scratch / f"web-{self.port}.out"
        self.err = scratch / f"web-{self.port}.err"
        env = dict(os.environ if env is None else env, GRADIO_TEMP_DIR=str(scratch / "gradio-uploads"),
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        cmd = [python, "-m", "texcite", "web", *([str(project)] if project else []), "--port", str(self.port),
               *args]
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"texcite web exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)  # polling for the server, with a deadline
        self.stop()
        raise AssertionError(f"texcite web did not answer on port {self.port}:\n{self.log()}")

    def log(self) -> str:
        return f"stdout:\n{self.out.read_text()[-3000:]}\nstderr:\n{self.err.read_text()[-3000:]}"

    def stop(self) -> int | None:
        """Ctrl+C, then SIGKILL if it does not end within 30 s; the exit status."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        return self.proc.returncode
