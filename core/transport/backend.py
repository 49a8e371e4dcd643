"""Timed DNS, connection establishment and the trace hook shared by the transport.

Connections are opened inside the requesting task, so ``current_trace`` (a context variable set by
``core.http``) reaches the hooks. Trace events keep httpcore's names (``connection.dns.started``,
``connection.connect_tcp.complete``, ``connection.start_tls.complete`` ...), so timings work the same
for our own transport and for httpcore-based pools (proxies) that use ``TimedDNSBackend``.
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


class NetStream:
    """What trace events and the ``network_stream`` extension expose of a connection.

    The same ``get_extra_info`` names as httpcore's network streams: ``server_addr``,
    ``client_addr``, ``ssl_object``, ``socket``, ``is_readable``.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def get_extra_info(self, info: str) -> Any:
        t = self._transport
        if info == "server_addr":
            return t.get_extra_info("peername")
        if info == "client_addr":
            return t.get_extra_info("sockname")
        if info == "is_readable":
            return t.is_closing()
        return t.get_extra_info(info)


async def resolve(host: str, port: int, trace: TraceFn | None) -> list[tuple[Any, ...]]:
    """getaddrinfo, timed as ``connection.dns.*``. Raises ``httpcore.ConnectError`` when not found."""
    if trace is not None:
        await trace("connection.dns.started", {"host": host})
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"Host {host} not found") from exc
    if not infos:
        raise httpcore.ConnectError(f"Host {host} not found")
    if trace is not None:
        await trace("connection.dns.complete", {"host": host, "address": str(infos[0][4][0])})
    return infos


class TimedDNSBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend with timed DNS, for httpcore-based pools (proxies)."""

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
        infos = await resolve(host, port, current_trace.get())
        address = str(infos[0][4][0])
        opts = list(socket_options or [])
        opts.append((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
        return await self._inner.connect_tcp(address, port, timeout, local_address, opts)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
