"""Damaged frames never leave the server deaf: a Content-Length too short, too long or absurd, or garbage
between messages, costs that message only; the next ones are answered."""

from __future__ import annotations

import os
import subprocess
import sys

from lsp_helpers import HANG_GUARD_S
from test_protocol import INIT, frame, replies


def status(i: int) -> bytes:
    return frame({"jsonrpc": "2.0", "id": i, "method": "texcite/status", "params": {}})


def test_damaged_frames_cost_one_message(tmp_path):
    body = b'{"jsonrpc": "2.0", "id": 99, "method": "texcite/status", "params": {}}'
    stream = b"".join(map(frame, INIT)) + b"".join([
        b"Content-Length: 20\r\n\r\n" + body,              # too short: the rest of the body is garbage
        status(2),
        b"Content-Length: 5000\r\n\r\n" + body,            # too long: runs into the next message
        status(3),
        b"garbage between messages\r\n\r\n",
        status(4),
        b"Content-Length: 99999999999\r\n\r\n",            # absurd
        status(5),
        frame({"jsonrpc": "2.0", "id": 6, "method": "shutdown", "params": None}),
        frame({"jsonrpc": "2.0", "method": "exit", "params": None}),
    ])
    done = subprocess.run([sys.executable, "-m", "texcite", "serve"], input=stream, capture_output=True,
                          timeout=HANG_GUARD_S, env={**os.environ, "TEXCITE_CACHE_DIR": str(tmp_path)})
    answers = replies(done.stdout)
    assert {2, 3, 4, 5, 6} <= set(answers) and done.returncode == 0
    assert 99 not in answers
