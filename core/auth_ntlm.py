"""NTLM (v2) through the ``pyspnego`` package: a connection-bound three-message handshake.

QNAM speaks NTLM too (A1, A2: preferred over Basic, below Digest). The negotiate message goes
out, the server's challenge comes back in a 401 on the same connection, the authenticate message
answers it. Unlike Basic/Digest it is never sent pre-emptively on other requests (A13).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any


def ntlm_available() -> bool:
    try:
        import spnego  # noqa: F401
    except ImportError:
        return False
    return True


class NtlmSession:
    """One handshake: ``negotiate()`` then ``authenticate(challenge)``; each at most once."""

    def __init__(self, user: str, password: str, host: str) -> None:
        import spnego

        self._ctx: Any = spnego.client(user, password, hostname=host, service="http", protocol="ntlm")
        self.stage = 0

    def negotiate(self) -> str:
        self.stage = 1
        return "NTLM " + base64.b64encode(self._ctx.step()).decode("ascii")

    def authenticate(self, token: str) -> str | None:
        """The answer to the server's challenge; None when it cannot be answered."""
        if self.stage != 1:
            return None
        self.stage = 2
        try:
            reply = self._ctx.step(base64.b64decode(token, validate=True))
        except (binascii.Error, ValueError, Exception):  # pyspnego raises its own SpnegoError types
            return None
        if not reply:
            return None
        return "NTLM " + base64.b64encode(reply).decode("ascii")
