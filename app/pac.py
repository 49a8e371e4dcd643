"""A proxy factory that loads its PAC file from a URL (http, https or file) on first use.

The core evaluates PAC scripts (``core.proxy.PacProxyFactory``) but takes the script's text; the
setting is a URL. The file is fetched through the same manager, directly (a request to the PAC
file's own host and port never goes through a proxy, or it could never load), once; a failed load
fails the request with ``ProxyNotFoundError`` and is retried by the next request.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from core.errors import CourierError, NetworkError
from core.proxy import PacProxyFactory, Proxy, ProxyQuery


class UrlPacProxyFactory:
    def __init__(self, manager: Any, url: str) -> None:
        self.manager, self.url = manager, url
        parts = urlsplit(url)
        self._pac_origin = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        self._factory: PacProxyFactory | None = None
        self._lock = asyncio.Lock()

    async def query_proxy(self, query: ProxyQuery) -> list[Proxy]:
        if (query.host, query.port) == self._pac_origin:
            return [Proxy.none()]
        async with self._lock:
            if self._factory is None:
                self._factory = await self._load()
        return await self._factory.query_proxy(query)

    async def _load(self) -> PacProxyFactory:
        reply = self.manager.get(self.url)
        await reply.wait()
        if reply.error.value != 0:
            raise CourierError(NetworkError.ProxyNotFoundError,
                               f"Could not load the PAC file {self.url}: {reply.error_string}")
        return PacProxyFactory(reply.content().decode("utf-8", errors="replace"))
