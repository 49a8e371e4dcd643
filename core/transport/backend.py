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
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import httpcore
from httpcore._backends.auto import AutoBackend

TraceFn = Callable[[str, dict[str, Any]], Awaitable[None]]

current_trace: contextvars.ContextVar[TraceFn | None] = contextvars.ContextVar(
    "courier_trace", default=None)
SyncTraceFn = Callable[[str, dict[str, Any]], None]


def sync_trace(trace: TraceFn | None) -> SyncTraceFn | None:
    """The trace function's ``sync(name, info)`` when it has one (core's tracer does): the
    connections call it without creating and awaiting a coroutine per event. Any other trace
    function (httpcore's protocol, an awaitable) is awaited as usual."""
    return getattr(trace, "sync", None) if trace is not None else None


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
    except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode (empty or
        raise httpcore.ConnectError(f"Host {host[:200]} not found") from exc  # 64+ character label)
    if not infos:
        raise httpcore.ConnectError(f"Host {host} not found")
    if trace is not None:
        await trace("connection.dns.complete", {"host": host, "address": str(infos[0][4][0])})
    return infos


async def detached[T](coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` in an empty context.

    A transport keeps the context it was created in for its whole life (uvloop's transport,
    asyncio's reader handle), and the requesting task's context holds its reply (``current_reply``)
    and tracer: a kept-alive connection would keep the reply that opened it, body and temp file
    included, until the connection closes (tests/test_load.py counts them).
    """
    task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
    try:
        return await task
    except asyncio.CancelledError:
        if task.done() and not task.cancelled() and task.exception() is None:
            _discard(task.result())  # connected just as the request was cancelled: close it
        raise


def _discard(result: Any) -> None:
    conn = result[0] if isinstance(result, tuple) else result
    if hasattr(conn, "aclose"):
        asyncio.get_running_loop().create_task(conn.aclose())  # an httpcore stream
    elif hasattr(conn, "close"):
        conn.close()


def resume_reading(transport: asyncio.BaseTransport) -> None:
    """``transport.resume_reading()`` outside the caller's context (asyncio's selector transports
    make a new reader handle, which keeps the context it was made in; see ``detached``)."""
    contextvars.Context().run(transport.resume_reading)  # type: ignore[attr-defined]


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
        return await detached(self._inner.connect_tcp(address, port, timeout, local_address, opts))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await detached(self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
