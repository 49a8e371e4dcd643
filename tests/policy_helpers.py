"""Helpers shared by the redirect, cookie, cache and HSTS stories."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from core import NetworkManager
from tests.servers import HypercornServer


def run(loop: asyncio.AbstractEventLoop, story: Callable[[NetworkManager], Awaitable[Any]],
        ca: str | None = None, manager: NetworkManager | None = None) -> Any:
    """Run ``story(manager)`` on ``loop`` with a fresh manager (trusting ``ca``), then close it."""
    async def go() -> Any:
        m = manager or NetworkManager()
        if ca:
            m.transport.set_default_ssl_context(ssl.create_default_context(cafile=ca))
        try:
            return await asyncio.wait_for(story(m), 60)
        finally:
            await m.aclose()

    return loop.run_until_complete(go())


def to(server: HypercornServer | str, url: str, status: int = 302) -> str:
    """A URL on ``server`` that redirects to ``url`` with ``status``."""
    base = server if isinstance(server, str) else server.url
    return f"{base}/to?status={status}&url={quote(url, safe='')}"


def echoed(reply: Any) -> dict[str, Any]:
    return json.loads(reply.content())  # type: ignore[no-any-return]


def other_host(server: HypercornServer) -> str:
    """The same server under another origin (localhost instead of 127.0.0.1)."""
    return server.url.replace("127.0.0.1", "localhost")
