"""Connection pools keyed like QNAM's (D5), with our own per-origin FIFO queue.

httpcore's pool degrades badly when thousands of requests wait inside it (~55 req/s with 2000
queued), so at most ``limit`` requests per origin enter it at once; the rest wait in our queue,
whose wait is the "queued" timing phase. HTTP/1.1: 6 connections per origin (D4). HTTP/2 over one
connection multiplexes up to 100 streams (D9, D18).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpcore
import httpx

from core.transport.backend import TimedDNSBackend

HTTP1_CONNECTIONS = 6
HTTP2_STREAMS = 100


@dataclass(frozen=True, slots=True)
class OriginKey:
    """Pool key: scheme + host + port + HTTP/2 mode + proxy + peer verify name + socket path."""

    scheme: str
    host: str
    port: int
    http2: bool = True
    http2_direct: bool = False
    proxy: str | None = None
    peer_verify_name: str | None = None
    uds: str | None = None
    tls_profile: str = "default"


class _Gate:
    """A FIFO limit on concurrent requests per origin."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiters: list[asyncio.Future[None]] = []

    async def acquire(self) -> None:
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut in self.waiters:
                self.waiters.remove(fut)
            elif fut.done() and not fut.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self.waiters:
            fut = self.waiters.pop(0)
            if not fut.done():
                fut.set_result(None)
                return
        self.active -= 1


class _Origin:
    def __init__(self, key: OriginKey, ssl_context: ssl.SSLContext | None, backend: TimedDNSBackend) -> None:
        self.key = key
        http2 = key.http2 and (key.scheme == "https" or key.http2_direct)
        self.gate = _Gate(HTTP2_STREAMS if key.http2_direct else HTTP1_CONNECTIONS)
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=HTTP1_CONNECTIONS,
            max_keepalive_connections=HTTP1_CONNECTIONS,
            keepalive_expiry=120.0,  # D20
            http1=not key.http2_direct,
            http2=http2,
            uds=key.uds,
            network_backend=backend,
        )


class _GatedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpcore.Response, gate: _Gate) -> None:
        self._stream = stream
        self._gate: _Gate | None = gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream.aiter_stream():
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._gate is not None:
                self._gate.release()
                self._gate = None


class Transport:
    """Routes each request to its origin's pool. Requests carry their OriginKey in extensions."""

    def __init__(self, ssl_context_factory: object | None = None) -> None:
        self._origins: dict[OriginKey, _Origin] = {}
        self._backend = TimedDNSBackend()
        self._default_ssl: ssl.SSLContext | None = None

    def set_default_ssl_context(self, context: ssl.SSLContext) -> None:
        """Use ``context`` for https origins created from now on."""
        self._default_ssl = context

    def ssl_context_for(self, key: OriginKey) -> ssl.SSLContext | None:
        if key.scheme != "https":
            return None
        if self._default_ssl is None:
            ctx = httpx.create_ssl_context()
            self._default_ssl = ctx
        return self._default_ssl

    def _origin(self, key: OriginKey) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            origin = _Origin(key, self.ssl_context_for(key), self._backend)
            self._origins[key] = origin
        return origin

    async def send(self, key: OriginKey, request: httpx.Request, on_queued: object = None) -> httpx.Response:
        origin = self._origin(key)
        await origin.gate.acquire()
        try:
            if callable(on_queued):
                on_queued()
            assert isinstance(request.stream, httpx.AsyncByteStream)
            req = httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme if key.uds is None else b"http",
                    host=request.url.raw_host if key.uds is None else key.host.encode(),
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
            resp = await origin.pool.handle_async_request(req)
        except BaseException:
            origin.gate.release()
            raise
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_GatedStream(resp, origin.gate),
            extensions=resp.extensions,
            request=request,
        )

    async def clear(self) -> None:
        origins, self._origins = self._origins, {}
        for o in origins.values():
            await o.pool.aclose()

    def connection_count(self) -> int:
        return sum(len(o.pool.connections) for o in self._origins.values())
