"""A network backend that resolves DNS itself so that the lookup is timed.

httpcore hands host names straight to the socket layer, so its trace has no DNS phase. We resolve
with the loop's ``getaddrinfo``, emit ``connection.dns.started/complete`` through the same trace
callback the request carries (found through a context variable, since httpcore connects inside the
requesting task), then connect to the address. TLS still uses the original host name for SNI and
verification (httpcore passes ``server_hostname`` to ``start_tls``).
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
from httpcore._backends.auto import AutoBackend

TraceFn = Callable[[str, dict[str, Any]], Awaitable[None]]

current_trace: contextvars.ContextVar[TraceFn | None] = contextvars.ContextVar(
    "courier_trace", default=None)


class TimedDNSBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        trace = current_trace.get()
        if trace is not None:
            await trace("connection.dns.started", {"host": host})
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"Host {host} not found") from exc
        if not infos:
            raise httpcore.ConnectError(f"Host {host} not found")
        address = str(infos[0][4][0])
        if trace is not None:
            await trace("connection.dns.complete", {"host": host, "address": address})
        opts = list(socket_options or [])
        opts.append((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
        return await self._inner.connect_tcp(address, port, timeout, local_address, opts)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
