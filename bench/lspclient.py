"""A minimal LSP client over a `texcite serve` subprocess's stdio, for the benchmarks (no pygls, no asyncio: what
is measured is the server)."""

from __future__ import annotations

import json
import subprocess
import sys


class StdioClient:
    """A minimal LSP client on a server's stdin/stdout; server->client requests get a null result."""

    def __init__(self, env: dict[str, str]) -> None:
        """Start the server with ``env``; its stderr is dropped (set TEXCITE_LOG to see less of it anyway)."""
        self.proc = subprocess.Popen([sys.executable, "-m", "texcite", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.next_id = 0

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited")
            if line.lower().startswith(b"content-length"):
                length = int(line.split(b":")[1])
            elif line == b"\r\n":
                return json.loads(self.proc.stdout.read(length))

    def notify(self, method: str, params) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params):
        self.next_id += 1
        wanted = self.next_id
        self._send({"jsonrpc": "2.0", "id": wanted, "method": method, "params": params})
        while True:
            message = self._read()
            if "method" in message and "id" in message:
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif message.get("id") == wanted:
                return message.get("result")

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=30)
