"""Who may talk to a TCP server and what it may read: loopback by default, a token for any other address, and a
TCP client's disk reads confined to the workspace folders it declared and to the kinds of file a LaTeX project has.

Over stdio the client is the user's own editor process, which can read anything the user can: nothing is confined.
Over TCP the peer may be anyone who reaches the port. Bound to loopback only local processes can; bound to any
other address, a connection must open with `initialize` carrying ``initializationOptions.token`` (generated at
start and printed once on stderr, or taken from ``$TEXCITE_TCP_TOKEN``), compared in constant time; anything else
is answered with an error and the connection is closed.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import secrets
import socket
from typing import Any, Callable

TOKEN_ENV = "TEXCITE_TCP_TOKEN"
AUTH_TIMEOUT_S = 10.0  # a connection that has not sent a valid `initialize` by then is closed
AUTH_MAX_BYTES = 1 << 20  # nor may it send more than this before
# What the server reads from disk for a LaTeX project: sources it follows through \input/\include, and bibliographies.
READABLE_KINDS = (".tex", ".ltx", ".latex", ".sty", ".cls", ".tikz", ".pgf", ".bib")


def parse_address(spec: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``; no host means loopback (127.0.0.1)."""
    host, _, port = spec.rpartition(":")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--tcp {spec}: expected PORT or HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"--tcp {spec}: port out of range")
    return host or "127.0.0.1", number


def is_loopback(host: str) -> bool:
    """True if every address ``host`` names is a loopback address (an empty host means every interface)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def server_token(host: str) -> tuple[str | None, bool]:
    """The token connections must present (None: none needed) and whether it was generated here (to print)."""
    given = os.environ.get(TOKEN_ENV, "")
    if given:
        return given, False
    if is_loopback(host):
        return None, False
    return secrets.token_urlsafe(24), True


class Gate:
    """The first message of a connection must be `initialize` with the token; until then reads are bounded in
    time and bytes. The token is removed from the options before they reach the settings."""

    def __init__(self, token: str | None, handle: Callable[[Any], None], refuse: Callable[[Any], None]) -> None:
        self.token = token
        self.handle = handle
        self.refuse = refuse
        self.open = token is None
        self._received = 0

    def __call__(self, message: Any) -> None:
        params = getattr(message, "params", None) if getattr(message, "method", None) == "initialize" else None
        options = getattr(params, "initialization_options", None)
        given = options.pop("token", None) if isinstance(options, dict) else None
        if not self.open:
            if isinstance(given, str) and hmac.compare_digest(given.encode(), self.token.encode()):  # type: ignore[union-attr]
                self.open = True
            else:
                self.refuse(getattr(message, "id", None))
                return
        self.handle(message)

    async def read(self, read: Callable[[], Any]) -> bytes:
        """``read()``, bounded while the connection has not authenticated."""
        if self.open:
            return await read()
        try:
            chunk = await asyncio.wait_for(read(), AUTH_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise ConnectionError(f"no token within {AUTH_TIMEOUT_S:.0f} s") from None
        self._received += len(chunk)
        if self._received > AUTH_MAX_BYTES:
            raise ConnectionError("over 1 MB sent before the token")
        return chunk


REFUSED = ("texcite: this server requires a token: send it as initializationOptions.token in `initialize` (it was "
           f"printed when the server started, or is ${TOKEN_ENV})")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refusal(path: str, folders: list[str]) -> str | None:
    """Why a confined client may not have ``path`` read from disk (None: it may): it must be of a kind a LaTeX
    project reads and lie, symbolic links resolved, under one of ``folders``."""
    if not path.lower().endswith(READABLE_KINDS):
        return f"{path} is not a LaTeX source or bibliography; not read for a TCP client"
    try:
        real = os.path.realpath(path)
    except ValueError:  # a NUL byte or a lone surrogate: no such file
        return f"{path!r} is not a possible file name; not read"
    if not any(_inside(real, os.path.realpath(f)) for f in folders):
        return f"{path} is outside the workspace folders this client declared; not read"
    return None
