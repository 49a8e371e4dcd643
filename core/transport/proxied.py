"""The seam for proxied origins: httpcore-based pools (HTTP CONNECT / forwarding, SOCKS).

``Transport.proxy_pool_factory(key, ssl_context, network_backend)`` returns an
``httpcore.AsyncConnectionPool`` (e.g. ``httpcore.AsyncHTTPProxy``/``AsyncSOCKSProxy``) for a key
whose ``proxy`` is set. Requests reach it through our FIFO gate, so a long queue never sits inside
httpcore's pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import httpcore
import httpx


class Gate:
    """A FIFO limit on concurrent requests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

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
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.active -= 1


class GatedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpcore.Response, gate: Gate) -> None:
        self._stream = stream
        self._gate: Gate | None = gate

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


async def send_through_pool(pool: httpcore.AsyncConnectionPool, gate: Gate, request: httpx.Request,
                            on_queued: object, uds_host: str | None = None) -> httpx.Response:
    await gate.acquire()
    try:
        if callable(on_queued):
            on_queued()
        assert isinstance(request.stream, httpx.AsyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        resp = await pool.handle_async_request(req)
    except BaseException:
        gate.release()
        raise
    return httpx.Response(status_code=resp.status, headers=resp.headers, stream=GatedStream(resp, gate),
                          extensions=resp.extensions, request=request)
