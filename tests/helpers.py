"""Small helpers shared by tests: run one core request on a loop and collect its events."""

from __future__ import annotations

import asyncio
from typing import Any

from core import NetworkManager, Reply
from core import events as ev


async def fetch(manager: NetworkManager, method: str, url: str, body: Any = None, **req: Any) -> tuple[Reply, list[str]]:
    from core import Request

    request = Request(url, **req)
    reply = manager.send_custom_request(request, method, body)
    names: list[str] = []
    reply.subscribe(lambda e: names.append(type(e).__name__))
    await asyncio.wait_for(reply.wait(), 30)
    return reply, names


def dedupe(names: list[str]) -> list[str]:
    """Collapse repeated events (ReadyRead, progress) so orders compare across chunkings."""
    out: list[str] = []
    for n in names:
        if not out or out[-1] != n:
            out.append(n)
    return out


def only(names: list[str], keep: set[str]) -> list[str]:
    return dedupe([n for n in names if n in keep])


__all__ = ["dedupe", "ev", "fetch", "only"]
